// fanin/*: producers on every worker send into one channel, one consumer takes; time per
// message (its inverse is messages per second).
//   tasklets_1thread       two producer tasklets and the consumer on one thread's scheduler
//                          (the worker pool of issue 14 will add a row with a producer per
//                          worker)
//   boost_fiber_2threads   a producer fiber on each of two threads (round_robin), the
//                          consumer on the benchmark's thread, one unbuffered_channel<int>
// Go's rows (GOMAXPROCS 1 and 2, a producer per P) are in bench/peers/go/peers.go.
#include "../common.hpp"

#include <tasklets/tasklets.hpp>

#include <atomic>
#include <thread>
#include <vector>

#if __has_include(<boost/fiber/all.hpp>)
#include <boost/fiber/all.hpp>
#define BENCH_HAVE_BOOST_FIBER 1
#endif

namespace {

struct tasklets_fanin {
    tasklets::channel<int> messages;
    bool stop = false;
    long sum = 0;
    tasklets_fanin() {
        for (int p = 0; p < 2; ++p)
            tasklets::spawn([this, p] {
                while (!stop) messages.send(p);
            });
    }
    void op() { sum += messages.receive(); }
    ~tasklets_fanin() {
        stop = true;
        while (messages.balance() > 0) sum += messages.receive();  // producers blocked in send
        tasklets::run();
        benchmark::DoNotOptimize(sum);
    }
};
BENCH_ROUND_TRIP("fanin/tasklets_1thread", tasklets_fanin);

#ifdef BENCH_HAVE_BOOST_FIBER
struct boost_fiber_fanin {
    boost::fibers::unbuffered_channel<int> messages;
    long sum = 0;
    std::vector<std::thread> producers;
    boost_fiber_fanin() {
        for (int p = 0; p < 2; ++p)
            producers.emplace_back([this, p] {
                boost::fibers::fiber([this, p] {
                    while (messages.push(p) == boost::fibers::channel_op_status::success) {}
                }).join();
            });
    }
    void op() { sum += messages.value_pop(); }
    ~boost_fiber_fanin() {
        messages.close();  // a producer waiting in push (or pushing next) gets `closed`
        for (auto& t : producers) t.join();
        benchmark::DoNotOptimize(sum);
    }
};
BENCH_ROUND_TRIP("fanin/boost_fiber_2threads", boost_fiber_fanin);
#endif

}  // namespace
