// Deadlock reports that say who is stuck (docs/semantics.md §5.5): Stackless's message is
// the first line of what(), then how many tasklets of the thread are blocked and, for up
// to the first 20 by id, what each waits on; deadlock_error::blocked() carries them all.
#include <catch2/catch.hpp>

#include <tasklets/tasklets.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using blocked = tasklets::blocked_tasklet;
using tasklets::channel;
using tasklets::tasklet;

namespace {

std::string address(const void* p) {
    char text[64];
    std::snprintf(text, sizeof text, "%p", p);
    return text;
}

tasklets::tasklet_options named(const char* name) {
    tasklets::tasklet_options o;
    o.name = name;
    return o;
}

}  // namespace

TEST_CASE("deadlock report: each blocked tasklet by id, with its name and what it waits on", "[deadlock][errors]") {
    tasklets::use_virtual_clock({.auto_advance = false});  // a sleeper cannot keep the thread waiting
    channel<int> c0, c1, c2, c3, c4;
    tasklet sleeper(named("sleeper"), [] { tasklets::sleep_for(1h); });
    tasklet consumer(named("consumer"), [c1]() mutable { (void)c1.receive(); });
    tasklet anonymous([c2]() mutable { c2.send(5); });
    tasklet selecting(named("sel"), [c3, c4] {
        auto a = tasklets::on_receive(c3);
        auto b = tasklets::on_send(c4, 1);
        (void)tasklets::select(a, b);
    });
    tasklets::run();  // every one blocks; with nothing left that could wake them, run() returns
    REQUIRE(sleeper.blocked());
    REQUIRE(selecting.blocked());

    std::string what;
    std::vector<blocked> list;
    try {
        (void)c0.receive();  // main, alone: the last runnable tasklet
        FAIL("receive() returned");
    } catch (const tasklets::deadlock_error& e) {
        what = e.what();
        list = e.blocked();
    }
    const std::string id = std::to_string(sleeper.id());
    REQUIRE(what == "Deadlock: the last runnable tasklet cannot be blocked.\n"
                    "4 tasklets are blocked:\n"
                    "  tasklet " + std::to_string(sleeper.id()) + " \"sleeper\": sleeping on a timer\n"
                    "  tasklet " + std::to_string(consumer.id()) + " \"consumer\": receiving on channel " +
                        address(c1.core()) + "\n"
                    "  tasklet " + std::to_string(anonymous.id()) + ": sending on channel " + address(c2.core()) + "\n"
                    "  tasklet " + std::to_string(selecting.id()) + " \"sel\": waiting in a select over 2 channels (first " +
                        address(c3.core()) + ")");
    REQUIRE(list.size() == 4);
    CHECK(list[0].id == sleeper.id());
    CHECK(list[0].on == blocked::waiting_for::timer);
    CHECK(list[1].name == "consumer");
    CHECK(list[1].on == blocked::waiting_for::receive);
    CHECK(list[1].channel == c1.core());
    CHECK(list[2].name.empty());
    CHECK(list[2].on == blocked::waiting_for::send);
    CHECK(list[2].channel == c2.core());
    CHECK(list[3].on == blocked::waiting_for::select);
    CHECK(list[3].cases == 2);
    CHECK(list[3].channel == c3.core());
    CHECK_FALSE(list[0].is_main);
    // Nothing changed: main is not blocked, the others still are.
    REQUIRE(c0.balance() == 0);
    REQUIRE(c1.balance() == -1);
    REQUIRE(c2.balance() == 1);
    for (tasklet* t : {&sleeper, &consumer, &anonymous, &selecting}) t->kill();
    REQUIRE(tasklets::pending_timers() == 0);
    tasklets::use_real_clock();
}

TEST_CASE("deadlock report: the main tasklet's own message lists the others, not main", "[deadlock][errors]") {
    channel<int> c, d;
    tasklet waiter(named("waiter"), [d]() mutable { (void)d.receive(); });
    tasklet ender([] {});
    std::string what;
    std::vector<blocked> list;
    try {
        (void)c.receive();  // waiter blocks, ender ends: nothing can ever send on c
        FAIL("receive() returned");
    } catch (const tasklets::deadlock_error& e) {
        what = e.what();
        list = e.blocked();
    }
    REQUIRE(what == "the main tasklet is receiving without a sender available.\n"
                    "1 tasklet is blocked:\n"
                    "  tasklet " + std::to_string(waiter.id()) + " \"waiter\": receiving on channel " + address(d.core()));
    REQUIRE(list.size() == 1);
    REQUIRE(c.balance() == 0);
    waiter.kill();
}

TEST_CASE("deadlock report: the first 20 are described, the rest counted, blocked() has them all", "[deadlock][errors]") {
    channel<int> c, lonely;
    std::vector<tasklet> receivers;
    for (int i = 0; i < 25; ++i) receivers.emplace_back([c]() mutable { (void)c.receive(); });
    tasklets::run();
    std::string what;
    std::size_t count = 0;
    try {
        (void)lonely.receive();
        FAIL("receive() returned");
    } catch (const tasklets::deadlock_error& e) {
        what = e.what();
        count = e.blocked().size();
    }
    std::string expected = "Deadlock: the last runnable tasklet cannot be blocked.\n25 tasklets are blocked:";
    for (int i = 0; i < 20; ++i)
        expected += "\n  tasklet " + std::to_string(receivers[i].id()) + ": receiving on channel " + address(c.core());
    expected += "\n  ... and 5 more";
    REQUIRE(what == expected);
    REQUIRE(count == 25);
    for (tasklet& t : receivers) t.kill();
    REQUIRE(c.balance() == 0);
}

TEST_CASE("deadlock report: a deadlock with nobody else blocked is Stackless's message alone", "[deadlock][errors]") {
    channel<int> c;
    REQUIRE_THROWS_MATCHES(c.receive(), tasklets::deadlock_error,
                           Catch::Matchers::Message("Deadlock: the last runnable tasklet cannot be blocked."));
    try {
        c.send(1);
    } catch (const tasklets::deadlock_error& e) {
        REQUIRE(e.blocked().empty());
    }
}
