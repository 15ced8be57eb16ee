// A plain send or receive that waits off the waiting tasklet's stack: for shared-stack
// tasklets, whose frames are copied out while they are parked (stacks/shared_stacks.hpp).
#pragma once

#include "channels/channel_core.hpp"

#include <tasklets/channel.hpp>

namespace tasklets::detail {

/// Blocks the running tasklet on c, as block_on_records() does for a record in its frame,
/// but with the record and the value in a heap box that stays put while the frame is
/// copied out: the partner reaches both then. Sending moves the payload (an exception_ptr
/// if `is_exception`) into the box first; receiving moves the value from the box into
/// `transfer` after the wake. Throws what block_on_records() throws; a value that came
/// for a receive that then fails is destroyed, never leaked.
void wait_off_stack(scheduler& s, channel_core* c, std::int8_t direction, void* transfer, bool is_exception,
                    const transfer_ops* ops);

}  // namespace tasklets::detail
