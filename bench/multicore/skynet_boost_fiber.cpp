// skynet/boost_fiber_ws_*: skynet on Boost.Fiber's work_stealing scheduler with 1 and 2
// threads, written as Boost's own skynet benchmark writes it (launch::dispatch, so a child
// runs at once and the tree is walked depth first; a buffered channel per parent; detached
// fibers; default stacks).
//
// work_stealing is configured once per process (its constructor waits on a static barrier
// sized by the first thread count), so each row must run in a process of its own:
// bench/run.sh runs tasklets_bench_mc once per row. A second row in the same process
// reports an error instead of measuring.
#include "../common.hpp"

#include <boost/fiber/algo/work_stealing.hpp>
#include <boost/fiber/all.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fibers = boost::fibers;

namespace {

using channel_t = fibers::buffered_channel<long long>;

void skynet(channel_t& out, long long num, long size) {
    if (size == 1) {
        out.push(num);
        return;
    }
    channel_t results{16};  // a power of two above the 10 children: a child never waits
    const long child = size / bench::skynet_div;
    for (long i = 0; i < bench::skynet_div; ++i)
        fibers::fiber(fibers::launch::dispatch, &skynet, std::ref(results), num + i * child, child).detach();
    long long sum = 0;
    for (long i = 0; i < bench::skynet_div; ++i) sum += results.value_pop();
    out.push(sum);
}

// The process's work_stealing pool: this (the benchmark's) thread and threads - 1 helpers,
// each of which runs fibers until the pool is shut down at the end of the run.
struct pool {
    unsigned threads = 0;
    std::vector<std::thread> helpers;
    fibers::mutex mutex;
    fibers::condition_variable stopping;
    bool stop = false;

    explicit pool(unsigned n) : threads(n) {
        for (unsigned i = 1; i < n; ++i)
            helpers.emplace_back([this] {
                fibers::use_scheduling_algorithm<fibers::algo::work_stealing>(threads);
                std::unique_lock lock(mutex);
                stopping.wait(lock, [this] { return stop; });  // runs stolen fibers meanwhile
            });
        fibers::use_scheduling_algorithm<fibers::algo::work_stealing>(threads);
    }
    void shut_down() {
        {
            std::unique_lock lock(mutex);
            stop = true;
        }
        stopping.notify_all();
        for (auto& t : helpers) t.join();
    }
};
pool* the_pool = nullptr;

void skynet_boost_fiber(benchmark::State& state, unsigned threads) {
    if (the_pool == nullptr) {
        the_pool = new pool(threads);  // shut down by bench::run_at_end hooks, below
        bench::at_end().push_back([] { the_pool->shut_down(); });
    } else if (the_pool->threads != threads) {
        state.SkipWithError("work_stealing is configured once per process: run each boost_fiber_ws row in its "
                            "own process (--benchmark_filter with the row's whole name; bench/run.sh does)");
        return;
    }
    while (state.KeepRunningBatch(bench::skynet_tasks)) {
        channel_t result{2};
        fibers::fiber(fibers::launch::dispatch, &skynet, std::ref(result), 0LL, bench::skynet_leaves).detach();
        if (result.value_pop() != bench::skynet_sum) state.SkipWithError("wrong sum");
    }
    state.SetLabel("work_stealing, " + std::to_string(threads) + " thread(s), launch::dispatch, buffered_channel");
}
BENCH_REGISTER(benchmark::RegisterBenchmark("skynet/boost_fiber_ws_1thread", &skynet_boost_fiber, 1u)
                   ->UseRealTime()->MeasureProcessCPUTime());
BENCH_REGISTER(benchmark::RegisterBenchmark("skynet/boost_fiber_ws_2threads", &skynet_boost_fiber, 2u)
                   ->UseRealTime()->MeasureProcessCPUTime());

}  // namespace
