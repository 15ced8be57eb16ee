// The trace recorder (tasklets/trace.hpp): what is recorded for each operation, exactly;
// the bound; the file's text for names that need escaping; errors. The file format as a
// whole is checked by a JSON parser in tests/trace (check_trace.py over trace_sample.cpp).
#include <catch2/catch.hpp>
#include <tasklets/tasklets.hpp>

#include "support/in_thread.hpp"

#include <future>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>

namespace {

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("trace: off by default, nothing recorded, on, every spawn, switch and hand-off is one event", "[trace]") {
    tasklets_test::in_thread([] {
        tasklets::clear_trace();
        CHECK_FALSE(tasklets::tracing());
        tasklets::channel<int> c;
        tasklets::tasklet before([&] { c.send(1); });
        (void)c.receive();
        tasklets::run();  // `before` ends
        CHECK(tasklets::trace_event_counts().recorded == 0);

        tasklets::start_trace();
        CHECK(tasklets::tracing());
        tasklets::tasklet producer([&] {
            for (int i = 0; i < 3; ++i) c.send(i);
        });
        tasklets::tasklet consumer([&] {
            for (int i = 0; i < 3; ++i) (void)c.receive();
        });
        tasklets::run();
        // 2 spawns + 8 switches (tests/test_statistics.cpp spells them out) + 3 hand-offs.
        CHECK(tasklets::trace_event_counts().recorded == 13);
        CHECK(tasklets::trace_event_counts().dropped == 0);

        tasklets::stop_trace();
        CHECK_FALSE(tasklets::tracing());
        std::ostringstream out;
        const std::size_t written = tasklets::write_trace(out);
        const std::string json = out.str();
        CHECK(count(json, "\"ph\":\"s\"") == 3);
        CHECK(count(json, "\"ph\":\"f\"") == 3);
        CHECK(count(json, "\"name\":\"spawn\"") == 2);
        CHECK(count(json, "\"name\":\"start\"") == 2);
        CHECK(count(json, "\"name\":\"finish\"") == 2);
        CHECK(count(json, "\"name\":\"send on channel #1\"") == 1);  // send 0; sends 1 and 2 meet the receiver
        CHECK(count(json, "\"name\":\"receive on channel #1\"") == 2);
        CHECK(count(json, "\"name\":\"waiting in run()\"") == 1);
        CHECK(written == count(json, "\"ph\":"));
        tasklets::clear_trace();
    });
}

TEST_CASE("trace: the ring keeps the newest events and says how many it dropped", "[trace]") {
    tasklets_test::in_thread([] {
        tasklets::start_trace({.max_events = 1000});  // rounded up to 1024
        tasklets::tasklet spinner([] {
            for (int i = 0; i < 600; ++i) tasklets::schedule();
        });
        tasklets::schedule();  // 1 spawn, then 2 switches per round, main <-> spinner
        for (int i = 0; i < 600; ++i) tasklets::schedule();
        const tasklets::trace_counts n = tasklets::trace_event_counts();
        CHECK(n.recorded == 1 + 2 * 601);
        CHECK(n.dropped == n.recorded - 1024);
        tasklets::stop_trace();
        tasklets::clear_trace();
    });
}

TEST_CASE("trace: names are escaped for JSON, named after the spawn or before the trace started", "[trace]") {
    tasklets_test::in_thread([] {
        tasklets::tasklet early(tasklets::tasklet_options{.name = "early"}, [] {});
        tasklets::start_trace();
        tasklets::tasklet odd(tasklets::tasklet_options{.name = "say \"hi\"\\\n"}, [] {});
        tasklets::tasklet later([] {});
        later.set_name("renamed");
        tasklets::run();
        tasklets::stop_trace();
        std::ostringstream out;
        tasklets::write_trace(out);
        const std::string json = out.str();
        CHECK(count(json, R"("args":{"name":"#2 early"})") == 1);
        CHECK(count(json, R"("args":{"name":"#3 say \"hi\"\\\u000a"})") == 1);
        CHECK(count(json, R"("args":{"name":"#4 renamed"})") == 1);
        tasklets::clear_trace();
    });
}

TEST_CASE("trace: kills, exceptions thrown in and escaping, and watchdog interruptions are instants", "[trace]") {
    tasklets_test::in_thread([] {
        tasklets::start_trace();
        tasklets::channel<int> c;
        tasklets::tasklet blocked([&] { (void)c.receive(); });
        tasklets::tasklet thrower([] { throw std::runtime_error("escapes"); });
        // blocked blocks; the thrower's exception escapes to the watchdog, main
        CHECK_THROWS_AS(tasklets::schedule(), std::runtime_error);
        blocked.kill();
        tasklets::tasklet busy([] {
            for (int i = 0; i < 100; ++i) tasklets::check();
        });
        tasklets::tasklet victim = tasklets::run({.ticks = 5});
        // Raised in the victim at once; it escapes from there to the watchdog, main.
        CHECK_THROWS_AS(victim.throw_exception(std::make_exception_ptr(std::runtime_error("stop")), false), std::runtime_error);
        tasklets::stop_trace();
        std::ostringstream out;
        tasklets::write_trace(out);
        const std::string json = out.str();
        CHECK(count(json, "\"name\":\"exception escaped\"") == 2);
        CHECK(count(json, "\"name\":\"kill\"") == 1);
        CHECK(count(json, "\"name\":\"watchdog interruption\"") == 1);
        CHECK(count(json, "\"name\":\"exception thrown in\"") == 1);
        tasklets::clear_trace();
    });
}

TEST_CASE("trace: a file that cannot be written is an error naming it", "[trace]") {
    tasklets_test::in_thread([] {
        tasklets::start_trace();
        tasklets::stop_trace();
        try {
            tasklets::write_trace(std::string("/nonexistent-dir/trace.json"));
            FAIL("no error");
        } catch (const std::system_error& e) {
            CHECK(std::string(e.what()).starts_with(
                "tasklets::write_trace: cannot open \"/nonexistent-dir/trace.json\" for writing"));
        }
        tasklets::clear_trace();
    });
}

TEST_CASE("trace: a tasklet that moves to another thread leaves its thread's trace with an instant", "[trace][migration]") {
    std::string json;
    tasklets::thread_ref elsewhere;
    std::thread host;
    {
        tasklets::shared_channel<int> stop;
        std::promise<tasklets::thread_ref> made;
        auto got = made.get_future();
        host = std::thread([&] {
            made.set_value(tasklets::thread_ref::current());
            (void)stop.receive();
        });
        elsewhere = got.get();
        tasklets_test::in_thread([&] {
            tasklets::start_trace();
            tasklets::tasklet_options o;
            o.migratable = true;
            tasklets::tasklet(o, [&] { tasklets::move_to(elsewhere); });
            tasklets::run();
            tasklets::stop_trace();
            std::ostringstream out;
            tasklets::write_trace(out);
            json = out.str();
            tasklets::clear_trace();
        });
        tasklets_test::in_thread([&] { stop.send(0); });
        host.join();
    }
    CHECK(count(json, "\"name\":\"moved to another thread\"") == 1);
    CHECK(count(json, "\"name\":\"finish\"") == 0);  // it ended on the other thread
}
