// Memory for control blocks: cells of 16-byte size classes carved from 16 KiB slabs, so
// that spawning a tasklet costs no malloc/free in the common case, and a burst of spawns
// one malloc per slab rather than one per tasklet. (A control block lives in a "cell";
// "block" in this kernel means only what a tasklet does on a channel.)
//
// Each slab keeps its own free list and count of cells in use; a cell's owner keeps its
// slab's address (tasklet_impl::cell_slab), so slabs need no alignment: an aligned
// allocation would cost glibc's memalign a touched page of slack per slab, about 100
// bytes of RSS per parked tasklet. A class lists its slabs
// that have a free cell, most recently freed first. Slabs whose cells are all free stay
// for reuse up to max_cached_cells free cells per class (a steady spawn-and-join loop then
// touches no new memory); beyond that an empty slab goes back to malloc, so a burst of
// tasklets does not pin its memory forever.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tasklets::detail {

class cell_pool {
public:
    static constexpr std::size_t granule = 16;            // cells are 16-aligned multiples of 16 bytes
    static constexpr std::size_t classes = 64;            // cells up to 1 KiB; larger: allocated alone
    static constexpr std::size_t slab_bytes = 16384;      // size of a slab
    static constexpr std::size_t max_cached_cells = 131072;  // per class, in empty slabs

    cell_pool() = default;
    cell_pool(const cell_pool&) = delete;
    cell_pool& operator=(const cell_pool&) = delete;
    ~cell_pool();

    /// At least `bytes`, 16-aligned; `slab` receives what to pass to release() (null:
    /// allocated alone). Throws std::system_error(ENOMEM) naming what could not be had.
    void* allocate(std::size_t bytes, void*& slab);
    void release(void* cell, void* slab) noexcept;
    /// release() of a cell whose slab is known not to be null.
    void release_to_slab(void* cell, void* slab) noexcept;
    /// A cell of its own, from operator new, that any thread's pool may release (slab
    /// null): for a control block that may end on another thread (a migratable tasklet).
    static void* allocate_alone(std::size_t bytes);
    /// Frees every slab with no cell in use, the ones kept for reuse included.
    void release_empty() noexcept;

    /// Slabs allocated now (tests).
    std::size_t slab_count() const noexcept { return slabs_; }

private:
    struct free_cell { free_cell* next; };
    struct slab {                     // at the start of its slab_bytes of memory
        free_cell* free = nullptr;
        slab* next = nullptr;         // in its class's list of slabs with a free cell
        slab* prev = nullptr;
        std::uint32_t in_use = 0;
        std::uint32_t capacity = 0;
        std::size_t cls = 0;
    };
    static constexpr std::size_t header = (sizeof(slab) + granule - 1) / granule * granule;

    slab* new_slab(std::size_t cls);
    void unlink(std::size_t cls, slab* s) noexcept;
    void push_front(std::size_t cls, slab* s) noexcept;

    slab* with_free_[classes + 1] = {};
    std::size_t empty_[classes + 1] = {};  // slabs with no cell in use, per class
    std::size_t slabs_ = 0;
};

}  // namespace tasklets::detail
