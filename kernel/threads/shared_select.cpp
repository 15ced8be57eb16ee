// select over shared channels (include/tasklets/select.hpp; docs/semantics.md §9.3).
//
// Go's select, on the records and claims of threads/shared_core.hpp:
//   1. lock every case's channel, in address order (so two selects cannot deadlock);
//   2. if cases are ready — a partner at the head, or the channel closed for that
//      direction — pick one at random and perform it, as send/receive would;
//   3. else return the default, or the deadline if it has passed, or queue one record
//      per case, unlock, and park until a partner, the deadline or a kill claims the wait;
//   4. after it, take the records that are still queued off their channels.
#include "threads/shared_core.hpp"
#include "core/shared_stacks.hpp"

#include "channels/select_steps.hpp"
#include "core/throw_into.hpp"

#include <tasklets/errors.hpp>

#include <algorithm>
#include <cerrno>
#include <memory>

namespace tasklets::detail {

namespace {

// Room for one thing per case: inline for the usual handful, else on the heap.
template <class T>
struct per_case {
    static constexpr std::uint32_t inline_count = 8;
    T local[inline_count];
    std::unique_ptr<T[]> heap;
    T* items = local;
    explicit per_case(std::uint32_t count) {
        if (count > inline_count) {
            heap.reset(new T[count]);
            items = heap.get();
        }
    }
};

// The cases' channels, each once, locked in address order while it lives (or until
// unlock()).
class lock_all {
public:
    lock_all(const select_case* cases, std::uint32_t count) : order_(count) {
        for (std::uint32_t i = 0; i < count; ++i) order_.items[i] = cases[i].shared;
        std::sort(order_.items, order_.items + count);
        n_ = static_cast<std::uint32_t>(std::unique(order_.items, order_.items + count) - order_.items);
        for (std::uint32_t i = 0; i < n_; ++i) order_.items[i]->mutex.lock();
        locked_ = true;
    }
    ~lock_all() { unlock(); }
    void unlock() noexcept {
        if (!locked_) return;
        locked_ = false;
        for (std::uint32_t i = n_; i-- > 0;) order_.items[i]->mutex.unlock();
    }

private:
    per_case<shared_core*> order_;
    std::uint32_t n_ = 0;
    bool locked_ = false;
};

bool ready(const select_case& k) noexcept {
    return partner_head(k.shared, k.direction) != nullptr || k.shared->closing;
}

// Step 2, under every case's lock: performs a ready case, picked at random. False if
// none is ready (any more: a partner another thread claimed meanwhile is not).
bool perform_ready(scheduler& s, const select_case* cases, std::uint32_t count, select_outcome& out) {
    for (;;) {
        std::uint32_t ready_count = 0;
        for (std::uint32_t i = 0; i < count; ++i) ready_count += ready(cases[i]);
        if (ready_count == 0) return false;
        std::uint32_t pick = select_pick(ready_count), i = 0;
        while (i < count && !(ready(cases[i]) && pick-- == 0)) ++i;
        if (i == count) continue;  // another thread claimed a partner we counted: count again
        const select_case& k = cases[i];
        shared_core* c = k.shared;
        shared_record* partner = claim_partner(c, k.direction);
        if (partner == nullptr) {
            if (!c->closing) continue;  // its partner was claimed by another thread: look again
            out.index = i;              // closed for this direction: completes, transfers nothing
            out.closed = true;
            return true;
        }
        if (k.direction == sending) c->relocate(partner->transfer, k.transfer);
        else c->relocate(k.transfer, partner->transfer);
        end_wait(c, partner, 0, &s);
        out.index = i;
        return true;
    }
}

}  // namespace

void shared_select(const select_case* cases, std::uint32_t count, bool has_default, std::int64_t deadline,
                   select_outcome& out) {
    out.index = select_none;
    out.closed = false;
    select_validate(cases, count);
    scheduler& s = sched();
    reactor& r = get_reactor(s);
    thread_inbox* inbox = r.inbox_here();  // may throw (eventfd): before anything changes

    per_case<shared_record> records(count);
    shared_wait w;
    {
        lock_all locks(cases, count);
        if (perform_ready(s, cases, count, out)) return;
        if (has_default) {
            out.index = count;
            return;
        }
        if (s.current->block_trap) check_wait(s.current, true, "a select over shared channels");
        if (deadline != no_deadline && deadline <= r.now()) {
            out.index = count;
            return;
        }
        prepare_wait(w, inbox, s, records.items, count);
        for (std::uint32_t i = 0; i < count; ++i) {
            shared_record& rec = records.items[i];
            rec.wait = &w;
            rec.channel = cases[i].shared;
            rec.transfer = cases[i].transfer;
            rec.direction = cases[i].direction;
            rec.case_index = i;
            enqueue(rec.channel, &rec);
        }
    }
    // The cases hold handles to their channels, so the cores outlive the records (unlike
    // send/receive, no reference is taken) and no drop can end this wait.
    int result;
    try {
        result = r.wait_for_mail(w, deadline);
    } catch (...) {
        // Killed or thrown into. If a partner had completed a case first, that case keeps
        // its effect (select.hpp completes it): a received value is not lost.
        leave_queues(&w);
        const std::uint32_t by = w.winner.load(std::memory_order_relaxed);
        if (by < count) out.index = by;
        throw;
    }
    if (result == ETIMEDOUT) {  // the timer took the records off already
        out.index = count;
        return;
    }
    leave_queues(&w);
    out.index = w.winner.load(std::memory_order_relaxed);  // this thread's: the wake ordered it
}

}  // namespace tasklets::detail
