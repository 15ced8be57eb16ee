// Shared-stack tasklets (stack_mode::shared). Authority: include/tasklets/stack.hpp
// (stack_mode), docs/shared-stacks.md, and docs/semantics.md for every ordering, which a
// tasklet's stack mode does not change. A thread has four execution stacks and binds its
// shared-stack tasklets to them in turn, so nine tasklets put at least two on each: every
// test below copies frames out and back.
#include <catch2/catch.hpp>

#include <tasklets/debug.hpp>
#include <tasklets/tasklets.hpp>

#if !defined(_WIN32)
#include <fcntl.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <array>
#include <cfenv>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <stdexcept>
#include <string>
#include <vector>

using namespace tasklets;

namespace {

tasklet_options shared_options() {
    tasklet_options o;
    o.stack = stack_mode::shared;
    return o;
}

// A value whose copies and moves are counted, to show that off-stack waits neither lose
// nor duplicate one.
struct counted {
    static inline int alive = 0;
    std::string text;
    explicit counted(std::string t) : text(std::move(t)) { ++alive; }
    counted(const counted& o) : text(o.text) { ++alive; }
    counted(counted&& o) noexcept : text(std::move(o.text)) { ++alive; }
    ~counted() { --alive; }
};

// Fills a frame-local array with a pattern of its own and checks it survives each park.
bool pattern_survives(int who, int rounds, std::vector<int>& order) {
    volatile std::uint32_t local[96];
    for (std::uint32_t i = 0; i < 96; ++i) local[i] = static_cast<std::uint32_t>(who) * 1000u + i;
    bool intact = true;
    for (int r = 0; r < rounds; ++r) {
        order.push_back(who);
        schedule();
        for (std::uint32_t i = 0; i < 96; ++i) intact &= local[i] == static_cast<std::uint32_t>(who) * 1000u + i;
    }
    return intact;
}

// Nine shared-stack tasklets (so at least two on each of the four execution stacks), each
// selecting between receiving on `in` and sending its own name, long enough to live on the
// heap, on `out`; each logs what happened ("received …, kept …" or "sent, left 0"), after
// its index if `numbered`.
template <class Channel>
std::vector<tasklet> spawn_select_agents(Channel& in, Channel& out, std::vector<std::string>& log, bool numbered) {
    std::vector<tasklet> ts;
    for (int i = 0; i < 9; ++i)
        ts.push_back(spawn(shared_options(), [&in, &out, &log, numbered, i] {
            auto r = on_receive(in);
            auto w = on_send(out, "agent " + std::to_string(i) + " with a name too long for a short string");
            const select_result got = select(r, w);
            const std::string who = numbered ? std::to_string(i) + " " : "";
            if (got.index == 0)
                log.push_back(who + "received " + *r.value() + ", kept " + w.value().value_or("nothing"));
            else
                log.push_back(who + "sent, left " + std::to_string(w.value().has_value()));
        }));
    return ts;
}

}  // namespace

TEST_CASE("shared-stack tasklets that share execution stacks take turns with their frames intact", "[shared-stacks]") {
    std::vector<int> order;
    int intact = 0;
    std::vector<tasklet> ts;
    for (int who = 0; who < 9; ++who)
        ts.push_back(spawn(shared_options(), [&, who] { intact += pattern_survives(who, 3, order) ? 1 : 0; }));
    run();
    CHECK(intact == 9);
    // The ring's order, as for dedicated stacks (docs/semantics.md §2): 0..8, three times.
    std::vector<int> expected;
    for (int r = 0; r < 3; ++r)
        for (int who = 0; who < 9; ++who) expected.push_back(who);
    CHECK(order == expected);
}

TEST_CASE("frames parked in channel waits come back intact around the waiter slot they leave out", "[shared-stacks]") {
    // A channel wait of a shared-stack tasklet keeps its record off the stack, so the caller's
    // waiter slot is skipped when its frames are copied out and in: what lies below and
    // above it in the frame must come back exactly. Nine receivers on four execution stacks,
    // each with a frame-local pattern around its receive; then as many senders.
    channel<int> ch;
    std::vector<std::string> log;
    std::vector<tasklet> ts;
    for (int who = 0; who < 9; ++who)
        ts.push_back(spawn(shared_options(), [&, who] {
            volatile std::uint32_t before[24];
            for (std::uint32_t i = 0; i < 24; ++i) before[i] = static_cast<std::uint32_t>(who) * 100u + i;
            const int got = ch.receive();
            bool intact = true;
            for (std::uint32_t i = 0; i < 24; ++i) intact &= before[i] == static_cast<std::uint32_t>(who) * 100u + i;
            log.push_back(std::to_string(who) + " got " + std::to_string(got) + (intact ? ", frame intact" : ", frame damaged"));
            std::vector<int> unused(8, who);  // a later call, over whatever the slot held
            (void)unused;
        }));
    run();
    for (const tasklet& t : ts) REQUIRE(t.blocked());
    for (int i = 0; i < 9; ++i) CHECK(stack_depth(ts[static_cast<std::size_t>(i)]) > 0);
    for (int v = 0; v < 9; ++v) ch.send(100 + v);  // receivers are served in FIFO order
    run();
    std::vector<std::string> expected;
    for (int who = 0; who < 9; ++who) expected.push_back(std::to_string(who) + " got " + std::to_string(100 + who) + ", frame intact");
    CHECK(log == expected);
}

TEST_CASE("a value that points into itself crosses an off-stack channel wait intact", "[shared-stacks]") {
    // libstdc++'s std::string keeps a pointer to its own short buffer: a byte copy of it
    // would be wrong. Both directions wait: the receivers first, then the senders.
    channel<std::string> ch;
    std::vector<std::string> got;
    std::vector<tasklet> ts;
    for (int i = 0; i < 5; ++i) ts.push_back(spawn(shared_options(), [&] { got.push_back(ch.receive()); }));
    for (int i = 0; i < 5; ++i)
        ts.push_back(spawn(shared_options(), [&, i] { ch.send(i % 2 ? "short " + std::to_string(i) : std::string(100, char('a' + i))); }));
    run();
    REQUIRE(got.size() == 5);
    CHECK(got[0] == std::string(100, 'a'));
    CHECK(got[1] == "short 1");
    CHECK(got[2] == std::string(100, 'c'));
    CHECK(got[3] == "short 3");
    CHECK(got[4] == std::string(100, 'e'));

    // Senders first: each blocks (preference -1 switches to the receiver at once).
    got.clear();
    for (int i = 0; i < 4; ++i) ts.push_back(spawn(shared_options(), [&, i] { ch.send("sent " + std::to_string(i)); }));
    ts.push_back(spawn(shared_options(), [&] {
        for (int i = 0; i < 4; ++i) got.push_back(ch.receive());
    }));
    run();
    CHECK(got == std::vector<std::string>{"sent 0", "sent 1", "sent 2", "sent 3"});
}

TEST_CASE("one tasklet's off-stack waits alternate between values kept inline and values kept on the heap",
          "[shared-stacks]") {
    // A value of 8 bytes or less waits inside the tasklet's own state; a larger one in a
    // heap box kept for its next large wait, noted where the small ones wait
    // (core/shared_stacks.hpp, kept_heap_box). Each receiver parks before its sender runs.
    struct big {
        std::array<std::uint64_t, 40> words;  // 320 bytes: more than the first heap box holds
    };
    channel<int> small;
    channel<std::string> text;
    channel<big> large;
    std::vector<std::string> log;
    tasklet waiter = spawn(shared_options(), [&] {
        log.push_back("text " + text.receive());
        log.push_back("int " + std::to_string(small.receive()));
        log.push_back("text " + text.receive());
        log.push_back("text " + text.receive());
        const big b = large.receive();
        log.push_back("big " + std::to_string(b.words[0]) + " " + std::to_string(b.words[39]));
        log.push_back("int " + std::to_string(small.receive()));
        log.push_back("text " + text.receive());
    });
    std::vector<tasklet> others;  // eight more, so that the waiter shares its execution stack
    for (int i = 0; i < 8; ++i) others.push_back(spawn(shared_options(), [] { schedule(); }));
    schedule();
    text.send(std::string(60, 'x'));
    small.send(7);
    text.send("short");
    text.send(std::string(30, 'y'));
    big b{};
    b.words[0] = 11;
    b.words[39] = 99;
    large.send(b);
    small.send(-3);
    text.send("last");
    run();
    CHECK(log == std::vector<std::string>{"text " + std::string(60, 'x'), "int 7", "text short",
                                          "text " + std::string(30, 'y'), "big 11 99", "int -3", "text last"});
}

TEST_CASE("a send whose value cannot move into its off-stack box fails with nothing queued, and the tasklet's "
          "frames still park intact",
          "[shared-stacks]") {
    // The move into the box is the wait's last step before it parks (channels/
    // off_stack_wait.cpp): when it throws, the waiter slot it noted for copying to leave
    // out must not be left out of the tasklet's next park, or live bytes would be lost.
    struct refuses_to_move {
        int n = 0;
        explicit refuses_to_move(int v) : n(v) {}
        refuses_to_move(refuses_to_move&& o) : n(o.n) {
            if (n < 0) throw std::runtime_error("this value refuses to move");
        }
    };
    channel<refuses_to_move> ch;
    std::vector<int> order;
    std::string message;
    bool intact = false;
    // The send's frame has returned when the pattern's frame takes its place, over the slot.
    auto failing_send = [&]() __attribute__((noinline)) {
        try {
            ch.send(refuses_to_move(-1));
        } catch (const std::runtime_error& e) {
            message = e.what();
        }
    };
    tasklet sender = spawn(shared_options(), [&] {
        failing_send();
        intact = pattern_survives(1, 3, order);
    });
    std::vector<tasklet> others;  // eight more, so that the sender shares its execution stack
    for (int i = 0; i < 8; ++i) others.push_back(spawn(shared_options(), [&order, i] { (void)pattern_survives(10 + i, 3, order); }));
    run();
    CHECK(message == "this value refuses to move");
    CHECK(ch.balance() == 0);
    CHECK(intact);
    CHECK(order.size() == 27);
}

TEST_CASE("off-stack waits neither lose nor duplicate a value when the waiter is killed", "[shared-stacks]") {
    counted::alive = 0;
    {
        channel<counted> to_nobody, from_nobody;
        tasklet sender = spawn(shared_options(), [&] { to_nobody.send(counted("kept")); });
        tasklet receiver = spawn(shared_options(), [&] { (void)from_nobody.receive(); });
        std::vector<tasklet> others;
        for (int i = 0; i < 8; ++i) others.push_back(spawn(shared_options(), [] { schedule(); }));
        run();  // both block, and the others copy them out
        CHECK(to_nobody.balance() == 1);
        CHECK(from_nobody.balance() == -1);
        // The value waits in the sender's box; send()'s parameter, moved from, is the other.
        CHECK(counted::alive == 2);
        sender.kill();
        CHECK(to_nobody.balance() == 0);
        CHECK(counted::alive == 0);
        receiver.kill();
        CHECK(from_nobody.balance() == 0);
        CHECK_FALSE(receiver.alive());
    }
    CHECK(counted::alive == 0);
}

namespace {

// A value small enough for a shared-stack tasklet's inline box, whose move cannot throw:
// its plain waits keep it in the caller's frame until the frame is copied out
// (channels/off_stack_wait.cpp). Live ones are counted.
struct small_counted {
    static inline int alive = 0;
    int n;
    explicit small_counted(int v) : n(v) { ++alive; }
    small_counted(small_counted&& o) noexcept : n(o.n) { ++alive; }
    small_counted(const small_counted&) = delete;
    ~small_counted() { --alive; }
};

}  // namespace

TEST_CASE("small values wait in the waiter's frame, and go to its box and back when the frame is copied out",
          "[shared-stacks]") {
    small_counted::alive = 0;
    {
        // Nine receivers and nine senders, then four sweepers, one to each execution stack.
        // Each wait keeps its value (or storage) in the waiter's frame; each sweeper runs
        // on its stack after all have parked and copies out the waiter parked there, so
        // every waiter is reached through its box, and every frame must come back intact.
        std::vector<channel<small_counted>> to_receivers(9), from_senders(9);
        std::vector<std::string> log;
        std::vector<tasklet> ts;
        for (int i = 0; i < 9; ++i) {
            ts.push_back(spawn(shared_options(), [&, i] {
                volatile std::uint32_t local[32];
                for (std::uint32_t k = 0; k < 32; ++k) local[k] = static_cast<std::uint32_t>(i) * 100u + k;
                const small_counted got = to_receivers[i].receive();
                bool intact = true;
                for (std::uint32_t k = 0; k < 32; ++k) intact &= local[k] == static_cast<std::uint32_t>(i) * 100u + k;
                log.push_back("receiver " + std::to_string(i) + " got " + std::to_string(got.n) + (intact ? "" : ", frame broken"));
            }));
            ts.push_back(spawn(shared_options(), [&, i] {
                from_senders[i].send(small_counted(1000 + i));
                log.push_back("sender " + std::to_string(i) + " done");
            }));
        }
        for (int i = 0; i < 4; ++i) ts.push_back(spawn(shared_options(), [] { schedule(); schedule(); }));
        run();
        // Each sender's value moved to its box; the moved-from one stays in its frame until
        // send() returns.
        CHECK(small_counted::alive == 18);
        std::vector<std::string> expected;
        for (int i = 0; i < 9; ++i) {
            to_receivers[i].send(small_counted(i));
            const small_counted v = from_senders[i].receive();
            CHECK(v.n == 1000 + i);
        }
        run();
        for (int i = 0; i < 9; ++i) expected.push_back("receiver " + std::to_string(i) + " got " + std::to_string(i));
        for (int i = 0; i < 9; ++i) expected.push_back("sender " + std::to_string(i) + " done");
        std::sort(log.begin(), log.end());
        std::sort(expected.begin(), expected.end());
        CHECK(log == expected);
    }
    CHECK(small_counted::alive == 0);
}

TEST_CASE("a small value waiting in a killed waiter's frame or box is destroyed once", "[shared-stacks]") {
    small_counted::alive = 0;
    for (const bool copied_out : {false, true}) {
        INFO("copied out: " << copied_out);
        channel<small_counted> to_nobody, from_nobody;
        tasklet sender = spawn(shared_options(), [&] { to_nobody.send(small_counted(7)); });
        tasklet receiver = spawn(shared_options(), [&] { (void)from_nobody.receive(); });
        // Six more take the execution stacks' turns, so that the last two share the
        // waiters' stacks and copy them out as they run; or two that end on stacks of
        // their own.
        std::vector<tasklet> others;
        if (copied_out)
            for (int i = 0; i < 6; ++i) others.push_back(spawn(shared_options(), [] { schedule(); schedule(); }));
        else
            for (int i = 0; i < 2; ++i) others.push_back(spawn(shared_options(), [] {}));
        run();
        CHECK(to_nobody.balance() == 1);
        CHECK(from_nobody.balance() == -1);
        // In the sender's frame; or moved to its box, and the frame's moved-from one is kept
        // until send() returns.
        CHECK(small_counted::alive == (copied_out ? 2 : 1));
        sender.kill();
        CHECK_FALSE(sender.alive());
        CHECK(to_nobody.balance() == 0);
        CHECK(small_counted::alive == 0);
        receiver.kill();
        CHECK_FALSE(receiver.alive());
        CHECK(from_nobody.balance() == 0);
        CHECK(small_counted::alive == 0);
    }
}

TEST_CASE("a small value received while the receiver's frame is copied out reaches it once it is back",
          "[shared-stacks]") {
    // The receiver parks, another tasklet on its execution stack copies it out, and only
    // then does a sender come: the value waits in the receiver's box, and the restorer
    // moves it into the receiver's storage when it copies the receiver back in.
    {
        channel<std::unique_ptr<int>> ch;  // a type whose moved-from and destroyed states ASan checks
        std::vector<std::string> log;
        tasklet receiver = spawn(shared_options(), [&] {
            std::unique_ptr<int> p = ch.receive();
            log.push_back("received " + std::to_string(*p));
        });
        std::vector<tasklet> others;
        for (int i = 0; i < 3; ++i) others.push_back(spawn(shared_options(), [] {}));
        tasklet neighbour = spawn(shared_options(), [&] {  // on the receiver's execution stack
            log.push_back("neighbour runs");
            ch.send(std::make_unique<int>(42));  // the receiver is preferred: it runs at once
            log.push_back("neighbour sent");
        });
        run();
        CHECK(log == std::vector<std::string>{"neighbour runs", "received 42", "neighbour sent"});
    }
}

TEST_CASE("frames that take the place of a finished channel wait's frame park intact", "[shared-stacks]") {
    // Copying a waiting tasklet out leaves its caller's unused waiter slot out; once the
    // wait is over, the frames that take that place must be copied whole.
    channel<int> ch;
    std::vector<int> order;
    int got = 0;
    bool intact = false;
    auto receive_once = [&]() __attribute__((noinline)) { got = ch.receive(); };
    tasklet waiter = spawn(shared_options(), [&] {
        receive_once();
        intact = pattern_survives(1, 3, order);  // its frame lies where receive_once's was
    });
    std::vector<tasklet> others;
    for (int i = 0; i < 3; ++i) others.push_back(spawn(shared_options(), [] {}));
    tasklet neighbour = spawn(shared_options(), [&] {  // on the waiter's execution stack
        ch.send(5);  // copies the waiter out, then in (the receiver is preferred)
        (void)pattern_survives(2, 3, order);
    });
    run();
    CHECK(got == 5);
    CHECK(intact);
    CHECK(order == std::vector<int>{1, 2, 1, 2, 1, 2});
}

TEST_CASE("an exception thrown into a parked shared-stack tasklet unwinds its own frames", "[shared-stacks]") {
    channel<int> ch;
    std::vector<std::string> log;
    struct note {
        std::vector<std::string>& log;
        ~note() { log.push_back("destructor ran"); }
    };
    tasklet waiter = spawn(shared_options(), [&] {
        note n{log};
        try {
            (void)ch.receive();
        } catch (const std::runtime_error& e) {
            log.push_back(std::string("caught: ") + e.what());
        }
    });
    std::vector<tasklet> others;
    for (int i = 0; i < 8; ++i) others.push_back(spawn(shared_options(), [] { schedule(); }));
    run();  // the others run on the same stacks and copy the waiter out
    REQUIRE(waiter.blocked());
    waiter.throw_exception(std::make_exception_ptr(std::runtime_error("wake up")));
    run();
    CHECK(log == std::vector<std::string>{"caught: wake up", "destructor ran"});
    CHECK_FALSE(waiter.alive());
}

namespace {
[[gnu::noinline]] double third() {
    volatile double one = 1.0, three = 3.0;  // computed at run time, in the current mode
    return one / three;
}
}  // namespace

// FP control belongs to each tasklet (include/tasklets/context.hpp: saved on every switch),
// also when the saved context travels with its frames (docs/shared-stacks.md) and every
// switch goes through the restorer. Each of the three tasklets on the first
// execution stack rounds its own way; the first ends while the second is copied out, so
// the switch to the second runs the resume hook on the way (freeing the first), and every
// switch after it goes through the restorer again.
TEST_CASE("shared-stack tasklets keep their own rounding mode through copies, and after one ends onto another",
          "[shared-stacks][fp]") {
    const int original = std::fegetround();
    std::vector<std::string> log;
    // Tasklets 0, 4 and 8 share the first execution stack (bound in turn to four).
    const int modes[9] = {FE_TOWARDZERO, FE_TONEAREST, FE_TONEAREST, FE_TONEAREST, FE_DOWNWARD,
                          FE_TONEAREST,  FE_TONEAREST, FE_TONEAREST, FE_UPWARD};
    const double down = [] {
        std::fesetround(FE_DOWNWARD);
        return third();
    }();
    const double up = [] {
        std::fesetround(FE_UPWARD);
        return third();
    }();
    std::fesetround(original);
    REQUIRE(down < up);  // 1/3 is inexact: one ulp apart
    std::vector<tasklet> ts;
    for (int i = 0; i < 9; ++i)
        ts.push_back(spawn(shared_options(), [&, i] {
            std::fesetround(modes[i]);
            const int rounds = i == 0 ? 1 : 3;  // the first ends after one park
            for (int r = 0; r < rounds; ++r) {
                schedule();
                if (i % 4 != 0) continue;
                const double q = third();
                const char* got = std::fegetround() != modes[i] ? "another mode"
                                  : modes[i] == FE_DOWNWARD     ? (q == down ? "down" : "wrong")
                                  : modes[i] == FE_UPWARD       ? (q == up ? "up" : "wrong")
                                                                : (q == down ? "toward zero" : "wrong");
                log.push_back(std::to_string(i) + ": " + got);
            }
        }));
    run();
    CHECK(std::fegetround() == original);
    CHECK(log == std::vector<std::string>{"0: toward zero", "4: down", "8: up", "4: down", "8: up", "4: down",
                                          "8: up"});
}

TEST_CASE("a parked shared-stack tasklet keeps only its live frames", "[shared-stacks]") {
    channel<int> ch;
    std::vector<tasklet> ts;
    for (int i = 0; i < 9; ++i) ts.push_back(spawn(shared_options(), [&] { (void)ch.receive(); }));
    run();
    for (const tasklet& t : ts) {
        const std::size_t depth = stack_depth(t);
        CHECK(depth > 0);
        CHECK(depth < 2048);           // a receive parks a few hundred bytes deep
        CHECK(stack_high_water(t) == 0);  // its execution stack is not its own
    }
    for (int i = 0; i < 9; ++i) ch.send(i);
    run();
}

TEST_CASE("a shared-stack tasklet sleeps and wakes in deadline order", "[shared-stacks]") {
    // The virtual clock: on the real one, starting six tasklets under QEMU and ASan takes
    // longer than the millisecond between their deadlines.
    use_virtual_clock();
    std::vector<int> order;
    std::vector<tasklet> ts;
    for (int i = 0; i < 6; ++i)
        ts.push_back(spawn(shared_options(), [&, i] {
            sleep_for(std::chrono::milliseconds(6 - i));
            order.push_back(i);
        }));
    run();
    use_real_clock();
    CHECK(order == std::vector<int>{5, 4, 3, 2, 1, 0});
}

TEST_CASE("a shared-stack tasklet's select over shared channels waits off its stack for partners on another thread",
          "[shared-stacks][threads]") {
    // Nine selecting tasklets on this thread's four execution stacks, all parked (and so
    // copied out) before the other thread serves four receive cases and five send cases.
    shared_channel<std::string> in, out;
    std::vector<std::string> log;
    std::vector<tasklet> ts = spawn_select_agents(in, out, log, false);
    schedule();  // each runs until it parks
    for (const tasklet& t : ts) REQUIRE(t.blocked());
    std::vector<std::string> taken;
    std::thread other([&] {
        for (int i = 0; i < 4; ++i) in.send("value " + std::to_string(i) + " long enough to live on the heap");
        for (int i = 0; i < 5; ++i) taken.push_back(out.receive());
    });
    run();
    other.join();
    REQUIRE(log.size() == 9);
    std::vector<std::string> received, sent;
    for (const std::string& line : log) (line.rfind("received", 0) == 0 ? received : sent).push_back(line);
    REQUIRE(received.size() == 4);
    REQUIRE(sent.size() == 5);
    for (const std::string& line : sent) CHECK(line == "sent, left 0");  // the receiver took the value
    // Each receiver got one of the four values and kept its own name (it came back from the
    // heap); each name the other thread took is a different agent's.
    std::vector<std::string> values;
    for (const std::string& line : received) {
        const std::size_t kept = line.find(", kept agent ");
        REQUIRE(kept != std::string::npos);
        values.push_back(line.substr(9, kept - 9));
        CHECK(line.substr(kept + 7).find(" with a name too long for a short string") != std::string::npos);
    }
    std::sort(values.begin(), values.end());
    for (int i = 0; i < 4; ++i)
        CHECK(values[static_cast<std::size_t>(i)] == "value " + std::to_string(i) + " long enough to live on the heap");
    std::sort(taken.begin(), taken.end());
    CHECK(std::unique(taken.begin(), taken.end()) == taken.end());
    for (const std::string& name : taken) CHECK(name.find(" with a name too long for a short string") != std::string::npos);
    CHECK(in.balance() == 0);
    CHECK(out.balance() == 0);
}

TEST_CASE("a shared-stack tasklet's select over shared channels times out or is killed, and its send values come back",
          "[shared-stacks]") {
    const int before = counted::alive;
    shared_channel<counted> nobody_receives, nobody_sends;
    std::vector<std::string> log;
    std::vector<tasklet> ts;
    for (int i = 0; i < 9; ++i)
        ts.push_back(spawn(shared_options(), [&, i] {
            auto r = on_receive(nobody_sends);
            auto w = on_send(nobody_receives, counted("offer " + std::to_string(i) + " long enough to live on the heap"));
            if (i % 2 == 0) {  // the even ones wait a millisecond, the odd ones until they are killed
                const select_result got = select(r, w, deadline(std::chrono::milliseconds(1)));
                log.push_back(std::to_string(i) + (got.timed_out ? " timed out, kept " : " woke, kept ") +
                              (w.value() ? w.value()->text : "nothing"));
            } else {
                (void)select(r, w);
            }
        }));
    schedule();  // each runs until it parks (an even one may have timed out already on a loaded machine)
    for (int i = 1; i < 9; i += 2) REQUIRE(ts[static_cast<std::size_t>(i)].blocked());
    for (int i = 1; i < 9; i += 2) ts[static_cast<std::size_t>(i)].kill();
    run();
    std::sort(log.begin(), log.end());
    CHECK(log == std::vector<std::string>{"0 timed out, kept offer 0 long enough to live on the heap",
                                          "2 timed out, kept offer 2 long enough to live on the heap",
                                          "4 timed out, kept offer 4 long enough to live on the heap",
                                          "6 timed out, kept offer 6 long enough to live on the heap",
                                          "8 timed out, kept offer 8 long enough to live on the heap"});
    CHECK(counted::alive == before);  // nothing lost, nothing left over
    CHECK(nobody_receives.balance() == 0);
    CHECK(nobody_sends.balance() == 0);
}

TEST_CASE("shared-stack tasklets run blocking calls on helper threads, copied out while they wait",
          "[shared-stacks][blocking]") {
    std::vector<int> squares(9, -1);
    std::vector<tasklet> ts;
    for (int i = 0; i < 9; ++i)
        ts.push_back(spawn(shared_options(), [&, i] {
            squares[static_cast<std::size_t>(i)] = run_blocking([i] { return i * i; });
        }));
    schedule();  // all nine wait for their helpers at once
    for (const tasklet& t : ts) CHECK((t.blocked() || !t.alive()));
    run();
    for (int i = 0; i < 9; ++i) CHECK(squares[static_cast<std::size_t>(i)] == i * i);
}

#if !defined(_WIN32)  // file I/O needs an IOCP reactor on Windows (tests/windows/tests.cmake)
TEST_CASE("shared-stack tasklets read files into buffers in their frames, copied out while they wait",
          "[shared-stacks][files]") {
    // Files go to io_uring or to helper threads (the epoll backend): either way the waiting
    // tasklet's record is on the heap, and its buffer is written after it is back in.
    const std::string path = "/tmp/tasklets-shared-stacks-" + std::to_string(::getpid());
    std::string contents;
    for (int i = 0; i < 9; ++i) contents += "block " + std::to_string(i) + " of nine.";  // 16 bytes each
    REQUIRE(contents.size() == 9 * 16);
    {
        fs::file f = fs::file::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        f.write_at(contents.data(), contents.size(), 0);
    }
    std::vector<std::string> blocks(9);
    std::vector<tasklet> ts;
    for (int i = 0; i < 9; ++i)
        ts.push_back(spawn(shared_options(), [&, i] {
            fs::file f = fs::file::open(path);
            char buf[16];
            const std::size_t got = f.read_at(buf, sizeof buf, static_cast<std::uint64_t>(i) * 16);
            blocks[static_cast<std::size_t>(i)] = std::string(buf, got);
        }));
    run();
    ::unlink(path.c_str());
    for (int i = 0; i < 9; ++i) CHECK(blocks[static_cast<std::size_t>(i)] == "block " + std::to_string(i) + " of nine.");
}
#endif

TEST_CASE("shared-stack tasklets wait on shared channels for partners on another thread", "[shared-stacks][threads]") {
    // Nine receivers and nine senders on this thread's four execution stacks, all copied out
    // while they wait; their partners run on another thread.
    shared_channel<std::string> to_us, from_us;
    std::vector<std::string> got, sent_back;
    std::thread other([&] {
        for (int i = 0; i < 9; ++i) to_us.send("value " + std::to_string(i) + " long enough to live on the heap");
        for (int i = 0; i < 9; ++i) sent_back.push_back(from_us.receive());
    });
    std::vector<tasklet> ts;
    for (int i = 0; i < 9; ++i)
        ts.push_back(spawn(shared_options(), [&] { got.push_back(to_us.receive()); }));
    for (int i = 0; i < 9; ++i)
        ts.push_back(spawn(shared_options(), [&, i] { from_us.send("reply " + std::to_string(i) + " from a shared stack"); }));
    run();
    other.join();
    REQUIRE(got.size() == 9);
    REQUIRE(sent_back.size() == 9);
    std::sort(got.begin(), got.end());
    std::sort(sent_back.begin(), sent_back.end());
    for (int i = 0; i < 9; ++i) {
        CHECK(got[static_cast<std::size_t>(i)] == "value " + std::to_string(i) + " long enough to live on the heap");
        CHECK(sent_back[static_cast<std::size_t>(i)] == "reply " + std::to_string(i) + " from a shared stack");
    }
    CHECK(to_us.balance() == 0);
    CHECK(from_us.balance() == 0);
}

TEST_CASE("timeouts in shared-stack tasklets: the deadline or the partner, whichever comes first", "[shared-stacks]") {
    // The virtual clock makes every deadline exact; nine tasklets on four execution stacks
    // are copied out while they wait.
    use_virtual_clock();
    channel<int> ch, other;
    std::vector<std::string> log;
    std::vector<tasklet> ts;
    for (int i = 0; i < 9; ++i)
        ts.push_back(spawn(shared_options(), [&, i] {
            try {
                if (i % 2 == 0) {
                    log.push_back(std::to_string(i) + " got " + std::to_string(ch.receive_for(std::chrono::milliseconds(10 + i))));
                } else {
                    auto r = on_receive(other);
                    const select_result got = select(r, deadline(std::chrono::milliseconds(10 + i)));
                    log.push_back(std::to_string(i) + (got.timed_out ? " select timed out" : " select got " + std::to_string(*r.value())));
                }
            } catch (const timeout_error& e) {
                log.push_back(std::to_string(i) + " " + e.what());
            }
        }));
    schedule();      // each runs until it parks; main is still runnable, so no time passes
    ch.send(100);    // tasklet 0, the head of ch's queue
    other.send(200); // tasklet 1, the head of other's queue
    run();           // the rest time out, in deadline order
    use_real_clock();
    CHECK(log == std::vector<std::string>{
                     "0 got 100", "1 select got 200",
                     "2 tasklets: channel receive timed out after 12ms", "3 select timed out",
                     "4 tasklets: channel receive timed out after 14ms", "5 select timed out",
                     "6 tasklets: channel receive timed out after 16ms", "7 select timed out",
                     "8 tasklets: channel receive timed out after 18ms"});
    CHECK(ch.balance() == 0);
    CHECK(other.balance() == 0);
    CHECK(pending_timers() == 0);
}

TEST_CASE("a shared-stack tasklet's select waits off its stack, and unsent values come back", "[shared-stacks]") {
    // Nine selecting tasklets on four execution stacks: every one is copied out while it
    // waits. Each waits to receive on `in` or to send its own name on `out`.
    channel<std::string> in, out;
    std::vector<std::string> log;
    std::vector<tasklet> ts = spawn_select_agents(in, out, log, true);
    run();
    for (const tasklet& t : ts) REQUIRE(t.blocked());
    CHECK(in.balance() == -9);
    CHECK(out.balance() == 9);
    // The first selecting tasklet is the head of both queues (docs/semantics.md §7).
    // A receiver is preferred (preference -1): a send to a waiting receiver runs it at once,
    // a receive from a waiting sender appends the sender to the ring.
    in.send("a");                                    // tasklet 0 receives, and logs now
    CHECK(out.receive().substr(0, 7) == "agent 1");  // tasklet 1's send completes; it logs later
    in.send("b");                                    // tasklet 2 receives, and logs now
    run();
    REQUIRE(log.size() == 3);
    CHECK(log[0] == "0 received a, kept agent 0 with a name too long for a short string");
    CHECK(log[1] == "2 received b, kept agent 2 with a name too long for a short string");
    CHECK(log[2] == "1 sent, left 0");
    CHECK(in.balance() == -6);
    CHECK(out.balance() == 6);
    for (tasklet& t : ts)
        if (t.alive()) t.kill();
    CHECK(in.balance() == 0);
    CHECK(out.balance() == 0);
}

namespace {
struct throwing_move {
    int n = 0;
    throwing_move() = default;
    throwing_move(const throwing_move&) = default;
    throwing_move(throwing_move&& o) noexcept(false) : n(o.n) {}
};
}  // namespace

TEST_CASE("a waiting select with a send value whose move may throw is refused in a shared-stack tasklet", "[shared-stacks]") {
    channel<throwing_move> ch;
    channel<int> other;
    std::string message;
    tasklet t = spawn(shared_options(), [&] {
        auto w = on_send(ch, throwing_move{});
        auto r = on_receive(other);
        try {
            (void)select(w, r);
        } catch (const state_error& e) {
            message = e.what();
        }
    });
    run();
    CHECK(message ==
          "tasklets: a select that waits in a shared-stack tasklet moves its send values off the stack and back, and "
          "this send case's type has a move constructor that may throw; make it noexcept, or give this tasklet "
          "stack_mode::dedicated (docs/shared-stacks.md)");
    CHECK(ch.balance() == 0);
    CHECK(other.balance() == 0);
}

TEST_CASE("shared-stack options that cannot work are refused at spawn", "[shared-stacks]") {
    tasklet_options o = shared_options();
    o.migratable = true;
    CHECK_THROWS_WITH(spawn(o, [] {}),
                      "tasklets: a shared-stack tasklet cannot be migratable: its frames belong to its thread's "
                      "execution stack; give it stack_mode::dedicated to let it move");
    o.migratable = false;
    o.stack_size = default_stack_size() * 2;
    CHECK_THROWS_WITH(spawn(o, [] {}),
                      "tasklets: a shared-stack tasklet runs on its thread's execution stacks of " +
                          std::to_string(default_stack_size()) + " bytes, and this one asks for " +
                          std::to_string(default_stack_size() * 2) +
                          "; give it stack_mode::dedicated, or raise default_stack_size() before the thread's first "
                          "shared-stack tasklet");
    CHECK_THROWS_WITH(set_default_stack_mode(stack_mode::thread_default),
                      "tasklets: set_default_stack_mode needs stack_mode::dedicated or stack_mode::shared; "
                      "thread_default names the setting itself");
}

TEST_CASE("the thread's default stack mode applies to tasklets that do not choose", "[shared-stacks]") {
    CHECK(default_stack_mode() == stack_mode::dedicated);
    set_default_stack_mode(stack_mode::shared);
    channel<int> ch;
    tasklet by_default = spawn([&] { (void)ch.receive(); });
    tasklet_options own;
    own.stack = stack_mode::dedicated;
    tasklet dedicated = spawn(own, [&] { (void)ch.receive(); });
    set_default_stack_mode(stack_mode::dedicated);
    run();
    CHECK(stack_high_water(by_default) == 0);  // shared: its execution stack is not its own
    CHECK(stack_high_water(dedicated) > 0);
    ch.send(1);
    ch.send(2);
    run();
}

// Two thousand: ThreadSanitizer makes each started tasklet a fiber, counted against its
// limit of 8,128 threads together with what the rest of the suite holds.
TEST_CASE("two thousand shared-stack tasklets parked on their own channels are all served", "[shared-stacks]") {
    constexpr int n = 2000;
    std::vector<channel<int>> chans(n);
    long long sum = 0;
    std::vector<tasklet> ts;
    ts.reserve(n);
    for (int i = 0; i < n; ++i) ts.push_back(spawn(shared_options(), [&, i] { sum += chans[static_cast<std::size_t>(i)].receive() + i; }));
    run();
    for (const tasklet& t : ts) REQUIRE(t.blocked());
    for (int i = n - 1; i >= 0; --i) chans[static_cast<std::size_t>(i)].send(1);
    run();
    CHECK(sum == n + static_cast<long long>(n) * (n - 1) / 2);
}

namespace {

// Recurses `depth` frames of about 500 bytes each, each filled with a pattern, then notes
// the thread's copy count and parks, `rounds` times; true if every frame's pattern
// survived. The live part at the bottom is a few KiB: past shared_stack_limit()'s default.
bool deep_frames_survive(int depth, int rounds, std::vector<std::uint64_t>& copies, const std::function<void(int)>& at_round) {
    volatile std::uint32_t local[120];
    for (std::uint32_t i = 0; i < 120; ++i) local[i] = static_cast<std::uint32_t>(depth) * 1000u + i;
    bool intact = true;
    if (depth > 1) {
        intact = deep_frames_survive(depth - 1, rounds, copies, at_round);
    } else {
        for (int r = 0; r < rounds; ++r) {
            copies.push_back(statistics().shared_copies_out);
            at_round(r);
            schedule();
        }
    }
    for (std::uint32_t i = 0; i < 120; ++i) intact &= local[i] == static_cast<std::uint32_t>(depth) * 1000u + i;
    return intact;
}

// The scenario of the two tests below, on a new thread (so its execution stacks and
// figures are fresh): a big tasklet on execution stack 0, three that end at once on stacks
// 1 to 3, and a small one bound to stack 0 again, which takes two turns with the big one.
// In the big one's fourth round, four more tasklets that end at once are bound in turn:
// the last one to stack 0's slot. Returns the big one's copy counts per round and the
// kept stacks then; `kept_at_end` gets the kept stacks after all have ended.
struct outgrow_run {
    std::vector<std::uint64_t> copies;
    std::size_t kept_during = 0;
    std::size_t kept_at_end = 0;
    bool big_intact = false;
    bool small_intact = false;
    std::string figures;  // format_statistics() at the end
};

outgrow_run outgrow(std::size_t limit) {
    outgrow_run out;
    std::thread([&] {
        set_shared_stack_limit(limit);
        std::vector<int> order;
        spawn(shared_options(), [&] {
            out.big_intact = deep_frames_survive(8, 6, out.copies, [&](int r) {
                if (r != 3) return;
                out.kept_during = statistics().shared_stacks_kept;
                for (int i = 0; i < 4; ++i) spawn(shared_options(), [] {});
            });
        });
        for (int i = 0; i < 3; ++i) spawn(shared_options(), [] {});
        spawn(shared_options(), [&] { out.small_intact = pattern_survives(2, 2, order); });
        run();
        out.kept_at_end = statistics().shared_stacks_kept;
        out.figures = format_statistics(statistics());
    }).join();
    return out;
}

}  // namespace

TEST_CASE("a shared-stack tasklet that outgrows the limit keeps its execution stack, and is copied no more once "
          "the others bound to it have ended",
          "[shared-stacks]") {
    CHECK(shared_stack_limit() == 2048);
    const outgrow_run run = outgrow(2048);
    CHECK(run.big_intact);
    CHECK(run.small_intact);
    // Round 0: nothing copied yet. Then the small one's turns: the big one copied out
    // (and kept its stack: more than 2 KiB), the small one out, the big one out, the small
    // one out, the big one out (the small one ends). From round 3 on nothing is copied:
    // the four new tasklets went to stacks 1 to 3 and to a new stack in slot 0.
    CHECK(run.copies == std::vector<std::uint64_t>{0, 2, 4, 5, 5, 5});
    CHECK(run.kept_during == 1);
    CHECK(run.kept_at_end == 0);  // freed with its last tasklet
    CHECK_THAT(run.figures, Catch::Contains("\nshared stacks: 5 copies out, ") &&
                                Catch::Contains(" KiB copied out; 0 kept by tasklets that outgrew them\n"));
}

TEST_CASE("with the limit at 0 a shared-stack tasklet never keeps its execution stack", "[shared-stacks]") {
    const outgrow_run run = outgrow(0);
    CHECK(run.big_intact);
    CHECK(run.small_intact);
    // As above, but the fourth new tasklet is bound to the big one's stack and copies it
    // out once more (it ends at once, so nothing else is copied).
    CHECK(run.copies == std::vector<std::uint64_t>{0, 2, 4, 5, 6, 6});
    CHECK(run.kept_during == 0);
    CHECK(run.kept_at_end == 0);
}

TEST_CASE("the shared-stack limit is the thread's own", "[shared-stacks]") {
    CHECK(shared_stack_limit() == 2048);
    set_shared_stack_limit(0);
    CHECK(shared_stack_limit() == 0);
    std::thread([] { CHECK(shared_stack_limit() == 2048); }).join();
    set_shared_stack_limit(4096);
    CHECK(shared_stack_limit() == 4096);
    set_shared_stack_limit(2048);
}
