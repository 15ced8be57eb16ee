// switch/tasklets_context — the raw context API (tasklets/context.hpp): A→B→A round trip.
#include "common.hpp"

#include <tasklets/context.hpp>

#include <cstdlib>
#include <sys/mman.h>

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

}  // namespace
