// Spec tests: the run queue (ring), schedule(), run(), tasklet::run/switch_to/insert/remove,
// states, ids and names. Authority: docs/semantics.md §1 (states, the main tasklet, ids,
// names, handles) and §2 (the ring, schedule(), insert/remove, run/switch_to, run(); the
// "example" cases are the examples of §2.2 and §2.4) and include/tasklets/tasklet.hpp.
#include <catch2/catch.hpp>

#include "spec_log.hpp"

#include <tasklets/tasklets.hpp>

#include <string>
#include <vector>

using spec::event_log;
using tasklets::tasklet;

namespace {

/// A tasklet body that logs name+i and schedules, `rounds` times.
auto rounds_of(event_log& log, std::string name, int rounds) {
    return [&log, name, rounds] {
        for (int i = 1; i <= rounds; ++i) {
            log.push_back(name + std::to_string(i));
            tasklets::schedule();
        }
    };
}

/// A tasklet body that logs its name and ends.
auto just_log(event_log& log, std::string name) {
    return [&log, name] { log.push_back(name); };
}

/// A tasklet body that loops forever: log(name); schedule().
auto looper(event_log& log, std::string name) {
    return [&log, name] {
        for (;;) {
            log.push_back(name);
            tasklets::schedule();
        }
    };
}

}  // namespace

TEST_CASE("example 1: three tasklets that each log and schedule twice run round robin", "[spec][scheduler][example]") {
    event_log log;
    tasklet a(rounds_of(log, "A", 2));
    tasklet b(rounds_of(log, "B", 2));
    tasklet c(rounds_of(log, "C", 2));
    REQUIRE(tasklets::runcount() == 4);
    tasklets::run();
    REQUIRE(log == event_log{"A1", "B1", "C1", "A2", "B2", "C2"});
    REQUIRE(tasklets::runcount() == 1);
    REQUIRE_FALSE(a.alive());
    REQUIRE_FALSE(b.alive());
    REQUIRE_FALSE(c.alive());
}

TEST_CASE("example 2: schedule() from main runs the next tasklet and main comes back at the end of the round", "[spec][scheduler][example]") {
    event_log log;
    tasklet a([&log] {
        log.push_back("A1");
        tasklets::schedule();
        log.push_back("A2");
    });
    log.push_back("m1");
    tasklets::schedule();
    log.push_back("m2");
    REQUIRE(a.alive());
    REQUIRE(a.scheduled());
    tasklets::run();
    log.push_back("m3");
    REQUIRE(log == event_log{"m1", "A1", "m2", "A2", "m3"});
    REQUIRE_FALSE(a.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("example 3: run() on an already scheduled tasklet keeps its place, so the tasklets between it and the caller run first", "[spec][scheduler][example]") {
    event_log log;
    tasklet t1(looper(log, "t1"));
    tasklet t2(looper(log, "t2"));
    tasklet t3(looper(log, "t3"));
    t2.run();
    log.push_back("main");
    REQUIRE(log == event_log{"t2", "t3", "main"});
    // Ring is now main, t1, t2, t3 (head main): t1 has not run yet.
    REQUIRE(t1.scheduled());
    REQUIRE(tasklets::runcount() == 4);
    REQUIRE(tasklets::current().next() == t1);
    t1.kill();
    t2.kill();
    t3.kill();
    REQUIRE_FALSE(t1.alive());
    REQUIRE_FALSE(t2.alive());
    REQUIRE_FALSE(t3.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("schedule() from main with nothing else runnable returns at once", "[spec][scheduler]") {
    REQUIRE(tasklets::runcount() == 1);
    tasklets::schedule();
    tasklets::schedule();
    REQUIRE(tasklets::current() == tasklets::main_tasklet());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("schedule() from main runs a full round of the ring, main included, each time", "[spec][scheduler]") {
    event_log log;
    tasklet a(rounds_of(log, "A", 2));
    tasklet b(rounds_of(log, "B", 2));
    tasklets::schedule();
    log.push_back("main1");
    REQUIRE(tasklets::runcount() == 3);
    tasklets::schedule();
    log.push_back("main2");
    tasklets::schedule();
    log.push_back("main3");
    REQUIRE(log == event_log{"A1", "B1", "main1", "A2", "B2", "main2", "main3"});
    REQUIRE_FALSE(a.alive());
    REQUIRE_FALSE(b.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("creating a tasklet appends it to the end of the ring without running it", "[spec][scheduler]") {
    event_log log;
    tasklet main = tasklets::main_tasklet();
    tasklet a(just_log(log, "A"));
    REQUIRE(log.empty());
    REQUIRE(tasklets::runcount() == 2);
    REQUIRE(a.alive());
    REQUIRE(a.scheduled());
    REQUIRE_FALSE(a.paused());
    REQUIRE_FALSE(a.blocked());
    REQUIRE_FALSE(a.started());
    REQUIRE_FALSE(a.is_current());
    REQUIRE_FALSE(a.is_main());
    tasklet b(just_log(log, "B"));
    REQUIRE(tasklets::runcount() == 3);
    // Ring: main -> a -> b -> main.
    REQUIRE(main.next() == a);
    REQUIRE(a.next() == b);
    REQUIRE(b.next() == main);
    REQUIRE(main.prev() == b);
    REQUIRE(b.prev() == a);
    REQUIRE(a.prev() == main);
    tasklets::run();
    REQUIRE(log == event_log{"A", "B"});
    REQUIRE_FALSE(a.next());
    REQUIRE_FALSE(a.prev());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("run() takes the caller out of the ring while the others run and returns when the ring is empty", "[spec][scheduler]") {
    event_log log;
    tasklet main = tasklets::main_tasklet();
    tasklet a([&log, main] {
        log.push_back("A runcount " + std::to_string(tasklets::runcount()));
        log.push_back(std::string("main scheduled ") + (main.scheduled() ? "yes" : "no"));
        log.push_back(std::string("A current ") + (tasklets::current().is_current() && !tasklets::current().is_main() ? "yes" : "no"));
    });
    tasklet b(just_log(log, "B"));
    tasklets::run();
    // The watchdog left the ring: only A and B were in it.
    REQUIRE(log == event_log{"A runcount 2", "main scheduled no", "A current yes", "B"});
    REQUIRE(main.is_current());
    REQUIRE(main.scheduled());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("run() with an empty ring returns at once", "[spec][scheduler]") {
    tasklets::run();
    REQUIRE(tasklets::runcount() == 1);
    REQUIRE(tasklets::current().is_main());
}

TEST_CASE("tasklet run() on a paused tasklet inserts it just before the caller, switches to it, and the caller stays in the ring", "[spec][scheduler]") {
    event_log log;
    tasklet a(rounds_of(log, "A", 2));
    tasklet b(rounds_of(log, "B", 2));
    a.remove();
    REQUIRE(a.paused());
    REQUIRE(tasklets::runcount() == 2);
    a.run();  // ring was main, b; a goes before main (end of round) and runs now
    log.push_back("main");
    // a: A1 then schedule() -> next after a is main (a was inserted just before main).
    REQUIRE(log == event_log{"A1", "main"});
    REQUIRE(tasklets::runcount() == 3);
    // Ring is main, b, a: b still goes before a.
    tasklets::run();
    REQUIRE(log == event_log{"A1", "main", "B1", "A2", "B2"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("tasklet run() on the next tasklet runs it at once and the caller comes back after the round", "[spec][scheduler]") {
    event_log log;
    tasklet a(just_log(log, "A"));
    tasklet b(just_log(log, "B"));
    tasklet c(just_log(log, "C"));
    b.run();  // ring main a b c: head moves to b, so b, c run, then main; a is left
    log.push_back("main");
    REQUIRE(log == event_log{"B", "C", "main"});
    REQUIRE(a.alive());
    REQUIRE_FALSE(a.started());
    REQUIRE(tasklets::runcount() == 2);
    tasklets::run();
    REQUIRE(log == event_log{"B", "C", "main", "A"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("tasklet switch_to() pauses the caller and keeps an already scheduled target in its place", "[spec][scheduler]") {
    event_log log;
    tasklet target;
    tasklet a([&log, &target] {
        log.push_back("A1");
        target.switch_to();
        log.push_back("A2");
    });
    tasklet b(just_log(log, "B"));
    tasklet c(just_log(log, "C"));
    tasklet d(just_log(log, "D"));
    target = c;
    REQUIRE(tasklets::main_tasklet().next() == a);
    REQUIRE(a.next() == b);
    REQUIRE(b.next() == c);
    REQUIRE(c.next() == d);
    tasklets::run();
    // a leaves the ring (ring b, c, d) and c becomes the head keeping its place: c, d, b.
    REQUIRE(log == event_log{"A1", "C", "D", "B"});
    REQUIRE(a.alive());
    REQUIRE(a.paused());
    REQUIRE_FALSE(a.scheduled());
    REQUIRE(tasklets::runcount() == 1);
    a.insert();
    REQUIRE(a.scheduled());
    REQUIRE(tasklets::runcount() == 2);
    tasklets::run();
    REQUIRE(log == event_log{"A1", "C", "D", "B", "A2"});
    REQUIRE_FALSE(a.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("tasklet switch_to() from main leaves main paused until a tasklet runs it again", "[spec][scheduler]") {
    event_log log;
    tasklet main = tasklets::main_tasklet();
    tasklet a([&log, main]() mutable {
        log.push_back(std::string("A: main paused ") + (main.paused() ? "yes" : "no") + ", scheduled " +
                      (main.scheduled() ? "yes" : "no") + ", runcount " + std::to_string(tasklets::runcount()));
        main.run();
        log.push_back("A2");
    });
    a.switch_to();
    log.push_back("main back");
    // a ran main with run(): a stayed in the ring, just before... main is now the head.
    REQUIRE(log == event_log{"A: main paused yes, scheduled no, runcount 1", "main back"});
    REQUIRE(a.scheduled());
    REQUIRE(tasklets::runcount() == 2);
    tasklets::run();
    REQUIRE(log == event_log{"A: main paused yes, scheduled no, runcount 1", "main back", "A2"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("remove() takes a runnable tasklet out of the ring and insert() appends it at the end of the round", "[spec][scheduler]") {
    event_log log;
    tasklet a(just_log(log, "A"));
    tasklet b(just_log(log, "B"));
    tasklet c(just_log(log, "C"));
    a.remove();
    REQUIRE(a.alive());
    REQUIRE(a.paused());
    REQUIRE_FALSE(a.scheduled());
    REQUIRE(tasklets::runcount() == 3);
    a.remove();  // not in the ring: no-op
    REQUIRE(a.paused());
    REQUIRE(tasklets::runcount() == 3);
    tasklets::run();
    REQUIRE(log == event_log{"B", "C"});
    REQUIRE(a.alive());
    REQUIRE(tasklets::runcount() == 1);
    tasklet d(just_log(log, "D"));
    a.insert();  // after d: ring main, d, a
    REQUIRE_FALSE(a.paused());
    REQUIRE(a.scheduled());
    REQUIRE(tasklets::runcount() == 3);
    tasklets::run();
    REQUIRE(log == event_log{"B", "C", "D", "A"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("insert() on an already scheduled tasklet leaves it in its place", "[spec][scheduler]") {
    event_log log;
    tasklet a(just_log(log, "A"));
    tasklet b(just_log(log, "B"));
    a.insert();
    REQUIRE(tasklets::runcount() == 3);
    REQUIRE(tasklets::main_tasklet().next() == a);
    tasklets::run();
    REQUIRE(log == event_log{"A", "B"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("insert() called by a tasklet puts the target just before the caller, at the end of the round", "[spec][scheduler]") {
    event_log log;
    tasklet x(just_log(log, "X"));
    x.remove();
    tasklet a([&log, &x] {
        log.push_back("A1");
        x.insert();
        tasklets::schedule();
        log.push_back("A2");
    });
    tasklet b(rounds_of(log, "B", 2));
    tasklets::run();
    // Ring in run(): a, b. a inserts x before itself: a, b, x. a schedules: b, x, a.
    REQUIRE(log == event_log{"A1", "B1", "X", "A2", "B2"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("schedule_remove() pauses the caller until it is inserted again", "[spec][scheduler]") {
    event_log log;
    tasklet a([&log] {
        log.push_back("A1");
        tasklets::schedule_remove();
        log.push_back("A2");
    });
    tasklet b(rounds_of(log, "B", 2));
    tasklets::run();
    REQUIRE(log == event_log{"A1", "B1", "B2"});
    REQUIRE(a.alive());
    REQUIRE(a.paused());
    REQUIRE(a.started());
    REQUIRE_FALSE(a.scheduled());
    REQUIRE(tasklets::runcount() == 1);
    a.insert();
    tasklets::run();
    REQUIRE(log == event_log{"A1", "B1", "B2", "A2"});
    REQUIRE_FALSE(a.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("nested run(): the innermost run() caller is the watchdog and returns first", "[spec][scheduler]") {
    event_log log;
    tasklet a([&log] {
        log.push_back("A run");
        tasklets::run();
        log.push_back("A back " + std::to_string(tasklets::runcount()));
    });
    tasklet b(just_log(log, "B"));
    tasklet c(just_log(log, "C"));
    tasklets::run();
    REQUIRE(log == event_log{"A run", "B", "C", "A back 1"});
    REQUIRE(tasklets::runcount() == 1);
}

// ---- run() returns when its caller is switched to (docs/semantics.md §2.6) ----------------
// Stackless's test_run_from_worker and test_manual_wakeup rely on it.

TEST_CASE("run(): a tasklet waiting in run() that main runs explicitly returns from run() at once", "[spec][scheduler][run]") {
    int done = 0;
    event_log log;
    tasklet worker([&] {
        tasklets::schedule();
        ++done;
        log.push_back("worker done");
    });
    tasklet t([&] {
        log.push_back("t run");
        tasklets::run();
        log.push_back("t back, done " + std::to_string(done));
        ++done;
    });
    while (done != 1) tasklets::schedule();
    REQUIRE(log == event_log{"t run", "worker done"});
    REQUIRE(t.alive());
    REQUIRE_FALSE(t.scheduled());  // waiting in run(), out of the ring
    REQUIRE(tasklets::runcount() == 1);
    t.run();
    REQUIRE(done == 2);
    REQUIRE(log == event_log{"t run", "worker done", "t back, done 1"});
    REQUIRE_FALSE(t.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("run(): main waiting in run() that a tasklet runs explicitly returns, the tasklet still in the ring", "[spec][scheduler][run]") {
    event_log log;
    tasklet a([&log] {
        log.push_back("A1");
        tasklets::main_tasklet().run();
        log.push_back("A2");
    });
    tasklet b([&log] { log.push_back("B"); });
    tasklets::run();
    log.push_back("main back");
    REQUIRE(log == event_log{"A1", "main back"});
    REQUIRE(a.scheduled());
    REQUIRE_FALSE(a.paused());
    REQUIRE(b.scheduled());
    REQUIRE_FALSE(b.started());
    REQUIRE(tasklets::runcount() == 3);
    // main_tasklet().run() inserted main just before A (the end of the round) and
    // switched to it: the ring goes on from main with A, then B.
    REQUIRE(tasklets::main_tasklet().next() == a);
    REQUIRE(a.next() == b);
    REQUIRE(b.next() == tasklets::main_tasklet());
    tasklets::run();
    REQUIRE(log == event_log{"A1", "main back", "A2", "B"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("run(): switch_to() a tasklet waiting in run() returns from its run(), the switching tasklet paused", "[spec][scheduler][run]") {
    event_log log;
    tasklet t;
    tasklet a([&log] {
        log.push_back("A1");
        tasklets::main_tasklet().switch_to();
        log.push_back("A2");
    });
    tasklets::run();
    log.push_back("main back");
    REQUIRE(log == event_log{"A1", "main back"});
    REQUIRE(a.paused());
    REQUIRE(tasklets::runcount() == 1);
    // A tasklet waiting in run() (main is not in run()): switch_to from another tasklet.
    t = tasklet([&log] {
        log.push_back("T run");
        tasklets::run();
        log.push_back("T back " + std::to_string(tasklets::runcount()));
    });
    tasklet w([&log, &t] {
        log.push_back("W switch");
        t.switch_to();
        log.push_back("W back");
    });
    tasklets::schedule();  // t runs run(): w runs, switches to t; t's run() returns
    REQUIRE(log == event_log{"A1", "main back", "T run", "W switch", "T back 2"});
    REQUIRE_FALSE(t.alive());
    REQUIRE(w.paused());
    REQUIRE(tasklets::runcount() == 1);
    w.run();
    a.run();
    REQUIRE(log == event_log{"A1", "main back", "T run", "W switch", "T back 2", "W back", "A2"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("run(): a run() caller inserted by a tasklet returns from run() when the ring reaches it", "[spec][scheduler][run]") {
    // docs/semantics.md §2.6: resumed while others are runnable, however it got back.
    event_log log;
    tasklet t([&log] {
        log.push_back("T run");
        tasklets::run();
        log.push_back("T back " + std::to_string(tasklets::runcount()));
    });
    tasklet i([&log, &t] {
        log.push_back("I insert");
        t.insert();
        tasklets::schedule();
        log.push_back("I end");
    });
    tasklets::run();
    // I inserts t (ring: I, t), schedules: t resumes with I still runnable and its run()
    // returns; t ends, and I finishes.
    REQUIRE(log == event_log{"T run", "I insert", "T back 2", "I end"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("the main tasklet: id 1, current, main, scheduled, alive, no stack size", "[spec][scheduler]") {
    tasklet m = tasklets::main_tasklet();
    tasklet cur = tasklets::current();
    REQUIRE(m == cur);
    REQUIRE(m.id() == 1);
    REQUIRE(m.is_main());
    REQUIRE(m.is_current());
    REQUIRE(m.alive());
    REQUIRE(m.scheduled());
    REQUIRE_FALSE(m.paused());
    REQUIRE_FALSE(m.blocked());
    REQUIRE(m.stack_size() == 0);
    REQUIRE(m.next() == m);
    REQUIRE(m.prev() == m);
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("tasklet ids count up, names come from the options or set_name", "[spec][scheduler]") {
    event_log log;
    tasklet a(tasklets::tasklet_options{.stack_size = 0, .name = "alpha"}, just_log(log, "A"));
    tasklet b(just_log(log, "B"));
    REQUIRE(a.id() >= 2);
    REQUIRE(b.id() == a.id() + 1);
    REQUIRE(a.name() == "alpha");
    REQUIRE(b.name().empty());
    b.set_name("beta");
    REQUIRE(b.name() == "beta");
    tasklet a2 = a;  // a copy is the same tasklet
    REQUIRE(a2 == a);
    REQUIRE(a2.id() == a.id());
    REQUIRE_FALSE(a == b);
    tasklets::run();
    REQUIRE(a.id() >= 2);  // ids survive the end of the tasklet
    REQUIRE(a.name() == "alpha");
    REQUIRE(log == event_log{"A", "B"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("inside a tasklet current() is that tasklet and it is current but not main", "[spec][scheduler]") {
    event_log log;
    tasklet a;
    a = tasklet([&log, &a] {
        tasklet cur = tasklets::current();
        log.push_back(std::string(cur == a ? "same" : "different") + (cur.is_current() ? " current" : "") +
                      (cur.is_main() ? " main" : "") + (cur.started() ? " started" : "") +
                      (tasklets::main_tasklet().is_current() ? " main-current" : ""));
    });
    tasklets::run();
    REQUIRE(log == event_log{"same current started"});
    REQUIRE_FALSE(a.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("an empty tasklet handle refers to nothing: not alive, id 0, no name", "[spec][scheduler]") {
    tasklet e;
    REQUIRE_FALSE(e);
    REQUIRE_FALSE(e.alive());
    REQUIRE_FALSE(e.scheduled());
    REQUIRE_FALSE(e.blocked());
    REQUIRE_FALSE(e.paused());
    REQUIRE_FALSE(e.is_main());
    REQUIRE_FALSE(e.is_current());
    REQUIRE(e.id() == 0);
    REQUIRE(e.name().empty());
    REQUIRE(e.stack_size() == 0);
    REQUIRE(e == tasklet());
    REQUIRE_FALSE(e.next());
    REQUIRE_FALSE(e.prev());
    e.kill();  // as on a dead tasklet: a no-op
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("a finished tasklet is dead: not alive, not scheduled, not paused, not blocked", "[spec][scheduler]") {
    event_log log;
    tasklet a(just_log(log, "A"));
    tasklets::run();
    REQUIRE(log == event_log{"A"});
    REQUIRE(a);
    REQUIRE_FALSE(a.alive());
    REQUIRE_FALSE(a.scheduled());
    REQUIRE_FALSE(a.paused());
    REQUIRE_FALSE(a.blocked());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("dropping the only handle of a scheduled tasklet does not kill it: the ring holds it", "[spec][scheduler]") {
    event_log log;
    tasklets::spawn(rounds_of(log, "A", 2));
    { tasklet b(rounds_of(log, "B", 1)); }
    REQUIRE(tasklets::runcount() == 3);
    tasklets::run();
    REQUIRE(log == event_log{"A1", "B1", "A2"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("the atomic and block_trap flags start off and their setters return the old value", "[spec][scheduler]") {
    event_log log;
    tasklet a(just_log(log, "A"));
    REQUIRE_FALSE(a.atomic());
    REQUIRE_FALSE(a.set_atomic(true));
    REQUIRE(a.atomic());
    REQUIRE(a.set_atomic(false));
    REQUIRE_FALSE(a.block_trap());
    REQUIRE_FALSE(a.set_block_trap(true));
    REQUIRE(a.block_trap());
    REQUIRE(a.set_block_trap(false));
    REQUIRE_FALSE(a.block_trap());
    tasklets::run();
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("a tasklet created by a tasklet is appended at the end of the round, just before its creator", "[spec][scheduler]") {
    event_log log;
    std::vector<tasklet> made;
    tasklet a([&log, &made] {
        log.push_back("A1");
        made.emplace_back(just_log(log, "X"));
        log.push_back("A runcount " + std::to_string(tasklets::runcount()));
        tasklets::schedule();
        log.push_back("A2");
    });
    tasklet b(rounds_of(log, "B", 2));
    tasklets::run();
    // Ring in run(): a, b; x goes just before a: a, b, x. a schedules: b, x, a.
    REQUIRE(log == event_log{"A1", "A runcount 3", "B1", "X", "A2", "B2"});
    REQUIRE(tasklets::runcount() == 1);
}
