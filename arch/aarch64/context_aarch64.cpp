// Fresh contexts on AArch64: builds the frame drawn in switch_aarch64.S so that the first
// switch returns into tasklets_aarch64_first_entry, which branches to the entry.
#include "arch_context.hpp"

#include <cstdint>
#include <cstring>

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) inline constexpr std::size_t name = value;
#include "frame_aarch64.h"
#undef TASKLETS_OFFSET
#undef TASKLETS_NOTE

extern "C" void tasklets_aarch64_first_entry();

namespace tasklets::arch {

// The frame must be exactly what switch_aarch64.S stores: x19-x28 then x29/x30 as
// consecutive stp pairs, d8-d15 as pairs, then FPCR, the whole a multiple of 16.
static_assert(TASKLETS_FRAME_X19 == 0);
static_assert(TASKLETS_FRAME_X20 == TASKLETS_FRAME_X19 + 8 && TASKLETS_FRAME_X21 == TASKLETS_FRAME_X19 + 16);
static_assert(TASKLETS_FRAME_X22 == TASKLETS_FRAME_X21 + 8 && TASKLETS_FRAME_X23 == TASKLETS_FRAME_X21 + 16);
static_assert(TASKLETS_FRAME_X24 == TASKLETS_FRAME_X23 + 8 && TASKLETS_FRAME_X25 == TASKLETS_FRAME_X23 + 16);
static_assert(TASKLETS_FRAME_X26 == TASKLETS_FRAME_X25 + 8 && TASKLETS_FRAME_X27 == TASKLETS_FRAME_X25 + 16);
static_assert(TASKLETS_FRAME_X28 == TASKLETS_FRAME_X27 + 8 && TASKLETS_FRAME_X29 == TASKLETS_FRAME_X27 + 16);
static_assert(TASKLETS_FRAME_RESUME == TASKLETS_FRAME_X29 + 8);
static_assert(TASKLETS_FRAME_D8 == TASKLETS_FRAME_RESUME + 8);
static_assert(TASKLETS_FRAME_D10 == TASKLETS_FRAME_D8 + 16 && TASKLETS_FRAME_D12 == TASKLETS_FRAME_D10 + 16 &&
              TASKLETS_FRAME_D14 == TASKLETS_FRAME_D12 + 16);
static_assert(TASKLETS_FRAME_FPCR == TASKLETS_FRAME_D14 + 16);
static_assert(TASKLETS_FRAME_SIZE >= TASKLETS_FRAME_FPCR + 8 && TASKLETS_FRAME_SIZE % 16 == 0);
// stp/ldp with a signed 7-bit scaled offset reach 504 bytes; ldr/str reach far more.
static_assert(TASKLETS_FRAME_D14 <= 504);
static_assert(TASKLETS_FRAME_SIZE <= min_context_stack, "make_context promises the frame fits");

namespace {
// Signs a resume address for the frame the switch leaves with sp == `sp` (what its
// autiasp will check): pacia1716, x17 signed with the A key and x16 as modifier. In the
// hint space, so a CPU without PAuth leaves the address as it is (and autiasp is a NOP).
std::uint64_t sign_resume_address(std::uint64_t address, std::uint64_t sp) noexcept {
    std::uint64_t signed_address;
    asm("mov x17, %1\n\tmov x16, %2\n\thint #8\n\tmov %0, x17"  // hint #8: pacia1716
        : "=r"(signed_address)
        : "r"(address), "r"(sp)
        : "x16", "x17");
    return signed_address;
}

}  // namespace

fp_control current_fp_control() noexcept {
    std::uint64_t fpcr;
    asm volatile("mrs %0, fpcr" : "=r"(fpcr));
    return fpcr;
}

void* prepare_stack(void* stack_top, context_entry entry, fp_control fp) noexcept {
    // sp at the entry is the aligned stack top; the frame sits right below it, so the
    // switch's final `add sp` lands exactly there.
    auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
    auto* frame = reinterpret_cast<std::byte*>(top) - TASKLETS_FRAME_SIZE;
    std::memset(frame, 0, TASKLETS_FRAME_SIZE);  // x29 = 0 ends the frame-pointer chain

    store_in_frame(frame, TASKLETS_FRAME_FPCR, std::uint64_t{fp});
    store_in_frame(frame, TASKLETS_FRAME_X19, reinterpret_cast<std::uintptr_t>(entry));
    // Signed for sp == top, where the switch's `add sp` lands before its autiasp.
    store_in_frame(frame, TASKLETS_FRAME_RESUME,
          sign_resume_address(reinterpret_cast<std::uintptr_t>(&tasklets_aarch64_first_entry), top));
    return frame;
}

void set_saved_fp_control(void* context, fp_control fp) noexcept {
    auto* frame = static_cast<std::byte*>(context);
    store_in_frame(frame, TASKLETS_FRAME_FPCR, std::uint64_t{fp});
}

}  // namespace tasklets::arch
