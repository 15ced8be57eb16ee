// xpingpong/*: a round trip between two OS threads, each on its own core (bench/run.sh
// runs this binary unpinned on 2 cores): what waking a thread on the other CPU costs, the
// floor under any cross-thread channel that sleeps instead of spinning.
//   std_condvar_2threads   std::mutex + a std::condition_variable per direction (the
//                          pinned suite's switch/std_thread_condvar, on two cores)
//   futex_2threads         one 32-bit word, FUTEX_WAIT / FUTEX_WAKE (private), no spinning
//   boost_fiber_2threads   a fiber on each thread (round_robin), unbuffered_channel<int> each
//                          way; Boost.Fiber wakes the other thread's scheduler itself
//   spin_2threads          two threads that never sleep, a word each way on a cache line of
//                          its own: the floor under any cross-thread hand-off on this machine
//                          as it is placed now. This VM's two vCPUs move between host cores:
//                          this round trip has measured 60-105 ns at some moments and
//                          250-550 ns at others, minutes apart, so a cross-thread row is read
//                          against it, measured alongside (xpingpong_floor.sh).
#include "../common.hpp"
#include "../thread_switch.hpp"

#include <atomic>
#include <cstdint>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

#if __has_include(<boost/fiber/all.hpp>)
#include <boost/fiber/all.hpp>
#define BENCH_HAVE_BOOST_FIBER 1
#endif

namespace {

// ---- std::condition_variable (bench/thread_switch.hpp) ----------------------------------
BENCH_ROUND_TRIP("xpingpong/std_condvar_2threads", bench::thread_switch);

// ---- raw futex ----------------------------------------------------------------------------
long futex(std::atomic<std::uint32_t>* word, int op, std::uint32_t value) {
    return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), op | FUTEX_PRIVATE_FLAG, value, nullptr,
                     nullptr, 0);
}
struct futex_pingpong {
    // 0: main's turn, 1: the partner's, 2: stop. Release on each store publishes `value`
    // with the turn; acquire on each load sees it.
    std::atomic<std::uint32_t> word{0};
    long value = 0;
    std::thread partner{[this] {
        for (;;) {
            std::uint32_t w;
            while ((w = word.load(std::memory_order_acquire)) == 0) futex(&word, FUTEX_WAIT, 0);
            if (w == 2) return;
            ++value;
            word.store(0, std::memory_order_release);
            futex(&word, FUTEX_WAKE, 1);
        }
    }};
    void op() {
        word.store(1, std::memory_order_release);
        futex(&word, FUTEX_WAKE, 1);
        while (word.load(std::memory_order_acquire) == 1) futex(&word, FUTEX_WAIT, 1);
    }
    ~futex_pingpong() {
        word.store(2, std::memory_order_release);
        futex(&word, FUTEX_WAKE, 1);
        partner.join();
    }
};
BENCH_ROUND_TRIP("xpingpong/futex_2threads", futex_pingpong);

// ---- the floor: two spinning threads -----------------------------------------------------
// Each side writes its own line and spins reading the other's, so a round trip is two line
// transfers, the least a hand-off and its answer can take. The partner is an std::thread
// like the other rows' partners; pause keeps the spinning sibling hyperthread (if any)
// from starving the other.
struct spin_pingpong {
    // Release on each store publishes nothing but the count itself; acquire pairs with it,
    // as a real hand-off's would with the value it carries. -1 stops the partner.
    alignas(64) std::atomic<long> ping{0};
    alignas(64) std::atomic<long> pong{0};
    long sent = 0;
    std::thread partner{[this] {
        for (long seen = 0;;) {
            long v;
            while ((v = ping.load(std::memory_order_acquire)) == seen) spin_pause();
            if (v < 0) return;
            seen = v;
            pong.store(v, std::memory_order_release);
        }
    }};
    static void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    void op() {
        ping.store(++sent, std::memory_order_release);
        while (pong.load(std::memory_order_acquire) != sent) spin_pause();
    }
    ~spin_pingpong() {
        ping.store(-1, std::memory_order_release);
        partner.join();
    }
};
BENCH_ROUND_TRIP("xpingpong/spin_2threads", spin_pingpong);

#ifdef BENCH_HAVE_BOOST_FIBER
// ---- Boost.Fiber across threads -----------------------------------------------------------
struct boost_fiber_pingpong {
    boost::fibers::unbuffered_channel<int> ping, pong;
    int value = 0;
    std::thread partner{[this] {
        boost::fibers::fiber([this] {
            int v;
            while (ping.pop(v) == boost::fibers::channel_op_status::success) pong.push(v + 1);
        }).join();
    }};
    void op() {
        ping.push(value);
        pong.pop(value);
        value &= 0x3fffffff;
    }
    ~boost_fiber_pingpong() {
        ping.close();
        partner.join();
    }
};
BENCH_ROUND_TRIP("xpingpong/boost_fiber_2threads", boost_fiber_pingpong);
#endif

}  // namespace
