// The FP control state of the three x86 ports (x86_64, i386, windows_x64): they keep the
// same two registers per context, in the same fp_control packing (arch_context.hpp).
#pragma once

#include "arch_context.hpp"

#include <cstdint>

namespace tasklets::arch {

/// MXCSR in the low 32 bits, the x87 control word in bits 32-47.
inline fp_control read_x86_fp_control() noexcept {
    std::uint32_t mxcsr;
    std::uint16_t x87cw;
    asm volatile("stmxcsr %0" : "=m"(mxcsr));
    asm volatile("fnstcw %0" : "=m"(x87cw));
    return mxcsr | fp_control{x87cw} << 32;
}

}  // namespace tasklets::arch
