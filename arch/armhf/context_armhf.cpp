// Fresh contexts on armhf: builds the frame drawn in switch_armhf.S so that the first
// switch returns into tasklets_armhf_first_entry, which branches to the entry.
#include "arch_context.hpp"

#include <cstdint>
#include <cstring>

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) inline constexpr std::size_t name = value;
#include "frame_armhf.h"
#undef TASKLETS_OFFSET
#undef TASKLETS_NOTE

#if !defined(__ARM_PCS_VFP)
#error "tasklets: arch/armhf needs the hard-float ABI (-mfloat-abi=hard): it keeps d8-d15 and FPSCR"
#endif

extern "C" void tasklets_armhf_first_entry();

namespace tasklets::arch {

// The frame must be exactly what switch_armhf.S stores: d8-d15 at the saved sp for one
// vstm/vldm, then FPSCR, then r4-r11 and lr consecutive for one stm/ldm.
static_assert(TASKLETS_FRAME_D8 == 0, "the switch stores d8-d15 at sp itself");
static_assert(TASKLETS_FRAME_FPSCR == TASKLETS_FRAME_D8 + 8 * 8);
static_assert(TASKLETS_FRAME_R4 == TASKLETS_FRAME_FPSCR + 4);
static_assert(TASKLETS_FRAME_R5 == TASKLETS_FRAME_R4 + 4 && TASKLETS_FRAME_R6 == TASKLETS_FRAME_R4 + 8 &&
              TASKLETS_FRAME_R7 == TASKLETS_FRAME_R4 + 12 && TASKLETS_FRAME_R8 == TASKLETS_FRAME_R4 + 16 &&
              TASKLETS_FRAME_R9 == TASKLETS_FRAME_R4 + 20 && TASKLETS_FRAME_R10 == TASKLETS_FRAME_R4 + 24 &&
              TASKLETS_FRAME_R11 == TASKLETS_FRAME_R4 + 28);
static_assert(TASKLETS_FRAME_RESUME == TASKLETS_FRAME_R11 + 4, "stm/ldm {r4-r11, lr}");
static_assert(TASKLETS_FRAME_SIZE == TASKLETS_FRAME_RESUME + 4 && TASKLETS_FRAME_SIZE % 8 == 0,
              "AAPCS: sp stays 8-byte aligned");
// Thumb-2 add/sub immediates (12 bits) and ldr/str offsets (12 bits) reach them all.
static_assert(TASKLETS_FRAME_SIZE < 4096);
// ubfx/bfc take lsb + width <= 32; the control bits end below QC (bit 27), the first
// status bit above them.
static_assert(TASKLETS_FPSCR_CONTROL_LSB + TASKLETS_FPSCR_CONTROL_WIDTH == 27);
static_assert(sizeof(void*) == 4 && sizeof(std::uintptr_t) == 4, "the frame holds 4-byte registers");
static_assert(TASKLETS_FRAME_SIZE + 15 <= min_context_stack, "make_context promises the frame fits");

namespace {
constexpr std::uint32_t fpscr_control_mask = ((std::uint32_t{1} << TASKLETS_FPSCR_CONTROL_WIDTH) - 1)
                                             << TASKLETS_FPSCR_CONTROL_LSB;
}  // namespace

fp_control current_fp_control() noexcept {
    std::uint32_t fpscr;
    asm volatile("vmrs %0, fpscr" : "=r"(fpscr));
    return fpscr & fpscr_control_mask;  // the flags are the thread's, not the context's
}

void* prepare_stack(void* stack_top, context_entry entry, fp_control fp) noexcept {
    // sp at the entry is the aligned stack top (16, more than AAPCS's 8, as elsewhere);
    // the frame sits right below it, so the switch's final `add sp` lands exactly there.
    auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
    auto* frame = reinterpret_cast<std::byte*>(top) - TASKLETS_FRAME_SIZE;
    std::memset(frame, 0, TASKLETS_FRAME_SIZE);  // r7 = r11 = 0 end the frame-pointer chains

    store_in_frame(frame, TASKLETS_FRAME_FPSCR, static_cast<std::uint32_t>(fp) & fpscr_control_mask);
    store_in_frame(frame, TASKLETS_FRAME_R4, reinterpret_cast<std::uintptr_t>(entry));
    // A Thumb function's address has bit 0 set, so the switch's bx enters it in Thumb state.
    store_in_frame(frame, TASKLETS_FRAME_RESUME, reinterpret_cast<std::uintptr_t>(&tasklets_armhf_first_entry));
    return frame;
}

void set_saved_fp_control(void* context, fp_control fp) noexcept {
    auto* frame = static_cast<std::byte*>(context);
    store_in_frame(frame, TASKLETS_FRAME_FPSCR, static_cast<std::uint32_t>(fp) & fpscr_control_mask);
}

}  // namespace tasklets::arch
