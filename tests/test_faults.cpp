// Fault injection: every system allocation the kernel makes for a scenario (stack slab
// mappings, their advice, guard regions, control blocks) is made to fail in turn, the
// k-th call for every k until the scenario makes fewer than k calls. Each failure must
// surface as std::system_error(ENOMEM) naming what failed and what to do, the scheduler
// must stay consistent (what had not run yet runs afterwards, nothing is stuck), and
// nothing may leak: slabs are counted here, heap blocks by LeakSanitizer (asan preset)
// and Valgrind (ci/test.sh).
//
// Each run happens on a fresh thread, so it starts from an empty scheduler (no pooled
// slab, no cached control block) and the sequence of calls is the same every time;
// the thread's exit tears its scheduler down, which must unmap every slab.
#include <tasklets/tasklets.hpp>

#include "support/faults.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace {

// Large stacks, so that few tasklets fill two slabs of each size (8 MiB slabs): the run
// is repeated once per call, also under TSan and Valgrind.
constexpr std::size_t small_stack = 256 * 1024;  // 32 stacks per slab
constexpr std::size_t big_stack = 1024 * 1024;   // 8 stacks per slab
constexpr int small_per_slab = 32, big_per_slab = 8;
constexpr int small_count = 40;                  // two slabs of each size
constexpr int big_count = 10;
// Guards per slab: one below each stack and one above the last.
// Calls per stack slab: mmap and its huge-page advice on Linux; VirtualAlloc alone on Windows.
#if defined(_WIN32)
constexpr int slab_calls = 1;
#else
constexpr int slab_calls = 2;
#endif
constexpr int guard_calls = 2 * (small_per_slab + 1) + 2 * (big_per_slab + 1);

struct run_result {
    const char* site = nullptr;          // where the injected failure hit (null: nowhere)
    std::uint64_t calls = 0;             // counted calls while armed
    std::vector<std::string> errors;     // what() of every failure that surfaced
    std::vector<std::string> problems;   // consistency violations
};

// 40 small tasklets (half receive on a channel, half yield and finish) and 10 big ones
// (each sends once, with a large capture so its control block bypasses the block cache);
// run; whatever is still blocked afterwards is killed.
run_result run_scenario(std::uint64_t k) {
    run_result r;
    std::thread thread([&] {
        {
            tasklets::channel<int> ch;
            std::vector<tasklets::tasklet> all;
            int finished = 0, failed_inside = 0, received = 0;
            auto note_error = [&](const std::system_error& e) {
                r.errors.emplace_back(e.what());
                if (e.code() != std::error_code(ENOMEM, std::generic_category()))
                    r.problems.push_back("error code " + e.code().message() + " instead of ENOMEM: " + e.what());
            };
            auto receiver = [&] {
                try {
                    received += ch.receive() >= 0;
                    ++finished;
                } catch (const std::system_error& e) {
                    note_error(e);
                    ++failed_inside;
                    throw;
                }
            };
            auto yielder = [&] {
                try {
                    tasklets::schedule();
                    ++finished;
                } catch (const std::system_error& e) {
                    note_error(e);
                    ++failed_inside;
                    throw;
                }
            };
            std::array<char, 1500> ballast{};  // > 1 KiB of capture: an uncached control block
            auto sender = [&, ballast](int value) {
                try {
                    volatile char frame[8192];  // use some of the big stack
                    frame[0] = ballast[0];
                    frame[sizeof frame - 1] = 1;
                    ch.send(value + frame[0]);
                    ++finished;
                } catch (const std::system_error& e) {
                    note_error(e);
                    ++failed_inside;
                    throw;
                }
            };

            tasklets::detail::inject_failure_after(k);
            try {
                for (int i = 0; i < small_count; ++i) {
                    if (i % 2) all.emplace_back(tasklets::tasklet_options{small_stack, {}}, receiver);
                    else all.emplace_back(tasklets::tasklet_options{small_stack, {}}, yielder);
                }
                for (int i = 0; i < big_count; ++i)
                    all.emplace_back(tasklets::tasklet_options{big_stack, "sender"}, sender, i);
                tasklets::run();
            } catch (const std::system_error& e) {
                note_error(e);
            } catch (const std::exception& e) {
                r.problems.push_back(std::string("an exception other than std::system_error: ") + e.what());
            }
            r.site = tasklets::detail::injected_failure_site();
            r.calls = tasklets::detail::injection_calls();
            tasklets::detail::inject_failure_after(0);

            // The scheduler carries on: whatever had not run yet runs now.
            try {
                tasklets::run();
            } catch (const std::exception& e) {
                r.problems.push_back(std::string("run() after the failure threw: ") + e.what());
            }
            int killed = 0;
            for (auto& t : all) {
                if (!t.alive()) continue;
                if (!t.blocked()) r.problems.push_back("tasklet " + std::to_string(t.id()) + " is alive but not blocked after run()");
                t.kill();
                ++killed;
            }
            for (auto& t : all)
                if (t.alive()) r.problems.push_back("tasklet " + std::to_string(t.id()) + " survived kill()");
            if (tasklets::runcount() != 1)
                r.problems.push_back("runcount() is " + std::to_string(tasklets::runcount()) + " after cleanup");
            if (finished + failed_inside + killed != static_cast<int>(all.size()))
                r.problems.push_back(std::to_string(all.size()) + " tasklets made, but " + std::to_string(finished) +
                                     " finished, " + std::to_string(failed_inside) + " failed and " +
                                     std::to_string(killed) + " were killed");
            if (received > small_count / 2) r.problems.push_back("more values received than receivers");
        }
        // The thread's scheduler is torn down at its exit.
    });
    thread.join();
    return r;
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// What each failure must say: what failed, and what to do about it.
void check_message(const std::string& site, const std::string& what) {
    INFO("site: " << site << "\nmessage: " << what);
    CHECK(what.rfind("tasklets: ", 0) == 0);
    CHECK(contains(what, std::strerror(ENOMEM)));  // the errno, as text
    if (site == "mmap of a stack slab") {
        CHECK(contains(what, "cannot map"));
        CHECK(contains(what, "reduce the number of live tasklets or their stack size"));
    } else if (site == "madvise(MADV_GUARD_INSTALL) of a stack guard") {
        CHECK(contains(what, "cannot install a stack guard"));
        CHECK(contains(what, "TASKLETS_STACK_GUARD=mprotect"));
    } else if (site == "mprotect(PROT_NONE) of a stack guard") {
        CHECK(contains(what, "cannot guard a new tasklet stack"));
        CHECK(contains(what, "vm.max_map_count"));
    } else if (site == "VirtualAlloc of a stack slab") {  // Windows (kernel/os/system_windows.cpp)
        CHECK(contains(what, "cannot allocate"));
        CHECK(contains(what, "reduce the number of live tasklets or their stack size"));
    } else if (site == "VirtualProtect(PAGE_NOACCESS) of a stack guard") {
        CHECK(contains(what, "cannot guard a new tasklet stack"));
        CHECK(contains(what, "reduce the number of live tasklets or their stack size"));
    } else if (site == "tasklet control block") {
        CHECK(contains(what, "cannot allocate a tasklet control block"));
        CHECK(contains(what, "reduce the number of live tasklets"));
    } else {
        FAIL("unknown injection site");
    }
}

}  // namespace

TEST_CASE("fault injection: each system allocation of the kernel fails in turn, cleanly and without leaks",
          "[faults][stacks]") {
    const std::size_t slabs_before = tasklets::detail::slabs_mapped();

    // Count the calls without failing any (armed with a k that is never reached).
    run_result all_calls = run_scenario(std::numeric_limits<std::uint64_t>::max());
    for (const auto& p : all_calls.problems) FAIL_CHECK(p);
    REQUIRE(all_calls.site == nullptr);
    REQUIRE(all_calls.errors.empty());
    // 4 stack slabs (mmap + advice + their guards), a control block per big tasklet (too
    // big for a cell) and at least one 16 KiB slab of cells for the small ones.
    REQUIRE(all_calls.calls >= 4 * slab_calls + guard_calls + 1 + big_count);
    REQUIRE(tasklets::detail::slabs_mapped() == slabs_before);

    std::map<std::string, int> sites;
    std::uint64_t k = 1;
    for (;; ++k) {
        run_result r = run_scenario(k);
        INFO("failing call k = " << k << " (" << (r.site ? r.site : "none") << ")");
        for (const auto& p : r.problems) FAIL_CHECK(p);
        CHECK(tasklets::detail::slabs_mapped() == slabs_before);  // every slab unmapped
        if (!r.site) break;
        ++sites[r.site];
        if (contains(r.site, "MADV_NOHUGEPAGE")) {
            CHECK(r.errors.empty());  // advice only: the slab is used without it
        } else {
            // One failure; it may be reported twice (in the tasklet it hit, then by run()).
            REQUIRE_FALSE(r.errors.empty());
            CHECK(r.errors.size() <= 2);
            for (const auto& e : r.errors) check_message(r.site, e);
        }
    }
    // Every call of the counting run failed once, and then no more calls were made.
    CHECK(k == all_calls.calls + 1);
    std::string summary;
    for (const auto& [site, n] : sites) summary += "\n  " + std::to_string(n) + " x " + site;
#if defined(_WIN32)
    CHECK(sites["VirtualAlloc of a stack slab"] == 4);
    CHECK(sites["VirtualProtect(PAGE_NOACCESS) of a stack guard"] == guard_calls);
#else
    CHECK(sites["mmap of a stack slab"] == 4);
    CHECK(sites["madvise(MADV_NOHUGEPAGE) of a stack slab"] == 4);
    CHECK(sites["madvise(MADV_GUARD_INSTALL) of a stack guard"] + sites["mprotect(PROT_NONE) of a stack guard"] ==
          guard_calls);
#endif
    CHECK(sites["tasklet control block"] >= 1 + big_count);
    WARN("fault injection: " << k - 1 << " failing calls, each checked:" << summary);
}
