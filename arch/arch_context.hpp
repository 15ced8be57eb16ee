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

/// Replaces the FP control state that a suspended context resumes with, written as
/// prepare_stack writes it: `context` is the context's saved stack pointer, as a switch
/// away from it or prepare_stack left it. A pool's spare carrier resumes this way with
/// the state a new tasklet would inherit (kernel/threads/job_carrier.cpp).
void set_saved_fp_control(void* context, fp_control fp) noexcept;

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

/// Copying a shared-stack tasklet's frames back onto its execution stack
/// (kernel/core/shared_stacks.cpp, copy_in): the switch frame at the bottom is written
/// last and apart, by stores of the widths the switch loads it with right afterwards. Were
/// it written by memcpy's vector stores, the switch's narrow loads of parts of them would
/// not be served from the store buffer and would wait for the stores to reach the cache
/// (x86-64, measured: docs/shared-stacks.md). 0 bytes on the ports that copy the whole
/// part with memcpy.
#if defined(__x86_64__) && !defined(_WIN32)
inline constexpr std::size_t switch_frame_bytes = 64;  // TASKLETS_FRAME_SIZE (x86_64/frame_x86_64.h)

/// x86-64: MXCSR (4 bytes: stmxcsr), x87 control word (2: fnstcw), 2 unused, then six
/// registers and the resume address, 8 bytes each. Each piece passes through a general
/// register (the empty asm), so that the compiler cannot merge the pieces into vector moves.
template <class Piece>
inline void copy_piece(std::byte* to, const std::byte* from) noexcept {
    Piece p;
    std::memcpy(&p, from, sizeof p);
    asm("" : "+r"(p));
    std::memcpy(to, &p, sizeof p);
}
inline void copy_switch_frame(std::byte* to, const std::byte* from) noexcept {
    copy_piece<std::uint32_t>(to, from);
    copy_piece<std::uint16_t>(to + 4, from + 4);
    copy_piece<std::uint16_t>(to + 6, from + 6);
    for (std::size_t at = 8; at < switch_frame_bytes; at += 8) copy_piece<std::uint64_t>(to + at, from + at);
}
#else
inline constexpr std::size_t switch_frame_bytes = 0;
inline void copy_switch_frame(std::byte*, const std::byte*) noexcept {}
#endif

/// Ports whose switch resumes the restorer of shared-stack tasklets as a fixed frame, which
/// it never saves again (x86-64 System V: tasklets_x86_64_restorer in switch_x86_64.asm).
/// Elsewhere the restorer is a context like any other, which saves itself at every pass
/// (kernel/core/shared_stacks.cpp).
#if defined(__x86_64__) && !defined(_WIN32)
inline constexpr bool has_restorer_frame = true;
#else
inline constexpr bool has_restorer_frame = false;
#endif

/// Where has_restorer_frame: writes, just below stack_top, the restorer's frame with FP
/// control state `fp`, and returns its address, the saved stack pointer of every out
/// tasklet. Switching to it runs tasklets_restorer_step() on the stack below the frame and
/// resumes what that returns.
void* prepare_restorer_frame(void* stack_top, fp_control fp) noexcept;

}  // namespace tasklets::arch
