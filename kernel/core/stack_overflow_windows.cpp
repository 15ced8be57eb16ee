// Stack overflow reporting on Windows (core/stack_overflow.hpp), chosen by
// cmake/windows.cmake instead of core/stack_overflow.cpp.
//
// Windows has no alternate signal stack: an exception is dispatched on the stack that
// faulted. So a tasklet's guard region keeps a reserve for it (os/system_windows.cpp), and
// SetThreadStackGuarantee makes the system raise STATUS_STACK_OVERFLOW as soon as the
// guard page at the stack's bottom is touched, leaving that reserve for the dispatcher and
// this vectored handler. The handler names the tasklet with the same text as the Linux
// build, then ends the process with the exception's code, as an unhandled exception
// would: a tasklet past its stack cannot go on, and nothing above it could repair that.
// Exceptions that are not ours are left to the handlers after us.
#include "core/stack_overflow.hpp"

#include "core/scheduler.hpp"
#include "core/stack_overflow_report.hpp"
#include "os/system.hpp"

#include <windows.h>

#include <cstdint>
#include <mutex>

namespace tasklets::detail {

namespace {

std::once_flag handler_once;

// The reserve between a guard region's PAGE_NOACCESS page and its guard page, less the
// page the guarantee itself counts: what the dispatcher and the handler may use. Windows
// and Wine raise STATUS_STACK_OVERFLOW when the touched guard page lies within this many
// bytes of the bottom of the stack (its TEB DeallocationStack) plus one page.
ULONG guarantee_bytes() noexcept {
    return static_cast<ULONG>(stack_pool::guard_bytes() - sys::page_size());
}

void report(const tasklet_impl& t, bool past_top) noexcept {
    const overflow::report_text m(t, past_top);
    // WriteFile, not the C runtime: no locks, no buffers, nothing that could be half-held.
    const HANDLE err = GetStdHandle(STD_ERROR_HANDLE);
    for (std::size_t done = 0; done < m.length;) {
        DWORD n = 0;
        if (!WriteFile(err, m.text + done, static_cast<DWORD>(m.length - done), &n, nullptr) || n == 0) break;
        done += n;
    }
}

LONG CALLBACK on_exception(EXCEPTION_POINTERS* info) noexcept {
    const DWORD code = info->ExceptionRecord->ExceptionCode;
    if (code != STATUS_STACK_OVERFLOW && code != STATUS_ACCESS_VIOLATION && code != STATUS_GUARD_PAGE_VIOLATION)
        return EXCEPTION_CONTINUE_SEARCH;
    const scheduler* s = tls_scheduler;
    if (!s || !s->current || !s->current->stack.base) return EXCEPTION_CONTINUE_SEARCH;
    const tasklet_impl* t = s->current;
    overflow::hit hit;
    if (code == STATUS_STACK_OVERFLOW) {
        // No address comes with it: it is about the stack rsp is on, if that is this
        // tasklet's (its guard region included: the dispatcher runs in its reserve).
        const auto* sp = reinterpret_cast<const std::byte*>(info->ContextRecord->Rsp);
        hit.below = sp >= t->stack.base - stack_pool::guard_bytes() && sp < t->stack.top();
    } else if (info->ExceptionRecord->NumberParameters >= 2) {
        hit = overflow::classify(*t, reinterpret_cast<const std::byte*>(info->ExceptionRecord->ExceptionInformation[1]));
    }
    if (!hit) return EXCEPTION_CONTINUE_SEARCH;
    report(*t, hit.above);
    TerminateProcess(GetCurrentProcess(), code);
    return EXCEPTION_CONTINUE_SEARCH;  // not reached
}

void install_handler() noexcept {
    // First in the chain: an overflowed tasklet must be named before anything else runs
    // on its last bytes of stack.
    AddVectoredExceptionHandler(1, &on_exception);
}

}  // namespace

void install_overflow_reporting(scheduler&) {
    std::call_once(handler_once, install_handler);
    // Per thread (the TEB's GuaranteedStackBytes, which the switch leaves alone): every
    // tasklet this thread runs gets the same reserve. Only ever raised: a thread that
    // asked for more keeps it. Failure leaves overflows unreported, nothing else.
    ULONG wanted = guarantee_bytes();
    ULONG current = 0;
    if (SetThreadStackGuarantee(&current) && current < wanted) SetThreadStackGuarantee(&wanted);
}

void remove_overflow_reporting(scheduler&) noexcept {
    // Nothing per thread to undo: the handler is process-wide, the guarantee harmless.
}

}  // namespace tasklets::detail
