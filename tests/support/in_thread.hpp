// Runs a test body on a thread of its own: a fresh scheduler (and clock, and reactor),
// torn down when the thread ends, so each test starts from nothing.
#pragma once

#include <exception>
#include <thread>

namespace tasklets_test {

/// Runs body() on a new thread, waits for it, and rethrows here whatever escaped it.
template <class F>
void in_thread(F body) {
    std::exception_ptr escaped;
    std::thread([&] {
        try {
            body();
        } catch (...) {
            escaped = std::current_exception();
        }
    }).join();
    if (escaped) std::rethrow_exception(escaped);
}

}  // namespace tasklets_test
