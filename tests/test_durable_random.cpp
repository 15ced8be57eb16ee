// Random durable worlds (docs/durable.md): agents that send, receive, select, sleep, emit,
// spawn and checkpoint at random, with values posted from outside, saved and restored at
// random moments. Each run must print exactly the events of the same world run without
// interruption, and every restored world must save to the bytes it came from. This is
// the check that replay rebuilds every kind of wait (receive, send, timed and untimed
// select, sleep, unstarted, handed a posted value) in its queues, in order.
//     TASKLETS_DURABLE_SEEDS=2000 tasklets_tests "[durable-random]"     a long run
#include <catch2/catch.hpp>
#include <tasklets/durable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace durable = tasklets::durable;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t channel_count = 4;

struct agent {
    std::uint32_t id = 0;
    std::uint32_t round = 0;
    std::uint32_t lifetime = 0;  // rounds left; 0: forever
    std::uint64_t sum = 0;
    std::vector<durable::channel<std::uint32_t>> channels;
    template <class F>
    void fields(F& f) { f(id, round, lifetime, sum, channels); }
};

std::string ms(durable::duration d) { return std::to_string(d.count() / 1'000'000); }

const durable::registry& entries() {
    static const durable::registry r = [] {
        durable::registry e;
        e.define<agent>("agent", [](durable::context& cx, agent a) {
            for (;;) {
                // Checkpoints depend on the state only, so a restart from one is the same as
                // going on from it (a draw first would be drawn again).
                if (a.round % 3 == 0) cx.checkpoint(a);
                if (a.lifetime != 0 && a.round == a.lifetime) return;
                ++a.round;
                auto& rng = cx.random();
                auto pick = [&] { return a.channels[rng.below(a.channels.size())]; };
                std::string what;
                switch (rng.below(7)) {
                case 0: {
                    auto ch = pick();
                    auto v = static_cast<std::uint32_t>(rng.below(1000));
                    cx.send(ch, v);
                    what = "sent " + std::to_string(v) + " on " + std::to_string(ch.number());
                    break;
                }
                case 1: {
                    auto ch = pick();
                    auto v = cx.receive_for(ch, std::chrono::milliseconds(1 + rng.below(20)));
                    what = v ? "got " + std::to_string(*v) : std::string("timed out");
                    if (v) a.sum += *v;
                    break;
                }
                case 2: {
                    auto r = cx.select_for(std::chrono::milliseconds(rng.below(15)), pick(), pick());
                    what = r ? "selected case " + std::to_string(r->index()) : std::string("select timed out");
                    if (r) a.sum += r->index() == 0 ? std::get<0>(*r) : std::get<1>(*r);
                    break;
                }
                case 3: {
                    auto ch = pick();
                    a.sum += cx.select(ch, ch).index();  // untimed, the same channel twice
                    what = "selected on " + std::to_string(ch.number());
                    break;
                }
                case 4:
                    cx.sleep_for(std::chrono::milliseconds(rng.below(10)));
                    what = "slept";
                    break;
                case 5:
                    if (a.id < 1000 && rng.chance(0.3)) {
                        agent child{a.id * 10 + a.round, 0, 1 + static_cast<std::uint32_t>(rng.below(5)), 0, a.channels};
                        what = "spawned " + std::to_string(cx.spawn("agent", child));
                    } else {
                        what = "thought";
                    }
                    break;
                default: what = "idled"; break;
                }
                cx.emit("t=" + ms(cx.now()) + " agent " + std::to_string(a.id) + " round " + std::to_string(a.round) +
                        ": " + what + ", sum " + std::to_string(a.sum));
            }
        });
        return e;
    }();
    return r;
}

std::unique_ptr<durable::world> make_world(std::uint64_t seed, std::string& log) {
    auto w = std::make_unique<durable::world>(entries(), seed);
    std::vector<durable::channel<std::uint32_t>> chans;
    for (std::uint32_t c = 0; c < channel_count; ++c) chans.push_back(w->make_channel<std::uint32_t>("c" + std::to_string(c)));
    for (std::uint32_t i = 1; i <= 6; ++i) w->spawn("agent", agent{i, 0, 0, 0, chans});
    w->on_emit([&log](const durable::event& e) { log += std::string(e.text) + "\n"; });
    return w;
}

// Runs a world in `steps` slices of 7 ms; before each slice a value is posted on a channel.
// With `restore_at` set, the world is saved and restored at those slices.
std::string run(std::uint64_t seed, int steps, const std::vector<bool>& restore_at) {
    std::string log;
    auto w = make_world(seed, log);
    for (int i = 0; i < steps; ++i) {
        if (i < static_cast<int>(restore_at.size()) && restore_at[static_cast<std::size_t>(i)]) {
            auto image = w->save();
            w = durable::world::restore(entries(), image);
            w->on_emit([&log](const durable::event& e) { log += std::string(e.text) + "\n"; });
            if (w->save() != image) FAIL("seed " << seed << ": a world restored at slice " << i << " saves other bytes");
        }
        w->post(w->find_channel<std::uint32_t>("c" + std::to_string(i % channel_count)), static_cast<std::uint32_t>(5000 + i));
        w->run_until(std::chrono::milliseconds(7 * (i + 1)));
    }
    return log;
}

}  // namespace

// 12 seeds in CI; TASKLETS_DURABLE_SEEDS=N for a long run.
std::uint64_t seed_count() {
    if (const char* v = std::getenv("TASKLETS_DURABLE_SEEDS")) return std::max<std::uint64_t>(1, std::strtoull(v, nullptr, 10));
    return 12;
}

TEST_CASE("durable: random worlds saved and restored at random moments print the events of one uninterrupted run",
          "[durable][durable-random]") {
    std::size_t events = 0;
    for (std::uint64_t seed = 1; seed <= seed_count(); ++seed) {
        const int steps = 40;
        const std::string whole = run(seed, steps, {});
        events += static_cast<std::size_t>(std::count(whole.begin(), whole.end(), '\n'));
        tasklets::random_generator pick(seed * 7919);
        std::vector<bool> restore_at;
        for (int i = 0; i < steps; ++i) restore_at.push_back(pick.chance(0.3));
        INFO("seed " << seed);
        CHECK(run(seed, steps, restore_at) == whole);
        CHECK(run(seed, steps, std::vector<bool>(steps, true)) == whole);
    }
    // Busy worlds, not ones stuck early (a few seeds are: every agent waits on a send).
    CHECK(events > 100 * seed_count());
}
