// Fresh contexts on i386: builds the frame drawn in switch_i386.S so that the first
// switch jumps into tasklets_i386_first_entry, which jumps to the entry.
#include "arch_context.hpp"
#include "x86_fp_control.hpp"

#include <cpuid.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) inline constexpr std::size_t name = value;
#include "frame_i386.h"
#undef TASKLETS_OFFSET
#undef TASKLETS_NOTE

extern "C" void tasklets_i386_first_entry();

namespace tasklets::arch {

// The frame must be exactly what switch_i386.S stores: one 8-byte FP control slot, four
// 4-byte registers, then the resume address pushed by the call.
static_assert(TASKLETS_FRAME_MXCSR == 0 && TASKLETS_FRAME_X87CW == 4);
static_assert(TASKLETS_FRAME_EBX == 8 && TASKLETS_FRAME_ESI == TASKLETS_FRAME_EBX + 4 &&
              TASKLETS_FRAME_EDI == TASKLETS_FRAME_EBX + 8 && TASKLETS_FRAME_EBP == TASKLETS_FRAME_EBX + 12);
static_assert(TASKLETS_FRAME_SAVED_BYTES == TASKLETS_FRAME_EBP + 4);
static_assert(TASKLETS_FRAME_RESUME == TASKLETS_FRAME_SAVED_BYTES);
static_assert(TASKLETS_FRAME_SIZE == TASKLETS_FRAME_RESUME + 4);
static_assert(sizeof(void*) == 4 && sizeof(std::uintptr_t) == 4, "the frame holds 4-byte registers");
// A fresh context's entry sees its argument at esp + 4 on a 16-byte boundary (as after
// any call); the argument and its padding fill the rest up to the aligned top.
static_assert((TASKLETS_ENTRY_SP_BELOW_TOP - 4) % 16 == 0 && TASKLETS_ENTRY_SP_BELOW_TOP >= 8);
static_assert(TASKLETS_FRAME_SIZE + TASKLETS_ENTRY_SP_BELOW_TOP + 15 <= min_context_stack,
              "make_context promises the frame fits");

namespace {

// The switch reads and writes MXCSR, which exists only with SSE (Pentium III and
// later); Debian's i386 baseline does not promise it. Checked once, when the library is
// loaded (this file is linked whenever contexts can be made), so such a CPU gets a
// message instead of SIGILL inside a switch. CPUID itself exists on every i686.
[[gnu::constructor]] void require_sse() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) && (edx & bit_SSE) != 0) return;
    std::fputs("tasklets: this CPU has no SSE, and the i386 context switch keeps MXCSR per context "
               "(it needs a Pentium III or later)\n",
               stderr);
    std::abort();
}

}  // namespace

fp_control current_fp_control() noexcept { return read_x86_fp_control(); }

void* prepare_stack(void* stack_top, context_entry entry, fp_control fp) noexcept {
    // Top of stack: 12 bytes of padding and the entry's argument slot, then one null
    // return address at esp, with (esp + 4) % 16 == 0; the frame sits right below it.
    auto top = reinterpret_cast<std::uintptr_t>(stack_top) & ~std::uintptr_t{15};
    auto* null_return = reinterpret_cast<std::byte*>(top - TASKLETS_ENTRY_SP_BELOW_TOP);
    auto* frame = null_return - TASKLETS_FRAME_SIZE;
    std::memset(frame, 0, TASKLETS_FRAME_SIZE + TASKLETS_ENTRY_SP_BELOW_TOP);  // ebp = 0 ends the chain

    store_in_frame(frame, TASKLETS_FRAME_MXCSR, static_cast<std::uint32_t>(fp));
    store_in_frame(frame, TASKLETS_FRAME_X87CW, static_cast<std::uint16_t>(fp >> 32));
    store_in_frame(frame, TASKLETS_FRAME_EBX, reinterpret_cast<std::uintptr_t>(entry));
    store_in_frame(frame, TASKLETS_FRAME_RESUME,
          reinterpret_cast<std::uintptr_t>(&tasklets_i386_first_entry));
    return frame;
}

void set_saved_fp_control(void* context, fp_control fp) noexcept {
    auto* frame = static_cast<std::byte*>(context);
    store_in_frame(frame, TASKLETS_FRAME_MXCSR, static_cast<std::uint32_t>(fp));
    store_in_frame(frame, TASKLETS_FRAME_X87CW, static_cast<std::uint16_t>(fp >> 32));
}

}  // namespace tasklets::arch
