// tasklets_park_depth: the measurements behind the design of shared-stack tasklets
// (issue 16, docs/shared-stacks.md), which save only the live part of a parked tasklet's
// stack and copy it back when it runs.
//   1. How many bytes of stack a tasklet holds when it parks in each kind of wait
//      (stack_depth(): from its saved stack pointer to the top): what a shared-mode
//      tasklet would have to save.
//   2. copy/<bytes>: what saving and restoring that many bytes costs (copy out to a
//      buffer, copy back), the price a shared-mode switch adds to a dedicated one.
#include <tasklets/debug.hpp>
#include <tasklets/tasklets.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <vector>

using namespace std::chrono_literals;

namespace {

void print_park_depths() {
    tasklets::channel<int> c1, c2, c3;
    tasklets::shared_channel<int> shared;
    auto receiver = tasklets::spawn([&] { (void)c1.receive(); });
    auto sender = tasklets::spawn([&] { c2.send(1); });
    auto sleeper = tasklets::spawn([] { tasklets::sleep_for(1h); });
    auto selector = tasklets::spawn([&] {
        auto a = tasklets::on_receive(c3);
        auto b = tasklets::on_receive(c1);
        (void)tasklets::select(a, b);
    });
    auto shared_receiver = tasklets::spawn([&] { (void)shared.receive(); });
    auto yielder = tasklets::spawn([] {
        for (;;) tasklets::schedule();
    });
    for (int i = 0; i < 3; ++i) tasklets::schedule();
    std::printf("| parked in | live stack (bytes) |\n|---|---:|\n");
    std::printf("| schedule() (runnable) | %zu |\n", tasklets::stack_depth(yielder));
    std::printf("| channel<int>::receive | %zu |\n", tasklets::stack_depth(receiver));
    std::printf("| channel<int>::send | %zu |\n", tasklets::stack_depth(sender));
    std::printf("| sleep_for | %zu |\n", tasklets::stack_depth(sleeper));
    std::printf("| select over 2 channels | %zu |\n", tasklets::stack_depth(selector));
    std::printf("| shared_channel<int>::receive | %zu |\n\n", tasklets::stack_depth(shared_receiver));
    std::fflush(stdout);
    for (auto* t : {&receiver, &sender, &sleeper, &selector, &shared_receiver, &yielder}) t->kill();
}

// Copy `n` bytes out of a stack-like region into a heap buffer and back: one park and one
// resume of a shared-mode tasklet with n live bytes.
void copy_round_trip(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    std::vector<unsigned char> stack(64 * 1024, 1), saved(n);
    unsigned char* live = stack.data() + stack.size() - n;
    for (auto _ : state) {
        std::memcpy(saved.data(), live, n);
        benchmark::ClobberMemory();
        std::memcpy(live, saved.data(), n);
        benchmark::ClobberMemory();
    }
}
BENCHMARK(copy_round_trip)->Name("copy")->RangeMultiplier(2)->Range(64, 8192);

}  // namespace

int main(int argc, char** argv) {
    print_park_depths();
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
