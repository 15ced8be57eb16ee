// Windows x64: the scheduler's switch (tasklets_kernel_switch, arch/kernel_switch.h)
// before the scheduler is ported. Until then this file provides the resume hook the
// switch enters, so both ways out of the switch are tested: straight back into the
// resumed code, and through the hook, which throws into the resumed code (unwound by
// Windows/Wine through the SEH tables of that code, from a hook entered by a jmp with the
// resume address as its return address). The hook is the scheduler's once
// kernel/core is built on Windows; then this file goes, and tests/arch/abi_kernel_switch.cpp
// covers the switch through the scheduler, as on the other ports.
#include <catch2/catch.hpp>

#include "arch/abi_probe.hpp"
#include "kernel_switch.h"

#include <tasklets/context.hpp>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

constexpr std::size_t stack_bytes = 64 * 1024;

struct hook_state {
    int calls = 0;
    bool throw_next = false;
};
hook_state hook;

struct kernel_run {
    void* main_sp = nullptr;
    void* self_sp = nullptr;
    int rounds = 0;
    std::string caught_in_context;
};

// The kernel switch passes no value (its contract: the kernel's entry ignores it), so
// the context finds its state here.
kernel_run* current_run = nullptr;

[[noreturn]] void ping_entry(void*) {
    kernel_run* run = current_run;
    for (;;) {
        ++run->rounds;
        try {
            tasklets_kernel_switch(&run->self_sp, run->main_sp, 0);
        } catch (const std::runtime_error& e) {
            run->caught_in_context = e.what();
        }
    }
}

}  // namespace

extern "C" void tasklets_resume_hook() {
    ++hook.calls;
    if (hook.throw_next) {
        hook.throw_next = false;
        throw std::runtime_error("thrown by the resume hook into the resumed code");
    }
}

TEST_CASE("abi (Windows x64): the kernel switch resumes directly or through the hook that may throw into the resumed code",
          "[abi][context][kernel-switch]") {
    std::unique_ptr<std::byte[]> stack(new std::byte[stack_bytes]);
    kernel_run run;
    hook = {};
    current_run = &run;
    run.self_sp = tasklets::make_context(stack.get(), stack_bytes, &ping_entry).stack_pointer;
    // A fresh frame suits the kernel switch too; the entry ignores the value.
    tasklets_kernel_switch(&run.main_sp, run.self_sp, 0);
    CHECK(run.rounds == 1);
    CHECK(hook.calls == 0);
    // Back into the context through the hook: it returns to the resume address.
    tasklets_kernel_switch(&run.main_sp, run.self_sp, 1);
    CHECK(run.rounds == 2);
    CHECK(hook.calls == 1);
    CHECK(run.caught_in_context == "");
    // Through the hook again, which now throws: the context's own catch gets it.
    hook.throw_next = true;
    tasklets_kernel_switch(&run.main_sp, run.self_sp, 1);
    CHECK(hook.calls == 2);
    CHECK(run.caught_in_context == "thrown by the resume hook into the resumed code");
    CHECK(run.rounds == 3);
    // The public switch resumes what the kernel switch suspended.
    tasklets_switch_context(&run.main_sp, run.self_sp, nullptr);
    CHECK(run.rounds == 4);
}
