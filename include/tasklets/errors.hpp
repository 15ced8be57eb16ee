// tasklets/errors.hpp — what tasklets throws.
#pragma once

#include <stdexcept>
#include <string>

namespace tasklets {

/// Thrown into a tasklet by tasklet::kill(). Deliberately NOT derived from std::exception,
/// so `catch (const std::exception&)` does not swallow a kill (as Stackless's TaskletExit
/// is not an Exception). A tasklet whose function ends by tasklet_exit ends silently.
/// Catching it (`catch (const tasklets::tasklet_exit&)`) cancels the kill.
struct tasklet_exit {};

/// Misuse of a tasklet or channel for its current state, e.g. running a blocked tasklet
/// ("You cannot run a blocked tasklet") or blocking a tasklet whose block_trap is set
/// ("this tasklet does not like to be blocked."). The message is Stackless's.
class state_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

/// A blocking operation that can never complete: the caller is the last runnable tasklet
/// ("Deadlock: the last runnable tasklet cannot be blocked."), or the main tasklet was
/// left blocked on a channel with nothing else to run ("the main tasklet is receiving
/// without a sender available.", "...is sending without a receiver available.").
class deadlock_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// send() or receive() on a channel that is closing and has no partner waiting:
/// "Send/receive operation on a closed channel".
class channel_closed_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace tasklets
