// Stack overflow reporting. A tasklet that runs off its stack touches a guard region and
// gets SIGSEGV; on the overflowed stack no handler could run, so the handler runs on an
// alternate signal stack, names the tasklet using async-signal-safe calls only, and
// restores the previous disposition so that the fault, re-executed, kills the process by
// SIGSEGV (or reaches the handler that was there before us). Faults that are not ours go
// straight to the previous handler.
#include "core/stack_overflow.hpp"

#include "core/scheduler.hpp"
#include "core/stack_overflow_report.hpp"

#include <csignal>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>

namespace tasklets::detail {

namespace {

struct sigaction previous_action;
std::once_flag handler_once;

constexpr std::size_t alt_stack_bytes = 64 * 1024;

void report(const tasklet_impl& t, bool past_top) noexcept {
    const overflow::report_text m(t, past_top);
    for (std::size_t done = 0; done < m.length;) {
        ssize_t n = ::write(STDERR_FILENO, m.text + done, m.length - done);
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
    }
}

void forward(int sig, siginfo_t* info, void* context) noexcept {
    const struct sigaction& prev = previous_action;
    if ((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction) {
        prev.sa_sigaction(sig, info, context);
    } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
        prev.sa_handler(sig);
    } else {
        // Re-executing the faulting instruction delivers the signal to the default action.
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        ::sigaction(sig, &dfl, nullptr);
    }
}

void on_segv(int sig, siginfo_t* info, void* context) noexcept {
    const scheduler* s = tls_scheduler;
    const auto* addr = static_cast<const std::byte*>(info->si_addr);
    if (s && s->current && s->current->stack.base) {
        const tasklet_impl* t = s->current;
        const overflow::hit hit = overflow::classify(*t, addr);
        if (hit) {
            report(*t, hit.above);
            ::sigaction(sig, &previous_action, nullptr);
            if (previous_action.sa_handler == SIG_IGN) forward(sig, info, context);
            return;
        }
    }
    forward(sig, info, context);
}

void install_handler() noexcept {
    struct sigaction action {};
    action.sa_sigaction = &on_segv;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGSEGV, &action, &previous_action);
}

}  // namespace

void install_overflow_reporting(scheduler& s) {
    std::call_once(handler_once, install_handler);
    stack_t current{};
    if (::sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;  // the thread has one
    void* mem = ::mmap(nullptr, alt_stack_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return;  // overflows would then die unreported; nothing else breaks
    stack_t alt{};
    alt.ss_sp = mem;
    alt.ss_size = alt_stack_bytes;
    if (::sigaltstack(&alt, nullptr) == 0) s.alt_stack = mem;
    else ::munmap(mem, alt_stack_bytes);
}

void remove_overflow_reporting(scheduler& s) noexcept {
    if (!s.alt_stack) return;
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    ::sigaltstack(&off, nullptr);
    ::munmap(s.alt_stack, alt_stack_bytes);
    s.alt_stack = nullptr;
}

}  // namespace tasklets::detail
