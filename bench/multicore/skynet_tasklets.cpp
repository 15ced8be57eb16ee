// skynet/tasklets_1thread: skynet on one thread's scheduler (the worker pool's rows are in
// tasklets_pool.cpp), written as the Go program is: spawn the 10 children, then receive
// their 10 sums.
// skynet/tasklets_floor_1thread: the floor under the pool's row on one worker: the same
// tasks with one thread's own primitives (below).
//
// Children run in ring order, so the tree is walked breadth first and every leaf exists
// before the first one runs: 1,111,111 tasklets are alive at the peak, each with a
// touched stack page, and the time goes to page faults (perf: memcg charging, page-table
// locks, clearing pages). Go's scheduler runs a new goroutine next, and a finished one's
// stack is reused at once, so far fewer are alive (its peak RSS here: ~200 MB against
// ~4.7 GB). Running each child at once (remove() + run()) does not change this under
// Stackless's ordering: when a child blocks, its parent goes on spawning, and the finished
// children wait behind it in the ring until the root blocks (measured: the same peak).
#include "../common.hpp"

#include <tasklets/tasklets.hpp>

namespace {

template <tasklets::stack_mode mode>
void skynet(tasklets::channel<long long> out, long long num, long size) {
    if (size == 1) {
        out.send(num);
        return;
    }
    tasklets::channel<long long> results;
    const long child = size / bench::skynet_div;
    for (long i = 0; i < bench::skynet_div; ++i)
        tasklets::spawn(tasklets::tasklet_options{.stack = mode}, &skynet<mode>, results, num + i * child, child);
    long long sum = 0;
    for (long i = 0; i < bench::skynet_div; ++i) sum += results.receive();
    out.send(sum);
}

template <tasklets::stack_mode mode>
void skynet_tasklets(benchmark::State& state) {
    while (state.KeepRunningBatch(bench::skynet_tasks)) {
        tasklets::channel<long long> result;
        tasklets::spawn(tasklets::tasklet_options{.stack = mode}, &skynet<mode>, result, 0LL, bench::skynet_leaves);
        if (result.receive() != bench::skynet_sum) state.SkipWithError("wrong sum");
        tasklets::run();
    }
    state.SetLabel(mode == tasklets::stack_mode::shared ? "shared stacks, channel<long long>, 1 thread"
                                                        : "default stack, channel<long long>, 1 thread");
}
BENCH_REGISTER(benchmark::RegisterBenchmark("skynet/tasklets_1thread", &skynet_tasklets<tasklets::stack_mode::dedicated>)
                   ->UseRealTime()->MeasureProcessCPUTime());
// The same on shared stacks: a parked tasklet keeps its live frames (a few hundred bytes)
// rather than a touched stack page, so the 1,111,111 alive at the peak cost no page faults;
// each switch between two of them bound to one execution stack copies both ways instead.
BENCH_REGISTER(benchmark::RegisterBenchmark("skynet/tasklets_shared_1thread", &skynet_tasklets<tasklets::stack_mode::shared>)
                   ->UseRealTime()->MeasureProcessCPUTime());

}  // namespace

namespace floor_row {
// The same tree with each child spawned and its sum received before the next child is
// spawned: one child alive per level, so a handful of tasklets at a time. Per task it
// does what a pool's task does (a spawn, a blocked receive and its hand-off, a death),
// with channel<T> and the thread's own ring instead of shared_channel<T> and a job queue
// that other threads can reach: what is left of the pool's row without its cross-thread
// machinery (docs/multicore.md, "Measured").
void skynet(tasklets::channel<long long> out, long long num, long size) {
    if (size == 1) {
        out.send(num);
        return;
    }
    tasklets::channel<long long> results;
    const long child = size / bench::skynet_div;
    long long sum = 0;
    for (long i = 0; i < bench::skynet_div; ++i) {
        tasklets::spawn(&skynet, results, num + i * child, child);
        sum += results.receive();
    }
    out.send(sum);
}

void skynet_floor(benchmark::State& state) {
    while (state.KeepRunningBatch(bench::skynet_tasks)) {
        tasklets::channel<long long> result;
        tasklets::spawn(&skynet, result, 0LL, bench::skynet_leaves);
        if (result.receive() != bench::skynet_sum) state.SkipWithError("wrong sum");
        tasklets::run();
    }
    state.SetLabel("default stack, channel<long long>, 1 thread, one child at a time");
}
BENCH_REGISTER(benchmark::RegisterBenchmark("skynet/tasklets_floor_1thread", &skynet_floor)
                   ->UseRealTime()->MeasureProcessCPUTime());
}  // namespace floor_row
