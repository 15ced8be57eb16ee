// Load-to-use latency by working-set size: a dependent pointer chase through one
// random cycle over 64-byte lines. Used to put a price on the ring workload's cache
// misses (README, Benchmarks).
//
//     g++ -O2 -std=c++20 bench/tools/pointer_chase.cpp -o /tmp/pointer_chase
//     taskset -c 1 /tmp/pointer_chase
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <numeric>
#include <random>
#include <vector>

int main() {
    struct alignas(64) line {
        line* next;
    };
    for (std::size_t kib : {16, 32, 192, 256, 1024, 8192, 65536}) {
        const std::size_t n = kib * 1024 / sizeof(line);
        std::vector<line> lines(n);
        std::vector<std::size_t> order(n);
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::shuffle(order.begin() + 1, order.end(), std::mt19937(1));
        for (std::size_t i = 0; i < n; ++i) lines[order[i]].next = &lines[order[(i + 1) % n]];
        line* p = &lines[0];
        for (std::size_t i = 0; i < n; ++i) p = p->next;  // warm: every line once
        constexpr long steps = 20'000'000;
        const auto t0 = std::chrono::steady_clock::now();
        for (long i = 0; i < steps; ++i) p = p->next;
        const auto t1 = std::chrono::steady_clock::now();
        std::printf("%6zu KiB: %.2f ns per dependent load%s\n", kib,
                    std::chrono::duration<double, std::nano>(t1 - t0).count() / steps, p ? "" : " ");
    }
}
