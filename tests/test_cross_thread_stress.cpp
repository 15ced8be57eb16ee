// Random programs across threads: sends, receives and selects (two cases and a deadline)
// with timeouts on shared channels, closes, kills of waiting tasklets (on their thread and
// from others), spawns onto other threads, migratable tasklets moving between them.
// Checks conservation — every value sent ends exactly once: received, or destroyed
// undelivered (a send that timed out or was killed keeps its value; a receiver killed
// after it was served destroys it) — and that every run ends (a lost wake-up would leave
// a tasklet waiting: the run would hang until ctest's timeout). Authority:
// docs/semantics.md §9.3 and §9.6.
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
    std::atomic<long> selects{0}, closes{0}, closed_seen{0}, moves{0};
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

// A fresh value to send, or -1 once the ledger is full.
int next_id(world& w) {
    const int id = w.book.next.fetch_add(1, std::memory_order_relaxed);
    return static_cast<std::size_t>(id) < w.book.ends.size() ? id : -1;
}

void settle(tasklets::receive_case<token, tasklets::shared_channel<token>>& c) {
    if (c.value()) c.value()->take();
}
void settle(tasklets::send_case<token, tasklets::shared_channel<token>>&) {}  // unsent: its token dies with it

// A select over two cases on different channels and a deadline. Whatever it does not
// complete stays in its case: a value to send dies undelivered with the case.
template <class A, class B>
void select_two(world& w, A& a, B& b, std::chrono::microseconds timeout) {
    w.book.selects.fetch_add(1, std::memory_order_relaxed);
    const auto r = tasklets::select(a, b, tasklets::deadline(timeout));
    if (r.timed_out) w.book.timeouts.fetch_add(1, std::memory_order_relaxed);
    if (r.closed) w.book.closed_seen.fetch_add(1, std::memory_order_relaxed);
    settle(a);
    settle(b);
}

template <class A>
void select_with(world& w, std::mt19937& rng, A& a, tasklets::shared_channel<token>& other,
                 std::chrono::microseconds timeout) {
    if (rng() & 1) {
        const int id = next_id(w);
        if (id < 0) return;
        auto b = tasklets::on_send(other, token(id, &w.book));
        select_two(w, a, b, timeout);
    } else {
        auto b = tasklets::on_receive(other);
        select_two(w, a, b, timeout);
    }
}

void select_op(world& w, std::mt19937& rng, std::size_t first, std::chrono::microseconds timeout) {
    auto& a = w.channels[first];
    auto& b = w.channels[(first + 1 + rng() % (channel_count - 1)) % channel_count];
    if (rng() & 1) {
        const int id = next_id(w);
        if (id < 0) return;
        auto sa = tasklets::on_send(a, token(id, &w.book));
        select_with(w, rng, sa, b, timeout);
    } else {
        auto ra = tasklets::on_receive(a);
        select_with(w, rng, ra, b, timeout);
    }
}

void one_op(world& w, std::mt19937& rng, std::size_t channel) {
    auto& c = w.channels[channel];
    const auto timeout = std::chrono::microseconds(std::uniform_int_distribution<int>(0, 500)(rng));
    try {
        switch (rng() % 3) {
        case 0:
            if (const int id = next_id(w); id >= 0) c.send_for(token(id, &w.book), timeout);
            break;
        case 1:
            c.receive_for(timeout).take();
            break;
        default:
            select_op(w, rng, channel, timeout);
        }
    } catch (const tasklets::timeout_error&) {
        w.book.timeouts.fetch_add(1, std::memory_order_relaxed);
    } catch (const tasklets::channel_closed_error&) {
        w.book.closed_seen.fetch_add(1, std::memory_order_relaxed);
    }
}

// Closes a channel for a moment: operations that would wait there meanwhile are refused
// (selects see the case closed). Reopened however the actor leaves, a kill included.
void close_for_a_moment(world& w, std::mt19937& rng, tasklets::shared_channel<token>& c) {
    struct reopen {
        tasklets::shared_channel<token>& c;
        ~reopen() { c.open(); }
    } guard{c};
    c.close();
    w.book.closes.fetch_add(1, std::memory_order_relaxed);
    tasklets::sleep_for(std::chrono::microseconds(rng() % 50));
}

void actor(world& w, unsigned seed, std::vector<tasklets::tasklet>& siblings, int self) {
    std::mt19937 rng(seed);
    while (w.book.ops.fetch_add(1, std::memory_order_relaxed) < w.budget) {
      // A kill lands in whatever the actor is doing (often a wait on a shared channel);
      // catching tasklet_exit cancels it (§4.3), so the actor lives on and the run keeps
      // its length.
      try {
        const unsigned what = rng() % 64;  // 0: kill here, 1: kill elsewhere, 2-5: spawn elsewhere, 6: close
        const std::size_t channel = rng() % channel_count;
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
            // Migratable: half of them move to a random thread between two operations
            // (docs/semantics.md §9.6), whatever waits meanwhile.
            tasklets::tasklet_options may_move;
            may_move.migratable = true;
            try {
                target.spawn(may_move, [&w, channel, s = rng(), live = std::move(live)] {
                    std::mt19937 r(s);
                    one_op(w, r, channel);
                    if (r() & 1) {
                        tasklets::move_to(w.refs[r() % threads]);
                        w.book.moves.fetch_add(1, std::memory_order_relaxed);
                        one_op(w, r, channel);
                    }
                });
            } catch (const tasklets::thread_error&) {
            }
        } else if (what == 6) {
            close_for_a_moment(w, rng, w.channels[channel]);
        } else {
            one_op(w, rng, channel);
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
                   << w.book.remote_spawns << ", selects " << w.book.selects << ", closes " << w.book.closes
                   << ", closed seen " << w.book.closed_seen << ", moves " << w.book.moves);
    CHECK(wrong == 0);
    CHECK(w.book.received + w.book.undelivered == made);
    for (auto& c : w.channels) CHECK(c.balance() == 0);
    CHECK(w.book.received > 0);
    CHECK(w.book.kills_landed > 0);
    CHECK(w.book.selects > 0);
    CHECK(w.book.closed_seen > 0);
    CHECK(w.book.moves > 0);
}
