// The system layer on Windows (os/system.hpp): slabs from VirtualAlloc, guards by
// VirtualProtect. Chosen by cmake/windows.cmake instead of os/system.cpp.
//
// A guard region (stack_pool::guard_bytes(), 16 KiB) lies below every stack. Windows (and
// Wine) deliver an exception on the faulting thread's own stack, so a guard that is all
// PAGE_NOACCESS would leave the exception nowhere to be dispatched: the process would die
// silently. So each guard region is laid out as Windows lays out the end of a thread
// stack, and the TEB of a running tasklet describes it as one (the kernel passes the guard
// region's start to prepare_stack as the stack's DeallocationStack):
//
//   guard start                                          stack.base
//   | PAGE_NOACCESS (1 page) | read-write reserve | PAGE_GUARD (1 page) | the stack ...
//
// A tasklet that runs off its stack touches the PAGE_GUARD page first (compilers probe
// every page of a frame larger than one). The system then raises STATUS_STACK_OVERFLOW,
// because the page lies within the thread's stack guarantee (SetThreadStackGuarantee,
// core/stack_overflow_windows.cpp), and dispatches it on the reserve below, where the
// vectored handler names the tasklet. The PAGE_NOACCESS page stops anything that goes
// further, and is also what a write off the top of the stack below hits first.
#include "os/system.hpp"

#include <windows.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <system_error>

namespace tasklets::detail::sys {

namespace {

// Out of memory is std::system_error(ENOMEM, generic_category()) here as on Linux, so that
// callers (and the fault-injection tests) see one error whatever the system; the Windows
// error code is kept in the text. `injected`: inject_failure() said to fail.
[[noreturn]] void fail(bool injected, const std::string& what) {
    const DWORD err = injected ? ERROR_NOT_ENOUGH_MEMORY : GetLastError();
    const std::string text = "tasklets: " + what + " (Windows error " + std::to_string(err) + ")";
    if (err == ERROR_NOT_ENOUGH_MEMORY || err == ERROR_OUTOFMEMORY || err == ERROR_COMMITMENT_LIMIT)
        throw std::system_error(ENOMEM, std::generic_category(), text);
    throw std::system_error(static_cast<int>(err), std::system_category(), text);
}

}  // namespace

std::size_t page_size() noexcept {
    static const std::size_t size = [] {
        SYSTEM_INFO info;
        GetSystemInfo(&info);
        return static_cast<std::size_t>(info.dwPageSize);
    }();
    return size;
}

guard_method guard_method_in_use() { return guard_method::virtual_protect; }

const char* guard_method_name(guard_method m) noexcept {
    switch (m) {
    case guard_method::madvise_guard: return "madvise(MADV_GUARD_INSTALL)";
    case guard_method::mprotect: return "mprotect(PROT_NONE)";
    case guard_method::virtual_protect: return "VirtualProtect(PAGE_NOACCESS, PAGE_GUARD)";
    }
    return "?";
}

void* map_slab(std::size_t bytes) {
    // Reserved and committed at once: Windows does not commit reserved pages on a fault
    // as Linux does. Committed pages still cost no memory until touched (they count
    // against the commit limit, the pagefile, instead).
    const bool injected = inject_failure("VirtualAlloc of a stack slab");
    void* p = injected ? nullptr : VirtualAlloc(nullptr, bytes, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!p) {
        fail(injected, "cannot allocate " + std::to_string(bytes) + " bytes for tasklet stacks (VirtualAlloc failed); "
                  "reduce the number of live tasklets or their stack size, or enlarge the pagefile (the commit limit)");
    }
    count_slabs(+1);
    return p;
}

void unmap(void* p, std::size_t) noexcept {
    VirtualFree(p, 0, MEM_RELEASE);
    count_slabs(-1);
}

void install_guard(void* p, std::size_t bytes) {
    const std::size_t page = page_size();
    auto* start = static_cast<std::byte*>(p);
    DWORD old;
    const bool injected = inject_failure("VirtualProtect(PAGE_NOACCESS) of a stack guard");
    if (injected || !VirtualProtect(start, page, PAGE_NOACCESS, &old))
        fail(injected, "cannot guard a new tasklet stack (VirtualProtect PAGE_NOACCESS failed); "
                       "reduce the number of live tasklets or their stack size");
    // Below three pages there is no room for a reserve: the whole guard is PAGE_NOACCESS
    // (an overflow is then not reported, but still stopped).
    if (bytes < 3 * page) {
        if (!VirtualProtect(start, bytes, PAGE_NOACCESS, &old))
            fail(false, "cannot guard a new tasklet stack (VirtualProtect PAGE_NOACCESS failed)");
        return;
    }
    if (!VirtualProtect(start + bytes - page, page, PAGE_READWRITE | PAGE_GUARD, &old))
        fail(false, "cannot guard a new tasklet stack (VirtualProtect PAGE_GUARD failed)");
}

void install_guards(std::byte* first, std::size_t stride, std::size_t count, std::size_t bytes) {
    for (std::size_t i = 0; i < count; ++i) install_guard(first + i * stride, bytes);
}

void prefault(void*, std::size_t) noexcept {
    // Nothing: Windows has no MADV_POPULATE_WRITE; the first write faults the page in.
}

}  // namespace tasklets::detail::sys
