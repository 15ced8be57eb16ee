// The worker-pool rows of the multi-core benchmarks: tasklets on 1 and 2 workers of a
// tasklets::worker_pool, talking over shared_channel<T> (include/tasklets/worker_pool.hpp).
//   skynet/tasklets_pool_{1,2,8}workers skynet written as the Go program is: each node
//                                       spawns its 10 children into the pool and receives
//                                       their sums on a shared channel of its own
//   skynet/tasklets_pool_{1,2}workers_borrowing
//                                       the same with each child sending through a
//                                       reference to its parent's handle, as Boost's own
//                                       skynet passes its channel (std::ref): no handle
//                                       copied, so two atomic operations a task fewer
//                                       (safe: docs/semantics.md §9.3 item 10)
//   xpingpong/tasklets_2workers         a tasklet on each of two workers, a shared channel
//                                       each way (each wake-up crosses threads)
//   fanin/tasklets_pool_2workers        a producer tasklet on each of two workers, the
//                                       consumer on the benchmark's thread
#include "../common.hpp"

#include <tasklets/tasklets.hpp>

#include <atomic>
#include <functional>
#include <type_traits>

namespace {

using tasklets::shared_channel;

// A child gets its own copy of the parent's handle, or (borrow) a reference to it.
template <bool borrow>
using out_handle = std::conditional_t<borrow, shared_channel<long long>&, shared_channel<long long>>;

template <bool borrow>
auto pass(shared_channel<long long>& handle) {
    if constexpr (borrow) return std::ref(handle);
    else return handle;
}

template <bool borrow>
void skynet(tasklets::worker_pool& pool, out_handle<borrow> out, long long num, long size) {
    if (size == 1) return out.send(num);
    shared_channel<long long> results;
    const long child = size / bench::skynet_div;
    for (long i = 0; i < bench::skynet_div; ++i)
        pool.spawn(&skynet<borrow>, std::ref(pool), pass<borrow>(results), num + i * child, child);
    long long sum = 0;
    for (long i = 0; i < bench::skynet_div; ++i) sum += results.receive();
    out.send(sum);
}

template <bool borrow>
void skynet_pool(benchmark::State& state) {
    const auto workers = static_cast<std::size_t>(state.range(0));
    tasklets::worker_pool pool(workers);
    while (state.KeepRunningBatch(bench::skynet_tasks)) {
        shared_channel<long long> result;
        pool.spawn(&skynet<borrow>, std::ref(pool), pass<borrow>(result), 0LL, bench::skynet_leaves);
        if (result.receive() != bench::skynet_sum) state.SkipWithError("wrong sum");
        pool.wait();
    }
    const auto c = pool.statistics();
    state.counters["stolen_per_task"] = static_cast<double>(c.stolen) / static_cast<double>(c.started);
    state.counters["wakeups_per_task"] = static_cast<double>(c.wakeups) / static_cast<double>(c.started);
    state.counters["carried_per_task"] = static_cast<double>(c.carried) / static_cast<double>(c.started);
    state.counters["direct_per_task"] = static_cast<double>(c.carried_directly) / static_cast<double>(c.started);
    state.SetLabel(borrow ? "worker_pool, shared_channel<long long>, children borrow the parent's handle"
                          : "worker_pool, shared_channel<long long>");
}
BENCH_REGISTER(benchmark::RegisterBenchmark("skynet/tasklets_pool_1worker", &skynet_pool<false>)
                   ->Arg(1)->UseRealTime()->MeasureProcessCPUTime());
BENCH_REGISTER(benchmark::RegisterBenchmark("skynet/tasklets_pool_2workers", &skynet_pool<false>)
                   ->Arg(2)->UseRealTime()->MeasureProcessCPUTime());
// More workers than cores: what oversubscription costs (issue 14 asks for 8 on 2 cores).
BENCH_REGISTER(benchmark::RegisterBenchmark("skynet/tasklets_pool_8workers", &skynet_pool<false>)
                   ->Arg(8)->UseRealTime()->MeasureProcessCPUTime());
BENCH_REGISTER(benchmark::RegisterBenchmark("skynet/tasklets_pool_1worker_borrowing", &skynet_pool<true>)
                   ->Arg(1)->UseRealTime()->MeasureProcessCPUTime());
BENCH_REGISTER(benchmark::RegisterBenchmark("skynet/tasklets_pool_2workers_borrowing", &skynet_pool<true>)
                   ->Arg(2)->UseRealTime()->MeasureProcessCPUTime());

// Round trips between a tasklet on worker 1 and an echo tasklet on worker 0. The
// benchmark's thread asks for a batch of them and hears back once per batch: one extra
// hop per batch, not per round trip.
void xpingpong_pool(benchmark::State& state) {
    tasklets::worker_pool pool(2);
    shared_channel<long> ping, pong, done;
    pool.worker(0).spawn([ping, pong]() mutable {
        for (long v; (v = ping.receive()) >= 0;) pong.send(v + 1);
    });
    long value = 0;
    while (state.KeepRunningBatch(state.max_iterations)) {
        const auto n = static_cast<long>(state.max_iterations);
        pool.worker(1).spawn([ping, pong, done, n]() mutable {
            long v = 0;
            for (long i = 0; i < n; ++i) {
                ping.send(v);
                v = pong.receive();
            }
            done.send(v);
        });
        value = done.receive();
    }
    if (value != static_cast<long>(state.max_iterations)) state.SkipWithError("lost a round trip");
    ping.send(-1);
    state.SetLabel("worker_pool, shared_channel<long> each way");
}
BENCH_REGISTER(benchmark::RegisterBenchmark("xpingpong/tasklets_2workers", &xpingpong_pool)
                   ->UseRealTime()->MeasureProcessCPUTime());

// A producer on each of two workers, the consumer on worker 0 with one of them; the
// benchmark's thread hears from the consumer once per batch.
void fanin_pool(benchmark::State& state) {
    tasklets::worker_pool pool(2);
    shared_channel<int> messages;
    shared_channel<long> done;
    std::atomic<bool> stop{false};
    for (std::size_t w = 0; w < 2; ++w)
        pool.worker(w).spawn([messages, &stop, w]() mutable {
            while (!stop.load(std::memory_order_relaxed)) messages.send(static_cast<int>(w));
        });
    long sum = 0;
    while (state.KeepRunningBatch(state.max_iterations)) {
        const auto n = static_cast<long>(state.max_iterations);
        pool.worker(0).spawn([messages, done, n]() mutable {
            long s = 0;
            for (long i = 0; i < n; ++i) s += messages.receive();
            done.send(s);
        });
        sum += done.receive();
    }
    stop.store(true, std::memory_order_relaxed);
    pool.shutdown();  // the producers, blocked in send, are killed
    benchmark::DoNotOptimize(sum);
    state.SetLabel("worker_pool, one shared_channel<int>");
}
BENCH_REGISTER(benchmark::RegisterBenchmark("fanin/tasklets_pool_2workers", &fanin_pool)
                   ->UseRealTime()->MeasureProcessCPUTime());

}  // namespace
