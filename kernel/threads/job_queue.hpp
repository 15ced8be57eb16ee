// A worker's queue of jobs not started yet (threads/worker_pool.cpp): a ring of owning
// pointers that doubles when full, newest at the back. The owner pushes and pops at the
// back (newest first: depth first), thieves pop at the front (oldest). Guarded by its
// worker's spin lock; it only ever grows, so a burst's capacity is kept for the next.
//
// It replaced std::deque, whose push and pop cost the pool's skynet about 60
// instructions a task more (a block map to walk, blocks allocated and freed as the
// queue breathes).
#pragma once

#include <tasklets/worker_pool.hpp>

#include <cstddef>
#include <memory>
#include <utility>

namespace tasklets::detail {

class job_queue {
public:
    job_queue() = default;
    job_queue(const job_queue&) = delete;
    job_queue& operator=(const job_queue&) = delete;
    ~job_queue() {
        while (!empty()) (void)pop_front();
        delete[] slots_;
    }

    bool empty() const noexcept { return head_ == tail_; }
    std::size_t size() const noexcept { return tail_ - head_; }

    /// Appends `job` (taken only once there is room: bad_alloc leaves it with the caller).
    void push_back(std::unique_ptr<pool_job_base>& job) {
        if (size() == capacity_) grow();
        slots_[tail_++ & (capacity_ - 1)] = job.release();
    }
    /// The newest job, left in place; the queue must not be empty.
    const pool_job_base& back() const noexcept { return *slots_[(tail_ - 1) & (capacity_ - 1)]; }
    /// The newest job; the queue must not be empty.
    std::unique_ptr<pool_job_base> pop_back() noexcept { return std::unique_ptr<pool_job_base>(slots_[--tail_ & (capacity_ - 1)]); }
    /// The oldest job; the queue must not be empty.
    std::unique_ptr<pool_job_base> pop_front() noexcept { return std::unique_ptr<pool_job_base>(slots_[head_++ & (capacity_ - 1)]); }

    void swap(job_queue& other) noexcept {
        std::swap(slots_, other.slots_);
        std::swap(capacity_, other.capacity_);
        std::swap(head_, other.head_);
        std::swap(tail_, other.tail_);
    }

private:
    void grow() {
        const std::size_t bigger = capacity_ ? 2 * capacity_ : 64;
        auto* fresh = new pool_job_base*[bigger];
        for (std::size_t i = 0; i < size(); ++i) fresh[i] = slots_[(head_ + i) & (capacity_ - 1)];
        delete[] slots_;
        slots_ = fresh;
        tail_ = size();
        head_ = 0;
        capacity_ = bigger;
    }

    pool_job_base** slots_ = nullptr;
    std::size_t capacity_ = 0;  // 0 or a power of two
    std::size_t head_ = 0;      // positions count up for ever; a slot is position & (capacity - 1)
    std::size_t tail_ = 0;
};

}  // namespace tasklets::detail
