// in_thread() for the I/O tests, as a test step: the body runs on a fresh thread and the
// test fails if the thread's teardown left a descriptor open (the reactor's epoll included).
#pragma once

#include "support/in_thread.hpp"

#include <catch2/catch.hpp>

namespace tasklets_test {

template <class F>
void require_io_thread(F body) {
    REQUIRE(in_io_thread(body));
}

}  // namespace tasklets_test
