// Windows x64: what a context switch must carry besides registers. The TEB's stack
// fields (StackBase, StackLimit, DeallocationStack), its ExceptionList and FiberData
// are per context, and C++ exceptions (SEH-based unwinding on MinGW-w64, dispatched by
// Windows or Wine, which check every frame against StackBase/StackLimit and walk the
// ExceptionList) are thrown and caught on a context's stack. Backtraces end at the
// entry function's null return address.
#include <catch2/catch.hpp>

#include <tasklets/context.hpp>

#include <windows.h>
#include <unwind.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) inline constexpr std::size_t name = value;
#include "frame_windows_x64.h"
#undef TASKLETS_OFFSET
#undef TASKLETS_NOTE

namespace {

constexpr std::size_t stack_bytes = 64 * 1024;

struct raw_stack {
    std::unique_ptr<std::byte[]> bytes{new std::byte[stack_bytes]};
    void* base() const { return bytes.get(); }
    void* aligned_top() const {
        return reinterpret_cast<void*>((reinterpret_cast<std::uintptr_t>(bytes.get()) + stack_bytes) &
                                       ~std::uintptr_t{15});
    }
};

struct teb_fields {
    void* stack_base = nullptr;
    void* stack_limit = nullptr;
    void* deallocation_stack = nullptr;
    void* exception_list = nullptr;
    void* fiber_data = nullptr;
    bool operator==(const teb_fields&) const = default;
};

// Read through gs, as the switch does (NtCurrentTeb() returns the same block).
void* field(std::size_t offset) {
    void* v;
    asm volatile("movq %%gs:(%1), %0" : "=r"(v) : "r"(offset));
    return v;
}

teb_fields read_teb() {
    return {field(TASKLETS_TEB_STACK_BASE), field(TASKLETS_TEB_STACK_LIMIT), field(TASKLETS_TEB_DEALLOCATION_STACK),
            field(TASKLETS_TEB_EXCEPTION_LIST), field(TASKLETS_TEB_FIBER_DATA)};
}

struct teb_run {
    tasklets::context main, self;
    teb_fields inside, inside_again;
    raw_stack inner_stack;
    tasklets::context inner_self;
    teb_fields inner, back_from_inner;
};

[[noreturn]] void inner_entry(void* value) {
    auto* run = static_cast<teb_run*>(value);
    run->inner = read_teb();
    for (;;) tasklets::switch_context(run->inner_self, run->self);
}

[[noreturn]] void teb_entry(void* value) {
    auto* run = static_cast<teb_run*>(value);
    run->inside = read_teb();
    // A context made and run from here sees its own stack, and ours comes back.
    tasklets::context inner = tasklets::make_context(run->inner_stack.base(), stack_bytes, &inner_entry);
    tasklets::switch_context(run->self, inner, run);
    run->back_from_inner = read_teb();
    tasklets::switch_context(run->self, run->main);
    run->inside_again = read_teb();
    for (;;) tasklets::switch_context(run->self, run->main);
}

}  // namespace

TEST_CASE("abi (Windows x64): the TEB's stack fields inside a context are its own stack's, and each side's come back",
          "[abi][context][teb]") {
    raw_stack stack;
    teb_run run;
    const teb_fields thread = read_teb();
    tasklets::context ctx = tasklets::make_context(stack.base(), stack_bytes, &teb_entry);
    tasklets::switch_context(run.main, ctx, &run);
    const teb_fields after_first = read_teb();
    tasklets::switch_context(run.main, run.self);
    const teb_fields after_second = read_teb();

    CHECK(run.inside.stack_base == stack.aligned_top());
    CHECK(run.inside.stack_limit == stack.base());
    CHECK(run.inside.deallocation_stack == stack.base());
    // The end of the chain: no handler registered on the thread's stack is reached.
    CHECK(run.inside.exception_list == reinterpret_cast<void*>(~std::uintptr_t{0}));
    CHECK(run.inside.fiber_data == thread.fiber_data);
    CHECK(run.inner.stack_base == run.inner_stack.aligned_top());
    CHECK(run.inner.stack_limit == run.inner_stack.base());
    CHECK(run.back_from_inner == run.inside);
    CHECK(run.inside_again == run.inside);
    CHECK(after_first == thread);
    CHECK(after_second == thread);
}

namespace {

struct counts_destruction {
    int* counter;
    ~counts_destruction() { ++*counter; }
};

[[gnu::noinline]] int throw_from(int* destroyed, int depth) {
    counts_destruction guard{destroyed};
    if (depth == 0) throw std::runtime_error("thrown 5 frames down on a context");
    return throw_from(destroyed, depth - 1) + 1;  // not a tail call: each frame stays
}

struct walk {
    std::vector<std::uintptr_t> ips;
    _Unwind_Reason_Code end = _URC_NO_REASON;
};

_Unwind_Reason_Code record_frame(_Unwind_Context* context, void* arg) {
    auto* w = static_cast<walk*>(arg);
    if (w->ips.size() >= 256) return _URC_NORMAL_STOP;  // wandering: stop and fail
    w->ips.push_back(_Unwind_GetIP(context));
    return _URC_NO_REASON;
}

[[gnu::noinline]] void walk_from(walk* w, int depth) {
    if (depth == 0) {
        w->end = _Unwind_Backtrace(&record_frame, w);
        return;
    }
    walk_from(w, depth - 1);
    asm volatile("" ::: "memory");  // not a tail call
}

struct exception_run {
    tasklets::context main, self;
    std::string caught_here, caught_deep;
    int destroyed = 0;
    walk deep_walk;
};

[[noreturn]] void exception_entry(void* value) {
    auto* run = static_cast<exception_run*>(value);
    try {
        throw std::logic_error("thrown and caught in the entry");
    } catch (const std::logic_error& e) {
        run->caught_here = e.what();
    }
    tasklets::switch_context(run->self, run->main);  // main is inside a try block now
    try {
        throw_from(&run->destroyed, 4);
    } catch (const std::runtime_error& e) {
        run->caught_deep = e.what();
    }
    walk_from(&run->deep_walk, 3);
    for (;;) tasklets::switch_context(run->self, run->main);
}

}  // namespace

TEST_CASE("abi (Windows x64): C++ exceptions are thrown and caught on a context, in one frame and across five",
          "[abi][context][unwind]") {
    raw_stack stack;
    exception_run run;
    tasklets::context ctx = tasklets::make_context(stack.base(), stack_bytes, &exception_entry);
    tasklets::switch_context(run.main, ctx, &run);
    // The context's second exception is dispatched while the thread's stack is inside a
    // try block (suspended here): only the context's own frames may be searched.
    std::string caught_on_main;
    try {
        tasklets::switch_context(run.main, run.self);
    } catch (const std::exception& e) {
        caught_on_main = e.what();
    }
    CHECK(run.caught_here == "thrown and caught in the entry");
    CHECK(run.caught_deep == "thrown 5 frames down on a context");
    CHECK(run.destroyed == 5);
    CHECK(caught_on_main == "");
}

TEST_CASE("abi (Windows x64): a backtrace inside a context ends cleanly at the context's entry function",
          "[abi][context][unwind]") {
    raw_stack stack;
    exception_run run;
    tasklets::context ctx = tasklets::make_context(stack.base(), stack_bytes, &exception_entry);
    tasklets::switch_context(run.main, ctx, &run);
    tasklets::switch_context(run.main, run.self);

    const walk& w = run.deep_walk;
    CHECK(w.end == _URC_END_OF_STACK);
    // walk_from x4, exception_entry, then the null return address the port stored
    // (libgcc's SEH unwinder reports it before it stops).
    REQUIRE(w.ips.size() >= 6);
    CHECK(w.ips.size() <= 8);
    CHECK(w.ips.back() == 0);
    // The last real frame is the entry function's.
    const auto entry = reinterpret_cast<std::uintptr_t>(&exception_entry);
    DWORD64 image_base = 0;
    auto* function = RtlLookupFunctionEntry(w.ips[w.ips.size() - 2] - 1, &image_base, nullptr);
    REQUIRE(function != nullptr);
    CHECK(image_base + function->BeginAddress == entry);
}
