// Timers: intrusive records in a 4-ary min-heap ordered by (deadline, sequence).
//
// A timer record lives in the frame of the tasklet that waits (a sleep, an I/O wait, a
// channel operation with a timeout), so setting one allocates nothing but, now and then,
// the heap's index vector. Each record knows its heap position: cancel is O(log n).
// The sequence number breaks ties, so timers with the same deadline fire in the order they
// were set — the virtual clock's determinism depends on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tasklets::detail {

struct timer_node {
    static constexpr std::uint32_t npos = 0xffffffffu;
    std::int64_t deadline = 0;  // nanoseconds on the scheduler's clock
    std::uint64_t seq = 0;
    std::uint32_t index = npos; // position in the heap; npos when not queued
    void (*fire)(timer_node* self) noexcept = nullptr;  // runs inside event_source::poll
    void* context = nullptr;
    bool queued() const noexcept { return index != npos; }
};

class timer_heap {
public:
    bool empty() const noexcept { return heap_.empty(); }
    std::size_t size() const noexcept { return heap_.size(); }
    timer_node* top() const noexcept { return heap_.front(); }

    /// May throw std::bad_alloc (then nothing changed).
    void push(timer_node* n) {
        heap_.push_back(n);
        n->index = static_cast<std::uint32_t>(heap_.size() - 1);
        up(n->index);
    }
    void erase(timer_node* n) noexcept {
        const std::size_t i = n->index;
        n->index = timer_node::npos;
        timer_node* last = heap_.back();
        heap_.pop_back();
        if (last == n) return;
        heap_[i] = last;
        last->index = static_cast<std::uint32_t>(i);
        if (i > 0 && before(last, heap_[(i - 1) / arity])) up(i);
        else down(i);
    }
    timer_node* pop() noexcept {
        timer_node* n = heap_.front();
        erase(n);
        return n;
    }

private:
    static constexpr std::size_t arity = 4;
    static bool before(const timer_node* a, const timer_node* b) noexcept {
        return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
    }
    void place(std::size_t i, timer_node* n) noexcept {
        heap_[i] = n;
        n->index = static_cast<std::uint32_t>(i);
    }
    void up(std::size_t i) noexcept {
        timer_node* n = heap_[i];
        while (i > 0) {
            const std::size_t parent = (i - 1) / arity;
            if (!before(n, heap_[parent])) break;
            place(i, heap_[parent]);
            i = parent;
        }
        place(i, n);
    }
    void down(std::size_t i) noexcept {
        timer_node* n = heap_[i];
        const std::size_t size = heap_.size();
        for (;;) {
            const std::size_t first = i * arity + 1;
            if (first >= size) break;
            std::size_t best = first;
            const std::size_t end = first + arity < size ? first + arity : size;
            for (std::size_t c = first + 1; c < end; ++c)
                if (before(heap_[c], heap_[best])) best = c;
            if (!before(heap_[best], n)) break;
            place(i, heap_[best]);
            i = best;
        }
        place(i, n);
    }
    std::vector<timer_node*> heap_;
};

}  // namespace tasklets::detail
