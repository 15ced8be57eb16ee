// Differential random testing, the CI batch: random programs (tests/model/program.hpp) run
// on the real library and on the reference model (tests/model/model.hpp, written from
// docs/semantics.md), and their event logs — every operation's result,
// state snapshots, balances, errors — must match line for line. On a mismatch the program
// is shrunk and printed as a ready-to-paste TEST_CASE. The long mode is tasklets_diff.
#include <catch2/catch.hpp>

#include "model/shrink.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

#ifndef TASKLETS_DIFF_PROGRAMS
#define TASKLETS_DIFF_PROGRAMS 20000
#endif

namespace {

std::uint64_t batch_size() {
    if (const char* env = std::getenv("TASKLETS_DIFF_PROGRAMS")) return std::strtoull(env, nullptr, 0);
    return TASKLETS_DIFF_PROGRAMS;
}

}  // namespace

namespace {

// Runs `n` programs of the batch seeded `seed` (generated within `limits`) on the real
// library and the model; fails with the first mismatch, shrunk and printed as a TEST_CASE.
void run_batch(std::uint64_t n, std::uint64_t seed, const diff::gen_limits& limits = {}) {
    std::mt19937_64 rng(seed);
    std::uint64_t lines = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        diff::program p = diff::generate(rng, limits);
        diff::comparison r = diff::compare(p);
        lines += r.model.size();
        if (!r.same()) {
            diff::program small = diff::shrink(p, [](const diff::program& q) { return !diff::compare(q).same(); });
            diff::comparison rs = diff::compare(small);
            std::string msg = "program " + std::to_string(i) + " of the batch:\n" + diff::describe(p) + r.report() +
                              "shrunk to:\n" + diff::describe(small) + rs.report() + "\n" +
                              diff::repro_code(small, rs.model, "batch program " + std::to_string(i), true);
            FAIL(msg);
        }
    }
    SUCCEED(std::to_string(n) + " programs, " + std::to_string(lines) + " log lines");
}

}  // namespace

TEST_CASE("differential: a fixed-seed batch of random programs behaves exactly as the reference model", "[differential]") {
    run_batch(batch_size(), 20240607);
}

TEST_CASE("differential: the same programs on shared stacks behave exactly as the reference model", "[differential]") {
    // A tasklet's stack mode changes no ordering (docs/semantics.md): with every tasklet
    // but main on the thread's shared execution stacks, their channel waits, kills and
    // throws go the off-stack way (kernel/channels/off_stack_wait.cpp). Up to eight
    // tasklets a program, so that most programs put two on one of the thread's four
    // execution stacks, which copies parked ones out and in as they take turns.
    struct shared_by_default {
        shared_by_default() { tasklets::set_default_stack_mode(tasklets::stack_mode::shared); }
        ~shared_by_default() { tasklets::set_default_stack_mode(tasklets::stack_mode::dedicated); }
    } on;
    diff::gen_limits limits;
    limits.max_tasklets = 8;
    run_batch(batch_size(), 20240608, limits);
}

TEST_CASE("differential: the model agrees with the worked examples of docs/semantics.md it can express", "[differential]") {
    // The worked example of docs/semantics.md §3.2, with preference -1 and 0: R blocks
    // receiving, X2 logs, main sends.
    for (int pref : {-1, 0}) {
        diff::program p;
        p.ntasklets = 2;
        p.preference = {pref};
        p.schedule_all = {false};
        p.created_at_start = {true, true, false};
        p.scripts.resize(3);
        p.scripts[1] = {{diff::op::recv, 0, 0, 1, diff::catching::std_errors}};
        p.scripts[0] = {{diff::op::schedule, 0, 0, 2, diff::catching::all},
                        {diff::op::create, 2, 0, 3, diff::catching::all},
                        {diff::op::send, 0, 0, 4, diff::catching::all},
                        {diff::op::run, 0, 0, 5, diff::catching::all}};
        diff::comparison r = diff::compare(p);
        INFO(diff::describe(p) + r.report());
        REQUIRE(r.same());
        auto at = [&r](const std::string& line) {
            for (std::size_t i = 0; i < r.model.size(); ++i)
                if (r.model[i] == line) return static_cast<long>(i);
            return -1L;
        };
        REQUIRE(at("t1: recv c0 -> 4") >= 0);
        REQUIRE(at("t0: send c0 4 -> ok") >= 0);
        if (pref == -1) REQUIRE(at("t1: recv c0 -> 4") < at("t0: send c0 4 -> ok"));
        else REQUIRE(at("t0: send c0 4 -> ok") < at("t1: recv c0 -> 4"));
    }
}
