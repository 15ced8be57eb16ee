// Fresh contexts on Windows x64: builds the frame drawn in switch_windows_x64.S so that
// the first switch "returns" into tasklets_windows_x64_first_entry, which jumps to the
// entry on a stack whose TEB fields describe that stack.
#include "arch_context.hpp"
#include "x86_fp_control.hpp"

#include <windows.h>
#include <winternl.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) inline constexpr std::size_t name = value;
#include "frame_windows_x64.h"
#undef TASKLETS_OFFSET
#undef TASKLETS_NOTE

extern "C" void tasklets_windows_x64_first_entry();

namespace tasklets::arch {

// The frame must be exactly what switch_windows_x64.S stores: ten 16-byte vector
// registers at the aligned bottom, eight general registers, the FP control slot, five
// TEB slots, padding, then the resume address pushed by the call.
static_assert(TASKLETS_FRAME_XMM6 == 0 && TASKLETS_FRAME_XMM15 == TASKLETS_FRAME_XMM6 + 9 * 16);
static_assert(TASKLETS_FRAME_RBX == TASKLETS_FRAME_XMM15 + 16);
static_assert(TASKLETS_FRAME_R15 == TASKLETS_FRAME_RBX + 7 * 8);
static_assert(TASKLETS_FRAME_MXCSR == TASKLETS_FRAME_R15 + 8 && TASKLETS_FRAME_X87CW == TASKLETS_FRAME_MXCSR + 4);
static_assert(TASKLETS_FRAME_EXCEPTION_LIST == TASKLETS_FRAME_MXCSR + 8);
static_assert(TASKLETS_FRAME_FIBER_DATA == TASKLETS_FRAME_EXCEPTION_LIST + 4 * 8);
static_assert(TASKLETS_FRAME_SAVED_BYTES == TASKLETS_FRAME_FIBER_DATA + 8 + 8);  // + padding
static_assert(TASKLETS_FRAME_RESUME == TASKLETS_FRAME_SAVED_BYTES);
static_assert(TASKLETS_FRAME_SIZE == TASKLETS_FRAME_RESUME + 8);
// The switch enters with rsp % 16 == 8 (just after a call) and reserves SAVED_BYTES, so
// saved stack pointers are 16-byte aligned, as movaps needs for xmm6-xmm15.
static_assert((8 + TASKLETS_FRAME_SAVED_BYTES) % 16 == 0);
// A fresh frame: shadow space and null return address (ENTRY_SP_BELOW_TOP), the 8 bytes
// the trampoline pops, the frame; its saved stack pointer is aligned as a switch's is.
static_assert(TASKLETS_ENTRY_SP_BELOW_TOP == 32 + 8 && (TASKLETS_ENTRY_SP_BELOW_TOP + 8) % 16 == 0);
static_assert(TASKLETS_FRESH_FRAME_BELOW_TOP == TASKLETS_ENTRY_SP_BELOW_TOP + 8 + TASKLETS_FRAME_SIZE);
static_assert(TASKLETS_FRESH_FRAME_BELOW_TOP % 16 == 0);
static_assert(TASKLETS_FRESH_FRAME_BELOW_TOP + 15 <= min_context_stack, "make_context promises the frame fits");
// The TEB offsets the switch uses with gs, checked against the SDK's structures.
static_assert(offsetof(NT_TIB, ExceptionList) == TASKLETS_TEB_EXCEPTION_LIST);
static_assert(offsetof(NT_TIB, StackBase) == TASKLETS_TEB_STACK_BASE);
static_assert(offsetof(NT_TIB, StackLimit) == TASKLETS_TEB_STACK_LIMIT);
static_assert(offsetof(NT_TIB, FiberData) == TASKLETS_TEB_FIBER_DATA);
// DeallocationStack is not in the SDK's TEB; it is the pointer right before TlsSlots.
static_assert(offsetof(TEB, TlsSlots) == TASKLETS_TEB_DEALLOCATION_STACK + 8);

fp_control current_fp_control() noexcept { return read_x86_fp_control(); }

void* prepare_stack(void* stack_bottom, void* stack_top, context_entry entry, fp_control fp) noexcept {
    // The 16-byte aligned top is the context's StackBase: the shadow space, the null
    // return address and the trampoline's 8 bytes are all zero.
    const auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
    auto* frame = reinterpret_cast<std::byte*>(top - TASKLETS_FRESH_FRAME_BELOW_TOP);
    std::memset(frame, 0, TASKLETS_FRESH_FRAME_BELOW_TOP);

    store_in_frame(frame, TASKLETS_FRAME_MXCSR, static_cast<std::uint32_t>(fp));
    store_in_frame(frame, TASKLETS_FRAME_X87CW, static_cast<std::uint16_t>(fp >> 32));
    store_in_frame(frame, TASKLETS_FRAME_R12, reinterpret_cast<std::uintptr_t>(entry));
    // The end of the ExceptionList chain (what a new thread starts with): no handler
    // registered by code on another stack is ever called for this one.
    store_in_frame(frame, TASKLETS_FRAME_EXCEPTION_LIST, ~std::uintptr_t{0});
    store_in_frame(frame, TASKLETS_FRAME_STACK_BASE, top);
    store_in_frame(frame, TASKLETS_FRAME_STACK_LIMIT, reinterpret_cast<std::uintptr_t>(stack_bottom));
    // The stack's allocation base as far as we know it: the memory the context was given.
    store_in_frame(frame, TASKLETS_FRAME_DEALLOCATION_STACK, reinterpret_cast<std::uintptr_t>(stack_bottom));
    // GetCurrentFiber() inside the context answers what it answered in its creator, as
    // FP control is inherited (a tasklet is not a Windows fiber of its own).
    std::uintptr_t fiber_data;
    asm("movq %%gs:%c1, %0" : "=r"(fiber_data) : "i"(TASKLETS_TEB_FIBER_DATA));
    store_in_frame(frame, TASKLETS_FRAME_FIBER_DATA, fiber_data);
    store_in_frame(frame, TASKLETS_FRAME_RESUME,
                   reinterpret_cast<std::uintptr_t>(&tasklets_windows_x64_first_entry));
    return frame;
}

void set_saved_fp_control(void* context, fp_control fp) noexcept {
    auto* frame = static_cast<std::byte*>(context);
    store_in_frame(frame, TASKLETS_FRAME_MXCSR, static_cast<std::uint32_t>(fp));
    store_in_frame(frame, TASKLETS_FRAME_X87CW, static_cast<std::uint16_t>(fp >> 32));
}

}  // namespace tasklets::arch
