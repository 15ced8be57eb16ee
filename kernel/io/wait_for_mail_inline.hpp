// reactor::wait_for_mail() (io/reactor.hpp) as an inline function: reactor.cpp's
// out-of-line definition, and the shared channel's wait in a frame
// (threads/shared_channel.cpp), which builds it, and wait_for_event_inline() within it,
// into its own frame: a tasklet resumed there returns through two calls fewer, each a
// return the processor would mispredict after the switch (core/wait_for_event_inline.hpp).
#pragma once

#include "core/wait_for_event_inline.hpp"
#include "io/reactor.hpp"

namespace tasklets::detail {

inline int reactor::wait_for_mail_inline(io_wait& w, std::int64_t deadline, const char* revived_message, bool urgent,
                                         express_mail* express) {
    scheduler& s = *s_;
    inbox_here();  // its doorbell is watched from now on
    w.owner = this;
    w.waiter = s.current;
    if (deadline != no_deadline) {
        // A deadline already past fires at the next poll: the caller may have queued the
        // wait somewhere already, and its timer is what takes it off again.
        w.timer.context = &w;
        if (!w.timer.fire) w.timer.fire = &fire_wait;
        add_timer(&w.timer, deadline);
    }
    ++inbox_waiters_;
    if (!urgent) ++patient_waiters_;
    if (express) watched_ = express;  // the latest wait is watched (spin_for_mail)
    reactor_hold hold(*this);
    // Before the hold goes: the last hold may delete the reactor (an orphan's).
    struct leave {
        reactor& r;
        io_wait& w;
        bool urgent;
        express_mail* express;
        ~leave() {
            --r.inbox_waiters_;
            if (!urgent) --r.patient_waiters_;
            if (r.watched_ == express) r.watched_ = nullptr;
            r.detach(&w);
        }
    } on_leave{*this, w, urgent, express};
    wait_for_event_inline(s, &w);
    if (w.result < 0) throw_deadlock(s, revived_message);
    return w.result;
}

}  // namespace tasklets::detail
