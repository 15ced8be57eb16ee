// Thread ownership (docs/semantics.md §9.1): a tasklet belongs to the thread that created
// it, a channel to the thread of its first send, receive or select. Used on another
// thread, either is reported, never raced on:
//   - an operation that can throw throws thread_error, before it touches anything;
//   - copying or destroying a tasklet handle on another thread (noexcept: nothing could
//     catch it) is a fatal error while the tasklet's thread runs; once that thread has
//     ended, its leftover control blocks are orphans that any thread may let go of;
//   - dropping the last handle of a channel on which another thread's tasklets wait is
//     fatal too: they could never be woken, and only their thread could kill them.
//
// The checks compare the object's thread with tls_scheduler, which the hot paths load
// anyway. tasklet_impl::home is written once, when the block is made, before any other
// thread can know of it. channel_core::owner is written once, by a compare-exchange from
// null (channels/channel_core.hpp).
#pragma once

#include "core/scheduler.hpp"

namespace tasklets::detail {

/// Throws thread_error: "tasklets: <operation> on tasklet 7 of another thread: ...".
[[noreturn, gnu::cold]] void throw_foreign_tasklet(const tasklet_impl* t, const char* operation);

/// `t`, checked to belong to the calling thread; an empty handle (null) passes.
inline tasklet_impl* own(tasklet_impl* t, const char* operation) {
    if (t != nullptr && t->home != tls_scheduler) [[unlikely]] throw_foreign_tasklet(t, operation);
    return t;
}

/// A handle copied or destroyed on a thread other than its tasklet's (core/handles.cpp
/// takes these paths when t->home is not the caller's scheduler): an orphan's count is
/// kept under a process-wide lock; a live thread's tasklet is a fatal error.
void retain_foreign(tasklet_impl* t) noexcept;
void release_foreign(tasklet_impl* t) noexcept;

/// Drops one of s's keepers (scheduler::keepers); the last one deletes it.
void drop_keeper(scheduler* s) noexcept;

/// Writes "tasklets: fatal: <message>" to stderr and aborts: a misuse found where nothing
/// can throw (a copy constructor, a destructor).
[[noreturn, gnu::cold]] void fatal_misuse(const char* message) noexcept;

}  // namespace tasklets::detail
