// Payload moves in a hand-off (docs/semantics.md §3.1). A payload whose move constructor
// may throw is moved before anything changes, so a throwing move leaves both partners as
// they were; a payload whose move cannot throw may be moved after the partner is placed
// (the kernel's frame-free path), and must arrive exactly once all the same.
#include <catch2/catch.hpp>

#include "spec_log.hpp"

#include <tasklets/tasklets.hpp>

#include <memory>
#include <stdexcept>
#include <string>

using spec::event_log;
using tasklets::channel;
using tasklets::tasklet;

namespace {

// Moves throw while `fail` is set; counts live objects to catch a lost or doubled value.
struct fragile {
    static inline bool fail = false;
    static inline int live = 0;
    int value = 0;
    explicit fragile(int v) : value(v) { ++live; }
    fragile(fragile&& other) noexcept(false) : value(other.value) {
        if (fail) throw std::runtime_error("move failed");
        ++live;
    }
    fragile(const fragile&) = delete;
    ~fragile() { --live; }
};
static_assert(!std::is_nothrow_move_constructible_v<fragile>);

}  // namespace

TEST_CASE("payloads: a send whose move throws changes nothing, the waiting receiver stays blocked", "[spec][channels][payload]") {
    event_log log;
    channel<fragile> c;
    tasklet r([&log, c]() mutable { log.push_back("R got " + std::to_string(c.receive().value)); });
    tasklets::schedule();  // R blocks receiving
    REQUIRE(c.balance() == -1);
    fragile::fail = true;
    REQUIRE_THROWS_WITH(c.send(fragile(7)), "move failed");
    fragile::fail = false;
    REQUIRE(r.blocked());
    REQUIRE(c.balance() == -1);
    REQUIRE(tasklets::runcount() == 1);
    REQUIRE(log.empty());
    c.send(fragile(8));  // preference -1: R runs at once
    REQUIRE(log == event_log{"R got 8"});
    REQUIRE(fragile::live == 0);
}

TEST_CASE("payloads: a receive whose move throws changes nothing, the waiting sender stays blocked", "[spec][channels][payload]") {
    event_log log;
    channel<fragile> c;
    tasklet s([&log, c]() mutable {
        c.send(fragile(5));
        log.push_back("S sent");
    });
    tasklets::schedule();  // S blocks sending
    REQUIRE(c.balance() == 1);
    fragile::fail = true;
    REQUIRE_THROWS_WITH(c.receive(), "move failed");
    fragile::fail = false;
    REQUIRE(s.blocked());
    REQUIRE(c.balance() == 1);
    REQUIRE(tasklets::runcount() == 1);
    REQUIRE(c.receive().value == 5);  // S appended, main goes on (preference -1 prefers main)
    REQUIRE(log.empty());
    tasklets::run();
    REQUIRE(log == event_log{"S sent"});
    REQUIRE(fragile::live == 0);
}

TEST_CASE("payloads: a nothrow move-only payload arrives exactly once, whoever runs next", "[spec][channels][payload]") {
    for (int preference : {-1, 0, 1}) {
        for (bool schedule_all : {false, true}) {
            channel<std::unique_ptr<std::string>> c;
            c.set_preference(preference);
            c.set_schedule_all(schedule_all);
            event_log log;
            // Waiting sender, receiver arrives.
            tasklet s([&log, c]() mutable {
                c.send(std::make_unique<std::string>("one"));
                log.push_back("S back");
            });
            tasklets::schedule();
            std::unique_ptr<std::string> got = c.receive();
            REQUIRE(got);
            REQUIRE(*got == "one");
            tasklets::run();
            // Waiting receiver, sender arrives.
            tasklet r([&log, c]() mutable { log.push_back("R got " + *c.receive()); });
            tasklets::schedule();
            c.send(std::make_unique<std::string>("two"));
            tasklets::run();
            REQUIRE(log == event_log{"S back", "R got two"});
            REQUIRE(c.balance() == 0);
        }
    }
}
