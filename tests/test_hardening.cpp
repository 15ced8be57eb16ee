// Hardening: tasklet stacks are never executable and are fenced by guard regions on both
// sides; on AArch64, saved resume addresses are signed (PAC) and a forged one is refused.
// (The x86-64 IBT property note is checked with readelf by a ctest entry of its own, see
// tests/CMakeLists.txt; the overrun off the top is a death test in test_overflow.cpp.)
#include <tasklets/tasklets.hpp>

#include "support/tools.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__aarch64__)
#include <sys/auxv.h>
#endif

namespace {

struct stack_facts {
    std::uintptr_t local = 0;     // address of a local on the tasklet's stack
    std::uintptr_t low = 0, high = 0;
    std::string perms;            // of the mapping that holds it, from /proc/self/maps
};

std::string perms_of(std::uintptr_t address, std::uintptr_t& low, std::uintptr_t& high) {
    FILE* maps = std::fopen("/proc/self/maps", "r");
    REQUIRE(maps != nullptr);
    char line[512];
    std::string perms;
    while (std::fgets(line, sizeof line, maps)) {
        unsigned long lo = 0, hi = 0;
        char p[8] = {};
        if (std::sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && address >= lo && address < hi) {
            perms = p;
            low = lo;
            high = hi;
            break;
        }
    }
    std::fclose(maps);
    return perms;
}

// Can the process read `address`? Asked through write(2), which fails with EFAULT on a
// guard (PROT_NONE or MADV_GUARD_INSTALL) instead of raising a signal.
bool readable(const void* address) {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    const bool ok = ::write(fds[1], address, 1) == 1;
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    if (!ok) CHECK(err == EFAULT);
    return ok;
}

}  // namespace

TEST_CASE("hardening: a tasklet's stack is in a read-write mapping that is never executable", "[hardening]") {
    stack_facts f;
    tasklets::tasklet t([&] {
        // The frame address, not a local's: under ASan locals may live on its fake stack.
        f.local = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
        f.perms = perms_of(f.local, f.low, f.high);
    });
    tasklets::run();
    INFO("mapping " << std::hex << f.low << "-" << f.high << " " << f.perms);
    REQUIRE(f.perms.size() == 4);
    CHECK(f.perms[0] == 'r');
    CHECK(f.perms[1] == 'w');
    CHECK(f.perms[2] == '-');  // never executable
}

TEST_CASE("hardening: code copied onto a tasklet's stack cannot run (SIGSEGV)", "[hardening]") {
    if (tasklets_test::running_on_valgrind()) {
        tasklets_test::print_skip("hardening: code copied onto a tasklet's stack cannot run (SIGSEGV)", "Valgrind",
                                  "the forked child runs under Valgrind, whose report replaces the plain signal");
        return;
    }
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        tasklets::tasklet t([] {
            // A function that only returns: x86 `ret`, AArch64 `ret`, RISC-V `ret`, s390x `br %r14`, ARM `bx lr`, ppc64le `blr`, MIPS `jr $ra` (and its delay slot).
#if defined(__x86_64__) || defined(__i386__)
            const unsigned char code[] = {0xc3};
#elif defined(__aarch64__)
            const unsigned char code[] = {0xc0, 0x03, 0x5f, 0xd6};
#elif defined(__riscv)
            const unsigned char code[] = {0x67, 0x80, 0x00, 0x00};
#elif defined(__s390x__)
            const unsigned char code[] = {0x07, 0xfe};  // br %r14
#elif defined(__arm__)
            // ARM-state `bx lr`: the address is even, so the call enters ARM state.
            const unsigned char code[] = {0x1e, 0xff, 0x2f, 0xe1};
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            const unsigned char code[] = {0x20, 0x00, 0x80, 0x4e};  // blr (0x4e800020, little-endian)
#elif defined(__mips__) && defined(__MIPSEL__)
            const unsigned char code[] = {0x08, 0x00, 0xe0, 0x03, 0x00, 0x00, 0x00, 0x00};  // jr $ra; nop
#endif
            // alloca: on the tasklet's real stack even under ASan (whose fake stack would
            // take a fixed-size local array).
            auto* at = static_cast<unsigned char*>(__builtin_alloca(64));
            at = reinterpret_cast<unsigned char*>((reinterpret_cast<std::uintptr_t>(at) + 15) & ~std::uintptr_t{15});
            std::memcpy(at, code, sizeof code);
            asm volatile("" : "+r"(at) : : "memory");  // the stores to `code` must happen
            reinterpret_cast<void (*)()>(at)();
            ::_exit(0);  // it ran: the stack is executable
        });
        tasklets::run();
        ::_exit(2);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    INFO("status " << status);
    REQUIRE_FALSE((WIFEXITED(status) && WEXITSTATUS(status) == 0));  // the code never ran
    if (tasklets_test::sanitizer() && WIFEXITED(status)) return;  // the sanitizer's SEGV report (without handle_segv=0)
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGSEGV);
}

TEST_CASE("hardening: guard regions lie right below and right above every tasklet stack", "[hardening][stacks]") {
    struct seen {
        std::uintptr_t local = 0;
    };
    // Several tasklets of one size share a slab: each stack's neighbours are guards.
    constexpr std::size_t stack = 64 * 1024;
    seen s[3];
    std::vector<tasklets::tasklet> ts;
    for (auto& one : s)
        ts.emplace_back(tasklets::tasklet_options{stack, {}}, [&one] {
            one.local = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));  // (not ASan's fake stack)
            tasklets::schedule();  // all three hold their stacks at once
        });
    for (int i = 0; i < 1; ++i) tasklets::schedule();
    for (auto& one : s) {
        REQUIRE(one.local != 0);
        // The stack is [base, base + stack); base is page-aligned, the local lies inside.
        const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
        const std::uintptr_t top = (one.local + page - 1) / page * page;  // near the top: few frames deep
        std::uintptr_t lo = 0, hi = 0;
        (void)perms_of(one.local, lo, hi);
        // Find the top: the first unreadable page above the local.
        std::uintptr_t t = top;
        while (t < one.local + stack && readable(reinterpret_cast<const void*>(t))) t += page;
        INFO("local at " << std::hex << one.local << ", first guard above at " << t);
        CHECK(t - one.local < 16 * 1024);        // the local is a few frames below the top
        CHECK_FALSE(readable(reinterpret_cast<const void*>(t + page)));  // a whole guard region
        const std::uintptr_t base = t - stack;
        CHECK(readable(reinterpret_cast<const void*>(base)));           // lowest byte of the stack
        CHECK_FALSE(readable(reinterpret_cast<const void*>(base - 1)));  // the guard below it
    }
    tasklets::run();
}

#if defined(__aarch64__)
// ---- AArch64 pointer authentication of saved resume addresses ---------------------------
#ifndef HWCAP_PACA
#define HWCAP_PACA (1UL << 30)
#endif
#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) constexpr std::size_t name = value;
#include "../arch/aarch64/frame_aarch64.h"
#undef TASKLETS_OFFSET
#undef TASKLETS_NOTE

namespace {

struct pac_run {
    tasklets::context main, self;
    int rounds = 0;
};
pac_run pac;

void pac_entry(void*) {
    for (;;) {
        ++pac.rounds;
        tasklets::switch_context(pac.self, pac.main);
    }
}

// The address with its PAC bits removed (xpaclri works on x30; a hint, so safe anywhere).
std::uint64_t strip_pac(std::uint64_t address) {
    std::uint64_t out;
    asm("mov x30, %1\n\thint #7\n\tmov %0, x30" : "=r"(out) : "r"(address) : "x30");  // hint #7: xpaclri
    return out;
}

std::uint64_t& saved_resume(tasklets::context c) {
    return *reinterpret_cast<std::uint64_t*>(static_cast<char*>(c.stack_pointer) + TASKLETS_FRAME_RESUME);
}

}  // namespace

TEST_CASE("hardening (AArch64): resume addresses in saved frames are signed, and a forged one faults (PAC)",
          "[hardening][pac]") {
    if (!(::getauxval(AT_HWCAP) & HWCAP_PACA)) {
        tasklets_test::print_skip("hardening (AArch64): resume addresses ... (PAC)", "this CPU",
                                  "no pointer authentication (HWCAP_PACA); the switch's PAC instructions are NOPs here");
        return;
    }
    // An all-zero signature looks like none, and two frame tops can sign alike: Linux has
    // top-byte-ignore on, which leaves the PAC 7 bits here (bits 48-54), so each happens
    // once in 128. Another frame top (the SP is the signature's modifier) signs
    // differently: up to 8 tries each, all failing once in 2^56.
    alignas(16) static unsigned char stack[64 * 1024];
    std::uint64_t fresh = 0, signed_address = 0, plain = 0;
    for (int attempt = 0; attempt < 8; ++attempt) {
        pac = pac_run{};
        pac.self = tasklets::make_context(stack, sizeof stack - attempt * 256, &pac_entry);
        // The fresh frame's resume address (the first-entry trampoline) is signed already.
        fresh = saved_resume(pac.self);
        tasklets::switch_context(pac.main, pac.self);  // runs until the entry switches back
        REQUIRE(pac.rounds == 1);
        signed_address = saved_resume(pac.self);
        plain = strip_pac(signed_address);
        if (strip_pac(fresh) != fresh && plain != signed_address) break;
    }
    CHECK(strip_pac(fresh) != fresh);
    INFO(std::hex << "saved " << signed_address << ", plain " << plain);
    REQUIRE(plain != signed_address);  // PAC bits present

    // Forgeries, each in a child: the plain address, and a correctly signed address taken
    // from another context's frame (signed for another sp). Both must fault at the ret.
    tasklets::context other = pac.self;  // a second context suspended at the same place
    alignas(16) static unsigned char other_stack[64 * 1024];
    for (int attempt = 0; attempt < 8; ++attempt) {
        pac_run keep = pac;
        pac.self = tasklets::make_context(other_stack, sizeof other_stack - attempt * 256, &pac_entry);
        tasklets::switch_context(pac.main, pac.self);
        other = pac.self;
        pac = keep;
        pac.rounds = 1;
        if (saved_resume(other) != signed_address) break;  // else it would be no forgery
    }
    REQUIRE(saved_resume(other) != signed_address);
    const std::uint64_t forged[] = {plain, saved_resume(other)};
    REQUIRE(strip_pac(saved_resume(other)) == plain);  // same place, different signature
    for (std::uint64_t f : forged) {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            saved_resume(pac.self) = f;
            tasklets::switch_context(pac.main, pac.self);
            ::_exit(0);  // accepted: not authenticated
        }
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        INFO("forged " << std::hex << f << ", status " << std::dec << status);
        REQUIRE(WIFSIGNALED(status));
        CHECK((WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGILL || WTERMSIG(status) == SIGBUS));
    }
    // The genuine one still works.
    tasklets::switch_context(pac.main, pac.self);
    CHECK(pac.rounds == 2);
}
#endif
