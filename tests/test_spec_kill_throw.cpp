// Spec tests: tasklet::kill and tasklet::throw_exception (pending and not) on new,
// runnable, blocked, paused, dead and current tasklets; tasklet_exit; destructors on
// kill and on dropping the last handle. Authority: docs/semantics.md §4.1–§4.3 (the
// "example" cases are the examples of §4.1), §4.5 and §1.5 (handles),
// include/tasklets/tasklet.hpp and include/tasklets/errors.hpp.
#include <catch2/catch.hpp>

#include "spec_log.hpp"

#include <tasklets/tasklets.hpp>

#include <memory>
#include <string>

using spec::event_log;
using spec::on_exit_log;
using tasklets::channel;
using tasklets::tasklet;

namespace {

/// A tasklet body: a destructor logging "~<name>", then "<name>1", schedule(), "<name>2".
auto parked(event_log& log, std::string name) {
    return [&log, name] {
        on_exit_log guard(log, "~" + name);
        log.push_back(name + "1");
        tasklets::schedule();
        log.push_back(name + "2");
    };
}

}  // namespace

// ---- kill -----------------------------------------------------------------------------

TEST_CASE("example 8: killing a tasklet blocked in receive runs its destructors and leaves the channel balanced", "[spec][kill][example]") {
    event_log log;
    channel<int> c;
    tasklet r([&log, c]() mutable {
        on_exit_log guard(log, "~R");
        log.push_back("R wait");
        c.receive();
        log.push_back("R never");
    });
    tasklets::schedule();
    REQUIRE(r.blocked());
    REQUIRE(c.balance() == -1);
    r.kill();
    log.push_back("main continues");
    REQUIRE(log == event_log{"R wait", "~R", "main continues"});
    REQUIRE_FALSE(r.alive());
    REQUIRE_FALSE(r.blocked());
    REQUIRE_FALSE(r.scheduled());
    REQUIRE(c.balance() == 0);
    REQUIRE_FALSE(c.queue());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("killing a tasklet blocked in send runs its destructors and leaves the channel balanced", "[spec][kill]") {
    event_log log;
    channel<int> c;
    tasklet s([&log, c]() mutable {
        on_exit_log guard(log, "~S");
        c.send(1);
        log.push_back("S never");
    });
    tasklets::schedule();
    REQUIRE(c.balance() == 1);
    s.kill();
    REQUIRE(log == event_log{"~S"});
    REQUIRE_FALSE(s.alive());
    REQUIRE(c.balance() == 0);
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("example 9: a pending kill of a tasklet parked in schedule() does nothing until it runs again", "[spec][kill][example]") {
    event_log log;
    tasklet t(parked(log, "T"));
    tasklets::schedule();
    REQUIRE(log == event_log{"T1"});
    t.kill(true);
    REQUIRE(log == event_log{"T1"});
    REQUIRE(t.alive());
    REQUIRE(t.scheduled());
    REQUIRE_FALSE(t.blocked());
    REQUIRE(tasklets::runcount() == 2);
    tasklets::schedule();
    REQUIRE(log == event_log{"T1", "~T"});
    REQUIRE_FALSE(t.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("kill of a runnable tasklet parked in schedule() unwinds it at once and the caller continues", "[spec][kill]") {
    event_log log;
    tasklet t([&log] {
        on_exit_log outer(log, "~outer");
        log.push_back("T1");
        {
            on_exit_log inner(log, "~inner");
            tasklets::schedule();
        }
        log.push_back("T2");
    });
    tasklets::schedule();
    REQUIRE(t.started());
    t.kill();
    log.push_back("main");
    // Destructors on the victim's stack run innermost first.
    REQUIRE(log == event_log{"T1", "~inner", "~outer", "main"});
    REQUIRE_FALSE(t.alive());
    REQUIRE_FALSE(t.scheduled());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("kill of a new tasklet: its body never runs and the others do not run either", "[spec][kill]") {
    event_log log;
    tasklet a(parked(log, "A"));
    tasklet t(parked(log, "T"));
    REQUIRE_FALSE(t.started());
    t.kill();
    // Ring was main, a, t: t keeps its place, dies at once, and its successor (main) runs.
    REQUIRE(log.empty());
    REQUIRE_FALSE(t.alive());
    REQUIRE(a.alive());
    REQUIRE_FALSE(a.started());
    REQUIRE(tasklets::runcount() == 2);
    tasklets::run();
    REQUIRE(log == event_log{"A1", "A2", "~A"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("pending kill of a new tasklet: it stays runnable and dies before its body when it runs", "[spec][kill]") {
    event_log log;
    tasklet t(parked(log, "T"));
    t.kill(true);
    REQUIRE(t.alive());
    REQUIRE(t.scheduled());
    REQUIRE(tasklets::runcount() == 2);
    tasklets::run();  // ends silently: tasklet_exit is not an error
    REQUIRE(log.empty());
    REQUIRE_FALSE(t.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("pending kill of a blocked tasklet unblocks it to the end of the ring, it dies when it runs", "[spec][kill]") {
    event_log log;
    channel<int> c;
    tasklet r([&log, c]() mutable {
        on_exit_log guard(log, "~R");
        c.receive();
        log.push_back("R never");
    });
    tasklets::schedule();
    REQUIRE(r.blocked());
    tasklet x([&log] { log.push_back("X"); });
    r.kill(true);
    REQUIRE(log.empty());
    REQUIRE(r.alive());
    REQUIRE_FALSE(r.blocked());
    REQUIRE(r.scheduled());
    REQUIRE(c.balance() == 0);
    REQUIRE(tasklets::runcount() == 3);
    tasklets::run();
    REQUIRE(log == event_log{"X", "~R"});
    REQUIRE_FALSE(r.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("kill of a paused, started tasklet unwinds it", "[spec][kill]") {
    event_log log;
    tasklet t([&log] {
        on_exit_log guard(log, "~T");
        log.push_back("T1");
        tasklets::schedule_remove();
        log.push_back("T never");
    });
    tasklets::run();
    REQUIRE(t.paused());
    t.kill();
    REQUIRE(log == event_log{"T1", "~T"});
    REQUIRE_FALSE(t.alive());
    REQUIRE_FALSE(t.paused());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("kill of a dead tasklet is a no-op, pending or not", "[spec][kill]") {
    event_log log;
    tasklet t([&log] { log.push_back("T"); });
    tasklets::run();
    REQUIRE_FALSE(t.alive());
    REQUIRE_NOTHROW(t.kill());
    REQUIRE_NOTHROW(t.kill(true));
    REQUIRE_FALSE(t.alive());
    REQUIRE_FALSE(t.scheduled());
    REQUIRE(log == event_log{"T"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("a tasklet that kills itself is unwound at once, pending or not, and ends silently", "[spec][kill]") {
    // Rule (docs/semantics.md §4.2, rule 2): a throw whose target is the caller is raised
    // at once, in the caller, which does not depend on `pending`.
    for (bool pending : {false, true}) {
        CAPTURE(pending);
        event_log log;
        tasklet t([&log, pending] {
            on_exit_log guard(log, "~T");
            log.push_back("T1");
            tasklets::current().kill(pending);
            log.push_back("T never");
        });
        tasklet after([&log] { log.push_back("after"); });
        REQUIRE_NOTHROW(tasklets::run());
        REQUIRE(log == event_log{"T1", "~T", "after"});
        REQUIRE_FALSE(t.alive());
    }
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("main killing itself raises tasklet_exit at once in main", "[spec][kill]") {
    tasklet main = tasklets::main_tasklet();
    REQUIRE_THROWS_AS(main.kill(), tasklets::tasklet_exit);
    REQUIRE(main.alive());
    REQUIRE(main.is_current());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("a tasklet that catches tasklet_exit cancels the kill and lives on", "[spec][kill]") {
    event_log log;
    tasklet t([&log] {
        try {
            tasklets::schedule();
            log.push_back("T not killed");
        } catch (const tasklets::tasklet_exit&) {
            log.push_back("T caught exit");
        }
        log.push_back("T continues");
        tasklets::schedule();
        log.push_back("T end");
    });
    tasklets::schedule();
    t.kill();
    REQUIRE(log == event_log{"T caught exit", "T continues"});
    REQUIRE(t.alive());
    REQUIRE(t.scheduled());
    REQUIRE(tasklets::runcount() == 2);
    tasklets::run();
    REQUIRE(log == event_log{"T caught exit", "T continues", "T end"});
    REQUIRE_FALSE(t.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("catch (const std::exception&) does not swallow tasklet_exit", "[spec][kill]") {
    event_log log;
    tasklet t([&log] {
        try {
            tasklets::schedule();
            log.push_back("T not killed");
        } catch (const std::exception&) {
            log.push_back("T swallowed the kill");
        }
        log.push_back("T after try");
    });
    tasklets::schedule();
    REQUIRE_NOTHROW(t.kill());
    REQUIRE(log.empty());
    REQUIRE_FALSE(t.alive());
    REQUIRE(tasklets::runcount() == 1);
}

// ---- throw_exception ------------------------------------------------------------------

TEST_CASE("throw_exception into a tasklet parked in schedule() switches to it at once", "[spec][throw]") {
    event_log log;
    tasklet t([&log] {
        try {
            tasklets::schedule();
            log.push_back("T not thrown");
        } catch (const spec::other_error& e) {
            log.push_back(std::string("T caught ") + e.what());
        }
        log.push_back("T end");
    });
    tasklets::schedule();
    t.throw_exception(spec::other_error("x"));
    log.push_back("main after");
    REQUIRE(log == event_log{"T caught x", "T end", "main after"});
    REQUIRE_FALSE(t.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("a pending throw_exception only makes the target runnable, it raises when the target runs", "[spec][throw]") {
    event_log log;
    tasklet t([&log] {
        try {
            tasklets::schedule();
            log.push_back("T not thrown");
        } catch (const spec::test_error& e) {
            log.push_back(std::string("T caught ") + e.what());
        }
    });
    tasklets::schedule();
    t.throw_exception(spec::test_error("later"), true);
    REQUIRE(log.empty());
    REQUIRE(t.alive());
    REQUIRE(t.scheduled());
    tasklets::schedule();
    REQUIRE(log == event_log{"T caught later"});
    REQUIRE_FALSE(t.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("throw_exception into a blocked tasklet unblocks it and raises in its receive()", "[spec][throw]") {
    event_log log;
    channel<int> c;
    tasklet r([&log, c]() mutable {
        try {
            c.receive();
            log.push_back("R received");
        } catch (const spec::test_error& e) {
            log.push_back(std::string("R caught ") + e.what());
        }
    });
    tasklets::schedule();
    REQUIRE(c.balance() == -1);
    r.throw_exception(spec::test_error("wake"));
    log.push_back("main after");
    REQUIRE(log == event_log{"R caught wake", "main after"});
    REQUIRE(c.balance() == 0);
    REQUIRE_FALSE(r.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("a pending throw_exception into a blocked tasklet unblocks it to the end of the ring", "[spec][throw]") {
    event_log log;
    channel<int> c;
    tasklet r([&log, c]() mutable {
        try {
            c.receive();
            log.push_back("R received");
        } catch (const spec::test_error& e) {
            log.push_back(std::string("R caught ") + e.what());
        }
    });
    tasklets::schedule();
    tasklet x([&log] { log.push_back("X"); });
    r.throw_exception(spec::test_error("wake"), true);
    REQUIRE(log.empty());
    REQUIRE_FALSE(r.blocked());
    REQUIRE(r.scheduled());
    REQUIRE(c.balance() == 0);
    REQUIRE(tasklets::runcount() == 3);
    tasklets::run();
    REQUIRE(log == event_log{"X", "R caught wake"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("throw_exception into a new tasklet fires before its body, which never runs, uncaught, it reaches main", "[spec][throw]") {
    event_log log;
    tasklet t([&log] { log.push_back("T body"); });
    // Not pending: we switch to t, the exception escapes it at once and is delivered to
    // the watchdog (main), whose pending call is this throw_exception().
    REQUIRE_THROWS_MATCHES(t.throw_exception(spec::test_error("early")), spec::test_error,
                           Catch::Matchers::Message("early"));
    REQUIRE(log.empty());
    REQUIRE_FALSE(t.alive());
    REQUIRE(tasklets::runcount() == 1);

    tasklet u([&log] { log.push_back("U body"); });
    u.throw_exception(spec::test_error("pending"), true);
    REQUIRE(log.empty());
    REQUIRE(u.alive());
    REQUIRE_THROWS_MATCHES(tasklets::run(), spec::test_error, Catch::Matchers::Message("pending"));
    REQUIRE(log.empty());
    REQUIRE_FALSE(u.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("an uncaught throw_exception into a parked tasklet kills it and is rethrown to main", "[spec][throw]") {
    event_log log;
    tasklet t([&log] {
        on_exit_log guard(log, "~T");
        tasklets::schedule();
        log.push_back("T never");
    });
    tasklets::schedule();
    REQUIRE_THROWS_MATCHES(t.throw_exception(spec::test_error("die")), spec::test_error,
                           Catch::Matchers::Message("die"));
    REQUIRE(log == event_log{"~T"});
    REQUIRE_FALSE(t.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("throw_exception to the current tasklet raises at once in the caller", "[spec][throw]") {
    event_log log;
    tasklet t([&log] {
        try {
            tasklets::current().throw_exception(spec::test_error("self"), true);
            log.push_back("T not thrown");
        } catch (const spec::test_error& e) {
            log.push_back(std::string("T caught ") + e.what());
        }
    });
    tasklets::run();
    REQUIRE(log == event_log{"T caught self"});
    REQUIRE_THROWS_MATCHES(tasklets::current().throw_exception(spec::test_error("me")), spec::test_error,
                           Catch::Matchers::Message("me"));
    REQUIRE(tasklets::current().is_main());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("throw_exception to a dead tasklet or an empty handle fails with Stackless's message", "[spec][throw][errors]") {
    event_log log;
    tasklet t([&log] { log.push_back("T"); });
    tasklets::run();
    REQUIRE_THROWS_MATCHES(t.throw_exception(spec::test_error("x")), tasklets::state_error,
                           Catch::Matchers::Message("You cannot throw to a dead tasklet"));
    REQUIRE_THROWS_MATCHES(t.throw_exception(spec::test_error("x"), true), tasklets::state_error,
                           Catch::Matchers::Message("You cannot throw to a dead tasklet"));
    tasklet empty;
    REQUIRE_THROWS_MATCHES(empty.throw_exception(spec::test_error("x")), tasklets::state_error,
                           Catch::Matchers::Message("You cannot throw to a dead tasklet"));
    REQUIRE(log == event_log{"T"});
    REQUIRE(tasklets::runcount() == 1);
}

// ---- destructors and handles ----------------------------------------------------------

TEST_CASE("dropping the last handle of a started, paused tasklet kills it and unwinds its stack", "[spec][kill][handles]") {
    event_log log;
    {
        tasklet t([&log] {
            on_exit_log guard(log, "~T");
            log.push_back("T1");
            tasklets::schedule_remove();
            log.push_back("T never");
        });
        tasklets::schedule();
        REQUIRE(t.paused());
        REQUIRE(t.started());
        REQUIRE(log == event_log{"T1"});
    }
    REQUIRE(log == event_log{"T1", "~T"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("when no handle and no scheduler reference is left, the tasklet's callable and arguments are destroyed", "[spec][handles]") {
    auto token = std::make_shared<int>(1);
    {
        tasklet t([token] { (void)token; });
        REQUIRE(token.use_count() == 2);
        tasklets::run();
    }
    REQUIRE(token.use_count() == 1);
    {
        tasklet never([](std::shared_ptr<int>) {}, token);
        REQUIRE(token.use_count() == 2);
        never.remove();  // paused and never started: dropping it frees it without running it
    }
    REQUIRE(token.use_count() == 1);
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("dropping the last handle of a blocked tasklet does not kill it: the channel holds it", "[spec][kill][handles]") {
    event_log log;
    channel<int> c;
    {
        tasklet r([&log, c]() mutable {
            on_exit_log guard(log, "~R");
            log.push_back("R got " + std::to_string(c.receive()));
        });
        tasklets::schedule();
        REQUIRE(r.blocked());
    }
    REQUIRE(log.empty());
    REQUIRE(c.balance() == -1);
    REQUIRE(c.queue().blocked());
    c.send(8);
    REQUIRE(log == event_log{"R got 8", "~R"});
    REQUIRE(c.balance() == 0);
    REQUIRE(tasklets::runcount() == 1);
}

// ---- kill and throw from a tasklet ----------------------------------------------------

TEST_CASE("a tasklet killing a runnable tasklet further on in the ring: the victim keeps its place, so the tasklets after it run before the killer resumes", "[spec][kill]") {
    // Rule: not pending -> "switch to t at once", the caller staying in the ring; as for
    // run(), a target that is already scheduled keeps its place (docs/semantics.md §4.2,
    // rule 4).
    event_log log;
    tasklet victim;
    tasklet a([&log, &victim] {
        log.push_back("A1");
        victim.kill();
        log.push_back("A2");
    });
    tasklet b([&log] { log.push_back("B"); });
    tasklet c([&log] {
        on_exit_log guard(log, "~C");
        log.push_back("C never");
    });
    tasklet d([&log] { log.push_back("D"); });
    victim = c;
    tasklets::run();
    // Ring in run(): a, b, c, d. a kills c: head moves to c (ring c, d, a, b); c dies
    // before its body; d runs, then a resumes, then b.
    REQUIRE(log == event_log{"A1", "D", "A2", "B"});
    REQUIRE_FALSE(c.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("a tasklet killing a blocked tasklet: the victim is unwound at once and the killer continues", "[spec][kill]") {
    event_log log;
    channel<int> ch;
    tasklet r([&log, ch]() mutable {
        on_exit_log guard(log, "~R");
        ch.receive();
        log.push_back("R never");
    });
    tasklet k([&log, &r] {
        log.push_back("K kills");
        r.kill();
        log.push_back("K after");
    });
    tasklet x([&log] { log.push_back("X"); });
    tasklets::run();
    // Ring in run(): r, k, x. r blocks: k, x. k kills r: r goes in before k and runs at
    // once (ring r, k, x), dies; k continues, then x.
    REQUIRE(log == event_log{"K kills", "~R", "K after", "X"});
    REQUIRE(ch.balance() == 0);
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("a tasklet throwing into main parked in schedule(): main's schedule() raises it", "[spec][throw]") {
    event_log log;
    tasklet t([&log] {
        log.push_back("T throws into main");
        tasklets::main_tasklet().throw_exception(spec::test_error("to main"));
        log.push_back("T after");
    });
    REQUIRE_THROWS_MATCHES(tasklets::schedule(), spec::test_error, Catch::Matchers::Message("to main"));
    REQUIRE(log == event_log{"T throws into main"});
    REQUIRE(t.alive());
    REQUIRE(t.scheduled());
    tasklets::run();
    REQUIRE(log == event_log{"T throws into main", "T after"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("each tasklet keeps its own exception-in-flight state across switches", "[spec][throw]") {
    // Tasklets are independent stacks: a catch block that switches away must find its
    // own exception when it resumes (as each Python frame keeps its own exception).
    event_log log;
    auto body = [&log](const std::string& name) {
        try {
            throw spec::test_error(name);
        } catch (...) {
            tasklets::schedule();  // switch while handling
            try {
                throw;  // rethrow the exception being handled by *this* tasklet
            } catch (const spec::test_error& e) {
                log.push_back(name + " still handles " + e.what());
            }
        }
        log.push_back(name + " uncaught " + std::to_string(std::uncaught_exceptions()));
    };
    tasklet a(body, "A");
    tasklet b(body, "B");
    tasklets::run();
    REQUIRE(log == event_log{"A still handles A", "A uncaught 0", "B still handles B", "B uncaught 0"});
    REQUIRE_FALSE(static_cast<bool>(std::current_exception()));
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("kill of a tasklet parked inside a catch block unwinds it cleanly", "[spec][kill]") {
    event_log log;
    tasklet t([&log] {
        on_exit_log guard(log, "~T");
        try {
            throw spec::test_error("handled");
        } catch (const spec::test_error&) {
            log.push_back("T in catch");
            tasklets::schedule();
            log.push_back("T never");
        }
    });
    tasklets::schedule();
    t.kill();
    REQUIRE(log == event_log{"T in catch", "~T"});
    REQUIRE_FALSE(t.alive());
    REQUIRE_FALSE(static_cast<bool>(std::current_exception()));
    REQUIRE(std::uncaught_exceptions() == 0);
    REQUIRE(tasklets::runcount() == 1);
}
