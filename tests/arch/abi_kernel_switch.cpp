// ABI conformance of the scheduler's switch (tasklets_kernel_switch: assembly on every
// port, see arch/README.md), at the register level. test_abi_registers.cpp does this for
// the public switch; test_abi_tasklets.cpp checks the scheduler with compiled code only,
// which keeps few values in callee-saved registers across a switch (and none in d8-d15
// or fs0-fs11), so a kernel switch that lost one could pass it. Here the assembly probes
// (tests/arch/<arch>/abi_<arch>.*) put a pattern in every callee-saved register and call
// schedule(), and the tasklets switched to overwrite every register before they switch
// back. Both of the switch's ways out are covered: straight back into the resumed code,
// and through tasklets_resume_hook (after a tasklet died, and with an exception pending).
// Added to tasklets_tests by tests/arch/<arch>/tests.cmake.
#include <catch2/catch.hpp>

#include "arch/abi_probe.hpp"

#include <tasklets/tasklet.hpp>

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using tasklets::abi::results_count;
using tasklets::abi::saved_count;
using tasklets::abi::saved_registers;

// The same pattern scheme as test_abi_registers.cpp, with a base of its own so the two
// never match.
std::uint64_t pattern(std::size_t reg, std::uint64_t round) { return tasklets::abi::pattern(0x5A3C'0000'0000'0000ull, reg, round); }

// Calls fn(arg) through tasklets_abi_call_checked and describes every callee-saved
// register (and sp) that did not survive, or returns "" when all did.
std::string call_and_report(void (*fn)(void*), void* arg, std::uint64_t round) {
    std::uint64_t patterns[saved_count];
    std::uint64_t results[results_count] = {};
    for (std::size_t i = 0; i < saved_count; ++i) patterns[i] = pattern(i, round);
    tasklets_abi_call_checked(fn, arg, patterns, results);
    return tasklets::abi::broken_registers(patterns, results);
}

// schedule() behind the probes' calling convention. A tail call: the kernel switch then
// saves the probe's own return address, so the probe is the code it resumes.
void schedule_now(void*) { tasklets::schedule(); }
void do_nothing(void*) {}

// A tasklet that, until told to stop, overwrites every register and schedules.
struct clobberer {
    bool stop = false;
    int rounds = 0;
    void operator()() {
        while (!stop) {
            ++rounds;
            tasklets_abi_call_clobbered(&schedule_now, nullptr);
        }
    }
};

// Runs `rounds` checked schedule() calls; stops at the first broken one.
std::string checked_schedules(std::uint64_t rounds, std::uint64_t salt) {
    for (std::uint64_t round = 1; round <= rounds; ++round) {
        std::string broken = call_and_report(&schedule_now, nullptr, round + salt);
        if (!broken.empty()) return "round " + std::to_string(round) + ": " + broken;
    }
    return "";
}

}  // namespace

TEST_CASE("abi: every callee-saved register survives schedule() among tasklets that overwrite all registers",
          "[abi][tasklet][kernel-switch]") {
    clobberer a, b;
    tasklets::tasklet ta([&a] { a(); });
    tasklets::tasklet tb([&b] { b(); });

    // From the main tasklet, which stays in the ring with the two clobberers...
    CHECK(checked_schedules(200, 0) == "");
    CHECK(a.rounds == 200);
    CHECK(b.rounds == 200);

    // ...and from a tasklet (a pooled stack, entered through the kernel's entry).
    std::string from_tasklet = "did not run";
    tasklets::tasklet checker([&] { from_tasklet = checked_schedules(200, 1000); a.stop = b.stop = true; });
    tasklets::run();
    CHECK(from_tasklet == "");
    CHECK(a.rounds >= 400);
    CHECK(b.rounds >= 400);
}

TEST_CASE("abi: every callee-saved register survives a switch through the resume hook after a tasklet died",
          "[abi][tasklet][kernel-switch]") {
    // Each round, a fresh tasklet overwrites every register and returns: finish() switches
    // back to us asking for the resume hook, which frees the dead tasklet's stack before
    // the probe sees its registers again. The clobberer runs just before the fresh one:
    // a switch that failed to load a register would hand the clobberer's garbage to the
    // fresh tasklet, and it would come back to us through the hook path (without it, our
    // own value would make the round trip through the fresh tasklet and look right).
    clobberer c;
    tasklets::tasklet tc([&c] { c(); });
    std::string broken;
    int finished = 0;
    for (std::uint64_t round = 1; round <= 100 && broken.empty(); ++round) {
        tasklets::tasklet t([&finished] {
            tasklets_abi_call_clobbered(&do_nothing, nullptr);
            ++finished;
        });
        broken = call_and_report(&schedule_now, nullptr, round + 2000);
        if (broken.empty() && t.alive()) broken = "the tasklet did not finish";
        if (!broken.empty()) broken = "round " + std::to_string(round) + ": " + broken;
    }
    c.stop = true;
    tasklets::run();
    CHECK(broken == "");
    CHECK(finished == 100);
    CHECK(c.rounds == 100);  // once per round (the last resumption only stops it)
    CHECK(tasklets::runcount() == 1);
}

namespace {

struct catching {
    int caught = 0;
    // Called by the probe: the exception thrown into this tasklet while it is suspended in
    // schedule() is raised by the resume hook, as if schedule() had thrown it here.
    static void schedule_and_catch(void* self) {
        try {
            tasklets::schedule();
        } catch (const std::runtime_error&) {
            ++static_cast<catching*>(self)->caught;
        }
    }
};

}  // namespace

TEST_CASE("abi: every callee-saved register survives an exception raised by the resume hook and caught",
          "[abi][tasklet][kernel-switch][unwind]") {
    catching c;
    std::string broken = "did not run";
    tasklets::tasklet checker([&] {
        broken.clear();
        for (std::uint64_t round = 1; round <= 100 && broken.empty(); ++round) {
            broken = call_and_report(&catching::schedule_and_catch, &c, round + 3000);
            if (!broken.empty()) broken = "round " + std::to_string(round) + ": " + broken;
        }
    });
    tasklets::schedule();  // the checker starts and suspends in its first schedule()
    for (int round = 1; round <= 100 && checker.alive(); ++round) {
        checker.throw_exception(std::runtime_error("into the checker"), /*pending=*/true);
        // Resume it from a context whose registers are all garbage.
        tasklets_abi_call_clobbered(&schedule_now, nullptr);
        CHECK(c.caught == round);
    }
    tasklets::run();
    CHECK(broken == "");
    CHECK(c.caught == 100);
}
