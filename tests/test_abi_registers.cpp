// ABI conformance of the context switch, part 1: callee-saved registers and the frame a
// fresh context starts with. The register work is done in assembly
// (tests/arch/<arch>/abi_<arch>.*); see tests/arch/abi_probe.hpp.
#include <catch2/catch.hpp>

#include "arch/abi_probe.hpp"

#include <tasklets/context.hpp>
#include "support/valgrind_stack.hpp"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace {

using tasklets::abi::results_count;
using tasklets::abi::saved_count;
using tasklets::abi::saved_registers;

constexpr std::size_t stack_bytes = 64 * 1024;

struct raw_stack {
    std::unique_ptr<std::byte[]> bytes{new std::byte[stack_bytes]};
    tasklets_test::valgrind_stack registered{bytes.get(), stack_bytes};  // switched onto by hand
    void* base() const { return bytes.get(); }
    std::uintptr_t aligned_top() const {
        return (reinterpret_cast<std::uintptr_t>(bytes.get()) + stack_bytes) & ~std::uintptr_t{15};
    }
};

std::uint64_t pattern(std::size_t reg, std::uint64_t round) { return tasklets::abi::pattern(0xA5C3'0000'0000'0000ull, reg, round); }
using tasklets::abi::hex;

// Switches to `target` through tasklets_abi_switch_checked and returns a description of
// every callee-saved register (and sp) that did not survive, or "" when all did.
std::string switch_and_report(void** save_sp, void* target_sp, void* value, std::uint64_t round,
                              void*& result) {
    std::uint64_t patterns[saved_count];
    std::uint64_t results[results_count] = {};
    for (std::size_t i = 0; i < saved_count; ++i) patterns[i] = pattern(i, round);
    result = tasklets_abi_switch_checked(save_sp, target_sp, value, patterns, results);
    return tasklets::abi::broken_registers(patterns, results);
}

}  // namespace

TEST_CASE("abi: every callee-saved register survives a switch to a context that overwrites all registers",
          "[abi][context]") {
    raw_stack stack;
    tasklets_abi_peer peer;
    peer.self_sp = tasklets::make_context(stack.base(), stack_bytes, &tasklets_abi_clobber_entry).stack_pointer;

    for (std::uint64_t round = 1; round <= 200; ++round) {
        void* result = nullptr;
        std::string broken = switch_and_report(&peer.main_sp, peer.self_sp, &peer, round, result);
        INFO("round " << round);
        REQUIRE(broken == "");
        // The clobbering side ran exactly once more and its value came back as the result.
        REQUIRE(peer.rounds == round);
        REQUIRE(reinterpret_cast<std::uintptr_t>(result) == round);
    }
}

namespace {

// The same check, made by a context rather than by the thread's own stack: a fresh
// context runs check_entry, which switches to a clobbering context and back many times.
struct nested_check {
    tasklets::context main;
    tasklets::context self;
    tasklets_abi_peer clobber;
    std::uint64_t rounds = 0;
    std::string broken;
};

[[noreturn]] void check_entry(void* value) {
    auto* check = static_cast<nested_check*>(value);
    for (std::uint64_t round = 1; round <= 200 && check->broken.empty(); ++round) {
        void* result = nullptr;
        check->broken = switch_and_report(&check->clobber.main_sp, check->clobber.self_sp, &check->clobber,
                                          round + 1000, result);
        if (reinterpret_cast<std::uintptr_t>(result) != round) check->broken += "wrong switch value; ";
        check->rounds = round;
    }
    for (;;) tasklets::switch_context(check->self, check->main);
}

}  // namespace

TEST_CASE("abi: callee-saved registers of a context survive its switches to another context", "[abi][context]") {
    raw_stack checker_stack, clobber_stack;
    nested_check check;
    check.clobber.self_sp =
        tasklets::make_context(clobber_stack.base(), stack_bytes, &tasklets_abi_clobber_entry).stack_pointer;
    tasklets::context checker = tasklets::make_context(checker_stack.base(), stack_bytes, &check_entry);
    tasklets::switch_context(check.main, checker, &check);
    CHECK(check.broken == "");
    CHECK(check.rounds == 200);
    CHECK(check.clobber.rounds == 200);
}

TEST_CASE("abi: a fresh context starts with an aligned stack, a null return address and a null frame pointer",
          "[abi][context]") {
    raw_stack stack;
    tasklets_abi_peer peer;
    peer.self_sp = tasklets::make_context(stack.base(), stack_bytes, &tasklets_abi_entry_probe).stack_pointer;
    void* result = tasklets_switch_context(&peer.main_sp, peer.self_sp, &peer);
    CHECK(result == nullptr);

    // At a function's first instruction the ABI's call alignment holds: sp + 8 on x86-64
    // (just after a call pushed the return address), sp itself elsewhere.
    INFO("entry sp " << hex(peer.entry_sp) << ", stack top " << hex(stack.aligned_top()));
    CHECK((peer.entry_sp + tasklets::abi::entry_sp_below_top) % tasklets::abi::call_alignment == 0);
    // The frame is at the very top of the stack: nothing is wasted, nothing is above it.
    CHECK(stack.aligned_top() - peer.entry_sp == tasklets::abi::entry_sp_below_top);
    // Unwinders and frame-pointer walkers stop at a null return address / frame pointer.
    CHECK(peer.entry_ra == 0);
    CHECK(peer.entry_fp == 0);

    // Resuming the probe again (now a suspended context, not a fresh one) still works.
    result = tasklets_switch_context(&peer.main_sp, peer.self_sp, &peer);
    CHECK(result == nullptr);
}

namespace {

struct deep_alignment {
    tasklets::context main;
    tasklets::context self;
    int misaligned = 0;
    int checked = 0;
};

// Recurses with a dynamically sized alloca per level so the compiler cannot keep the
// stack aligned by accident, switching out at every level.
[[gnu::noinline]] void nest(deep_alignment* d, int depth) {
    auto* scratch = static_cast<volatile char*>(__builtin_alloca(static_cast<std::size_t>(depth) * 7 + 1));
    scratch[0] = static_cast<char>(depth);
    if (tasklets_abi_sp_at_call() % tasklets::abi::call_alignment != 0) ++d->misaligned;
    ++d->checked;
    tasklets::switch_context(d->self, d->main);
    if (depth > 0) nest(d, depth - 1);
    if (tasklets_abi_sp_at_call() % tasklets::abi::call_alignment != 0) ++d->misaligned;
    ++d->checked;
}

[[noreturn]] void alignment_entry(void* value) {
    auto* d = static_cast<deep_alignment*>(value);
    if (tasklets_abi_sp_at_call() % tasklets::abi::call_alignment != 0) ++d->misaligned;
    ++d->checked;
    for (int i = 0; i < 20; ++i) nest(d, 30);
    for (;;) tasklets::switch_context(d->self, d->main, d);
}

}  // namespace

TEST_CASE("abi: the stack keeps the ABI's call alignment deep inside a context, across many switches",
          "[abi][context]") {
    raw_stack stack;
    deep_alignment d;
    tasklets::context ctx = tasklets::make_context(stack.base(), stack_bytes, &alignment_entry);
    int switches = 0;
    void* result = tasklets::switch_context(d.main, ctx, &d);
    while (result != &d) {
        ++switches;
        result = tasklets::switch_context(d.main, d.self);
    }
    CHECK(switches == 20 * 31);
    CHECK(d.checked == 1 + 2 * 20 * 31);
    CHECK(d.misaligned == 0);
}
