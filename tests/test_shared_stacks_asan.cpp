// Under AddressSanitizer, the frames of a shared-stack tasklet that parked with them in
// place are poisoned until it runs again or is copied out, so that another tasklet's use
// of a pointer to its locals is reported (docs/shared-stacks.md, "Using it": "ASan checks that rule").
// Authority: docs/shared-stacks.md; kernel/core/shared_stacks.cpp, guard_parked_frames_asan.
//
// Each case runs in a forked child: ASan's report ends the process. Only ASan builds have
// these tests: no other build can see the mistake.
#include <catch2/catch.hpp>

#include "support/tools.hpp"

#if TASKLETS_TEST_ASAN && !defined(_WIN32)

#include <tasklets/tasklets.hpp>

#include <cinttypes>
#include <cstdio>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

using namespace tasklets;

namespace {

int* kept = nullptr;          // the address of a parked tasklet's local
int seen_after_wake = 0;      // what that tasklet read through it once it ran again

// An instrumented read: ASan checks the shadow of *p.
[[gnu::noinline]] int read_through(const int* p) { return *p; }

// Uninstrumented, so its local is on the execution stack even under the presets'
// detect_stack_use_after_return=1, which moves instrumented locals to ASan's fake stacks
// (where a kept pointer stays valid: docs/shared-stacks.md says so).
[[gnu::no_sanitize_address, gnu::noinline]] void keep_a_local_and_wait(channel<int>& ch) {
    volatile int local = 42;
    kept = const_cast<int*>(&local);
    (void)ch.receive();
    seen_after_wake = read_through(kept);  // instrumented: its shadow is the frame's again
}

// Instrumented: its local has redzones around it, and lives on the execution stack only
// while ASan's fake stacks are off (detect_stack_use_after_return=0).
[[gnu::noinline]] void keep_an_instrumented_local_and_wait(channel<int>& ch) {
    int local = 42;
    kept = &local;
    (void)ch.receive();
    seen_after_wake = read_through(kept);
}

using keeper = void (*)(channel<int>&);

}  // namespace

// What instrumented functions read at entry to choose a fake frame or the real stack: the
// runtime's copy of detect_stack_use_after_return, which the children below turn off.
extern "C" int __asan_option_detect_stack_use_after_return;

namespace {

struct child_result {
    std::string stderr_text;
    bool died = false;  // by a signal or a nonzero exit
    std::uintptr_t kept_address = 0;
    std::uint64_t id = 0;  // the parked tasklet's
};

// Runs `main_side` in a child, after a shared-stack tasklet running `keep` has kept a
// local's address and parked on a channel (`ch`); the child prints the address and the
// tasklet's id first.
template <class Main>
child_result run_in_child(keeper keep, Main main_side) {
    int err_pipe[2];
    REQUIRE(::pipe(err_pipe) == 0);
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::dup2(err_pipe[1], STDERR_FILENO);
        ::close(err_pipe[0]);
        try {  // the child must never return into the test runner
            channel<int> ch;
            tasklet_options o;
            o.stack = stack_mode::shared;
            o.name = "agent";
            if (keep == &keep_an_instrumented_local_and_wait) __asan_option_detect_stack_use_after_return = 0;
            tasklet t(o, [&] { keep(ch); });
            schedule();  // it runs and parks in receive, its frames in place
            std::fprintf(stderr, "kept %" PRIxPTR " id %" PRIu64 "\n", reinterpret_cast<std::uintptr_t>(kept), t.id());
            main_side(ch);
            run();
        } catch (...) {
            ::_exit(98);
        }
        ::_exit(seen_after_wake == 42 ? 0 : 97);
    }
    ::close(err_pipe[1]);
    child_result r;
    char buf[4096];
    for (ssize_t n; (n = ::read(err_pipe[0], buf, sizeof buf)) > 0;) r.stderr_text.append(buf, static_cast<std::size_t>(n));
    ::close(err_pipe[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.died = WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0);
    std::sscanf(r.stderr_text.c_str(), "kept %" SCNxPTR " id %" SCNu64, &r.kept_address, &r.id);
    return r;
}

}  // namespace

TEST_CASE("ASan: a pointer to a parked shared-stack tasklet's local, used by another tasklet, is reported naming it",
          "[shared_stacks][asan]") {
    // An uninstrumented function's local (always on the stack), then an instrumented one's
    // with fake stacks off: both reported the same way.
    const keeper keep = GENERATE(&keep_a_local_and_wait, &keep_an_instrumented_local_and_wait);
    const child_result r = run_in_child(keep, [](channel<int>&) { (void)read_through(kept); });
    INFO(r.stderr_text);
    REQUIRE(r.kept_address != 0);
    CHECK(r.died);
    const std::string what = "ERROR: AddressSanitizer: use-after-poison on address 0x";
    const auto at = r.stderr_text.find(what);
    REQUIRE(at != std::string::npos);
    CHECK(std::stoull(r.stderr_text.substr(at + what.size(), 16), nullptr, 16) == r.kept_address);
    CHECK(r.stderr_text.find("read_through") != std::string::npos);  // the report names the reader
    // and the library adds whose frames the address is in
    char named[256];
    std::snprintf(named, sizeof named,
                  "tasklets: 0x%" PRIxPTR " is in the frames of tasklet %" PRIu64 " \"agent\", parked on a shared stack: "
                  "a pointer to its locals was kept and used while it waits (docs/shared-stacks.md)\n",
                  r.kept_address, r.id);
    CHECK(r.stderr_text.find(named) != std::string::npos);
}

TEST_CASE("ASan: the parked tasklet's frames are its own again when it runs, and nothing is reported",
          "[shared_stacks][asan]") {
    // The control: the same tasklet, woken before anyone reads; it reads its local itself.
    const keeper keep = GENERATE(&keep_a_local_and_wait, &keep_an_instrumented_local_and_wait);
    const child_result r = run_in_child(keep, [](channel<int>& ch) { ch.send(7); });
    INFO(r.stderr_text);
    REQUIRE(r.kept_address != 0);
    CHECK_FALSE(r.died);
    CHECK(r.stderr_text.find("AddressSanitizer") == std::string::npos);
}

#endif
