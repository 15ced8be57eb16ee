// tasklets::select (include/tasklets/select.hpp): ready cases, the default case, blocking
// selects woken by each preference, mixed cases, fairness, closed channels, kill during a
// select, send_exception through a case, move-only payloads, the same channel twice.
#include <catch2/catch.hpp>

#include "spec_log.hpp"

#include <tasklets/tasklets.hpp>

#include <memory>
#include <string>
#include <vector>

using spec::event_log;
using tasklets::channel;
using tasklets::on_receive;
using tasklets::on_send;
using tasklets::select;
using tasklets::tasklet;

TEST_CASE("select: a ready receive case is performed at once", "[select]") {
    event_log log;
    channel<int> a, b;
    tasklet s([&log, a]() mutable {
        log.push_back("S send");
        a.send(7);
        log.push_back("S sent");
    });
    tasklets::schedule();
    REQUIRE(a.balance() == 1);
    log.push_back("main select");
    auto ra = on_receive(a);
    auto rb = on_receive(b);
    auto r = select(ra, rb);
    log.push_back("main got " + std::to_string(r.index) + " " + std::to_string(*ra.value()));
    REQUIRE(r.index == 0);
    REQUIRE_FALSE(r.closed);
    REQUIRE_FALSE(r.is_default);
    REQUIRE_FALSE(rb.value());
    tasklets::run();
    // preference -1: the receiver (main) is preferred, the sender is appended.
    REQUIRE(log == event_log{"S send", "main select", "main got 0 7", "S sent"});
    REQUIRE(a.balance() == 0);
    REQUIRE(b.balance() == 0);
}

TEST_CASE("select: a ready send case hands over by preference", "[select]") {
    for (int preference : {-1, 0, 1}) {
        CAPTURE(preference);
        event_log log;
        channel<int> a, b;
        b.set_preference(preference);
        tasklet rcv([&log, b]() mutable {
            log.push_back("R recv");
            int v = b.receive();
            log.push_back("R got " + std::to_string(v));
        });
        tasklets::schedule();
        log.push_back("main select");
        auto ra = on_receive(a);
        auto sb = on_send(b, 5);
        auto r = select(ra, sb);
        log.push_back("main selected " + std::to_string(r.index));
        REQUIRE(r.index == 1);
        REQUIRE_FALSE(sb.value());  // handed over
        tasklets::run();
        if (preference == -1)
            REQUIRE(log == event_log{"R recv", "main select", "R got 5", "main selected 1"});
        else
            REQUIRE(log == event_log{"R recv", "main select", "main selected 1", "R got 5"});
        REQUIRE(a.balance() == 0);
        REQUIRE(b.balance() == 0);
    }
}

TEST_CASE("select: the default case when nothing is ready", "[select]") {
    channel<int> a, b;
    auto ra = on_receive(a);
    auto sb = on_send(b, 3);
    auto r = select(ra, tasklets::default_case, sb);
    REQUIRE(r.is_default);
    REQUIRE(r.index == 1);
    REQUIRE_FALSE(ra.value());
    REQUIRE(sb.value() == 3);  // not sent: still owned by the case
    REQUIRE(a.balance() == 0);
    REQUIRE(b.balance() == 0);
    REQUIRE(tasklets::runcount() == 1);
    // Only a default: returns it.
    REQUIRE(select(tasklets::default_case).is_default);
}

TEST_CASE("select: a blocked select woken by a later send, for each preference", "[select]") {
    for (int preference : {-1, 0, 1}) {
        CAPTURE(preference);
        event_log log;
        channel<std::string> a, b;
        b.set_preference(preference);
        tasklet t([&log, a, b] {
            auto ra = on_receive(a);
            auto rb = on_receive(b);
            log.push_back("T select");
            auto r = select(ra, rb);
            log.push_back("T got " + std::to_string(r.index) + " " + *rb.value());
        });
        tasklets::schedule();
        REQUIRE(t.blocked());
        REQUIRE(a.balance() == -1);
        REQUIRE(b.balance() == -1);
        REQUIRE(b.queue() == t);
        tasklet x([&log] { log.push_back("X"); });
        log.push_back("main send");
        b.send("hi");
        log.push_back("main sent");
        REQUIRE(a.balance() == 0);  // the other case was withdrawn
        REQUIRE(b.balance() == 0);
        tasklets::run();
        if (preference == -1)
            REQUIRE(log == event_log{"T select", "main send", "T got 1 hi", "X", "main sent"});
        else
            REQUIRE(log == event_log{"T select", "main send", "main sent", "X", "T got 1 hi"});
        REQUIRE_FALSE(t.alive());
    }
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("select: mixed send and receive cases, blocked, completed by a receiver", "[select]") {
    for (int preference : {-1, 1}) {
        CAPTURE(preference);
        event_log log;
        channel<int> in, out;
        out.set_preference(preference);
        tasklet t([&log, in, out] {
            auto ri = on_receive(in);
            auto so = on_send(out, 42);
            log.push_back("T select");
            auto r = select(ri, so);
            log.push_back("T selected " + std::to_string(r.index) + (so.value() ? " unsent" : " sent") +
                          (ri.value() ? " got" : " nothing"));
        });
        tasklets::schedule();
        REQUIRE(in.balance() == -1);
        REQUIRE(out.balance() == 1);
        log.push_back("main receive");
        int v = out.receive();
        log.push_back("main got " + std::to_string(v));
        tasklets::run();
        // preference +1 prefers the sender (T); -1 the receiver (main).
        if (preference == 1)
            REQUIRE(log == event_log{"T select", "main receive", "T selected 1 sent nothing", "main got 42"});
        else
            REQUIRE(log == event_log{"T select", "main receive", "main got 42", "T selected 1 sent nothing"});
        REQUIRE(in.balance() == 0);
        REQUIRE(out.balance() == 0);
    }
}

TEST_CASE("select: two selects meet (a ready case completes a blocked select)", "[select]") {
    event_log log;
    channel<int> a, b;
    tasklet t([&log, a, b] {
        auto ra = on_receive(a);
        auto rb = on_receive(b);
        auto r = select(ra, rb);
        log.push_back("T " + std::to_string(r.index) + " " + std::to_string(*ra.value()));
    });
    tasklets::schedule();
    channel<int> c;
    auto sa = on_send(a, 9);
    auto rc = on_receive(c);
    auto r = select(rc, sa);  // a: receiver waiting (T's select) → ready
    log.push_back("main " + std::to_string(r.index));
    tasklets::run();
    REQUIRE(log == event_log{"T 0 9", "main 1"});  // preference -1: T (the receiver) first
    REQUIRE(a.balance() == 0);
    REQUIRE(b.balance() == 0);
}

namespace {

// Two senders always waiting (preference +1: each send switches to its sender, which
// sends again at once); main selects over both `rounds` times. Returns the choices.
std::vector<int> fairness_run(std::uint64_t seed, int rounds) {
    channel<int> a, b;
    a.set_preference(1);
    b.set_preference(1);
    auto sender = [](channel<int> ch) {
        for (int i = 0;; ++i) ch.send(i);
    };
    tasklet sa(sender, a);
    tasklet sb(sender, b);
    tasklets::schedule();
    REQUIRE(a.balance() == 1);
    REQUIRE(b.balance() == 1);
    tasklets::select_seed(seed);
    std::vector<int> chosen;
    int next[2] = {0, 0};
    auto ra = on_receive(a);
    auto rb = on_receive(b);
    for (int i = 0; i < rounds; ++i) {
        REQUIRE(a.balance() == 1);  // both always ready
        REQUIRE(b.balance() == 1);
        auto r = select(ra, rb);
        const int v = r.index == 0 ? *ra.value() : *rb.value();
        REQUIRE(v == next[r.index]++);  // each sender's values in order, none lost
        chosen.push_back(static_cast<int>(r.index));
    }
    sa.kill();
    sb.kill();
    REQUIRE(a.balance() == 0);
    REQUIRE(b.balance() == 0);
    return chosen;
}

}  // namespace

TEST_CASE("select: fair among always-ready cases, deterministic per seed", "[select][fairness]") {
    const int rounds = 1000;
    std::vector<int> first = fairness_run(12345, rounds);
    int zeros = 0, longest = 0, streak = 0;
    for (std::size_t i = 0; i < first.size(); ++i) {
        zeros += first[i] == 0;
        streak = i > 0 && first[i] == first[i - 1] ? streak + 1 : 1;
        longest = std::max(longest, streak);
    }
    CAPTURE(zeros, longest);
    REQUIRE(zeros >= 450);
    REQUIRE(zeros <= 550);
    REQUIRE(longest <= 16);  // no case starves for long (2^-16 per run of a fair coin)
    REQUIRE(fairness_run(12345, rounds) == first);  // same seed, same choices
    REQUIRE(fairness_run(777, rounds) != first);
    // Three ready cases: each chosen about a third of the time.
    channel<int> c[3];
    for (auto& ch : c) ch.set_preference(1);
    std::vector<tasklet> senders;
    for (auto& ch : c) senders.emplace_back([](channel<int> k) { for (;;) k.send(0); }, ch);
    tasklets::schedule();
    tasklets::select_seed(99);
    int counts[3] = {};
    auto r0 = on_receive(c[0]);
    auto r1 = on_receive(c[1]);
    auto r2 = on_receive(c[2]);
    for (int i = 0; i < 3000; ++i) ++counts[select(r0, r1, r2).index];
    CAPTURE(counts[0], counts[1], counts[2]);
    for (int n : counts) REQUIRE((n >= 900 && n <= 1100));
    for (auto& t : senders) t.kill();
}

TEST_CASE("select: a closed channel's case completes with closed, without throwing", "[select][close]") {
    channel<int> a, b;
    a.close();
    REQUIRE(a.closed());
    auto ra = on_receive(a);
    auto rb = on_receive(b);
    auto r = select(ra, rb);
    REQUIRE(r.index == 0);
    REQUIRE(r.closed);
    REQUIRE_FALSE(ra.value());
    // A send case on a closed channel keeps its value.
    auto sa = on_send(a, 4);
    r = select(rb, sa);
    REQUIRE(r.index == 1);
    REQUIRE(r.closed);
    REQUIRE(sa.value() == 4);
    REQUIRE(a.balance() == 0);
    REQUIRE(b.balance() == 0);
    // A plain receive still throws.
    REQUIRE_THROWS_AS(a.receive(), tasklets::channel_closed_error);
}

TEST_CASE("select: a select loop drains a closing stream, then notices the end", "[select][close]") {
    event_log log;
    channel<int> data, quit;
    // Preference +1 (the sender continues): the producer closes while main is runnable.
    // With -1 main would be blocked in its select when the producer closes and ends, and
    // closing wakes nobody: main would get the deadlock error instead.
    data.set_preference(1);
    tasklet producer([&log, data]() mutable {
        for (int i = 1; i <= 3; ++i) {
            log.push_back("P send " + std::to_string(i));
            data.send(i);
        }
        log.push_back("P close");
        data.close();
    });
    auto rd = on_receive(data);
    auto rq = on_receive(quit);
    for (;;) {
        auto r = select(rd, rq);
        if (r.closed) {
            log.push_back("main: closed " + std::to_string(r.index));
            break;
        }
        log.push_back("main got " + std::to_string(*rd.value()));
    }
    REQUIRE(log == event_log{"P send 1", "P send 2", "main got 1", "P send 3", "main got 2", "P close",
                             "main got 3", "main: closed 0"});
    tasklets::run();
}

TEST_CASE("select: closing does not wake a blocked select, a closing channel still serves", "[select][close]") {
    event_log log;
    channel<int> a, b;
    tasklet t([&log, a, b] {
        auto ra = on_receive(a);
        auto rb = on_receive(b);
        auto r = select(ra, rb);
        log.push_back("T " + std::to_string(r.index) + (r.closed ? " closed" : " " + std::to_string(*rb.value())));
    });
    tasklets::schedule();
    a.close();
    b.close();
    tasklets::schedule();
    REQUIRE(log.empty());
    REQUIRE(t.blocked());
    REQUIRE_FALSE(a.closed());  // closing, balance -1
    b.send(8);                  // a closing channel still serves its waiters
    REQUIRE(log == event_log{"T 1 8"});
    REQUIRE(a.closed());
    REQUIRE(b.closed());
    // With a sender still waiting on a closing channel, its case is ready with a value.
    channel<int> c;
    tasklet s([c]() mutable { c.send(5); });
    tasklets::schedule();
    c.close();
    auto rc = on_receive(c);
    auto r = select(rc);
    REQUIRE_FALSE(r.closed);
    REQUIRE(rc.value() == 5);
    REQUIRE(select(rc).closed);
    tasklets::run();
}

TEST_CASE("select: kill during a select leaves no trace on any channel", "[select][kill]") {
    event_log log;
    channel<int> a, c;
    channel<std::unique_ptr<spec::on_exit_log>> b;
    tasklet t([&log, a, b, c] {
        spec::on_exit_log bye(log, "T unwound");
        auto ra = on_receive(a);
        auto sb = on_send(b, std::make_unique<spec::on_exit_log>(log, "payload destroyed"));
        auto rc = on_receive(c);
        log.push_back("T select");
        select(ra, sb, rc);
        log.push_back("T never");
    });
    tasklets::schedule();
    REQUIRE(a.balance() == -1);
    REQUIRE(b.balance() == 1);
    REQUIRE(c.balance() == -1);
    REQUIRE(t.blocked());
    t.kill();
    REQUIRE(log == event_log{"T select", "payload destroyed", "T unwound"});
    REQUIRE_FALSE(t.alive());
    REQUIRE(a.balance() == 0);
    REQUIRE(b.balance() == 0);
    REQUIRE(c.balance() == 0);
    REQUIRE_FALSE(a.queue());
    REQUIRE_FALSE(b.queue());
    REQUIRE_FALSE(c.queue());
    // The channels work as before.
    tasklet r([&log, a]() mutable { log.push_back("R got " + std::to_string(a.receive())); });
    a.send(1);
    REQUIRE(log.back() == "R got 1");
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("select: a blocked select among plain waiters keeps FIFO, and throw_exception withdraws it", "[select][kill]") {
    event_log log;
    channel<int> a, b;
    auto plain = [&log](const std::string& name, channel<int> ch) { log.push_back(name + " got " + std::to_string(ch.receive())); };
    tasklet p1(plain, "P1", a);
    tasklet t([&log, a, b] {
        auto ra = on_receive(a);
        auto rb = on_receive(b);
        try {
            select(ra, rb);
        } catch (const spec::test_error& e) {
            log.push_back(std::string("T caught ") + e.what());
        }
    });
    tasklet p2(plain, "P2", a);
    tasklets::schedule();
    REQUIRE(a.balance() == -3);
    REQUIRE(b.balance() == -1);
    a.send(1);
    t.throw_exception(spec::test_error("boom"));
    REQUIRE(a.balance() == -1);
    REQUIRE(b.balance() == 0);
    a.send(2);
    REQUIRE(log == event_log{"P1 got 1", "T caught boom", "P2 got 2"});
}

TEST_CASE("select: send_exception is thrown by select through a receive case", "[select]") {
    event_log log;
    channel<int> a, b;
    tasklet t([&log, a, b] {
        auto ra = on_receive(a);
        auto rb = on_receive(b);
        try {
            select(ra, rb);
            log.push_back("T no exception");
        } catch (const spec::test_error& e) {
            log.push_back(std::string("T caught ") + e.what() + (ra.value() || rb.value() ? " with value" : ""));
        }
    });
    tasklets::schedule();
    b.send_exception(spec::test_error("blocked"));
    REQUIRE(log == event_log{"T caught blocked"});
    REQUIRE(a.balance() == 0);
    REQUIRE(b.balance() == 0);
    // A sender already waiting with an exception: the select throws at once.
    tasklet s([a]() mutable { a.send_exception(spec::test_error("ready")); });
    tasklets::schedule();
    REQUIRE(a.balance() == 1);
    auto ra = on_receive(a);
    auto rb = on_receive(b);
    REQUIRE_THROWS_AS(select(ra, rb), spec::test_error);
    REQUIRE_FALSE(ra.value());
    REQUIRE(a.balance() == 0);
    tasklets::run();
}

TEST_CASE("select: move-only payloads in both directions", "[select]") {
    channel<std::unique_ptr<int>> a, b;
    tasklet t([a, b]() mutable {
        std::unique_ptr<int> v = a.receive();
        b.send(std::make_unique<int>(*v + 1));
    });
    tasklets::schedule();
    auto sa = on_send(a, std::make_unique<int>(41));
    auto rb = on_receive(b);
    auto r = select(sa, rb);
    REQUIRE(r.index == 0);
    REQUIRE_FALSE(sa.value());
    r = select(rb);
    REQUIRE(r.index == 0);
    REQUIRE(**rb.value() == 42);
    // A send case that did not complete still owns its value; re-arm and reuse.
    channel<std::unique_ptr<int>> c;
    auto sc = on_send(c, std::make_unique<int>(1));
    REQUIRE(select(sc, tasklets::default_case).is_default);
    REQUIRE(**sc.value() == 1);
    REQUIRE_THROWS_AS((select(sa, tasklets::default_case)), std::invalid_argument);  // sa was sent
    tasklets::run();
}

TEST_CASE("select: the same channel twice", "[select]") {
    event_log log;
    channel<int> a;
    tasklet t([&log, a] {
        auto r1 = on_receive(a);
        auto r2 = on_receive(a);
        auto r = select(r1, r2);
        log.push_back("T " + std::to_string(r.index) + " " + std::to_string(r.index == 0 ? *r1.value() : *r2.value()));
    });
    tasklets::schedule();
    REQUIRE(a.balance() == -2);  // both cases wait
    a.send(3);
    REQUIRE(log == event_log{"T 0 3"});  // the first case queued first
    REQUIRE(a.balance() == 0);
    // Sending and receiving on one channel in one select is refused before anything.
    auto ra = on_receive(a);
    auto sa = on_send(a, 1);
    REQUIRE_THROWS_AS(select(ra, sa), std::invalid_argument);
    REQUIRE(a.balance() == 0);
}

TEST_CASE("select: deadlock, block_trap and the switch guard", "[select]") {
    channel<int> a, b;
    auto ra = on_receive(a);
    auto rb = on_receive(b);
    REQUIRE_THROWS_AS(select(ra, rb), tasklets::deadlock_error);
    REQUIRE(a.balance() == 0);
    REQUIRE(b.balance() == 0);
    event_log log;
    tasklet t([&log, a, b] {
        tasklets::current().set_block_trap(true);
        auto ra = on_receive(a);
        auto rb = on_receive(b);
        try {
            select(ra, rb);
        } catch (const tasklets::state_error& e) {
            log.push_back(e.what());
        }
    });
    tasklets::run();
    REQUIRE(log == event_log{"this tasklet does not like to be blocked."});
    REQUIRE(a.balance() == 0);
    REQUIRE(b.balance() == 0);
}

TEST_CASE("select: the main tasklet blocked in a select gets the deadlock error when the ring empties", "[select]") {
    channel<int> a, b;
    tasklet t([] {});
    auto sa = on_send(a, 1);  // mixed directions: the message names the select, not a case
    auto rb = on_receive(b);
    REQUIRE_THROWS_MATCHES(select(sa, rb), tasklets::deadlock_error,
                           Catch::Matchers::Message("the main tasklet is waiting in a select without a partner available."));
    REQUIRE(a.balance() == 0);
    REQUIRE(b.balance() == 0);
    REQUIRE_FALSE(t.alive());
}

TEST_CASE("select: main blocked receiving, the last tasklet's blocking select raises the deadlock error in it, nothing changed", "[select][deadlock]") {
    // docs/semantics.md §5.2: the tasklet that would block gets the error; main stays
    // blocked and can still be woken by it.
    event_log log;
    channel<std::string> ch;
    channel<int> a, b;
    tasklet t([&log, ch, a, b]() mutable {
        auto ra = on_receive(a);
        auto sb = on_send(b, 1);
        try {
            select(ra, sb);
            log.push_back("select returned");
        } catch (const tasklets::deadlock_error& e) {
            log.push_back("caught: " + spec::first_line(e.what()));
            log.push_back("a " + std::to_string(a.balance()) + ", b " + std::to_string(b.balance()) + ", ch " +
                          std::to_string(ch.balance()) + ", main " +
                          (tasklets::main_tasklet().blocked() ? "blocked" : "not blocked") + ", value kept " +
                          (sb.value() ? "yes" : "no"));
        }
        ch.send("done");
    });
    log.push_back("main got " + ch.receive());
    REQUIRE(log == event_log{"caught: Deadlock: the last runnable tasklet cannot be blocked.",
                             "a 0, b 0, ch -1, main blocked, value kept yes", "main got done"});
    tasklets::run();
    REQUIRE_FALSE(t.alive());
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("select: main blocked in a select, the last tasklet's blocking receive raises the deadlock error in it, it then completes main's select", "[select][deadlock]") {
    event_log log;
    channel<int> a, b, other;
    tasklet t([&log, a, b, other]() mutable {
        try {
            other.receive();
        } catch (const tasklets::deadlock_error& e) {
            log.push_back("caught: " + spec::first_line(e.what()));
            log.push_back("a " + std::to_string(a.balance()) + ", b " + std::to_string(b.balance()) + ", other " +
                          std::to_string(other.balance()));
        }
        b.send(9);
        log.push_back("T sent");
    });
    auto ra = on_receive(a);
    auto rb = on_receive(b);
    const tasklets::select_result r = select(ra, rb);
    log.push_back("main: case " + std::to_string(r.index) + " got " + std::to_string(*rb.value()));
    REQUIRE(log == event_log{"caught: Deadlock: the last runnable tasklet cannot be blocked.", "a -1, b -1, other 0",
                             "main: case 1 got 9"});
    REQUIRE(a.balance() == 0);
    REQUIRE(b.balance() == 0);
    tasklets::run();
    REQUIRE(log.back() == "T sent");
    REQUIRE_FALSE(t.alive());
}

TEST_CASE("select: next/prev of a selecting tasklet are its neighbours in its first case's channel's queue", "[select][neighbours]") {
    // docs/semantics.md §2.5: a select waits with one record per case; next() and
    // prev() follow its first case's record. The other tasklets on the other channels see
    // the selecting tasklet as their neighbour through its record there.
    channel<int> a, b;
    tasklet r1([a]() mutable { a.receive(); });  // a: r1, s, r2
    tasklet s([a, b] {
        auto ra = on_receive(a);
        auto rb = on_receive(b);
        select(ra, rb);
    });
    tasklet r2([a]() mutable { a.receive(); });
    tasklet r3([b]() mutable { b.receive(); });  // b: s, r3
    tasklet u([a, b] {  // first case on b: b: s, r3, u
        auto rb = on_receive(b);
        auto ra = on_receive(a);
        select(rb, ra);
    });
    tasklets::schedule();
    REQUIRE(a.balance() == -4);  // r1, s, r2, u
    REQUIRE(b.balance() == -3);  // s, r3, u
    REQUIRE(s.blocked());
    REQUIRE(s.prev() == r1);
    REQUIRE(s.next() == r2);
    REQUIRE(r1.next() == s);
    REQUIRE(r2.prev() == s);
    REQUIRE(r2.next() == u);  // u's second case waits on a after r2
    REQUIRE(r3.prev() == s);  // s's record on b
    REQUIRE(r3.next() == u);
    REQUIRE(u.prev() == r3);  // u's first case is on b
    REQUIRE_FALSE(u.next());
    REQUIRE_FALSE(r1.prev());
    REQUIRE(a.queue() == r1);
    REQUIRE(b.queue() == s);
    a.send(1);  // r1 (preference -1: runs at once and ends)
    REQUIRE_FALSE(r1.alive());
    REQUIRE_FALSE(s.prev());
    REQUIRE(s.next() == r2);
    b.send(2);  // s: both its records leave
    REQUIRE_FALSE(s.alive());
    REQUIRE_FALSE(r2.prev());
    REQUIRE_FALSE(r3.prev());
    REQUIRE(r3.next() == u);
    a.send(3);  // r2
    b.send(4);  // r3
    b.send(5);  // u
    REQUIRE(a.balance() == 0);
    REQUIRE(b.balance() == 0);
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("select: switch_trap refuses a switching select and changes nothing, the channel callback", "[select]") {
    channel<int> a, b;
    tasklet r([a]() mutable { a.receive(); });
    tasklets::schedule();  // r waits on a
    auto sa = on_send(a, 1);
    auto rb = on_receive(b);
    tasklets::switch_trap(1);
    // preference -1: handing to the waiting receiver switches: refused.
    REQUIRE_THROWS_AS(select(sa, rb), tasklets::state_error);
    REQUIRE(a.balance() == -1);
    REQUIRE(sa.value() == 1);
    // Blocking is refused too; the default case needs no switch.
    auto rb2 = on_receive(b);
    REQUIRE_THROWS_AS(select(rb2), tasklets::state_error);
    REQUIRE(b.balance() == 0);
    REQUIRE(select(rb2, tasklets::default_case).is_default);
    // A hand-off where the caller keeps running is allowed.
    a.set_preference(0);
    REQUIRE(select(sa, rb).index == 0);
    tasklets::switch_trap(-1);
    REQUIRE(a.balance() == 0);

    // The callback: once for the case performed at once, once per case before blocking.
    event_log log;
    auto old = tasklets::set_channel_callback([&](const tasklets::channel_event& e, const tasklet&, bool sending, bool will_block) {
        log.push_back(std::string(e.channel == a.core() ? "a" : "b") + (sending ? " send" : " recv") +
                      (will_block ? " block" : " go") + " " + std::to_string(e.balance));
    });
    tasklet s([b]() mutable { b.send(2); });
    tasklets::schedule();  // s: b send block 0
    auto ra = on_receive(a);
    auto rb3 = on_receive(b);
    REQUIRE(select(ra, rb3).index == 1);  // b recv go 1
    tasklet t([a, b] {
        auto ra = on_receive(a);
        auto rb = on_receive(b);
        select(ra, rb);  // a recv block 0, b recv block 0
    });
    tasklets::schedule();
    a.send(3);  // a send go -1
    tasklets::set_channel_callback(std::move(old));
    tasklets::run();
    REQUIRE(log == event_log{"b send block 0", "b recv go 1", "a recv block 0", "b recv block 0", "a send go -1"});
}
