// Per-thread pool of guard-paged tasklet stacks, carved from large slabs.
//
// A slab is one mapping laid out as  [guard][stack][guard][stack] ... [stack][guard]:
// every stack has a guard region below it (overflow) and above it (overrun off the top),
// neighbours sharing the guard between them. With MADV_GUARD_INSTALL the guards do not
// split the mapping, so a slab costs one memory mapping however many stacks it holds,
// and a million stacks fit under the default vm.max_map_count.
//
// A stack is taken when a tasklet first runs and given back when it ends. Free stacks
// are reused last-in first-out (their pages are warm). A slab whose stacks are all free
// is unmapped unless it is the only slab of its size with free stacks, so a burst of
// tasklets does not pin its memory forever.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace tasklets::detail {

struct stack_slab;

/// All slabs of one stack size.
struct stack_size_class {
    stack_slab* with_free = nullptr;  // slabs that have a free stack (doubly linked)
};

/// One mapping of stacks of one size and their guards (stack_pool.cpp maps it).
struct stack_slab {
    std::byte* mapping;
    std::size_t mapping_bytes;
    std::size_t stack_size;
    stack_size_class* size_class;
    std::uint32_t stack_count;
    std::uint32_t never_used_from = 0;  // stacks at this index and above were never handed out
    std::vector<std::uint32_t> free;  // indices of free stacks; back() is reused first
    std::vector<unsigned> valgrind_ids{};  // one per stack, registered while mapped
    stack_slab* prev = nullptr;       // links in its size class's with_free list
    stack_slab* next = nullptr;
    bool listed = false;

    std::byte* first_stack = nullptr; // mapping + one guard
    std::size_t stride = 0;           // stack + guard

    std::byte* stack_base(std::uint32_t i) const noexcept { return first_stack + i * stride; }
};

/// One tasklet stack: usable memory [base, base + size); guards lie just outside it.
struct stack_region {
    std::byte* base = nullptr;
    std::size_t size = 0;
    stack_slab* slab = nullptr;
    std::uint32_t index = 0;
    std::byte* top() const noexcept { return base + size; }

    /// Where the first frame goes: below the top by 0 to 960 bytes in 64-byte steps, a
    /// different offset from each of the 15 stacks after it in its slab. Stacks lie whole
    /// pages apart, so without it every suspended tasklet's saved context would sit at
    /// the same offset in its page and compete for the same few cache sets: a 503-tasklet
    /// ring then misses in L2 as well as L1 on every hop (bench/README.md, "ring").
    std::byte* start() const noexcept { return top() - std::size_t{index % 16u} * 64u; }
};

class stack_pool {
public:
    stack_pool() = default;
    stack_pool(const stack_pool&) = delete;
    stack_pool& operator=(const stack_pool&) = delete;
    ~stack_pool();

    /// A stack of exactly `size` bytes (a multiple of the page size). Throws
    /// std::system_error if memory or mappings run out.
    stack_region allocate(std::size_t size) {
        stack_region r;
        allocate_into(size, r);
        return r;
    }
    /// allocate(), written field by field into `out`: a tasklet's start assigns its block's
    /// region this way. Returned, the region came back through memory, and the caller's
    /// copy read it with 16-byte loads that no one of the callee's 8-byte stores could
    /// forward: both loads waited for the stores to reach the cache (perf: half of
    /// start_tasklet's time, skynet on a pool of one worker).
    ///
    /// The stack released last waits apart from its slab's free list (the spare), and the
    /// next request of its size takes it first: it is the stack the free list would have
    /// given anyway (newest first). A tasklet that ends and one that starts then skip the
    /// free list and the slab's listing on both sides: a spawn and join 519.5 -> 450.5
    /// instructions (bench/callgrind.sh), 40.0 -> 37.4 ns (docs/multicore.md). A stack
    /// whose return would let its slab be unmapped goes back at once, so a burst leaves
    /// the same slabs mapped as without the spare.
    void allocate_into(std::size_t size, stack_region& out) {
        if (spare_.base != nullptr && spare_.size == size) [[likely]] {
            out.base = spare_.base;
            out.size = size;
            out.slab = spare_.slab;
            out.index = spare_.index;
            spare_.base = nullptr;
            ++in_use_;
            return;
        }
        allocate_from_slab(size, out);
    }
    void release(const stack_region& stack) noexcept {
        --in_use_;
        if (spare_.base != nullptr) give_back(spare_);
        // Would give_back() unmap its slab? Then it goes back now, as the policy says, rather
        // than when the spare next moves.
        if (unmaps(*stack.slab, stack.slab->free.size() + 1)) [[unlikely]] {
            give_back(stack);
            spare_.base = nullptr;
            return;
        }
        spare_ = stack;
    }
    /// A stack in a mapping of its own, guarded on both sides and owned by no pool: for a
    /// tasklet that may end on another thread than the one it started on (a migratable
    /// tasklet; a pool's slabs belong to their thread). One that ended recently is reused
    /// first (a process-wide cache of up to 64). Throws as allocate().
    static stack_region allocate_alone(std::size_t size);
    /// Gives back a stack from allocate_alone(), on any thread: kept for reuse, or unmapped.
    static void release_alone(const stack_region& stack) noexcept;
    /// Unmaps every slab none of whose stacks is in use (the one release() keeps too).
    void unmap_unused() noexcept;

    /// Guard region size on each side of every stack.
    static std::size_t guard_bytes() noexcept;

    std::size_t slab_count() const noexcept { return slab_count_; }
    std::size_t stacks_in_use() const noexcept { return in_use_; }
    /// Bytes of address space mapped for slabs (stacks and guard pages).
    std::size_t mapped_bytes() const noexcept { return mapped_bytes_; }

private:
    using size_class = stack_size_class;
    size_class& class_for(std::size_t size);
    void allocate_from_slab(std::size_t size, stack_region& out);
    /// A released stack back into its slab's free list; the slab unmapped if it is now all
    /// free and another of its size has room.
    void give_back(const stack_region& stack) noexcept;
    /// The spare back into its slab, if there is one.
    void drop_spare() noexcept;
    /// With `free` of its stacks free, is `slab` unmapped? Only when all are, and another
    /// slab of its size has room (an unlisted slab, which had none free, never is).
    static bool unmaps(const stack_slab& slab, std::size_t free) noexcept {
        return slab.listed && free == slab.stack_count &&
               (slab.size_class->with_free != &slab || slab.next != nullptr);
    }
    stack_slab* new_slab(std::size_t stack_size, size_class& cls);
    static void unlink(size_class& cls, stack_slab* slab) noexcept;
    static void push_front(size_class& cls, stack_slab* slab) noexcept;

    std::map<std::size_t, size_class> classes_;  // node addresses are stable
    std::size_t cached_size_ = 0;                // most tasklets share one size
    size_class* cached_class_ = nullptr;
    stack_region spare_;                         // released last, not yet in its slab's free list (base null: none)
    std::size_t slab_count_ = 0;
    std::size_t in_use_ = 0;
    std::size_t mapped_bytes_ = 0;
};

}  // namespace tasklets::detail
