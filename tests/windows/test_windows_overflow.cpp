// Windows: a stack overflow is reported naming the tasklet, and the process then ends with
// the exception's code, as tests/test_overflow.cpp checks on Linux with fork and SIGSEGV.
// Windows has no fork: each case re-runs this test binary (CreateProcess) with a filter
// that selects the same test case and TASKLETS_TEST_OVERFLOW_CHILD set, so the child runs
// the faulting body while the parent reads the child's stderr and exit code.
#include <catch2/catch.hpp>
#include <tasklets/tasklets.hpp>

#include "support/overflow_recursion.hpp"

#include <windows.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr const char* child_variable = "TASKLETS_TEST_OVERFLOW_CHILD";

struct child_result {
    std::string stderr_text;
    DWORD exit_code = 0;
    std::uint64_t tasklet_id = 0;  // from the child's stdout: "child tasklet id <id>\n"
};

// In the child: runs `body` in a tasklet named `name`, printing its id first, and never
// returns to Catch2 (a body that does not fault exits with 98).
template <class Body>
[[noreturn]] void child(const char* name, Body body) {
    // An exception nobody handles ends the process quietly, with no crash dialog (and
    // under Wine no winedbg report on stderr), as a signal's default action does on Linux.
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
    try {
        tasklets::tasklet t(tasklets::tasklet_options{64 * 1024, name}, body);
        std::printf("child tasklet id %llu\n", static_cast<unsigned long long>(t.id()));
        std::fflush(stdout);
        tasklets::run();
    } catch (...) {
    }
    std::_Exit(98);
}

std::string read_all(HANDLE h) {
    std::string text;
    char buf[1024];
    DWORD n = 0;
    while (ReadFile(h, buf, sizeof buf, &n, nullptr) && n > 0) text.append(buf, n);
    return text;
}

// In the parent: runs this binary on `test_name` with the child variable set.
child_result run_child(const std::string& test_name) {
    char self[MAX_PATH];
    REQUIRE(GetModuleFileNameA(nullptr, self, sizeof self) > 0);
    SECURITY_ATTRIBUTES inherit{sizeof inherit, nullptr, TRUE};
    HANDLE err_read, err_write, out_read, out_write;
    REQUIRE(CreatePipe(&err_read, &err_write, &inherit, 0));
    REQUIRE(CreatePipe(&out_read, &out_write, &inherit, 0));
    SetHandleInformation(err_read, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation(out_read, HANDLE_FLAG_INHERIT, 0);
    STARTUPINFOA si{};
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = out_write;
    si.hStdError = err_write;
    std::string command = std::string("\"") + self + "\" \"" + test_name + "\"";
    REQUIRE(SetEnvironmentVariableA(child_variable, "1"));
    PROCESS_INFORMATION pi{};
    const BOOL started = CreateProcessA(self, command.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr, &si, &pi);
    SetEnvironmentVariableA(child_variable, nullptr);
    CloseHandle(err_write);
    CloseHandle(out_write);
    REQUIRE(started);
    child_result r;
    // The child writes little: its stdout (Catch2's and the id line) fits in the pipe's
    // buffer while we read stderr to its end.
    r.stderr_text = read_all(err_read);
    const std::string out = read_all(out_read);
    WaitForSingleObject(pi.hProcess, INFINITE);
    GetExitCodeProcess(pi.hProcess, &r.exit_code);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    CloseHandle(err_read);
    CloseHandle(out_read);
    if (auto at = out.find("child tasklet id "); at != std::string::npos)
        r.tasklet_id = std::strtoull(out.c_str() + at + 17, nullptr, 10);
    INFO("child's stdout: " << out);
    REQUIRE(r.tasklet_id != 0);
    return r;
}

bool in_child() { return std::getenv(child_variable) != nullptr; }

using tasklets_test::recurse;

}  // namespace

TEST_CASE("windows: a stack overflow is reported naming the tasklet and the process ends with STATUS_STACK_OVERFLOW",
          "[overflow]") {
    if (in_child()) child("parser", [] { recurse(0); });
    const child_result r =
        run_child("windows: a stack overflow is reported naming the tasklet and the process ends with STATUS_STACK_OVERFLOW");
    CHECK(r.exit_code == static_cast<DWORD>(STATUS_STACK_OVERFLOW));
    REQUIRE(r.stderr_text == "tasklets: stack overflow in tasklet " + std::to_string(r.tasklet_id) +
                                 " \"parser\" (stack 65536 bytes); give it a larger stack\n");
}

TEST_CASE("windows: a buffer overrun off the top of a tasklet's stack hits a guard and is reported", "[overflow]") {
    // Runs off `local` on purpose, byte by byte upwards, as an overrun goes. Not memset as on Linux: Wine's msvcrt
    // memset writes a large block's last bytes first, so its first fault is far above the
    // guard, in memory the handler cannot tell from any other.
    if (in_child()) child("scribbler", [] {
        char local[16];
        char* volatile cursor = local;  // hidden from the compiler's bounds checks
        for (std::size_t i = 0; i < 256 * 1024; ++i) static_cast<volatile char*>(cursor)[i] = 0;  // up and past the top
    });
    const child_result r = run_child("windows: a buffer overrun off the top of a tasklet's stack hits a guard and is reported");
    CHECK(r.exit_code == static_cast<DWORD>(STATUS_ACCESS_VIOLATION));
    REQUIRE(r.stderr_text == "tasklets: write past the top of the stack of tasklet " + std::to_string(r.tasklet_id) +
                                 " \"scribbler\" (stack 65536 bytes); a buffer overrun on its stack?\n");
}

TEST_CASE("windows: a fault outside any tasklet stack is left to the next handler and not reported", "[overflow]") {
    if (in_child()) child("innocent", [] {
        volatile int* null_pointer = nullptr;
        *null_pointer = 1;
    });
    const child_result r = run_child("windows: a fault outside any tasklet stack is left to the next handler and not reported");
    CHECK(r.exit_code == static_cast<DWORD>(STATUS_ACCESS_VIOLATION));
    REQUIRE(r.stderr_text.empty());
}
