// skynet/tasklets_*: skynet on one thread's scheduler (the worker pool of issue 14 will add
// rows with more threads). Two ways a tasklets programmer writes it:
//   tasklets_fifo_1thread  spawn the 10 children, then receive 10 sums: children run in
//                          ring order, breadth first, so every leaf exists before the first
//                          one runs (1,111,111 tasklets alive at the peak);
//   tasklets_run_1thread   spawn each child and run() it at once: depth first, as Go's
//                          scheduler does by itself (a new goroutine goes to the front), so
//                          only a few dozen tasklets are alive at any time.
#include "../common.hpp"

#include <tasklets/tasklets.hpp>

namespace {

template <bool run_at_once>
void skynet(tasklets::channel<long long> out, long long num, long size) {
    if (size == 1) {
        out.send(num);
        return;
    }
    tasklets::channel<long long> results;
    const long child = size / bench::skynet_div;
    for (long i = 0; i < bench::skynet_div; ++i) {
        tasklets::tasklet t = tasklets::spawn(&skynet<run_at_once>, results, num + i * child, child);
        if constexpr (run_at_once) t.run();
    }
    long long sum = 0;
    for (long i = 0; i < bench::skynet_div; ++i) sum += results.receive();
    out.send(sum);
}

template <bool run_at_once>
void skynet_tasklets(benchmark::State& state) {
    while (state.KeepRunningBatch(bench::skynet_tasks)) {
        tasklets::channel<long long> result;
        tasklets::spawn(&skynet<run_at_once>, result, 0LL, bench::skynet_leaves);
        if (result.receive() != bench::skynet_sum) state.SkipWithError("wrong sum");
        tasklets::run();
    }
    state.SetLabel("default stack, channel<long long>, 1 thread");
}
BENCH_REGISTER(benchmark::RegisterBenchmark("skynet/tasklets_fifo_1thread", &skynet_tasklets<false>)
                   ->UseRealTime()->MeasureProcessCPUTime());
BENCH_REGISTER(benchmark::RegisterBenchmark("skynet/tasklets_run_1thread", &skynet_tasklets<true>)
                   ->UseRealTime()->MeasureProcessCPUTime());

}  // namespace
