// Kernel behaviour beyond the Stackless rules: C++ exception state per tasklet, stack
// pooling, clean-up of unreachable tasklets, thread exit, and the guard mechanisms.
#include "support/page_size.hpp"
#include "support/tools.hpp"

#include <catch2/catch.hpp>
#include <tasklets/tasklets.hpp>
#include <tasklets/debug.hpp>

#include <cfenv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <cerrno>
#if defined(_WIN32)
#include <windows.h>
#include <psapi.h>
#else
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace {

#if defined(_WIN32)
// Windows has no /proc: the process's committed private memory stands in for VmSize
// (stacks are committed when their slab is allocated, os/system_windows.cpp).
long status_kib(const char* field) {
    PROCESS_MEMORY_COUNTERS_EX counters{};
    if (std::strcmp(field, "VmSize") != 0 ||
        !GetProcessMemoryInfo(GetCurrentProcess(), reinterpret_cast<PROCESS_MEMORY_COUNTERS*>(&counters), sizeof counters))
        return -1;
    return static_cast<long>(counters.PrivateUsage / 1024);
}
#else
long status_kib(const char* field) {
    std::ifstream status("/proc/self/status");
    const std::size_t n = std::strlen(field);
    for (std::string line; std::getline(status, line);)
        if (line.compare(0, n, field) == 0 && line[n] == ':') return std::strtol(line.c_str() + n + 1, nullptr, 10);
    return -1;
}
#endif

std::uintptr_t system_page_size() { return tasklets_test::page_size(); }

struct on_destroy {
    std::vector<std::string>* log;
    std::string text;
    ~on_destroy() { log->push_back(text); }
};

}  // namespace

TEST_CASE("a tasklet may switch inside a catch block: each keeps its own caught exception", "[kernel][exceptions]") {
    std::vector<std::string> log;
    tasklets::tasklet a([&] {
        try {
            throw std::runtime_error("A's error");
        } catch (const std::exception&) {
            tasklets::schedule();  // B throws and catches its own exception meanwhile
            try {
                throw;  // must rethrow A's exception, not B's
            } catch (const std::exception& again) {
                log.push_back(std::string("A rethrew: ") + again.what());
            }
        }
    });
    tasklets::tasklet b([&] {
        try {
            throw std::logic_error("B's error");
        } catch (const std::exception& e) {
            log.push_back(std::string("B caught: ") + e.what());
        }
    });
    tasklets::run();
    REQUIRE(log == std::vector<std::string>{"B caught: B's error", "A rethrew: A's error"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("std::uncaught_exceptions() is per tasklet when a destructor switches during unwinding", "[kernel][exceptions]") {
    std::vector<int> seen;
    struct switches_in_destructor {
        std::vector<int>* seen;
        ~switches_in_destructor() {
            seen->push_back(std::uncaught_exceptions());
            tasklets::schedule();
            seen->push_back(std::uncaught_exceptions());
        }
    };
    tasklets::tasklet unwinding([&] {
        try {
            switches_in_destructor guard{&seen};
            throw 42;
        } catch (int) {
        }
    });
    tasklets::tasklet other([&] { seen.push_back(std::uncaught_exceptions()); });
    tasklets::run();
    REQUIRE(seen == std::vector<int>{1, 0, 1});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("100,000 tasklets that run to completion reuse pooled stacks", "[kernel][stacks]") {
    const long virtual_before = status_kib("VmSize");
    long counter = 0;
    for (int i = 0; i < 100000; ++i) tasklets::spawn([&counter] { ++counter; });
    tasklets::run();
    REQUIRE(counter == 100000);
    // One at a time alive: a handful of slabs, nowhere near 100,000 x 80 KiB (~7.6 GiB).
    REQUIRE(status_kib("VmSize") - virtual_before < 64 * 1024);
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("a tasklet that pauses itself after its last handle is gone is killed when run() ends", "[kernel][lifetime]") {
    std::vector<std::string> log;
    tasklets::spawn([&] {
        on_destroy d{&log, "unwound"};
        log.push_back("pausing");
        tasklets::schedule_remove();  // nobody can ever insert it again
        log.push_back("resumed (wrong)");
    });
    tasklets::run();
    REQUIRE(log == std::vector<std::string>{"pausing", "unwound"});
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("tasklets still alive when their thread ends are killed, so their destructors run", "[kernel][lifetime]") {
    std::vector<std::string> log;
    std::thread worker([&] {
        tasklets::channel<int> never;
        tasklets::spawn([&, never]() mutable {
            on_destroy d{&log, "blocked one unwound"};
            never.receive();
        });
        tasklets::spawn([&] {
            on_destroy d{&log, "paused one unwound"};
            tasklets::schedule_remove();
        });
        tasklets::tasklet keep = tasklets::spawn([&] { log.push_back("never-started body ran (wrong)"); });
        keep.remove();
        tasklets::run();
        log.push_back("thread returns");
    });
    worker.join();
    // The paused one is abandoned and killed when run() ends; the blocked one at thread exit.
    REQUIRE(log == std::vector<std::string>{"paused one unwound", "thread returns", "blocked one unwound"});
}

TEST_CASE("each thread has its own scheduler and main tasklet", "[kernel][threads]") {
    std::uint64_t worker_main_id = 0;
    bool worker_is_main = false;
    int worker_runcount = 0;
    tasklets::spawn([] {});  // scheduled on this thread only
    std::thread worker([&] {
        worker_main_id = tasklets::current().id();
        worker_is_main = tasklets::current().is_main();
        worker_runcount = tasklets::runcount();
    });
    worker.join();
    REQUIRE(worker_is_main);
    REQUIRE(worker_main_id == 1);
    REQUIRE(worker_runcount == 1);
    REQUIRE(tasklets::runcount() == 2);
    tasklets::run();
}

#if !defined(_WIN32)
// Linux guards (madvise/mprotect, probed through a pipe and mincore); the Windows layout
// (VirtualProtect) is checked by tests/windows/test_windows_stacks.cpp.
TEST_CASE("the guard mechanism is the one the environment asks for, or a verified one", "[kernel][stacks]") {
    const char* forced = std::getenv("TASKLETS_STACK_GUARD");
    if (forced && std::string(forced) == "mprotect") {
        REQUIRE(tasklets::stack_guard_method() == "mprotect(PROT_NONE)");
    } else {
        const auto method = tasklets::stack_guard_method();
        REQUIRE((method == "madvise(MADV_GUARD_INSTALL)" || method == "mprotect(PROT_NONE)"));
    }
}

// Reads one byte at p through the kernel: EFAULT for a guard (either method), no signal.
static bool readable_by_kernel(const void* p, int pipe_out) {
    const ssize_t n = ::write(pipe_out, p, 1);
    if (n == 1) return true;
    REQUIRE(errno == EFAULT);
    return false;
}

TEST_CASE("every stack of a slab lies between two guards, the first and the last included", "[kernel][stacks]") {
    // A stack size of its own, so these stacks come from new slabs (64 stacks each), all
    // of whose guards were installed at once when each slab was mapped.
    constexpr std::size_t size = 20 * 1024;
    constexpr int count = 130;  // three slabs
    std::vector<const char*> locals(count, nullptr);
    std::vector<tasklets::channel<int>> wake(count);
    std::vector<tasklets::tasklet> parked;
    for (int i = 0; i < count; ++i)
        parked.push_back(tasklets::spawn(tasklets::tasklet_options{size, ""}, [&, i] {
            // The frame itself, not a local's address: AddressSanitizer may keep locals
            // on a fake stack of its own (detect_stack_use_after_return).
            locals[static_cast<std::size_t>(i)] = static_cast<const char*>(__builtin_frame_address(0));
            wake[static_cast<std::size_t>(i)].receive();
        }));
    tasklets::run();
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    for (int i = 0; i < count; ++i) {
        INFO("stack " << i);
        REQUIRE(parked[static_cast<std::size_t>(i)].stack_size() == size);
        // Its frames are shallow: the top of the stack is the page boundary above them.
        const std::uintptr_t top = (reinterpret_cast<std::uintptr_t>(locals[static_cast<std::size_t>(i)]) + page) & ~(page - 1);
        const auto* bottom = reinterpret_cast<const char*>(top - size);
        CHECK(readable_by_kernel(bottom, fds[1]));                    // its lowest byte
        CHECK(readable_by_kernel(reinterpret_cast<const char*>(top) - 1, fds[1]));  // its highest byte
        CHECK_FALSE(readable_by_kernel(bottom - 1, fds[1]));          // the guard below
        CHECK_FALSE(readable_by_kernel(reinterpret_cast<const char*>(top), fds[1]));  // the guard above
        char drain[2];
        REQUIRE(::read(fds[0], drain, 2) == 2);
    }
    ::close(fds[0]);
    ::close(fds[1]);
    for (auto& w : wake) w.send(0);
    tasklets::run();
}

TEST_CASE("a new stack has the pages its frames reached committed and no other", "[kernel][stacks]") {
    // The pool commits a new stack's top page itself (madvise MADV_POPULATE_WRITE, where
    // the kernel has it): that page and no other, so a parked tasklet's memory is the
    // pages its frames reached (one here), not one more. Under AddressSanitizer the switch
    // path calls into the runtime below the saved context, which may reach one page more.
    constexpr std::size_t size = 24 * 1024;  // a size of its own: stacks from a new slab
    constexpr int count = 70;                // more than one slab of them
    std::vector<tasklets::channel<int>> wake(count);
    std::vector<tasklets::tasklet> parked;
    for (int i = 0; i < count; ++i)
        parked.push_back(tasklets::spawn(tasklets::tasklet_options{size, ""},
                                         [&, i] { wake[static_cast<std::size_t>(i)].receive(); }));
    tasklets::run();
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t runtime_pages = tasklets_test::sanitizer() ? 1 : 0;
    for (int i = 0; i < count; ++i) {
        const tasklets::tasklet& t = parked[static_cast<std::size_t>(i)];
        // Pages from the top down to the saved context, and down to the lowest resident one.
        const std::size_t reached = (tasklets::stack_depth(t) + page - 1) / page;
        const std::size_t resident = tasklets::stack_high_water(t) / page;
        INFO("stack " << i << ": depth " << tasklets::stack_depth(t) << " bytes, high-water "
                      << tasklets::stack_high_water(t) << " bytes");
        CHECK(resident >= reached);
        CHECK(resident <= reached + runtime_pages);
    }
    for (auto& w : wake) w.send(0);
    tasklets::run();
}
#endif  // !_WIN32

TEST_CASE("neighbouring stacks start their first frame at 16 different offsets in the page, 64 bytes apart", "[kernel][stacks]") {
    // Without it every suspended tasklet's saved context lies at the same page offset, and
    // a 503-tasklet ring misses in L2 on every hop (cache sets are chosen by those bits).
    constexpr std::size_t size = 28 * 1024;  // a size of its own: consecutive stacks of a new slab
    constexpr int count = 32;
    std::vector<std::uintptr_t> frames(count, 0);
    tasklets::channel<int> wake;
    for (int i = 0; i < count; ++i)
        tasklets::spawn(tasklets::tasklet_options{size, ""}, [&, i] {
            frames[static_cast<std::size_t>(i)] = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
            wake.receive();  // all alive at once, each on a stack of its own
        });
    tasklets::run();
    const std::uintptr_t page = system_page_size();
    // Same body, same frame depth: the offsets differ only by where each stack starts.
    for (int i = 1; i < 16; ++i) {
        INFO("stacks 0 and " << i);
        CHECK((frames[0] - frames[static_cast<std::size_t>(i)]) % page == static_cast<std::uintptr_t>(i) * 64);
    }
    for (int i = 16; i < count; ++i) {
        INFO("stacks " << i - 16 << " and " << i << " (the offsets repeat every 16 stacks)");
        CHECK((frames[static_cast<std::size_t>(i - 16)] - frames[static_cast<std::size_t>(i)]) % page == 0);
    }
    for (int i = 0; i < count; ++i) wake.send(0);
    tasklets::run();
}

TEST_CASE("stack sizes below the minimum are refused naming the minimum", "[kernel][stacks]") {
    REQUIRE_THROWS_MATCHES(tasklets::tasklet(tasklets::tasklet_options{1024, ""}, [] {}), std::invalid_argument,
                           Catch::Matchers::Message("tasklets: a stack of 1024 bytes is too small; the minimum is "
                                                    "16384 bytes (tasklets::min_stack_size)"));
    REQUIRE_THROWS_MATCHES(tasklets::set_default_stack_size(0), std::invalid_argument,
                           Catch::Matchers::Message("tasklets: a default stack size of 0 bytes is too small; the "
                                                    "minimum is 16384 bytes (tasklets::min_stack_size)"));
    REQUIRE(tasklets::runcount() == 1);
}

TEST_CASE("a tasklet's stack size is rounded up to whole pages and is its own", "[kernel][stacks]") {
    tasklets::tasklet t(tasklets::tasklet_options{100000, "sized"}, [] {});
    REQUIRE(t.stack_size() % 4096 == 0);
    REQUIRE(t.stack_size() >= 100000);
    REQUIRE(t.stack_size() < 100000 + 65536);
    REQUIRE(t.name() == "sized");
    tasklets::run();
}

#if !defined(_WIN32)  // vm.max_map_count and mprotect guards are Linux's
TEST_CASE("running out of memory mappings names vm.max_map_count", "[.][mapping-limit]") {
    // Only reachable with mprotect guards (two mappings per stack); the ctest entry
    // "stacks with mprotect guards" runs this with TASKLETS_STACK_GUARD=mprotect.
    if (tasklets::stack_guard_method() != "mprotect(PROT_NONE)") {
        WARN("skipped: guards are " << tasklets::stack_guard_method() << ", which need no extra mappings");
        return;
    }
    long limit = 0;
    std::ifstream("/proc/sys/vm/max_map_count") >> limit;
    if (limit <= 0 || limit > 300000) {
        WARN("skipped: vm.max_map_count is " << limit << "; reaching it would take too long");
        return;
    }
    std::vector<tasklets::tasklet> parked;
    std::string error;
    for (long i = 0; i < limit && error.empty(); ++i) {
        tasklets::channel<int> c;
        parked.push_back(tasklets::spawn(tasklets::tasklet_options{tasklets::min_stack_size, ""}, [c]() mutable { c.receive(); }));
        try {
            tasklets::run();
        } catch (const std::system_error& e) {
            error = e.what();
        }
    }
    INFO(error);
    REQUIRE(error.find("vm.max_map_count") != std::string::npos);
    REQUIRE(error.find("sysctl -w vm.max_map_count=") != std::string::npos);
    for (std::size_t i = 0; i + 1 < parked.size(); ++i) parked[i].kill();  // stacks back to the pool
    REQUIRE(parked.back().alive());   // the one that got no stack never ran...
    tasklets::run();                  // ...and now can, and blocks
    REQUIRE(parked.back().blocked());
    parked.back().kill();
    REQUIRE(tasklets::runcount() == 1);
}
#endif  // !_WIN32

TEST_CASE("a tasklet starts with its creator's FP rounding mode, whoever first runs it", "[kernel][fp]") {
    int seen_by_child = -1;
    int seen_by_starter = -1;
    std::fesetround(FE_UPWARD);
    tasklets::tasklet child([&] { seen_by_child = std::fegetround(); });
    std::fesetround(FE_TONEAREST);
    // Created while rounding to nearest; it is the one that switches to `child` first.
    tasklets::tasklet starter([&] {
        seen_by_starter = std::fegetround();
        child.run();
    });
    starter.run();
    REQUIRE(seen_by_starter == FE_TONEAREST);
    REQUIRE(seen_by_child == FE_UPWARD);
    REQUIRE(std::fegetround() == FE_TONEAREST);  // nothing leaked back into main
    tasklets::run();
    REQUIRE(tasklets::runcount() == 1);
}
