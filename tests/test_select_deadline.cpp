// select with a deadline case (include/tasklets/select.hpp, "Deadline"): the deadline
// completes a select that nothing else did, a partner before it wins, ready cases beat a
// deadline already past, the records are withdrawn, and a deadline alone is a sleep. On
// the virtual clock, so every time is exact.
#include <catch2/catch.hpp>

#include "support/in_thread.hpp"
#include "support/unwound.hpp"

#include <tasklets/tasklets.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using tasklets::channel;
using tasklets::clock;
using tasklets::deadline;
using tasklets::on_receive;
using tasklets::on_send;
using tasklets::select;
using tasklets::tasklet;
using tasklets_test::in_thread;

namespace {

long long ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now().time_since_epoch()).count();
}

}  // namespace

TEST_CASE("select deadline: nothing completes, the deadline's index comes back and no record is left", "[select][deadline]") {
    in_thread([] {
        tasklets::use_virtual_clock();
        channel<int> a;
        channel<std::string> b;
        auto ra = on_receive(a);
        tasklets::select_result r{};
        tasklet t([&] { r = select(ra, on_send(b, std::string("kept")), deadline(50ms)); });
        tasklets::schedule();
        CHECK(t.blocked());
        CHECK(a.balance() == -1);
        CHECK(b.balance() == 1);
        tasklets::run();
        CHECK(ms_now() == 50);
        CHECK(r.index == 2);
        CHECK(r.timed_out);
        CHECK_FALSE(r.is_default);
        CHECK_FALSE(r.closed);
        CHECK_FALSE(ra.value());
        CHECK(a.balance() == 0);
        CHECK(b.balance() == 0);
        CHECK_FALSE(a.queue());
    });
}

TEST_CASE("select deadline: a partner before the deadline completes its case and the timer does nothing later",
          "[select][deadline]") {
    in_thread([] {
        tasklets::use_virtual_clock();
        channel<int> a, b;
        auto ra = on_receive(a);
        auto rb = on_receive(b);
        std::vector<std::string> log;
        tasklet t([&] {
            auto r = select(deadline(100ms), ra, rb);
            log.push_back("index " + std::to_string(r.index) + (r.timed_out ? " timed out" : "") + " at " +
                          std::to_string(ms_now()));
            tasklets::sleep_for(200ms);  // still here when the deadline would have passed
            log.push_back("slept to " + std::to_string(ms_now()));
        });
        tasklet s([&] {
            tasklets::sleep_for(30ms);
            b.send(7);
        });
        tasklets::run();
        CHECK(log == std::vector<std::string>{"index 2 at 30", "slept to 230"});
        CHECK(rb.value() == 7);
        CHECK_FALSE(ra.value());
        CHECK(a.balance() == 0);
    });
}

TEST_CASE("select deadline: a ready case beats a deadline that has passed, and with nothing ready it returns at once",
          "[select][deadline]") {
    in_thread([] {
        tasklets::use_virtual_clock();
        channel<int> a;
        tasklet s([&] { a.send(1); });
        tasklets::schedule();  // s waits to send
        auto ra = on_receive(a);
        auto r = select(ra, deadline(0ms));
        CHECK(r.index == 0);
        CHECK_FALSE(r.timed_out);
        CHECK(ra.value() == 1);
        r = select(ra, deadline(clock::now() - 1ms));
        CHECK(r.index == 1);
        CHECK(r.timed_out);
        CHECK(a.balance() == 0);
        CHECK(ms_now() == 0);
    });
}

TEST_CASE("select deadline: the main tasklet alone waits out its deadline instead of a deadlock", "[select][deadline]") {
    in_thread([] {
        channel<int> a;
        auto ra = on_receive(a);
        auto r = select(ra, deadline(5ms));  // the real clock: nobody else could ever send
        CHECK(r.timed_out);
        CHECK(r.index == 1);
        CHECK(a.balance() == 0);
    });
}

TEST_CASE("select deadline: a deadline alone sleeps, and never() alone is a deadlock", "[select][deadline]") {
    in_thread([] {
        tasklets::use_virtual_clock();
        auto r = select(deadline(40ms));
        CHECK(r.timed_out);
        CHECK(r.index == 0);
        CHECK(ms_now() == 40);
        CHECK_THROWS_MATCHES(select(deadline::never()), tasklets::deadlock_error,
                             Catch::Matchers::Message("Deadlock: a select with no cases and no default can never complete."));
    });
}

TEST_CASE("select deadline: kill while waiting cancels the timer and withdraws the cases", "[select][deadline][kill]") {
    in_thread([] {
        tasklets::use_virtual_clock();
        channel<int> a;
        bool unwound = false;
        tasklet t([&] {
            tasklets_test::note_unwound note{unwound};
            auto ra = on_receive(a);
            (void)select(ra, deadline(1s));
        });
        tasklets::schedule();
        CHECK(a.balance() == -1);
        t.kill();
        CHECK(unwound);
        CHECK(a.balance() == 0);
        tasklets::run();  // no timer left to fire into the dead tasklet
        CHECK(ms_now() == 0);
    });
}
