// std::thread peers: OS threads handing values over with a mutex and a condition
// variable. The suite is pinned to one core (bench/run.sh), so every hand-off is a futex
// wake plus a kernel context switch — the cost tasklets exist to avoid.
#include "common.hpp"
#include "thread_switch.hpp"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace {

/// A one-slot mailbox: put() waits for the slot to be empty, take() for it to be full.
class mailbox {
public:
    void put(int v) {
        std::unique_lock lock(m_);
        empty_.wait(lock, [this] { return !full_; });
        value_ = v;
        full_ = true;
        filled_.notify_one();
    }
    int take() {
        std::unique_lock lock(m_);
        filled_.wait(lock, [this] { return full_; });
        full_ = false;
        empty_.notify_one();
        return value_;
    }

private:
    std::mutex m_;
    std::condition_variable filled_, empty_;
    int value_ = 0;
    bool full_ = false;
};

// ---- switch/std_thread_condvar: A→B→A through a shared turn flag (thread_switch.hpp) ----
BENCH_ROUND_TRIP("switch/std_thread_condvar", bench::thread_switch);

// ---- pingpong/std_thread_condvar: two threads, two mailboxes -----------------------------
struct thread_pingpong {
    mailbox ping, pong;
    std::thread partner;
    int value = 0;
    thread_pingpong() : partner([this] {
        for (;;) {
            int v = ping.take();
            if (v < 0) return;
            pong.put(v + 1);
        }
    }) {}
    void op() {
        ping.put(value);
        value = pong.take() & 0x3fffffff;
    }
    ~thread_pingpong() {
        ping.put(-1);
        partner.join();
    }
};
BENCH_ROUND_TRIP("pingpong/std_thread_condvar", thread_pingpong);

// ---- spawn_join/std_thread: 10k threads per batch (100k at once exceed vm.max_map_count) --
void spawn_join_thread(benchmark::State& state) {
    const long n = bench::thread_spawn_count;
    std::atomic<long> counter{0};
    std::vector<std::thread> ts;
    ts.reserve(n);
    while (state.KeepRunningBatch(n)) {
        counter = 0;
        for (long i = 0; i < n; ++i) ts.emplace_back([&counter] { counter.fetch_add(1, std::memory_order_relaxed); });
        for (auto& t : ts) t.join();
        ts.clear();
        if (counter != n) state.SkipWithError("counter mismatch");
    }
    state.SetLabel("batches of 10,000 threads");
}
BENCH_REGISTER(benchmark::RegisterBenchmark("spawn_join/std_thread", &spawn_join_thread)->UseRealTime()->MeasureProcessCPUTime());

// ---- ring/std_thread_condvar: 503 threads, a mailbox each ---------------------------------
void ring_thread(benchmark::State& state) {
    const int n = bench::ring_size;
    std::vector<std::unique_ptr<mailbox>> box;
    for (int i = 0; i < n; ++i) box.push_back(std::make_unique<mailbox>());
    mailbox done;
    std::vector<std::thread> ts;
    for (int i = 0; i < n; ++i)
        ts.emplace_back([&, i] {
            for (;;) {
                int t = box[i]->take();
                if (t < 0) return;
                if (t == 0) done.put(i);
                else box[(i + 1) % n]->put(t - 1);
            }
        });
    while (state.KeepRunningBatch(bench::thread_ring_hops)) {
        box[0]->put(static_cast<int>(bench::thread_ring_hops));
        benchmark::DoNotOptimize(done.take());
    }
    for (int i = 0; i < n; ++i) box[i]->put(-1);
    for (auto& t : ts) t.join();
}
BENCH_REGISTER(benchmark::RegisterBenchmark("ring/std_thread_condvar", &ring_thread)->UseRealTime()->MeasureProcessCPUTime());

// ---- memory: threads each blocked on its own condition variable ---------------------------
bench::park_result park_thread(long count, void (*progress)(long)) {
    bench::park_result r;
    r.note = "default pthread stacks (8 MiB virtual + guard), kernel memory not in RSS";
    struct slot {
        std::mutex m;
        std::condition_variable cv;
    };
    auto* slots = new slot[count];  // leaked on purpose
    std::mutex pm;
    std::condition_variable pcv;
    long parked = 0;
    const double t0 = bench::now_seconds();
    try {
        for (long i = 0; i < count; ++i) {
            std::thread([&, s = &slots[i]] {
                std::unique_lock lock(s->m);
                {
                    std::lock_guard g(pm);
                    ++parked;
                }
                pcv.notify_one();
                s->cv.wait(lock, [] { return false; });
            }).detach();
            if ((i + 1) % 1000 == 0 || i + 1 == count) {
                std::unique_lock lock(pm);
                pcv.wait(lock, [&] { return parked == i + 1; });
                r.parked = parked;
                if (r.parked % 10000 == 0) progress(r.parked);
            }
        }
    } catch (const std::exception& e) {
        std::unique_lock lock(pm);
        r.parked = parked;
        r.note += std::string("; failed: ") + e.what();
    }
    r.seconds = bench::now_seconds() - t0;
    return r;
}
BENCH_REGISTER(bench::add_park("std_thread", &park_thread));

}  // namespace
