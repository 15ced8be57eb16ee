// A plain send or receive that waits off the waiting tasklet's stack: for shared-stack
// tasklets, whose frames are copied out while they are parked (core/shared_stacks.hpp).
#pragma once

#include "channels/channel_core.hpp"

#include <tasklets/channel.hpp>
#include <tasklets/select.hpp>

namespace tasklets::detail {

/// Blocks the running tasklet on c, as block_on_records() does for a record in its frame,
/// but with the record in a box that stays put while the frame is copied out: the partner
/// reaches it then. A value of 8 bytes or less whose move cannot throw stays in the
/// caller's frame (`transfer`) while the frame does, and goes to the box only if the frame
/// is copied out (core/shared_stacks.hpp, frame_value); any other value (an exception_ptr
/// if `is_exception`) waits in the box: sending moves it in first, receiving moves it out
/// after the wake. Throws what block_on_records() throws; a value that came for a receive
/// that then fails is destroyed, never leaked.
/// `slot` is the caller's waiter_slot, unused here: copying the parked tasklet out and in
/// skips it (core/shared_stacks.hpp, note_hole).
void wait_off_stack(channel_core* c, void* transfer, const transfer_ops* ops, const waiter_slot* slot,
                    std::int8_t direction, bool is_exception);

/// select_block() for a shared-stack tasklet: the select's records, the index a partner
/// writes and every case's value live in one heap box while it waits. Send values are
/// moved in before it parks and, but for the one a receiver took, moved back after; the
/// received value is moved out. Their types' moves must not throw (state_error otherwise,
/// before anything changes), so that moving back cannot fail half-way.
void select_off_stack(scheduler& s, const select_case* cases, std::uint32_t count, select_outcome& out);

}  // namespace tasklets::detail
