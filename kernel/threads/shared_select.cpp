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
#include "io/wait_for_mail_inline.hpp"

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
        shared_record* partner = claim_partner(c, k.direction, &s);
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

// A shared-stack tasklet's select: its frame is copied out while it waits, and partners
// on any thread reach the wait, the records and the values then, so all three go on the
// heap. Send values are moved in before it parks; after it, the chosen receive's value is
// moved out and every send value no receiver took is moved back. Shared channels' moves
// cannot throw (shared_relocate_fn), so neither can this settling.
class off_stack_select {
public:
    off_stack_select(const select_case* cases, std::uint32_t count)
        : cases_(cases), count_(count), wait_(std::make_unique<shared_wait>()),
          records_(std::make_unique<shared_record[]>(count)), slots_(std::make_unique<void*[]>(count)) {
        wait_->off_stack = true;
        for (std::uint32_t i = 0; i < count; ++i) {
            const shared_core* c = cases[i].shared;
            slots_[i] = ::operator new(c->size, std::align_val_t{c->align});  // may throw: the destructor frees the rest
            made_ = i + 1;
        }
        for (std::uint32_t i = 0; i < count; ++i)
            if (cases[i].direction == sending) cases[i].shared->relocate(slots_[i], cases[i].transfer);
    }
    ~off_stack_select() {
        for (std::uint32_t i = 0; i < made_; ++i)
            ::operator delete(slots_[i], std::align_val_t{cases_[i].shared->align});
    }
    off_stack_select(const off_stack_select&) = delete;
    off_stack_select& operator=(const off_stack_select&) = delete;

    shared_wait& wait() noexcept { return *wait_; }
    shared_record* records() noexcept { return records_.get(); }
    void* slot(std::uint32_t i) noexcept { return slots_[i]; }

    /// The wait is over; case `chosen` was served (a partner's value came or went), or
    /// none was (select_none: a timeout, a close, a kill before any partner).
    void settle(std::uint32_t chosen) noexcept {
        for (std::uint32_t i = 0; i < count_; ++i) {
            shared_core* c = cases_[i].shared;
            if (cases_[i].direction == sending) {
                if (i != chosen) {
                    c->destroy(cases_[i].transfer);  // moved from, above
                    c->relocate(cases_[i].transfer, slots_[i]);
                }
                c->destroy(slots_[i]);  // the value moved back, or what the receiver left
            } else if (i == chosen) {
                c->relocate(cases_[i].transfer, slots_[i]);
                c->destroy(slots_[i]);
            }
        }
    }

private:
    const select_case* cases_;
    std::uint32_t count_;
    std::uint32_t made_ = 0;
    std::unique_ptr<shared_wait> wait_;
    std::unique_ptr<shared_record[]> records_;
    std::unique_ptr<void*[]> slots_;
};

}  // namespace

void shared_select(const select_case* cases, std::uint32_t count, bool has_default, std::int64_t deadline,
                   select_outcome& out) {
    out.index = select_none;
    out.closed = false;
    select_validate(cases, count);
    scheduler& s = sched();
    reactor& r = get_reactor(s);
    thread_inbox* inbox = r.inbox_here();  // may throw (eventfd): before anything changes

    // A dedicated stack's wait and records live in this frame; a shared-stack tasklet's on
    // the heap (made under the locks, once no case is ready: moving its send values in
    // must come after that check).
    per_case<shared_record> in_frame(s.current->stack_kind == stack_shared ? 0 : count);
    shared_wait frame_wait;
    std::unique_ptr<off_stack_select> off;
    shared_wait* w = &frame_wait;
    {
        lock_all locks(cases, count);
        if (perform_ready(s, cases, count, out)) return;
        if (has_default) {
            out.index = count;
            return;
        }
        if (s.current->block_trap) check_wait(s.current, false, "a select over shared channels");  // a user's block trap
        if (deadline != no_deadline && deadline <= r.now()) {
            out.index = count;
            return;
        }
        shared_record* records = in_frame.items;
        if (s.current->stack_kind == stack_shared) {
            off = std::make_unique<off_stack_select>(cases, count);  // may throw: nothing queued yet
            w = &off->wait();
            records = off->records();
        }
        prepare_wait(*w, inbox, s, records, count);
        for (std::uint32_t i = 0; i < count; ++i) {
            shared_record& rec = records[i];
            rec.wait = w;
            rec.channel = cases[i].shared;
            rec.transfer = off ? off->slot(i) : cases[i].transfer;
            rec.direction = cases[i].direction;
            rec.case_index = i;
            enqueue(rec.channel, &rec);
        }
    }
    // The case a partner served, once the wait is over (select_none if none was): the
    // winner's index, unless a close claimed it (then no value came or went).
    auto served = [&]() noexcept {
        const std::uint32_t by = w->winner.load(std::memory_order_relaxed);  // this thread's: the wake ordered it
        return by < count && w->outcome == 0 ? by : select_none;
    };
    // The cases hold handles to their channels, so the cores outlive the records (unlike
    // send/receive, no reference is taken) and no drop can end this wait.
    int result;
    try {
        // Built in (io/wait_for_mail_inline.hpp): the tasklet resumes in this frame.
        result = r.wait_for_mail_inline(*w, deadline, reactor::revived_without_answer, true, &w->wake);
    } catch (...) {
        // Killed or thrown into. If a partner had completed a case first, that case keeps
        // its effect (select.hpp completes it): a received value is not lost.
        leave_queues(w);
        // Relaxed: a partner claims under the winning case's channel mutex, which
        // leave_queues() has just taken, so the claim is ordered before this read.
        const std::uint32_t by = w->winner.load(std::memory_order_relaxed);
        if (by < count) out.index = by;
        if (off) off->settle(served());
        throw;
    }
    if (result == ETIMEDOUT) {  // the timer took the records off already
        out.index = count;
        if (off) off->settle(select_none);
        return;
    }
    leave_queues(w);
    out.index = w->winner.load(std::memory_order_relaxed);  // this thread's: the wake ordered it
    if (off) off->settle(served());
}

}  // namespace tasklets::detail
