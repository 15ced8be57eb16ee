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
// Reported: time per round trip (two switches), and `live`, the bytes the second tasklet's
// frames hold while it is parked (stack_depth: what a shared_same switch copies each way,
// the unused waiter slot of a channel wait included).
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
// Returns the second one.
template <class A, class B>
tasklets::tasklet spawn_pair(placement p, A a, B b) {
    tasklets::spawn(options_for(p), a);
    if (p == placement::shared_same)
        for (int i = 0; i < 3; ++i) tasklets::spawn(options_for(p), [] {});
    return tasklets::spawn(options_for(p), b);
}

// Run by the first tasklet while the second is parked: how deep the second one's frames
// are, taken once.
struct depth_probe {
    tasklets::tasklet second;
    std::size_t bytes = 0;
    void look() {
        if (bytes == 0 && second && second.alive()) bytes = tasklets::stack_depth(second);
    }
};

void schedule_round_trip(benchmark::State& state, placement p) {
    const auto live = static_cast<std::size_t>(state.range(0));
    bool stop = false;
    std::int64_t trips = 0;
    depth_probe probe;
    auto loop = [&] {
        while (!stop) {
            tasklets::schedule();
            probe.look();
        }
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
    probe.second = spawn_pair(p, a, b);
    tasklets::run();
    state.SetItemsProcessed(trips);
    state.counters["live"] = static_cast<double>(probe.bytes);
}

void pingpong_round_trip(benchmark::State& state, placement p) {
    const auto live = static_cast<std::size_t>(state.range(0));
    tasklets::channel<int> ping, pong;
    std::int64_t trips = 0;
    depth_probe probe;
    auto a = [&] {
        auto body = [&] {
            for (;;) {
                const int v = ping.receive();
                if (v < 0) return;
                probe.look();
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
    probe.second = spawn_pair(p, a, b);
    tasklets::run();
    state.SetItemsProcessed(trips);
    state.counters["live"] = static_cast<double>(probe.bytes);
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
