// The one function each architecture provides besides its assembly switch.
#pragma once

#include <tasklets/context.hpp>

namespace tasklets::arch {

/// Writes, just below stack_top, a frame that the architecture's switch resumes as if it
/// were a suspended context, entering entry(value) with the ABI's call alignment and a
/// null return address. Returns the context's stack pointer. Uses at most
/// tasklets::min_context_stack bytes.
void* prepare_stack(void* stack_top, context_entry entry) noexcept;

}  // namespace tasklets::arch
