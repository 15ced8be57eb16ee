// Fresh contexts on s390x: builds the frame drawn in switch_s390x.S so that the first
// switch branches into tasklets_s390x_first_entry, which branches to the entry.
#include "arch_context.hpp"

#include <cstdint>
#include <cstring>

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) inline constexpr std::size_t name = value;
#include "frame_s390x.h"
#undef TASKLETS_OFFSET
#undef TASKLETS_NOTE

extern "C" void tasklets_s390x_first_entry();

namespace tasklets::arch {

// The part the switch allocates: f8-f15 adjacent (8 bytes each), then the FPC, all below
// the caller's sp, a multiple of 8.
static_assert(TASKLETS_FRAME_F8 == 0 && TASKLETS_FRAME_F9 == 8 && TASKLETS_FRAME_F10 == 16 &&
              TASKLETS_FRAME_F11 == 24 && TASKLETS_FRAME_F12 == 32 && TASKLETS_FRAME_F13 == 40 &&
              TASKLETS_FRAME_F14 == 48 && TASKLETS_FRAME_F15 == 56);
static_assert(TASKLETS_FRAME_FPC == TASKLETS_FRAME_F15 + 8);
static_assert(TASKLETS_FRAME_SIZE >= TASKLETS_FRAME_FPC + 4 && TASKLETS_FRAME_SIZE % 8 == 0);
// Above it, the caller's register save area, with r6-r15 where one stmg/lmg puts them: the
// ABI's slots, r6 at +48, 8 bytes apart.
static_assert(TASKLETS_FRAME_SAVE_AREA == TASKLETS_FRAME_SIZE && TASKLETS_SAVE_AREA_SIZE == 160);
static_assert(TASKLETS_FRAME_R6 == TASKLETS_FRAME_SAVE_AREA + 48);
static_assert(TASKLETS_FRAME_R7 == TASKLETS_FRAME_R6 + 8 && TASKLETS_FRAME_R8 == TASKLETS_FRAME_R6 + 16 &&
              TASKLETS_FRAME_R9 == TASKLETS_FRAME_R6 + 24 && TASKLETS_FRAME_R10 == TASKLETS_FRAME_R6 + 32 &&
              TASKLETS_FRAME_R11 == TASKLETS_FRAME_R6 + 40 && TASKLETS_FRAME_R12 == TASKLETS_FRAME_R6 + 48 &&
              TASKLETS_FRAME_R13 == TASKLETS_FRAME_R6 + 56 && TASKLETS_FRAME_R14 == TASKLETS_FRAME_R6 + 64 &&
              TASKLETS_FRAME_R15 == TASKLETS_FRAME_R6 + 72);
static_assert(TASKLETS_FRAME_R15 + 8 <= TASKLETS_FRAME_SAVE_AREA + TASKLETS_SAVE_AREA_SIZE);
// std/ld/l/st take 12-bit unsigned displacements.
static_assert(TASKLETS_FRAME_SAVE_AREA + TASKLETS_SAVE_AREA_SIZE <= 4095);
static_assert(TASKLETS_FRAME_SIZE + TASKLETS_SAVE_AREA_SIZE <= min_context_stack,
              "make_context promises the frame fits");

fp_control current_fp_control() noexcept {
    std::uint32_t fpc;
    asm volatile("efpc %0" : "=d"(fpc));
    return fpc;
}

void* prepare_stack(void* stack_top, context_entry entry, fp_control fp) noexcept {
    // r15 at the entry is the aligned top less the 160-byte save area every caller gives
    // its callee; the frame sits right below that, so the switch's lmg loads r6-r15 from
    // the entry's own save area, and r15 becomes the entry's sp.
    const auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{7};
    auto* save_area = reinterpret_cast<std::byte*>(top) - TASKLETS_SAVE_AREA_SIZE;
    auto* frame = save_area - TASKLETS_FRAME_SIZE;
    // Zeroed: f8-f15, r6-r13 but r7, r11 (the frame pointer) and the back chain slot.
    std::memset(frame, 0, TASKLETS_FRAME_SIZE + TASKLETS_SAVE_AREA_SIZE);

    // The FPC is 32 bits; store it as such (big-endian: the slot's first 4 bytes are what
    // the switch's 32-bit load reads).
    store_in_frame(frame, TASKLETS_FRAME_FPC, static_cast<std::uint32_t>(fp));
    store_in_frame(frame, TASKLETS_FRAME_R7, reinterpret_cast<std::uintptr_t>(entry));
    store_in_frame(frame, TASKLETS_FRAME_R14, reinterpret_cast<std::uintptr_t>(&tasklets_s390x_first_entry));
    store_in_frame(frame, TASKLETS_FRAME_R15, reinterpret_cast<std::uintptr_t>(save_area));
    return frame;
}

void set_saved_fp_control(void* context, fp_control fp) noexcept {
    auto* frame = static_cast<std::byte*>(context);
    store_in_frame(frame, TASKLETS_FRAME_FPC, static_cast<std::uint32_t>(fp));
}

}  // namespace tasklets::arch
