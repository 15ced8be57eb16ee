// Unwinding on a context's stack: C++ exceptions thrown and caught inside a context, and
// backtraces taken inside one, which must end cleanly at the context's entry function
// (its null return address, plus .cfi_undefined in the first-entry trampoline) instead
// of walking off the stack into garbage. Run on every architecture; these check the
// unwind tables of the code running on a context and the fresh frame the port builds.
#include <catch2/catch.hpp>

#include <tasklets/context.hpp>
#include "support/frames.hpp"
#include "support/raw_fiber.hpp"

#if !defined(_WIN32)  // glibc's backtrace(), compared with the unwinder's walk; Windows has no glibc
#include <execinfo.h>
#endif
#include <unwind.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr std::size_t stack_bytes = 64 * 1024;

struct raw_stack {
    std::unique_ptr<std::byte[]> bytes{new std::byte[stack_bytes]};
    tasklets_test::valgrind_stack registered{bytes.get(), stack_bytes};  // switched onto by hand
    void* base() const { return bytes.get(); }
};

struct walk {
    std::vector<std::uintptr_t> ips;
    _Unwind_Reason_Code end = _URC_NO_REASON;
};

_Unwind_Reason_Code record_frame(_Unwind_Context* context, void* arg) {
    auto* w = static_cast<walk*>(arg);
    if (w->ips.size() >= 256) return tasklets_test::stop_walk;  // wandering: stop and fail
    w->ips.push_back(_Unwind_GetIP(context));
    return _URC_NO_REASON;
}

// The functions the walk passes through, each a frame of its own in every build type (see
// support/frames.hpp: at -O3 GCC would otherwise clone walk_from per depth and move the
// entry's code after throw_from() into a separate .cold part).
[[TASKLETS_TEST_FRAME]] walk unwind_here() {
    walk w;
    w.end = _Unwind_Backtrace(&record_frame, &w);
    return w;
}

struct unwind_run {
    tasklets::context main, self;
    std::string caught;
    int destroyed = 0;
    walk deep_walk;
    std::vector<void*> glibc_frames;
};

struct counts_destruction {
    int* counter;
    ~counts_destruction() { ++*counter; }
};

[[TASKLETS_TEST_FRAME]] int throw_from(unwind_run* run, int depth) {
    counts_destruction guard{&run->destroyed};
    if (depth == 0) throw std::runtime_error("thrown 5 frames down on a context");
    return throw_from(run, depth - 1) + 1;  // not a tail call: each frame stays
}

[[TASKLETS_TEST_FRAME]] void walk_from(unwind_run* run, int depth) {
    if (depth == 0) {
        run->deep_walk = unwind_here();
#if !defined(_WIN32)
        run->glibc_frames.resize(256);
        run->glibc_frames.resize(static_cast<std::size_t>(backtrace(run->glibc_frames.data(), 256)));
#endif
        return;
    }
    walk_from(run, depth - 1);
    asm volatile("" ::: "memory");  // not a tail call
}

[[TASKLETS_TEST_FRAME, noreturn]] void unwind_entry(void* value) {
    tasklets_test::raw_fiber::context_entered();
    auto* run = static_cast<unwind_run*>(value);
    try {
        throw_from(run, 4);
    } catch (const std::runtime_error& e) {
        run->caught = e.what();
    }
    walk_from(run, 3);
    tasklets_test::raw_fiber::context_leaving_for_good();
    for (;;) tasklets::switch_context(run->self, run->main);
}

// The function whose unwind-table entry contains the call that return address `ip` returns to.
std::uintptr_t function_of(std::uintptr_t ip) { return tasklets_test::function_of_return(ip); }

}  // namespace

TEST_CASE("unwind: an exception thrown and caught inside a context unwinds through several frames",
          "[unwind][context]") {
    raw_stack stack;
    unwind_run run;
    tasklets::context ctx = tasklets::make_context(stack.base(), stack_bytes, &unwind_entry);
    tasklets_test::raw_fiber::main_leaving_for(stack.base(), stack_bytes);
    tasklets::switch_context(run.main, ctx, &run);
    tasklets_test::raw_fiber::main_returned();
    CHECK(run.caught == "thrown 5 frames down on a context");
    CHECK(run.destroyed == 5);
}

TEST_CASE("unwind: a backtrace inside a context ends cleanly at the context's entry function",
          "[unwind][context]") {
    raw_stack stack;
    unwind_run run;
    tasklets::context ctx = tasklets::make_context(stack.base(), stack_bytes, &unwind_entry);
    tasklets_test::raw_fiber::main_leaving_for(stack.base(), stack_bytes);
    tasklets::switch_context(run.main, ctx, &run);
    tasklets_test::raw_fiber::main_returned();

    const walk& w = run.deep_walk;
    const auto entry = tasklets_test::code_address(&unwind_entry);
    // _Unwind_Backtrace ends at the null return address the port stored (not at our stop,
    // nor after wandering): with _URC_END_OF_STACK, or on ARM EHABI _URC_FAILURE (see
    // support/frames.hpp, walk_end_at_entry).
    CHECK(w.end == tasklets_test::walk_end_at_entry);
    // unwind_here, walk_from x4, unwind_entry; the DWARF unwinder then reports one last
    // frame whose return address is the null one.
    std::vector<std::uintptr_t> ips = w.ips;
    if (tasklets_test::walk_reports_null_frame) {
        REQUIRE(!ips.empty());
        CHECK(ips.back() == 0);
        ips.pop_back();
    }
    REQUIRE(ips.size() >= 5);
    CHECK(ips.size() <= 7);
    std::vector<std::uintptr_t> functions;
    for (std::uintptr_t ip : ips) functions.push_back(function_of(ip));
    CHECK(functions.back() == entry);
    CHECK(functions[functions.size() - 2] == tasklets_test::code_address(&walk_from));
    CHECK(functions[functions.size() - 5] == tasklets_test::code_address(&walk_from));

#if !defined(_WIN32)
    // glibc's backtrace() (which drops the trailing null) ends at the same entry.
    REQUIRE(!run.glibc_frames.empty());
    CHECK(run.glibc_frames.size() < 256);
    CHECK(function_of(reinterpret_cast<std::uintptr_t>(run.glibc_frames.back())) == entry);
#endif
}
