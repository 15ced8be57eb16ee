// thread_switch: two OS threads handing a turn back and forth through a mutex and a
// condition variable per direction, A→B→A. The pinned suite runs it as switch/std_thread_condvar
// (both threads on one core); tasklets_bench_mc as xpingpong/std_condvar_2threads (each on
// its own core).
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

namespace bench {

struct thread_switch {
    std::mutex m;
    std::condition_variable cv_main, cv_other;
    int turn = 0;  // 0: main runs, 1: other runs, 2: stop
    std::thread other;
    thread_switch() : other([this] {
        std::unique_lock lock(m);
        for (;;) {
            cv_other.wait(lock, [this] { return turn != 0; });
            if (turn == 2) return;
            turn = 0;
            cv_main.notify_one();
        }
    }) {}
    void op() {
        std::unique_lock lock(m);
        turn = 1;
        cv_other.notify_one();
        cv_main.wait(lock, [this] { return turn == 0; });
    }
    ~thread_switch() {
        {
            std::lock_guard lock(m);
            turn = 2;
        }
        cv_other.notify_one();
        other.join();
    }
};

}  // namespace bench
