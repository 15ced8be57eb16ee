// Memory for jobs sent to other threads (remote_job: thread_ref spawns; pool_job_base:
// pool spawns): a per-thread cache of freed blocks by 16-byte size class, kept in the
// scheduler.
//
// A pool job is allocated by the spawning worker and freed by whichever worker ran it
// (when it ends: threads/job_carrier.cpp), and a tasklet that spawns ten children
// allocates their ten jobs in a burst. glibc's
// per-thread cache keeps 7 blocks a size, so such bursts fell through to its arena:
// about 190 instructions of malloc and free per skynet task. Blocks freed on a thread
// go to that thread's cache (as glibc's do), up to `keep` a class; the rest, and every
// block freed where no scheduler runs, go back to operator delete.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tasklets::detail {

struct job_cache {
    static constexpr std::size_t granule = 16;
    static constexpr std::size_t classes = 16;  // blocks up to 256 bytes; larger ones are not kept
    static constexpr std::uint32_t keep = 256;  // per class
    struct free_block { free_block* next; };
    free_block* free[classes] = {};
    std::uint32_t count[classes] = {};

    /// Frees every kept block (the thread's end).
    void drain() noexcept;
};

}  // namespace tasklets::detail
