// Memory for control blocks: freed chunks kept per 16-byte size class for reuse, so that
// spawning a tasklet costs no malloc/free in the common case. Bounded per class, freed
// at thread exit. (A "chunk" is a piece of memory; "block" in this kernel means only
// what a tasklet does on a channel.)
#pragma once

#include <cstddef>
#include <cstdint>

namespace tasklets::detail {

struct chunk_cache {
    // malloc's own granularity: a request of granule * class - sizeof(void*) bytes fills
    // a glibc chunk exactly, so a cached chunk costs no more memory than an exact one.
    static constexpr std::size_t granule = 16;
    static constexpr std::size_t classes = 64;           // chunks up to 1 KiB
    static constexpr std::uint32_t max_per_class = 131072;
    struct free_chunk { free_chunk* next; };
    free_chunk* head[classes + 1] = {};
    std::uint32_t count[classes + 1] = {};

    chunk_cache() = default;
    chunk_cache(const chunk_cache&) = delete;
    chunk_cache& operator=(const chunk_cache&) = delete;
    ~chunk_cache();

    /// At least `bytes`; `cls` receives the class to give back to release() (0: exact,
    /// not cached). Throws std::system_error(ENOMEM) naming what could not be allocated.
    void* allocate(std::size_t bytes, std::uint8_t& cls);
    void release(void* memory, std::uint8_t cls) noexcept;
};

}  // namespace tasklets::detail
