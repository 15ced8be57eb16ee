// Which debugging tool runs the tests, for the few tests that must step aside for it
// (always with the reason printed; see tests/support/sanitizer_tests.cmake for ctest).
#pragma once

#include "valgrind_stack.hpp"

#include <cstdio>

#if defined(__SANITIZE_ADDRESS__)
#define TASKLETS_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TASKLETS_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define TASKLETS_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TASKLETS_TEST_TSAN 1
#endif
#endif

namespace tasklets_test {

/// The sanitizer this binary is built with, or null.
constexpr const char* sanitizer() noexcept {
#if TASKLETS_TEST_ASAN
    return "AddressSanitizer";
#elif TASKLETS_TEST_TSAN
    return "ThreadSanitizer";
#elif TASKLETS_TEST_UBSAN
    return "UndefinedBehaviorSanitizer";
#else
    return nullptr;
#endif
}

/// Whether that sanitizer checks memory accesses itself (ASan and TSan intercept memset
/// and the like; UBSan alone does not).
constexpr bool sanitizer_checks_memory() noexcept {
#if TASKLETS_TEST_ASAN || TASKLETS_TEST_TSAN
    return true;
#else
    return false;
#endif
}

/// Prints why a test does not run here (to stderr, so it shows in any log).
inline void print_skip(const char* test, const char* tool, const char* reason) {
    std::fprintf(stderr, "tasklets: SKIPPED under %s: \"%s\": %s\n", tool, test, reason);
}

}  // namespace tasklets_test
