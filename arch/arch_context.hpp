// The one function each architecture provides besides its assembly switch.
#pragma once

#include <tasklets/context.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tasklets::arch {

/// Writes `value` into a frame being built, at a byte offset from the frame's start.
template <class T>
void store_in_frame(std::byte* frame, std::size_t offset, T value) noexcept {
    std::memcpy(frame + offset, &value, sizeof value);
}

/// The FP control state a context carries, packed in 64 bits: x86-64 MXCSR (low 32
/// bits) and x87 control word (bits 32-47); AArch64 FPCR; RISC-V frm; s390x FPC and MIPS
/// FCSR (low 32 bits, of which the switch restores only the control bits); ppc64le the
/// 64-bit FPSCR image (of which the switch restores only the control bits).
using fp_control = std::uint64_t;

/// The running code's FP control state. A new context starts with its creator's, read
/// with this when the context (or tasklet) is created, as a new thread inherits it.
fp_control current_fp_control() noexcept;

/// Writes, just below stack_top, a frame that the architecture's switch resumes as if it
/// were a suspended context, entering entry(value) with the ABI's call alignment and a
/// null return address and FP control state `fp`. Returns the context's stack pointer.
/// Uses at most tasklets::min_context_stack bytes.
#if defined(_WIN32)
/// stack_bottom is the lowest usable address of the stack: Windows keeps a thread's stack
/// extent in its TEB, which the switch changes per context (arch/windows_x64).
void* prepare_stack(void* stack_bottom, void* stack_top, context_entry entry, fp_control fp) noexcept;
#else
void* prepare_stack(void* stack_top, context_entry entry, fp_control fp) noexcept;

/// The callers' one spelling for every port. Only Windows records the stack's bottom; here
/// it is dropped at compile time, so the other ports' spawn path does not pay for passing
/// it (one instruction per spawn, bench/callgrind.sh spawn_join).
inline void* prepare_stack(void* /*stack_bottom*/, void* stack_top, context_entry entry, fp_control fp) noexcept {
    return prepare_stack(stack_top, entry, fp);
}
#endif

/// Bytes at the very top of a context's stack that prepare_stack writes the same for every
/// context on that stack and that nothing writes afterwards: x86-64's null return address
/// of the entry (the entry never returns). A shared-stack tasklet's copies leave them on its
/// execution stack (core/shared_stacks.cpp). 0 on the ports that keep the return address in
/// a register, and on Windows, whose first frame also holds the entry's shadow space.
#if defined(__x86_64__) && !defined(_WIN32)
inline constexpr std::size_t constant_top_bytes = 8;
#else
inline constexpr std::size_t constant_top_bytes = 0;
#endif

}  // namespace tasklets::arch
