#include "stacks/stack_pool.hpp"

#include "os/instrument.hpp"
#include "os/system.hpp"

#include <algorithm>
#include <new>
#include <cerrno>
#include <system_error>
#include <memory>
#include <mutex>

namespace tasklets::detail {

namespace {
// A slab whose set-up failed: whatever was registered is undone and the mapping returned.
void release_failed_slab(stack_slab* slab, std::byte* mapping, std::size_t bytes) noexcept {
    if (slab)
        for (unsigned id : slab->valgrind_ids) instrument::deregister_stack(id);
    sys::unmap(mapping, bytes);
}

void unmap_slab(stack_slab* slab) noexcept {
    for (unsigned id : slab->valgrind_ids) instrument::deregister_stack(id);
    // Frames abandoned on its stacks (killed tasklets, a shared execution stack's last
    // occupant) leave redzone poison; whatever is mapped here next must not inherit it
    // (liburing maps its buffer rings with a raw system call, which ASan does not see).
    instrument::memory_unmapped(slab->mapping, slab->mapping_bytes);
    sys::unmap(slab->mapping, slab->mapping_bytes);
    delete slab;
}
}  // namespace

namespace {
// Enough stacks per slab to keep mappings few (a million 64 KiB stacks in ~16,000
// slabs), few enough that a slab of large stacks stays a modest reservation.
std::uint32_t stacks_per_slab(std::size_t stack_size) {
    constexpr std::size_t target_bytes = std::size_t{8} << 20;
    return static_cast<std::uint32_t>(std::clamp<std::size_t>(target_bytes / stack_size, 1, 64));
}
}  // namespace

std::size_t stack_pool::guard_bytes() noexcept {
    // At least 16 KiB so that a function with a large frame cannot step over it.
    static const std::size_t bytes = std::max<std::size_t>(sys::page_size(), 16 * 1024);
    return bytes;
}

stack_pool::~stack_pool() {
    drop_spare();  // its slab is then listed with the others that have free stacks
    for (auto& [size, cls] : classes_) {
        (void)size;
        while (stack_slab* slab = cls.with_free) {
            unlink(cls, slab);
            unmap_slab(slab);
        }
    }
}

void stack_pool::unmap_unused() noexcept {
    drop_spare();
    for (auto& [size, cls] : classes_) {
        (void)size;
        for (stack_slab* slab = cls.with_free; slab;) {
            stack_slab* next = slab->next;
            if (slab->free.size() == slab->stack_count) {
                unlink(cls, slab);
                mapped_bytes_ -= slab->mapping_bytes;
                unmap_slab(slab);
                --slab_count_;
            }
            slab = next;
        }
    }
}

void stack_pool::unlink(size_class& cls, stack_slab* slab) noexcept {
    if (slab->prev) slab->prev->next = slab->next;
    else cls.with_free = slab->next;
    if (slab->next) slab->next->prev = slab->prev;
    slab->prev = slab->next = nullptr;
    slab->listed = false;
}

void stack_pool::push_front(size_class& cls, stack_slab* slab) noexcept {
    slab->prev = nullptr;
    slab->next = cls.with_free;
    if (cls.with_free) cls.with_free->prev = slab;
    cls.with_free = slab;
    slab->listed = true;
}

namespace {
// Maps `count` stacks of `stack_size` bytes with their guards and makes the slab's
// bookkeeping (its free list is reserved, not filled). `cls` null: a stack alone.
stack_slab* map_stacks(std::size_t stack_size, std::uint32_t count, stack_size_class* cls) {
    const std::size_t guard = stack_pool::guard_bytes();
    const std::size_t bytes = guard + count * (stack_size + guard);
    auto* mapping = static_cast<std::byte*>(sys::map_slab(bytes));
    std::unique_ptr<stack_slab> slab;
    try {
        sys::install_guards(mapping, stack_size + guard, count + 1, guard);
        slab.reset(new stack_slab{mapping, bytes, stack_size, cls, count, 0, {}});
        slab->first_stack = mapping + guard;
        slab->stride = stack_size + guard;
        slab->free.reserve(count);
        if (instrument::on_valgrind()) {  // 4 bytes a stack otherwise spent for nothing
            slab->valgrind_ids.reserve(count);
            for (std::uint32_t i = 0; i < count; ++i)
                slab->valgrind_ids.push_back(instrument::register_stack(slab->stack_base(i), stack_size));
        }
    } catch (const std::bad_alloc&) {
        release_failed_slab(slab.get(), mapping, bytes);
        throw std::system_error(ENOMEM, std::generic_category(),
                                "tasklets: cannot allocate the bookkeeping of a new slab of tasklet stacks "
                                "(operator new failed); reduce the number of live tasklets or make more memory available");
    } catch (...) {
        release_failed_slab(slab.get(), mapping, bytes);
        throw;
    }
    return slab.release();
}
}  // namespace

stack_slab* stack_pool::new_slab(std::size_t stack_size, size_class& cls) {
    const std::uint32_t count = stacks_per_slab(stack_size);
    stack_slab* slab = map_stacks(stack_size, count, &cls);
    for (std::uint32_t i = count; i-- > 0;) slab->free.push_back(i);  // capacity reserved: hand out low addresses first
    push_front(cls, slab);
    ++slab_count_;
    mapped_bytes_ += slab->mapping_bytes;
    return slab;
}

stack_pool::size_class& stack_pool::class_for(std::size_t size) {
    if (size != cached_size_) {
        cached_class_ = &classes_[size];
        cached_size_ = size;
    }
    return *cached_class_;
}

void stack_pool::drop_spare() noexcept {
    if (spare_.base == nullptr) return;
    give_back(spare_);
    spare_.base = nullptr;
}

void stack_pool::allocate_from_slab(std::size_t size, stack_region& out) {
    size_class& cls = class_for(size);
    stack_slab* slab = cls.with_free ? cls.with_free : new_slab(size, cls);
    const std::uint32_t index = slab->free.back();
    slab->free.pop_back();
    if (slab->free.empty()) unlink(cls, slab);
    if (index >= slab->never_used_from) {
        // The new tasklet's first frame is written at the top right away: commit that
        // page with one system call rather than by the page fault of that write, which
        // costs about 20 % more on this VM (bench/README.md, fresh_page_guarded_prefaulted).
        slab->never_used_from = index + 1;
        const std::size_t page = sys::page_size();
        sys::prefault(slab->stack_base(index) + size - page, page);
    }
    ++in_use_;
    out.base = slab->stack_base(index);
    out.size = size;
    out.slab = slab;
    out.index = index;
}

void stack_pool::give_back(const stack_region& stack) noexcept {
    stack_slab* slab = stack.slab;
    size_class& cls = *slab->size_class;
    slab->free.push_back(stack.index);  // capacity reserved: cannot throw
    if (!slab->listed) {
        push_front(cls, slab);
        return;
    }
    if (unmaps(*slab, slab->free.size())) {
        unlink(cls, slab);
        mapped_bytes_ -= slab->mapping_bytes;
        unmap_slab(slab);
        --slab_count_;
    }
}

namespace {
// Stacks alone that ended, kept for the next migratable tasklet of their size on any thread:
// a map, its guards and an unmap cost 5-7 us a spawn otherwise, 70 ns with the cache
// (bench/multicore/migration.cpp, spawn_migratable). Newest first, so their pages
// are warm; at most `capacity` of them, so a burst pins little memory. The mutex is also
// the hand-over of a stack between threads (ThreadSanitizer sees it). Never destroyed: a
// pool's workers may still end tasklets while static objects are being destroyed.
struct alone_cache {
    static constexpr std::size_t capacity = 64;
    std::mutex mutex;
    std::vector<stack_slab*> slabs;  // guarded by mutex; reserved to capacity

    static alone_cache& get() {
        static alone_cache* const cache = [] {
            auto* c = new alone_cache;
            c->slabs.reserve(capacity);
            return c;
        }();
        return *cache;
    }

    stack_slab* take(std::size_t size) noexcept {
        std::lock_guard lock(mutex);
        for (auto it = slabs.rbegin(); it != slabs.rend(); ++it) {
            if ((*it)->stack_size != size) continue;
            stack_slab* slab = *it;
            slabs.erase(std::next(it).base());
            return slab;
        }
        return nullptr;
    }

    // Keeps `slab`; returns the slab to unmap: the oldest when full, or null. The newest
    // stay, as they are the warm ones. (Refusing the newest instead let whatever earlier
    // tasklets left decide what is kept; the test that a stack passes to the next tasklet
    // failed 1 run of [threads] in 300 that way, none in 600 this way.)
    stack_slab* keep(stack_slab* slab) noexcept {
        std::lock_guard lock(mutex);
        stack_slab* oldest = nullptr;
        if (slabs.size() == capacity) {
            oldest = slabs.front();
            slabs.erase(slabs.begin());
        }
        slabs.push_back(slab);  // capacity reserved: cannot throw
        return oldest;
    }
};
}  // namespace

// A slab of one stack, listed nowhere: its size_class is null. The stack lies at offset 0 of
// its frame window (index 0), which is fine for the few tasklets that move.
stack_region stack_pool::allocate_alone(std::size_t size) {
    stack_slab* slab = alone_cache::get().take(size);
    if (!slab) slab = map_stacks(size, 1, nullptr);
    return stack_region{slab->first_stack, size, slab, 0};
}

void stack_pool::release_alone(const stack_region& stack) noexcept {
    if (stack_slab* oldest = alone_cache::get().keep(stack.slab)) unmap_slab(oldest);
}

}  // namespace tasklets::detail
