// Memory for control blocks (core/chunk_cache.hpp).
#include "core/chunk_cache.hpp"

#include "os/system.hpp"

#include <cerrno>
#include <new>
#include <string>
#include <system_error>

namespace tasklets::detail {

namespace {

// Out of memory for a control block: std::system_error(ENOMEM) saying what and what to do.
void* new_chunk(std::size_t bytes) {
    try {
        if (sys::inject_failure("tasklet control block")) throw std::bad_alloc();
        return ::operator new(bytes);
    } catch (const std::bad_alloc&) {
        throw std::system_error(ENOMEM, std::generic_category(),
                                "tasklets: cannot allocate a tasklet control block of " + std::to_string(bytes) +
                                    " bytes (operator new failed); reduce the number of live tasklets or the size "
                                    "of the callables and arguments they hold, or make more memory available");
    }
}

std::size_t request_for(std::size_t cls) noexcept { return cls * chunk_cache::granule - sizeof(void*); }

}  // namespace

void* chunk_cache::allocate(std::size_t bytes, std::uint8_t& cls_out) {
    const std::size_t cls = (bytes + sizeof(void*) + granule - 1) / granule;
    if (cls > classes) {
        cls_out = 0;
        return new_chunk(bytes);
    }
    cls_out = static_cast<std::uint8_t>(cls);
    if (free_chunk* c = head[cls]) {
        head[cls] = c->next;
        --count[cls];
        return c;
    }
    return new_chunk(request_for(cls));
}

void chunk_cache::release(void* memory, std::uint8_t cls) noexcept {
    if (cls == 0 || count[cls] == max_per_class) {
        ::operator delete(memory);
        return;
    }
    auto* c = static_cast<free_chunk*>(memory);
    c->next = head[cls];
    head[cls] = c;
    ++count[cls];
}

chunk_cache::~chunk_cache() {
    for (free_chunk*& list : head)
        while (free_chunk* c = list) {
            list = c->next;
            ::operator delete(c);
        }
}

}  // namespace tasklets::detail
