// The ring: the scheduler's run queue, a circular doubly-linked list through the control
// blocks of the runnable tasklets, the running one included (docs/semantics.md §2). The
// running tasklet is s.current; "the end of the round" is just before it.
#pragma once

#include "core/scheduler.hpp"

namespace tasklets::detail {

inline void ring_insert_before(scheduler& s, tasklet_impl* pos, tasklet_impl* t) noexcept {
    t->next = pos;
    t->prev = pos->prev;
    pos->prev->next = t;
    pos->prev = t;
    t->in_ring = true;
    ++s.runcount;
}
inline void ring_insert_after(scheduler& s, tasklet_impl* pos, tasklet_impl* t) noexcept {
    ring_insert_before(s, pos->next, t);
}
inline void ring_unlink(scheduler& s, tasklet_impl* t) noexcept {
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->next = t->prev = t;
    t->in_ring = false;
    --s.runcount;
}
/// Appends t at the end of the round, just before the running tasklet (which every
/// caller keeps in the ring until it has appended what it needs to).
inline void ring_append(scheduler& s, tasklet_impl* t) noexcept { ring_insert_before(s, s.current, t); }

}  // namespace tasklets::detail
