// Migration rows (tasklet_options::migratable; docs/multicore.md, "Migration"):
//   imbalance/tasklets_fixed_2workers       8 tasklets started on worker 0 of a pool of 2,
//   imbalance/tasklets_migratable_2workers  each 400 slices of about 2 µs of arithmetic with
//                                           schedule() between: fixed ones share worker 0's
//                                           core; migratable ones are moved to the less
//                                           busy worker and use both cores. Per slice.
//   spawn_migratable/tasklets_fixed_1thread       spawn 1,000 tasklets that end at once, run();
//   spawn_migratable/tasklets_migratable_1thread  per tasklet; the second spawns them
//                                           migratable (a block from operator new, a stack
//                                           alone: what opting in costs a short tasklet)
//   move/tasklets_move_to_2workers          one migratable tasklet moving itself back and
//                                           forth between two workers; per move (the block
//                                           and stack cross cores: a switch, a post, the
//                                           other thread's delivery and switch)
#include "../common.hpp"

#include <tasklets/tasklets.hpp>

#include <atomic>
#include <cstdint>

namespace {

using tasklets::shared_channel;

constexpr int imbalance_tasklets = 8;
constexpr int imbalance_slices = 400;

// About 2 µs on this machine: a dependent chain the compiler cannot fold.
[[gnu::noinline]] std::uint64_t slice_of_work(std::uint64_t x) {
    for (int i = 0; i < 1500; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x;
}

void imbalance(benchmark::State& state, bool migratable) {
    tasklets::worker_pool pool(2);
    tasklets::tasklet_options options;
    options.migratable = migratable;
    std::atomic<std::uint64_t> sink{0};
    while (state.KeepRunningBatch(imbalance_tasklets * imbalance_slices)) {
        shared_channel<int> done;
        pool.worker(0).spawn([&, done, options] {
            for (int t = 0; t < imbalance_tasklets; ++t)
                tasklets::tasklet(options, [&sink, done, t]() mutable {
                    std::uint64_t x = static_cast<std::uint64_t>(t);
                    for (int i = 0; i < imbalance_slices; ++i) {
                        x = slice_of_work(x);
                        tasklets::schedule();
                    }
                    sink.fetch_add(x, std::memory_order_relaxed);
                    done.send(1);
                });
        });
        for (int t = 0; t < imbalance_tasklets; ++t) (void)done.receive();
    }
    state.counters["moved_per_tasklet"] = static_cast<double>(pool.statistics().moved) /
                                          static_cast<double>(state.iterations() / imbalance_slices);
    state.SetLabel(migratable ? "worker_pool, migratable: moved to the less busy worker" : "worker_pool, started tasklets stay");
}
BENCH_REGISTER(benchmark::RegisterBenchmark("imbalance/tasklets_fixed_2workers", [](benchmark::State& s) { imbalance(s, false); })
                   ->UseRealTime()->MeasureProcessCPUTime());
BENCH_REGISTER(benchmark::RegisterBenchmark("imbalance/tasklets_migratable_2workers", [](benchmark::State& s) { imbalance(s, true); })
                   ->UseRealTime()->MeasureProcessCPUTime());

void spawn_and_end(benchmark::State& state, bool migratable) {
    constexpr int batch = 1000;
    tasklets::tasklet_options options;
    options.migratable = migratable;
    long ended = 0;
    while (state.KeepRunningBatch(batch)) {
        for (int i = 0; i < batch; ++i) tasklets::tasklet(options, [&ended] { ++ended; });
        tasklets::run();
    }
    if (ended != static_cast<long>(state.iterations())) state.SkipWithError("a tasklet did not run");
    state.SetLabel(migratable ? "migratable: block from operator new, a stack alone" : "thread's cell pool and stack slabs");
}
BENCH_REGISTER(benchmark::RegisterBenchmark("spawn_migratable/tasklets_fixed_1thread", [](benchmark::State& s) { spawn_and_end(s, false); })
                   ->UseRealTime()->MeasureProcessCPUTime());
BENCH_REGISTER(benchmark::RegisterBenchmark("spawn_migratable/tasklets_migratable_1thread", [](benchmark::State& s) { spawn_and_end(s, true); })
                   ->UseRealTime()->MeasureProcessCPUTime());

void move_round_trips(benchmark::State& state) {
    tasklets::worker_pool pool(2);
    const tasklets::thread_ref a = pool.worker(0), b = pool.worker(1);
    tasklets::tasklet_options options;
    options.migratable = true;
    while (state.KeepRunningBatch(state.max_iterations)) {
        const auto n = static_cast<long>(state.max_iterations);
        shared_channel<long> done;
        a.spawn(options, [a, b, n, done]() mutable {
            for (long i = 0; i < n; ++i) tasklets::move_to(i % 2 ? a : b);
            done.send(n);
        });
        if (done.receive() != n) state.SkipWithError("lost a move");
    }
    state.SetLabel("worker_pool, move_to() alternately to each worker");
}
BENCH_REGISTER(benchmark::RegisterBenchmark("move/tasklets_move_to_2workers", &move_round_trips)->UseRealTime()->MeasureProcessCPUTime());

}  // namespace
