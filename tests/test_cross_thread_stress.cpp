// Random programs across threads: sends and receives with timeouts on shared channels,
// kills of waiting tasklets (on their thread and from others), spawns onto other threads. Checks conservation — every value
// sent ends exactly once: received, or destroyed undelivered (a send that timed out or
// was killed keeps its value; a receiver killed after it was served destroys it) — and
// that every run ends (a lost wake-up would leave a tasklet waiting: the run would hang
// until ctest's timeout). Authority: docs/semantics.md §9.3.
//
// TASKLETS_STRESS_OPS sets the number of operations (default 20,000; the long mode is
// e.g. TASKLETS_STRESS_OPS=1000000 tests/tasklets_tests "[stress]").
#include <catch2/catch.hpp>

#include <tasklets/tasklets.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct ledger {
    explicit ledger(std::size_t n) : ends(n) {}
    std::vector<std::atomic<int>> ends;  // per value: how many ways it ended (must be 1)
    std::atomic<int> next{0};
    std::atomic<long> ops{0};
    std::atomic<long> received{0}, undelivered{0}, timeouts{0}, kills{0}, remote_kills{0}, kills_landed{0}, remote_spawns{0};
};

// A value on its way: its end is counted once, by take() or by the destructor.
class token {
public:
    token(int id, ledger* l) : id_(id), l_(l) {}
    token(token&& o) noexcept : id_(std::exchange(o.id_, -1)), l_(o.l_) {}
    token& operator=(token&&) = delete;
    ~token() {
        if (id_ >= 0) {
            l_->ends[static_cast<std::size_t>(id_)].fetch_add(1, std::memory_order_relaxed);
            l_->undelivered.fetch_add(1, std::memory_order_relaxed);
        }
    }
    void take() {
        l_->ends[static_cast<std::size_t>(std::exchange(id_, -1))].fetch_add(1, std::memory_order_relaxed);
        l_->received.fetch_add(1, std::memory_order_relaxed);
    }

private:
    int id_;
    ledger* l_;
};

long configured_ops() {
    if (const char* v = std::getenv("TASKLETS_STRESS_OPS")) return std::max(1000L, std::atol(v));
    return 20000;
}

constexpr int threads = 3;
constexpr int tasklets_per_thread = 6;
constexpr int channel_count = 4;

struct world {
    explicit world(long ops) : book(static_cast<std::size_t>(ops) + 1000), budget(ops) {}
    ledger book;
    long budget;
    std::vector<tasklets::shared_channel<token>> channels{channel_count};
    std::vector<tasklets::thread_ref> refs{threads};
    std::vector<std::vector<tasklets::remote_tasklet>> actors{threads};  // each thread's, for kills from elsewhere
    std::atomic<int> remote_live{0};  // spawned onto another thread and not ended yet
    std::atomic<int> threads_done{0};
};

void one_op(world& w, std::mt19937& rng, tasklets::shared_channel<token>& c) {
    const auto timeout = std::chrono::microseconds(std::uniform_int_distribution<int>(0, 500)(rng));
    try {
        if (rng() & 1) {
            const int id = w.book.next.fetch_add(1, std::memory_order_relaxed);
            if (static_cast<std::size_t>(id) >= w.book.ends.size()) return;
            c.send_for(token(id, &w.book), timeout);
        } else {
            c.receive_for(timeout).take();
        }
    } catch (const tasklets::timeout_error&) {
        w.book.timeouts.fetch_add(1, std::memory_order_relaxed);
    }
}

void actor(world& w, unsigned seed, std::vector<tasklets::tasklet>& siblings, int self) {
    std::mt19937 rng(seed);
    while (w.book.ops.fetch_add(1, std::memory_order_relaxed) < w.budget) {
      // A kill lands in whatever the actor is doing (often a wait on a shared channel);
      // catching tasklet_exit cancels it (§4.3), so the actor lives on and the run keeps
      // its length.
      try {
        const unsigned what = rng() % 64;  // 0: kill here, 1: kill elsewhere, 2-5: spawn elsewhere
        auto& c = w.channels[rng() % channel_count];
        if (what == 0) {  // kill a sibling of this thread (it may be waiting on a channel)
            auto& victim = siblings[rng() % siblings.size()];
            if (&victim != &siblings[static_cast<std::size_t>(self)] && victim.alive()) {
                victim.kill();
                w.book.kills.fetch_add(1, std::memory_order_relaxed);
            }
        } else if (what == 1) {  // kill a tasklet of another thread (delivered there, pending)
            const auto& list = w.actors[rng() % threads];
            list[rng() % list.size()].kill();
            w.book.remote_kills.fetch_add(1, std::memory_order_relaxed);
        } else if (what >= 2 && what <= 5) {  // a one-shot tasklet on another thread
            auto& target = w.refs[rng() % threads];
            w.remote_live.fetch_add(1);
            w.book.remote_spawns.fetch_add(1, std::memory_order_relaxed);
            // Counted down when the job's function is destroyed: after its tasklet ran,
            // or unrun if the spawn fails or its thread ends first.
            std::shared_ptr<void> live(nullptr, [&w](void*) { w.remote_live.fetch_sub(1); });
            try {
                target.spawn([&w, &c, s = rng(), live = std::move(live)] {
                    std::mt19937 r(s);
                    one_op(w, r, c);
                });
            } catch (const tasklets::thread_error&) {
            }
        } else {
            one_op(w, rng, c);
        }
      } catch (const tasklets::tasklet_exit&) {
        w.book.kills_landed.fetch_add(1, std::memory_order_relaxed);
      }
    }
}

}  // namespace

TEST_CASE("random cross-thread programs conserve every value and always end", "[threads][cross][stress]") {
    const long ops = configured_ops();
    world w(ops);
    std::vector<std::thread> pool;
    std::atomic<int> ready{0};
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            w.refs[static_cast<std::size_t>(t)] = tasklets::thread_ref::current();
            std::vector<tasklets::tasklet> siblings;
            siblings.reserve(tasklets_per_thread);
            for (int i = 0; i < tasklets_per_thread; ++i) {
                siblings.emplace_back(actor, std::ref(w), static_cast<unsigned>(t * 100 + i), std::ref(siblings), i);
                w.actors[static_cast<std::size_t>(t)].emplace_back(siblings.back());
            }
            ready.fetch_add(1);  // everyone's refs and actors are published before anyone runs
            while (ready.load() < threads) std::this_thread::yield();
            tasklets::run();
            // Serve tasklets other threads spawn here until every thread is done and no
            // spawned tasklet is left anywhere.
            w.threads_done.fetch_add(1);
            while (w.threads_done.load() < threads || w.remote_live.load() > 0) {
                tasklets::sleep_for(200us);
                tasklets::run();
            }
        });
    for (auto& t : pool) t.join();
    const int made = std::min<int>(w.book.next.load(), static_cast<int>(w.book.ends.size()));
    int wrong = 0;
    for (int i = 0; i < made; ++i)
        if (w.book.ends[static_cast<std::size_t>(i)].load() != 1) ++wrong;
    INFO("values " << made << ", received " << w.book.received << ", undelivered " << w.book.undelivered
                   << ", timeouts " << w.book.timeouts << ", kills " << w.book.kills << ", remote kills "
                   << w.book.remote_kills << ", landed " << w.book.kills_landed << ", remote spawns "
                   << w.book.remote_spawns);
    CHECK(wrong == 0);
    CHECK(w.book.received + w.book.undelivered == made);
    for (auto& c : w.channels) CHECK(c.balance() == 0);
    CHECK(w.book.received > 0);
    CHECK(w.book.kills_landed > 0);
}
