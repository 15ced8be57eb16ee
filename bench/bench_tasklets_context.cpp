// switch/tasklets_context — the raw context API (tasklets/context.hpp): A→B→A round trip.
// ring_raw/tasklets_context* — 503 raw contexts in a ring: the floor of any ring.
#include "common.hpp"

#include <tasklets/context.hpp>

#include <cstdlib>
#include <sys/mman.h>
#include <vector>

namespace {

struct pair_contexts {
    tasklets::context main;
    tasklets::context other;
};

[[noreturn]] void bounce(void* value) {
    auto* p = static_cast<pair_contexts*>(value);
    for (;;) tasklets::switch_context(p->other, p->main);
}

struct tasklets_context_switch_base {
    static constexpr std::size_t size = bench::peer_stack_size;
    void* stack;
    pair_contexts p;
    explicit tasklets_context_switch_base(tasklets::context_entry entry) {
        stack = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (stack == MAP_FAILED) std::abort();
        p.other = tasklets::make_context(stack, size, entry);
        tasklets::switch_context(p.main, p.other, &p);  // enters the entry, which comes back
    }
    ~tasklets_context_switch_base() { ::munmap(stack, size); }  // the context is abandoned
};
struct tasklets_context_switch : tasklets_context_switch_base {
    tasklets_context_switch() : tasklets_context_switch_base(&bounce) {}
    void op() { tasklets::switch_context(p.main, p.other); }
};

BENCH_ROUND_TRIP("switch/tasklets_context", tasklets_context_switch);

// switch_framed: the same round trip, but each side switches from inside a function of
// its own (not inlined), as schedule() or a channel operation does. The resumed side then
// returns to a caller the return-stack predictor has not seen: one ret misprediction per
// switch, which the plain loop above never pays.
__attribute__((noinline)) void framed_switch(tasklets::context& from, tasklets::context& to) {
    tasklets::switch_context(from, to);
    asm volatile("");  // keep the call a call, not a tail jump
}
[[noreturn]] void bounce_framed(void* value) {
    auto* p = static_cast<pair_contexts*>(value);
    for (;;) framed_switch(p->other, p->main);
}
struct tasklets_context_switch_framed : tasklets_context_switch_base {
    tasklets_context_switch_framed() : tasklets_context_switch_base(&bounce_framed) {}
    void op() { framed_switch(p.main, p.other); }
};
BENCH_ROUND_TRIP("switch_framed/tasklets_context", tasklets_context_switch_framed);

// ---- ring_raw: 503 contexts, each decrementing a shared token and switching to the next ---
// No channel, no scheduler: one switch per hop into a context whose stack was last touched
// 502 hops ago, so this is what resuming a cold context costs here, the floor under
// ring/*. The stacks are laid out as tasklets' pool lays them out: one mapping, a 64 KiB
// stack every 80 KiB (the 16 KiB between them stands for the guard). `coloured` starts
// each stack's first frame at one of 16 offsets 64 bytes apart, as the pool does;
// `same_offset` starts every one at its top, as a pool of page-aligned stacks would.
struct raw_ring {
    static constexpr int n = bench::ring_size;
    static constexpr std::size_t stack = 64 * 1024, stride = 80 * 1024;
    std::vector<tasklets::context> ctx = std::vector<tasklets::context>(n);
    std::vector<tasklets::context*> next = std::vector<tasklets::context*>(n);
    tasklets::context main;
    long token = 0;
    void* mapping;
    static inline raw_ring* active = nullptr;  // the entry learns its ring from here

    [[noreturn]] static void node(void* index) {
        raw_ring& r = *active;
        tasklets::context& self = r.ctx[reinterpret_cast<std::uintptr_t>(index)];
        tasklets::context& to = *r.next[reinterpret_cast<std::uintptr_t>(index)];
        tasklets::switch_context(self, r.main);  // started: wait for the first lap
        for (;;) tasklets::switch_context(self, --r.token > 0 ? to : r.main);
    }
    explicit raw_ring(bool coloured) {
        mapping = ::mmap(nullptr, stride * n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mapping == MAP_FAILED) std::abort();
        active = this;
        for (int i = 0; i < n; ++i) {
            next[static_cast<std::size_t>(i)] = &ctx[static_cast<std::size_t>((i + 1) % n)];
            const std::size_t colour = coloured ? static_cast<std::size_t>(i % 16) * 64 : 0;
            ctx[static_cast<std::size_t>(i)] =
                tasklets::make_context(static_cast<char*>(mapping) + stride * static_cast<std::size_t>(i),
                                       stack - colour, &node);
            tasklets::switch_context(main, ctx[static_cast<std::size_t>(i)],
                                     reinterpret_cast<void*>(static_cast<std::uintptr_t>(i)));
        }
    }
    void lap(long hops) {
        token = hops + 1;  // the first node's decrement is the first hop's
        active = this;
        tasklets::switch_context(main, ctx[0]);
    }
    ~raw_ring() { ::munmap(mapping, stride * n); }  // the contexts are abandoned
};
template <bool coloured>
void ring_raw(benchmark::State& state) {
    raw_ring r(coloured);
    while (state.KeepRunningBatch(bench::ring_hops)) r.lap(bench::ring_hops);
}
BENCH_REGISTER(benchmark::RegisterBenchmark("ring_raw/tasklets_context_coloured", &ring_raw<true>)->UseRealTime()->MeasureProcessCPUTime());
BENCH_REGISTER(benchmark::RegisterBenchmark("ring_raw/tasklets_context_same_offset", &ring_raw<false>)->UseRealTime()->MeasureProcessCPUTime());

}  // namespace
