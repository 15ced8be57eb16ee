// Fresh contexts on mips64el (n64): builds the frame drawn in switch_mips64el.S so that the
// first switch jumps into tasklets_mips64el_first_entry, which jumps to the entry.
#include "arch_context.hpp"

#include <cstdint>
#include <cstring>

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) inline constexpr std::size_t name = value;
#include "frame_mips64el.h"
#undef TASKLETS_OFFSET
#undef TASKLETS_NOTE

extern "C" void tasklets_mips64el_first_entry();

namespace tasklets::arch {

// The frame must be exactly what switch_mips64el.S stores: ra, fp, gp, s0-s7, f24-f31
// (8 bytes each, sd/sdc1 need 8-byte alignment), then the 32-bit FCSR, the whole a
// multiple of 16.
static_assert(TASKLETS_FRAME_RA == 0 && TASKLETS_FRAME_FP == 8 && TASKLETS_FRAME_GP == 16);
static_assert(TASKLETS_FRAME_S0 == TASKLETS_FRAME_GP + 8);
static_assert(TASKLETS_FRAME_S1 == TASKLETS_FRAME_S0 + 8 && TASKLETS_FRAME_S2 == TASKLETS_FRAME_S0 + 16 &&
              TASKLETS_FRAME_S3 == TASKLETS_FRAME_S0 + 24 && TASKLETS_FRAME_S4 == TASKLETS_FRAME_S0 + 32 &&
              TASKLETS_FRAME_S5 == TASKLETS_FRAME_S0 + 40 && TASKLETS_FRAME_S6 == TASKLETS_FRAME_S0 + 48 &&
              TASKLETS_FRAME_S7 == TASKLETS_FRAME_S0 + 56);
static_assert(TASKLETS_FRAME_F24 == TASKLETS_FRAME_S7 + 8);
static_assert(TASKLETS_FRAME_F25 == TASKLETS_FRAME_F24 + 8 && TASKLETS_FRAME_F26 == TASKLETS_FRAME_F24 + 16 &&
              TASKLETS_FRAME_F27 == TASKLETS_FRAME_F24 + 24 && TASKLETS_FRAME_F28 == TASKLETS_FRAME_F24 + 32 &&
              TASKLETS_FRAME_F29 == TASKLETS_FRAME_F24 + 40 && TASKLETS_FRAME_F30 == TASKLETS_FRAME_F24 + 48 &&
              TASKLETS_FRAME_F31 == TASKLETS_FRAME_F24 + 56);
static_assert(TASKLETS_FRAME_F24 % 8 == 0);
static_assert(TASKLETS_FRAME_FCSR == TASKLETS_FRAME_F31 + 8);
static_assert(TASKLETS_FRAME_SIZE >= TASKLETS_FRAME_FCSR + 4 && TASKLETS_FRAME_SIZE % 16 == 0);
// Every offset must fit the 16-bit signed displacement of ld/sd/ldc1/sdc1 and daddiu.
static_assert(TASKLETS_FRAME_SIZE <= 32767);
static_assert(TASKLETS_FRAME_SIZE <= min_context_stack, "make_context promises the frame fits");

fp_control current_fp_control() noexcept {
    std::uint32_t fcsr;
    asm volatile("cfc1 %0, $31" : "=r"(fcsr));
    return fcsr;
}

void* prepare_stack(void* stack_top, context_entry entry, fp_control fp) noexcept {
    // sp at the entry is the aligned stack top (n64 callers reserve no argument area); the
    // frame sits right below it, so the switch's final daddiu lands exactly there.
    auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
    auto* frame = reinterpret_cast<std::byte*>(top) - TASKLETS_FRAME_SIZE;
    std::memset(frame, 0, TASKLETS_FRAME_SIZE);  // s8 = 0 ends the frame chain; gp = 0

    // The switch reads the FCSR with a 32-bit lw: store it at that width.
    store_in_frame(frame, TASKLETS_FRAME_FCSR, static_cast<std::uint32_t>(fp));
    store_in_frame(frame, TASKLETS_FRAME_S0, reinterpret_cast<std::uintptr_t>(entry));
    store_in_frame(frame, TASKLETS_FRAME_RA,
                   reinterpret_cast<std::uintptr_t>(&tasklets_mips64el_first_entry));
    return frame;
}

void set_saved_fp_control(void* context, fp_control fp) noexcept {
    auto* frame = static_cast<std::byte*>(context);
    store_in_frame(frame, TASKLETS_FRAME_FCSR, static_cast<std::uint32_t>(fp));
}

}  // namespace tasklets::arch
