// xpingpong/*: a round trip between two OS threads, each on its own core (bench/run.sh
// runs this binary unpinned on 2 cores): what waking a thread on the other CPU costs, the
// floor under any cross-thread channel that sleeps instead of spinning.
//   std_condvar_2threads   std::mutex + a std::condition_variable per direction (the
//                          pinned suite's switch/std_thread_condvar, on two cores)
//   futex_2threads         one 32-bit word, FUTEX_WAIT / FUTEX_WAKE (private), no spinning
//   boost_fiber_2threads   a fiber on each thread (round_robin), unbuffered_channel<int> each
//                          way; Boost.Fiber wakes the other thread's scheduler itself
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
