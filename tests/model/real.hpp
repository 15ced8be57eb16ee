// tests/model/real.hpp — runs a diff::program on the real library and records its event
// log. The helpers logged_op() and snapshot() are also what a printed repro test (repro_code())
// calls, so a shrunk program pasted as a TEST_CASE behaves exactly as it did here.
#pragma once

#include "program.hpp"

#include <tasklets/tasklets.hpp>
#include <tasklets/statistics.hpp>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace diff {

using event_log = std::vector<std::string>;

/// The exception send_exception and raise use (a std::exception, unlike tasklet_exit).
struct test_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
/// The exception throw_exception uses.
struct other_error : std::logic_error {
    using std::logic_error::logic_error;
};

inline std::string error_text(const std::exception& e) {
    const char* kind = dynamic_cast<const tasklets::deadlock_error*>(&e)         ? "deadlock_error"
                       : dynamic_cast<const tasklets::channel_closed_error*>(&e) ? "channel_closed_error"
                       : dynamic_cast<const tasklets::state_error*>(&e)          ? "state_error"
                       : dynamic_cast<const test_error*>(&e)                     ? "test_error"
                       : dynamic_cast<const other_error*>(&e)                    ? "other_error"
                                                                                 : "std::exception";
    std::string what = e.what();
    // Only the first line: a deadlock_error may list the blocked tasklets after it.
    if (dynamic_cast<const tasklets::deadlock_error*>(&e)) what = what.substr(0, what.find('\n'));
    return std::string(kind) + ": " + what;
}

/// One operation of tasklet `who`: logs "<who>: <text>" before and
/// "<who>: <text> -> <result>" after. `f` returns the result ("ok", a value, a snapshot).
/// std::exception errors are logged and swallowed, or (catching::nothing) logged with
/// "(escapes)" and rethrown; tasklet_exit is logged and rethrown unless catching::all.
template <class F>
void logged_op(event_log& log, const std::string& who, const std::string& text, catching c, F&& f) {
    log.push_back(who + ": " + text);
    const std::string head = who + ": " + text + " -> ";
    try {
        std::string r = f();
        log.push_back(head + r);
    } catch (const tasklets::tasklet_exit&) {
        if (c == catching::all) {
            log.push_back(head + "tasklet_exit (caught)");
            return;
        }
        log.push_back(head + "tasklet_exit");
        throw;
    } catch (const std::exception& e) {
        if (c == catching::nothing) {
            log.push_back(head + error_text(e) + " (escapes)");
            throw;
        }
        log.push_back(head + error_text(e));
    }
}

/// "rc=<runcount> ring=[t0 t2] t0=ring t1=blocked[-,t3] ... c0=-1 ..." — the ring walked
/// from the current tasklet with next(); each tasklet's state (a blocked one's with its
/// prev() and next(): its neighbours in its channel's queue); each channel's balance,
/// closing flag (C) and first waiter.
inline std::string snapshot(const std::vector<tasklets::tasklet>& t, const std::vector<tasklets::channel<int>>& c) {
    auto name = [&t](const tasklets::tasklet& x) -> std::string {
        if (!x) return "-";
        for (std::size_t k = 0; k < t.size(); ++k)
            if (t[k] && t[k] == x) return tname(static_cast<int>(k));
        return "?";
    };
    std::string s = "rc=" + std::to_string(tasklets::runcount()) + " ring=[";
    tasklets::tasklet cur = tasklets::current();
    tasklets::tasklet x = cur;
    for (int n = 0; n < 64; ++n) {
        s += (n ? " " : "") + name(x);
        x = x.next();
        if (!x || x == cur) break;
    }
    s += "]";
    for (std::size_t k = 0; k < t.size(); ++k) {
        const tasklets::tasklet& y = t[k];
        s += " " + tname(static_cast<int>(k)) + "=";
        if (!y) s += "-";
        else if (!y.alive()) s += "dead";
        else {
            s += y.blocked() ? "blocked[" + name(y.prev()) + "," + name(y.next()) + "]"
                 : y.scheduled() ? "ring" : y.paused() ? "paused" : "?";
            if (k > 0 && !y.started()) s += "/new";
        }
    }
    // The scheduler's gauges (tasklets/statistics.hpp) must agree with the states just
    // printed; the model has no such line, so any disagreement is a mismatch.
    std::size_t alive = 0, blocked = 0, paused = 0;
    for (const tasklets::tasklet& y : t) {
        alive += y.alive();
        blocked += y.blocked();
        paused += y.paused();
    }
    const tasklets::scheduler_statistics g = tasklets::statistics();
    if (g.alive != alive || g.blocked != blocked || g.paused != paused || g.runnable != static_cast<std::size_t>(tasklets::runcount()))
        s += " GAUGES alive=" + std::to_string(g.alive) + "/" + std::to_string(alive) + " blocked=" + std::to_string(g.blocked) +
             "/" + std::to_string(blocked) + " paused=" + std::to_string(g.paused) + "/" + std::to_string(paused) +
             " runnable=" + std::to_string(g.runnable);
    for (std::size_t i = 0; i < c.size(); ++i) {
        s += " " + cname(static_cast<int>(i)) + "=" + std::to_string(c[i].balance()) + (c[i].closing() ? "C" : "");
        if (tasklets::tasklet q = c[i].queue()) s += "q" + name(q);
    }
    return s;
}

class real_run {
public:
    explicit real_run(const program& p) : p_(p) {}

    /// Runs the program (main = the calling thread's main tasklet, which must be alone in
    /// the ring) and returns its event log. Leaves the scheduler clean or aborts.
    event_log run() {
        t_.assign(p_.ntasklets + 1, tasklets::tasklet());
        t_[0] = tasklets::main_tasklet();
        t_[0].set_block_trap(false);  // a cleanup may leave it set (a cancelled kill goes on)
        c_.clear();
        for (int i = 0; i < p_.nchannels(); ++i) {
            c_.emplace_back();
            c_.back().set_preference(p_.preference[i]);
            c_.back().set_schedule_all(p_.schedule_all[i]);
        }
        for (int k = 1; k <= p_.ntasklets; ++k)
            if (p_.created_at_start[k]) make(k);
        for (const step& s : main_script(p_)) exec(0, s);
        make_clean();
        t_.clear();
        c_.clear();
        return std::move(log_);
    }

private:
    void make(int k) { t_[k] = tasklets::tasklet([this, k] { body(k); }); }

    void body(int k) {
        log_.push_back(tname(k) + ": start");
        for (const step& s : p_.scripts[k]) exec(k, s);
        log_.push_back(tname(k) + ": end");
    }

    void exec(int self, const step& s) {
        logged_op(log_, tname(self), op_text(s), s.o == op::raise ? catching::nothing : s.c,
             [&]() -> std::string { return perform(self, s); });
    }

    // Keep in step with repro_code() in repro.hpp.
    std::string perform(int self, const step& s) {
        switch (s.o) {
        case op::schedule: tasklets::schedule(); return "ok";
        case op::schedule_remove: tasklets::schedule_remove(); return "ok";
        case op::send: c_[s.a].send(s.val); return "ok";
        case op::recv: return std::to_string(c_[s.a].receive());
        case op::send_exc: c_[s.a].send_exception(test_error("x" + std::to_string(s.val))); return "ok";
        case op::insert: t_[s.a].insert(); return "ok";
        case op::remove: t_[s.a].remove(); return "ok";
        case op::run_t: t_[s.a].run(); return "ok";
        case op::switch_to: t_[s.a].switch_to(); return "ok";
        case op::kill: t_[s.a].kill(s.b != 0); return "ok";
        case op::throw_: t_[s.a].throw_exception(other_error("x" + std::to_string(s.val)), s.b != 0); return "ok";
        case op::close: c_[s.a].close(); return "ok";
        case op::open: c_[s.a].open(); return "ok";
        case op::trap:
            if (!t_[s.a]) return "no tasklet";
            t_[s.a].set_block_trap(s.b != 0);
            return "ok";
        case op::run: tasklets::run(); return "ok";
        case op::raise: throw test_error("raise " + tname(self));
        case op::snap: return snapshot(t_, c_);
        case op::create:
            if (t_[s.a]) return "exists";
            make(s.a);
            return "ok";
        case op::pref: c_[s.a].set_preference(s.b); return "ok";
        case op::sched_all: c_[s.a].set_schedule_all(s.b != 0); return "ok";
        case op::count_: break;
        }
        return "?";
    }

    /// The cleanup in main's script should have left only main; if not (a model/harness
    /// bug), force it so that the next program starts clean, and say so.
    void make_clean() {
        auto clean = [this] {
            if (tasklets::runcount() != 1) return false;
            for (std::size_t k = 1; k < t_.size(); ++k)
                if (t_[k] && t_[k].alive()) return false;
            return true;
        };
        if (clean()) return;
        log_.push_back("harness: scheduler not clean after the cleanup");
        tasklets::main_tasklet().set_block_trap(false);
        for (int n = 0; n < 100 && !clean(); ++n) {
            try { tasklets::run(); } catch (...) {}
            for (std::size_t k = 1; k < t_.size(); ++k) {
                try { if (t_[k]) t_[k].kill(); } catch (...) {}
            }
        }
        if (!clean()) {
            std::fprintf(stderr, "diff: cannot clean the scheduler after a program; giving up\n");
            std::abort();
        }
    }

    const program& p_;
    event_log log_;
    std::vector<tasklets::tasklet> t_;
    std::vector<tasklets::channel<int>> c_;
};

inline event_log run_real(const program& p) { return real_run(p).run(); }

}  // namespace diff
