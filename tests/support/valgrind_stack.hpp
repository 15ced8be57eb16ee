// Tells Valgrind about a stack a test switches onto by hand (the raw context API), so
// memcheck treats the switch as a stack switch, not as a huge stack-pointer move.
// The library registers its own tasklet stacks (kernel/os/instrument.hpp); memory a user
// hands to make_context is the user's to register, as with any hand-rolled coroutine.
#pragma once

#include <cstddef>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define TASKLETS_TEST_VALGRIND 1
#endif

namespace tasklets_test {

class valgrind_stack {
public:
    valgrind_stack([[maybe_unused]] void* base, [[maybe_unused]] std::size_t size) noexcept {
#if TASKLETS_TEST_VALGRIND
        id_ = VALGRIND_STACK_REGISTER(base, static_cast<char*>(base) + size);
#endif
    }
    ~valgrind_stack() {
#if TASKLETS_TEST_VALGRIND
        VALGRIND_STACK_DEREGISTER(id_);
#endif
    }
    valgrind_stack(const valgrind_stack&) = delete;
    valgrind_stack& operator=(const valgrind_stack&) = delete;

private:
    unsigned id_ = 0;
};

/// True when the process runs under Valgrind.
inline bool running_on_valgrind() noexcept {
#if TASKLETS_TEST_VALGRIND
    return RUNNING_ON_VALGRIND != 0;
#else
    return false;
#endif
}

}  // namespace tasklets_test
