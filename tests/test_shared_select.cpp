// select over shared channels (include/tasklets/select.hpp, docs/semantics.md §9.3): a
// partner on another thread completes a case, ready cases are picked at random, default,
// deadline, closed channels, kill with and without a served case, stale records, and two
// threads' selects meeting each other.
#include <catch2/catch.hpp>

#include "support/in_thread.hpp"
#include "support/echo_thread.hpp"
#include "support/unwound.hpp"
#include "support/valgrind_stack.hpp"

#include <tasklets/tasklets.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using Catch::Matchers::Message;
using tasklets::deadline;
using tasklets::on_receive;
using tasklets::on_send;
using tasklets::select;
using tasklets::shared_channel;
using tasklets::tasklet;
using tasklets_test::in_thread;

namespace {

void wait_for_balance(const shared_channel<int>& c, int balance) {
    while (c.balance() != balance) std::this_thread::yield();
}

}  // namespace

TEST_CASE("shared select: a send on another thread completes the receive case it meets", "[threads][select]") {
    shared_channel<int> a, b;
    std::thread other([&] {
        wait_for_balance(b, -1);  // the select waits on both
        b.send(42);
    });
    in_thread([&] {
        auto ra = on_receive(a);
        auto rb = on_receive(b);
        auto r = select(ra, rb);
        CHECK(r.index == 1);
        CHECK_FALSE(r.closed);
        CHECK(rb.value() == 42);
        CHECK_FALSE(ra.value());
        CHECK(a.balance() == 0);  // its other record is gone
        CHECK(b.balance() == 0);
    });
    other.join();
}

// As the shared channel's own test of the express wake-up (test_cross_thread.cpp): a select
// waiting with nothing else to run has its wake-up handed over too, and the case it reports
// is the one the partner served.
TEST_CASE("shared select: a partner that finds the selecting thread watching hands the wake-up over directly",
          "[threads][select]") {
    tasklets_test::echo_thread echo;
    shared_channel<long> never;
    std::uint64_t express = 0;
    in_thread([&] {
        long v = 0;
        for (int batch = 0; batch < 100 && express == 0; ++batch) {
            for (int i = 0; i < 500; ++i) {
                echo.ping.send(v);
                auto rn = on_receive(never);
                auto rp = on_receive(echo.pong);
                auto r = select(rn, rp);
                REQUIRE(r.index == 1);
                REQUIRE(rp.value() == v + 1);
                v += 2;
            }
            express = tasklets::statistics().express_wakeups;
        }
    });
    echo.stop();
    CHECK(never.balance() == 0);
    CHECK(echo.pong.balance() == 0);
    if (!tasklets_test::running_on_valgrind()) CHECK(express >= 1);
}

TEST_CASE("shared select: a send case hands its value to a receiver on another thread", "[threads][select]") {
    shared_channel<std::unique_ptr<int>> out;
    shared_channel<int> never;
    int received = 0;  // checked on this thread: Catch's assertions are not thread-safe
    std::thread other([&] {
        while (out.balance() != 1) std::this_thread::yield();
        in_thread([&] { received = *out.receive(); });
    });
    in_thread([&] {
        auto so = on_send(out, std::make_unique<int>(9));
        auto rn = on_receive(never);
        auto r = select(rn, so);
        CHECK(r.index == 1);
        CHECK_FALSE(so.value());  // sent
        CHECK(never.balance() == 0);
    });
    other.join();
    CHECK(received == 9);
}

TEST_CASE("shared select: among ready cases one is picked at random, each in turn over many selects", "[threads][select]") {
    in_thread([] {
        shared_channel<int> a, b, c;
        tasklet sa([&] {
            for (;;) a.send(0);
        });
        tasklet sb([&] {
            for (;;) b.send(1);
        });
        tasklet sc([&] {
            for (;;) c.send(2);
        });
        tasklets::schedule();  // all three wait to send
        auto ra = on_receive(a);
        auto rb = on_receive(b);
        auto rc = on_receive(c);
        int picked[3] = {};
        for (int i = 0; i < 300; ++i) {
            auto r = select(ra, rb, rc);
            ++picked[r.index];
            tasklets::schedule();  // the served sender queues again
        }
        CHECK(picked[0] > 50);
        CHECK(picked[1] > 50);
        CHECK(picked[2] > 50);
        sa.kill();
        sb.kill();
        sc.kill();
    });
}

TEST_CASE("shared select: default when nothing is ready, deadline when nothing came in time", "[threads][select]") {
    in_thread([] {
        shared_channel<int> a;
        auto ra = on_receive(a);
        auto r = select(ra, tasklets::default_case);
        CHECK(r.is_default);
        CHECK(r.index == 1);
        CHECK(a.balance() == 0);
        r = select(deadline(5ms), ra);
        CHECK(r.timed_out);
        CHECK(r.index == 0);
        CHECK(a.balance() == 0);
        r = select(ra, deadline(tasklets::clock::now() - 1ms));
        CHECK(r.timed_out);
    });
}

TEST_CASE("shared select: a closed channel's case completes with closed, but a waiting partner is served first",
          "[threads][select]") {
    in_thread([] {
        shared_channel<int> a, b;
        a.close();
        auto ra = on_receive(a);
        auto rb = on_receive(b);
        auto r = select(ra, rb);
        CHECK(r.index == 0);
        CHECK(r.closed);
        CHECK_FALSE(ra.value());
        tasklet s([&] { b.send(3); });
        tasklets::schedule();  // s waits to send
        b.close();
        r = select(ra, rb);    // a is closed, b has a partner: both ready
        if (r.index == 0) r = select(rb);
        CHECK(r.index == 0);
        CHECK_FALSE(r.closed);
        CHECK(rb.value() == 3);
        r = select(rb);        // closing and nobody waiting now
        CHECK(r.closed);
        CHECK(b.balance() == 0);
    });
}

TEST_CASE("shared select: a kill while waiting withdraws every case", "[threads][select][kill]") {
    in_thread([] {
        shared_channel<int> a, b;
        bool unwound = false;
        tasklet t([&] {
            tasklets_test::note_unwound note{unwound};
            auto ra = on_receive(a);
            (void)select(ra, on_send(b, 5), deadline(10s));
        });
        tasklets::schedule();
        CHECK(a.balance() == -1);
        CHECK(b.balance() == 1);
        t.kill();
        CHECK(unwound);
        CHECK(a.balance() == 0);
        CHECK(b.balance() == 0);
    });
}

TEST_CASE("shared select: killed after a partner on another thread served a case, the case keeps its value",
          "[threads][select][kill]") {
    in_thread([] {
        shared_channel<int> a, b;
        auto ra = on_receive(a);
        auto rb = on_receive(b);
        bool killed = false;
        tasklet t([&] {
            try {
                (void)select(ra, rb);
            } catch (const tasklets::tasklet_exit&) {
                killed = true;
                throw;
            }
        });
        tasklets::schedule();
        std::thread([&] { in_thread([&] { a.send(11); }); }).join();  // served: its wake is in our inbox
        t.kill();
        CHECK(killed);
        CHECK(ra.value() == 11);  // received before the kill came: not lost
        CHECK(b.balance() == 0);
    });
}

TEST_CASE("shared select: a case served on this thread leaves the others stale, and balance() does not count them",
          "[threads][select]") {
    in_thread([] {
        shared_channel<int> x, y;
        auto rx = on_receive(x);
        auto ry = on_receive(y);
        tasklet t([&] { (void)select(rx, ry); });
        tasklets::schedule();
        CHECK(y.balance() == -1);
        x.send(1);                // t is served and appended, not run: its y record is stale
        CHECK(y.balance() == 0);  // not counted
        tasklet s([&] { y.send(2); });
        tasklets::schedule();     // the stale record is no partner: s waits
        CHECK(y.balance() == 1);
        CHECK(rx.value() == 1);
        CHECK(y.receive() == 2);
        tasklets::run();
    });
}

TEST_CASE("shared select: selects on two threads meet each other, every value once", "[threads][select]") {
    // Thread A sends 0..n-1 over whichever of p, q a select picks; thread B receives with
    // selects over p, q. Every value arrives exactly once.
    constexpr int n = 2000;
    shared_channel<int> p, q;
    std::vector<int> got;
    std::thread b([&] {
        in_thread([&] {
            auto rp = on_receive(p);
            auto rq = on_receive(q);
            for (int i = 0; i < n; ++i) {
                auto r = select(rp, rq);
                got.push_back(r.index == 0 ? *rp.value() : *rq.value());
            }
        });
    });
    in_thread([&] {
        for (int i = 0; i < n; ++i) (void)select(on_send(p, i), on_send(q, i));
    });
    b.join();
    REQUIRE(got.size() == std::size_t(n));
    CHECK(std::set<int>(got.begin(), got.end()).size() == std::size_t(n));
    CHECK(p.balance() == 0);
    CHECK(q.balance() == 0);
}

TEST_CASE("shared select: bad cases are refused before anything changes", "[threads][select]") {
    in_thread([] {
        shared_channel<int> a;
        auto ra = on_receive(a);
        CHECK_THROWS_MATCHES(select(ra, on_send(a, 1)), std::invalid_argument,
                             Message("tasklets::select: a select cannot both send and receive on the same channel"));
        tasklet t([&] {
            tasklets::current().set_block_trap(true);
            CHECK_THROWS_MATCHES(select(ra), tasklets::state_error, Message("this tasklet does not like to be blocked."));
        });
        tasklets::run();
        CHECK(a.balance() == 0);
    });
}
