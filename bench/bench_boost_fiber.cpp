// Boost.Fiber peers: a user-mode scheduler with fibers and channels, the closest peer of
// tasklets' scheduler. Default round_robin scheduler on the main thread; default stacks
// (boost::fibers::default_stack, i.e. fixedsize_stack: malloc'd, no guard page).
#include "common.hpp"

#include <boost/context/stack_traits.hpp>
#include <boost/fiber/all.hpp>

#include <memory>
#include <string>
#include <vector>

namespace fibers = boost::fibers;
namespace this_fiber = boost::this_fiber;

namespace {

// ---- schedule/boost_fiber_yield: two fibers, this_fiber::yield round trip -----------------
struct boost_fiber_yield {
    bool stop = false;
    fibers::fiber partner;
    boost_fiber_yield() : partner([this] { while (!stop) this_fiber::yield(); }) {
        this_fiber::yield();  // let the partner start
    }
    void op() { this_fiber::yield(); }
    ~boost_fiber_yield() {
        stop = true;
        partner.join();
    }
};
BENCH_ROUND_TRIP("schedule/boost_fiber_yield", boost_fiber_yield);

// ---- pingpong: two fibers, two channels of int, round trip --------------------------------
template <class Channel>
struct boost_fiber_pingpong {
    Channel ping, pong;
    fibers::fiber partner;
    template <class... A>
    explicit boost_fiber_pingpong(A... a)
        : ping(a...), pong(a...), partner([this] {
              int v;
              while (ping.pop(v) == fibers::channel_op_status::success) pong.push(v + 1);
          }) {}
    int value = 0;
    void op() {
        ping.push(value);
        pong.pop(value);
    }
    ~boost_fiber_pingpong() {
        ping.close();
        partner.join();
    }
};
struct boost_fiber_unbuffered : boost_fiber_pingpong<fibers::unbuffered_channel<int>> {};
struct boost_fiber_buffered : boost_fiber_pingpong<fibers::buffered_channel<int>> {
    boost_fiber_buffered() : boost_fiber_pingpong(2) {}  // capacity: a power of two >= 2
};
BENCH_ROUND_TRIP("pingpong/boost_fiber_unbuffered", boost_fiber_unbuffered);
BENCH_ROUND_TRIP("pingpong/boost_fiber_buffered", boost_fiber_buffered);

// ---- spawn_join: create 100k fibers that each increment a counter, then join them all -----
void spawn_join_boost_fiber(benchmark::State& state) {
    const long n = bench::spawn_count;
    long counter = 0;
    std::vector<fibers::fiber> fs;
    fs.reserve(n);
    while (state.KeepRunningBatch(n)) {
        counter = 0;
        for (long i = 0; i < n; ++i) fs.emplace_back([&counter] { ++counter; });
        for (auto& f : fs) f.join();
        fs.clear();
        if (counter != n) state.SkipWithError("counter mismatch");
    }
    state.SetLabel("default stack " + std::to_string(boost::context::stack_traits::default_size() / 1024) + " KiB");
}
BENCH_REGISTER(benchmark::RegisterBenchmark("spawn_join/boost_fiber", &spawn_join_boost_fiber)->UseRealTime()->MeasureProcessCPUTime());

// ---- ring: 503 fibers, each receives a token on its channel and passes token-1 on --------
void ring_boost_fiber(benchmark::State& state) {
    const int n = bench::ring_size;
    std::vector<std::unique_ptr<fibers::unbuffered_channel<int>>> ch;
    for (int i = 0; i < n; ++i) ch.push_back(std::make_unique<fibers::unbuffered_channel<int>>());
    fibers::unbuffered_channel<int> done;
    std::vector<fibers::fiber> fs;
    for (int i = 0; i < n; ++i)
        fs.emplace_back([&, i] {
            auto& in = *ch[i];
            auto& out = *ch[(i + 1) % n];
            int t;
            while (in.pop(t) == fibers::channel_op_status::success) {
                if (t < 0) return;  // shutdown
                if (t == 0) done.push(i);
                else out.push(t - 1);
            }
        });
    while (state.KeepRunningBatch(bench::ring_hops)) {
        ch[0]->push(static_cast<int>(bench::ring_hops));
        int who = 0;
        done.pop(who);
        benchmark::DoNotOptimize(who);
    }
    for (int i = 0; i < n; ++i) ch[i]->push(-1);
    for (auto& f : fs) f.join();
}
BENCH_REGISTER(benchmark::RegisterBenchmark("ring/boost_fiber", &ring_boost_fiber)->UseRealTime()->MeasureProcessCPUTime());

// ---- memory: fibers each blocked on its own channel ---------------------------------------
bench::park_result park_boost_fiber(long count, void (*progress)(long)) {
    bench::park_result r;
    r.note = "default stack (fixedsize_stack, " +
             std::to_string(boost::context::stack_traits::default_size() / 1024) +
             " KiB malloc'd, no guard page), one unbuffered_channel each";
    // Leaked on purpose: the process exits right after measuring.
    auto* chans = new fibers::unbuffered_channel<int>[count];
    auto* fs = new fibers::fiber[count];
    long parked = 0;
    const long chunk = 10000;
    const double t0 = bench::now_seconds();
    try {
        for (long base = 0; base < count; base += chunk) {
            const long end = std::min(count, base + chunk);
            for (long i = base; i < end; ++i)
                fs[i] = fibers::fiber([&parked, c = &chans[i]] {
                    ++parked;
                    int v;
                    c->pop(v);
                });
            while (parked < end) this_fiber::yield();
            r.parked = parked;
            progress(parked);
        }
    } catch (const std::exception& e) {
        r.parked = parked;
        r.note += std::string("; failed: ") + e.what();
    }
    r.seconds = bench::now_seconds() - t0;
    return r;
}
BENCH_REGISTER(bench::add_park("boost_fiber", &park_boost_fiber));

}  // namespace
