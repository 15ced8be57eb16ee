// Writes a trace with every kind of event the recorder knows (tasklets/trace.hpp) to the
// file named on the command line; tests/trace/check_trace.py then checks the file against
// the format and for each kind. A second argument N sets the buffer to N events and loops
// the producer/consumer long enough to overwrite most of it (the bounded ring).
#include <tasklets/tasklets.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

using namespace std::chrono_literals;

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: trace_sample OUT.json [MAX_EVENTS]\n");
        return 2;
    }
    const std::size_t max_events = argc == 3 ? std::strtoull(argv[2], nullptr, 10) : 4096;
    const int rounds = argc == 3 ? static_cast<int>(max_events) : 3;
    tasklets::start_trace({.max_events = max_events});
    tasklets::use_virtual_clock();

    tasklets::channel<int> numbers;
    tasklets::channel<int> other;
    tasklets::channel<int> spare;
    tasklets::tasklet selector(tasklets::tasklet_options{.name = "selector"}, [&] {
        auto a = tasklets::on_receive(other);  // runs first: nothing is ready, it waits on both
        auto b = tasklets::on_receive(spare);
        (void)tasklets::select(a, b);
    });
    tasklets::tasklet producer(tasklets::tasklet_options{.name = "producer"}, [&] {
        for (int i = 0; i < rounds; ++i) numbers.send(i);
        other.send(-1);
    });
    tasklets::tasklet consumer(tasklets::tasklet_options{.name = "consumer \"quoted\""}, [&] {
        for (int i = 0; i < rounds; ++i) (void)numbers.receive();
    });
    tasklets::tasklet sleeper(tasklets::tasklet_options{.name = "sleeper"}, [] { tasklets::sleep_for(5ms); });
    tasklets::tasklet victim(tasklets::tasklet_options{.name = "victim"}, [] { tasklets::schedule_remove(); });
    tasklets::tasklet thrower(tasklets::tasklet_options{.name = "thrower"}, [] { throw std::runtime_error("boom"); });
    tasklets::tasklet busy(tasklets::tasklet_options{.name = "busy"}, [] {
        for (int i = 0; i < 1000; ++i) tasklets::check();
    });
    tasklets::set_error_handler([](std::exception_ptr) {});  // the thrower's exception is swallowed
    tasklets::tasklet interrupted;
    while (tasklets::runcount() > 1 || tasklets::pending_timers() > 0) {
        if (tasklets::tasklet t = tasklets::run({.ticks = 200})) interrupted = t;
        if (interrupted) {
            interrupted.insert();
            interrupted = {};
        }
    }
    victim.throw_exception(std::make_exception_ptr(std::runtime_error("wake up")), true);
    try {
        tasklets::run();
    } catch (...) {
    }
    tasklets::tasklet sleepy([] { tasklets::sleep_for(1s); });
    tasklets::schedule();
    sleepy.kill();
    tasklets::stop_trace();

    // A second thread records on its own scheduler; its events are kept when it ends, and
    // the file shows it as a process of its own.
    std::thread([] {
        tasklets::start_trace();
        tasklets::channel<int> ping;
        tasklets::tasklet worker(tasklets::tasklet_options{.name = "worker on thread 2"}, [&] {
            for (int i = 0; i < 3; ++i) (void)ping.receive();
        });
        for (int i = 0; i < 3; ++i) ping.send(i);
    }).join();

    const std::size_t n = tasklets::write_trace(std::string(argv[1]));
    std::printf("%zu trace events written\n", n);
    return 0;
}
