// AArch64: the kernel switch's resume-hook path checks the resume address's signature
// itself (arch/aarch64/switch_aarch64.S explains why: its `b` to the hook, unlike a ret,
// does not), so a forged address faults in the switch, before the hook runs.
// tests/test_hardening.cpp does the same for the public switch's ret.
//
// tasklets_kernel_switch is a hidden symbol of the library: reachable from this test only
// in a static link, so tests.cmake adds this file only then. It is called directly here,
// on a raw context, with the scheduler present but idle (the hook then has nothing to do).
#include <catch2/catch.hpp>

#include "arch/abi_probe.hpp"
#include "support/tools.hpp"

#include <tasklets/context.hpp>
#include <tasklets/tasklet.hpp>

#include <csignal>
#include <cstdint>
#include <memory>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) constexpr std::size_t name = value;
#include "../../../arch/aarch64/frame_aarch64.h"
#undef TASKLETS_OFFSET
#undef TASKLETS_NOTE

#ifndef HWCAP_PACA
#define HWCAP_PACA (1UL << 30)
#endif

extern "C" void tasklets_kernel_switch(void** save_sp, void* target_sp, std::uintptr_t run_resume_hook);

namespace {

enum : int {
    refused_in_switch = 0,  // SIGSEGV on the switch's own `ret x16` to the poisoned address
    faulted_elsewhere = 1,  // SIGSEGV, but not there: the hook ran (or something else broke)
    accepted = 2,           // the forged address was resumed
};

// x16 holds the poisoned address only on the switch's refusal path, where the ret to it
// is what faults: then the faulting pc is x16.
extern "C" void on_forged_segv(int, siginfo_t*, void* context) {
    const auto& mc = static_cast<ucontext_t*>(context)->uc_mcontext;
    ::_exit(mc.pc == mc.regs[16] ? refused_in_switch : faulted_elsewhere);
}

std::uint64_t strip_pac(std::uint64_t address) {
    std::uint64_t out;
    asm("mov x30, %1\n\thint #7\n\tmov %0, x30" : "=r"(out) : "r"(address) : "x30");  // hint #7: xpaclri
    return out;
}

std::uint64_t& saved_resume(void* context) {
    return *reinterpret_cast<std::uint64_t*>(static_cast<char*>(context) + TASKLETS_FRAME_RESUME);
}

}  // namespace

TEST_CASE("hardening (AArch64): the kernel switch refuses a forged resume address before entering the resume hook",
          "[hardening][pac][kernel-switch]") {
    if (!(::getauxval(AT_HWCAP) & HWCAP_PACA)) {
        tasklets_test::print_skip("hardening (AArch64): the kernel switch refuses a forged resume address ...",
                                  "this CPU", "no pointer authentication (HWCAP_PACA)");
        return;
    }
    (void)tasklets::current();  // the scheduler exists: the hook finds it idle
    auto stack = std::make_unique<std::byte[]>(64 * 1024);
    tasklets_abi_peer peer;
    std::uint64_t plain = 0;
    // An all-zero signature looks like no signature. Linux has top-byte-ignore on, which
    // leaves the PAC 7 bits here (bits 48-54): 1 signature in 128 is zero, and this test
    // failed about once in 150 runs under QEMU before it retried. Another frame top (the
    // SP is the signature's modifier) signs differently; 8 tries all failing: 1 in 2^56.
    for (int attempt = 0; attempt < 8; ++attempt) {
        peer = tasklets_abi_peer{};
        peer.self_sp =
            tasklets::make_context(stack.get(), 64 * 1024 - attempt * 256, &tasklets_abi_entry_probe).stack_pointer;
        // Genuine: a fresh frame, then one the public switch suspended, resumed through the hook.
        tasklets_kernel_switch(&peer.main_sp, peer.self_sp, 0);
        REQUIRE(peer.entry_ra == 0);
        tasklets_kernel_switch(&peer.main_sp, peer.self_sp, 1);
        plain = strip_pac(saved_resume(peer.self_sp));
        if (plain != saved_resume(peer.self_sp)) break;
    }
    REQUIRE(plain != saved_resume(peer.self_sp));  // signed
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct sigaction sa {};
        sa.sa_sigaction = on_forged_segv;
        sa.sa_flags = SA_SIGINFO;
        ::sigaction(SIGSEGV, &sa, nullptr);
        saved_resume(peer.self_sp) = plain;
        tasklets_kernel_switch(&peer.main_sp, peer.self_sp, 1);
        ::_exit(accepted);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    INFO("child: 0 = refused in the switch, 1 = faulted elsewhere (after the hook ran), 2 = accepted; status "
         << status);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGILL) return;  // FEAT_FPAC: autiasp itself faulted
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == refused_in_switch);
}
