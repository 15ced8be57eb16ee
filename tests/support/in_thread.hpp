// Runs a test body on a thread of its own: a fresh scheduler (and clock, and reactor),
// torn down when the thread ends, so each test starts from nothing.
#pragma once

#include <dirent.h>

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

/// Descriptors open in this process now.
inline int open_fd_count() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d)) ++n;
        ::closedir(d);
    }
    return n;
}

/// in_thread() for I/O tests: also checks that the thread's teardown closed every
/// descriptor it opened (the reactor's epoll included). Returns whether it did.
template <class F>
bool in_io_thread(F body) {
    const int before = open_fd_count();
    in_thread(body);
    return open_fd_count() == before;
}

}  // namespace tasklets_test
