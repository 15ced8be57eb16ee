// skynet on one thread's scheduler, with channel<T> (the worker pool's rows are in
// tasklets_pool.cpp):
//   skynet/tasklets_1thread          written as the Go program is: spawn the 10 children,
//                                    then receive their 10 sums
//   skynet/tasklets_shared_1thread   the same on shared stacks
//   skynet/tasklets_floor_1thread    the floor under the pool's row on one worker: each
//                                    child spawned and its sum received before the next
//
// In the first two, children run in ring order, so the tree is walked breadth first and
// every leaf exists before the first one runs: 1,111,111 tasklets are alive at the peak,
// each with a touched stack page, and the time goes to page faults (perf: memcg charging,
// page-table locks, clearing pages). Go's scheduler runs a new goroutine next, and a
// finished one's stack is reused at once, so far fewer are alive (its peak RSS here: ~200
// MB against ~4.7 GB). Running each child at once (remove() + run()) does not change this
// under Stackless's ordering: when a child blocks, its parent goes on spawning, and the
// finished children wait behind it in the ring until the root blocks (measured: the same
// peak).
//
// The floor row has one child alive per level, a handful of tasklets at a time. Per task
// it does what a pool's task does (a spawn, a blocked receive and its hand-off, a death),
// with channel<T> and the thread's own ring instead of shared_channel<T> and a job queue
// that other threads can reach: what is left of the pool's row without its cross-thread
// machinery (docs/multicore.md, "Skynet since").
#include "../common.hpp"

#include <tasklets/tasklets.hpp>

namespace {

// When a node hears from its children: once all ten are spawned, or each before the next.
enum class order { spawn_all_first, one_at_a_time };

// Made once, not per spawn.
tasklets::tasklet_options options_with(tasklets::stack_mode mode) {
    tasklets::tasklet_options o;
    o.stack = mode;
    return o;
}
template <tasklets::stack_mode mode>
const tasklets::tasklet_options options = options_with(mode);

template <tasklets::stack_mode mode, order how>
void skynet(tasklets::channel<long long> out, long long num, long size) {
    if (size == 1) {
        out.send(num);
        return;
    }
    tasklets::channel<long long> results;
    const long child = size / bench::skynet_div;
    long long sum = 0;
    for (long i = 0; i < bench::skynet_div; ++i) {
        tasklets::spawn(options<mode>, &skynet<mode, how>, results, num + i * child, child);
        if constexpr (how == order::one_at_a_time) sum += results.receive();
    }
    if constexpr (how == order::spawn_all_first)
        for (long i = 0; i < bench::skynet_div; ++i) sum += results.receive();
    out.send(sum);
}

template <tasklets::stack_mode mode, order how>
void skynet_tasklets(benchmark::State& state, const char* label) {
    while (state.KeepRunningBatch(bench::skynet_tasks)) {
        tasklets::channel<long long> result;
        tasklets::spawn(options<mode>, &skynet<mode, how>, result, 0LL, bench::skynet_leaves);
        if (result.receive() != bench::skynet_sum) state.SkipWithError("wrong sum");
        tasklets::run();
    }
    state.SetLabel(label);
}

using tasklets::stack_mode;
BENCH_REGISTER(benchmark::RegisterBenchmark("skynet/tasklets_1thread",
                                            &skynet_tasklets<stack_mode::dedicated, order::spawn_all_first>,
                                            "default stack, channel<long long>, 1 thread")
                   ->UseRealTime()->MeasureProcessCPUTime());
// A parked shared-stack tasklet keeps its live frames (a few hundred bytes) rather than a
// touched stack page, so the 1,111,111 alive at the peak cost no page faults; each switch
// between two of them bound to one execution stack copies both ways instead.
BENCH_REGISTER(benchmark::RegisterBenchmark("skynet/tasklets_shared_1thread",
                                            &skynet_tasklets<stack_mode::shared, order::spawn_all_first>,
                                            "shared stacks, channel<long long>, 1 thread")
                   ->UseRealTime()->MeasureProcessCPUTime());
// thread_default: the spawn's fast path, as a pool job's tasklet takes.
BENCH_REGISTER(benchmark::RegisterBenchmark("skynet/tasklets_floor_1thread",
                                            &skynet_tasklets<stack_mode::thread_default, order::one_at_a_time>,
                                            "default stack, channel<long long>, 1 thread, one child at a time")
                   ->UseRealTime()->MeasureProcessCPUTime());

}  // namespace
