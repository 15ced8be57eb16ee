// The process-wide default stack size behind tasklets::default_stack_size(), for the
// kernel's own readers: spawning reads it for every tasklet, and a load here costs less
// than a call to the public function.
#pragma once

#include <atomic>
#include <cstddef>

namespace tasklets::detail {

/// relaxed for every reader and writer: the value is a size on its own and publishes no
/// other memory; a thread that spawns while another changes it takes either value, and
/// either is valid (set_default_stack_size checked it before storing).
extern std::atomic<std::size_t> process_default_stack_size;

inline std::size_t default_stack_bytes() noexcept {
    return process_default_stack_size.load(std::memory_order_relaxed);
}

}  // namespace tasklets::detail
