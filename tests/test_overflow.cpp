// Stack overflow is reported naming the tasklet, and the process still dies by SIGSEGV.
// Each case runs in a forked child; the parent checks the child's stderr and signal.
#include <catch2/catch.hpp>
#include <tasklets/tasklets.hpp>

#include "support/overflow_recursion.hpp"
#include "support/tools.hpp"

#include <csignal>
#include <cstring>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace {

struct child_result {
    std::string stderr_text;
    int signal = 0;   // 0 if it exited
    std::uint64_t tasklet_id = 0;
};

// Runs `body` in a tasklet named `name` in a child process.
template <class Body>
child_result run_in_child(const char* name, Body body) {
    int err_pipe[2], id_pipe[2];
    REQUIRE(::pipe(err_pipe) == 0);
    REQUIRE(::pipe(id_pipe) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::dup2(err_pipe[1], STDERR_FILENO);
        ::close(err_pipe[0]);
        ::close(id_pipe[0]);
        try {  // the child must never return into the test runner
            tasklets::tasklet t(tasklets::tasklet_options{64 * 1024, name}, body);
            const std::uint64_t id = t.id();
            (void)!::write(id_pipe[1], &id, sizeof id);
            ::close(id_pipe[1]);
            tasklets::run();
        } catch (...) {
            ::_exit(98);
        }
        ::_exit(0);  // not reached if the body faults
    }
    ::close(err_pipe[1]);
    ::close(id_pipe[1]);
    child_result r;
    (void)!::read(id_pipe[0], &r.tasklet_id, sizeof r.tasklet_id);
    char buf[1024];
    for (ssize_t n; (n = ::read(err_pipe[0], buf, sizeof buf)) > 0;) r.stderr_text.append(buf, static_cast<std::size_t>(n));
    // Under QEMU user mode (the AArch64, RISC-V, s390x, ppc64le and mips64el runs), the emulator itself adds
    // this line when the guest dies by a signal; it is not ours to compare.
    if (auto at = r.stderr_text.find("qemu: uncaught target signal "); at != std::string::npos)
        r.stderr_text.erase(at);
    ::close(err_pipe[0]);
    ::close(id_pipe[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return r;
}

using tasklets_test::recurse;

void* (*volatile memset_unoptimised)(void*, int, std::size_t) = &std::memset;

// Tools that catch these faults themselves, first and better, or change what the child
// prints; each skip names the tool and the reason. The sanitizer builds run the two
// stack-overflow death tests with handle_segv=0 (tests/support/sanitizer_tests.cmake).
bool skipped_under_tools(const char* test, const char* sanitizer_reason) {
    if (tasklets_test::running_on_valgrind()) {
        tasklets_test::print_skip(test, "Valgrind",
                                  "memcheck reports the fault itself (and its forked child prints Valgrind's report)");
        return true;
    }
    if (sanitizer_reason && tasklets_test::sanitizer()) {
        tasklets_test::print_skip(test, tasklets_test::sanitizer(), sanitizer_reason);
        return true;
    }
    return false;
}

}  // namespace

TEST_CASE("a stack overflow is reported naming the tasklet, then the process dies by SIGSEGV", "[overflow]") {
    if (skipped_under_tools("a stack overflow is reported naming the tasklet, then the process dies by SIGSEGV", nullptr))
        return;
    const child_result r = run_in_child("parser", [] { recurse(0); });
    REQUIRE(r.signal == SIGSEGV);
    REQUIRE(r.stderr_text == "tasklets: stack overflow in tasklet " + std::to_string(r.tasklet_id) +
                                 " \"parser\" (stack 65536 bytes); give it a larger stack\n");
}

TEST_CASE("a buffer overrun off the top of a tasklet's stack hits a guard and is reported", "[overflow]") {
    if (skipped_under_tools("a buffer overrun off the top of a tasklet's stack hits a guard and is reported",
                            tasklets_test::sanitizer_checks_memory()
                                ? "the sanitizer's memset interceptor reports the overrun (stack-buffer-overflow) "
                                  "before it reaches the guard"
                                : nullptr))
        return;
    const child_result r = run_in_child("scribbler", [] {
        char local[16];
        memset_unoptimised(local, 0, 256 * 1024);  // upwards, through the callers' frames and past the top
    });
    REQUIRE(r.signal == SIGSEGV);
    REQUIRE(r.stderr_text == "tasklets: write past the top of the stack of tasklet " + std::to_string(r.tasklet_id) +
                                 " \"scribbler\" (stack 65536 bytes); a buffer overrun on its stack?\n");
}

TEST_CASE("a fault outside any tasklet stack is left to the default action, unreported", "[overflow]") {
    if (skipped_under_tools("a fault outside any tasklet stack is left to the default action, unreported",
                            "the sanitizer reports the fault itself (UBSan: store to a null pointer; TSan: its SEGV "
                            "report), so the child's stderr is not empty"))
        return;
    const child_result r = run_in_child("innocent", [] {
        volatile int* null_pointer = nullptr;
        *null_pointer = 1;
    });
    REQUIRE(r.signal == SIGSEGV);
    REQUIRE(r.stderr_text.empty());
}
