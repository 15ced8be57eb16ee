// A recursion that overflows any stack, for the death tests that check the overflow report
// (tests/test_overflow.cpp, tests/windows/test_windows_overflow.cpp).
#pragma once

namespace tasklets_test {

// The optimiser cannot remove it: each frame keeps a 1 KiB buffer alive, and the end
// condition is one the compiler cannot see through.
inline volatile bool keep_recursing = true;

inline int recurse(int depth) {
    volatile char frame[1024];
    frame[0] = static_cast<char>(depth);
    if (!keep_recursing) return frame[0];
    return recurse(depth + 1) + frame[0];
}

}  // namespace tasklets_test
