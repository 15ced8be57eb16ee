// kernel/durable/world/world_state.hpp — what a durable world is made of, in memory.
//
// A world drives its own tasklets: they never sit in the thread's ring. The world keeps a
// FIFO of ready tasklets and runs the front one with tasklet::run(), which puts the driver
// just behind it in the ring; when the tasklet waits (schedule_remove) or ends, the driver
// is next. So the world's order of events depends only on the world, never on what else
// runs on the thread, and the same world replays the same way everywhere.
#pragma once

#include <tasklets/durable.hpp>
#include <tasklets/tasklet.hpp>

#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace tasklets::durable::detail {

/// One journaled operation. Inputs keep what replay must return; effects keep what replay
/// compares (a CRC-32C of the bytes, not the bytes: the receiver's journal holds those).
enum class op : std::uint8_t {
    receive = 1,  // a = channel, bytes = the value received
    send = 2,     // a = channel, b = CRC-32C of the value's bytes
    sleep = 3,    // a = the deadline (ns of world time)
    now = 4,      // a = the time read
    emit = 5,     // b = CRC-32C of the line
    spawn = 6,    // a = the child's id, b = CRC-32C of entry name and state bytes
    checkpoint = 7,  // never journaled (it empties the journal); named in divergences
    select = 8,      // a = the case that fired (the case count: the time limit), b = CRC-32C of
                     // the cases and the limit, bytes = the value received
};
inline constexpr std::uint8_t last_op = 8;

struct journal_entry {
    op kind{};
    std::int64_t time = 0;  // world time when it completed: replay's clock
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    std::vector<std::byte> bytes;
};

inline journal_entry entry_of(op kind, std::uint64_t a = 0, std::uint64_t b = 0) {
    journal_entry e;
    e.kind = kind;
    e.a = a;
    e.b = b;
    return e;
}

/// Where a tasklet is waiting. A saved world's tasklets all wait somewhere: save() runs
/// only between run_until() calls, which leave no tasklet ready except unstarted ones.
enum class wait : std::uint8_t {
    none = 0,     // running (or finished)
    receive = 1,  // in a channel's queue, for a sender
    send = 2,     // in a channel's queue, with `offered`, for a receiver
    sleep = 3,    // in the timer set
    start = 4,    // spawned, not started: in the ready queue
    select = 5,   // in the queue of each of its cases' channels, and in the timers if timed
};

struct world_state;

struct durable_tasklet {
    world_state* w = nullptr;
    std::uint64_t id = 0;
    const registry::entry* entry = nullptr;

    // The starting point: spawn's state, or the last checkpoint's. A restore runs the entry
    // point from here and replays `journal`.
    std::vector<std::byte> base_state;
    random_generator base_random;
    std::uint64_t base_step = 0;  // operations before the starting point
    std::int64_t base_time = 0;   // world time at the starting point
    std::vector<journal_entry> journal;
    std::size_t cursor = 0;       // replay position in `journal`
    bool replaying = false;

    random_generator rng;
    // The time as this tasklet last saw it: the completion time of its last operation. A
    // running tasklet's time does not move (the clock moves only when none is ready), so
    // this is the time of its next call too, live or in replay.
    std::int64_t clock = 0;
    bool fresh = false;  // (re)started from its starting point, no operation since
    // Being rebuilt by restore() or put(): at its journal's end it must reach the saved
    // wait (`expect`), where it parks. `redo`: it arrived by put() and, when it next runs,
    // does that wait again live in this world rather than waiting to be completed.
    bool restoring = false;
    bool redo = false;
    bool handed = false;  // world::post completed its receive; it is ready (save keeps the value)
    tasklets::tasklet handle;
    context cx{*this};
    bool finished = false;

    // The wait, while waiting.
    wait waiting = wait::start;
    std::uint32_t channel = 0;
    std::vector<std::byte>* offered = nullptr;  // a waiting sender's value (its frame)
    std::vector<std::byte> received;            // a waiting receiver's slot
    std::int64_t deadline = 0;
    std::uint64_t timer_seq = 0;

    // A select's cases (channel numbers, in order) and whether it has a time limit
    // (`deadline`); `selected` is the case that fired, cases.size() for the limit.
    std::vector<std::uint32_t> cases;
    bool timed = false;
    std::size_t selected = 0;

    // What a restore expects this tasklet to wait for at its journal's end.
    struct expected_wait {
        wait kind = wait::none;
        std::uint32_t channel = 0;
        std::uint32_t value_crc = 0;  // send
        std::int64_t deadline = 0;    // sleep, timed select
        std::uint64_t timer_seq = 0;
        std::vector<std::uint32_t> cases;  // select
        bool timed = false;
    } expect;

    std::uint64_t step() const noexcept { return base_step + journal.size(); }
    void run_body();
};

struct channel_state {
    std::string name;
    // The waiting tasklets, first to last; all receivers or all senders (a channel never
    // holds both: a partner arriving is matched at once). nullptr stands for a value posted
    // from outside the world (world::post), on the senders' side: the values themselves
    // are in `posted`, in the same order.
    std::deque<durable_tasklet*> waiters;
    std::deque<std::vector<std::byte>> posted;

    bool has_receivers() const noexcept {
        return !waiters.empty() && waiters.front() &&
               (waiters.front()->waiting == wait::receive || waiters.front()->waiting == wait::select);
    }
    bool has_senders() const noexcept { return !waiters.empty() && !has_receivers(); }
};

struct world_state {
    const registry* entries = nullptr;
    std::thread::id owner;
    std::int64_t now = 0;
    std::uint64_t next_id = 1;
    std::uint64_t next_timer_seq = 1;
    random_generator rng;

    std::map<std::uint64_t, std::unique_ptr<durable_tasklet>> tasklets;  // by id: saves in id order
    std::vector<channel_state> channels;                                 // channel n is channels[n - 1]
    std::deque<durable_tasklet*> ready;
    std::set<std::tuple<std::int64_t, std::uint64_t, durable_tasklet*>> timers;  // (deadline, seq, t)

    std::function<void(const event&)> sink;
    bool running = false;
    bool dying = false;      // ~world(): tasklets are being killed
    std::exception_ptr failure;

    ~world_state();
    void check_thread(const char* what) const;
    durable_tasklet& create(std::uint64_t id, const registry::entry& e, std::vector<std::byte> state,
                            random_generator rng);
    /// The entry point `name`, defined with state type `key` (else std::invalid_argument).
    const registry::entry& entry_for(std::string_view name, const void* key) const;
    void make_ready(durable_tasklet& t);
    /// Hands `value` to receiver `r` (popped from channel `channel`'s queue): a select
    /// learns its case and leaves its other queues and its timer.
    void deliver(durable_tasklet& r, std::uint32_t channel, std::vector<std::byte> value);
    /// A waiting tasklet leaves every queue and timer it is in.
    void unlink(durable_tasklet& t);
    /// Tasklet `id`, or std::invalid_argument naming world::`what`.
    durable_tasklet& tasklet_at(std::uint64_t id, const char* what);
    /// Kills `t` and takes it out of the world (take, kill).
    void remove(durable_tasklet& t);
    /// Runs ready tasklets until none is left or one fails (then rethrows its exception).
    void drain();
    void run_one(durable_tasklet& t);
    channel_state& channel_at(std::uint32_t n, const char* what);
    std::string channel_name(std::uint64_t n) const;
};

/// The wait `t` is in, as save() writes it.
durable_tasklet::expected_wait current_wait(const durable_tasklet& t);

/// "receive on channel 'market'" and the like, for divergence messages.
std::string describe(const world_state& w, const journal_entry& e);
std::string describe_wait(const world_state& w, const durable_tasklet::expected_wait& e);
/// "receive on channel 'market'", "sleep until t=5000000 ns", ...: the wait itself.
std::string wait_text(const world_state& w, const durable_tasklet::expected_wait& e);

}  // namespace tasklets::durable::detail
