// Spec test: 100,000 tasklets alive at once, each blocked on its own channel, then all
// released. Authority: docs/semantics.md §1.7 (stacks), §2.6 (run() returns when every
// tasklet is blocked) and §3.2 (each send runs its waiting receiver at once), and
// include/tasklets/stack.hpp ("Only the pages a tasklet actually touches cost memory").
#include <catch2/catch.hpp>

#include "spec_log.hpp"

#include <tasklets/tasklets.hpp>

#include <cstdint>
#include <vector>

TEST_CASE("100,000 tasklets alive at once, each blocked on its own channel, are all released", "[spec][scale]") {
    constexpr int count = 100'000;
    // The default 64 KiB stacks, with their guard pages, make 6.8 GB of address space for
    // 100,000 tasklets: more than a 32-bit process has (4 GiB on a 64-bit kernel, less on a
    // 32-bit one). There they get the smallest stacks (16 KiB, 2 GB with the guards); the
    // claim is about how many tasklets can wait at once, whatever their stack size.
    const tasklets::tasklet_options options{sizeof(void*) == 4 ? tasklets::min_stack_size : 0, {}};
    std::vector<tasklets::channel<int>> channels(count);
    std::vector<tasklets::tasklet> all;
    all.reserve(count);
    // If the test fails half-way, the blocked tasklets would hold their own channels (and
    // stacks) forever: unwind every one still alive, so later tests start clean.
    struct unwind_all {
        std::vector<tasklets::tasklet>& all;
        ~unwind_all() {
            for (auto& t : all) {
                try {
                    if (!t.alive()) continue;
                    if (!t.started()) {
                        if (t.scheduled()) t.remove();
                    } else {
                        t.kill();
                    }
                } catch (...) {
                }
            }
        }
    } cleanup{all};
    std::int64_t sum = 0;
    int finished = 0;
    for (int i = 0; i < count; ++i) {
        all.emplace_back(options, [&sum, &finished](tasklets::channel<int> c) {
            sum += c.receive();
            ++finished;
        }, channels[static_cast<std::size_t>(i)]);
    }
    REQUIRE(tasklets::runcount() == count + 1);
    tasklets::run();  // each one blocks on its own channel; the ring empties
    REQUIRE(tasklets::runcount() == 1);
    REQUIRE(finished == 0);
    int blocked = 0;
    int balanced = 0;
    for (int i = 0; i < count; ++i) {
        blocked += all[static_cast<std::size_t>(i)].blocked() ? 1 : 0;
        balanced += channels[static_cast<std::size_t>(i)].balance() == -1 ? 1 : 0;
    }
    REQUIRE(blocked == count);
    REQUIRE(balanced == count);
    for (int i = 0; i < count; ++i) channels[static_cast<std::size_t>(i)].send(i);  // preference -1: each runs at once
    REQUIRE(finished == count);
    REQUIRE(sum == std::int64_t{count} * (count - 1) / 2);
    int alive = 0;
    for (const auto& t : all) alive += t.alive() ? 1 : 0;
    REQUIRE(alive == 0);
    REQUIRE(tasklets::runcount() == 1);
}
