// tasklets' scheduler workloads: schedule() round trip, channel ping-pong, spawn-join,
// thread-ring, and parked tasklets for the memory workload.
#include "common.hpp"

#include <tasklets/tasklets.hpp>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace {

// ---- schedule/tasklets: main and one tasklet, each calling schedule() ---------------------
struct tasklets_schedule {
    bool stop = false;
    tasklets::tasklet partner;
    tasklets_schedule() : partner([this] { while (!stop) tasklets::schedule(); }) {
        tasklets::schedule();  // let the partner start
    }
    void op() { tasklets::schedule(); }
    ~tasklets_schedule() {
        stop = true;
        tasklets::run();  // the partner sees stop and ends
    }
};
BENCH_ROUND_TRIP("schedule/tasklets", tasklets_schedule);

// ---- pingpong/tasklets: main and one tasklet, two unbuffered channels of int --------------
struct tasklets_pingpong {
    tasklets::channel<int> ping, pong;
    tasklets::tasklet partner;
    int value = 0;
    tasklets_pingpong()
        : partner([this] {
              for (;;) {
                  int v = ping.receive();
                  if (v < 0) return;
                  pong.send(v + 1);
              }
          }) {}
    void op() {
        ping.send(value);
        value = pong.receive() & 0x3fffffff;
    }
    ~tasklets_pingpong() {
        ping.send(-1);
        tasklets::run();
    }
};
BENCH_ROUND_TRIP("pingpong/tasklets", tasklets_pingpong);

// ---- the same two round trips while tracing or counting (tasklets/trace.hpp, statistics.hpp)
// What recording costs: the difference to the plain rows, per event. A schedule round trip
// records 2 events (two switches), a ping-pong round trip 4 (two hand-offs, two switches).
// The ring is the default one (1,048,576 events, 40 MiB): a long run overwrites it
// continuously, as a long traced program does.
struct trace_on {
    trace_on() { tasklets::start_trace(); }
    ~trace_on() {
        tasklets::stop_trace();
        tasklets::clear_trace();
    }
};
struct counting_on {
    counting_on() { tasklets::count_statistics(true); }
    ~counting_on() { tasklets::count_statistics(false); }
};
struct tasklets_schedule_traced : trace_on, tasklets_schedule {};
struct tasklets_pingpong_traced : trace_on, tasklets_pingpong {};
struct tasklets_schedule_counted : counting_on, tasklets_schedule {};
struct tasklets_pingpong_counted : counting_on, tasklets_pingpong {};
BENCH_ROUND_TRIP("schedule/tasklets_traced", tasklets_schedule_traced);
BENCH_ROUND_TRIP("pingpong/tasklets_traced", tasklets_pingpong_traced);
BENCH_ROUND_TRIP("schedule/tasklets_counted", tasklets_schedule_counted);
BENCH_ROUND_TRIP("pingpong/tasklets_counted", tasklets_pingpong_counted);

// ---- spawn_join/tasklets: 100k tasklets that each increment a counter, then run() --------
void spawn_join_tasklets(benchmark::State& state) {
    const long n = bench::spawn_count;
    long counter = 0;
    while (state.KeepRunningBatch(n)) {
        counter = 0;
        for (long i = 0; i < n; ++i) tasklets::spawn([&counter] { ++counter; });
        tasklets::run();
        if (counter != n) state.SkipWithError("counter mismatch");
    }
}
BENCH_REGISTER(benchmark::RegisterBenchmark("spawn_join/tasklets", &spawn_join_tasklets)->UseRealTime()->MeasureProcessCPUTime());

// Same, for the callgrind driver: n tasklets spawned and joined (instructions per tasklet).
void spawn_join_ops(long n) {
    long counter = 0;
    for (long i = 0; i < n; ++i) tasklets::spawn([&counter] { ++counter; });
    tasklets::run();
    if (counter != n) std::abort();
}
BENCH_REGISTER(bench::add_op("spawn_join/tasklets", &spawn_join_ops));

// ---- ring/tasklets: 503 tasklets, a channel each; token-1 to the next, per hop ------------
struct tasklets_ring {
    static constexpr int n = bench::ring_size;
    std::vector<tasklets::channel<int>> ch = std::vector<tasklets::channel<int>>(n);
    tasklets::channel<int> done;
    tasklets_ring() {
        for (int i = 0; i < n; ++i)
            tasklets::spawn([this, i] {
                auto& in = ch[i];
                auto& out = ch[(i + 1) % n];
                for (;;) {
                    int t = in.receive();
                    if (t < 0) return;
                    if (t == 0) done.send(i);
                    else out.send(t - 1);
                }
            });
        tasklets::run();  // every node starts and blocks on its channel
    }
    void lap(long hops) {
        ch[0].send(static_cast<int>(hops));
        benchmark::DoNotOptimize(done.receive());
    }
    ~tasklets_ring() {
        for (auto& c : ch) c.send(-1);
        tasklets::run();
    }
};
void ring_tasklets(benchmark::State& state) {
    tasklets_ring r;
    while (state.KeepRunningBatch(bench::ring_hops)) r.lap(bench::ring_hops);
}
BENCH_REGISTER(benchmark::RegisterBenchmark("ring/tasklets", &ring_tasklets)->UseRealTime()->MeasureProcessCPUTime());
void ring_ops(long hops) {
    tasklets_ring r;
    r.lap(hops);
}
BENCH_REGISTER(bench::add_op("ring/tasklets", &ring_ops));

// ---- memory: tasklets each blocked on its own channel -------------------------------------
bench::park_result park_tasklets(long count, void (*progress)(long), std::size_t stack_size,
                                 tasklets::stack_mode mode = tasklets::stack_mode::dedicated) {
    bench::park_result r;
    r.note = mode == tasklets::stack_mode::shared
                 ? "shared stack: live frames copied out, one channel<int> each"
                 : "stack " + std::to_string((stack_size ? stack_size : tasklets::default_stack_size()) / 1024) +
                       " KiB guard-paged, one channel<int> each";
    auto* chans = new tasklets::channel<int>[count];  // leaked on purpose: the process exits
    tasklets::tasklet_options options;
    options.stack_size = stack_size;
    options.stack = mode;
    long parked = 0;
    const long chunk = 10000;
    const double t0 = bench::now_seconds();
    try {
        for (long base = 0; base < count; base += chunk) {
            const long end = std::min(count, base + chunk);
            for (long i = base; i < end; ++i)
                tasklets::spawn(options, [&parked, c = &chans[i]] {
                    ++parked;
                    (void)c->receive();
                });
            tasklets::run();  // each new tasklet runs until it blocks
            r.parked = parked;
            progress(parked);
        }
    } catch (const std::exception& e) {
        r.parked = parked;
        r.note += std::string("; failed: ") + e.what();
    }
    r.seconds = bench::now_seconds() - t0;
    return r;
}
bench::park_result park_default(long count, void (*progress)(long)) { return park_tasklets(count, progress, 0); }
bench::park_result park_min(long count, void (*progress)(long)) {
    return park_tasklets(count, progress, tasklets::min_stack_size);
}
BENCH_REGISTER(bench::add_park("tasklets", &park_default));
BENCH_REGISTER(bench::add_park("tasklets_min_stack", &park_min));
bench::park_result park_shared(long count, void (*progress)(long)) {
    return park_tasklets(count, progress, 0, tasklets::stack_mode::shared);
}
BENCH_REGISTER(bench::add_park("tasklets_shared", &park_shared));

}  // namespace
