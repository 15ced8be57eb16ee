// tasklets_shared_switch: what a shared-stack tasklet's switch costs against a dedicated
// one, as a function of how much live stack it parks with (docs/shared-stacks.md).
//
// Two tasklets take turns, by schedule() or by channel ping-pong; each parks `live` bytes
// deeper than the wait itself needs (a frame-local array it keeps touching). Three ways:
//   dedicated      each on its own stack: no copying, today's switch;
//   shared_apart   shared-stack tasklets bound to different execution stacks: no copying
//                  either (the thread binds its tasklets to its four stacks in turn);
//   shared_same    both bound to one execution stack: every switch copies the one that
//                  parks out and the other in, through the restorer.
// Reported: time per round trip (two switches).
#include <tasklets/debug.hpp>
#include <tasklets/tasklets.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

enum class placement { dedicated, shared_apart, shared_same };

tasklets::tasklet_options options_for(placement p) {
    tasklets::tasklet_options o;
    o.stack = p == placement::dedicated ? tasklets::stack_mode::dedicated : tasklets::stack_mode::shared;
    return o;
}

// Runs `body(live)` in a frame that holds `live` bytes, touched after every resume so the
// compiler keeps them.
template <class Body>
[[gnu::noinline]] void with_live_bytes(std::size_t live, Body& body) {
    auto* pad = static_cast<volatile unsigned char*>(__builtin_alloca(live));
    pad[0] = 1;
    pad[live - 1] = 1;
    body();
    benchmark::DoNotOptimize(pad[0] + pad[live - 1]);
}

// Spawns the pair so that `p` holds: in between them, three tasklets that end at once
// take the other execution stacks' turns (shared_same), or none (shared_apart).
template <class A, class B>
void spawn_pair(placement p, A a, B b) {
    tasklets::spawn(options_for(p), a);
    if (p == placement::shared_same)
        for (int i = 0; i < 3; ++i) tasklets::spawn(options_for(p), [] {});
    tasklets::spawn(options_for(p), b);
}

void schedule_round_trip(benchmark::State& state, placement p) {
    const auto live = static_cast<std::size_t>(state.range(0));
    bool stop = false;
    std::int64_t trips = 0;
    auto loop = [&] {
        while (!stop) tasklets::schedule();
    };
    auto a = [&] { with_live_bytes(live, loop); };
    auto b = [&] {
        auto body = [&] {
            for (auto _ : state) {
                tasklets::schedule();
                ++trips;
            }
            stop = true;
        };
        with_live_bytes(live, body);
    };
    spawn_pair(p, a, b);
    tasklets::run();
    state.SetItemsProcessed(trips);
}

void pingpong_round_trip(benchmark::State& state, placement p) {
    const auto live = static_cast<std::size_t>(state.range(0));
    tasklets::channel<int> ping, pong;
    std::int64_t trips = 0;
    auto a = [&] {
        auto body = [&] {
            for (;;) {
                const int v = ping.receive();
                if (v < 0) return;
                pong.send(v);
            }
        };
        with_live_bytes(live, body);
    };
    auto b = [&] {
        auto body = [&] {
            for (auto _ : state) {
                ping.send(1);
                benchmark::DoNotOptimize(pong.receive());
                ++trips;
            }
            ping.send(-1);
        };
        with_live_bytes(live, body);
    };
    spawn_pair(p, a, b);
    tasklets::run();
    state.SetItemsProcessed(trips);
}

void sizes(benchmark::internal::Benchmark* b) {
    for (std::int64_t n : {64, 128, 256, 512, 1024, 2048, 4096, 8192}) b->Arg(n);
}

}  // namespace

BENCHMARK_CAPTURE(schedule_round_trip, dedicated, placement::dedicated)->Apply(sizes);
BENCHMARK_CAPTURE(schedule_round_trip, shared_apart, placement::shared_apart)->Apply(sizes);
BENCHMARK_CAPTURE(schedule_round_trip, shared_same, placement::shared_same)->Apply(sizes);
BENCHMARK_CAPTURE(pingpong_round_trip, dedicated, placement::dedicated)->Apply(sizes);
BENCHMARK_CAPTURE(pingpong_round_trip, shared_apart, placement::shared_apart)->Apply(sizes);
BENCHMARK_CAPTURE(pingpong_round_trip, shared_same, placement::shared_same)->Apply(sizes);

BENCHMARK_MAIN();
