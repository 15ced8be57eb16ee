// A tasklet that leaves the ring with no handle left goes on the scheduler's abandoned
// list (killed when the outermost run() ends). That list grows by allocation; an
// allocation failure must surface as std::bad_alloc from the call that would have left
// the ring, with nothing changed, not as std::terminate from inside the kernel.
//
// Its own program: it replaces the global operator new (armed to fail once on demand).
#include <tasklets/tasklets.hpp>

#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

namespace {
thread_local bool fail_next_allocation = false;
int failures = 0;

void* allocate(std::size_t n) {
    if (fail_next_allocation) {
        fail_next_allocation = false;
        throw std::bad_alloc();
    }
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "FAILED: %s\n", what);
        ++failures;
    }
}

struct on_destroy {
    std::vector<std::string>* log;
    const char* text;
    ~on_destroy() { log->push_back(text); }
};
}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

int main() {
    std::vector<std::string> log;
    log.reserve(16);
    // Each case on a thread of its own: a new scheduler, whose abandoned list has no room
    // yet, so the first tasklet to be abandoned there needs an allocation.
    for (const char* how : {"schedule_remove", "switch_to"}) std::thread([&] {
        log.clear();
        // Runs first and yields, so that it is started and next in the ring when the
        // abandoned one tries to leave (starting it would allocate a stack first).
        tasklets::tasklet other = tasklets::spawn([&] {
            tasklets::schedule();
            log.push_back("other ran");
        });
        tasklets::spawn([&, how, other]() mutable {  // no handle kept: leaving the ring abandons it
            on_destroy d{&log, "abandoned one unwound"};
            const int before = tasklets::runcount();
            fail_next_allocation = true;
            try {
                if (std::string(how) == "schedule_remove") tasklets::schedule_remove();
                else other.switch_to();
                log.push_back("left the ring despite the failure (wrong)");
            } catch (const std::bad_alloc&) {
                log.push_back("bad_alloc, still running");
                check(tasklets::runcount() == before, "the failed call changed the run queue");
                check(tasklets::current().alive(), "the caller is alive");
            }
            fail_next_allocation = false;
            if (std::string(how) == "schedule_remove") tasklets::schedule_remove();  // now it can
            else other.switch_to();
            log.push_back("resumed after being abandoned (wrong)");
        });
        tasklets::run();
        const std::vector<std::string> expected{"bad_alloc, still running", "other ran", "abandoned one unwound"};
        if (log != expected) {
            std::fprintf(stderr, "FAILED (%s): log was:\n", how);
            for (const auto& line : log) std::fprintf(stderr, "  %s\n", line.c_str());
            ++failures;
        }
    }).join();
    if (failures == 0) std::puts("leave_ring_oom: ok (schedule_remove and switch_to)");
    return failures == 0 ? 0 : 1;
}
