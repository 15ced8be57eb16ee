// Boost.Context peers: the raw fcontext API (make_fcontext/jump_fcontext, what
// boost::context::fiber and Boost.Fiber are built on) and boost::context::fiber.
#include "common.hpp"

#include <boost/context/detail/fcontext.hpp>
#include <boost/context/fiber.hpp>
#include <boost/context/fixedsize_stack.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>

#include <cstdlib>
#include <sys/mman.h>
#include <vector>

namespace ctx = boost::context;
namespace fc = boost::context::detail;

namespace {

// ---- switch/boost_fcontext ----------------------------------------------------------------
void fcontext_bounce(fc::transfer_t t) {
    for (;;) t = fc::jump_fcontext(t.fctx, nullptr);
}

struct boost_fcontext_switch {
    static constexpr std::size_t size = bench::peer_stack_size;
    void* stack;
    fc::fcontext_t other;
    boost_fcontext_switch() {
        stack = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (stack == MAP_FAILED) std::abort();
        other = fc::make_fcontext(static_cast<char*>(stack) + size, size, &fcontext_bounce);
        other = fc::jump_fcontext(other, nullptr).fctx;
    }
    void op() { other = fc::jump_fcontext(other, nullptr).fctx; }
    ~boost_fcontext_switch() { ::munmap(stack, size); }
};
BENCH_ROUND_TRIP("switch/boost_fcontext", boost_fcontext_switch);

// switch_framed/boost_fcontext: each side jumps from inside a function of its own (see
// bench_tasklets_context.cpp).
__attribute__((noinline)) fc::transfer_t framed_jump(fc::fcontext_t to) {
    fc::transfer_t t = fc::jump_fcontext(to, nullptr);
    asm volatile("");
    return t;
}
void fcontext_bounce_framed(fc::transfer_t t) {
    for (;;) t = framed_jump(t.fctx);
}
struct boost_fcontext_switch_framed {
    static constexpr std::size_t size = bench::peer_stack_size;
    void* stack;
    fc::fcontext_t other;
    boost_fcontext_switch_framed() {
        stack = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (stack == MAP_FAILED) std::abort();
        other = fc::make_fcontext(static_cast<char*>(stack) + size, size, &fcontext_bounce_framed);
        other = fc::jump_fcontext(other, nullptr).fctx;
    }
    void op() { other = framed_jump(other).fctx; }
    ~boost_fcontext_switch_framed() { ::munmap(stack, size); }
};
BENCH_ROUND_TRIP("switch_framed/boost_fcontext", boost_fcontext_switch_framed);

// ---- ring_raw/boost_fcontext: 503 fcontexts, each decrementing a shared token -------------
// The peer row of ring_raw (bench_tasklets_context.cpp): one jump per hop. Each stack is a
// 64 KiB mmap of its own, as Boost's stack allocators make them. fcontext hands the
// resumed side the context it came from, so every jump passes the slot where the resumed
// side stores it.
struct fcontext_ring {
    static constexpr int n = bench::ring_size;
    static constexpr std::size_t size = bench::peer_stack_size;
    std::vector<fc::fcontext_t> ctx = std::vector<fc::fcontext_t>(n, nullptr);
    std::vector<void*> stacks = std::vector<void*>(n, nullptr);
    fc::fcontext_t main = nullptr;
    long token = 0;
    int starting = 0;
    static inline fcontext_ring* active = nullptr;

    static void keep(fc::transfer_t t) { *static_cast<fc::fcontext_t*>(t.data) = t.fctx; }
    static void node(fc::transfer_t t) {
        fcontext_ring& r = *active;
        const int i = r.starting;
        keep(t);  // main, which started us
        fc::fcontext_t* self = &r.ctx[static_cast<std::size_t>(i)];
        fc::fcontext_t* to = &r.ctx[static_cast<std::size_t>((i + 1) % n)];
        keep(fc::jump_fcontext(r.main, self));
        for (;;) keep(fc::jump_fcontext(--r.token > 0 ? *to : r.main, self));
    }
    fcontext_ring() {
        active = this;
        for (int i = 0; i < n; ++i) {
            void* stack = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (stack == MAP_FAILED) std::abort();
            stacks[static_cast<std::size_t>(i)] = stack;
            starting = i;
            keep(fc::jump_fcontext(fc::make_fcontext(static_cast<char*>(stack) + size, size, &node), &main));
        }
    }
    void lap(long hops) {
        token = hops + 1;
        active = this;
        keep(fc::jump_fcontext(ctx[0], &main));
    }
    ~fcontext_ring() {
        for (void* stack : stacks) ::munmap(stack, size);  // the contexts are abandoned
    }
};
void ring_raw_fcontext(benchmark::State& state) {
    fcontext_ring r;
    while (state.KeepRunningBatch(bench::ring_hops)) r.lap(bench::ring_hops);
}
BENCH_REGISTER(benchmark::RegisterBenchmark("ring_raw/boost_fcontext", &ring_raw_fcontext)->UseRealTime()->MeasureProcessCPUTime());

// ---- switch/boost_context_fiber -----------------------------------------------------------
struct boost_context_fiber_switch {
    ctx::fiber f;
    boost_context_fiber_switch()
        : f(std::allocator_arg, ctx::fixedsize_stack(bench::peer_stack_size), [](ctx::fiber&& main) {
              for (;;) main = std::move(main).resume();
              return std::move(main);
          }) {
        f = std::move(f).resume();
    }
    void op() { f = std::move(f).resume(); }
    // ~fiber unwinds the suspended fiber (forced_unwind).
};
BENCH_ROUND_TRIP("switch/boost_context_fiber", boost_context_fiber_switch);

// ---- spawn-join/boost_context_fiber: create 100k fibers, then resume each to its end -----
template <class Alloc>
void spawn_join_fiber(benchmark::State& state) {
    const long n = bench::spawn_count;
    long counter = 0;
    std::vector<ctx::fiber> fibers;
    fibers.reserve(n);
    while (state.KeepRunningBatch(n)) {
        counter = 0;
        for (long i = 0; i < n; ++i)
            fibers.emplace_back(std::allocator_arg, Alloc(bench::peer_stack_size), [&counter](ctx::fiber&& main) {
                ++counter;
                return std::move(main);
            });
        for (auto& f : fibers) f = std::move(f).resume();  // runs to the end; stack freed
        fibers.clear();
        if (counter != n) state.SkipWithError("counter mismatch");
    }
}
BENCH_REGISTER(benchmark::RegisterBenchmark("spawn_join/boost_context_fiber",
                                            &spawn_join_fiber<ctx::fixedsize_stack>)->UseRealTime()->MeasureProcessCPUTime());

// ---- memory: fibers started and suspended on their own stack ------------------------------
template <class Alloc>
bench::park_result park_fibers(long count, void (*progress)(long), const char* note) {
    bench::park_result r;
    r.note = note;
    auto* fibers = new ctx::fiber[count];  // leaked on purpose: the process exits
    const double t0 = bench::now_seconds();
    try {
        for (long i = 0; i < count; ++i) {
            fibers[i] = ctx::fiber(std::allocator_arg, Alloc(bench::peer_stack_size), [](ctx::fiber&& main) {
                main = std::move(main).resume();  // parks for good
                return std::move(main);
            });
            fibers[i] = std::move(fibers[i]).resume();
            r.parked = i + 1;
            if (r.parked % 10000 == 0) progress(r.parked);
        }
    } catch (const std::exception& e) {
        r.note += std::string("; failed: ") + e.what();
    }
    r.seconds = bench::now_seconds() - t0;
    return r;
}
bench::park_result park_fixed(long count, void (*progress)(long)) {
    return park_fibers<ctx::fixedsize_stack>(count, progress, "fixedsize_stack: malloc'd 64 KiB, no guard page");
}
bench::park_result park_protected(long count, void (*progress)(long)) {
    return park_fibers<ctx::protected_fixedsize_stack>(
        count, progress, "protected_fixedsize_stack: one mmap + guard page per 64 KiB stack");
}
BENCH_REGISTER(bench::add_park("boost_context_fiber", &park_fixed));
BENCH_REGISTER(bench::add_park("boost_context_fiber_protected", &park_protected));

}  // namespace
