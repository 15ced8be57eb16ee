// Spec tests: stack sizes (default, minimum, rounding), the stack-overflow report (death
// test in a forked child), and the raw context API on its own. Authority:
// include/tasklets/stack.hpp, include/tasklets/context.hpp, include/tasklets/tasklet.hpp and
// docs/semantics.md §1.7 (a stack size below the minimum, or a zero default, raises
// std::invalid_argument naming the minimum; the overflow report and SIGSEGV).
#include <catch2/catch.hpp>

#include "support/page_size.hpp"

#include "spec_log.hpp"
#include "support/tools.hpp"

#include <tasklets/tasklets.hpp>

#include <csignal>
#include <cstdlib>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#if defined(_WIN32)
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

using spec::event_log;
using tasklets::tasklet;

namespace {

using tasklets_test::page_size;
std::size_t round_to_pages(std::size_t n) { return (n + page_size() - 1) / page_size() * page_size(); }

/// True if the message names the minimum stack size (in bytes, or as "16 KiB").
bool names_minimum(const std::string& what) {
    return what.find(std::to_string(tasklets::min_stack_size)) != std::string::npos ||
           what.find("16 KiB") != std::string::npos;
}

}  // namespace

// ---- stack sizes ----------------------------------------------------------------------

TEST_CASE("new tasklets get the default stack size of 64 KiB, an explicit size is rounded up to whole pages", "[spec][stack]") {
    REQUIRE(tasklets::builtin_default_stack_size == 64 * 1024);
    REQUIRE(tasklets::min_stack_size == 16 * 1024);
    REQUIRE(tasklets::default_stack_size() == tasklets::builtin_default_stack_size);
    event_log log;
    tasklet d([&log] { log.push_back("d"); });
    REQUIRE(d.stack_size() == tasklets::default_stack_size());
    tasklet m(tasklets::tasklet_options{.stack_size = tasklets::min_stack_size, .name = "min"}, [&log] { log.push_back("m"); });
    REQUIRE(m.stack_size() == tasklets::min_stack_size);
    const std::size_t odd = 70000;
    tasklet r(tasklets::tasklet_options{.stack_size = odd, .name = "odd"}, [&log] { log.push_back("r"); });
    REQUIRE(r.stack_size() == round_to_pages(odd));
    tasklets::run();
    REQUIRE(log == event_log{"d", "m", "r"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("a tasklet stack size below the minimum fails with std::invalid_argument naming the minimum and schedules nothing", "[spec][stack]") {
    bool ran = false;
    for (std::size_t bad : {std::size_t{1}, std::size_t{4096}, tasklets::min_stack_size - 1}) {
        CAPTURE(bad);
        try {
            tasklet t(tasklets::tasklet_options{.stack_size = bad, .name = "small"}, [&ran] { ran = true; });
            FAIL("no exception for a stack of " << bad << " bytes");
        } catch (const std::invalid_argument& e) {
            CAPTURE(e.what());
            REQUIRE(names_minimum(e.what()));
        }
        REQUIRE(tasklets::runcount() == 1);
    }
    tasklets::run();
    REQUIRE_FALSE(ran);
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("set_default_stack_size rejects zero and sizes below the minimum, naming it, and changes new tasklets' size", "[spec][stack]") {
    for (std::size_t bad : {std::size_t{0}, tasklets::min_stack_size - 1}) {
        CAPTURE(bad);
        try {
            tasklets::set_default_stack_size(bad);
            FAIL("no exception for a default stack of " << bad << " bytes");
        } catch (const std::invalid_argument& e) {
            CAPTURE(e.what());
            REQUIRE(names_minimum(e.what()));
        }
        REQUIRE(tasklets::default_stack_size() == tasklets::builtin_default_stack_size);
    }
    tasklets::set_default_stack_size(128 * 1024);
    REQUIRE(tasklets::default_stack_size() == 128 * 1024);
    tasklet t([] {});
    REQUIRE(t.stack_size() == 128 * 1024);
    tasklets::set_default_stack_size(tasklets::builtin_default_stack_size);
    REQUIRE(tasklets::default_stack_size() == tasklets::builtin_default_stack_size);
    tasklets::run();
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("a tasklet can use most of its stack", "[spec][stack]") {
    // 48 KiB of locals on a 64 KiB stack must not overflow.
    std::size_t sum = 0;
    tasklet t([&sum] {
        volatile unsigned char big[48 * 1024];
        for (std::size_t i = 0; i < sizeof big; i += 512) big[i] = static_cast<unsigned char>(i >> 9);
        for (std::size_t i = 0; i < sizeof big; i += 512) sum += big[i];
    });
    tasklets::run();
    REQUIRE(sum == (96 * 95) / 2);
    REQUIRE(tasklets::runcount() == 1);
}

// ---- stack overflow (death test) ------------------------------------------------------
// fork and SIGSEGV: Linux. On Windows, tests/windows/test_windows_overflow.cpp.
#if !defined(_WIN32)

namespace {

volatile int recursion_limit = 1 << 30;  // never reached: keeps the recursion finite for the compiler

[[gnu::noinline]] int recurse(int depth) {
    volatile char buffer[512];
    buffer[0] = static_cast<char>(depth);
    buffer[sizeof buffer - 1] = static_cast<char>(depth);
    if (depth >= recursion_limit) return buffer[0];
    return recurse(depth + 1) + buffer[sizeof buffer - 1];
}

void write_all(int fd, const void* data, std::size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w <= 0) return;
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

std::string read_all(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t r = ::read(fd, buf, sizeof buf);
        if (r <= 0) break;
        out.append(buf, static_cast<std::size_t>(r));
    }
    return out;
}

// Why the child re-executes this binary: Catch2 installs its own SIGSEGV handler at the
// start of every test case and restores the previous disposition at its end. The kernel
// installs its overflow handler once per process, when the first scheduler is made; in a
// whole-binary run that happens in an earlier test case, and Catch2 puts SIG_DFL back when
// that test case ends. A freshly exec'd image (running only the hidden test case below)
// makes its first tasklet inside the test case, so the kernel's handler is on top. If exec
// is impossible (e.g. qemu-user without binfmt_misc), the child runs the scenario itself,
// which works when the test runs in a process of its own (as ctest does).
constexpr const char* overflow_child_env = "TASKLETS_SPEC_OVERFLOW_CHILD_FD";

[[noreturn]] void overflow_child(int id_fd) {
    try {
        tasklet t(tasklets::tasklet_options{.stack_size = 65536, .name = "parser"}, [] { recurse(0); });
        std::uint64_t id = t.id();
        write_all(id_fd, &id, sizeof id);
        ::close(id_fd);
        tasklets::run();
    } catch (...) {
        ::_exit(3);
    }
    ::_exit(0);  // the overflow went unnoticed
}

}  // namespace

TEST_CASE("(the stack-overflow death test's child process)", "[.][spec_overflow_child]") {
    const char* fd = std::getenv(overflow_child_env);
    if (fd == nullptr) {
        SUCCEED("only does something as the death test's child");
        return;
    }
    overflow_child(std::atoi(fd));
}

TEST_CASE("stack overflow in a tasklet is reported on stderr naming it and the process dies by SIGSEGV", "[spec][stack][death]") {
    if (tasklets_test::running_on_valgrind()) {
        tasklets_test::print_skip("stack overflow in a tasklet is reported on stderr naming it and the process dies by SIGSEGV",
                                  "Valgrind", "the child re-executes /proc/self/exe, which under Valgrind is the tool, not this program");
        return;
    }
    int err_pipe[2];
    int id_pipe[2];
    REQUIRE(::pipe(err_pipe) == 0);
    REQUIRE(::pipe(id_pipe) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // Child: no Catch2 here; report only through the pipes and the exit status.
        ::close(err_pipe[0]);
        ::close(id_pipe[0]);
        ::dup2(err_pipe[1], STDERR_FILENO);
        ::close(err_pipe[1]);
        int null_fd = ::open("/dev/null", O_WRONLY);
        if (null_fd >= 0) ::dup2(null_fd, STDOUT_FILENO);
        ::setenv(overflow_child_env, std::to_string(id_pipe[1]).c_str(), 1);
        char arg0[] = "tasklets_tests";
        char arg1[] = "[spec_overflow_child]";
        char* argv[] = {arg0, arg1, nullptr};
        ::execv("/proc/self/exe", argv);
        overflow_child(id_pipe[1]);  // exec failed: do it here
    }
    ::close(err_pipe[1]);
    ::close(id_pipe[1]);
    std::uint64_t id = 0;
    std::string id_bytes = read_all(id_pipe[0]);
    ::close(id_pipe[0]);
    if (id_bytes.size() == sizeof id) std::memcpy(&id, id_bytes.data(), sizeof id);
    std::string err = read_all(err_pipe[0]);
    ::close(err_pipe[0]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CAPTURE(err, status);
    REQUIRE(id >= 2);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGSEGV);
    const std::string expected = "tasklets: stack overflow in tasklet " + std::to_string(id) +
                                 " \"parser\" (stack 65536 bytes); give it a larger stack\n";
    REQUIRE_THAT(err, Catch::Matchers::Contains(expected));
    REQUIRE(tasklets::runcount() == 1);
}

#endif  // !_WIN32

// ---- the raw context API --------------------------------------------------------------

namespace {

struct ping_pong {
    tasklets::context caller;
    tasklets::context self;
    unsigned char* stack_lo = nullptr;
    unsigned char* stack_hi = nullptr;
    bool on_own_stack = false;
    int rounds = 0;
};

void ping_pong_entry(void* value) {
    auto* pp = static_cast<ping_pong*>(value);
    // The frame address, not a local's: AddressSanitizer may keep locals on a fake stack.
    // It may equal the stack's top: on RISC-V it is the frame's CFA, and this is the
    // first frame on the stack.
    auto* frame = static_cast<unsigned char*>(__builtin_frame_address(0));
    pp->on_own_stack = frame > pp->stack_lo && frame <= pp->stack_hi;
    // Each switch back hands the caller a count; the caller answers with the next number.
    std::intptr_t n = 0;
    for (;;) {
        ++pp->rounds;
        void* reply = tasklets::switch_context(pp->self, pp->caller, reinterpret_cast<void*>(n + 100));
        n = reinterpret_cast<std::intptr_t>(reply);
    }
}

alignas(64) unsigned char context_stack[64 * 1024];

}  // namespace

TEST_CASE("the context API on its own: a fresh context runs its entry on the given stack and values pass both ways", "[spec][context]") {
    ping_pong pp;
    pp.stack_lo = context_stack;
    pp.stack_hi = context_stack + sizeof context_stack;
    tasklets_test::valgrind_stack registered(context_stack, sizeof context_stack);  // a stack we switch onto by hand
    tasklets::context fresh = tasklets::make_context(context_stack, sizeof context_stack, &ping_pong_entry);
    REQUIRE(static_cast<bool>(fresh));
    REQUIRE_FALSE(static_cast<bool>(pp.caller));
    // The first switch passes the entry its argument.
    void* got = tasklets::switch_context(pp.caller, fresh, &pp);
    REQUIRE(pp.on_own_stack);
    REQUIRE(pp.rounds == 1);
    REQUIRE(reinterpret_cast<std::intptr_t>(got) == 100);
    REQUIRE(static_cast<bool>(pp.caller));
    for (std::intptr_t i = 1; i <= 1000; ++i) {
        got = tasklets::switch_context(pp.caller, pp.self, reinterpret_cast<void*>(i));
        REQUIRE(reinterpret_cast<std::intptr_t>(got) == i + 100);
    }
    REQUIRE(pp.rounds == 1001);
    // The context is abandoned suspended (entry functions never return); nothing to free.
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("make_context rejects a null stack and a stack smaller than min_context_stack", "[spec][context]") {
    REQUIRE_THROWS_AS(tasklets::make_context(nullptr, sizeof context_stack, &ping_pong_entry), std::invalid_argument);
    REQUIRE_THROWS_AS(tasklets::make_context(context_stack, tasklets::min_context_stack - 1, &ping_pong_entry),
                      std::invalid_argument);
    REQUIRE_THROWS_AS(tasklets::make_context(context_stack, 0, &ping_pong_entry), std::invalid_argument);
    REQUIRE_NOTHROW(tasklets::make_context(context_stack, tasklets::min_context_stack, &ping_pong_entry));
}

TEST_CASE("two raw contexts can switch between each other without the caller", "[spec][context]") {
    // A and B hand a counter back and forth; B returns to the caller after 10 hops.
    struct shared {
        tasklets::context caller, a, b;
        event_log log;
    };
    static shared s;
    s = shared{};
    alignas(64) static unsigned char stack_a[32 * 1024];
    alignas(64) static unsigned char stack_b[32 * 1024];
    auto entry_a = [](void* v) {
        auto n = reinterpret_cast<std::intptr_t>(v);
        for (;;) {
            s.log.push_back("a" + std::to_string(n));
            n = reinterpret_cast<std::intptr_t>(tasklets::switch_context(s.a, s.b, reinterpret_cast<void*>(n + 1)));
        }
    };
    auto entry_b = [](void* v) {
        auto n = reinterpret_cast<std::intptr_t>(v);
        for (;;) {
            s.log.push_back("b" + std::to_string(n));
            void* to_a = reinterpret_cast<void*>(n + 1);
            if (n >= 5) tasklets::switch_context(s.b, s.caller, nullptr);
            n = reinterpret_cast<std::intptr_t>(tasklets::switch_context(s.b, s.a, to_a));
        }
    };
    tasklets_test::valgrind_stack registered_a(stack_a, sizeof stack_a), registered_b(stack_b, sizeof stack_b);
    s.a = tasklets::make_context(stack_a, sizeof stack_a, +entry_a);
    s.b = tasklets::make_context(stack_b, sizeof stack_b, +entry_b);
    tasklets::switch_context(s.caller, s.a, reinterpret_cast<void*>(0));
    REQUIRE(s.log == event_log{"a0", "b1", "a2", "b3", "a4", "b5"});
}
