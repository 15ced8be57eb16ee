// Naming the frames of a backtrace in the unwind tests, in every build type.
//
// The backtrace tests check that a walk ends at the context's (or tasklet's) entry function
// and that the frames above it are the test's own functions, found by comparing the
// function whose unwind-table entry holds each return address with the functions' addresses.
// That only works while each of those functions is one function with one entry in the
// unwind tables. At -O3 (Release) GCC breaks that without inlining anything: it clones a
// recursive walk_from(run, depth) once per constant depth (`walk_from.constprop.N`, each with
// its own address and FDE), and when it can prove that a callee always throws, it moves the
// rest of the caller after the call into a `.cold` part with its own FDE, so the entry's
// frame is reported as `unwind_entry [clone .cold]`. [[gnu::noinline]] stops neither.
// TASKLETS_TEST_FRAME (gnu::noipa where the compiler has it) keeps such a function opaque to
// interprocedural optimisation: not inlined, not cloned, and its callers learn nothing from
// its body (so a call to it is never taken as "always throws"). The walks themselves are
// untouched, so a missing null return address or .cfi_undefined still shows.
#pragma once

#include <unwind.h>

#include <cstdint>

#if defined(__ARM_EABI_UNWINDER__)
#include <link.h>  // dl_iterate_phdr, PT_ARM_EXIDX
#endif

#if defined(__has_cpp_attribute)
#if __has_cpp_attribute(gnu::noipa)
#define TASKLETS_TEST_FRAME gnu::noipa
#endif
#endif
#ifndef TASKLETS_TEST_FRAME
#define TASKLETS_TEST_FRAME gnu::noinline  // e.g. clang: it has no noipa and clones no such functions
#endif

namespace tasklets_test {

#if defined(__ARM_EABI_UNWINDER__)
// 32-bit ARM unwinds with EHABI tables (.ARM.exidx), and its libgcc has no
// _Unwind_FindEnclosingFunction. The table is what the unwinder itself searches: one
// 8-byte entry per function, sorted by start address, which is a 31-bit self-relative
// offset in the entry's first word (without the Thumb bit a function pointer has; see
// code_address). The table of each loaded object comes from its PT_ARM_EXIDX segment.
namespace exidx_detail {
struct search {
    std::uintptr_t pc, function = 0;
};
inline std::uintptr_t prel31(const std::uint32_t* word) {
    const auto offset = static_cast<std::int32_t>(*word << 1) >> 1;  // sign-extend 31 bits
    return reinterpret_cast<std::uintptr_t>(word) + static_cast<std::uintptr_t>(offset);
}
inline int find_in_object(dl_phdr_info* info, std::size_t, void* arg) {
    auto* s = static_cast<search*>(arg);
    const ElfW(Phdr)* exidx = nullptr;
    bool covers = false;
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type == PT_ARM_EXIDX) exidx = &ph;
        if (ph.p_type == PT_LOAD && s->pc - info->dlpi_addr - ph.p_vaddr < ph.p_memsz) covers = true;
    }
    if (!covers || exidx == nullptr) return 0;
    const auto* table = reinterpret_cast<const std::uint32_t*>(info->dlpi_addr + exidx->p_vaddr);
    std::size_t lo = 0, hi = exidx->p_memsz / 8;  // the last entry starting at or below pc
    while (hi - lo > 1) {
        const std::size_t mid = (lo + hi) / 2;
        if ((prel31(&table[2 * mid]) & ~std::uintptr_t{1}) <= s->pc) lo = mid;
        else hi = mid;
    }
    if (hi > 0 && (prel31(&table[2 * lo]) & ~std::uintptr_t{1}) <= s->pc) s->function = prel31(&table[2 * lo]);
    return 1;
}
}  // namespace exidx_detail
#endif

/// The start of the function containing the call that return address `ra` returns to, from
/// the unwind tables. One byte back: a return address is the instruction after the call,
/// which after a call that does not return (or at the end of a function) is already the
/// next function's first instruction. (On ARM, the Thumb bit of `ra` goes first.)
inline std::uintptr_t function_of_return(std::uintptr_t ra) {
#if defined(__ARM_EABI_UNWINDER__)
    exidx_detail::search s{(ra & ~std::uintptr_t{1}) - 1};
    dl_iterate_phdr(&exidx_detail::find_in_object, &s);
    return s.function;
#else
    return reinterpret_cast<std::uintptr_t>(_Unwind_FindEnclosingFunction(reinterpret_cast<void*>(ra - 1)));
#endif
}

/// A function's address as function_of_return reports a start: the address of its first
/// instruction. On ARM a pointer to a Thumb function has bit 0 set (the state bit that bx
/// reads), which the unwind table's start does not.
template <class Function>
std::uintptr_t code_address(Function* fn) {
    auto address = reinterpret_cast<std::uintptr_t>(fn);
#if defined(__arm__)
    address &= ~std::uintptr_t{1};
#endif
    return address;
}

/// How _Unwind_Backtrace ends at a context's entry function, whose return address is null.
/// The DWARF unwinder reports one more frame, at ip 0 (the null return address), then
/// _URC_END_OF_STACK. ARM's EHABI unwinder looks the null address up in .ARM.exidx first,
/// finds no entry, and stops with _URC_FAILURE without reporting a frame for it; it has
/// no other way to end at a null address (its _URC_END_OF_STACK means a .cantunwind entry).
/// Either way the walk ends right after the entry, which the tests check frame by frame.
/// stop_walk is what a trace callback returns to give up on a walk that wanders:
/// _URC_NORMAL_STOP, which EHABI's unwind.h does not have (any other code stops it there).
#if defined(__ARM_EABI_UNWINDER__)
inline constexpr _Unwind_Reason_Code walk_end_at_entry = _URC_FAILURE;
inline constexpr bool walk_reports_null_frame = false;
inline constexpr _Unwind_Reason_Code stop_walk = _URC_FAILURE;
#else
inline constexpr _Unwind_Reason_Code walk_end_at_entry = _URC_END_OF_STACK;
inline constexpr bool walk_reports_null_frame = true;
inline constexpr _Unwind_Reason_Code stop_walk = _URC_NORMAL_STOP;
#endif

}  // namespace tasklets_test
