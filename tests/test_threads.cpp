// Thread ownership: tasklets and channels used on a thread they do not belong to are
// reported, never raced on. Authority: docs/semantics.md §9.1 and §11 (messages),
// include/tasklets/errors.hpp (thread_error).
#include <catch2/catch.hpp>

#include "support/in_thread.hpp"
#include "support/tools.hpp"
#include "support/valgrind_stack.hpp"

#include <tasklets/debug.hpp>
#include <tasklets/tasklets.hpp>

#include <atomic>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <optional>
#include <string>
#include <thread>
#include <vector>

#if !defined(_WIN32)
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>
#endif

using Catch::Matchers::Message;
using tasklets::channel;
using tasklets::tasklet;
using tasklets_test::in_thread;

namespace {

const std::string rule =
    "a tasklet is used only on the thread that created it, and a channel only on the thread of its first "
    "send, receive or select (docs/semantics.md §9.1)";

// What `body` throws on a thread of its own, as "<type>: <message>" ("none" if nothing).
template <class F>
std::string thrown_elsewhere(F body) {
    std::string what = "none";
    std::thread([&] {
        try {
            body();
        } catch (const tasklets::thread_error& e) {
            what = std::string("thread_error: ") + e.what();
        } catch (const std::exception& e) {
            what = std::string("other: ") + e.what();
        }
    }).join();
    return what;
}

}  // namespace

TEST_CASE("a tasklet's operations on another thread throw thread_error and change nothing", "[threads]") {
    in_thread([] {
        channel<int> c;
        tasklet t([c]() mutable { (void)c.receive(); });
        t.set_name("worker");
        tasklets::schedule();  // t runs and blocks on c
        REQUIRE(t.blocked());
        const std::string other = " on tasklet 2 of another thread: " + rule;
        // Only references to t cross: copying the handle there would itself be an error.
        CHECK(thrown_elsewhere([&] { (void)t.alive(); }) == "thread_error: tasklets: alive()" + other);
        CHECK(thrown_elsewhere([&] { (void)t.blocked(); }) == "thread_error: tasklets: blocked()" + other);
        CHECK(thrown_elsewhere([&] { (void)t.name(); }) == "thread_error: tasklets: name()" + other);
        CHECK(thrown_elsewhere([&] { t.kill(); }) == "thread_error: tasklets: kill()" + other);
        CHECK(thrown_elsewhere([&] { t.throw_exception(std::runtime_error("x"), true); }) ==
              "thread_error: tasklets: throw_exception()" + other);
        CHECK(thrown_elsewhere([&] { t.run(); }) == "thread_error: tasklets: run()" + other);
        CHECK(thrown_elsewhere([&] { t.insert(); }) == "thread_error: tasklets: insert()" + other);
        CHECK(thrown_elsewhere([&] { t.remove(); }) == "thread_error: tasklets: remove()" + other);
        CHECK(thrown_elsewhere([&] { t.set_name("x"); }) == "thread_error: tasklets: set_name()" + other);
        CHECK(thrown_elsewhere([&] { (void)t.next(); }) == "thread_error: tasklets: next()" + other);
        // What never changes may be read anywhere; the figures of another thread's tasklet are zeros.
        std::uint64_t id = 0;
        bool current = true, main = true;
        std::size_t depth = 1, stack = 0;
        std::uint64_t switches = 1;
        std::thread([&] {
            id = t.id();
            current = t.is_current();
            main = t.is_main();
            stack = t.stack_size();
            depth = tasklets::stack_depth(t);
            switches = tasklets::statistics(t).switches;
        }).join();
        CHECK(id == 2);
        CHECK_FALSE(current);
        CHECK_FALSE(main);
        CHECK(stack == tasklets::default_stack_size());
        CHECK(depth == 0);
        CHECK(switches == 0);
        // Nothing changed: still blocked, still named, and its own thread can end it.
        CHECK(t.blocked());
        CHECK(t.name() == "worker");
        t.kill();
        CHECK_FALSE(t.alive());
    });
}

TEST_CASE("a channel belongs to the thread of its first send, receive or select", "[threads]") {
    channel<int> c;
    c.set_preference(1);  // setting up an unbound channel is not a use: any thread may
    std::vector<int> got;
    in_thread([&] {
        CHECK(c.preference() == 1);
        tasklet t([&] { got.push_back(c.receive()); });
        c.send(7);  // binds c to this thread
        tasklets::run();
    });
    CHECK(got == std::vector<int>{7});
    // Bound to a thread (ended now): everything on it here, on another thread, throws, and
    // before anything changes.
    const std::string other = " on a channel of another thread: " + rule;
    REQUIRE_THROWS_MATCHES(c.send(1), tasklets::thread_error, Message("tasklets: send" + other));
    REQUIRE_THROWS_MATCHES(c.receive(), tasklets::thread_error, Message("tasklets: receive" + other));
    REQUIRE_THROWS_MATCHES(c.receive_for(std::chrono::milliseconds(5)), tasklets::thread_error,
                           Message("tasklets: receive" + other));
    REQUIRE_THROWS_MATCHES(c.send_exception(std::runtime_error("x")), tasklets::thread_error,
                           Message("tasklets: send" + other));
    auto from_c = tasklets::on_receive(c);
    REQUIRE_THROWS_MATCHES(tasklets::select(from_c, tasklets::default_case), tasklets::thread_error,
                           Message("tasklets: select" + other));
    REQUIRE_THROWS_MATCHES(c.balance(), tasklets::thread_error, Message("tasklets: balance()" + other));
    REQUIRE_THROWS_MATCHES(c.close(), tasklets::thread_error, Message("tasklets: close()" + other));
    REQUIRE_THROWS_MATCHES(c.set_preference(-1), tasklets::thread_error, Message("tasklets: set_preference()" + other));
    REQUIRE_THROWS_MATCHES(c.queue(), tasklets::thread_error, Message("tasklets: queue()" + other));
}

TEST_CASE("a select binds every channel it names, and a channel of another thread fails it before anything happens",
          "[threads]") {
    channel<int> mine, theirs;
    in_thread([&] {
        auto from_theirs = tasklets::on_receive(theirs);
        (void)tasklets::select(from_theirs, tasklets::default_case);
    });
    in_thread([&] {
        const std::string message = "tasklets: select on a channel of another thread: " + rule;
        auto from_mine = tasklets::on_receive(mine);
        auto from_theirs = tasklets::on_receive(theirs);
        REQUIRE_THROWS_MATCHES(tasklets::select(from_mine, from_theirs, tasklets::default_case), tasklets::thread_error,
                               Message(message));
        // `mine` may have been bound before `theirs` failed; it is then this thread's, and usable here.
        tasklet t([&] { mine.send(3); });
        CHECK(mine.receive() == 3);
    });
}

TEST_CASE("handles of tasklets whose thread has ended may be kept, copied and dropped on any thread", "[threads]") {
    std::optional<tasklet> kept;
    std::optional<tasklet> main_of_it;
    std::thread([&] {
        channel<int> never;
        kept.emplace([never]() mutable { (void)never.receive(); });  // killed at thread exit
        tasklets::schedule();
        main_of_it.emplace(tasklets::main_tasklet());
    }).join();
    REQUIRE(kept->id() == 2);
    REQUIRE(main_of_it->is_main());
    REQUIRE_THROWS_MATCHES(kept->alive(), tasklets::thread_error,
                           Message("tasklets: alive() on tasklet 2 of a thread that has ended: " + rule));
    // Several threads at once let go of copies (the orphans' counts are kept under a lock:
    // TSan checks it); the last one frees the control blocks and the scheduler (ASan's leak
    // check checks that).
    std::vector<std::thread> droppers;
    for (int i = 0; i < 4; ++i)
        droppers.emplace_back([copy = *kept, main_copy = *main_of_it]() mutable {
            for (int k = 0; k < 100; ++k) {
                tasklet again = copy;
                tasklet main_again = main_copy;
            }
        });
    for (auto& d : droppers) d.join();
    kept.reset();
    main_of_it.reset();
}

#if defined(__GLIBC__)
TEST_CASE("a thread whose scheduler a channel keeps gives its spare control-block memory back when it ends",
          "[threads]") {
#if TASKLETS_TEST_ASAN || TASKLETS_TEST_TSAN
    const char* tool = tasklets_test::sanitizer();
#else
    const char* tool = tasklets_test::running_on_valgrind() ? "Valgrind" : nullptr;
#endif
    if (tool) {
        tasklets_test::print_skip("a thread whose scheduler a channel keeps gives its spare memory back", tool,
                                  "it reads glibc's malloc statistics, and the tool's own allocator replaces glibc's");
        return;
    }
    channel<int> kept;  // bound to the thread below, it keeps that thread's scheduler
    const auto before = ::mallinfo2().uordblks;
    std::thread([&kept] {
        long done = 0;
        for (int i = 0; i < 20000; ++i) tasklets::spawn([&done] { ++done; });
        tasklets::run();  // 20,000 control blocks freed: their cells stay cached for reuse
        CHECK(done == 20000);
        tasklet t([&kept] { kept.send(1); });
        CHECK(kept.receive() == 1);
    }).join();
    // ~5 MB of cached cells if the thread's end kept them; a few KiB (the scheduler) if not.
    const auto kept_bytes = ::mallinfo2().uordblks - before;
    INFO("bytes still allocated after the thread ended: " << kept_bytes);
    CHECK(kept_bytes < 256 * 1024);
}
#endif

TEST_CASE("channel handles may be copied and dropped on any thread at once", "[threads]") {
    channel<int> c;
    std::vector<std::thread> copiers;
    for (int i = 0; i < 4; ++i)
        copiers.emplace_back([c] {
            for (int k = 0; k < 1000; ++k) {
                channel<int> copy = c;
                (void)copy;
            }
        });
    for (auto& t : copiers) t.join();
    // The count came back to one: the channel is alive and usable, and is freed at the end
    // of this scope (ASan's leak check).
    in_thread([c]() mutable {
        tasklet t([&c] { c.send(5); });
        CHECK(c.receive() == 5);
    });
}

#if !defined(_WIN32)
namespace {

// Runs body() in a forked child and returns what it wrote to stderr; `status` gets its
// wait status.
template <class F>
std::string child_stderr(F body, int& status) {
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::dup2(pipe_fds[1], 2);
        ::close(pipe_fds[0]);
        body();
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    std::string out;
    char buf[512];
    for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    ::close(pipe_fds[0]);
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    return out;
}

}  // namespace

TEST_CASE("dropping a tasklet handle on another thread while the tasklet's thread runs is a fatal error", "[threads]") {
    int status = 0;
    const std::string err = child_stderr(
        [] {
            std::optional<tasklet> handle;
            std::atomic<bool> made{false}, finish{false};
            std::thread owner([&] {
                handle.emplace([] {});
                made = true;
                while (!finish) std::this_thread::yield();
            });
            while (!made) std::this_thread::yield();
            handle.reset();  // here, while `owner` runs: fatal
            finish = true;
            owner.join();
        },
        status);
    INFO(err);
    CHECK(err.find("tasklets: fatal: a tasklet handle was destroyed on a thread other than its tasklet's, while that "
                   "thread runs: tasklet handles are copied and destroyed only on their own thread "
                   "(docs/semantics.md §9.1)\n") != std::string::npos);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT));
}

TEST_CASE("dropping the last handle of a channel on which another thread's tasklets wait is a fatal error", "[threads]") {
    int status = 0;
    const std::string err = child_stderr(
        [] {
            std::optional<channel<int>> c(std::in_place);
            std::atomic<bool> waiting{false}, finish{false};
            std::thread owner([&] {
                channel<int> ch = *c;  // the owner's own handle is dropped before the wait below
                tasklet t([&c] { (void)c->receive(); });
                tasklets::schedule();  // t waits on the channel
                ch = channel<int>();
                waiting = true;
                while (!finish) std::this_thread::yield();
            });
            while (!waiting) std::this_thread::yield();
            c.reset();  // the last handle, here: fatal
            finish = true;
            owner.join();
        },
        status);
    INFO(err);
    CHECK(err.find("tasklets: fatal: the last handle of a channel was destroyed on a thread other than the "
                   "channel's, while tasklets of that thread wait on it: only their own thread can kill them; drop "
                   "the last handle on the channel's thread (docs/semantics.md §3.9, §9.1)\n") != std::string::npos);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT));
}
#else
TEST_CASE("the fatal thread misuses (a handle dropped on another thread, a channel's last handle) abort with a message",
          "[threads]") {
    tasklets_test::print_skip("the fatal thread misuses abort with a message", "Windows",
                              "these death tests fork a child; the messages are checked on every other target");
}
#endif
