// AddressSanitizer annotations for a test that switches by hand between the main stack
// and one raw context that, once it switches back, is never resumed (the unwind tests).
// The scheduler annotates its own switches (kernel/os/instrument.hpp); raw contexts are the
// user's to annotate, exactly like this. Without it ASan does not know the context's
// stack, ignores __asan_handle_no_return when an exception leaves frames there, and
// later reports their stale redzones (google/sanitizers#189). No-ops without ASan.
#pragma once

#include "tools.hpp"

#include <cstddef>

#if TASKLETS_TEST_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

namespace tasklets_test::raw_fiber {

#if TASKLETS_TEST_ASAN
inline void* main_fake_stack = nullptr;
inline const void* main_bottom = nullptr;
inline std::size_t main_size = 0;
#endif

/// On the main stack, right before switching to a context on [bottom, bottom + size).
inline void main_leaving_for(void* bottom, std::size_t size) noexcept {
#if TASKLETS_TEST_ASAN
    __sanitizer_start_switch_fiber(&main_fake_stack, bottom, size);
#else
    (void)bottom, (void)size;
#endif
}
/// On the main stack, first thing after the switch back.
inline void main_returned() noexcept {
#if TASKLETS_TEST_ASAN
    __sanitizer_finish_switch_fiber(main_fake_stack, nullptr, nullptr);
#endif
}
/// First thing in the context's entry function.
inline void context_entered() noexcept {
#if TASKLETS_TEST_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &main_bottom, &main_size);
#endif
}
/// In the context, right before its last switch back to the main stack.
inline void context_leaving_for_good() noexcept {
#if TASKLETS_TEST_ASAN
    __sanitizer_start_switch_fiber(nullptr, main_bottom, main_size);
#endif
}

}  // namespace tasklets_test::raw_fiber
