// remote_job's and pool_job_base's operator new and delete (threads/job_memory.hpp).
#include "threads/job_memory.hpp"

#include "core/scheduler.hpp"

#include <tasklets/thread_ref.hpp>
#include <tasklets/worker_pool.hpp>

#include <new>

namespace tasklets::detail {

namespace {
// The class of a block of `size` bytes, or job_cache::classes if it is not kept.
std::size_t class_of(std::size_t size) noexcept {
    const std::size_t c = (size + job_cache::granule - 1) / job_cache::granule - 1;
    return c < job_cache::classes ? c : job_cache::classes;
}

// Inlined into both classes' operators, so a pool spawn pays no extra call.
[[gnu::always_inline]] inline void* new_block(std::size_t size) {
    const std::size_t c = class_of(size);
    if (c == job_cache::classes) return ::operator new(size);
    scheduler* s = tls_scheduler;
    // Always the class's whole size, whoever allocates: the thread that frees it may keep it.
    if (s == nullptr) return ::operator new((c + 1) * job_cache::granule);
    job_cache& k = s->job_blocks;
    if (job_cache::free_block* b = k.free[c]) [[likely]] {
        k.free[c] = b->next;
        --k.count[c];
        return b;
    }
    return ::operator new((c + 1) * job_cache::granule);
}

[[gnu::always_inline]] inline void delete_block(void* p, std::size_t size) noexcept {
    const std::size_t c = class_of(size);
    scheduler* s = tls_scheduler;
    if (c == job_cache::classes || s == nullptr || s->job_blocks.count[c] == job_cache::keep) return ::operator delete(p);
    job_cache& k = s->job_blocks;
    auto* b = static_cast<job_cache::free_block*>(p);
    b->next = k.free[c];
    k.free[c] = b;
    ++k.count[c];
}
}  // namespace

void job_cache::drain() noexcept {
    for (std::size_t c = 0; c < classes; ++c) {
        while (free_block* b = free[c]) {
            free[c] = b->next;
            ::operator delete(b);
        }
        count[c] = 0;
    }
}

void* remote_job::operator new(std::size_t size) { return new_block(size); }
void remote_job::operator delete(void* p, std::size_t size) noexcept { delete_block(p, size); }

void* pool_job_base::operator new(std::size_t size) { return new_block(size); }
void pool_job_base::operator delete(void* p, std::size_t size) noexcept { delete_block(p, size); }

}  // namespace tasklets::detail
