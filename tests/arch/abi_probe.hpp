// The assembly half of the ABI conformance tests (tests/arch/<arch>/abi_<arch>.*), declared
// once for every architecture. Each architecture implements the same four functions in its
// own assembler (the one its switch in arch/<arch>/ is written in).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) inline constexpr std::size_t name = value;
#include "arch/abi_peer.h"
#undef TASKLETS_OFFSET
#undef TASKLETS_NOTE

/// Shared between a C++ test and a context running an assembly probe. Every field gets an
/// 8-byte aligned slot on every architecture (i386 aligns uint64_t members to 4 and has
/// 4-byte pointers), so that abi_peer.h has one set of offsets.
struct tasklets_abi_peer {
    alignas(8) void* main_sp = nullptr;
    alignas(8) void* self_sp = nullptr;
    alignas(8) std::uint64_t entry_sp = 0, entry_ra = 0, entry_fp = 0;
    alignas(8) std::uint64_t rounds = 0;
};
static_assert(offsetof(tasklets_abi_peer, main_sp) == ABI_PEER_MAIN_SP);
static_assert(offsetof(tasklets_abi_peer, self_sp) == ABI_PEER_SELF_SP);
static_assert(offsetof(tasklets_abi_peer, entry_sp) == ABI_PEER_ENTRY_SP);
static_assert(offsetof(tasklets_abi_peer, entry_ra) == ABI_PEER_ENTRY_RA);
static_assert(offsetof(tasklets_abi_peer, entry_fp) == ABI_PEER_ENTRY_FP);
static_assert(offsetof(tasklets_abi_peer, rounds) == ABI_PEER_ROUNDS);
static_assert(sizeof(tasklets_abi_peer) == ABI_PEER_SIZE);

namespace tasklets::abi {

/// Every register the ABI makes callee-saved (besides sp and the return address), in the
/// order tasklets_abi_switch_checked loads patterns[] into them and stores results[].
#if defined(__x86_64__) && defined(_WIN64)
// Windows x64: xmm6-xmm15 are nonvolatile in all 128 bits, so each is two entries.
inline constexpr std::array<std::string_view, 28> saved_registers{
    "rbx", "rbp", "rdi", "rsi", "r12", "r13", "r14", "r15",
    "xmm6 (low)", "xmm6 (high)", "xmm7 (low)", "xmm7 (high)", "xmm8 (low)", "xmm8 (high)",
    "xmm9 (low)", "xmm9 (high)", "xmm10 (low)", "xmm10 (high)", "xmm11 (low)", "xmm11 (high)",
    "xmm12 (low)", "xmm12 (high)", "xmm13 (low)", "xmm13 (high)", "xmm14 (low)", "xmm14 (high)",
    "xmm15 (low)", "xmm15 (high)"};
#elif defined(__x86_64__)
inline constexpr std::array<std::string_view, 6> saved_registers{"rbx", "rbp", "r12", "r13", "r14", "r15"};
#elif defined(__aarch64__)
inline constexpr std::array<std::string_view, 19> saved_registers{
    "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29 (fp)",
    "d8",  "d9",  "d10", "d11", "d12", "d13", "d14", "d15"};
#elif defined(__i386__)
inline constexpr std::array<std::string_view, 4> saved_registers{"ebx", "esi", "edi", "ebp"};
#elif defined(__arm__)
inline constexpr std::array<std::string_view, 16> saved_registers{
    "r4", "r5", "r6", "r7 (Thumb fp)", "r8", "r9", "r10", "r11 (ARM fp)",
    "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15"};
#elif defined(__riscv) && __riscv_xlen == 64
inline constexpr std::array<std::string_view, 24> saved_registers{
    "s0 (fp)", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
    "fs0", "fs1", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11"};
#elif defined(__s390x__)
inline constexpr std::array<std::string_view, 16> saved_registers{
    "r6", "r7", "r8", "r9", "r10", "r11 (fp)", "r12", "r13",
    "f8", "f9", "f10", "f11", "f12", "f13", "f14", "f15"};
#elif defined(__powerpc64__)
// Each vector register is two doublewords with patterns of their own; the last entry is
// the pattern word with CR2-CR4 (bits 12-23) replaced by what the condition register held.
inline constexpr std::array<std::string_view, 61> saved_registers{
    "r14", "r15", "r16", "r17", "r18", "r19", "r20", "r21", "r22", "r23", "r24", "r25",
    "r26", "r27", "r28", "r29", "r30", "r31 (fp)",
    "f14", "f15", "f16", "f17", "f18", "f19", "f20", "f21", "f22", "f23", "f24", "f25",
    "f26", "f27", "f28", "f29", "f30", "f31",
    "v20 dw0", "v20 dw1", "v21 dw0", "v21 dw1", "v22 dw0", "v22 dw1", "v23 dw0", "v23 dw1",
    "v24 dw0", "v24 dw1", "v25 dw0", "v25 dw1", "v26 dw0", "v26 dw1", "v27 dw0", "v27 dw1",
    "v28 dw0", "v28 dw1", "v29 dw0", "v29 dw1", "v30 dw0", "v30 dw1", "v31 dw0", "v31 dw1",
    "cr2-cr4"};
#elif defined(__mips__) && _MIPS_SIM == _ABI64
inline constexpr std::array<std::string_view, 18> saved_registers{
    "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8 (fp)", "gp",
    "f24", "f25", "f26", "f27", "f28", "f29", "f30", "f31"};
#else
#error "tasklets ABI tests: no register list for this architecture (tests/arch/abi_probe.hpp)"
#endif
inline constexpr std::size_t saved_count = saved_registers.size();
/// How many of saved_registers, from the first, are 32 bits wide: all of i386's, the
/// general registers of armhf (whose d8-d15 are 64-bit); none on the 64-bit targets.
#if defined(__i386__)
inline constexpr std::size_t narrow_registers = saved_count;
#elif defined(__arm__)
inline constexpr std::size_t narrow_registers = 8;
#else
inline constexpr std::size_t narrow_registers = 0;
#endif
/// results[] also holds sp just before the call into the switch and just after it returned.
inline constexpr std::size_t sp_before = saved_count, sp_after = saved_count + 1;
inline constexpr std::size_t results_count = saved_count + 2;

/// Bytes between the stack pointer a fresh context starts with and the aligned top of its
/// stack: x86-64 has its null return address there; i386 its null return address, the
/// entry's argument (cdecl: on the stack, 16-byte aligned as at any call) and 12 bytes of
/// padding up to the aligned top; Windows x64 its null return address below the 32-byte
/// shadow space every caller provides; s390x the 160-byte register save area every caller
/// provides its callee; ppc64le the 32-byte ELFv2 frame header of the entry's (absent)
/// caller, where the entry saves its LR and CR and whose null back chain ends the chain;
/// the others nothing (n64 MIPS callers reserve no argument area). On both x86 targets
/// this is also where the ABI's entry alignment puts sp: (sp + 8) % 16 == 0, (sp + 4) % 16 == 0.
#if defined(__x86_64__) && defined(_WIN64)
inline constexpr std::uint64_t entry_sp_below_top = 40;  // 32 bytes of shadow space, null return address
#elif defined(__x86_64__)
inline constexpr std::uint64_t entry_sp_below_top = 8;
#elif defined(__i386__)
inline constexpr std::uint64_t entry_sp_below_top = 20;
#elif defined(__s390x__)
inline constexpr std::uint64_t entry_sp_below_top = 160;
#elif defined(__powerpc64__)
inline constexpr std::uint64_t entry_sp_below_top = 32;
#else
inline constexpr std::uint64_t entry_sp_below_top = 0;
#endif

/// The stack alignment the ABI requires at every call (and so at a function's entry):
/// 16 bytes, except on 32-bit ARM, where AAPCS asks for 8 at public interfaces, and on
/// s390x, whose ABI asks for 8; their compilers keep no more (a 16-byte check would fail
/// on correct code there). A fresh context's stack top is 16-byte aligned on every port.
#if defined(__arm__) || defined(__s390x__)
inline constexpr std::uintptr_t call_alignment = 8;
#else
inline constexpr std::uintptr_t call_alignment = 16;
#endif

/// A distinct value for every register and round, with bits set in every byte, so that a
/// register swapped with another, left from an earlier round, or zeroed, never matches.
/// `base` tells the test files apart (their patterns never match each other's). Where the
/// register is 32 bits wide (i386, armhf's r4-r11) the two halves are folded into one, so
/// that the probes, which load the low half, hold the whole pattern.
inline std::uint64_t pattern(std::uint64_t base, std::size_t reg, std::uint64_t round) {
    const std::uint64_t v = base ^ ((reg + 1) * 0x0101'0101'0101ull) ^ (round << 40) ^ (round * 0x10);
    if (reg < narrow_registers) return (v ^ (v >> 32)) & 0xffff'ffffu;
    return v;
}

inline std::string hex(std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
    return buf;
}

/// What a probe's results say: every callee-saved register (and sp) that did not come
/// back as it went in, by name, or "" when all did.
inline std::string broken_registers(const std::uint64_t* patterns, const std::uint64_t* results) {
    std::string broken;
    for (std::size_t i = 0; i < saved_count; ++i)
        if (results[i] != patterns[i])
            broken += std::string(saved_registers[i]) + " was " + hex(patterns[i]) + ", came back " +
                      hex(results[i]) + "; ";
    if (results[sp_before] != results[sp_after])
        broken += "sp was " + hex(results[sp_before]) + ", came back " + hex(results[sp_after]) + "; ";
    return broken;
}

}  // namespace tasklets::abi

extern "C" {
/// Loads patterns[i] into saved_registers[i] (for all i), calls
/// tasklets_switch_context(save_sp, target_sp, value), and when that returns stores
/// saved_registers[i] into results[i], plus sp before and after the call. Restores its
/// own caller's registers and returns what the switch returned.
void* tasklets_abi_switch_checked(void** save_sp, void* target_sp, void* value,
                                  const std::uint64_t* patterns, std::uint64_t* results) noexcept;

/// A context entry (value: tasklets_abi_peer*). Every time it runs it increments rounds,
/// overwrites every general and FP register it is allowed to (callee- and caller-saved;
/// never sp, nor x18 on AArch64, nor gp/tp on RISC-V, nor s390x's access registers, nor
/// r13 and VRSAVE on ppc64le, nor MIPS k0/k1), then
/// switches back to main_sp with rounds as the value. Never returns.
void tasklets_abi_clobber_entry(void* value) noexcept;

/// A context entry (value: tasklets_abi_peer*). Records sp, the return address and the
/// frame pointer exactly as they are at its first instruction, then switches back to
/// main_sp (value nullptr) every time it is resumed. Never returns.
void tasklets_abi_entry_probe(void* value) noexcept;

/// The stack pointer at the call instruction that called it (x86-64: rsp before the call
/// pushed the return address). The ABI requires it to be aligned to call_alignment.
std::uintptr_t tasklets_abi_sp_at_call() noexcept;

/// Like tasklets_abi_switch_checked, but calls fn(arg) instead of the switch: fn is C++
/// that switches tasklets (schedule() and the like), so the registers go through the
/// scheduler's switch (tasklets_kernel_switch). results[] as for tasklets_abi_switch_checked.
/// fn must not let an exception out: the probe has no unwind information on x86-64.
void tasklets_abi_call_checked(void (*fn)(void*), void* arg, const std::uint64_t* patterns,
                               std::uint64_t* results);

/// Overwrites every general and FP register it may (as tasklets_abi_clobber_entry does;
/// callee-saved ones too, after saving its caller's), then calls fn(arg), so that
/// whatever fn switches to is resumed by a switch that found only garbage in the
/// registers. Restores its caller's callee-saved registers and returns. Same rule for
/// exceptions as tasklets_abi_call_checked.
void tasklets_abi_call_clobbered(void (*fn)(void*), void* arg);
}
