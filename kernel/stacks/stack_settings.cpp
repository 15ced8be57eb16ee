// The public stack settings (tasklets/stack.hpp): the process-wide default stack size and
// the guard method in use.
#include "os/system.hpp"
#include "stacks/stack_settings.hpp"

#include <tasklets/stack.hpp>

#include <atomic>
#include <stdexcept>
#include <string>

namespace tasklets {

std::atomic<std::size_t> detail::process_default_stack_size{builtin_default_stack_size};

std::size_t default_stack_size() noexcept { return detail::default_stack_bytes(); }

void set_default_stack_size(std::size_t bytes) {
    if (bytes < min_stack_size)
        throw std::invalid_argument("tasklets: a default stack size of " + std::to_string(bytes) +
                                    " bytes is too small; the minimum is " + std::to_string(min_stack_size) +
                                    " bytes (tasklets::min_stack_size)");
    detail::process_default_stack_size.store(bytes, std::memory_order_relaxed);  // relaxed: stacks/stack_settings.hpp
}

std::string_view stack_guard_method() {
    return detail::sys::guard_method_name(detail::sys::guard_method_in_use());
}

}  // namespace tasklets
