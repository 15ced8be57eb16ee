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
#include "os/system.hpp"

#include <windows.h>

#include <cstdint>
#include <cstring>
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

// A fixed buffer that appends text and numbers without allocating.
struct message {
    char text[512];
    std::size_t length = 0;
    void append(const char* s, std::size_t n) noexcept {
        for (std::size_t i = 0; i < n && length < sizeof text; ++i) text[length++] = s[i];
    }
    void append(const char* s) noexcept { append(s, std::strlen(s)); }
    void append(std::uint64_t v) noexcept {
        char digits[20];
        std::size_t n = 0;
        do digits[n++] = static_cast<char>('0' + v % 10); while ((v /= 10) != 0);
        while (n) append(&digits[--n], 1);
    }
};

void report(const tasklet_impl* t, bool past_top) noexcept {
    message m;
    m.append(past_top ? "tasklets: write past the top of the stack of tasklet " : "tasklets: stack overflow in tasklet ");
    m.append(t->id);
    if (t->name) {
        m.append(" \"");
        m.append(t->name);
        m.append("\"");
    }
    m.append(" (stack ");
    m.append(static_cast<std::uint64_t>(t->stack.size));
    m.append(past_top ? " bytes); a buffer overrun on its stack?\n" : " bytes); give it a larger stack\n");
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
    const std::size_t guard = stack_pool::guard_bytes();
    const std::byte* base = t->stack.base;
    const std::byte* top = t->stack.top();
    bool below = false;
    bool above = false;
    if (code == STATUS_STACK_OVERFLOW) {
        // No address comes with it: it is about the stack rsp is on, if that is this
        // tasklet's (its guard region included: the dispatcher runs in its reserve).
        const auto* sp = reinterpret_cast<const std::byte*>(info->ContextRecord->Rsp);
        below = sp >= base - guard && sp < top;
    } else if (info->ExceptionRecord->NumberParameters >= 2) {
        const auto* addr = reinterpret_cast<const std::byte*>(info->ExceptionRecord->ExceptionInformation[1]);
        below = addr >= base - guard && addr < base;
        above = addr >= top && addr < top + guard;
    }
    if (!below && !above) return EXCEPTION_CONTINUE_SEARCH;
    report(t, above);
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
