// Fresh contexts on x86-64: builds the frame drawn in switch_x86_64.asm so that the
// first switch "returns" into tasklets_x86_64_first_entry, which jumps to the entry.
#include "arch_context.hpp"
#include "x86_fp_control.hpp"

#include <cstdint>
#include <cstring>
#include <initializer_list>

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) inline constexpr std::size_t name = value;
#include "frame_x86_64.h"
#undef TASKLETS_OFFSET
#undef TASKLETS_NOTE

extern "C" void tasklets_x86_64_first_entry();
extern "C" void tasklets_x86_64_restorer();

namespace tasklets::arch {

// The frame must be exactly what switch_x86_64.asm pushes: six 8-byte registers, one
// 8-byte FP control slot, then the resume address pushed by the call.
static_assert(TASKLETS_FRAME_MXCSR == 0 && TASKLETS_FRAME_X87CW == 4);
static_assert(TASKLETS_FRAME_R12 == 8 && TASKLETS_FRAME_RBP == TASKLETS_FRAME_R12 + 5 * 8);
static_assert(TASKLETS_FRAME_SAVED_BYTES == TASKLETS_FRAME_RBP + 8);
static_assert(TASKLETS_FRAME_RESUME == TASKLETS_FRAME_SAVED_BYTES);
static_assert(TASKLETS_FRAME_SIZE == TASKLETS_FRAME_RESUME + 8);
// The switch enters with rsp % 16 == 8 (just after a call) and reserves SAVED_BYTES,
// so saved stack pointers are 16-byte aligned.
static_assert((8 + TASKLETS_FRAME_SAVED_BYTES) % 16 == 0);
// Shared stacks copy this frame apart, piece by piece (arch_context.hpp).
static_assert(switch_frame_bytes == TASKLETS_FRAME_SIZE && TASKLETS_FRAME_R12 == 8);

fp_control current_fp_control() noexcept { return read_x86_fp_control(); }

void* prepare_stack(void* stack_top, context_entry entry, fp_control fp) noexcept {
    // Top of stack: one null quadword (the entry's return address) at rsp, with
    // (rsp + 8) % 16 == 0; the frame sits right below it.
    auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
    auto* null_return = reinterpret_cast<std::byte*>(top - 8);
    auto* frame = null_return - TASKLETS_FRAME_SIZE;
    std::memset(frame, 0, TASKLETS_FRAME_SIZE + 8);

    store_in_frame(frame, TASKLETS_FRAME_MXCSR, static_cast<std::uint32_t>(fp));
    store_in_frame(frame, TASKLETS_FRAME_X87CW, static_cast<std::uint16_t>(fp >> 32));
    store_in_frame(frame, TASKLETS_FRAME_R12, reinterpret_cast<std::uintptr_t>(entry));
    store_in_frame(frame, TASKLETS_FRAME_RESUME,
          reinterpret_cast<std::uintptr_t>(&tasklets_x86_64_first_entry));
    return frame;
}

void set_saved_fp_control(void* context, fp_control fp) noexcept {
    auto* frame = static_cast<std::byte*>(context);
    store_in_frame(frame, TASKLETS_FRAME_MXCSR, static_cast<std::uint32_t>(fp));
    store_in_frame(frame, TASKLETS_FRAME_X87CW, static_cast<std::uint16_t>(fp >> 32));
}

void* prepare_restorer_frame(void* stack_top, fp_control fp) noexcept {
    // The frame drawn above tasklets_x86_64_restorer: the FP control kept in the top 16
    // bytes, the frame right below, so that the restorer's call is 16-byte aligned.
    auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
    auto* kept = reinterpret_cast<std::byte*>(top - 16);
    auto* frame = kept - TASKLETS_FRAME_SIZE;
    std::memset(frame, 0, TASKLETS_FRAME_SIZE + 16);
    for (std::byte* at : {frame, kept}) {
        store_in_frame(at, TASKLETS_FRAME_MXCSR, static_cast<std::uint32_t>(fp));
        store_in_frame(at, TASKLETS_FRAME_X87CW, static_cast<std::uint16_t>(fp >> 32));
    }
    store_in_frame(frame, TASKLETS_FRAME_RESUME, reinterpret_cast<std::uintptr_t>(&tasklets_x86_64_restorer));
    return frame;
}

}  // namespace tasklets::arch
