// Stack high-water mark and depth (include/tasklets/debug.hpp). Built into tasklets_tests
// (tests/CMakeLists.txt adds it). Each test case uses stack sizes of its own, so that its
// stacks come from slabs no other tasklet of the process has touched (ctest runs each case
// in its own process; the sizes are distinct all the same).
#include <catch2/catch.hpp>

#include "support/page_size.hpp"

#include <tasklets/debug.hpp>
#include <tasklets/tasklets.hpp>
#include <tasklets/version.hpp>

#include <cstddef>
#include <cstring>
#include <string>

#if defined(_WIN32)
#include <windows.h>
#else
#include <sys/mman.h>
#include <unistd.h>
#endif

using tasklets::tasklet;

namespace {

constexpr std::size_t KiB = 1024;
using tasklets_test::page_size;

/// Recurses `levels` times with a 1 KiB frame each (written at both ends, so every page
/// of the frames is touched), then calls `at_bottom`.
template <class F>
__attribute__((noinline)) int dig(int levels, F& at_bottom) {
    volatile char frame[1024];
    frame[0] = static_cast<char>(levels);
    frame[sizeof frame - 1] = static_cast<char>(levels);
    if (levels == 0) {
        at_bottom();
        return frame[0];
    }
    return dig(levels - 1, at_bottom) + frame[sizeof frame - 1];
}

#if defined(_WIN32)
/// Windows drops pages by decommitting them (kernel/debug/stack_usage.cpp), which always
/// takes effect.
bool madvise_dontneed_works() { return true; }
#else
/// Does this environment honour MADV_DONTNEED (QEMU 7.2 user mode accepts and ignores it)?
bool madvise_dontneed_works() {
    const std::size_t page = page_size();
    void* p = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    static_cast<volatile char*>(p)[0] = 1;
    const bool zeroed = ::madvise(p, page, MADV_DONTNEED) == 0 && static_cast<volatile char*>(p)[0] == 0;
    ::munmap(p, page);
    return zeroed;
}
#endif

}  // namespace

TEST_CASE("version.hpp matches the project version", "[debug][version]") {
    const std::string joined = std::to_string(TASKLETS_VERSION_MAJOR) + "." + std::to_string(TASKLETS_VERSION_MINOR) +
                               "." + std::to_string(TASKLETS_VERSION_PATCH);
    CHECK(joined == TASKLETS_VERSION_STRING);
    CHECK(TASKLETS_VERSION == TASKLETS_VERSION_MAJOR * 10000 + TASKLETS_VERSION_MINOR * 100 + TASKLETS_VERSION_PATCH);
}

TEST_CASE("stack_high_water and stack_depth are 0 without a stack of the tasklet's own", "[debug][stack-usage]") {
    CHECK(tasklets::stack_high_water(tasklet{}) == 0);
    CHECK(tasklets::stack_depth(tasklet{}) == 0);
    CHECK(tasklets::stack_high_water(tasklets::main_tasklet()) == 0);
    CHECK_FALSE(tasklets::reset_stack_high_water(tasklets::main_tasklet()));
    tasklet never_ran({.stack_size = 72 * KiB, .name = "never ran"}, [] {});
    CHECK(tasklets::stack_high_water(never_ran) == 0);
    tasklets::run();
    CHECK_FALSE(never_ran.alive());
    CHECK(tasklets::stack_high_water(never_ran) == 0);
}

TEST_CASE("a tasklet that recurses 200 KiB deep reports at least that, and a shallow one on a fresh stack a few pages",
          "[debug][stack-usage]") {
    constexpr std::size_t deep_size = 392 * KiB;
    std::size_t depth_at_bottom = 0;
    std::size_t high_at_bottom = 0;
    auto at_bottom = [&] {
        depth_at_bottom = tasklets::stack_depth(tasklets::current());
        high_at_bottom = tasklets::stack_high_water(tasklets::current());
        tasklets::schedule_remove();  // park at the bottom
    };
    tasklet deep({.stack_size = deep_size, .name = "deep"}, [&] { dig(200, at_bottom); });
    tasklet shallow({.stack_size = 328 * KiB, .name = "shallow"}, [] { tasklets::schedule_remove(); });
    tasklets::run();
    REQUIRE(deep.paused());
    REQUIRE(shallow.paused());

    INFO("running at the bottom: depth " << depth_at_bottom << ", high-water " << high_at_bottom);
    CHECK(depth_at_bottom >= 200 * KiB);
    CHECK(high_at_bottom >= depth_at_bottom);
    CHECK(high_at_bottom <= deep_size);

    // Parked at the bottom, seen from main.
    const std::size_t parked_depth = tasklets::stack_depth(deep);
    const std::size_t parked_high = tasklets::stack_high_water(deep);
    INFO("parked: depth " << parked_depth << ", high-water " << parked_high);
    CHECK(parked_depth >= 200 * KiB);
    CHECK(parked_high >= parked_depth);
    CHECK(parked_high <= deep_size);
    CHECK(parked_high % page_size() == 0);

    // The shallow one touched little of its fresh stack.
    const std::size_t shallow_high = tasklets::stack_high_water(shallow);
    INFO("shallow: high-water " << shallow_high << ", depth " << tasklets::stack_depth(shallow));
    CHECK(shallow_high >= page_size());
    CHECK(shallow_high <= 16 * KiB);
    CHECK(tasklets::stack_depth(shallow) <= shallow_high);

    deep.kill();
    shallow.kill();
}

TEST_CASE("a pooled stack reports its previous user's depth until reset_stack_high_water()", "[debug][stack-usage]") {
    if (!madvise_dontneed_works()) {
        WARN("skipped: this environment accepts madvise(MADV_DONTNEED) but leaves the pages as they were "
             "(QEMU user mode does), so reset_stack_high_water() cannot forget pages here");
        return;
    }
    constexpr std::size_t size = 296 * KiB;
    auto nothing = [] {};
    tasklet first({.stack_size = size, .name = "first"}, [&] { dig(150, nothing); });
    tasklets::run();
    REQUIRE_FALSE(first.alive());

    // LIFO reuse: the next tasklet of this size gets the same, already-touched stack.
    tasklet second({.stack_size = size, .name = "second"}, [] { tasklets::schedule_remove(); });
    tasklets::run();
    REQUIRE(second.paused());
    const std::size_t inherited = tasklets::stack_high_water(second);
    INFO("inherited high-water " << inherited);
    CHECK(inherited >= 150 * KiB);  // the documented upper bound: pages the stack touched before

    // From outside, on the parked tasklet.
    CHECK(tasklets::reset_stack_high_water(second));
    const std::size_t after_reset = tasklets::stack_high_water(second);
    INFO("after reset " << after_reset << ", depth " << tasklets::stack_depth(second));
    CHECK(after_reset <= 8 * KiB);
    CHECK(after_reset >= tasklets::stack_depth(second));
    second.kill();

    // From inside, on the running tasklet, after coming back up from a deep call.
    std::size_t before = 0, after = 0, deep_again = 0;
    tasklet third({.stack_size = size, .name = "third"}, [&] {
        dig(120, nothing);
        before = tasklets::stack_high_water(tasklets::current());
        CHECK(tasklets::reset_stack_high_water(tasklets::current()));
        after = tasklets::stack_high_water(tasklets::current());
        dig(60, nothing);
        deep_again = tasklets::stack_high_water(tasklets::current());
    });
    tasklets::run();
    INFO("running: before reset " << before << ", after " << after << ", after a 60 KiB dig " << deep_again);
    CHECK(before >= 120 * KiB);  // its own dig (the stack was reset while `second` had it)
    CHECK(after <= 16 * KiB);
    CHECK(deep_again >= 60 * KiB);
    CHECK(deep_again < 120 * KiB);
}
