// A tiny program that uses an installed tasklets, built by tests/consumers/cmake (with
// find_package) and tests/consumers/pkgconfig (with pkg-config) from ci/consumers.sh.
// Three producers send to one consumer over a channel; the result is checked.
#include <tasklets/debug.hpp>
#include <tasklets/tasklets.hpp>
#include <tasklets/version.hpp>

#include <cstdio>
#include <cstring>

#ifndef TASKLETS_EXPECTED_VERSION
#error "the consumer build passes TASKLETS_EXPECTED_VERSION (the version it found)"
#endif

int main() {
    if (std::strcmp(TASKLETS_VERSION_STRING, TASKLETS_EXPECTED_VERSION) != 0) {
        std::printf("FAIL: version.hpp says %s, the package says %s\n", TASKLETS_VERSION_STRING, TASKLETS_EXPECTED_VERSION);
        return 1;
    }
    tasklets::channel<int> numbers;
    long sum = 0;
    int received = 0;
    for (int p = 1; p <= 3; ++p) {
        tasklets::spawn({.name = "producer " + std::to_string(p)}, [numbers, p]() mutable {
            for (int i = 1; i <= 10; ++i) numbers.send(p * 100 + i);
        });
    }
    tasklets::tasklet consumer({.name = "consumer"}, [numbers, &sum, &received]() mutable {
        for (int i = 0; i < 30; ++i) {
            sum += numbers.receive();
            ++received;
        }
    });
    tasklets::run();
    const long expected = (100 + 200 + 300) * 10 + 3 * 55;
    std::printf("tasklets %s: consumer received %d numbers, sum %ld (expected %ld), stack high-water %zu bytes\n",
                TASKLETS_VERSION_STRING, received, sum, expected, tasklets::stack_high_water(consumer));
    return received == 30 && sum == expected ? 0 : 1;
}
