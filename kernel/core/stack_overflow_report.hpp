// What a stack-overflow report says and which faults are one, shared by the two handlers
// (core/stack_overflow.cpp on POSIX, core/stack_overflow_windows.cpp). Both run on the
// edge of a dead stack, from a signal handler or a vectored exception handler, so nothing
// here allocates, locks or calls into the C++ runtime.
#pragma once

#include "core/scheduler.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace tasklets::detail::overflow {

/// Where a faulting address lies relative to the running tasklet's stack.
struct hit {
    bool below = false;  ///< in the guard region under the stack: an overflow
    bool above = false;  ///< in the guard region over the stack's top: an overrun
    explicit operator bool() const noexcept { return below || above; }
};

inline hit classify(const tasklet_impl& t, const std::byte* addr) noexcept {
    const std::size_t guard = stack_pool::guard_bytes();
    return {addr >= t.stack.base - guard && addr < t.stack.base, addr >= t.stack.top() && addr < t.stack.top() + guard};
}

/// The report's text in a fixed buffer: "tasklets: stack overflow in tasklet 7 "name"
/// (stack 65536 bytes); give it a larger stack", or for an overrun past the top, "write
/// past the top of the stack of tasklet …; a buffer overrun on its stack?".
struct report_text {
    char text[512];
    std::size_t length = 0;

    report_text(const tasklet_impl& t, bool past_top) noexcept {
        append(past_top ? "tasklets: write past the top of the stack of tasklet " : "tasklets: stack overflow in tasklet ");
        append(t.id);
        if (const char* name = t.name()) {
            append(" \"");
            append(name);
            append("\"");
        }
        append(" (stack ");
        append(static_cast<std::uint64_t>(t.stack.size));
        append(past_top ? " bytes); a buffer overrun on its stack?\n" : " bytes); give it a larger stack\n");
    }

private:
    void append(const char* s, std::size_t n) noexcept {
        for (std::size_t i = 0; i < n && length < sizeof text; ++i) text[length++] = s[i];
    }
    void append(const char* s) noexcept { append(s, std::strlen(s)); }
    void append(std::uint64_t v) noexcept {
        char digits[20];
        std::size_t n = 0;
        do digits[n++] = static_cast<char>('0' + v % 10); while ((v /= 10) != 0);
        while (n) append(&digits[--n], 1);
    }
};

}  // namespace tasklets::detail::overflow
