// The steps of a select (channels/select.cpp), for the selects that add to them: a select
// with a deadline (io/channel_timeouts.cpp) and a select over shared channels
// (threads/shared_select.cpp), which draws from the same generator.
#pragma once

#include "core/scheduler.hpp"

#include <tasklets/select.hpp>

#include <cstdint>

namespace tasklets::detail {

/// Refuses bad cases before anything changes (std::invalid_argument): a moved-from
/// channel, or one channel both sent to and received from. For both kinds of select.
void select_validate(const select_case* cases, std::uint32_t count);
/// The start of every local select: resets `out`, checks the cases (select_validate)
/// and binds their channels to the calling thread (thread_error) before anything changes,
/// passes the safe point, and performs a ready case if there is one (then true).
bool select_begin(scheduler& s, const select_case* cases, std::uint32_t count, select_outcome& out);
/// Is any case ready (a partner waiting, or its channel closed for that direction)?
bool select_any_ready(const select_case* cases, std::uint32_t count) noexcept;
/// Performs a ready case, picked at random among the ready ones, and says whether there
/// was one. Does not poll the event source.
bool select_now(scheduler& s, const select_case* cases, std::uint32_t count, select_outcome& out);
/// Nothing is ready: blocks on every case's channel until a partner completes one (or
/// something unblocks the tasklet and writes out.index itself).
void select_block(scheduler& s, const select_case* cases, std::uint32_t count, select_outcome& out);

/// A uniform choice in [0, n) from this thread's select generator (select_seed()).
std::uint32_t select_pick(std::uint32_t n) noexcept;

}  // namespace tasklets::detail
