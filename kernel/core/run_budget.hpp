// The budget of the outermost budgeted run() (include/tasklets/watchdog.hpp explains the
// rules; core/safe_points.cpp keeps the books).
#pragma once

#include <chrono>
#include <cstdint>

namespace tasklets::detail {

struct tasklet_impl;

struct run_budget {
    tasklet_impl* watchdog = nullptr;       // that run()'s caller
    std::int64_t tick_budget = 0;           // per slice (or in total); 0: none
    std::int64_t ticks_left = 0;
    std::chrono::nanoseconds time_budget{0};
    std::chrono::steady_clock::time_point slice_start{};
    std::chrono::steady_clock::time_point last_look{};  // the clock's last reading
    bool slice_restarted = false;           // a switch happened: the slice starts anew
    bool soft = false;
    bool total = false;
    bool soft_expired = false;              // soft: stop at the next voluntary switch
    bool stopped = false;                   // soft stop happened: run() returns empty
    tasklet_impl* interrupted = nullptr;    // hard stop happened: run() returns it (a handle held)
};

}  // namespace tasklets::detail
