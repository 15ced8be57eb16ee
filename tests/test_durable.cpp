// tasklets/durable.hpp (docs/durable.md): the order of events in a world, save and restore
// continuing with the same events as one uninterrupted run, journals, checkpoints,
// divergences named by tasklet and step, refused images that leave nothing behind, and the
// rules a durable tasklet must keep.
#include <catch2/catch.hpp>
#include <tasklets/durable.hpp>
#include <tasklets/image.hpp>
#include <tasklets/tasklet.hpp>
#include <tasklets/time.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace durable = tasklets::durable;
using namespace std::chrono_literals;

namespace {

// ---- a small simulation: traders, a broker and a clock -----------------------------------

struct order {
    std::uint32_t trader = 0;
    bool buy = false;
    std::int32_t price = 0;
    template <class F>
    void fields(F& f) { f(trader, buy, price); }
};

// The broker's answer to an order: the price paid (0: no trade, a sell left open), and
// what the trader's earlier asks earned since its last order.
struct fill {
    std::int32_t paid = 0;
    std::int64_t proceeds = 0;
    std::int32_t sold = 0;
    template <class F>
    void fields(F& f) { f(paid, proceeds, sold); }
};

struct trader_state {
    std::uint32_t id = 0;
    std::int64_t cash = 1000;
    std::int32_t goods = 5;
    durable::channel<order> orders;
    durable::channel<fill> fills;
    template <class F>
    void fields(F& f) { f(id, cash, goods, orders, fills); }
};

struct broker_state {
    std::map<std::int32_t, std::uint32_t> asks;  // price -> trader selling at it
    std::vector<durable::channel<fill>> fills;
    std::vector<fill> owed;                      // per trader: proceeds not yet reported
    durable::channel<order> orders;
    std::uint64_t trades = 0;
    template <class F>
    void fields(F& f) { f(asks, fills, owed, orders, trades); }
};

std::string ms(durable::duration d) { return std::to_string(d.count() / 1'000'000); }

// The entry points. `variant` 1 changes trader 2's code, for the divergence tests.
durable::registry market_entries(int variant = 0) {
    durable::registry r;
    r.define<trader_state>("trader", [variant](durable::context& cx, trader_state s) {
        for (;;) {
            cx.checkpoint(s);
            if (variant == 1 && s.id == 2) (void)cx.now();  // an extra clock reading: another journal
            cx.sleep_for(std::chrono::milliseconds(1 + cx.random().below(40)));
            order o{s.id, cx.random().chance(0.5), static_cast<std::int32_t>(cx.random().between(90, 110))};
            if (!o.buy && s.goods == 0) o.buy = true;
            cx.send(s.orders, o);
            fill f = cx.receive(s.fills);
            s.cash += f.proceeds - (o.buy ? f.paid : 0);
            s.goods += (o.buy && f.paid ? 1 : 0) - f.sold;
            cx.emit("t=" + ms(cx.now()) + " trader " + std::to_string(s.id) + (o.buy ? " buys at " : " asks ") +
                    std::to_string(o.price) + (f.paid ? ", paid " + std::to_string(f.paid) : ", open") +
                    ", earned " + std::to_string(f.proceeds) + ", cash " + std::to_string(s.cash) + ", goods " +
                    std::to_string(s.goods));
        }
    });
    r.define<broker_state>("broker", [](durable::context& cx, broker_state b) {
        for (;;) {
            cx.checkpoint(b);
            order o = cx.receive(b.orders);
            fill answer;
            if (o.buy) {
                auto it = b.asks.begin();
                if (it != b.asks.end() && it->first <= o.price) {
                    answer.paid = it->first;
                    b.owed[it->second].proceeds += it->first;
                    b.owed[it->second].sold += 1;
                    b.asks.erase(it);
                    ++b.trades;
                }
            } else if (!b.asks.count(o.price)) {
                b.asks[o.price] = o.trader;
            }
            answer.proceeds = std::exchange(b.owed[o.trader].proceeds, 0);
            answer.sold = std::exchange(b.owed[o.trader].sold, 0);
            cx.send(b.fills[o.trader], answer);
        }
    });
    return r;
}

// A broker and `traders` traders at virtual time 0, its event log going to `log`.
std::unique_ptr<durable::world> market(const durable::registry& r, std::string& log, int traders = 3) {
    auto w = std::make_unique<durable::world>(r, 7);
    broker_state b;
    b.orders = w->make_channel<order>("orders");
    for (int i = 0; i < traders; ++i) b.fills.push_back(w->make_channel<fill>("fills " + std::to_string(i)));
    b.owed.resize(static_cast<std::size_t>(traders));
    w->spawn("broker", b);
    for (std::uint32_t i = 0; i < static_cast<std::uint32_t>(traders); ++i)
        w->spawn("trader", trader_state{i, 1000, 5, b.orders, b.fills[i]});
    w->on_emit([&log](const durable::event& e) { log += std::string(e.text) + "\n"; });
    return w;
}

}  // namespace

TEST_CASE("durable: a world's events come in a fixed order: sends, receives, timers, at their virtual times",
          "[durable]") {
    durable::registry r;
    r.define<durable::channel<int>>("pinger", [](durable::context& cx, durable::channel<int> ch) {
        for (int i = 1; i <= 3; ++i) {
            cx.sleep_for(10ms);
            cx.emit("send " + std::to_string(i) + " at " + ms(cx.now()));
            cx.send(ch, i);
        }
    });
    r.define<durable::channel<int>>("ponger", [](durable::context& cx, durable::channel<int> ch) {
        for (;;) {
            int v = cx.receive(ch);
            cx.emit("got " + std::to_string(v) + " at " + ms(cx.now()));
        }
    });
    durable::world w(r, 1);
    auto ch = w.make_channel<int>("pings");
    std::vector<std::string> log;
    w.on_emit([&](const durable::event& e) { log.push_back(std::to_string(e.tasklet) + ": " + std::string(e.text)); });
    CHECK(w.spawn("ponger", ch) == 1);
    CHECK(w.spawn("pinger", ch) == 2);
    w.run_until(25ms);
    CHECK(w.now() == 25ms);
    // The receiver woken by a send runs after the sender waits again (the sender goes on).
    CHECK(log == std::vector<std::string>{"2: send 1 at 10", "1: got 1 at 10", "2: send 2 at 20", "1: got 2 at 20"});
    w.run_until(1s);
    CHECK(log.size() == 6);
    CHECK(log.back() == "1: got 3 at 30");
    CHECK(w.size() == 1);  // the pinger ended and left the world; the ponger waits
}

TEST_CASE("durable: saved at T and restored, a world goes on to T2 with the events of one uninterrupted run",
          "[durable]") {
    auto r = market_entries();
    std::string whole;
    auto one = market(r, whole);
    one->run_until(2s);

    std::string first;
    auto before = market(r, first);
    before->run_until(700ms);
    std::vector<std::byte> image = before->save();
    before.reset();  // the saving world is gone: nothing of it is reused

    std::string second;
    auto after = durable::world::restore(r, image);
    after->on_emit([&second](const durable::event& e) { second += std::string(e.text) + "\n"; });
    CHECK(after->now() == 700ms);
    CHECK(after->size() == 4);
    // Replaying is silent, and a restored world saves to the very bytes it came from.
    CHECK(second.empty());
    CHECK(after->save() == image);
    after->run_until(2s);

    REQUIRE(first.size() > 200);
    REQUIRE(second.size() > 200);
    CHECK(first + second == whole);
}

TEST_CASE("durable: saving and restoring at every step of a run changes none of its events", "[durable]") {
    auto r = market_entries();
    std::string whole;
    market(r, whole)->run_until(600ms);

    std::string pieces;
    auto w = market(r, pieces);
    for (int t = 1; t <= 60; ++t) {
        w->run_until(std::chrono::milliseconds(10 * t));
        auto image = w->save();
        w = durable::world::restore(r, image);
        w->on_emit([&pieces](const durable::event& e) { pieces += std::string(e.text) + "\n"; });
    }
    CHECK(pieces == whole);
}

TEST_CASE("durable: checkpoints keep journals short: a restore replays only what came after each one", "[durable]") {
    auto r = market_entries();
    std::string log;
    auto w = market(r, log);
    w->run_until(5s);
    auto image = w->save();
    auto report = durable::world::check(r, image);
    CHECK(report.tasklets == 4);
    CHECK(report.channels == 4);
    CHECK(report.time == 5s);
    // Each tasklet's journal holds at most one round of its loop: a trader's sleep, send,
    // receive and clock reading, and the broker's receive and two sends.
    CHECK(report.steps_replayed <= 3 * 5 + 3);
    CHECK(std::count(log.begin(), log.end(), '\n') > 300);
}

TEST_CASE("durable: a tasklet whose code changed is a replay_divergence naming it, the step and both operations",
          "[durable]") {
    auto r = market_entries();
    std::string log;
    auto w = market(r, log);
    w->run_until(100ms);
    auto image = w->save();

    // Trader 2 (tasklet 4) now reads the clock before it sleeps. A world is deterministic,
    // so the journal it diverges from, and the step, are the same on every run and port.
    auto changed = market_entries(1);
    try {
        durable::world::restore(changed, image);
        FAIL("restored with changed code");
    } catch (const tasklets::replay_divergence& e) {
        CHECK(e.tasklet() == 4);
        CHECK(e.entry() == "trader");
        CHECK(e.step() == 21);
        CHECK(e.expected() == "to wait in sleep until t=117000000 ns (where the image saved it)");
        CHECK(e.actual() == "a clock reading");
        CHECK(std::string(e.what()) == "tasklets: durable tasklet 4 ('trader') diverged from its journal at step 21: "
                                       "expected to wait in sleep until t=117000000 ns (where the image saved it), "
                                       "the code did a clock reading");
    }
    // The check that CI runs on old saves finds the same.
    CHECK_THROWS_AS(durable::world::check(changed, image), tasklets::replay_divergence);
    CHECK_NOTHROW(durable::world::check(r, image));
}

TEST_CASE("durable: a divergence at the journal's end says where the image saved the tasklet", "[durable]") {
    durable::registry r;
    r.define<int>("sleeper", [](durable::context& cx, int) {
        cx.emit("going to sleep");
        cx.sleep_for(50ms);
    });
    durable::world w(r, 1);
    w.spawn("sleeper", 0);
    w.run_until(10ms);
    auto image = w.save();

    durable::registry longer;
    longer.define<int>("sleeper", [](durable::context& cx, int) {
        cx.emit("going to sleep");
        cx.sleep_for(60ms);
    });
    CHECK_THROWS_WITH(durable::world::restore(longer, image),
                      "tasklets: durable tasklet 1 ('sleeper') diverged from its journal at step 2: expected to wait "
                      "in sleep until t=50000000 ns (where the image saved it), the code did to wait in sleep until "
                      "t=60000000 ns (where the image saved it)");
    durable::registry ends;
    ends.define<int>("sleeper", [](durable::context& cx, int) { cx.emit("going to sleep"); });
    CHECK_THROWS_WITH(durable::world::restore(ends, image),
                      "tasklets: durable tasklet 1 ('sleeper') diverged from its journal at step 2: expected to wait "
                      "in sleep until t=50000000 ns (where the image saved it), the code did return from its entry point");
    durable::registry silent;
    silent.define<int>("sleeper", [](durable::context& cx, int) { cx.sleep_for(50ms); });
    CHECK_THROWS_WITH(durable::world::restore(silent, image),
                      Catch::StartsWith("tasklets: durable tasklet 1 ('sleeper') diverged from its journal at step 1: "
                                        "expected emit of a line with CRC-32C 0x"));
}

TEST_CASE("durable: a refused image leaves nothing behind: rebuilt tasklets are killed and their destructors run",
          "[durable]") {
    static int alive = 0;
    struct counted {
        counted() { ++alive; }
        ~counted() { --alive; }
    };
    durable::registry r;
    r.define<int>("waiter", [](durable::context& cx, int n) {
        counted c;
        cx.sleep_for(std::chrono::milliseconds(10 * (n + 1)));
        cx.emit("woke");
        cx.sleep_for(1s);
    });
    auto image = [&] {
        durable::world w(r, 3);
        for (int i = 0; i < 5; ++i) w.spawn("waiter", i);
        w.run_until(25ms);  // tasklets 1 and 2 have emitted
        CHECK(alive == 5);
        return w.save();
    }();
    CHECK(alive == 0);  // ~world killed them all

    durable::registry changed;
    changed.define<int>("waiter", [](durable::context& cx, int n) {
        counted c;
        cx.sleep_for(std::chrono::milliseconds(10 * (n + 1)));
        cx.emit(n == 1 ? "woke up" : "woke");
        cx.sleep_for(1s);
    });
    int before = tasklets::runcount();
    CHECK_THROWS_AS(durable::world::restore(changed, image), tasklets::replay_divergence);
    CHECK(alive == 0);
    CHECK(tasklets::runcount() == before);

    auto back = durable::world::restore(r, image);
    CHECK(alive == 5);
    back.reset();
    CHECK(alive == 0);
}

TEST_CASE("durable: an image naming an entry point this program lacks is refused before anything is created",
          "[durable]") {
    auto r = market_entries();
    std::string log;
    auto w = market(r, log);
    w->run_until(50ms);
    auto image = w->save();
    durable::registry only_traders;
    only_traders.define<trader_state>("trader", [](durable::context&, trader_state) {});
    CHECK_THROWS_WITH(durable::world::restore(only_traders, image),
                      "tasklets: durable world image: tasklet 1 runs entry point 'broker', which this program's "
                      "registry does not define; define it before restoring");
}

TEST_CASE("durable: every truncation and every flipped bit of a world image is an image_error", "[durable]") {
    auto r = market_entries();
    std::string log;
    auto w = market(r, log, 2);
    w->run_until(80ms);
    auto image = w->save();
    for (std::size_t n = 0; n < image.size(); ++n) {
        std::vector<std::byte> cut(image.begin(), image.begin() + static_cast<std::ptrdiff_t>(n));
        CHECK_THROWS_AS(durable::world::restore(r, cut), tasklets::image_error);
    }
    for (std::size_t bit = 0; bit < image.size() * 8; ++bit) {
        auto damaged = image;
        damaged[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
        CHECK_THROWS_AS(durable::world::restore(r, damaged), tasklets::image_error);
    }
    // An image of something else is not a world.
    tasklets::image_writer other;
    other.add(tasklets::section_tag("ABCD"), std::vector<std::byte>(3));
    CHECK_THROWS_WITH(durable::world::restore(r, other.finish()),
                      "tasklets: durable world image: it has no section WRLD; it is not a saved world");
}

TEST_CASE("durable: spawned children, unstarted tasklets and senders waiting in order survive a save", "[durable]") {
    durable::registry r;
    r.define<durable::channel<int>>("child", [](durable::context& cx, durable::channel<int> ch) {
        cx.send(ch, static_cast<int>(cx.id() * 100 + cx.random().below(100)));
    });
    r.define<durable::channel<int>>("parent", [](durable::context& cx, durable::channel<int> ch) {
        for (int i = 0; i < 3; ++i) cx.emit("spawned " + std::to_string(cx.spawn("child", ch)));
        cx.sleep_for(1s);
        for (int i = 0; i < 4; ++i) cx.emit("got " + std::to_string(cx.receive(ch)));
    });
    auto build = [&](std::string& log) {
        auto w = std::make_unique<durable::world>(r, 11);
        auto ch = w->make_channel<int>("results");
        w->spawn("parent", ch);
        w->on_emit([&log](const durable::event& e) { log += std::string(e.text) + "\n"; });
        return w;
    };
    std::string whole;
    {
        auto w = build(whole);
        w->run_until(10ms);
        w->spawn("child", w->find_channel<int>("results"));
        w->run_until(2s);
    }
    std::string pieces;
    auto w = build(pieces);
    w->run_until(10ms);  // three children wait in send, in order
    w->spawn("child", w->find_channel<int>("results"));  // a fourth, not started
    auto restored = durable::world::restore(r, w->save());
    w.reset();
    restored->on_emit([&pieces](const durable::event& e) { pieces += std::string(e.text) + "\n"; });
    CHECK(restored->size() == 5);
    restored->run_until(2s);
    CHECK(pieces == whole);
    CHECK(restored->size() == 0);
}

TEST_CASE("durable: misuse is refused with a message that says what to do", "[durable]") {
    durable::registry r;
    r.define<int>("plain sleeper", [](durable::context&, int) { tasklets::sleep_for(1h); });
    r.define<int>("yielder", [](durable::context&, int) { tasklets::schedule(); });
    r.define<int>("thrower", [](durable::context& cx, int) {
        cx.emit("before");
        throw std::runtime_error("agent failed");
    });
    r.define<int>("idle", [](durable::context& cx, int) { cx.sleep_for(1s); });
    CHECK_THROWS_WITH(r.define<int>("idle", [](durable::context&, int) {}),
                      "tasklets: registry::define: entry point 'idle' is already defined; each name runs one function");

    durable::world w(r, 1);
    CHECK_THROWS_WITH(w.spawn("nobody", 1), "tasklets: spawn of durable entry point 'nobody', which the world's "
                                            "registry does not define; define it first");
    CHECK_THROWS_WITH(w.spawn("idle", std::string("x")),
                      "tasklets: spawn of durable entry point 'idle' with a state type other than the one it was "
                      "defined with");
    CHECK_THROWS_WITH(w.find_channel<int>("none"), "tasklets: world::find_channel: the world has no channel named 'none'");
    w.make_channel<int>("c");
    CHECK_THROWS_WITH(w.make_channel<int>("c"),
                      "tasklets: world::make_channel: the world already has a channel named 'c'; use find_channel for it");

    // Waiting outside the world is refused inside the tasklet, and reaches run_until.
    w.spawn("plain sleeper", 0);
    CHECK_THROWS_WITH(w.run_until(1ms), "this tasklet does not like to be blocked.");
    // Yielding to the ring leaves the world's order of events: the world ends the tasklet.
    w.spawn("yielder", 0);
    CHECK_THROWS_WITH(w.run_until(1ms), "tasklets: durable tasklet 2 ('yielder') switched outside its world (schedule() "
                                        "or a wait not made through its context); it was killed. A durable tasklet "
                                        "waits only through its context");
    CHECK(w.size() == 0);
    // An exception from a tasklet ends it and is rethrown; the rest of the world runs on.
    w.spawn("idle", 0);
    w.spawn("thrower", 0);
    CHECK_THROWS_WITH(w.run_until(2ms), "agent failed");
    CHECK(w.size() == 1);
    CHECK_NOTHROW(w.run_until(3s));
    CHECK(w.size() == 0);

    std::thread other([&] {
        CHECK_THROWS_AS(w.run_until(4s), tasklets::thread_error);
        CHECK_THROWS_WITH(w.save(), "tasklets: world::save on a thread other than the world's; a durable world runs "
                                    "on the thread that created it");
    });
    other.join();
}

TEST_CASE("durable: a world runs the same beside other tasklets of its thread, which it does not run",
          "[durable]") {
    auto r = market_entries();
    std::string alone;
    market(r, alone)->run_until(300ms);

    std::string beside;
    auto w = market(r, beside);
    int others = 0;
    tasklets::tasklet noisy([&] {
        for (;;) {
            ++others;
            tasklets::schedule();
        }
    });
    w->run_until(300ms);
    CHECK(beside == alone);
    CHECK(others == 0);  // the world ran its tasklets itself, never the ring
    noisy.kill();
}

TEST_CASE("durable: a world saves to the same bytes on every architecture, and goes on the same from them",
          "[durable]") {
    // These values were produced on x86-64. The suite runs under QEMU on AArch64, RISC-V64,
    // big-endian s390x and the other ports, and under Wine: each saves the same image, so
    // an image saved on any of them is the one restored here, and every port goes on from
    // it with the same events.
    auto r = market_entries();
    std::string log;
    auto w = market(r, log);
    w->run_until(1s);
    auto image = w->save();
    auto crc = [](const std::string& s) { return tasklets::crc32c(std::as_bytes(std::span(s.data(), s.size()))); };
    CHECK(image.size() == 481);
    CHECK(tasklets::crc32c(image) == 0x9ddb45ecu);
    CHECK(crc(log) == 0x12fb918cu);
    w.reset();

    std::string after;
    auto back = durable::world::restore(r, image);
    back->on_emit([&after](const durable::event& e) { after += std::string(e.text) + "\n"; });
    back->run_until(2s);
    CHECK(crc(after) == 0xe14860f2u);
    CHECK(after.substr(0, after.find('\n')) == "t=1011 trader 0 buys at 100, paid 99, earned 0, cash 891, goods 6");
}

namespace {

// Two worlds with the same channels: a counter that moves between them, and a feeder in each.
struct counter_state {
    durable::channel<int> in;
    int count = 0;
    int sum = 0;
    template <class F>
    void fields(F& f) { f(in, count, sum); }
};

durable::registry moving_entries() {
    durable::registry r;
    r.define<counter_state>("counter", [](durable::context& cx, counter_state s) {
        for (;;) {
            cx.checkpoint(s);
            int v = cx.receive(s.in);
            ++s.count;
            s.sum += v;
            cx.emit("t=" + ms(cx.now()) + " counter got " + std::to_string(v) + ": " + std::to_string(s.count) +
                    " values, sum " + std::to_string(s.sum));
            if (s.count % 3 == 0) cx.sleep_for(5ms);  // a rest: moved while asleep, it keeps its deadline
        }
    });
    r.define<std::pair<durable::channel<int>, int>>("feeder", [](durable::context& cx, std::pair<durable::channel<int>, int> s) {
        for (int i = 0; i < 5; ++i) {
            cx.sleep_for(2ms);
            cx.send(s.first, s.second + i);
        }
    });
    return r;
}

std::unique_ptr<durable::world> moving_world(const durable::registry& r, int base, std::string& log, const char* where) {
    auto w = std::make_unique<durable::world>(r, 5);
    auto in = w->make_channel<int>("in");
    w->make_channel<int>("spare");
    w->spawn("feeder", std::pair{in, base});
    w->on_emit([&log, where](const durable::event& e) { log += std::string(where) + " " + std::string(e.text) + "\n"; });
    return w;
}

// World A feeds the counter 100..104, then the counter moves to world B, which feeds it
// 200..204. Returns A's log, and the moved counter's bytes.
std::vector<std::byte> first_half(const durable::registry& r, std::string& log, durable::duration move_at) {
    auto a = moving_world(r, 100, log, "A");
    std::uint64_t id = a->spawn("counter", counter_state{a->find_channel<int>("in"), 0, 0});
    a->run_until(move_at);
    auto bytes = a->take(id);
    CHECK(a->size() == 1);  // only A's feeder is left
    a->run_until(1s);       // the feeder's later sends wait for a receiver that left
    return bytes;
}

std::string second_half(const durable::registry& r, std::span<const std::byte> bytes) {
    std::string log;
    auto b = moving_world(r, 200, log, "B");
    std::uint64_t id = b->put(bytes);
    log += "B put as " + std::to_string(id) + "\n";
    b->run_until(1s);
    return log;
}

}  // namespace

TEST_CASE("durable: a tasklet taken from one world goes on in another, meeting the partners there", "[durable]") {
    auto r = moving_entries();
    std::string log;
    // At 7 ms the counter has 3 values and rests until 11 ms: it moves while asleep, and
    // wakes in B (whose clock started at 0, like A's) at its deadline.
    auto bytes = first_half(r, log, 7ms);
    log += second_half(r, bytes);
    CHECK(log ==
          "A t=2 counter got 100: 1 values, sum 100\n"
          "A t=4 counter got 101: 2 values, sum 201\n"
          "A t=6 counter got 102: 3 values, sum 303\n"
          "B put as 2\n"
          "B t=11 counter got 200: 4 values, sum 503\n"
          "B t=13 counter got 201: 5 values, sum 704\n"
          "B t=15 counter got 202: 6 values, sum 906\n"
          "B t=20 counter got 203: 7 values, sum 1109\n"
          "B t=22 counter got 204: 8 values, sum 1313\n");

    // Moved while waiting in receive (at 5 ms it has 2 values): in B it receives again, from
    // B's feeder.
    std::string log2;
    log2 += second_half(r, first_half(r, log2, 5ms));
    CHECK(log2 ==
          "A t=2 counter got 100: 1 values, sum 100\n"
          "A t=4 counter got 101: 2 values, sum 201\n"
          "B put as 2\n"
          "B t=2 counter got 200: 3 values, sum 401\n"
          "B t=7 counter got 201: 4 values, sum 602\n"
          "B t=9 counter got 202: 5 values, sum 804\n"
          "B t=11 counter got 203: 6 values, sum 1007\n"
          "B t=16 counter got 204: 7 values, sum 1211\n");
}

TEST_CASE("durable: a world saved with an arrived tasklet in it restores, and put refuses what does not fit",
          "[durable]") {
    auto r = moving_entries();
    std::string ignored;
    auto bytes = first_half(r, ignored, 7ms);

    std::string whole = second_half(r, bytes);
    std::string pieces;
    auto b = moving_world(r, 200, pieces, "B");
    pieces += "B put as " + std::to_string(b->put(bytes)) + "\n";
    auto image = b->save();  // the arrival has not run yet: it is saved as arrived
    b.reset();
    auto back = durable::world::restore(r, image);
    back->on_emit([&pieces](const durable::event& e) { pieces += "B " + std::string(e.text) + "\n"; });
    back->run_until(1s);
    CHECK(pieces == whole);

    // The receiving world must have the same channels, by number.
    durable::world other(r, 5);
    other.make_channel<int>("in");
    other.make_channel<int>("extra");
    CHECK_THROWS_WITH(other.put(bytes), "tasklets: world::put: channel 2 is 'spare' in the tasklet's world and 'extra' "
                                        "here; worlds that exchange tasklets make the same channels in the same order");
    // A damaged move is an image_error; code that changed is a divergence; neither leaves
    // anything behind.
    auto damaged = bytes;
    damaged[damaged.size() / 2] ^= std::byte{0x10};
    std::string log;
    auto c = moving_world(r, 200, log, "C");
    CHECK_THROWS_AS(c->put(damaged), tasklets::image_error);
    CHECK_THROWS_AS(c->put(std::span(bytes).first(bytes.size() - 1)), tasklets::image_error);
    CHECK(c->size() == 1);
    CHECK_THROWS_WITH(c->take(9), "tasklets: world::take: this world has no durable tasklet 9 (ended, taken, killed, "
                                  "or never spawned)");
}

#if defined(__linux__)
#include "support/valgrind_stack.hpp"

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {
bool write_all(int fd, const void* data, std::size_t n) {
    auto p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t k = ::write(fd, p, n);
        if (k <= 0) return false;
        p += k;
        n -= static_cast<std::size_t>(k);
    }
    return true;
}
std::vector<std::byte> read_to_end(int fd) {
    std::vector<std::byte> out;
    std::byte buf[4096];
    for (ssize_t k; (k = ::read(fd, buf, sizeof buf)) > 0;) out.insert(out.end(), buf, buf + k);
    return out;
}
}  // namespace

TEST_CASE("durable: a tasklet moves to another process over a socket and goes on there", "[durable]") {
    auto r = moving_entries();
    int to_child[2], from_child[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, to_child) == 0);
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, from_child) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // The other process: world B, the counter arriving over the socket, its log sent back.
        ::close(to_child[0]);
        ::close(from_child[0]);
        int rc = 1;
        try {
            auto bytes = read_to_end(to_child[1]);
            std::string log = second_half(r, bytes);
            rc = write_all(from_child[1], log.data(), log.size()) ? 0 : 2;
        } catch (const std::exception& e) {
            std::string msg = std::string("child: ") + e.what();
            write_all(from_child[1], msg.data(), msg.size());
        }
        ::_exit(rc);
    }
    ::close(to_child[1]);
    ::close(from_child[1]);
    std::string log;
    auto bytes = first_half(r, log, 7ms);
    REQUIRE(write_all(to_child[0], bytes.data(), bytes.size()));
    ::shutdown(to_child[0], SHUT_WR);
    auto answer = read_to_end(from_child[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::close(to_child[0]);
    ::close(from_child[0]);
    std::string there(reinterpret_cast<const char*>(answer.data()), answer.size());
    CHECK(WIFEXITED(status));
    // Under Valgrind the child's exit status is Valgrind's: it counts the parent's memory,
    // which the child inherits and never frees, as leaked. The events it sent are the check.
    if (!tasklets_test::running_on_valgrind()) CHECK(WEXITSTATUS(status) == 0);
    // The same events as the move within one process (the test above).
    CHECK(there == "B put as 2\n"
                   "B t=11 counter got 200: 4 values, sum 503\n"
                   "B t=13 counter got 201: 5 values, sum 704\n"
                   "B t=15 counter got 202: 6 values, sum 906\n"
                   "B t=20 counter got 203: 7 values, sum 1109\n"
                   "B t=22 counter got 204: 8 values, sum 1313\n");
}
#endif

TEST_CASE("durable: values posted from outside reach receivers in order, wait in the channel, and are saved",
          "[durable]") {
    durable::registry r;
    r.define<durable::channel<std::string>>("listener", [](durable::context& cx, durable::channel<std::string> in) {
        for (;;) {
            cx.checkpoint(in);
            std::string s = cx.receive(in);
            cx.emit("t=" + ms(cx.now()) + " heard " + s);
            cx.sleep_for(10ms);
        }
    });
    auto run = [&](bool save_between) {
        std::string log;
        auto w = std::make_unique<durable::world>(r, 1);
        auto in = w->make_channel<std::string>("input");
        w->spawn("listener", in);
        w->on_emit([&log](const durable::event& e) { log += std::string(e.text) + "\n"; });
        w->run_until(1ms);
        w->post(in, std::string("a"));  // the listener waits: it gets it
        w->post(in, std::string("b"));  // nobody waits: it waits in the channel
        w->post(in, std::string("c"));
        if (save_between) {
            auto image = w->save();
            w = durable::world::restore(r, image);
            w->on_emit([&log](const durable::event& e) { log += std::string(e.text) + "\n"; });
        }
        w->run_until(100ms);
        return log;
    };
    CHECK(run(false) == "t=1 heard a\nt=11 heard b\nt=21 heard c\n");
    CHECK(run(true) == run(false));

    durable::world w(r, 1);
    CHECK_THROWS_WITH(w.post(durable::channel<std::string>{}, std::string("x")),
                      "tasklets: world::post on an empty channel handle; channels come from world::make_channel or "
                      "find_channel");
}

namespace {

// A watchman selects over two channels with a time limit; two messengers send on them.
durable::registry select_entries(bool changed = false) {
    durable::registry r;
    r.define<std::pair<durable::channel<int>, durable::channel<std::string>>>(
        "watchman", [changed](durable::context& cx, std::pair<durable::channel<int>, durable::channel<std::string>> s) {
            for (;;) {
                cx.checkpoint(s);
                auto got = cx.select_for(changed ? 25ms : 20ms, s.first, s.second);
                std::string what = !got                ? std::string("nothing")
                                   : got->index() == 0 ? "case 0"
                                                       : "case 1";
                if (got && std::holds_alternative<int>(*got)) what += " number " + std::to_string(std::get<int>(*got));
                if (got && std::holds_alternative<std::string>(*got)) what += " word " + std::get<std::string>(*got);
                cx.emit("t=" + ms(cx.now()) + " watchman: " + what);
            }
        });
    r.define<std::pair<durable::channel<int>, int>>("counter", [](durable::context& cx, std::pair<durable::channel<int>, int> s) {
        for (int i = 0; i < 3; ++i) {
            cx.sleep_for(std::chrono::milliseconds(s.second));
            cx.send(s.first, i);
        }
    });
    r.define<durable::channel<std::string>>("talker", [](durable::context& cx, durable::channel<std::string> ch) {
        cx.sleep_for(15ms);
        cx.send(ch, std::string("hello"));
        auto answer = cx.receive_for(ch, 5ms);  // nobody answers
        cx.emit("t=" + ms(cx.now()) + " talker: " + (answer ? *answer : std::string("no answer")));
    });
    return r;
}

std::unique_ptr<durable::world> select_world(const durable::registry& r, std::string& log) {
    auto w = std::make_unique<durable::world>(r, 9);
    auto numbers = w->make_channel<int>("numbers");
    auto words = w->make_channel<std::string>("words");
    w->spawn("watchman", std::pair{numbers, words});
    w->spawn("counter", std::pair{numbers, 15});
    w->spawn("talker", words);
    w->on_emit([&log](const durable::event& e) { log += std::string(e.text) + "\n"; });
    return w;
}

}  // namespace

TEST_CASE("durable: select fires the first ready case or its time limit, and replays the case it fired",
          "[durable]") {
    auto r = select_entries();
    std::string whole;
    select_world(r, whole)->run_until(100ms);
    // At 15 ms both messengers send: the counter first (spawned first), then the talker
    // waits until the watchman comes back. At 20 ms the talker's receive_for times out.
    CHECK(whole ==
          "t=15 watchman: case 0 number 0\n"
          "t=15 watchman: case 1 word hello\n"
          "t=20 talker: no answer\n"
          "t=30 watchman: case 0 number 1\n"
          "t=45 watchman: case 0 number 2\n"
          "t=65 watchman: nothing\n"
          "t=85 watchman: nothing\n");

    // Saved at every millisecond, waits in select (timed or not) and in receive_for come back.
    std::string pieces;
    auto w = select_world(r, pieces);
    for (int t = 1; t <= 100; ++t) {
        w->run_until(std::chrono::milliseconds(t));
        w = durable::world::restore(r, w->save());
        w->on_emit([&pieces](const durable::event& e) { pieces += std::string(e.text) + "\n"; });
    }
    CHECK(pieces == whole);

    // A longer time limit: the divergence is at the select.
    std::string log;
    auto saved = select_world(r, log);
    saved->run_until(17ms);
    CHECK_THROWS_WITH(durable::world::restore(select_entries(true), saved->save()),
                      "tasklets: durable tasklet 1 ('watchman') diverged from its journal at step 7: expected to wait "
                      "in select on channel 'numbers', channel 'words' until t=35000000 ns (where the image saved it), "
                      "the code did to wait in select on channel 'numbers', channel 'words' until t=40000000 ns (where "
                      "the image saved it)");
}

TEST_CASE("durable: a value posted to a tasklet waiting in select is saved with the case it fired", "[durable]") {
    auto r = select_entries();
    auto run = [&](bool save_between) {
        std::string log;
        auto w = select_world(r, log);
        w->run_until(50ms);
        w->post(w->find_channel<std::string>("words"), std::string("posted"));
        if (save_between) {
            w = durable::world::restore(r, w->save());
            w->on_emit([&log](const durable::event& e) { log += std::string(e.text) + "\n"; });
        }
        w->run_until(60ms);
        return log;
    };
    CHECK(run(false).find("t=50 watchman: case 1 word posted\n") != std::string::npos);
    CHECK(run(true) == run(false));
}

TEST_CASE("durable: a receiver handed a posted value and then moved receives that value in its new world",
          "[durable]") {
    auto r = moving_entries();
    std::string log;
    auto a = moving_world(r, 100, log, "A");
    std::uint64_t id = a->spawn("counter", counter_state{a->find_channel<int>("in"), 0, 0});
    a->run_until(1ms);  // the counter waits in receive; A's feeder sleeps
    a->post(a->find_channel<int>("in"), 7);
    auto bytes = a->take(id);
    auto b = moving_world(r, 200, log, "B");
    b->put(bytes);
    b->run_until(3ms);
    CHECK(log == "B t=0 counter got 7: 1 values, sum 7\nB t=2 counter got 200: 2 values, sum 207\n");
}

namespace {
struct v1 {
    std::int32_t hp = 10;
    template <class F>
    void fields(F& f) { f(hp); }
};
struct v2 {
    std::int32_t hp = 10;
    std::string name;  // added in a later version
    template <class F>
    void fields(F& f) { f(hp, name); }
};
}  // namespace

TEST_CASE("durable: a state or message type that changed since the save is an image_error naming the tasklet",
          "[durable]") {
    durable::registry old_code;
    old_code.define<v1>("hero", [](durable::context& cx, v1 s) {
        cx.checkpoint(s);
        cx.sleep_for(1s);
    });
    old_code.define<durable::channel<std::int32_t>>("listener", [](durable::context& cx, durable::channel<std::int32_t> ch) {
        cx.emit("got " + std::to_string(cx.receive(ch)));
        cx.sleep_for(1s);
    });
    durable::world w(old_code, 1);
    w.spawn("hero", v1{});
    auto ch = w.make_channel<std::int32_t>("numbers");
    w.spawn("listener", ch);
    w.post(ch, -5);
    w.run_until(1ms);
    auto image = w.save();

    durable::registry new_state;
    new_state.define<v2>("hero", [](durable::context& cx, v2 s) {
        cx.checkpoint(s);
        cx.sleep_for(1s);
    });
    new_state.define<durable::channel<std::int32_t>>("listener", [](durable::context& cx, durable::channel<std::int32_t> ch) {
        cx.emit("got " + std::to_string(cx.receive(ch)));
        cx.sleep_for(1s);
    });
    CHECK_THROWS_WITH(durable::world::restore(new_state, image),
                      "tasklets: durable tasklet 1 ('hero'): its starting state does not decode as the type the code "
                      "now takes (did the type change since the image was saved?): tasklets: serialised data, byte 1 "
                      "of 1: truncated: a string's count ends before its last byte");

    durable::registry new_message;
    new_message.define<v1>("hero", [](durable::context& cx, v1 s) {
        cx.checkpoint(s);
        cx.sleep_for(1s);
    });
    // The listener's channel now carries strings: the journaled int does not read as one.
    new_message.define<durable::channel<std::string>>("listener", [](durable::context& cx, durable::channel<std::string> ch) {
        cx.emit("got " + cx.receive(ch));
        cx.sleep_for(1s);
    });
    CHECK_THROWS_WITH(durable::world::restore(new_message, image),
                      "tasklets: durable tasklet 2 ('listener') at step 1: a received value does not decode as the "
                      "type the code now takes (did the type change since the image was saved?): tasklets: serialised "
                      "data, byte 0 of 1: truncated or corrupted: a string of 9 elements cannot fit in the 0 bytes left");
}

TEST_CASE("durable: describe() says what each tasklet waits for, and which channels hold waiters", "[durable]") {
    auto r = select_entries();
    std::string log;
    auto w = select_world(r, log);
    w->spawn("talker", w->find_channel<std::string>("words"));  // not started yet
    w->post(w->find_channel<int>("numbers"), 42);                 // no receiver yet: it waits
    CHECK(w->describe() ==
          "durable world at t=0 ns: 4 tasklets, 2 channels, 0 timers\n"
          "  tasklet 1 ('watchman'): ready, not started; step 0, 0 since its checkpoint\n"
          "  tasklet 2 ('counter'): ready, not started; step 0, 0 since its checkpoint\n"
          "  tasklet 3 ('talker'): ready, not started; step 0, 0 since its checkpoint\n"
          "  tasklet 4 ('talker'): ready, not started; step 0, 0 since its checkpoint\n"
          "  channel 'numbers': 0 waiting to send, 1 posted values\n");
    w->run_until(16ms);
    CHECK(w->describe() ==
          "durable world at t=16000000 ns: 4 tasklets, 2 channels, 4 timers\n"
          "  tasklet 1 ('watchman'): waits in select on channel 'numbers', channel 'words' until t=35000000 ns; "
          "step 12, 0 since its checkpoint\n"
          "  tasklet 2 ('counter'): waits in sleep until t=30000000 ns; step 2, 2 since its checkpoint\n"
          "  tasklet 3 ('talker'): waits in select on channel 'words' until t=20000000 ns; step 2, 2 since its checkpoint\n"
          "  tasklet 4 ('talker'): waits in select on channel 'words' until t=20000000 ns; step 2, 2 since its checkpoint\n"
          "  channel 'numbers': 1 waiting to receive\n"
          "  channel 'words': 3 waiting to receive\n");
}

TEST_CASE("durable: a tasklet killed from outside leaves its queue and later saves, and its destructors run",
          "[durable]") {
    static int alive = 0;
    struct counted {
        counted() { ++alive; }
        ~counted() { --alive; }
    };
    durable::registry r;
    r.define<durable::channel<int>>("waiter", [](durable::context& cx, durable::channel<int> ch) {
        counted c;
        cx.emit("waiter " + std::to_string(cx.id()) + " got " + std::to_string(cx.receive(ch)));
    });
    std::string log;
    durable::world w(r, 1);
    auto ch = w.make_channel<int>("c");
    w.on_emit([&log](const durable::event& e) { log += std::string(e.text) + "\n"; });
    for (int i = 0; i < 3; ++i) w.spawn("waiter", ch);
    w.run_until(1ms);
    CHECK(alive == 3);
    w.kill(1);  // the first in the channel's queue
    CHECK(alive == 2);
    CHECK_THROWS_WITH(w.kill(1), "tasklets: world::kill: this world has no durable tasklet 1 (ended, taken, killed, or "
                                 "never spawned)");
    auto back = durable::world::restore(r, w.save());
    back->on_emit([&log](const durable::event& e) { log += std::string(e.text) + "\n"; });
    CHECK(back->size() == 2);
    back->post(back->find_channel<int>("c"), 7);
    back->run_until(2ms);
    CHECK(log == "waiter 2 got 7\n");
}
