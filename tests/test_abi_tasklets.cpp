// ABI conformance through the scheduler: the same properties as test_abi_registers.cpp,
// test_abi_fp.cpp and test_unwind.cpp, on real tasklets (pooled, guard-paged stacks,
// the kernel's entry function) interleaved by schedule().
#include <catch2/catch.hpp>

#include "arch/abi_probe.hpp"
#include "support/frames.hpp"

#include <tasklets/tasklet.hpp>

#if !defined(_WIN32)  // glibc's backtrace(), compared with the unwinder's walk; Windows has no glibc
#include <execinfo.h>
#endif
#include <unwind.h>

#include <cfenv>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// ---- stack alignment deep inside nested calls, after many switches -------------------

struct alignment_count {
    int checked = 0;
    int misaligned = 0;
};

void check_alignment(alignment_count& c) {
    if (tasklets_abi_sp_at_call() % tasklets::abi::call_alignment != 0) ++c.misaligned;
    ++c.checked;
}

// A dynamically sized alloca per level, so alignment cannot hold by accident, and a
// switch to the other tasklets at every level.
[[gnu::noinline]] void nest_and_schedule(alignment_count& c, int depth) {
    auto* scratch = static_cast<volatile char*>(__builtin_alloca(static_cast<std::size_t>(depth) * 13 + 3));
    scratch[0] = static_cast<char>(depth);
    check_alignment(c);
    tasklets::schedule();
    if (depth > 0) nest_and_schedule(c, depth - 1);
    check_alignment(c);
}

}  // namespace

TEST_CASE("abi: tasklets keep the ABI's call alignment deep in nested frames, across many switches",
          "[abi][tasklet]") {
    std::vector<alignment_count> counts(3);
    for (auto& c : counts)
        tasklets::tasklet([&c] {
            check_alignment(c);  // at the top of the tasklet's function
            for (int round = 0; round < 10; ++round) nest_and_schedule(c, 40);
        });
    tasklets::run();
    for (const auto& c : counts) {
        CHECK(c.checked == 1 + 10 * 41 * 2);
        CHECK(c.misaligned == 0);
    }
}

// ---- exceptions -----------------------------------------------------------------------

namespace {

struct counts_destruction {
    int* counter;
    ~counts_destruction() { ++*counter; }
};

[[gnu::noinline]] int throw_after_switch(int& destroyed, int depth, const std::string& message) {
    counts_destruction guard{&destroyed};
    if (depth == 0) {
        tasklets::schedule();  // the other tasklet runs (and throws) while we are 6 frames down
        throw std::runtime_error(message);
    }
    return throw_after_switch(destroyed, depth - 1, message) + 1;  // not a tail call
}

}  // namespace

TEST_CASE("abi: an exception thrown and caught inside a tasklet unwinds through several frames", "[abi][unwind][tasklet]") {
    std::vector<std::string> caught(2);
    std::vector<int> destroyed(2, 0);
    std::vector<std::string> still_current(2);
    for (int i = 0; i < 2; ++i)
        tasklets::tasklet([&, i] {
            try {
                throw_after_switch(destroyed[i], 5, "from tasklet " + std::to_string(i));
            } catch (const std::runtime_error& e) {
                caught[i] = e.what();
                tasklets::schedule();  // switching inside a handler keeps our exception ours
                try {
                    std::rethrow_exception(std::current_exception());
                } catch (const std::runtime_error& again) {
                    still_current[i] = again.what();
                }
            }
        });
    tasklets::run();
    CHECK(caught == std::vector<std::string>{"from tasklet 0", "from tasklet 1"});
    CHECK(still_current == caught);
    CHECK(destroyed == std::vector<int>{6, 6});
}

// ---- backtraces -------------------------------------------------------------------------

namespace {

struct walk {
    std::vector<std::uintptr_t> ips;
    _Unwind_Reason_Code end = _URC_NO_REASON;
    std::vector<void*> glibc;
};

_Unwind_Reason_Code record_frame(_Unwind_Context* context, void* arg) {
    auto* w = static_cast<walk*>(arg);
    if (w->ips.size() >= 256) return tasklets_test::stop_walk;  // wandering: stop and fail
    w->ips.push_back(_Unwind_GetIP(context));
    return _URC_NO_REASON;
}

// Its own frame at every depth in every build type (support/frames.hpp: at -O3 GCC would
// otherwise clone it per constant depth, and no frame would be walk_from itself).
[[TASKLETS_TEST_FRAME]] void walk_from(walk& w, int depth) {
    if (depth == 0) {
        tasklets::schedule();  // a suspended-and-resumed stack must walk the same way
        w.end = _Unwind_Backtrace(&record_frame, &w);
#if !defined(_WIN32)
        w.glibc.resize(256);
        w.glibc.resize(static_cast<std::size_t>(backtrace(w.glibc.data(), 256)));
#endif
        return;
    }
    walk_from(w, depth - 1);
    asm volatile("" ::: "memory");  // not a tail call
}

std::uintptr_t function_of(std::uintptr_t ip) { return tasklets_test::function_of_return(ip); }

// The caller of run(): a backtrace taken on a tasklet must never reach it (opaque, so that
// its address is the one function the check below compares with, never a clone's).
[[TASKLETS_TEST_FRAME]] void run_from_here() {
    tasklets::run();
    asm volatile("" ::: "memory");
}

}  // namespace

TEST_CASE("abi: a backtrace inside a tasklet ends cleanly at the tasklet's entry", "[abi][unwind][tasklet]") {
    walk w;
    tasklets::tasklet([&w] { walk_from(w, 4); });
    tasklets::tasklet([] { tasklets::schedule(); });
    run_from_here();

    CHECK(w.end == tasklets_test::walk_end_at_entry);  // support/frames.hpp
    std::vector<std::uintptr_t> ips = w.ips;
    if (tasklets_test::walk_reports_null_frame) {
        REQUIRE(!ips.empty());
        CHECK(ips.back() == 0);  // the null return address of the fresh frame
        ips.pop_back();
    }
    REQUIRE(ips.size() >= 6);  // _Unwind_Backtrace's caller, walk_from x5, the body...
    CHECK(ips.size() < 31);
    const auto run_caller = tasklets_test::code_address(&run_from_here);
    for (std::size_t i = 0; i < ips.size(); ++i) {
        INFO("frame " << i << " of " << ips.size());
        CHECK(function_of(ips[i]) != 0);  // every frame has unwind info: no garbage
        CHECK(function_of(ips[i]) != run_caller);
    }
    CHECK(function_of(ips[0]) == tasklets_test::code_address(&walk_from));
    CHECK(function_of(ips[4]) == tasklets_test::code_address(&walk_from));

#if !defined(_WIN32)
    REQUIRE(!w.glibc.empty());
    CHECK(w.glibc.size() < 256);
    CHECK(function_of(reinterpret_cast<std::uintptr_t>(w.glibc.back())) ==
          function_of(ips.back()));  // both end at the kernel's entry function
#endif
}

// ---- FP control ---------------------------------------------------------------------------

TEST_CASE("abi: a tasklet's rounding mode is its own and other tasklets and main keep theirs", "[abi][fp][tasklet]") {
    const int original = std::fegetround();
    const int modes[] = {FE_UPWARD, FE_TOWARDZERO, FE_TONEAREST};
    std::vector<int> wrong(3, 0);
    std::fesetround(FE_DOWNWARD);
    for (int i = 0; i < 3; ++i)
        tasklets::tasklet([&, i] {
            std::fesetround(modes[i]);
            for (int round = 0; round < 20; ++round) {
                tasklets::schedule();
                if (std::fegetround() != modes[i]) ++wrong[i];
            }
        });
    int main_wrong = 0;
    for (int round = 0; round < 10; ++round) {
        tasklets::schedule();  // main stays in the ring with the three tasklets
        if (std::fegetround() != FE_DOWNWARD) ++main_wrong;
    }
    tasklets::run();
    const int main_after = std::fegetround();
    std::fesetround(original);

    CHECK(wrong == std::vector<int>{0, 0, 0});
    CHECK(main_wrong == 0);
    CHECK(main_after == FE_DOWNWARD);
}
