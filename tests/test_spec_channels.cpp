// Spec tests: channels — hand-off and preference, schedule_all, FIFO, balance, close,
// iteration, send_sequence, send_exception, block_trap, move-only payloads, channel
// destruction. Authority: docs/semantics.md §3 (the "example" cases: the worked examples
// of §3.2, §3.4 and §3.5) and include/tasklets/channel.hpp.
#include <catch2/catch.hpp>

#include "spec_log.hpp"

#include <tasklets/tasklets.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

using spec::event_log;
using tasklets::channel;
using tasklets::tasklet;

namespace {

enum class side { main, tasklet };

/// One hand-off: a waiter blocks on a channel first, then a caller does the matching
/// operation while an observer tasklet X sits in the ring. Whoever is "main" is the main
/// tasklet; the others are tasklets. The sender sends 1.
///   sender logs  "<name> send" before and "<name> sent" after its send;
///   receiver logs "<name> recv" before and "<name> got <v>" after its receive;
///   X logs "X".
/// The waiter is called "main" or "W", the caller "main" or "C".
struct handoff {
    bool waiter_sends;
    side waiter;
    side caller;
    int preference;
    bool schedule_all = false;
};

struct handoff_result {
    event_log log;
    int balance_while_waiting = 99;  // seen by main when it can look (99: not observed)
    int balance_after = 99;
    int runcount_after = 99;
};

handoff_result run_handoff(const handoff& h) {
    handoff_result r;
    event_log& log = r.log;
    channel<int> ch;
    ch.set_preference(h.preference);
    ch.set_schedule_all(h.schedule_all);
    const std::string wname = h.waiter == side::main ? "main" : "W";
    const std::string cname = h.caller == side::main ? "main" : "C";
    auto op = [&log, ch](const std::string& name, bool sends) mutable {
        if (sends) {
            log.push_back(name + " send");
            ch.send(1);
            log.push_back(name + " sent");
        } else {
            log.push_back(name + " recv");
            int v = ch.receive();
            log.push_back(name + " got " + std::to_string(v));
        }
    };
    auto observer = [&log] { log.push_back("X"); };
    if (h.waiter == side::main) {
        tasklet c(op, cname, !h.waiter_sends);
        tasklet x(observer);
        op(wname, h.waiter_sends);
        tasklets::run();
    } else if (h.caller == side::main) {
        tasklet w(op, wname, h.waiter_sends);
        tasklets::schedule();  // w runs and blocks
        r.balance_while_waiting = ch.balance();
        tasklet x(observer);
        op(cname, !h.waiter_sends);
        tasklets::run();
    } else {
        tasklet w(op, wname, h.waiter_sends);
        tasklet c(op, cname, !h.waiter_sends);
        tasklet x(observer);
        tasklets::run();
    }
    r.balance_after = ch.balance();
    r.runcount_after = tasklets::runcount();
    return r;
}

}  // namespace

// ---- hand-off and preference ----------------------------------------------------------

TEST_CASE("example 4: a send to a waiting receiver runs the receiver at once only with preference -1", "[spec][channel][example]") {
    for (int preference : {-1, 0, 1}) {
        CAPTURE(preference);
        event_log log;
        channel<int> c;
        c.set_preference(preference);
        tasklet r([&log, c]() mutable {
            log.push_back("R wait");
            int v = c.receive();
            log.push_back("R got " + std::to_string(v));
        });
        tasklets::schedule();
        REQUIRE(c.balance() == -1);
        REQUIRE(r.blocked());
        tasklet x2([&log] { log.push_back("X2"); });
        log.push_back("main send");
        c.send(1);
        log.push_back("main after send");
        tasklets::run();
        if (preference == -1)
            REQUIRE(log == event_log{"R wait", "main send", "R got 1", "X2", "main after send"});
        else
            REQUIRE(log == event_log{"R wait", "main send", "main after send", "X2", "R got 1"});
        REQUIRE(c.balance() == 0);
    }
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("hand-off: main sends to a waiting tasklet receiver, for each preference", "[spec][channel][handoff]") {
    auto m1 = run_handoff({.waiter_sends = false, .waiter = side::tasklet, .caller = side::main, .preference = -1});
    REQUIRE(m1.log == event_log{"W recv", "main send", "W got 1", "X", "main sent"});
    auto z = run_handoff({.waiter_sends = false, .waiter = side::tasklet, .caller = side::main, .preference = 0});
    REQUIRE(z.log == event_log{"W recv", "main send", "main sent", "X", "W got 1"});
    auto p1 = run_handoff({.waiter_sends = false, .waiter = side::tasklet, .caller = side::main, .preference = 1});
    REQUIRE(p1.log == event_log{"W recv", "main send", "main sent", "X", "W got 1"});
    for (auto* r : {&m1, &z, &p1}) {
        REQUIRE(r->balance_while_waiting == -1);
        REQUIRE(r->balance_after == 0);
        REQUIRE(r->runcount_after == 1);
    }
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("hand-off: main receives from a waiting tasklet sender, for each preference", "[spec][channel][handoff]") {
    auto m1 = run_handoff({.waiter_sends = true, .waiter = side::tasklet, .caller = side::main, .preference = -1});
    REQUIRE(m1.log == event_log{"W send", "main recv", "main got 1", "X", "W sent"});
    auto z = run_handoff({.waiter_sends = true, .waiter = side::tasklet, .caller = side::main, .preference = 0});
    REQUIRE(z.log == event_log{"W send", "main recv", "main got 1", "X", "W sent"});
    auto p1 = run_handoff({.waiter_sends = true, .waiter = side::tasklet, .caller = side::main, .preference = 1});
    REQUIRE(p1.log == event_log{"W send", "main recv", "W sent", "X", "main got 1"});
    for (auto* r : {&m1, &z, &p1}) {
        REQUIRE(r->balance_while_waiting == 1);
        REQUIRE(r->balance_after == 0);
        REQUIRE(r->runcount_after == 1);
    }
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("hand-off: a tasklet sends to main waiting in receive, for each preference", "[spec][channel][handoff]") {
    auto m1 = run_handoff({.waiter_sends = false, .waiter = side::main, .caller = side::tasklet, .preference = -1});
    REQUIRE(m1.log == event_log{"main recv", "C send", "main got 1", "X", "C sent"});
    auto z = run_handoff({.waiter_sends = false, .waiter = side::main, .caller = side::tasklet, .preference = 0});
    REQUIRE(z.log == event_log{"main recv", "C send", "C sent", "X", "main got 1"});
    auto p1 = run_handoff({.waiter_sends = false, .waiter = side::main, .caller = side::tasklet, .preference = 1});
    REQUIRE(p1.log == event_log{"main recv", "C send", "C sent", "X", "main got 1"});
    for (auto* r : {&m1, &z, &p1}) {
        REQUIRE(r->balance_after == 0);
        REQUIRE(r->runcount_after == 1);
    }
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("hand-off: a tasklet receives from main waiting in send, for each preference", "[spec][channel][handoff]") {
    auto m1 = run_handoff({.waiter_sends = true, .waiter = side::main, .caller = side::tasklet, .preference = -1});
    REQUIRE(m1.log == event_log{"main send", "C recv", "C got 1", "X", "main sent"});
    auto z = run_handoff({.waiter_sends = true, .waiter = side::main, .caller = side::tasklet, .preference = 0});
    REQUIRE(z.log == event_log{"main send", "C recv", "C got 1", "X", "main sent"});
    auto p1 = run_handoff({.waiter_sends = true, .waiter = side::main, .caller = side::tasklet, .preference = 1});
    REQUIRE(p1.log == event_log{"main send", "C recv", "main sent", "X", "C got 1"});
    for (auto* r : {&m1, &z, &p1}) {
        REQUIRE(r->balance_after == 0);
        REQUIRE(r->runcount_after == 1);
    }
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("hand-off: a tasklet sends to a waiting tasklet receiver, for each preference", "[spec][channel][handoff]") {
    auto m1 = run_handoff({.waiter_sends = false, .waiter = side::tasklet, .caller = side::tasklet, .preference = -1});
    REQUIRE(m1.log == event_log{"W recv", "C send", "W got 1", "X", "C sent"});
    auto z = run_handoff({.waiter_sends = false, .waiter = side::tasklet, .caller = side::tasklet, .preference = 0});
    REQUIRE(z.log == event_log{"W recv", "C send", "C sent", "X", "W got 1"});
    auto p1 = run_handoff({.waiter_sends = false, .waiter = side::tasklet, .caller = side::tasklet, .preference = 1});
    REQUIRE(p1.log == event_log{"W recv", "C send", "C sent", "X", "W got 1"});
    for (auto* r : {&m1, &z, &p1}) {
        REQUIRE(r->balance_after == 0);
        REQUIRE(r->runcount_after == 1);
    }
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("hand-off: a tasklet receives from a waiting tasklet sender, for each preference", "[spec][channel][handoff]") {
    auto m1 = run_handoff({.waiter_sends = true, .waiter = side::tasklet, .caller = side::tasklet, .preference = -1});
    REQUIRE(m1.log == event_log{"W send", "C recv", "C got 1", "X", "W sent"});
    auto z = run_handoff({.waiter_sends = true, .waiter = side::tasklet, .caller = side::tasklet, .preference = 0});
    REQUIRE(z.log == event_log{"W send", "C recv", "C got 1", "X", "W sent"});
    auto p1 = run_handoff({.waiter_sends = true, .waiter = side::tasklet, .caller = side::tasklet, .preference = 1});
    REQUIRE(p1.log == event_log{"W send", "C recv", "W sent", "X", "C got 1"});
    for (auto* r : {&m1, &z, &p1}) {
        REQUIRE(r->balance_after == 0);
        REQUIRE(r->runcount_after == 1);
    }
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("schedule_all overrides preference: the partner is appended and the caller yields as schedule() does", "[spec][channel][handoff]") {
    for (int preference : {-1, 0, 1}) {
        CAPTURE(preference);
        auto a = run_handoff({.waiter_sends = false, .waiter = side::tasklet, .caller = side::main, .preference = preference, .schedule_all = true});
        REQUIRE(a.log == event_log{"W recv", "main send", "X", "W got 1", "main sent"});
        auto b = run_handoff({.waiter_sends = true, .waiter = side::tasklet, .caller = side::main, .preference = preference, .schedule_all = true});
        REQUIRE(b.log == event_log{"W send", "main recv", "X", "W sent", "main got 1"});
        auto c = run_handoff({.waiter_sends = false, .waiter = side::main, .caller = side::tasklet, .preference = preference, .schedule_all = true});
        REQUIRE(c.log == event_log{"main recv", "C send", "X", "main got 1", "C sent"});
        auto d = run_handoff({.waiter_sends = true, .waiter = side::main, .caller = side::tasklet, .preference = preference, .schedule_all = true});
        REQUIRE(d.log == event_log{"main send", "C recv", "X", "main sent", "C got 1"});
        auto e = run_handoff({.waiter_sends = false, .waiter = side::tasklet, .caller = side::tasklet, .preference = preference, .schedule_all = true});
        REQUIRE(e.log == event_log{"W recv", "C send", "X", "W got 1", "C sent"});
        auto f = run_handoff({.waiter_sends = true, .waiter = side::tasklet, .caller = side::tasklet, .preference = preference, .schedule_all = true});
        REQUIRE(f.log == event_log{"W send", "C recv", "X", "W sent", "C got 1"});
        for (auto* r : {&a, &b, &c, &d, &e, &f}) {
            REQUIRE(r->balance_after == 0);
            REQUIRE(r->runcount_after == 1);
        }
    }
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("a new channel has preference -1, schedule_all off, balance 0, is open, set_preference keeps the sign", "[spec][channel]") {
    channel<int> c;
    REQUIRE(c.preference() == -1);
    REQUIRE_FALSE(c.schedule_all());
    REQUIRE(c.balance() == 0);
    REQUIRE_FALSE(c.closing());
    REQUIRE_FALSE(c.closed());
    REQUIRE_FALSE(c.queue());
    c.set_preference(5);
    REQUIRE(c.preference() == 1);
    c.set_preference(-7);
    REQUIRE(c.preference() == -1);
    c.set_preference(0);
    REQUIRE(c.preference() == 0);
    c.set_schedule_all(true);
    REQUIRE(c.schedule_all());
    channel<int> copy = c;
    REQUIRE(copy == c);
    REQUIRE(copy.preference() == 0);
    REQUIRE(copy.schedule_all());
    REQUIRE_FALSE(channel<int>() == c);
    REQUIRE(tasklets::runcount() == 1);
}

// ---- FIFO and balance -----------------------------------------------------------------

TEST_CASE("example 5: three waiting receivers are served in FIFO order and the balance rises at each step", "[spec][channel][example]") {
    event_log log;
    channel<std::string> c;
    auto receiver = [&log, c](const std::string& name) mutable { log.push_back(name + " got " + c.receive()); };
    tasklet r1(receiver, "R1");
    tasklet r2(receiver, "R2");
    tasklet r3(receiver, "R3");
    REQUIRE(c.balance() == 0);
    tasklets::schedule();  // R1, R2, R3 block in that order
    REQUIRE(log.empty());
    REQUIRE(c.balance() == -3);
    REQUIRE(c.queue() == r1);
    REQUIRE(r1.blocked());
    REQUIRE(r2.blocked());
    REQUIRE(r3.blocked());
    REQUIRE(tasklets::runcount() == 1);
    for (const char* v : {"a", "b", "c"}) {
        c.send(v);
        log.push_back("(" + std::to_string(c.balance()) + ")");
    }
    REQUIRE(log == event_log{"R1 got a", "(-2)", "R2 got b", "(-1)", "R3 got c", "(0)"});
    REQUIRE_FALSE(c.queue());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("next/prev of tasklets blocked on a channel are their neighbours in its queue of waiters", "[spec][channel][neighbours]") {
    // docs/semantics.md §2.5 (Stackless links a blocked tasklet into its channel).
    event_log log;
    channel<std::string> c;
    auto receiver = [&log, c](const std::string& name) mutable { log.push_back(name + " got " + c.receive()); };
    tasklet r1(receiver, "R1");
    tasklet r2(receiver, "R2");
    tasklet r3(receiver, "R3");
    tasklets::schedule();  // R1, R2, R3 block in that order
    REQUIRE(c.balance() == -3);
    REQUIRE(c.queue() == r1);
    REQUIRE_FALSE(r1.prev());
    REQUIRE(r1.next() == r2);
    REQUIRE(r2.prev() == r1);
    REQUIRE(r2.next() == r3);
    REQUIRE(r3.prev() == r2);
    REQUIRE_FALSE(r3.next());
    c.send("a");  // R1 leaves the queue, runs at once (preference -1) and ends
    REQUIRE(log == event_log{"R1 got a"});
    REQUIRE_FALSE(r1.next());
    REQUIRE_FALSE(r1.prev());
    REQUIRE(c.queue() == r2);
    REQUIRE_FALSE(r2.prev());
    REQUIRE(r2.next() == r3);
    REQUIRE(r3.prev() == r2);
    c.set_preference(0);
    c.send("b");  // R2 leaves the queue for the ring, after main
    REQUIRE(r2.scheduled());
    REQUIRE_FALSE(r2.blocked());
    REQUIRE(r2.next() == tasklets::main_tasklet());  // ring neighbours again
    REQUIRE(r2.prev() == tasklets::main_tasklet());
    REQUIRE_FALSE(r3.prev());
    REQUIRE_FALSE(r3.next());
    REQUIRE(c.queue() == r3);
    c.send("c");
    tasklets::run();
    REQUIRE(log == event_log{"R1 got a", "R2 got b", "R3 got c"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("next/prev of blocked senders, of blocked main, and of a paused tasklet", "[spec][channel][neighbours]") {
    event_log log;
    channel<int> c;
    tasklet s1([c]() mutable { c.send(1); });
    tasklet s2([c]() mutable { c.send(2); });
    tasklets::schedule();  // s1 and s2 block in that order
    REQUIRE(c.balance() == 2);
    tasklet watcher([&log, &s1, &s2, c]() mutable {
        // main blocked sending after s1 and s2: it is the queue's tail.
        const tasklet m = tasklets::main_tasklet();
        log.push_back(std::string("main prev s2: ") + (m.prev() == s2 ? "yes" : "no") + ", main next: " +
                      (m.next() ? "some" : "none") + ", s1 next s2: " + (s1.next() == s2 ? "yes" : "no") +
                      ", s2 next main: " + (s2.next() == m ? "yes" : "no"));
        for (int i = 0; i < 3; ++i) log.push_back("got " + std::to_string(c.receive()));
    });
    c.send(3);  // main blocks after them; the watcher looks and receives all three
    REQUIRE(log == event_log{"main prev s2: yes, main next: none, s1 next s2: yes, s2 next main: yes", "got 1", "got 2",
                             "got 3"});
    tasklets::run();
    tasklet p([] { tasklets::schedule_remove(); });
    tasklets::schedule();  // p pauses itself
    REQUIRE(p.paused());
    REQUIRE_FALSE(p.next());
    REQUIRE_FALSE(p.prev());
    p.kill();
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("three waiting senders are served in FIFO order and the balance falls at each step", "[spec][channel]") {
    event_log log;
    channel<std::string> c;
    auto sender = [&log, c](const std::string& name, const std::string& value) mutable {
        c.send(value);
        log.push_back(name + " sent");
    };
    tasklet s1(sender, "S1", "a");
    tasklet s2(sender, "S2", "b");
    tasklet s3(sender, "S3", "c");
    tasklets::schedule();
    REQUIRE(c.balance() == 3);
    REQUIRE(c.queue() == s1);
    REQUIRE(s1.blocked());
    REQUIRE(s3.blocked());
    REQUIRE(tasklets::runcount() == 1);
    REQUIRE(c.receive() == "a");
    REQUIRE(c.balance() == 2);
    REQUIRE(c.queue() == s2);
    REQUIRE(c.receive() == "b");
    REQUIRE(c.balance() == 1);
    REQUIRE(c.queue() == s3);
    REQUIRE(c.receive() == "c");
    REQUIRE(c.balance() == 0);
    REQUIRE_FALSE(c.queue());
    // Preference -1 favours the receiver (main): each sender was appended to the ring in turn.
    REQUIRE(log.empty());
    REQUIRE(tasklets::runcount() == 4);
    REQUIRE_FALSE(s1.blocked());
    REQUIRE(s1.scheduled());
    tasklets::run();
    REQUIRE(log == event_log{"S1 sent", "S2 sent", "S3 sent"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("balance counts waiting senders as positive and waiting receivers as negative at each step", "[spec][channel]") {
    channel<int> c;
    c.set_preference(0);  // nobody switches on a hand-off: main observes every step
    tasklet r1([c]() mutable { c.receive(); });
    tasklets::schedule();
    REQUIRE(c.balance() == -1);
    tasklet r2([c]() mutable { c.receive(); });
    tasklets::schedule();
    REQUIRE(c.balance() == -2);
    c.send(1);
    REQUIRE(c.balance() == -1);
    c.send(2);
    REQUIRE(c.balance() == 0);
    tasklets::run();
    tasklet s1([c]() mutable { c.send(3); });
    tasklets::schedule();
    REQUIRE(c.balance() == 1);
    tasklet s2([c]() mutable { c.send(4); });
    tasklets::schedule();
    REQUIRE(c.balance() == 2);
    REQUIRE(c.receive() == 3);
    REQUIRE(c.balance() == 1);
    REQUIRE(c.receive() == 4);
    REQUIRE(c.balance() == 0);
    tasklets::run();
    REQUIRE_FALSE(r1.alive());
    REQUIRE_FALSE(s2.alive());
    REQUIRE(tasklets::runcount() == 1);
}

// ---- close ----------------------------------------------------------------------------

TEST_CASE("example 10: a closing channel still serves its two waiting senders, then is closed", "[spec][channel][close][example]") {
    event_log log;
    channel<int> c;
    auto sender = [&log, c](int v) mutable {
        c.send(v);
        log.push_back("S" + std::to_string(v) + " sent");
    };
    tasklet s1(sender, 1);
    tasklet s2(sender, 2);
    tasklets::schedule();
    REQUIRE(c.balance() == 2);
    c.close();
    REQUIRE(c.closing());
    REQUIRE_FALSE(c.closed());
    REQUIRE(s1.blocked());  // closing wakes nobody
    REQUIRE(s2.blocked());
    REQUIRE(c.balance() == 2);
    REQUIRE(c.receive() == 1);
    REQUIRE_FALSE(c.closed());
    REQUIRE(c.balance() == 1);
    REQUIRE(c.receive() == 2);
    REQUIRE(c.closed());
    REQUIRE(c.balance() == 0);
    REQUIRE_THROWS_MATCHES(c.receive(), tasklets::channel_closed_error,
                           Catch::Matchers::Message("Send/receive operation on a closed channel"));
    REQUIRE(c.balance() == 0);
    tasklets::run();
    REQUIRE(log == event_log{"S1 sent", "S2 sent"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("close with waiting receivers: they stay blocked, are still served, then sends fail", "[spec][channel][close]") {
    event_log log;
    channel<int> c;
    auto receiver = [&log, c](const std::string& name) mutable {
        int v = c.receive();
        log.push_back(name + " got " + std::to_string(v));
    };
    tasklet r1(receiver, "R1");
    tasklet r2(receiver, "R2");
    tasklets::schedule();
    REQUIRE(c.balance() == -2);
    c.close();
    REQUIRE(c.closing());
    REQUIRE_FALSE(c.closed());
    REQUIRE(r1.blocked());
    REQUIRE(r2.blocked());
    REQUIRE(tasklets::runcount() == 1);
    c.send(1);
    REQUIRE(log == event_log{"R1 got 1"});
    REQUIRE(c.balance() == -1);
    REQUIRE_FALSE(c.closed());
    c.send(2);
    REQUIRE(log == event_log{"R1 got 1", "R2 got 2"});
    REQUIRE(c.balance() == 0);
    REQUIRE(c.closed());
    REQUIRE_THROWS_MATCHES(c.send(3), tasklets::channel_closed_error,
                           Catch::Matchers::Message("Send/receive operation on a closed channel"));
    REQUIRE_THROWS_MATCHES(c.receive(), tasklets::channel_closed_error,
                           Catch::Matchers::Message("Send/receive operation on a closed channel"));
    REQUIRE(c.balance() == 0);
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("close on an empty channel: closed at once, send and receive fail in main and in tasklets, open() clears it", "[spec][channel][close]") {
    event_log log;
    channel<int> c;
    c.close();
    REQUIRE(c.closing());
    REQUIRE(c.closed());
    REQUIRE_THROWS_MATCHES(c.send(1), tasklets::channel_closed_error,
                           Catch::Matchers::Message("Send/receive operation on a closed channel"));
    REQUIRE_THROWS_MATCHES(c.receive(), tasklets::channel_closed_error,
                           Catch::Matchers::Message("Send/receive operation on a closed channel"));
    tasklet t([&log, c]() mutable {
        try {
            c.receive();
            log.push_back("T received");
        } catch (const tasklets::channel_closed_error& e) {
            log.push_back(std::string("T: ") + e.what());
        }
    });
    tasklets::run();
    REQUIRE(log == event_log{"T: Send/receive operation on a closed channel"});
    REQUIRE(c.balance() == 0);
    c.open();
    REQUIRE_FALSE(c.closing());
    REQUIRE_FALSE(c.closed());
    // Open again: a receive blocks as usual.
    tasklet r([&log, c]() mutable { log.push_back("R got " + std::to_string(c.receive())); });
    tasklets::schedule();
    REQUIRE(c.balance() == -1);
    REQUIRE(r.blocked());
    c.send(5);
    REQUIRE(log == event_log{"T: Send/receive operation on a closed channel", "R got 5"});
    REQUIRE(tasklets::runcount() == 1);
}

// ---- iteration and send_sequence ------------------------------------------------------

TEST_CASE("iteration receives from the waiting senders and ends when the channel is closing with no sender left", "[spec][channel][iteration]") {
    event_log log;
    channel<int> c;
    auto sender = [&log, c](int v) mutable {
        c.send(v);
        log.push_back("S" + std::to_string(v) + " sent");
    };
    tasklet s1(sender, 1);
    tasklet s2(sender, 2);
    tasklet s3(sender, 3);
    tasklets::schedule();
    REQUIRE(c.balance() == 3);
    c.close();
    for (int v : c) log.push_back("got " + std::to_string(v));
    log.push_back("end");
    REQUIRE(log == event_log{"got 1", "got 2", "got 3", "end"});
    REQUIRE(c.closed());
    tasklets::run();
    REQUIRE(log == event_log{"got 1", "got 2", "got 3", "end", "S1 sent", "S2 sent", "S3 sent"});
    // Iterating a closed, empty channel ends at once (no receive, so no deadlock).
    int n = 0;
    for (int v : c) n += v + 1;
    REQUIRE(n == 0);
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("send_sequence sends each element in order and returns the count, iteration stops at the close", "[spec][channel][iteration]") {
    event_log log;
    channel<int> c;
    c.set_preference(1);  // the sender is preferred
    tasklet consumer([&log, c]() mutable {
        for (int v : c) log.push_back("got " + std::to_string(v));
        log.push_back("C end");
    });
    tasklet producer([&log, c]() mutable {
        std::size_t n = c.send_sequence(std::vector<int>{1, 2, 3});
        c.close();
        log.push_back("P sent " + std::to_string(n));
    });
    tasklets::run();
    // C blocks in receive; P's send(1) finds it, P is preferred: C is appended and P
    // blocks on send(2); C gets 1, its receive finds P waiting and P (preferred) runs at
    // once, to block on send(3); C gets 2; its receive runs P again, which closes and ends.
    REQUIRE(log == event_log{"got 1", "got 2", "P sent 3", "got 3", "C end"});
    REQUIRE(c.closed());
    REQUIRE_FALSE(consumer.alive());
    REQUIRE_FALSE(producer.alive());
    REQUIRE(tasklets::runcount() == 1);
}

// ---- send_exception -------------------------------------------------------------------

TEST_CASE("send_exception to a waiting receiver makes its receive() throw, and the receiver can catch it", "[spec][channel][exception]") {
    event_log log;
    channel<int> c;
    tasklet r([&log, c]() mutable {
        log.push_back("R wait");
        try {
            int v = c.receive();
            log.push_back("R got " + std::to_string(v));
        } catch (const spec::test_error& e) {
            log.push_back(std::string("R caught ") + e.what());
        }
    });
    tasklets::schedule();
    REQUIRE(c.balance() == -1);
    c.send_exception(spec::test_error("boom"));  // preference -1: the receiver runs at once
    log.push_back("main after");
    REQUIRE(log == event_log{"R wait", "R caught boom", "main after"});
    REQUIRE(c.balance() == 0);
    REQUIRE_FALSE(r.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("send_exception with no receiver waiting blocks the sender, the receiver that comes raises it", "[spec][channel][exception]") {
    event_log log;
    channel<int> c;
    tasklet s([&log, c]() mutable {
        log.push_back("S send");
        c.send_exception(spec::test_error("late"));
        log.push_back("S sent");
    });
    tasklets::schedule();
    REQUIRE(c.balance() == 1);
    REQUIRE(s.blocked());
    REQUIRE_THROWS_MATCHES(c.receive(), spec::test_error, Catch::Matchers::Message("late"));
    REQUIRE(c.balance() == 0);
    tasklets::run();
    REQUIRE(log == event_log{"S send", "S sent"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("send_exception not caught by the receiver escapes it and run() rethrows it, the sender left in place", "[spec][channel][exception]") {
    event_log log;
    channel<int> c;
    tasklet r([&log, c]() mutable {
        log.push_back("R wait");
        c.receive();
        log.push_back("R never");
    });
    tasklet s([&log, c]() mutable {
        c.send_exception(spec::other_error("bad"));
        log.push_back("S after");
    });
    REQUIRE_THROWS_MATCHES(tasklets::run(), spec::other_error, Catch::Matchers::Message("bad"));
    REQUIRE(log == event_log{"R wait"});
    REQUIRE_FALSE(r.alive());
    REQUIRE(s.alive());
    REQUIRE(s.scheduled());
    REQUIRE(tasklets::runcount() == 2);
    tasklets::run();
    REQUIRE(log == event_log{"R wait", "S after"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("send_exception from main not caught by the receiver is rethrown by main's send_exception call", "[spec][channel][exception]") {
    event_log log;
    channel<int> c;
    tasklet r([&log, c]() mutable {
        log.push_back("R wait");
        c.receive();
        log.push_back("R never");
    });
    tasklets::schedule();
    // Preference -1: the receiver runs at once; its exception goes to the watchdog (main)
    // whose pending call is send_exception().
    REQUIRE_THROWS_MATCHES(c.send_exception(spec::test_error("boom")), spec::test_error,
                           Catch::Matchers::Message("boom"));
    REQUIRE(log == event_log{"R wait"});
    REQUIRE_FALSE(r.alive());
    REQUIRE(c.balance() == 0);
    REQUIRE(tasklets::runcount() == 1);
}

// ---- block_trap -----------------------------------------------------------------------

TEST_CASE("block_trap: a tasklet that would block fails with the block-trap message instead", "[spec][channel][block_trap]") {
    event_log log;
    channel<int> c;
    tasklet t([&log, c]() mutable {
        tasklets::current().set_block_trap(true);
        try {
            c.send(1);
            log.push_back("T sent");
        } catch (const tasklets::state_error& e) {
            log.push_back(std::string("T send: ") + e.what());
        }
        try {
            c.receive();
            log.push_back("T received");
        } catch (const tasklets::state_error& e) {
            log.push_back(std::string("T receive: ") + e.what());
        }
    });
    tasklet other([&log] { log.push_back("other"); });  // so that blocking would be possible
    tasklets::run();
    REQUIRE(log == event_log{"T send: this tasklet does not like to be blocked.",
                             "T receive: this tasklet does not like to be blocked.", "other"});
    REQUIRE(c.balance() == 0);
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("block_trap on main: the block-trap error comes before the deadlock and the closed-channel errors", "[spec][channel][block_trap]") {
    channel<int> c;
    tasklets::tasklet main = tasklets::main_tasklet();
    REQUIRE_FALSE(main.set_block_trap(true));
    REQUIRE_THROWS_MATCHES(c.receive(), tasklets::state_error,
                           Catch::Matchers::Message("this tasklet does not like to be blocked."));
    REQUIRE_THROWS_MATCHES(c.send(1), tasklets::state_error,
                           Catch::Matchers::Message("this tasklet does not like to be blocked."));
    c.close();
    REQUIRE_THROWS_MATCHES(c.receive(), tasklets::state_error,
                           Catch::Matchers::Message("this tasklet does not like to be blocked."));
    REQUIRE(main.set_block_trap(false));
    REQUIRE(c.balance() == 0);
    REQUIRE_FALSE(main.blocked());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("block_trap does not matter when a partner is waiting (nothing blocks)", "[spec][channel][block_trap]") {
    event_log log;
    channel<int> c;
    tasklet r([&log, c]() mutable { log.push_back("R got " + std::to_string(c.receive())); });
    tasklets::schedule();
    tasklets::tasklet main = tasklets::main_tasklet();
    main.set_block_trap(true);
    c.send(7);
    main.set_block_trap(false);
    REQUIRE(log == event_log{"R got 7"});
    REQUIRE(tasklets::runcount() == 1);
}

// ---- payloads and channel lifetime ----------------------------------------------------

namespace {
struct only_move {
    explicit only_move(int v) : value(std::make_unique<int>(v)) {}
    only_move(only_move&&) = default;
    only_move& operator=(only_move&&) = default;
    std::unique_ptr<int> value;
};
}  // namespace

TEST_CASE("move-only payloads travel through channels in both directions", "[spec][channel][payload]") {
    event_log log;
    channel<std::unique_ptr<int>> c;
    tasklet r([&log, c]() mutable {
        std::unique_ptr<int> p = c.receive();
        log.push_back("R got " + std::to_string(*p));
    });
    tasklets::schedule();
    c.send(std::make_unique<int>(42));  // receiver waiting
    tasklet s([c]() mutable { c.send(std::make_unique<int>(7)); });
    tasklets::schedule();
    REQUIRE(c.balance() == 1);
    std::unique_ptr<int> p = c.receive();  // sender waiting
    REQUIRE(p);
    REQUIRE(*p == 7);
    tasklets::run();
    REQUIRE(log == event_log{"R got 42"});

    // A payload without a default constructor.
    channel<only_move> m;
    tasklet s2([m]() mutable { m.send(only_move(9)); });
    tasklets::schedule();
    only_move got = m.receive();
    REQUIRE(*got.value == 9);
    tasklets::run();
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("move-only callables and arguments are moved into the tasklet", "[spec][channel][payload]") {
    event_log log;
    tasklet a([&log, p = std::make_unique<int>(5)]() mutable { log.push_back("A " + std::to_string(*p)); });
    tasklet b([&log](std::unique_ptr<int> q) { log.push_back("B " + std::to_string(*q)); }, std::make_unique<int>(6));
    tasklets::run();
    REQUIRE(log == event_log{"A 5", "B 6"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("destroying the last handle of a channel kills its waiters in queue order, running their destructors", "[spec][channel][kill]") {
    event_log log;
    std::optional<channel<int>> c;
    c.emplace();
    auto receiver = [&log, &c](const std::string& name) {
        spec::on_exit_log guard(log, "~" + name);
        int v = c->receive();
        log.push_back(name + " got " + std::to_string(v));
    };
    tasklet r1(receiver, "R1");
    tasklet r2(receiver, "R2");
    tasklets::schedule();
    REQUIRE(c->balance() == -2);
    REQUIRE(r1.blocked());
    c.reset();
    REQUIRE(log == event_log{"~R1", "~R2"});
    REQUIRE_FALSE(r1.alive());
    REQUIRE_FALSE(r2.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("iteration on a closing channel ends at once when receivers are waiting (balance below 0)", "[spec][channel][iteration]") {
    event_log log;
    channel<int> c;
    tasklet r([&log, c]() mutable { log.push_back("R got " + std::to_string(c.receive())); });
    tasklets::schedule();
    REQUIRE(c.balance() == -1);
    c.close();
    REQUIRE(c.closing());
    REQUIRE_FALSE(c.closed());
    int n = 0;
    for (int v : c) n += v + 1;  // closing and balance <= 0: no receive, no deadlock
    REQUIRE(n == 0);
    REQUIRE(r.blocked());
    c.open();
    c.send(6);
    REQUIRE(log == event_log{"R got 6"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("send_exception follows preference: with preference 0 the receiver is appended and raises when it runs", "[spec][channel][exception]") {
    event_log log;
    channel<int> c;
    c.set_preference(0);
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
    c.send_exception(spec::test_error("queued"));
    log.push_back("main after");
    REQUIRE_FALSE(r.blocked());
    REQUIRE(r.scheduled());
    REQUIRE(c.balance() == 0);
    tasklets::run();
    REQUIRE(log == event_log{"main after", "X", "R caught queued"});
    REQUIRE(tasklets::runcount() == 1);
}
