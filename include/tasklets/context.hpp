// tasklets/context.hpp — the raw context switch, usable without the scheduler.
//
// A context is a suspended execution: a stack pointer whose stack holds the callee-saved
// registers and FP control state of the code that was running on it. This header is the
// whole low-level API: build a fresh context on a stack you own, switch to it with a
// value, get a value back when something switches to you.
//
//     alignas(16) static std::byte stack[64 * 1024];
//     tasklets::context caller;
//     auto body = [](void* value) {
//         auto* back = static_cast<tasklets::context*>(value);
//         tasklets::context self;
//         for (;;) tasklets::switch_context(self, *back, nullptr);  // yield to caller
//     };
//     tasklets::context fresh = tasklets::make_context(stack, sizeof stack, +body);
//     tasklets::switch_context(caller, fresh, &caller);  // runs body until it yields
//
// Rules:
// - An entry function must never return: it has a null return address (so debuggers and
//   unwinders stop at it). It ends by switching away for the last time.
// - A C++ exception must never propagate out of an entry function: catch everything.
// - Saved on every switch: the ABI's callee-saved general and FP registers and the FP
//   control state (x86-64 and i386: MXCSR and the x87 control word; AArch64: FPCR; RISC-V: see
//   arch/riscv64; s390x: the FPC's masks and rounding modes; ppc64le: the FPSCR's enables and
//   rounding modes; mips64el: the FCSR's rounding mode, exception enables and flush-to-zero
//   bit). A fresh context starts with the
//   FP control state of its creator.
// - Contexts are not bound to threads, but a context must not be resumed twice at once.
#pragma once

#include <cstddef>

extern "C" {
/// Saves the running context to *save_sp, resumes target_sp, and passes `value` to it.
/// Returns the value given by whichever switch later resumes *save_sp.
void* tasklets_switch_context(void** save_sp, void* target_sp, void* value) noexcept;
}

namespace tasklets {

/// A suspended execution context (its saved stack pointer). Empty when default-made.
struct context {
    void* stack_pointer = nullptr;
    explicit operator bool() const noexcept { return stack_pointer != nullptr; }
};

/// The function a fresh context starts in. `value` is the value of the first switch.
using context_entry = void (*)(void* value);

/// Smallest stack make_context accepts, in bytes: its initial frame plus room to call.
/// Windows x64 needs more: its frame also holds xmm6-xmm15 and the TEB's stack fields,
/// and the entry is owed 32 bytes of shadow space (arch/windows_x64).
/// On ppc64le the switch's frame alone is 560 bytes (18 GPRs, 18 FPRs, 12 128-bit vector
/// registers and the ELFv2 frame headers), and ELFv2 lets any function use 288 bytes
/// below its sp without allocating them, so 256 would not even hold the frame.
#if defined(_WIN64)
inline constexpr std::size_t min_context_stack = 512;
#elif defined(__powerpc64__)
inline constexpr std::size_t min_context_stack = 1024;
#else
inline constexpr std::size_t min_context_stack = 256;
#endif

/// Prepares the stack [stack_base, stack_base + stack_size) so that the first
/// switch_context() to the returned context calls entry(value) on that stack, with the
/// stack aligned as the ABI requires at a call and a null return address.
/// The stack must stay valid for as long as the context may run.
/// Throws std::invalid_argument if stack_base is null or stack_size < min_context_stack.
context make_context(void* stack_base, std::size_t stack_size, context_entry entry);

/// Saves the running context into `from`, resumes `to`, hands it `value`, and returns
/// the value passed by the switch that later resumes `from`.
inline void* switch_context(context& from, context to, void* value = nullptr) noexcept {
    return tasklets_switch_context(&from.stack_pointer, to.stack_pointer, value);
}

}  // namespace tasklets
