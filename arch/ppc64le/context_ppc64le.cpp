// Fresh contexts on ppc64le: builds the frame drawn in switch_ppc64le.S so that the first
// switch returns into tasklets_ppc64le_first_entry, which calls the entry through r12.
#include "arch_context.hpp"

#include <bit>
#include <cstdint>
#include <cstring>

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) inline constexpr std::size_t name = value;
#include "frame_ppc64le.h"
#undef TASKLETS_OFFSET
#undef TASKLETS_NOTE

extern "C" void tasklets_ppc64le_first_entry();

namespace tasklets::arch {

// The part the switch allocates: the back chain first (stdu writes it at 0), the header,
// then r2, r14-r31 and f14-f31 adjacent (8 bytes each, as the .irp loops in the switch
// step), the FPSCR, and v20-v31 16 bytes apart on a 16-byte boundary (stvx/lvx drop the
// low four address bits, so a misaligned slot would silently overlap its neighbour).
static_assert(TASKLETS_FRAME_BACK_CHAIN == 0 && TASKLETS_FRAME_R2 >= TASKLETS_HEADER_SIZE);
static_assert(TASKLETS_FRAME_R14 == TASKLETS_FRAME_R2 + 8);
static_assert(TASKLETS_FRAME_R31 == TASKLETS_FRAME_R14 + 8 * 17);
static_assert(TASKLETS_FRAME_F14 == TASKLETS_FRAME_R31 + 8);
static_assert(TASKLETS_FRAME_F31 == TASKLETS_FRAME_F14 + 8 * 17);
static_assert(TASKLETS_FRAME_FPSCR == TASKLETS_FRAME_F31 + 8);
static_assert(TASKLETS_FRAME_V20 >= TASKLETS_FRAME_FPSCR + 8 && TASKLETS_FRAME_V20 % 16 == 0);
static_assert(TASKLETS_FRAME_V31 == TASKLETS_FRAME_V20 + 16 * 11);
static_assert(TASKLETS_FRAME_SIZE >= TASKLETS_FRAME_V31 + 16 && TASKLETS_FRAME_SIZE % 16 == 0);
// Above it, the two callee slots of the caller's ELFv2 frame header.
static_assert(TASKLETS_FRAME_CR == TASKLETS_FRAME_SIZE + 8 && TASKLETS_FRAME_LR == TASKLETS_FRAME_SIZE + 16);
static_assert(TASKLETS_HEADER_SIZE == 32);
// std/ld/stfd/lfd (DS/D-form) and li take signed 16-bit displacements; std/ld also need a
// multiple of 4 (the DS field).
static_assert(TASKLETS_FRAME_LR < 32768 && TASKLETS_FRAME_R2 % 4 == 0 && TASKLETS_FRAME_R14 % 4 == 0 &&
              TASKLETS_FRAME_FPSCR % 4 == 0 && TASKLETS_FRAME_LR % 4 == 0);
static_assert(TASKLETS_FRAME_SIZE + TASKLETS_HEADER_SIZE <= min_context_stack,
              "make_context promises the frame fits");

fp_control current_fp_control() noexcept {
    double image;
    asm volatile("mffs %0" : "=d"(image));
    return std::bit_cast<std::uint64_t>(image);
}

void* prepare_stack(void* stack_top, context_entry entry, fp_control fp) noexcept {
    // r1 at the entry is the aligned top less one zeroed frame header, the entry's caller's
    // header: the entry stores its LR (0) and CR there, and its back chain word, 0, ends
    // every back-chain walk. The frame sits right below it.
    const auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
    auto* header = reinterpret_cast<std::byte*>(top) - TASKLETS_HEADER_SIZE;
    auto* frame = header - TASKLETS_FRAME_SIZE;
    // Zeroed: r2 (the entry sets its own from r12), r15-r31 (r31 is GCC's frame pointer),
    // f14-f31, v20-v31, CR and the header's back chain.
    std::memset(frame, 0, TASKLETS_FRAME_SIZE + TASKLETS_HEADER_SIZE);

    store_in_frame(frame, TASKLETS_FRAME_BACK_CHAIN, reinterpret_cast<std::uintptr_t>(header));
    store_in_frame(frame, TASKLETS_FRAME_R14, reinterpret_cast<std::uintptr_t>(entry));
    // The whole 64-bit image, read back with lfd; the switch takes only its control bits.
    store_in_frame(frame, TASKLETS_FRAME_FPSCR, static_cast<std::uint64_t>(fp));
    store_in_frame(frame, TASKLETS_FRAME_LR, reinterpret_cast<std::uintptr_t>(&tasklets_ppc64le_first_entry));
    return frame;
}

void set_saved_fp_control(void* context, fp_control fp) noexcept {
    auto* frame = static_cast<std::byte*>(context);
    store_in_frame(frame, TASKLETS_FRAME_FPSCR, static_cast<std::uint64_t>(fp));
}

}  // namespace tasklets::arch
