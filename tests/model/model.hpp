// tests/model/model.hpp — the reference model: the rules of docs/semantics.md
// (§1–§5) written plainly, with no stacks and no switching.
// Tasklets are script interpreters with a program counter; the ring is a deque whose
// front is the current tasklet; channels are queues of waiters. A tasklet that "switches"
// simply stops being the front of the ring, with its op left half done: whatever wakes it
// sets the op's outcome (a value, an error, or plain ok), and when it is the front again
// the model finishes that op, logs it, and goes on with the next.
//
// Written from docs/semantics.md and the public headers only (not from kernel/*.cpp).
// Where docs/semantics.md said nothing when the model was written, the choice made is
// marked "CHOICE" below.
#pragma once

#include "program.hpp"

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace diff {

class model {
public:
    explicit model(const program& p) : p_(p), main_(main_script(p)) {}

    std::vector<std::string> run() {
        const int n = p_.ntasklets;
        t_.assign(n + 1, tasklet{});
        ch_.assign(p_.nchannels(), channel{});
        for (int i = 0; i < p_.nchannels(); ++i) {
            ch_[i].pref = p_.preference[i];
            ch_[i].sched_all = p_.schedule_all[i];
        }
        t_[0].exists = t_[0].alive = t_[0].started = true;
        ring_ = {0};
        for (int k = 1; k <= n; ++k)
            if (p_.created_at_start[k]) create(k);
        // Main starts its script as the current tasklet.
        t_[0].pc = 0;
        t_[0].resume = std::nullopt;
        bool first = true;
        while (!done_) {
            if (++guard_ > 100000) {
                log_.push_back("model: runaway");
                break;
            }
            const int k = ring_.front();
            if (first) {
                first = false;
                continue_ops(0);
            } else {
                resume(k);
            }
        }
        return std::move(log_);
    }

private:
    // An op's outcome: ok, a value, or an error (kind + message; kind "tasklet_exit" is
    // the kill).
    struct outcome {
        enum kind_t { ok, value, text_, error } kind = ok;  // text_: logged as `msg` (snapshots, "exists")
        int v = 0;
        std::string err;  // "state_error", "tasklet_exit", ...
        std::string msg;
        bool is_exit() const { return kind == error && err == "tasklet_exit"; }
        static outcome make_error(std::string e, std::string m) {
            outcome o;
            o.kind = error;
            o.err = std::move(e);
            o.msg = std::move(m);
            return o;
        }
        static outcome exit() { return make_error("tasklet_exit", ""); }
        std::string text() const {
            if (kind == ok) return "ok";
            if (kind == value) return std::to_string(v);
            if (kind == text_) return msg;
            if (err == "tasklet_exit") return "tasklet_exit";
            return err + ": " + msg;
        }
    };
    struct tasklet {
        bool exists = false, alive = false, started = false;
        bool blocked = false;  // on channel `chan`
        int chan = -1;
        bool in_run = false;  // waiting in run() as a watchdog
        bool block_trap = false;
        int pc = -1;                       // the op in progress (or next to start)
        std::optional<outcome> resume;     // how the op in progress ends when it resumes
        std::optional<outcome> pending;    // an exception thrown into it, raised when it resumes
    };
    struct waiter {
        int t;
        bool sender;
        outcome payload;  // what a sender hands over: a value or an exception
    };
    struct channel {
        int pref = -1;
        bool sched_all = false;
        bool closing = false;
        std::deque<waiter> q;
        int balance() const {
            if (q.empty()) return 0;
            return q.front().sender ? static_cast<int>(q.size()) : -static_cast<int>(q.size());
        }
    };

    const std::vector<step>& script(int k) const { return k == 0 ? main_ : p_.scripts[k]; }
    bool in_ring(int k) const { return std::find(ring_.begin(), ring_.end(), k) != ring_.end(); }
    bool scheduled(int k) const { return in_ring(k) || t_[k].blocked; }

    // ---- the ring -----------------------------------------------------------------------

    /// Appends to the end of the round: just before the current tasklet (the front).
    void insert_before_current(int k) { ring_.push_back(k); }
    /// Makes k (in the ring) the current tasklet, everything keeping its place.
    void rotate_to(int k) {
        while (ring_.front() != k) {
            ring_.push_back(ring_.front());
            ring_.pop_front();
        }
    }
    /// A tasklet waiting in run() that someone else puts back into the ring (insert, run,
    /// switch_to, kill, throw) stays the watchdog until it runs. Then an exception thrown
    /// into it is raised by its run(); otherwise its run() returns at once, the ring as it
    /// is, however it was put back (docs/semantics.md §2.6; Stackless:
    /// test_run_from_worker, test_manual_wakeup).
    void take_out_of_run(int k) {
        if (!t_[k].in_run) return;
        t_[k].in_run = false;
        watch_.erase(std::find(watch_.begin(), watch_.end(), k));
    }
    void create(int k) {
        t_[k].exists = t_[k].alive = true;
        ring_.push_back(k);
    }
    void unblock(int k) {
        channel& c = ch_[t_[k].chan];
        c.q.erase(std::find_if(c.q.begin(), c.q.end(), [k](const waiter& w) { return w.t == k; }));
        t_[k].blocked = false;
        t_[k].chan = -1;
    }

    /// The ring has just become empty (the current tasklet left it). The innermost run()
    /// caller returns; with none, main is revived: if blocked, its call fails with the
    /// main-tasklet message; if paused (switched away), its call returns. Main can only be
    /// blocked here when the last tasklet ended: one that would block or schedule_remove()
    /// gets the deadlock error itself instead (block(), perform()).
    void ring_emptied() {
        if (!watch_.empty()) {
            const int w = watch_.back();
            watch_.pop_back();
            t_[w].in_run = false;
            ring_.push_back(w);
            return;
        }
        tasklet& m = t_[0];
        if (m.blocked) {
            const bool sender = std::find_if(ch_[m.chan].q.begin(), ch_[m.chan].q.end(),
                                             [](const waiter& w) { return w.t == 0; })->sender;
            unblock(0);
            m.resume = outcome::make_error("deadlock_error", sender ? "the main tasklet is sending without a receiver available."
                                                                    : "the main tasklet is receiving without a sender available.");
        }
        ring_.push_back(0);
    }

    /// The current tasklet k leaves the ring (blocks, pauses, waits in run()). Its op will
    /// end with plain ok unless whoever wakes it says otherwise.
    void leave_ring(int k) {
        ring_.pop_front();
        t_[k].resume = outcome{};
        if (ring_.empty()) ring_emptied();
    }

    // ---- running a tasklet's script -----------------------------------------------------

    /// k is the front of the ring again: finish its op in progress, or start it.
    void resume(int k) {
        tasklet& t = t_[k];
        outcome o = t.resume.value_or(outcome{});
        t.resume.reset();
        if (t.pending) {  // CHOICE: a thrown exception wins over a value received meanwhile
            o = *t.pending;
            t.pending.reset();
        }
        take_out_of_run(k);  // a run() caller resumed, however, returns from run()
        if (!t.started) {
            if (o.kind == outcome::error) {  // fires before the body, which never runs
                die(k, o);
                return;
            }
            t.started = true;
            log_.push_back(tname(k) + ": start");
            t.pc = 0;
            continue_ops(k);
            return;
        }
        if (!finish_op(k, o)) return;
        continue_ops(k);
    }

    /// Logs the end of k's op in progress. False if k died of it.
    bool finish_op(int k, const outcome& o) {
        const step& s = script(k)[t_[k].pc];
        const std::string head = tname(k) + ": " + op_text(s) + " -> ";
        const catching c = s.o == op::raise ? catching::nothing : s.c;
        if (o.is_exit()) {
            if (c == catching::all) {
                log_.push_back(head + "tasklet_exit (caught)");
            } else {
                log_.push_back(head + "tasklet_exit");
                die(k, o);
                return false;
            }
        } else if (o.kind == outcome::error && c == catching::nothing) {
            log_.push_back(head + o.text() + " (escapes)");
            die(k, o);
            return false;
        } else {
            log_.push_back(head + o.text());
        }
        ++t_[k].pc;
        return true;
    }

    /// Runs k's ops from its pc until one switches away (or k ends).
    void continue_ops(int k) {
        const auto& sc = script(k);
        while (t_[k].pc < static_cast<int>(sc.size())) {
            const step& s = sc[t_[k].pc];
            log_.push_back(tname(k) + ": " + op_text(s));
            std::optional<outcome> o = perform(k, s);
            if (!o) return;  // switched away; the op finishes when k resumes
            if (!finish_op(k, *o)) return;
        }
        if (k == 0) {
            done_ = true;
            return;
        }
        log_.push_back(tname(k) + ": end");
        die(k, std::nullopt);
    }

    /// The current tasklet k ends: silently (returned or tasklet_exit), or with an
    /// exception, which goes at once to the watchdog (innermost run() caller, else main):
    /// it takes k's place in the ring and its pending call raises the exception.
    void die(int k, const std::optional<outcome>& how) {
        tasklet& t = t_[k];
        t.alive = false;
        ring_.pop_front();
        if (!how || how->is_exit()) {
            if (ring_.empty()) ring_emptied();
            return;
        }
        int w;
        if (!watch_.empty()) {
            w = watch_.back();
            watch_.pop_back();
            t_[w].in_run = false;
        } else {
            w = 0;
        }
        if (t_[w].blocked) unblock(w);
        if (in_ring(w)) {
            rotate_to(w);  // CHOICE: main already in the ring keeps its place
        } else {
            ring_.push_front(w);
        }
        t_[w].pending.reset();
        t_[w].resume = *how;
    }

    // ---- operations ---------------------------------------------------------------------

    static outcome state_error(const char* m) { return outcome::make_error("state_error", m); }
    static outcome last_runnable_deadlock() {
        return outcome::make_error("deadlock_error", "Deadlock: the last runnable tasklet cannot be blocked.");
    }

    /// Performs op s for the current tasklet k. nullopt: k switched away.
    std::optional<outcome> perform(int k, const step& s) {
        switch (s.o) {
        case op::schedule:
            if (ring_.size() == 1) return outcome{};
            rotate_to(ring_[1]);
            t_[k].resume = outcome{};
            return std::nullopt;
        case op::schedule_remove:
            // CHOICE: main alone with no run() to return to cannot pause: it returns at once.
            if (ring_.size() == 1 && watch_.empty() && k == 0) return outcome{};
            // The last runnable tasklet while main is blocked on a channel: the deadlock is
            // raised in it, nothing changes, main stays blocked (Stackless).
            if (ring_.size() == 1 && watch_.empty() && t_[0].blocked) return last_runnable_deadlock();
            leave_ring(k);
            return std::nullopt;
        case op::send: {
            outcome v;
            v.kind = outcome::value;
            v.v = s.val;
            return channel_send(k, s.a, v);
        }
        case op::send_exc:
            return channel_send(k, s.a, outcome::make_error("test_error", "x" + std::to_string(s.val)));
        case op::recv: return channel_receive(k, s.a);
        case op::insert:
            if (auto e = check_runnable(s.a)) return e;
            if (!scheduled(s.a)) insert_before_current(s.a);
            return outcome{};
        case op::remove: {
            const tasklet& t = t_[s.a];
            if (s.a == k) return state_error("The current tasklet cannot be removed.");
            if (t.exists && t.alive && t.blocked) return state_error("You cannot remove a blocked tasklet.");
            if (in_ring(s.a)) ring_.erase(std::find(ring_.begin(), ring_.end(), s.a));
            return outcome{};
        }
        case op::run_t:
        case op::switch_to: {
            if (auto e = check_runnable(s.a)) return e;
            if (s.a == k) return outcome{};  // CHOICE: running oneself is a no-op
            if (!in_ring(s.a)) insert_before_current(s.a);
            if (s.o == op::switch_to) {
                ring_.pop_front();
                t_[k].resume = outcome{};
            }
            rotate_to(s.a);
            t_[k].resume = outcome{};
            return std::nullopt;
        }
        case op::kill:
            if (!t_[s.a].exists || !t_[s.a].alive) return outcome{};
            return throw_into(k, s.a, outcome::exit(), s.b != 0);
        case op::throw_:
            if (!t_[s.a].exists || !t_[s.a].alive) return state_error("You cannot throw to a dead tasklet");
            return throw_into(k, s.a, outcome::make_error("other_error", "x" + std::to_string(s.val)), s.b != 0);
        case op::close: ch_[s.a].closing = true; return outcome{};
        case op::open: ch_[s.a].closing = false; return outcome{};
        case op::trap:
            if (!t_[s.a].exists) return text_outcome("no tasklet");
            t_[s.a].block_trap = s.b != 0;
            return outcome{};
        case op::run:
            if (ring_.size() == 1) return outcome{};  // empty ring: returns at once
            ring_.pop_front();
            t_[k].in_run = true;
            watch_.push_back(k);
            t_[k].resume = outcome{};
            return std::nullopt;
        case op::raise: return outcome::make_error("test_error", "raise " + tname(k));
        case op::snap: return text_outcome(snapshot());
        case op::create:
            if (t_[s.a].exists) return text_outcome("exists");
            create(s.a);
            return outcome{};
        case op::pref: ch_[s.a].pref = s.b; return outcome{};
        case op::sched_all: ch_[s.a].sched_all = s.b != 0; return outcome{};
        case op::count_: break;
        }
        return outcome{};
    }

    static outcome text_outcome(std::string text) {
        outcome o;
        o.kind = outcome::text_;
        o.msg = std::move(text);
        return o;
    }

    std::optional<outcome> check_runnable(int t) const {
        if (!t_[t].exists || !t_[t].alive) return state_error("You cannot run an unbound(dead) tasklet");
        if (t_[t].blocked) return state_error("You cannot run a blocked tasklet");
        return std::nullopt;
    }

    std::optional<outcome> throw_into(int k, int t, const outcome& e, bool pending) {
        if (t == k) return e;  // raised at once in the caller, pending or not
        if (t_[t].blocked) {
            unblock(t);
            insert_before_current(t);
        } else if (!in_ring(t)) {
            insert_before_current(t);
        }
        t_[t].resume.reset();
        t_[t].pending = e;
        if (pending) return outcome{};
        rotate_to(t);
        t_[k].resume = outcome{};
        return std::nullopt;
    }

    /// Blocks the current tasklet k on channel c (or fails).
    std::optional<outcome> block(int k, int c, bool sender, const outcome& payload) {
        if (t_[k].block_trap) return state_error("this tasklet does not like to be blocked.");
        if (ch_[c].closing) return outcome::make_error("channel_closed_error", "Send/receive operation on a closed channel");
        // The last runnable tasklet with no watchdog to hand over to: main itself, or main
        // blocked on a channel, which stays blocked (Stackless).
        if (ring_.size() == 1 && watch_.empty() && (k == 0 || t_[0].blocked)) return last_runnable_deadlock();
        ch_[c].q.push_back(waiter{k, sender, payload});
        t_[k].blocked = true;
        t_[k].chan = c;
        leave_ring(k);
        return std::nullopt;
    }

    /// A hand-off found a waiting partner p: p is unblocked; by schedule_all, or by
    /// preference (`partner_preferred`), it runs now or is appended.
    std::optional<outcome> hand_off(int k, int c, int p, bool partner_preferred, const outcome& mine) {
        if (ch_[c].sched_all) {
            ring_.push_back(p);
            rotate_to(ring_[1]);  // the caller yields as schedule() does
            t_[k].resume = mine;
            return std::nullopt;
        }
        if (partner_preferred) {
            ring_.insert(ring_.begin() + 1, p);  // just after the caller, and run it now
            rotate_to(p);
            t_[k].resume = mine;
            return std::nullopt;
        }
        ring_.push_back(p);
        return mine;
    }

    std::optional<outcome> channel_send(int k, int c, const outcome& payload) {
        channel& ch = ch_[c];
        if (ch.balance() < 0) {
            const int r = ch.q.front().t;
            unblock(r);
            t_[r].resume = payload;
            return hand_off(k, c, r, ch.pref == -1, outcome{});
        }
        return block(k, c, true, payload);
    }

    std::optional<outcome> channel_receive(int k, int c) {
        channel& ch = ch_[c];
        if (ch.balance() > 0) {
            const waiter w = ch.q.front();
            unblock(w.t);
            t_[w.t].resume = outcome{};
            return hand_off(k, c, w.t, ch.pref == 1, w.payload);
        }
        return block(k, c, false, outcome{});
    }

    /// "[prev,next]": a blocked tasklet's neighbours in its channel's queue, what its
    /// prev() and next() return (Stackless); "-" at the queue's ends.
    std::string queue_neighbours(int k) const {
        const std::deque<waiter>& q = ch_[t_[k].chan].q;
        const auto at = static_cast<std::size_t>(
            std::find_if(q.begin(), q.end(), [k](const waiter& w) { return w.t == k; }) - q.begin());
        const std::string prev = at > 0 ? tname(q[at - 1].t) : "-";
        const std::string next = at + 1 < q.size() ? tname(q[at + 1].t) : "-";
        return "[" + prev + "," + next + "]";
    }

    std::string snapshot() const {
        std::string s = "rc=" + std::to_string(ring_.size()) + " ring=[";
        for (std::size_t i = 0; i < ring_.size(); ++i) s += (i ? " " : "") + tname(ring_[i]);
        s += "]";
        for (std::size_t k = 0; k < t_.size(); ++k) {
            const tasklet& t = t_[k];
            s += " " + tname(static_cast<int>(k)) + "=";
            if (!t.exists) s += "-";
            else if (!t.alive) s += "dead";
            else {
                s += t.blocked ? "blocked" + queue_neighbours(static_cast<int>(k)) : in_ring(static_cast<int>(k)) ? "ring" : "paused";
                if (k > 0 && !t.started) s += "/new";
            }
        }
        for (std::size_t i = 0; i < ch_.size(); ++i) {
            const channel& c = ch_[i];
            s += " " + cname(static_cast<int>(i)) + "=" + std::to_string(c.balance()) + (c.closing ? "C" : "");
            if (!c.q.empty()) s += "q" + tname(c.q.front().t);
        }
        return s;
    }

    const program& p_;
    std::vector<step> main_;
    std::vector<tasklet> t_;
    std::vector<channel> ch_;
    std::deque<int> ring_;   // front = current
    std::vector<int> watch_; // run() callers, innermost last
    std::vector<std::string> log_;
    bool done_ = false;
    long guard_ = 0;
};

inline std::vector<std::string> run_model(const program& p) { return model(p).run(); }

}  // namespace diff
