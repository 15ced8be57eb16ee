// idle_cpu — what a worker pool with nothing to do costs: issue 14 asks for < 1 % of a CPU.
//
//     tasklets_idle_cpu [workers [seconds]]      default: 2 workers, 3 seconds
//
// Starts the pool, has every worker run a job (so each has gone through its spin-then-sleep
// path once), waits for the pool to be quiet, then reads the process's CPU time (user +
// system, all threads: getrusage) over `seconds` of idleness and prints it as a percentage
// of one CPU.
#include <tasklets/tasklets.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace {

double cpu_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
    const long workers = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 2;
    const double seconds = argc > 2 ? std::strtod(argv[2], nullptr) : 3.0;
    if (workers < 1 || workers > 256 || !(seconds > 0)) {
        std::fputs("usage: tasklets_idle_cpu [workers 1..256 [seconds > 0]]\n", stderr);
        return 2;
    }
    tasklets::worker_pool pool(static_cast<std::size_t>(workers));
    for (long i = 0; i < workers; ++i) pool.worker(static_cast<std::size_t>(i)).spawn([] {});
    for (int i = 0; i < 100; ++i) pool.spawn([] {});
    pool.wait();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // past every worker's 50 us spin
    const double before = cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    const double used = cpu_seconds() - before;
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("idle pool, %ld workers, %.1f s: %.4f %% of one CPU (%.1f us of CPU time)\n", workers, wall,
                100.0 * used / wall, used * 1e6);
    return 0;
}
