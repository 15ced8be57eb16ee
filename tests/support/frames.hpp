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

#if defined(__has_cpp_attribute)
#if __has_cpp_attribute(gnu::noipa)
#define TASKLETS_TEST_FRAME gnu::noipa
#endif
#endif
#ifndef TASKLETS_TEST_FRAME
#define TASKLETS_TEST_FRAME gnu::noinline  // e.g. clang: it has no noipa and clones no such functions
#endif

namespace tasklets_test {

/// The start of the function containing the call that return address `ra` returns to, from
/// the unwind tables. One byte back: a return address is the instruction after the call,
/// which after a call that does not return (or at the end of a function) is already the
/// next function's first instruction.
inline std::uintptr_t function_of_return(std::uintptr_t ra) {
    return reinterpret_cast<std::uintptr_t>(_Unwind_FindEnclosingFunction(reinterpret_cast<void*>(ra - 1)));
}

}  // namespace tasklets_test
