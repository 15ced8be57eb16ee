// Memory for control blocks (core/cell_pool.hpp).
#include "core/cell_pool.hpp"

#include "os/system.hpp"

#include <cerrno>
#include <cstdint>
#include <new>
#include <string>
#include <system_error>

namespace tasklets::detail {

namespace {

// Out of memory for a control block: std::system_error(ENOMEM) saying what and what to do.
[[noreturn]] void out_of_memory(std::size_t bytes) {
    throw std::system_error(ENOMEM, std::generic_category(),
                            "tasklets: cannot allocate a tasklet control block of " + std::to_string(bytes) +
                                " bytes (operator new failed); reduce the number of live tasklets or the size "
                                "of the callables and arguments they hold, or make more memory available");
}

void* allocate_memory(std::size_t bytes) {
    try {
        if (sys::inject_failure("tasklet control block")) throw std::bad_alloc();
        return ::operator new(bytes);
    } catch (const std::bad_alloc&) {
        out_of_memory(bytes);
    }
}

}  // namespace

cell_pool::slab* cell_pool::new_slab(std::size_t cls) {
    void* memory = allocate_memory(slab_bytes);
    auto* s = ::new (memory) slab;
    s->cls = cls;
    const std::size_t cell = cls * granule;
    s->capacity = static_cast<std::uint32_t>((slab_bytes - header) / cell);
    auto* first = static_cast<std::byte*>(memory) + header;
    for (std::size_t i = s->capacity; i-- > 0;) {  // the lowest addresses are handed out first
        auto* c = reinterpret_cast<free_cell*>(first + i * cell);
        c->next = s->free;
        s->free = c;
    }
    ++slabs_;
    ++empty_[cls];
    push_front(cls, s);
    return s;
}

void cell_pool::unlink(std::size_t cls, slab* s) noexcept {
    if (s->prev) s->prev->next = s->next;
    else with_free_[cls] = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = nullptr;
}

void cell_pool::push_front(std::size_t cls, slab* s) noexcept {
    s->prev = nullptr;
    s->next = with_free_[cls];
    if (s->next) s->next->prev = s;
    with_free_[cls] = s;
}

void* cell_pool::allocate(std::size_t bytes, void*& slab_out) {
    const std::size_t cls = (bytes + granule - 1) / granule;
    if (cls > classes) [[unlikely]] {
        slab_out = nullptr;
        return allocate_memory(bytes);
    }
    slab* s = with_free_[cls];
    if (s == nullptr) [[unlikely]] s = new_slab(cls);
    slab_out = s;
    if (s->in_use == 0) --empty_[cls];
    free_cell* c = s->free;
    s->free = c->next;
    if (++s->in_use == s->capacity) unlink(cls, s);  // full: off the list until a cell comes back
    return c;
}

void* cell_pool::allocate_alone(std::size_t bytes) { return allocate_memory(bytes); }

void cell_pool::release(void* cell, void* slab_of_cell) noexcept {
    if (slab_of_cell == nullptr) [[unlikely]] {
        ::operator delete(cell);
        return;
    }
    release_to_slab(cell, slab_of_cell);
}

void cell_pool::release_to_slab(void* cell, void* slab_of_cell) noexcept {
    auto* s = static_cast<slab*>(slab_of_cell);
    auto* c = static_cast<free_cell*>(cell);
    c->next = s->free;
    s->free = c;
    if (s->in_use-- == s->capacity) push_front(s->cls, s);  // it was full
    if (s->in_use != 0) return;
    if ((empty_[s->cls] + 1) * s->capacity <= max_cached_cells) {
        ++empty_[s->cls];  // kept for reuse
        return;
    }
    unlink(s->cls, s);
    s->~slab();
    ::operator delete(s);
    --slabs_;
}

void cell_pool::release_empty() noexcept {
    for (std::size_t cls = 0; cls <= classes; ++cls)
        for (slab* s = with_free_[cls]; s;) {
            slab* const next = s->next;
            if (s->in_use == 0) {
                unlink(cls, s);
                s->~slab();
                ::operator delete(s);
                --slabs_;
                --empty_[cls];
            }
            s = next;
        }
}

cell_pool::~cell_pool() {
    // Only empty slabs are left when the scheduler goes (it outlives its control blocks).
    for (slab*& list : with_free_)
        while (slab* s = list) {
            list = s->next;
            s->~slab();
            ::operator delete(s);
        }
}

}  // namespace tasklets::detail
