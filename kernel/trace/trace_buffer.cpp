// Trace buffers and the store of finished ones (trace/trace_buffer.hpp).
#include "trace/trace_buffer.hpp"

#include <atomic>
#include <chrono>
#include <mutex>

namespace tasklets::detail {

namespace {

std::mutex kept_mutex;
std::vector<std::unique_ptr<trace_buffer>> kept;  // guarded by kept_mutex
// Only uniqueness matters (a label in the file): relaxed.
std::atomic<std::uint32_t> thread_numbers{0};

std::uint64_t round_up_power_of_two(std::size_t n) noexcept {
    std::uint64_t p = 1024;
    while (p < n) p <<= 1;
    return p;
}

}  // namespace

std::int64_t trace_clock() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

trace_buffer::trace_buffer(std::size_t max_events)
    : mask(round_up_power_of_two(max_events) - 1), thread_number(next_trace_thread_number()) {
    events = std::make_unique_for_overwrite<trace_event[]>(mask + 1);
}

void trace_buffer::name(std::uint64_t id, const char* text) noexcept {
    try {
        names[id] = text;
    } catch (...) {
        // Out of memory: the track keeps its number only.
    }
}

void keep_trace(std::unique_ptr<trace_buffer> buffer) {
    std::lock_guard lock(kept_mutex);
    kept.push_back(std::move(buffer));
}

void with_kept_traces(void (*f)(const std::vector<std::unique_ptr<trace_buffer>>&, void*), void* context) {
    std::lock_guard lock(kept_mutex);
    f(kept, context);
}

void forget_kept_traces() noexcept {
    std::vector<std::unique_ptr<trace_buffer>> old;
    {
        std::lock_guard lock(kept_mutex);
        old.swap(kept);
    }
}

std::uint32_t next_trace_thread_number() noexcept {
    return thread_numbers.fetch_add(1, std::memory_order_relaxed) + 1;
}

}  // namespace tasklets::detail
