// tasklets/errors.hpp — what tasklets throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

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

/// A tasklet or a channel used on a thread it does not belong to (docs/semantics.md §9.1):
/// "tasklets: kill() on tasklet 7 of another thread: a tasklet is used only on the thread
/// that created it, and a channel only on the thread of its first send, receive or select
/// (docs/semantics.md §9.1)". Thrown before the operation changes anything.
class thread_error : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

/// One tasklet that was blocked when a deadlock_error was raised (deadlock_error::blocked()).
struct blocked_tasklet {
    /// What the tasklet was waiting for.
    enum class waiting_for {
        receive,   ///< a receive on `channel`
        send,      ///< a send on `channel`
        select,    ///< a select over `cases` channels; `channel` is its first case's
        timer,     ///< a timer alone (sleep_for, sleep_until)
        readable,  ///< descriptor `fd` to become readable
        writable,  ///< descriptor `fd` to become writable
    };
    std::uint64_t id = 0;       ///< tasklet::id()
    std::string name;           ///< tasklet::name(); empty if it has none
    bool is_main = false;
    waiting_for on = waiting_for::receive;
    const void* channel = nullptr;  ///< receive, send, select: the channel, as channel<T>::core()
    std::size_t cases = 0;      ///< select: how many channels it waits on
    int fd = -1;                ///< readable, writable: the descriptor

    /// One line: "tasklet 7 \"parser\": receiving on channel 0x5581a3c0e2b0",
    /// "tasklet 1 (main): waiting in a select over 3 channels (first 0x…)",
    /// "tasklet 9: sleeping on a timer", "tasklet 4: waiting for fd 12 to become readable".
    std::string description() const;
};

/// A blocking operation that can never complete (docs/semantics.md §5). The first line
/// of what() is Stackless's message: the caller is the last runnable tasklet
/// ("Deadlock: the last runnable tasklet cannot be blocked."), or the main tasklet was
/// left blocked on a channel when the last runnable tasklet ended ("the main tasklet is
/// receiving without a sender available.", "...is sending without a receiver
/// available.", "...is waiting in a select without a partner available."). The lines
/// after it say who is stuck: how many tasklets of the thread are blocked and, for the
/// first 20 by id, blocked_tasklet::description(); blocked() has them all.
class deadlock_error : public std::runtime_error {
public:
    explicit deadlock_error(const std::string& what) : std::runtime_error(what) {}
    deadlock_error(const std::string& what, std::vector<blocked_tasklet> blocked)
        : std::runtime_error(what),
          blocked_(std::make_shared<const std::vector<blocked_tasklet>>(std::move(blocked))) {}

    /// The thread's blocked tasklets when the error was raised, by id (the one raising
    /// it is not among them: it is running). Empty if the error was made by hand.
    const std::vector<blocked_tasklet>& blocked() const noexcept {
        static const std::vector<blocked_tasklet> none;
        return blocked_ ? *blocked_ : none;
    }

private:
    std::shared_ptr<const std::vector<blocked_tasklet>> blocked_;  // shared: copying an exception must not throw
};

/// send() or receive() on a channel that is closing and has no partner waiting:
/// "Send/receive operation on a closed channel".
class channel_closed_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Bytes that cannot be read back as what they claim to be: a durable image that is
/// truncated, corrupted (its checksum does not match), of another format version, or
/// serialised values that do not parse (tasklets/serial.hpp, tasklets/image.hpp). The
/// message says what was wrong and where, e.g. "tasklets: durable image: truncated: its
/// header promises 1200 bytes of sections, 400 are present".
class image_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A durable tasklet's code no longer does what its journal says it did (docs/durable.md):
/// during replay, an operation differs from the journaled one, the tasklet ends early, or
/// at the journal's end it does not wait where the image saved it. Message: "tasklets:
/// durable tasklet 3 ('trader') diverged from its journal at step 12: the journal has
/// receive on channel 'market', the code did send on channel 'market'".
class replay_divergence : public std::runtime_error {
public:
    replay_divergence(std::uint64_t tasklet, std::string entry, std::uint64_t step, std::string expected,
                      std::string actual);
    std::uint64_t tasklet() const noexcept { return tasklet_; }
    const std::string& entry() const noexcept { return entry_; }
    /// 1 for the tasklet's first operation since it was spawned, counting across checkpoints.
    std::uint64_t step() const noexcept { return step_; }
    const std::string& expected() const noexcept { return expected_; }
    const std::string& actual() const noexcept { return actual_; }

private:
    std::uint64_t tasklet_;
    std::string entry_;
    std::uint64_t step_;
    std::string expected_, actual_;
};

}  // namespace tasklets
