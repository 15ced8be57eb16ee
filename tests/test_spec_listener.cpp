// A Catch2 listener for the [spec] tests: when a [spec] test case ends with tasklets
// still in the ring (it failed half-way), kill them so that one failure does not cascade
// into the following tests (the whole binary runs in one process). Every [spec] test also
// ends with REQUIRE(tasklets::runcount() == 1), so a leak is still reported as a failure
// of the test that caused it; this only limits the damage to that test.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

#include <tasklets/tasklets.hpp>

#include <algorithm>
#include <cstdio>

namespace {

struct spec_cleanup_listener : Catch::TestEventListenerBase {
    using TestEventListenerBase::TestEventListenerBase;

    void testCaseEnded(const Catch::TestCaseStats& stats) override {
        const auto& tags = stats.testInfo.lcaseTags;
        if (std::find(tags.begin(), tags.end(), "spec") == tags.end()) return;
        try {
            tasklets::tasklet main = tasklets::main_tasklet();
            if (!main.is_current()) return;  // nothing sensible can be done
            if (main.block_trap()) main.set_block_trap(false);
            if (main.atomic()) main.set_atomic(false);
            if (tasklets::default_stack_size() != tasklets::builtin_default_stack_size)
                tasklets::set_default_stack_size(tasklets::builtin_default_stack_size);
            int guard = 0;
            while (tasklets::runcount() > 1 && guard++ < 1'000'000) {
                tasklets::tasklet victim = main.next();
                if (!victim || victim == main) break;
                if (!victim.started()) {  // nothing to unwind; killing it would need a stack
                    victim.remove();
                    continue;
                }
                try {
                    victim.kill();
                } catch (...) {
                }
                if (victim.alive() && victim.scheduled() && !victim.blocked()) {
                    try {
                        victim.remove();
                    } catch (...) {
                    }
                }
            }
            if (guard > 0)
                std::fprintf(stderr, "[spec cleanup] test \"%s\" left tasklets in the ring; killed them\n",
                             stats.testInfo.name.c_str());
        } catch (...) {
        }
    }
};

}  // namespace

CATCH_REGISTER_LISTENER(spec_cleanup_listener)
