// Fresh contexts on RISC-V64: builds the frame drawn in switch_riscv64.S so that the first
// switch jumps into tasklets_riscv64_first_entry, which jumps to the entry.
#include "arch_context.hpp"

#include <cstdint>
#include <cstring>

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) inline constexpr std::size_t name = value;
#include "frame_riscv64.h"
#undef TASKLETS_OFFSET
#undef TASKLETS_NOTE

extern "C" void tasklets_riscv64_first_entry();

namespace tasklets::arch {

// The frame must be exactly what switch_riscv64.S stores: ra, s0-s11, fs0-fs11, frm,
// 8 bytes each, the whole a multiple of 16.
static_assert(TASKLETS_FRAME_RA == 0 && TASKLETS_FRAME_S0 == 8);
static_assert(TASKLETS_FRAME_S1 == TASKLETS_FRAME_S0 + 8 && TASKLETS_FRAME_S2 == TASKLETS_FRAME_S0 + 16 &&
              TASKLETS_FRAME_S3 == TASKLETS_FRAME_S0 + 24 && TASKLETS_FRAME_S4 == TASKLETS_FRAME_S0 + 32 &&
              TASKLETS_FRAME_S5 == TASKLETS_FRAME_S0 + 40 && TASKLETS_FRAME_S6 == TASKLETS_FRAME_S0 + 48 &&
              TASKLETS_FRAME_S7 == TASKLETS_FRAME_S0 + 56 && TASKLETS_FRAME_S8 == TASKLETS_FRAME_S0 + 64 &&
              TASKLETS_FRAME_S9 == TASKLETS_FRAME_S0 + 72 && TASKLETS_FRAME_S10 == TASKLETS_FRAME_S0 + 80 &&
              TASKLETS_FRAME_S11 == TASKLETS_FRAME_S0 + 88);
static_assert(TASKLETS_FRAME_FS0 == TASKLETS_FRAME_S11 + 8);
static_assert(TASKLETS_FRAME_FS1 == TASKLETS_FRAME_FS0 + 8 && TASKLETS_FRAME_FS2 == TASKLETS_FRAME_FS0 + 16 &&
              TASKLETS_FRAME_FS3 == TASKLETS_FRAME_FS0 + 24 && TASKLETS_FRAME_FS4 == TASKLETS_FRAME_FS0 + 32 &&
              TASKLETS_FRAME_FS5 == TASKLETS_FRAME_FS0 + 40 && TASKLETS_FRAME_FS6 == TASKLETS_FRAME_FS0 + 48 &&
              TASKLETS_FRAME_FS7 == TASKLETS_FRAME_FS0 + 56 && TASKLETS_FRAME_FS8 == TASKLETS_FRAME_FS0 + 64 &&
              TASKLETS_FRAME_FS9 == TASKLETS_FRAME_FS0 + 72 && TASKLETS_FRAME_FS10 == TASKLETS_FRAME_FS0 + 80 &&
              TASKLETS_FRAME_FS11 == TASKLETS_FRAME_FS0 + 88);
static_assert(TASKLETS_FRAME_FRM == TASKLETS_FRAME_FS11 + 8);
static_assert(TASKLETS_FRAME_SIZE >= TASKLETS_FRAME_FRM + 8 && TASKLETS_FRAME_SIZE % 16 == 0);
// Every offset must fit a 12-bit signed load/store immediate.
static_assert(TASKLETS_FRAME_SIZE <= 2047);
static_assert(TASKLETS_FRAME_SIZE <= min_context_stack, "make_context promises the frame fits");

fp_control current_fp_control() noexcept {
    std::uint64_t frm;
    asm volatile("frrm %0" : "=r"(frm));
    return frm;
}

void* prepare_stack(void* stack_top, context_entry entry, fp_control fp) noexcept {
    // sp at the entry is the aligned stack top; the frame sits right below it, so the
    // switch's final `addi sp` lands exactly there.
    auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
    auto* frame = reinterpret_cast<std::byte*>(top) - TASKLETS_FRAME_SIZE;
    std::memset(frame, 0, TASKLETS_FRAME_SIZE);  // s0 = 0 ends the frame-pointer chain

    store_in_frame(frame, TASKLETS_FRAME_FRM, std::uint64_t{fp});
    store_in_frame(frame, TASKLETS_FRAME_S1, reinterpret_cast<std::uintptr_t>(entry));
    store_in_frame(frame, TASKLETS_FRAME_RA,
          reinterpret_cast<std::uintptr_t>(&tasklets_riscv64_first_entry));
    return frame;
}

void set_saved_fp_control(void* context, fp_control fp) noexcept {
    auto* frame = static_cast<std::byte*>(context);
    store_in_frame(frame, TASKLETS_FRAME_FRM, std::uint64_t{fp});
}

}  // namespace tasklets::arch
