// glibc ucontext: swapcontext round trip, spawn-join and parked contexts.
// swapcontext saves and restores the signal mask (a sigprocmask system call each way),
// which is why it is in another league; it is here because it is what many C projects use.
#include "common.hpp"

#include <cstdlib>
#include <memory>
#include <ucontext.h>
#include <vector>

namespace {

// ---- switch -------------------------------------------------------------------------------
struct ucontext_switch {
    ucontext_t main_ctx{}, other_ctx{};
    std::unique_ptr<char[]> stack{new char[bench::peer_stack_size]};
    static inline ucontext_switch* self = nullptr;
    static void bounce() {
        for (;;) swapcontext(&self->other_ctx, &self->main_ctx);
    }
    ucontext_switch() {
        self = this;
        getcontext(&other_ctx);
        other_ctx.uc_stack.ss_sp = stack.get();
        other_ctx.uc_stack.ss_size = bench::peer_stack_size;
        other_ctx.uc_link = nullptr;
        makecontext(&other_ctx, &bounce, 0);
        swapcontext(&main_ctx, &other_ctx);
    }
    void op() { swapcontext(&main_ctx, &other_ctx); }
};
BENCH_ROUND_TRIP("switch/ucontext", ucontext_switch);

// ---- spawn-join: create 100k contexts (malloc'd 64 KiB stacks), then run each to its end --
long counter = 0;
void increment() { ++counter; }  // returns into uc_link

void spawn_join_ucontext(benchmark::State& state) {
    const long n = bench::spawn_count;
    std::vector<ucontext_t> ctx(n);
    std::vector<char*> stacks(n);
    ucontext_t main_ctx;
    while (state.KeepRunningBatch(n)) {
        counter = 0;
        for (long i = 0; i < n; ++i) {
            stacks[i] = static_cast<char*>(std::malloc(bench::peer_stack_size));
            getcontext(&ctx[i]);
            ctx[i].uc_stack.ss_sp = stacks[i];
            ctx[i].uc_stack.ss_size = bench::peer_stack_size;
            ctx[i].uc_link = &main_ctx;
            makecontext(&ctx[i], &increment, 0);
        }
        for (long i = 0; i < n; ++i) {
            swapcontext(&main_ctx, &ctx[i]);
            std::free(stacks[i]);
        }
        if (counter != n) state.SkipWithError("counter mismatch");
    }
}
BENCH_REGISTER(benchmark::RegisterBenchmark("spawn_join/ucontext", &spawn_join_ucontext)->UseRealTime()->MeasureProcessCPUTime());

// ---- memory: contexts started and suspended on their own malloc'd stack -----------------
ucontext_t park_main;
ucontext_t* park_self;
void park_body() {
    swapcontext(park_self, &park_main);  // parks for good
}
bench::park_result park_ucontext(long count, void (*progress)(long)) {
    bench::park_result r;
    r.note = "malloc'd 64 KiB stacks, no guard page";
    auto* ctx = new ucontext_t[count];
    const double t0 = bench::now_seconds();
    for (long i = 0; i < count; ++i) {
        char* stack = static_cast<char*>(std::malloc(bench::peer_stack_size));
        if (!stack) { r.note += "; malloc failed"; break; }
        getcontext(&ctx[i]);
        ctx[i].uc_stack.ss_sp = stack;
        ctx[i].uc_stack.ss_size = bench::peer_stack_size;
        ctx[i].uc_link = nullptr;
        makecontext(&ctx[i], &park_body, 0);
        park_self = &ctx[i];
        swapcontext(&park_main, &ctx[i]);
        r.parked = i + 1;
        if (r.parked % 10000 == 0) progress(r.parked);
    }
    r.seconds = bench::now_seconds() - t0;
    return r;
}
BENCH_REGISTER(bench::add_park("ucontext", &park_ucontext));

}  // namespace
