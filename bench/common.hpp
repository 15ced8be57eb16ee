// bench/common.hpp — shared plumbing of the tasklets benchmark suite.
//
// Every workload of the suite lives in one binary (tasklets_bench), implemented once per
// library. A workload file registers, at static-initialisation time:
//   - Google Benchmark benchmarks named "<workload>/<implementation>[/<extra>]"
//     (e.g. "switch/tasklets_context", "switch/boost_fcontext"): the renderer groups rows
//     by <workload> and divides by the row whose implementation starts with "tasklets";
//   - "ops" for the callgrind driver (`tasklets_bench --ops NAME N`): set up, run N round
//     trips, tear down, with no Google Benchmark machinery in the loop, so that two runs
//     with different N difference to an exact instruction count per round trip;
//   - "park" drivers for the memory workload (`tasklets_bench --park NAME COUNT`), which
//     must run in a fresh process each (cold stack pool, clean RSS baseline).
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace bench {

// ---- registries for the non-Google-Benchmark modes ----------------------------------------
using op_fn = void (*)(long iterations);

/// What a park driver reports. `parked` counts contexts that reached their blocking point.
struct park_result {
    long parked = 0;
    double seconds = 0;           // wall time to spawn-and-park `parked` contexts
    std::string note;             // stack kind, guard pages, failure message...
};
/// Spawns `count` contexts that each block; calls progress(parked) after each chunk.
using park_fn = park_result (*)(long count, void (*progress)(long parked));

struct op_entry { std::string name; op_fn fn; };
struct park_entry { std::string name; park_fn fn; };

inline std::vector<op_entry>& ops() { static std::vector<op_entry> v; return v; }
inline std::vector<park_entry>& parks() { static std::vector<park_entry> v; return v; }

/// Run by main() after the timed suite, in order: tear-downs that must not wait for static
/// destruction (threads of a peer's scheduler).
inline std::vector<void (*)()>& at_end() { static std::vector<void (*)()> v; return v; }

inline int add_op(const char* name, op_fn fn) { ops().push_back({name, fn}); return 0; }
inline int add_park(const char* name, park_fn fn) { parks().push_back({name, fn}); return 0; }

// ---- round-trip workloads -----------------------------------------------------------------
// All benchmarks use wall-clock time: a peer running on other threads (std::thread) must
// be charged for them too, and the suite is pinned to one core.
// A round-trip workload is a class W: W() sets up (spawns the partner), w.op() does one
// round trip, ~W() tears down. Both modes drive it the same way.
template <class W>
void gb_round_trip(benchmark::State& state) {
    W w;
    for (auto _ : state) w.op();
}
template <class W>
void ops_round_trip(long n) {
    W w;
    for (long i = 0; i < n; ++i) w.op();
}

/// Registers W as benchmark `name` and as op `name`.
template <class W>
int round_trip(const char* name) {
    benchmark::RegisterBenchmark(name, &gb_round_trip<W>)->UseRealTime()->MeasureProcessCPUTime();
    add_op(name, &ops_round_trip<W>);
    return 0;
}

#define BENCH_CAT2(a, b) a##b
#define BENCH_CAT(a, b) BENCH_CAT2(a, b)
/// At namespace scope: BENCH_ROUND_TRIP("switch/foo", foo_switch);
#define BENCH_ROUND_TRIP(name, W) \
    [[maybe_unused]] static const int BENCH_CAT(bench_reg_, __LINE__) = ::bench::round_trip<W>(name)
/// At namespace scope: runs `expr` (a registration) once at start-up.
#define BENCH_REGISTER(expr) [[maybe_unused]] static const int BENCH_CAT(bench_reg_, __LINE__) = ((expr), 0)

// ---- workload sizes (the benchmark goals in README.md, "Benchmarks") -----------------------
inline constexpr long spawn_count = 100'000;     // spawn-join: tasklets per batch
inline constexpr long thread_spawn_count = 10'000;  // std::thread: 100k threads at once exceed vm.max_map_count
inline constexpr int ring_size = 503;            // thread-ring
inline constexpr long ring_hops = 503L * 100;    // hops per batch (token start value)
inline constexpr long thread_ring_hops = 503L * 4;  // futex hops are ~1000x slower
inline constexpr std::size_t peer_stack_size = 64 * 1024;  // = tasklets' default stack
// skynet (bench/multicore): each task spawns 10 children down to 1,000,000 leaves, and the
// sums come back over channels. Times are per task: 1 + 10 + ... + 1,000,000 of them.
inline constexpr long skynet_leaves = 1'000'000;
inline constexpr long skynet_div = 10;
inline constexpr long skynet_tasks = 1'111'111;
inline constexpr long long skynet_sum = 499'999'500'000LL;  // 0 + 1 + ... + 999,999

// ---- /proc/self/status --------------------------------------------------------------------
/// A field of /proc/self/status in bytes (the file gives kB); -1 if absent.
inline long long proc_status_bytes(const char* field) {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long long value = -1;
    const std::size_t n = std::strlen(field);
    while (std::fgets(line, sizeof line, f)) {
        if (std::strncmp(line, field, n) == 0 && line[n] == ':') {
            value = std::strtoll(line + n + 1, nullptr, 10) * 1024;
            break;
        }
    }
    std::fclose(f);
    return value;
}

inline double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace bench
