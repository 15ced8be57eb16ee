// Spec tests: exact error messages of misused tasklets, deadlocks, and exceptions that
// escape a tasklet (delivered at once to the watchdog, the others left in place).
// Authority: docs/semantics.md §2.3–§2.4 (misuse), §4.4 (escaping exceptions; "example 7"
// is its example), §5 (deadlock; "example 6" is §5.2's first row) and §11 (messages), and
// include/tasklets/errors.hpp.
#include <catch2/catch.hpp>

#include "spec_log.hpp"

#include <tasklets/tasklets.hpp>

#include <string>

using Catch::Matchers::Message;
using spec::event_log;
using tasklets::channel;
using tasklets::tasklet;

// ---- misuse of a tasklet --------------------------------------------------------------

TEST_CASE("insert, run and switch_to on a blocked tasklet fail with \"You cannot run a blocked tasklet\"", "[spec][errors]") {
    event_log log;
    channel<int> c;
    tasklet r([&log, c]() mutable { log.push_back("R got " + std::to_string(c.receive())); });
    tasklets::schedule();
    REQUIRE(r.blocked());
    REQUIRE_THROWS_MATCHES(r.insert(), tasklets::state_error, Message("You cannot run a blocked tasklet"));
    REQUIRE_THROWS_MATCHES(r.run(), tasklets::state_error, Message("You cannot run a blocked tasklet"));
    REQUIRE_THROWS_MATCHES(r.switch_to(), tasklets::state_error, Message("You cannot run a blocked tasklet"));
    // Nothing changed.
    REQUIRE(r.blocked());
    REQUIRE(c.balance() == -1);
    REQUIRE(tasklets::runcount() == 1);
    REQUIRE(tasklets::current().is_main());
    c.send(3);
    REQUIRE(log == event_log{"R got 3"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("insert, run and switch_to on a dead tasklet or an empty handle fail with \"You cannot run an unbound(dead) tasklet\"", "[spec][errors]") {
    event_log log;
    tasklet t([&log] { log.push_back("T"); });
    tasklets::run();
    REQUIRE_FALSE(t.alive());
    const auto msg = Message("You cannot run an unbound(dead) tasklet");
    REQUIRE_THROWS_MATCHES(t.insert(), tasklets::state_error, msg);
    REQUIRE_THROWS_MATCHES(t.run(), tasklets::state_error, msg);
    REQUIRE_THROWS_MATCHES(t.switch_to(), tasklets::state_error, msg);
    tasklet empty;
    REQUIRE_THROWS_MATCHES(empty.insert(), tasklets::state_error, msg);
    REQUIRE_THROWS_MATCHES(empty.run(), tasklets::state_error, msg);
    REQUIRE_THROWS_MATCHES(empty.switch_to(), tasklets::state_error, msg);
    REQUIRE(log == event_log{"T"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("remove() of the current tasklet fails with \"The current tasklet cannot be removed.\"", "[spec][errors]") {
    event_log log;
    REQUIRE_THROWS_MATCHES(tasklets::main_tasklet().remove(), tasklets::state_error,
                           Message("The current tasklet cannot be removed."));
    REQUIRE(tasklets::main_tasklet().scheduled());
    tasklet t([&log] {
        try {
            tasklets::current().remove();
            log.push_back("T removed itself");
        } catch (const tasklets::state_error& e) {
            log.push_back(std::string("T: ") + e.what());
        }
    });
    tasklets::run();
    REQUIRE(log == event_log{"T: The current tasklet cannot be removed."});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("remove() of a blocked tasklet fails with \"You cannot remove a blocked tasklet.\"", "[spec][errors]") {
    event_log log;
    channel<int> c;
    tasklet s([&log, c]() mutable {
        c.send(1);
        log.push_back("S sent");
    });
    tasklets::schedule();
    REQUIRE(s.blocked());
    REQUIRE_THROWS_MATCHES(s.remove(), tasklets::state_error, Message("You cannot remove a blocked tasklet."));
    REQUIRE(s.blocked());
    REQUIRE(c.balance() == 1);
    REQUIRE(c.receive() == 1);
    tasklets::run();
    REQUIRE(log == event_log{"S sent"});
    REQUIRE(tasklets::runcount() == 1);
}

// ---- deadlocks ------------------------------------------------------------------------

TEST_CASE("example 6: a lone main receiving fails with \"Deadlock: the last runnable tasklet cannot be blocked.\"", "[spec][errors][deadlock][example]") {
    channel<int> c;
    REQUIRE_THROWS_MATCHES(c.receive(), tasklets::deadlock_error,
                           Message("Deadlock: the last runnable tasklet cannot be blocked."));
    REQUIRE(c.balance() == 0);
    REQUIRE_FALSE(tasklets::main_tasklet().blocked());
    REQUIRE(tasklets::current().is_main());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("a lone main sending fails with \"Deadlock: the last runnable tasklet cannot be blocked.\"", "[spec][errors][deadlock]") {
    channel<int> c;
    REQUIRE_THROWS_MATCHES(c.send(1), tasklets::deadlock_error,
                           Message("Deadlock: the last runnable tasklet cannot be blocked."));
    REQUIRE(c.balance() == 0);
    REQUIRE_FALSE(tasklets::main_tasklet().blocked());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("main blocked in receive while the last tasklet ends fails with \"the main tasklet is receiving without a sender available.\"", "[spec][errors][deadlock]") {
    event_log log;
    channel<int> c;
    tasklet t([&log] { log.push_back("T"); });
    REQUIRE_THROWS_MATCHES(c.receive(), tasklets::deadlock_error,
                           Message("the main tasklet is receiving without a sender available."));
    REQUIRE(log == event_log{"T"});
    REQUIRE_FALSE(t.alive());
    REQUIRE(c.balance() == 0);  // main was taken off the channel
    REQUIRE_FALSE(tasklets::main_tasklet().blocked());
    REQUIRE(tasklets::main_tasklet().is_current());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("main blocked in send while the last tasklet ends fails with \"the main tasklet is sending without a receiver available.\"", "[spec][errors][deadlock]") {
    event_log log;
    channel<int> c;
    tasklet a([&log] {
        log.push_back("A1");
        tasklets::schedule();
        log.push_back("A2");
    });
    REQUIRE_THROWS_MATCHES(c.send(1), tasklets::deadlock_error,
                           Message("the main tasklet is sending without a receiver available."));
    REQUIRE(log == event_log{"A1", "A2"});
    REQUIRE(c.balance() == 0);
    REQUIRE_FALSE(tasklets::main_tasklet().blocked());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("a tasklet blocking as the last runnable one inside run() stays blocked and run() returns", "[spec][errors][deadlock]") {
    event_log log;
    channel<int> c;
    tasklet r([&log, c]() mutable {
        log.push_back("R wait");
        log.push_back("R got " + std::to_string(c.receive()));
    });
    REQUIRE_NOTHROW(tasklets::run());
    REQUIRE(log == event_log{"R wait"});
    REQUIRE(r.blocked());
    REQUIRE(r.alive());
    REQUIRE(c.balance() == -1);
    REQUIRE(tasklets::runcount() == 1);
    c.send(4);
    REQUIRE(log == event_log{"R wait", "R got 4"});
    REQUIRE(tasklets::runcount() == 1);
}

// ---- exceptions escaping a tasklet ----------------------------------------------------

TEST_CASE("example 7: an exception escaping a tasklet is rethrown by run() and the looper stays scheduled", "[spec][errors][escape][example]") {
    event_log log;
    tasklet looper([&log] {
        for (;;) {
            log.push_back("loop");
            tasklets::schedule();
        }
    });
    tasklet bad([&log] {
        log.push_back("bad");
        throw spec::test_error("bad tasklet");
    });
    REQUIRE_THROWS_MATCHES(tasklets::run(), spec::test_error, Message("bad tasklet"));
    REQUIRE(log == event_log{"loop", "bad"});
    REQUIRE(looper.alive());
    REQUIRE(looper.scheduled());
    REQUIRE_FALSE(bad.alive());
    REQUIRE(tasklets::runcount() == 2);
    REQUIRE(tasklets::current().is_main());
    looper.kill();
    REQUIRE_FALSE(looper.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("an exception escaping a tasklet leaves the others in their places: run() again continues the round", "[spec][errors][escape]") {
    event_log log;
    auto twice = [&log](const std::string& name) {
        log.push_back(name + "1");
        tasklets::schedule();
        log.push_back(name + "2");
    };
    tasklet a(twice, "A");
    tasklet b([&log] {
        log.push_back("B");
        throw spec::other_error("from B");
    });
    tasklet c(twice, "C");
    tasklet d(twice, "D");
    REQUIRE_THROWS_MATCHES(tasklets::run(), spec::other_error, Message("from B"));
    REQUIRE(log == event_log{"A1", "B"});
    REQUIRE(tasklets::runcount() == 4);
    REQUIRE(a.scheduled());
    REQUIRE(c.scheduled());
    REQUIRE(d.scheduled());
    REQUIRE_FALSE(c.started());
    // Ring before the exception: b, c, d, a (head b). b is gone; main comes back in its
    // place, so the round carries on from c.
    tasklets::run();
    REQUIRE(log == event_log{"A1", "B", "C1", "D1", "A2", "C2", "D2"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("an exception escaping a tasklet is delivered to main at once, from main's pending schedule()", "[spec][errors][escape]") {
    event_log log;
    tasklet bad([&log] {
        log.push_back("bad");
        throw spec::test_error("now");
    });
    tasklet later([&log] { log.push_back("later"); });
    REQUIRE_THROWS_MATCHES(tasklets::schedule(), spec::test_error, Message("now"));
    // Delivered at once: `later` did not get to run first.
    REQUIRE(log == event_log{"bad"});
    REQUIRE(later.alive());
    REQUIRE_FALSE(later.started());
    REQUIRE(tasklets::runcount() == 2);
    tasklets::run();
    REQUIRE(log == event_log{"bad", "later"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("an exception escaping a tasklet while main is blocked on a channel takes main off the channel and is rethrown by its receive()", "[spec][errors][escape]") {
    event_log log;
    channel<int> c;
    tasklet bad([&log] {
        log.push_back("bad");
        throw spec::test_error("while blocked");
    });
    REQUIRE_THROWS_MATCHES(c.receive(), spec::test_error, Message("while blocked"));
    REQUIRE(log == event_log{"bad"});
    REQUIRE(c.balance() == 0);
    REQUIRE_FALSE(tasklets::main_tasklet().blocked());
    REQUIRE_FALSE(c.queue());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("an exception escaping a tasklet inside a nested run() goes to the innermost run() caller", "[spec][errors][escape]") {
    event_log log;
    tasklet a([&log] {
        log.push_back("A run");
        try {
            tasklets::run();
            log.push_back("A run returned");
        } catch (const spec::test_error& e) {
            log.push_back(std::string("A caught ") + e.what());
        }
    });
    tasklet b([&log] {
        log.push_back("B");
        throw spec::test_error("inner");
    });
    tasklet c([&log] { log.push_back("C"); });
    REQUIRE_NOTHROW(tasklets::run());
    // a (the inner watchdog) gets b's exception at once, then c still runs.
    REQUIRE(log == event_log{"A run", "B", "A caught inner", "C"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("a tasklet ending by tasklet_exit is silent: run() does not throw", "[spec][errors][escape]") {
    event_log log;
    tasklet t([&log] {
        log.push_back("T");
        throw tasklets::tasklet_exit{};
    });
    tasklet u([&log] { log.push_back("U"); });
    REQUIRE_NOTHROW(tasklets::run());
    REQUIRE(log == event_log{"T", "U"});
    REQUIRE_FALSE(t.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("main blocked on a channel: the last tasklet blocking too gets the deadlock error itself, uncaught, it reaches main", "[spec][errors][deadlock]") {
    // Rule (docs/semantics.md §5.2; Stackless 3.7.5): the current tasklet would block
    // with nothing else to run while the watchdog (main) is blocked on a channel: the
    // deadlock error is raised in that tasklet, nothing changed. Uncaught, it escapes the
    // tasklet and goes, as every escaping exception does, to main's pending call.
    event_log log;
    channel<int> c1;
    channel<int> c2;
    tasklet t([&log, c2]() mutable {
        log.push_back("T wait");
        log.push_back("T got " + std::to_string(c2.receive()));
    });
    try {
        c1.receive();
        FAIL("main's receive returned");
    } catch (const tasklets::deadlock_error& e) {
        log.push_back("main caught: " + spec::first_line(e.what()));
    }
    REQUIRE(log == event_log{"T wait", "main caught: Deadlock: the last runnable tasklet cannot be blocked."});
    REQUIRE_FALSE(t.alive());
    REQUIRE(c1.balance() == 0);  // main was taken off c1 to receive the exception
    REQUIRE(c2.balance() == 0);  // t never blocked on c2
    REQUIRE_FALSE(tasklets::main_tasklet().blocked());
    REQUIRE(tasklets::runcount() == 1);
}

namespace {

/// What a tasklet saw when its blocking operation failed while main was blocked receiving
/// on `ch`: the state the rule says is unchanged.
std::string deadlock_state(const channel<std::string>& ch) {
    const tasklet m = tasklets::main_tasklet();
    return std::string("main ") + (m.blocked() ? "blocked" : "not blocked") + ", ch balance " +
           std::to_string(ch.balance()) + ", runcount " + std::to_string(tasklets::runcount()) +
           (tasklets::current().scheduled() ? ", me in the ring" : ", me out of the ring");
}

}  // namespace

TEST_CASE("main blocked receiving: the last tasklet's schedule_remove() raises the deadlock error in it, and it can still wake main", "[spec][errors][deadlock]") {
    event_log log;
    event_log seen;
    channel<std::string> ch;
    tasklet t([&log, &seen, ch]() mutable {
        try {
            tasklets::schedule_remove();
            log.push_back("schedule_remove returned");
        } catch (const tasklets::deadlock_error& e) {
            log.push_back("caught: " + spec::first_line(e.what()));
            seen.push_back(deadlock_state(ch));
        }
        ch.send("done");
        log.push_back("T after send");
    });
    log.push_back("main got " + ch.receive());
    REQUIRE(log == event_log{"caught: Deadlock: the last runnable tasklet cannot be blocked.", "main got done"});
    REQUIRE(seen == event_log{"main blocked, ch balance -1, runcount 1, me in the ring"});
    // Preference -1: the send switched to main at once; t waits in the ring after it.
    REQUIRE(t.alive());
    REQUIRE(t.scheduled());
    REQUIRE_FALSE(t.blocked());
    REQUIRE(tasklets::runcount() == 2);
    REQUIRE(tasklets::main_tasklet().next() == t);
    tasklets::run();
    REQUIRE(log == event_log{"caught: Deadlock: the last runnable tasklet cannot be blocked.", "main got done", "T after send"});
    REQUIRE_FALSE(t.alive());
    REQUIRE(ch.balance() == 0);
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("main blocked receiving: the last tasklet's blocking receive raises the deadlock error in it, nothing changed", "[spec][errors][deadlock]") {
    event_log log;
    event_log seen;
    channel<std::string> ch;
    channel<std::string> other;
    tasklet t([&log, &seen, ch, other]() mutable {
        try {
            log.push_back("T got " + other.receive());
        } catch (const tasklets::deadlock_error& e) {
            log.push_back("caught: " + spec::first_line(e.what()));
            seen.push_back(deadlock_state(ch) + ", other balance " + std::to_string(other.balance()));
        }
        ch.send("done");
    });
    log.push_back("main got " + ch.receive());
    REQUIRE(log == event_log{"caught: Deadlock: the last runnable tasklet cannot be blocked.", "main got done"});
    REQUIRE(seen == event_log{"main blocked, ch balance -1, runcount 1, me in the ring, other balance 0"});
    REQUIRE(other.balance() == 0);
    tasklets::run();
    REQUIRE_FALSE(t.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("main blocked receiving: the last tasklet's blocking send raises the deadlock error in it, when it then ends, main's receive fails", "[spec][errors][deadlock]") {
    // Both halves of the rule: a tasklet that would block gets "Deadlock: ..." itself;
    // the last tasklet *ending* makes main's own call fail with the main-tasklet message.
    event_log log;
    event_log seen;
    channel<std::string> ch;
    channel<std::string> other;
    tasklet t([&log, &seen, ch, other]() mutable {
        try {
            other.send("never");
            log.push_back("T sent");
        } catch (const tasklets::deadlock_error& e) {
            log.push_back("caught: " + spec::first_line(e.what()));
            seen.push_back(deadlock_state(ch) + ", other balance " + std::to_string(other.balance()));
        }
        log.push_back("T ends");
    });
    try {
        log.push_back("main got " + ch.receive());
    } catch (const tasklets::deadlock_error& e) {
        log.push_back("main caught: " + spec::first_line(e.what()));
    }
    REQUIRE(log == event_log{"caught: Deadlock: the last runnable tasklet cannot be blocked.", "T ends",
                             "main caught: the main tasklet is receiving without a sender available."});
    REQUIRE(seen == event_log{"main blocked, ch balance -1, runcount 1, me in the ring, other balance 0"});
    REQUIRE_FALSE(t.alive());
    REQUIRE(ch.balance() == 0);
    REQUIRE(other.balance() == 0);
    REQUIRE_FALSE(tasklets::main_tasklet().blocked());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("main blocked sending: the last tasklet's schedule_remove() raises the deadlock error in it, it then receives main's value", "[spec][errors][deadlock]") {
    event_log log;
    channel<std::string> ch;
    tasklet t([&log, ch]() mutable {
        try {
            tasklets::schedule_remove();
        } catch (const tasklets::deadlock_error& e) {
            log.push_back("caught: " + spec::first_line(e.what()) + " (balance " + std::to_string(ch.balance()) + ")");
        }
        log.push_back("T got " + ch.receive());
    });
    ch.send("hello");
    log.push_back("main sent");
    REQUIRE(log == event_log{"caught: Deadlock: the last runnable tasklet cannot be blocked. (balance 1)", "T got hello",
                             "main sent"});
    REQUIRE_FALSE(t.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("a watchdog that is not blocked on a channel is handed over to: main paused by switch_to, main waiting in run()", "[spec][errors][deadlock]") {
    event_log log;
    channel<int> c;
    // main paused (switched away): the last tasklet's schedule_remove() hands back to it.
    tasklet t([&log] {
        log.push_back("T remove");
        tasklets::schedule_remove();
        log.push_back("T back");
    });
    t.switch_to();
    log.push_back("main back");
    REQUIRE(t.paused());
    REQUIRE(tasklets::runcount() == 1);
    // main in run(): the last tasklet's receive hands back to it; run() returns.
    tasklet r([&log, c]() mutable { log.push_back("R got " + std::to_string(c.receive())); });
    tasklets::run();
    log.push_back("run returned");
    REQUIRE(r.blocked());
    REQUIRE(c.balance() == -1);
    c.send(5);
    t.run();
    REQUIRE(log == event_log{"T remove", "main back", "run returned", "R got 5", "T back"});
    REQUIRE(tasklets::runcount() == 1);
}
