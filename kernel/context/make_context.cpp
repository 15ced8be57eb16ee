// The public raw-context API on top of the architecture's prepare_stack().
#include <tasklets/context.hpp>

#include "arch_context.hpp"

#include <stdexcept>
#include <string>

namespace tasklets {

context make_context(void* stack_base, std::size_t stack_size, context_entry entry) {
    if (stack_base == nullptr || entry == nullptr)
        throw std::invalid_argument("tasklets::make_context: stack_base and entry must not be null");
    if (stack_size < min_context_stack)
        throw std::invalid_argument("tasklets::make_context: stack_size " + std::to_string(stack_size) +
                                    " is below the minimum of " + std::to_string(min_context_stack) +
                                    " bytes (tasklets::min_context_stack)");
    return context{arch::prepare_stack(stack_base, static_cast<std::byte*>(stack_base) + stack_size, entry,
                                       arch::current_fp_control())};
}

}  // namespace tasklets
