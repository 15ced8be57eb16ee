// AArch64 only: the switch, the first-entry trampoline and a context entry work with
// Branch Target Identification enforced on their pages. Debian's C runtime objects carry
// no BTI note, so no test binary here can be BTI-marked as a whole; instead a forked
// child marks the pages holding that code PROT_BTI (as the dynamic loader does for a
// BTI binary), switches through them, and then proves enforcement is real by branching
// with blr to a function without a landing pad, which must raise SIGILL.
#include <catch2/catch.hpp>

#if defined(__aarch64__)

#include "arch/abi_probe.hpp"

#include <tasklets/context.hpp>

#include <csignal>
#include <cstdint>
#include <memory>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" void tasklets_abi_no_landing_pad() noexcept;

namespace {

#ifndef PROT_BTI
#define PROT_BTI 0x10
#endif

enum : int {
    bti_ok = 0,            // switched under BTI, then the control branch faulted
    bti_unsupported = 77,  // mprotect refused PROT_BTI: the CPU has no BTI
    bti_not_enforced = 3,  // the control branch did not fault: the test proves nothing
    bti_bad_switch = 4,    // a switch under BTI returned the wrong thing
    bti_fault_early = 5,   // SIGILL while switching: a landing pad is missing
    bti_mprotect = 6,
};

volatile std::sig_atomic_t phase = 0;  // 1: switching, 2: control branch

extern "C" void on_sigill(int) { ::_exit(phase == 2 ? bti_ok : bti_fault_early); }

// Marks the pages holding [fn, fn + 256) PROT_BTI. The detour through a writable mapping
// makes QEMU user mode drop code it already translated for those pages, which would
// otherwise keep running unchecked.
int guard(const void* fn) {
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto first = reinterpret_cast<std::uintptr_t>(fn) & ~(page - 1);
    const auto last = (reinterpret_cast<std::uintptr_t>(fn) + 256) & ~(page - 1);
    const std::size_t len = last - first + page;
    if (::mprotect(reinterpret_cast<void*>(first), len, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) return bti_mprotect;
    if (::mprotect(reinterpret_cast<void*>(first), len, PROT_READ | PROT_EXEC | PROT_BTI) != 0)
        return errno == EINVAL ? bti_unsupported : bti_mprotect;
    return 0;
}

[[noreturn]] void child() {
    std::signal(SIGILL, on_sigill);
    auto stack = std::make_unique<std::byte[]>(64 * 1024);
    tasklets_abi_peer peer;
    peer.self_sp = tasklets::make_context(stack.get(), 64 * 1024, &tasklets_abi_entry_probe).stack_pointer;
    // Called through a pointer (blr), as a PLT or a function pointer would: needs `bti c`.
    void* (*volatile switch_fn)(void**, void*, void*) noexcept = &tasklets_switch_context;
    void (*volatile unmarked)() noexcept = &tasklets_abi_no_landing_pad;

    for (const void* code : {reinterpret_cast<const void*>(&tasklets_switch_context),
                             reinterpret_cast<const void*>(&tasklets_abi_entry_probe),
                             reinterpret_cast<const void*>(&tasklets_abi_no_landing_pad)})
        if (int rc = guard(code)) ::_exit(rc);

    phase = 1;
    // Fresh context: blr into the switch, ret into the trampoline, br x16 into the entry.
    // Then a suspended one, several times.
    for (int i = 0; i < 5; ++i)
        if (switch_fn(&peer.main_sp, peer.self_sp, &peer) != nullptr) ::_exit(bti_bad_switch);
    if (peer.entry_ra != 0) ::_exit(bti_bad_switch);

    phase = 2;
    unmarked();
    ::_exit(bti_not_enforced);
}

}  // namespace

TEST_CASE("abi: AArch64 switches work with BTI enforced on the switch and entry pages", "[abi][bti][context]") {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) child();
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    if (WEXITSTATUS(status) == bti_unsupported) {
        WARN("BTI not checked: this CPU has no BTI (mprotect(PROT_BTI) fails with EINVAL)");
        return;
    }
    INFO("child exit codes: 5 = SIGILL while switching (a landing pad is missing), "
         "3 = BTI not enforced (the test would prove nothing), 4 = wrong switch result, 6 = mprotect failed");
    CHECK(WEXITSTATUS(status) == bti_ok);
}

#endif  // __aarch64__
