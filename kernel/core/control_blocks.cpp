// Making and freeing control blocks: spawn's first half (include/tasklets/tasklet.hpp
// allocates a block, constructs the bound function in it, then binds and schedules it).
#include "arch_context.hpp"
#include "core/observe.hpp"
#include "core/ring.hpp"
#include "core/scheduler.hpp"
#include "core/tasklet_life.hpp"
#include "core/shared_stacks.hpp"
#include "stacks/stack_settings.hpp"
#include "threads/migration.hpp"

#include <tasklets/stack.hpp>

#include <atomic>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

namespace tasklets::detail {

namespace {

[[noreturn]] void stack_too_small(std::size_t requested) {
    throw std::invalid_argument("tasklets: a stack of " + std::to_string(requested) +
                                " bytes is too small; the minimum is " + std::to_string(min_stack_size) +
                                " bytes (tasklets::min_stack_size)");
}

std::size_t round_to_pages(const scheduler& s, std::size_t bytes) noexcept {
    return (bytes + s.page_size - 1) / s.page_size * s.page_size;
}

std::size_t stack_bytes_for(scheduler& s, std::size_t requested) {
    if (requested != 0) {
        if (requested < min_stack_size) stack_too_small(requested);
        return round_to_pages(s, requested);
    }
    const std::size_t by_default = default_stack_bytes();  // validated when set
    if (by_default != s.default_stack_request) {
        s.default_stack_request = by_default;
        s.default_stack_rounded = round_to_pages(s, by_default);
    }
    return s.default_stack_rounded;
}

// The bound function sits right after the control block, at its own alignment: most
// functions need only 8, and the 8 bytes that aligning for any type would leave after a
// 200-byte block are then a 16-byte granule of every cell (240 rather than 224 bytes for
// a function with two captured pointers).
std::size_t body_offset(std::size_t align) noexcept {
    // align is a power of two (alignof), so rounding up is a mask, not a division.
    return (sizeof(tasklet_impl) + align - 1) & ~(align - 1);
}

// Ids are per thread (2, 3, …); a tasklet that may move takes one that no thread hands
// out, so that it names one tasklet wherever it goes (traces, remote kills). relaxed: only
// uniqueness matters.
std::uint64_t migrant_id() noexcept {
    static std::atomic<std::uint64_t> next{first_migrant_id};
    return next.fetch_add(1, std::memory_order_relaxed);
}

// A control block in a cell of `bytes` (it, the body, and what follows), its fields set.
[[gnu::always_inline]] inline tasklet_impl* new_block(scheduler& s, std::size_t bytes, const tasklet_options& options,
                                                      void*& slab) {
    const std::size_t stack_bytes = stack_bytes_for(s, options.stack_size);
    void* memory;
    std::uint64_t id;
    if (options.migratable) [[unlikely]] {
        memory = cell_pool::allocate_alone(bytes);
        id = migrant_id();
    } else {
        memory = s.cells.allocate(bytes, slab);
        id = s.next_id++;
    }
    auto* t = ::new (memory) tasklet_impl;
    t->cell_slab = slab;
    t->home = &s;
    t->stack.size = stack_bytes;
    t->fp_control = arch::current_fp_control();  // inherited, as by a new thread
    t->id = id;
    t->stack_kind = options.migratable ? stack_alone : stack_pooled;
    t->next = t->prev = t;
    return t;
}

// allocate_tasklet for a named tasklet, an explicit stack mode, or a thread whose default
// is shared. A shared-stack tasklet's shared_stack_state follows its body in the same
// cell: no allocation of its own, and no allocator header (16 bytes of every parked one).
[[gnu::noinline]] unbound_tasklet allocate_carefully(scheduler& s, std::size_t offset, std::size_t body_size,
                                                     const tasklet_options& options) {
    const bool shared =
        options.stack == stack_mode::shared || (options.stack == stack_mode::thread_default && s.shared_by_default);
    const std::size_t state_at = (offset + body_size + alignof(shared_stack_state) - 1) & ~(alignof(shared_stack_state) - 1);
    void* slab = nullptr;
    tasklet_impl* t = new_block(s, shared ? state_at + sizeof(shared_stack_state) : offset + body_size, options, slab);
    try {
        if (shared) {
            if (options.migratable)
                throw std::invalid_argument(
                    "tasklets: a shared-stack tasklet cannot be migratable: its frames belong to its "
                    "thread's execution stack; give it stack_mode::dedicated to let it move");
            make_shared_mode(s, t, reinterpret_cast<std::byte*>(t) + state_at);
        }
        t->set_name(options.name);
    } catch (...) {
        t->~tasklet_impl();
        s.cells.release(t, slab);
        throw;
    }
    link_all(s, t);
    return {t, reinterpret_cast<std::byte*>(t) + offset};
}

}  // namespace

unbound_tasklet allocate_tasklet(std::size_t body_size, std::size_t body_align, const tasklet_options& options) {
    scheduler& s = sched();
    const std::size_t offset = body_offset(body_align);
    // One test for every rare case: thread_default is 0.
    if (!options.name.empty() || (static_cast<unsigned>(options.stack) | s.shared_by_default)) [[unlikely]]
        return allocate_carefully(s, offset, body_size, options);
    void* slab = nullptr;
    tasklet_impl* t = new_block(s, offset + body_size, options, slab);
    link_all(s, t);
    return {t, reinterpret_cast<std::byte*>(t) + offset};
}

void tasklet_impl::set_name(std::string_view text) {
    if (text.empty()) {
        if (extras) delete[] std::exchange(extras->name, nullptr);
        return;
    }
    if (!extras) extras = new tasklet_extras;  // if the copy below throws, they stay, empty
    char* copy = new char[text.size() + 1];
    std::memcpy(copy, text.data(), text.size());
    copy[text.size()] = '\0';
    delete[] std::exchange(extras->name, copy);
}

void free_extras(tasklet_extras* x) noexcept { delete x; }

tasklet_extras* tasklet_impl::make_extras() noexcept {
    extras = new (std::nothrow) tasklet_extras;
    return extras;
}


void free_unbound(tasklet_impl* t) noexcept { free_tasklet(sched(), t); }

void bind_and_schedule(tasklet_impl* t, tasklet_body* body) noexcept {
    scheduler& s = *tls_scheduler;  // allocate_tasklet() created it, on this thread, just before
    t->body = body;
    t->alive = true;
    ring_append(s, t);
    note_spawned(s, t);
}

void bind_and_schedule_unreferenced(tasklet_impl* t, tasklet_body* body) noexcept {
    bind_and_schedule(t, body);
    t->handles = 0;  // alive and in the ring: release() would only have counted down
}

bool fits_default_options(scheduler& s, const tasklet_impl* t) noexcept {
    return t->stack_kind == stack_pooled && !s.shared_by_default && t->stack.size == stack_bytes_for(s, 0);
}

void free_tasklet(scheduler& s, tasklet_impl* t) noexcept {
    unlink_all(s, t);
    if (t->body) t->body->~tasklet_body();
    void* const slab = t->cell_slab;
    if (slab == nullptr) [[unlikely]] {  // allocated alone: a large body, or migratable
        if (t->stack_kind == stack_alone) forget_migrant(t->id);
        t->~tasklet_impl();
        ::operator delete(t);
        return;
    }
    t->~tasklet_impl();
    s.cells.release_to_slab(t, slab);
}

}  // namespace tasklets::detail
