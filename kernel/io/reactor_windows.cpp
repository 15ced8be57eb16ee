// The reactor's system half on Windows (io/reactor.hpp), chosen by cmake/windows.cmake;
// the clock, timers, virtual clock, helper waits and polling policy stay in io/reactor.cpp.
//
// Windows has no descriptor I/O yet (that needs an IOCP reactor: arch/README.md), so the
// only things the scheduler ever sleeps for here are timers and the helper threads'
// replies: one wait on the helper inbox's event with the time to the next timer as its
// timeout, or a plain sleep when no helper call was ever made on this thread.
#include "io/reactor.hpp"

#include "io/uring.hpp"

#include <windows.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace tasklets::detail {

std::int64_t reactor_clock_ns() noexcept {
    // QueryPerformanceCounter: monotonic, unaffected by clock changes; its frequency is
    // fixed at boot. Split so that counter * 10^9 cannot overflow.
    static const std::int64_t frequency = [] {
        LARGE_INTEGER f;
        QueryPerformanceFrequency(&f);
        return static_cast<std::int64_t>(f.QuadPart);
    }();
    LARGE_INTEGER c;
    QueryPerformanceCounter(&c);
    const std::int64_t ticks = c.QuadPart;
    return ticks / frequency * 1000000000 + ticks % frequency * 1000000000 / frequency;
}

reactor::reactor(scheduler& s) : s_(&s) {}

reactor::~reactor() {
    if (inbox_) inbox_->close();
}

void reactor::register_fd(int fd, fd_entry&) {
    // Unreachable through the public API, which has no descriptors on Windows.
    throw std::logic_error("tasklets: cannot wait for descriptor " + std::to_string(fd) +
                           ": descriptor I/O on Windows needs an IOCP reactor, not written yet (arch/README.md)");
}

std::shared_ptr<thread_inbox> reactor::inbox() {
    if (!inbox_) inbox_ = std::make_shared<thread_inbox>();
    return inbox_;
}

void reactor::windows_wait_once(std::int64_t timeout_ns) noexcept {
    scheduler_counts& counts = s_->counts;
    ++counts.reactor_polls;
    // Whole milliseconds, rounded up so that a timer never fires early; a timeout past
    // INFINITE's range (49 days) is cut to just below it: poll() is asked again.
    DWORD ms = INFINITE;
    if (timeout_ns >= 0)
        ms = static_cast<DWORD>(std::min<std::int64_t>((timeout_ns + 999999) / 1000000, INFINITE - 1));
    const std::int64_t wait_start = timeout_ns != 0 ? reactor_clock_ns() : 0;
    if (inbox_) {
        if (WaitForSingleObject(static_cast<HANDLE>(inbox_->event), ms) == WAIT_OBJECT_0) drain_inbox(true);
    } else if (ms != INFINITE) {  // poll() never asks to wait forever for nothing
        Sleep(ms);
    }
    if (timeout_ns != 0) {
        ++counts.reactor_blocking_polls;
        counts.reactor_wait_ns += reactor_clock_ns() - wait_start;
    }
}

}  // namespace tasklets::detail
