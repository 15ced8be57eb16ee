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

struct tasklets_context_switch {
    static constexpr std::size_t size = bench::peer_stack_size;
    void* stack;
    pair_contexts p;
    tasklets_context_switch() {
        stack = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (stack == MAP_FAILED) std::abort();
        p.other = tasklets::make_context(stack, size, &bounce);
        tasklets::switch_context(p.main, p.other, &p);  // enters bounce, which comes back
    }
    void op() { tasklets::switch_context(p.main, p.other); }
    ~tasklets_context_switch() { ::munmap(stack, size); }  // the context is abandoned
};

BENCH_ROUND_TRIP("switch/tasklets_context", tasklets_context_switch);

}  // namespace
