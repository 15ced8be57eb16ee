// A worker pool's carriers: a job's tasklet that runs its worker's next job when its own
// has ended and nothing refers to it, while every job still looks like a new tasklet.
// Authority: include/tasklets/worker_pool.hpp ("Carriers") and docs/multicore.md,
// "Carriers"; docs/semantics.md §9.4.
#include <catch2/catch.hpp>

#include "support/in_thread.hpp"

#include <tasklets/debug.hpp>
#include <tasklets/tasklets.hpp>

#include <atomic>
#include <cfenv>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

using tasklets::remote_tasklet;
using tasklets::shared_channel;
using tasklets::tasklet;
using tasklets::worker_pool;
using tasklets_test::in_thread;
using namespace std::chrono_literals;

namespace {
// What a job saw of its own tasklet.
struct seen {
    std::uint64_t id = 0;
    std::uint64_t spawned = 0;  // the worker's statistics()
    std::size_t alive = 0;
};

seen look() {
    const auto stats = tasklets::statistics();
    return {tasklets::current().id(), stats.spawned, stats.alive};
}
}  // namespace

TEST_CASE("each job after the first runs in its predecessor's tasklet, yet as a new tasklet with a new id",
          "[threads][pool][carriers]") {
    worker_pool pool(1);
    std::vector<seen> jobs(50);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        pool.spawn([&jobs, i] { jobs[i] = look(); });  // current()'s handle goes before the job ends
        pool.wait();
    }
    CHECK(pool.statistics().started == 50);
    CHECK(pool.statistics().carried == 49);
    for (std::size_t i = 1; i < jobs.size(); ++i) {
        INFO("job " << i);
        // The worker's books see a tasklet spawned and one ended per job, as without carriers.
        CHECK(jobs[i].id == jobs[i - 1].id + 1);
        CHECK(jobs[i].spawned == jobs[i - 1].spawned + 1);
        CHECK(jobs[i].alive == jobs[i - 1].alive);
    }
}

TEST_CASE("a job whose tasklet is still referred to when it ends ends it: the handle sees it dead",
          "[threads][pool][carriers]") {
    worker_pool pool(1);
    std::optional<tasklet> kept;  // touched on the worker only
    std::uint64_t kept_id = 0;
    pool.spawn([&] {
        kept = tasklets::current();
        kept_id = kept->id();
    });
    pool.wait();
    bool alive = true;
    std::uint64_t id = 0;
    pool.spawn([&] {
        alive = kept->alive();
        kept.reset();
        id = tasklets::current().id();
    });
    pool.wait();
    CHECK_FALSE(alive);
    CHECK(id == kept_id + 1);
    CHECK(pool.statistics().carried == 0);  // the first job's tasklet ended: the second got one of its own
    pool.spawn([] {});
    pool.wait();
    CHECK(pool.statistics().carried == 1);  // the second's had nothing referring to it
}

TEST_CASE("a carried job starts with the worker's FP control, whatever the job before it left",
          "[threads][pool][carriers]") {
    std::feclearexcept(FE_ALL_EXCEPT);  // the worker's thread starts with this thread's FP state
    worker_pool pool(1);
    int flags_before = -1;
    int rounding = -1;
    int flags_after = -1;
    pool.spawn([&] {
        flags_before = std::fetestexcept(FE_ALL_EXCEPT);
        volatile double third = 1.0;
        third = third / 3.0;  // inexact: a sticky flag
        std::fesetround(FE_UPWARD);
    });
    pool.wait();
    pool.spawn([&] {
        rounding = std::fegetround();
        flags_after = std::fetestexcept(FE_ALL_EXCEPT);
    });
    pool.wait();
    CHECK(pool.statistics().carried == 1);
    CHECK(rounding == FE_TONEAREST);
#if defined(__x86_64__) && defined(__linux__)
    // x86-64 keeps MXCSR's flags with each context (arch/x86_64/switch_x86_64.asm): a new
    // tasklet starts with the flags of the code that made it, and so does a carried job.
    // Elsewhere the flags belong to the thread, for new tasklets as for carried jobs.
    CHECK((flags_before & FE_INEXACT) == 0);  // else the check below could not fail
    CHECK(flags_after == flags_before);
#endif
    (void)flags_before;
    (void)flags_after;
}

TEST_CASE("a job spawned with options neither carries nor is carried", "[threads][pool][carriers]") {
    worker_pool pool(1);
    pool.spawn([] {});
    pool.wait();  // its tasklet is now the worker's spare
    tasklets::tasklet_options named;
    named.name = "named job";
    std::string name;
    pool.spawn(named, [&] { name = tasklets::current().name(); });
    pool.wait();
    CHECK(name == "named job");
    CHECK(pool.statistics().carried == 0);
    pool.spawn([] {});  // the spare, kept through the named job
    pool.wait();
    CHECK(pool.statistics().carried == 1);
}

TEST_CASE("a spare that no longer fits a new job ends: the default stack size changed while it was parked",
          "[threads][pool][carriers]") {
    worker_pool pool(1);
    pool.spawn([] {});
    pool.wait();  // the spare holds a stack of the default size
    struct restore {
        std::size_t was = tasklets::default_stack_size();
        ~restore() { tasklets::set_default_stack_size(was); }
    } put_back;
    const std::size_t bigger = tasklets::default_stack_size() + 64 * 1024;
    tasklets::set_default_stack_size(bigger);
    std::size_t size = 0;
    pool.spawn([&] { size = tasklets::current().stack_size(); });
    pool.wait();
    CHECK(size == bigger);
    CHECK(pool.statistics().carried == 0);
    pool.spawn([&] { size = tasklets::current().stack_size(); });
    pool.wait();
    CHECK(size == bigger);
    CHECK(pool.statistics().carried == 1);  // the new size's tasklet became the spare
}

TEST_CASE("a spare that no longer fits a new job ends: its worker's default stack mode became shared",
          "[threads][pool][carriers][shared-stacks]") {
    worker_pool pool(1);
    std::size_t high_water = 0;
    const auto job = [&high_water] { high_water = tasklets::stack_high_water(tasklets::current()); };
    pool.spawn(job);
    pool.wait();  // the spare has a dedicated stack
    CHECK(high_water > 0);
    pool.spawn([] { tasklets::set_default_stack_mode(tasklets::stack_mode::shared); });  // on the worker
    pool.wait();
    CHECK(pool.statistics().carried == 1);  // that job ran in the spare, which parked again
    pool.spawn(job);
    pool.wait();
    CHECK(high_water == 0);                 // 0: a shared execution stack is not the tasklet's own
    CHECK(pool.statistics().carried == 1);  // the dedicated spare ended instead
    pool.spawn([&] {
        job();
        tasklets::set_default_stack_mode(tasklets::stack_mode::dedicated);
    });
    pool.wait();
    CHECK(high_water == 0);                 // a new shared-stack tasklet: the last one never parks
    CHECK(pool.statistics().carried == 1);
    pool.spawn(job);
    pool.wait();
    CHECK(high_water > 0);                  // a new dedicated tasklet, which parks as the spare
    pool.spawn(job);
    pool.wait();
    CHECK(high_water > 0);
    CHECK(pool.statistics().carried == 2);
}

TEST_CASE("wait() returns only after the jobs' functions and arguments are destroyed", "[threads][pool][carriers]") {
    struct flags {
        std::atomic<bool> going{false};
        std::atomic<bool> gone{false};
    };
    struct slow_to_go {
        flags* f = nullptr;  // set in the pool's copy only
        ~slow_to_go() {
            if (!f) return;
            f->going.store(true);
            std::this_thread::sleep_for(20ms);  // wait() is called meanwhile
            f->gone.store(true);
        }
        void operator()() {}
    };
    worker_pool pool(1);
    flags f;
    pool.spawn([&f](slow_to_go&& arg) { arg.f = &f; }, slow_to_go{});
    while (!f.going.load()) std::this_thread::sleep_for(1ms);
    pool.wait();
    CHECK(f.gone.load());
}

TEST_CASE("a kill sent to an ended job does not reach the job its tasklet carries next", "[threads][pool][carriers]") {
    worker_pool pool(1);
    shared_channel<remote_tasklet> first;
    shared_channel<int> gate;
    shared_channel<std::string> said;
    in_thread([&] {
        pool.spawn([first]() mutable { first.send(remote_tasklet(tasklets::current())); });
        remote_tasklet ended = first.receive();
        pool.wait();  // the first job has ended; its tasklet is the worker's spare
        pool.spawn([gate, said]() mutable {
            try {
                said.send("waiting");
                said.send("received " + std::to_string(gate.receive()));
            } catch (const tasklets::tasklet_exit&) {
                said.send("killed");
                throw;
            }
        });
        CHECK(said.receive() == "waiting");
        CHECK(pool.statistics().carried == 1);
        ended.kill();  // mail to the worker, ahead of the gate's: the id names no live tasklet
        gate.send(7);
        CHECK(said.receive() == "received 7");
    });
    pool.wait();
}

TEST_CASE("shutdown ends a worker's spare carrier with its other tasklets", "[threads][pool][carriers]") {
    std::atomic<int> unwound{0};
    shared_channel<int> never;
    {
        worker_pool pool(1);
        pool.spawn([] {});
        pool.wait();
        pool.spawn([&unwound, never]() mutable {
            struct guard {
                std::atomic<int>& n;
                ~guard() { n.fetch_add(1); }
            } g{unwound};
            (void)never.receive();  // carried, and blocked: killed by the shutdown
        });
        while (pool.statistics().started < 2) std::this_thread::sleep_for(1ms);
        pool.spawn([] {});  // a new tasklet, which parks as the spare when its job ends
        while (pool.statistics().started < 3) std::this_thread::sleep_for(1ms);
        pool.shutdown();
        CHECK(unwound == 1);
        CHECK(pool.statistics().carried >= 1);
    }
    // Under ASan and Valgrind the suite checks for leaks: the spare's stack and block went.
}

// A job whose tasklet ends while the worker's loop is next in the ring starts the loop's
// next job itself (threads/job_carrier.hpp, "Taking serve()'s turn"): what the loop would
// have done, without switching through it.
TEST_CASE("a carrier that takes its worker loop's turn starts the jobs the loop would, in its order, each as a new tasklet",
          "[threads][pool][carriers]") {
    worker_pool pool(1);
    constexpr int n = 20;
    std::vector<seen> child(n);
    std::vector<int> order;
    long long sum = -1;
    pool.spawn([&] {  // a parent, as a skynet node: its children, then their values
        shared_channel<int> results;
        for (int i = 0; i < n; ++i)
            pool.spawn([&, i] {
                child[i] = look();
                order.push_back(i);
                results.send(i);  // borrowed: the parent keeps the handle (§9.3 item 10)
            });
        long long got = 0;
        for (int i = 0; i < n; ++i) got += results.receive();
        sum = got;
    });
    pool.wait();
    CHECK(sum == n * (n - 1) / 2);
    // The loop starts the newest job first: the last child, which the parent's wait let
    // it start in a new tasklet. Each later one follows as the loop would have started it.
    std::vector<int> newest_first;
    for (int i = n - 1; i >= 0; --i) newest_first.push_back(i);
    CHECK(order == newest_first);
    for (int i = n - 2; i >= 0; --i) {
        INFO("child " << i);
        CHECK(child[i].id == child[i + 1].id + 1);
        CHECK(child[i].spawned == child[i + 1].spawned + 1);
        CHECK(child[i].alive == child[i + 1].alive);
    }
    const auto counts = pool.statistics();
    CHECK(counts.started == n + 1);
    CHECK(counts.carried == n - 1);  // all but the first child; the parent came first
    // Each carried child unless a safe point's periodic work fell due at that turn.
    INFO("carried directly: " << counts.carried_directly);
    CHECK(counts.carried_directly >= n - 4);
    CHECK(counts.carried_directly <= counts.carried);
}

TEST_CASE("a carrier leaves the turn to its worker loop when the loop was just woken from its idle wait",
          "[threads][pool][carriers]") {
    worker_pool pool(1);
    std::atomic<int> ran{0};
    pool.spawn([&] {
        tasklets::sleep_for(20ms);  // meanwhile the worker's loop has nothing to do: it waits idle
        for (int i = 0; i < 3; ++i) pool.spawn([&ran] { ran.fetch_add(1); });
        // Ending, this job wakes the idle loop, which must resume in its wait to leave it
        // (`idle`, `sleeping`): the first child is the loop's to start.
    });
    pool.wait();
    CHECK(ran == 3);
    const auto counts = pool.statistics();
    CHECK(counts.carried == 3);
    CHECK(counts.carried_directly == 2);  // the two after the first, each after the one before
}

TEST_CASE("a carrier whose job left the FP control changed leaves the next job to its worker loop",
          "[threads][pool][carriers]") {
    worker_pool pool(1);
    constexpr int n = 8;
    std::vector<int> rounding(n, -1);
    // fegetround() reads one register (x86: the x87 control word); a division shows the
    // mode of the unit that does double arithmetic (x86-64: MXCSR).
    volatile double one = 1.0, three = 3.0;
    const double third = one / three;  // to nearest, on this thread
    std::vector<double> divided(n, 0.0);
    pool.spawn([&] {
        shared_channel<int> results;
        for (int i = 0; i < n; ++i)
            pool.spawn([&, i] {
                rounding[i] = std::fegetround();
                divided[i] = one / three;
                std::fesetround(FE_UPWARD);  // left so: the next job must not inherit it
                results.send(i);
            });
        for (int i = 0; i < n; ++i) (void)results.receive();
    });
    pool.wait();
    for (int i = 0; i < n; ++i) {
        INFO("child " << i);
        CHECK(rounding[i] == FE_TONEAREST);
        CHECK(divided[i] == third);
    }
    CHECK(pool.statistics().carried == n - 1);
    CHECK(pool.statistics().carried_directly == 0);
}

TEST_CASE("a carrier does not take its worker loop's turn once the pool stops: the jobs left are dropped",
          "[threads][pool][carriers]") {
    std::atomic<int> ran{0};
    std::atomic<bool> stopper_running{false};
    worker_pool pool(1);
    pool.spawn([&] {
        for (int i = 0; i < 4; ++i) pool.spawn([&ran] { ran.fetch_add(1); });
        // The newest, so the first to start: in this tasklet, in the loop's place.
        pool.spawn([&] {
            stopper_running = true;
            // Until the pool has stopped: spawn() refuses then. (The jobs it queues before
            // that are dropped with the others.)
            for (;;) {
                try {
                    pool.spawn([] {});
                } catch (const tasklets::state_error&) {
                    break;
                }
                std::this_thread::sleep_for(1ms);  // the whole worker, not only this tasklet
            }
        });
    });
    while (!stopper_running) std::this_thread::sleep_for(1ms);
    pool.shutdown();
    CHECK(ran == 0);
    CHECK(pool.statistics().carried_directly == 1);  // the stopper; nothing after it
}

namespace {
// A random pool program's books: every job must start once, see a fresh FP control, and
// end; values sent between jobs must end once each (received, or undelivered).
struct pool_books {
    explicit pool_books(std::size_t n) : runs(n) {}
    std::vector<std::atomic<int>> runs;
    std::atomic<std::size_t> next{0};
    std::atomic<long> wrong_rounding{0}, sent{0}, received{0}, timed_out{0}, failed{0};
};

void random_job(worker_pool& pool, pool_books& b, shared_channel<int> ch, std::uint32_t seed) {
    const std::size_t me = b.next.fetch_add(1);
    if (me >= b.runs.size()) return;  // the budget of jobs is spent
    b.runs[me].fetch_add(1);
    if (std::fegetround() != FE_TONEAREST) b.wrong_rounding.fetch_add(1);
    std::minstd_rand rng(seed);
    switch (rng() % 8) {
    case 0:  // children, some with options, some passing a value around
        for (int i = 0, n = static_cast<int>(rng() % 4); i < n; ++i) {
            if (rng() % 4 == 0) {
                tasklets::tasklet_options o;
                if (rng() % 2) o.name = "child";
                else o.migratable = true;
                pool.spawn(o, random_job, std::ref(pool), std::ref(b), ch, static_cast<std::uint32_t>(rng()));
            } else {
                pool.spawn(random_job, std::ref(pool), std::ref(b), ch, static_cast<std::uint32_t>(rng()));
            }
        }
        break;
    case 1:  // a handle taken and dropped, then a yield
        (void)tasklets::current().id();
        tasklets::schedule();
        break;
    case 2:  // FP control left changed (rounding, and an inexact result)
        std::fesetround(rng() % 2 ? FE_UPWARD : FE_TOWARDZERO);
        {
            volatile double x = 1.0;
            x = x / 3.0;
        }
        break;
    case 3:  // a send that may find no receiver
        try {
            ch.send_for(1, std::chrono::microseconds(rng() % 200));
            b.sent.fetch_add(1);
        } catch (const tasklets::timeout_error&) {
            b.timed_out.fetch_add(1);
        }
        break;
    case 4:  // a receive that may find no sender
        try {
            (void)ch.receive_for(std::chrono::microseconds(rng() % 200));
            b.received.fetch_add(1);
        } catch (const tasklets::timeout_error&) {
            b.timed_out.fetch_add(1);
        }
        break;
    case 5:  // an exception: the pool's error
        b.failed.fetch_add(1);
        throw std::runtime_error("random job failed");
    default:  // more work: two children
        pool.spawn(random_job, std::ref(pool), std::ref(b), ch, static_cast<std::uint32_t>(rng()));
        pool.spawn(random_job, std::ref(pool), std::ref(b), ch, static_cast<std::uint32_t>(rng()));
        break;
    }
}
}  // namespace

// TASKLETS_CARRIER_JOBS sets the number of jobs (default 20,000; e.g. 1000000 for a long run).
TEST_CASE("random pool programs: every job runs once with a fresh FP control, and wait() returns",
          "[threads][pool][carriers][stress]") {
    std::size_t jobs = 20000;
    if (const char* v = std::getenv("TASKLETS_CARRIER_JOBS")) jobs = std::max<std::size_t>(1000, std::strtoul(v, nullptr, 10));
    pool_books b(jobs);
    worker_pool pool(2);
    shared_channel<int> ch;
    std::minstd_rand rng(12345);
    std::size_t failures = 0;
    while (b.next.load() < jobs) {
        for (int i = 0; i < 16; ++i) pool.spawn(random_job, std::ref(pool), std::ref(b), ch, static_cast<std::uint32_t>(rng()));
        try {
            pool.wait();
        } catch (const std::runtime_error&) {
            ++failures;  // the first failure since the last wait(), once
        }
    }
    const auto counts = pool.statistics();
    INFO("started " << counts.started << ", carried " << counts.carried << ", sent " << b.sent << ", received "
                    << b.received << ", timed out " << b.timed_out << ", failed " << b.failed);
    int twice = 0;
    for (auto& r : b.runs) twice += r.load() != 1;
    CHECK(twice == 0);
    CHECK(b.wrong_rounding == 0);
    CHECK(b.sent == b.received);  // an unbuffered channel: a send completes only with a receive
    CHECK(counts.carried > 0);
    CHECK((b.failed == 0) == (failures == 0));
}
