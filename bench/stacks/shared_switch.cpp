// tasklets_shared_switch: what a shared-stack tasklet's switch costs against a dedicated
// one, as a function of how much live stack it parks with (docs/shared-stacks.md).
//
// Two tasklets take turns, by schedule() or by channel ping-pong; each parks `live` bytes
// deeper than the wait itself needs (a frame-local array it keeps touching). Three ways:
//   dedicated      each on its own stack: no copying, today's switch;
//   shared_apart   shared-stack tasklets bound to different execution stacks: no copying
//                  either (the thread binds its tasklets to its four stacks in turn);
//   shared_same    both bound to one execution stack: every switch copies the one that
//                  parks out and the other in, through the restorer;
//   copy_floor     dedicated, and after every switch the two copies a shared_same switch
//                  makes (copy_out, copy_in), of the bytes its shared_same twin measured,
//                  by the same memcpy, and nothing else: what shared_same would cost if
//                  the restorer and its extra switches were free. Run with the twin.
// Reported: time per round trip (two switches), and `live`, the bytes the second tasklet's
// frames hold while it is parked (stack_depth: what a shared_same switch copies each way,
// the unused waiter slot of a channel wait included).
#include <tasklets/debug.hpp>
#include <tasklets/tasklets.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

namespace {

enum class placement { dedicated, shared_apart, shared_same, copy_floor };

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

// copy_floor's copies, run after every switch on the resumed side: the parked tasklet's
// `bytes` out of a stand-in for the execution stack into its buffer, and the resumed one's
// back, by two calls of memcpy (as copy_out and copy_in call it). Sized for the largest row.
// A global, so that the measured rows' lambdas capture nothing more than they did.
struct two_copies {
    std::size_t bytes = 0;
    std::vector<unsigned char> stack = std::vector<unsigned char>(16384), out = stack, in = stack;
    void operator()() {
        void* (*volatile copy)(void*, const void*, std::size_t) = &std::memcpy;  // a call, as there
        copy(out.data(), stack.data() + stack.size() - bytes, bytes);
        copy(stack.data() + stack.size() - bytes, in.data(), bytes);
        benchmark::ClobberMemory();
    }
} floor_copies;

// The shared_same rows' live bytes, by operation (0 schedule, 1 ping-pong) and extra size,
// for their copy_floor twins, which run after them.
std::map<std::pair<int, std::int64_t>, std::size_t> same_stack_live;

template <bool with_copies>
void schedule_trips(benchmark::State& state, placement p) {
    const auto live = static_cast<std::size_t>(state.range(0));
    bool stop = false;
    std::int64_t trips = 0;
    depth_probe probe;
    auto loop = [&] {
        while (!stop) {
            tasklets::schedule();
            if constexpr (with_copies) floor_copies();
            probe.look();
        }
    };
    auto a = [&] { with_live_bytes(live, loop); };
    auto b = [&] {
        auto body = [&] {
            for (auto _ : state) {
                tasklets::schedule();
                if constexpr (with_copies) floor_copies();
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
    if (p == placement::shared_same) same_stack_live[{0, state.range(0)}] = probe.bytes;
}

template <bool with_copies>
void pingpong_trips(benchmark::State& state, placement p) {
    const auto live = static_cast<std::size_t>(state.range(0));
    tasklets::channel<int> ping, pong;
    std::int64_t trips = 0;
    depth_probe probe;
    auto a = [&] {
        auto body = [&] {
            for (;;) {
                const int v = ping.receive();
                if constexpr (with_copies) floor_copies();
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
                if constexpr (with_copies) floor_copies();
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
    if (p == placement::shared_same) same_stack_live[{1, state.range(0)}] = probe.bytes;
}

// A copy_floor row: its twin's round trip on dedicated stacks, plus the copies.
void copy_floor(benchmark::State& state, int operation, void (*trips)(benchmark::State&, placement)) {
    const auto twin = same_stack_live.find({operation, state.range(0)});
    if (twin == same_stack_live.end()) {
        state.SkipWithError("copy_floor needs its shared_same twin's live bytes: run the two rows together");
        return;
    }
    floor_copies.bytes = twin->second;
    trips(state, placement::dedicated);
    state.counters["live"] = static_cast<double>(twin->second);  // the bytes copied each way
}

void schedule_round_trip(benchmark::State& state, placement p) {
    if (p == placement::copy_floor) return copy_floor(state, 0, &schedule_trips<true>);
    schedule_trips<false>(state, p);
}

void pingpong_round_trip(benchmark::State& state, placement p) {
    if (p == placement::copy_floor) return copy_floor(state, 1, &pingpong_trips<true>);
    pingpong_trips<false>(state, p);
}

void sizes(benchmark::internal::Benchmark* b) {
    for (std::int64_t n : {64, 128, 256, 512, 1024, 2048, 4096, 8192}) b->Arg(n);
}

}  // namespace

BENCHMARK_CAPTURE(schedule_round_trip, dedicated, placement::dedicated)->Apply(sizes);
BENCHMARK_CAPTURE(schedule_round_trip, shared_apart, placement::shared_apart)->Apply(sizes);
BENCHMARK_CAPTURE(schedule_round_trip, shared_same, placement::shared_same)->Apply(sizes);
BENCHMARK_CAPTURE(schedule_round_trip, copy_floor, placement::copy_floor)->Apply(sizes);
BENCHMARK_CAPTURE(pingpong_round_trip, dedicated, placement::dedicated)->Apply(sizes);
BENCHMARK_CAPTURE(pingpong_round_trip, shared_apart, placement::shared_apart)->Apply(sizes);
BENCHMARK_CAPTURE(pingpong_round_trip, shared_same, placement::shared_same)->Apply(sizes);
BENCHMARK_CAPTURE(pingpong_round_trip, copy_floor, placement::copy_floor)->Apply(sizes);

BENCHMARK_MAIN();
