// The rare halves of the hand-off (channels/handoff.hpp), and the queries about a
// tasklet blocked on channels that the rest of the kernel asks.
#include "channels/handoff.hpp"

#include "core/deadlock.hpp"
#include "core/handover.hpp"
#include "core/waits.hpp"

#include <tasklets/select.hpp>

namespace tasklets::detail {

tasklet_impl* take_select_partner(channel_waiter* w) noexcept {
    *w->select->chosen = w->case_index;
    tasklet_impl* t = w->tasklet;
    unblock_from_channel(t);
    return t;
}

void unblock_from_channel(tasklet_impl* t) noexcept {
    channel_waiter* first = t->waiters;
    const std::uint32_t count = first->select ? first->select->count : 1;
    for (std::uint32_t i = 0; i < count; ++i) dequeue_waiter(&first[i]);
    // A plain operation taken off without its value (a kill, a throw, a thread's end):
    // an off-stack receive must not look for one (channels/off_stack_wait.cpp).
    if (!first->select) first->transfer = nullptr;
    clear_blocked(t);
}

void receive_exception(scheduler& s, channel_core* c, channel_waiter* sender) {
    std::exception_ptr thrown = *static_cast<std::exception_ptr*>(sender->transfer);
    place_partner(s, c, take_partner(c, sender), receiving);
    std::rethrow_exception(std::move(thrown));
}

void hand_off_exception(scheduler& s, channel_core* c, std::exception_ptr e) {
    channel_waiter* w = c->head;
    select_wait* selecting = w->select;
    if (!selecting) w->transfer = nullptr;  // no value comes (as in unblock_from_channel)
    tasklet_impl* partner = take_partner(c, w);
    if (selecting) *selecting->chosen = select_none;  // its case took no value
    set_pending(partner, std::move(e));
    place_partner(s, c, partner, sending);
}

void block_on_records(scheduler& s, channel_waiter* records, std::uint32_t count) {
    tasklet_impl* self = s.current;
    guard_switch(s);
    tasklet_impl* target = successor_for_leaving(s, self);
    if (target == self) throw_deadlock(s, last_runnable_message);
    take_over(s, target);
    ring_unlink(s, self);
    for (std::uint32_t i = 0; i < count; ++i) enqueue_waiter(&records[i]);
    mark_blocked(self, records);
    switch_to_tasklet(s, target);
}

tasklet_impl* channel_head_tasklet(const channel_core* c, std::int8_t direction) noexcept {
    const bool partner = direction == sending ? c->balance < 0 : c->balance > 0;
    return partner && c->head ? c->head->tasklet : nullptr;
}

channel_core* blocked_channel(const tasklet_impl* t) noexcept { return t->waiters ? t->waiters->channel : nullptr; }
std::int8_t blocked_direction(const tasklet_impl* t) noexcept {
    return t->waiters ? t->waiters->direction : std::int8_t{not_blocked};
}

bool blocked_in_select(const tasklet_impl* t) noexcept { return t->waiters && t->waiters->select; }

std::uint32_t channel_wait_count(const tasklet_impl* t) noexcept {
    if (!t->waiters) return 0;
    return t->waiters->select ? t->waiters->select->count : 1;
}

tasklet_impl* queue_neighbour(const tasklet_impl* t, bool after) noexcept {
    if (!t->waiters) return nullptr;
    const channel_waiter* w = after ? t->waiters->next : t->waiters->prev;
    return w ? w->tasklet : nullptr;
}

}  // namespace tasklets::detail
