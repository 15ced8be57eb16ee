// tasklets/durable.hpp — durable tasklets: a world of tasklets that saves to bytes and
// restores in another process, on another architecture, continuing exactly where it stopped.
//
// A native stack cannot be written out portably, so a durable tasklet is rebuilt by
// deterministic replay (docs/durable.md). Its entry point is registered by name, it starts
// from a serialisable state, and every input it takes from outside its own stack comes
// through its `context` and is journaled: values received, clock readings, sleeps. Random
// numbers come from the tasklet's own generator, whose state is part of its starting state.
// Restoring runs each tasklet again from its starting state against its journal: receives
// return the journaled values at once, effects (sends, emits, spawns) that already happened
// are suppressed and compared with the journal, and at the journal's end the tasklet waits
// exactly where it was saved.
//
//     struct walker { int id = 0; int steps = 0;
//                     template <class F> void fields(F& f) { f(id, steps); } };
//
//     tasklets::durable::registry entries;
//     entries.define<walker>("walker", [](tasklets::durable::context& cx, walker w) {
//         for (;;) {
//             cx.checkpoint(w);                          // a restore restarts here, from w
//             cx.sleep_for(std::chrono::milliseconds(1 + cx.random().below(10)));
//             cx.emit("walker " + std::to_string(w.id) + " stepped");
//             ++w.steps;
//         }
//     });
//     tasklets::durable::world w(entries, /*seed*/ 42);
//     w.spawn("walker", walker{1});
//     w.run_until(std::chrono::seconds(1));
//     tasklets::write_image_file("world.img", w.save());
//     // ... another process, another machine:
//     auto back = tasklets::durable::world::restore(entries, tasklets::read_image_file("world.img"));
//     back->run_until(std::chrono::seconds(2));          // the same events as one long run
//
// Time in a world is virtual: `now()` starts at 0 and moves only when run_until() fires
// the next timer, so a world runs as fast as it computes and the same way every time.
// Input from outside (a player, the network) enters with world::post; output leaves through
// cx.emit and world::on_emit. One tasklet moves to another world with take() and put().
//
// The rules a durable tasklet follows (docs/durable.md, "What cannot be durable"):
//  - it blocks only through its context: a plain channel, tasklets::sleep_for or I/O would
//    wait outside the world, so they throw state_error ("this tasklet does not like to be
//    blocked.") — durable tasklets run with block_trap set;
//  - it reads the time only through cx.now() and draws random numbers only from cx.random();
//  - it writes its output through cx.emit() (suppressed while replaying), or checks
//    cx.replaying() before any other effect;
//  - it keeps no pointers to other tasklets' memory and no thread_local state across a
//    context operation: only its own stack and state are rebuilt by replay.
// Each effect is compared with the journal during replay, so breaking a rule is usually
// caught as a replay_divergence naming the tasklet and the step, not silently wrong.
//
// A world belongs to the thread that created it (thread_error from any other) and runs its
// tasklets on that thread's scheduler, driving them itself: they never sit in the ring, so
// other tasklets of the thread do not change the world's order of events.
#pragma once

#include <tasklets/errors.hpp>
#include <tasklets/random.hpp>
#include <tasklets/serial.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tasklets::durable {

/// Virtual time in a world: nanoseconds since the world began.
using duration = std::chrono::nanoseconds;

class context;
class registry;
class world;

namespace detail {
struct durable_tasklet;
struct world_state;

/// Identifies a C++ state type at run time: the address of this variable differs per type.
template <class T>
inline constexpr char type_key = 0;

/// The type-erased core of the context operations (kernel/durable/world/context_ops.cpp).
std::span<const std::byte> receive_bytes(durable_tasklet& t, std::uint32_t channel);
void send_bytes(durable_tasklet& t, std::uint32_t channel, std::vector<std::byte> value);
void checkpoint_bytes(durable_tasklet& t, std::vector<std::byte> state, const void* key);
std::uint64_t spawn_bytes(durable_tasklet& t, std::string_view entry, std::vector<std::byte> state,
                          const void* key);
std::uint64_t spawn_from_outside(world_state& w, std::string_view entry, std::vector<std::byte> state,
                                 const void* key);
void post_bytes(world_state& w, std::uint32_t channel, std::vector<std::byte> value);
std::uint32_t make_channel(world_state& w, std::string name);
/// What a select received: the case that fired (the case count: the time limit) and its bytes.
struct selected_bytes {
    std::size_t index;
    std::span<const std::byte> bytes;
};
selected_bytes select_bytes(durable_tasklet& t, std::span<const std::uint32_t> cases, bool timed,
                            std::chrono::nanoseconds limit);

/// Throws image_error: bytes this tasklet journaled or started from do not decode as the
/// type the code now wants (a state or message type changed since the image was saved).
[[noreturn]] void undecodable(const durable_tasklet& t, std::string_view what, const image_error& e);
template <class T>
T decode(const durable_tasklet& t, std::string_view what, std::span<const std::byte> bytes) {
    try {
        return from_bytes<T>(bytes);
    } catch (const image_error& e) {
        undecodable(t, what, e);
    }
}

/// The variant holding case `index` of a select, decoded from `bytes`.
template <class V, std::size_t... I>
V decode_case(std::size_t index, std::span<const std::byte> bytes, std::index_sequence<I...>) {
    using decoder = V (*)(std::span<const std::byte>);
    static constexpr decoder table[] = {+[](std::span<const std::byte> b) {
        return V(std::in_place_index<I>, from_bytes<std::variant_alternative_t<I, V>>(b));
    }...};
    return table[index](bytes);
}
std::uint32_t find_channel(const world_state& w, std::string_view name);
}  // namespace detail

/// A handle to a channel of a world, carrying values of type T (serialisable). Cheap to
/// copy; serialisable itself (as its number), so a tasklet's state can hold the channels
/// it talks on. Channels are synchronous, as tasklets' own: a send waits for a receiver.
template <class T>
class channel {
public:
    channel() = default;
    /// The channel's number in its world (1, 2, ... in order of creation); 0 when empty.
    std::uint32_t number() const noexcept { return number_; }
    explicit operator bool() const noexcept { return number_ != 0; }
    friend bool operator==(const channel&, const channel&) = default;
    template <class F>
    void fields(F& f) { f(number_); }

private:
    explicit channel(std::uint32_t n) : number_(n) {}
    std::uint32_t number_ = 0;
    friend class world;
    friend class context;
};

/// What a durable tasklet sees of its world. Every operation may be called only by the
/// tasklet the context belongs to (std::logic_error otherwise).
class context {
public:
    /// The tasklet's number in its world (1, 2, ... in order of spawning; never reused).
    std::uint64_t id() const noexcept;
    /// The name of its entry point.
    std::string_view entry() const noexcept;

    /// Waits for a sender on `ch` and returns its value. Journaled: replay returns it at
    /// once. The value is always the one decoded from the journaled bytes, live too, so a
    /// lossy serial<T> loses the same thing in the first run as in a replay.
    template <class T>
    T receive(channel<T> ch) {
        return detail::decode<T>(*t_, "a received value", detail::receive_bytes(*t_, ch.number_));
    }
    /// Waits for a receiver on `ch` and hands it `value`. An effect: suppressed in replay,
    /// where its bytes are compared with the journal.
    template <class T>
    void send(channel<T> ch, const T& value) {
        detail::send_bytes(*t_, ch.number_, to_bytes(value));
    }

    /// Waits until one of `chs` has a sender (or a posted value) and receives from it. The
    /// result's index() is the case that fired; when several have senders, the first listed
    /// wins. Journaled with the case, so replay fires the same one.
    template <class... T>
        requires(sizeof...(T) > 0)
    std::variant<T...> select(channel<T>... chs) {
        const std::uint32_t cases[] = {chs.number_...};
        auto r = detail::select_bytes(*t_, cases, false, duration::zero());
        return decode_selected<T...>(r);
    }
    /// select() with a time limit: std::nullopt if `d` of virtual time passes first (at
    /// once for d <= 0 when no case is ready).
    template <class... T>
        requires(sizeof...(T) > 0)
    std::optional<std::variant<T...>> select_for(duration d, channel<T>... chs) {
        const std::uint32_t cases[] = {chs.number_...};
        auto r = detail::select_bytes(*t_, cases, true, d);
        if (r.index == sizeof...(T)) return std::nullopt;
        return decode_selected<T...>(r);
    }
    /// receive() with a time limit: std::nullopt if `d` passes first.
    template <class T>
    std::optional<T> receive_for(channel<T> ch, duration d) {
        auto r = select_for(d, ch);
        if (!r) return std::nullopt;
        return std::get<0>(std::move(*r));
    }

    /// Sleeps `d` of virtual time (at least 0). Timers that fall due at the same time
    /// fire in the order they were set.
    void sleep_for(duration d);
    template <class Rep, class Period>
    void sleep_for(std::chrono::duration<Rep, Period> d) {
        sleep_for(std::chrono::duration_cast<duration>(d));
    }
    /// Sleeps until virtual time `t`; returns at once (still a step) if `t` has passed.
    void sleep_until(duration t);
    /// The world's virtual time. Journaled.
    duration now();

    /// This tasklet's random generator: split from its parent's (or the world's) when it
    /// was spawned, and saved with each checkpoint, so replay draws the same numbers.
    random_generator& random() noexcept;

    /// Writes one line to the world's event log (world::on_emit). An effect: suppressed in
    /// replay and compared with the journal there.
    void emit(std::string_view line);
    /// True while the tasklet is replaying its journal after a restore.
    bool replaying() const noexcept;

    /// Makes `state` the tasklet's new starting point and empties its journal: a restore
    /// runs the entry point from `state` (and this generator state), then replays only
    /// what came after. Write the entry point so that starting from `state` is the same
    /// as going on from here — typically: checkpoint at the top of the main loop.
    /// `State` must be the entry point's state type (std::logic_error otherwise).
    template <class State>
    void checkpoint(const State& state) {
        detail::checkpoint_bytes(*t_, to_bytes(state), &detail::type_key<State>);
    }

    /// Spawns a durable child running entry point `entry` from `state`; it runs after the
    /// tasklets already ready. Returns its id. An effect, compared with the journal in
    /// replay (where the child, saved with the world, is not spawned again).
    template <class State>
    std::uint64_t spawn(std::string_view entry, const State& state) {
        return detail::spawn_bytes(*t_, entry, to_bytes(state), &detail::type_key<State>);
    }

    context(const context&) = delete;
    context& operator=(const context&) = delete;

private:
    explicit context(detail::durable_tasklet& t) : t_(&t) {}
    template <class... T>
    std::variant<T...> decode_selected(const detail::selected_bytes& r) {
        try {
            return detail::decode_case<std::variant<T...>>(r.index, r.bytes, std::index_sequence_for<T...>{});
        } catch (const image_error& e) {
            detail::undecodable(*t_, "a selected value", e);
        }
    }
    detail::durable_tasklet* t_;
    friend struct detail::durable_tasklet;
    friend class registry;
};

/// The entry points durable tasklets may run, by name. A restoring process must define
/// the same names (with the same state types) as the saving one; an image naming an entry
/// point this registry lacks is refused before anything is created.
class registry {
public:
    /// Defines entry point `name`: `f(context&, State)`, State serialisable and default-
    /// constructible. Throws std::invalid_argument if the name is empty or already defined.
    template <class State, class F>
        requires std::invocable<F&, context&, State>
    void define(std::string name, F f) {
        add(std::move(name), &detail::type_key<State>,
            [f = std::move(f)](context& cx, std::span<const std::byte> bytes) mutable {
                State s = detail::decode<State>(*cx.t_, "its starting state", bytes);
                f(cx, std::move(s));
            });
    }
    bool defines(std::string_view name) const noexcept;

    /// For the library: the entry point `name`, or nullptr.
    struct entry {
        std::string name;
        const void* key;
        std::function<void(context&, std::span<const std::byte>)> start;
    };
    const entry* find(std::string_view name) const noexcept;

private:
    void add(std::string name, const void* key, std::function<void(context&, std::span<const std::byte>)> start);
    std::vector<std::unique_ptr<entry>> entries_;
};

/// A line written by context::emit.
struct event {
    duration time;          ///< virtual time of the emit
    std::uint64_t tasklet;  ///< the emitting tasklet's id
    std::string_view text;
};

/// What world::check found in an image.
struct replay_report {
    std::size_t tasklets = 0;       ///< durable tasklets in the image
    std::size_t channels = 0;
    std::size_t steps_replayed = 0;  ///< journal entries replayed, all tasklets together
    duration time{};                 ///< the world's virtual time in the image
};

/// A set of durable tasklets, the channels between them, a virtual clock with its timers,
/// and a random generator: everything that save() writes and restore() rebuilds.
/// Destroying a world kills its tasklets (their destructors run).
class world {
public:
    /// An empty world at time 0 whose random generator starts from `seed`. `entries` must
    /// outlive the world.
    world(const registry& entries, std::uint64_t seed);
    ~world();
    world(const world&) = delete;
    world& operator=(const world&) = delete;

    /// A new channel named `name` (unique in the world, not empty: std::invalid_argument).
    template <class T>
    channel<T> make_channel(std::string name) {
        return channel<T>(detail::make_channel(*s_, std::move(name)));
    }
    /// The channel named `name`, e.g. after a restore; std::invalid_argument if none.
    template <class T>
    channel<T> find_channel(std::string_view name) const {
        return channel<T>(detail::find_channel(*s_, name));
    }

    /// Spawns a durable tasklet running entry point `entry` from `state`; it starts at the
    /// next run_until(). Returns its id. std::invalid_argument for an unknown entry point or
    /// a State other than the one it was defined with.
    template <class State>
    std::uint64_t spawn(std::string_view entry, const State& state) {
        return detail::spawn_from_outside(*s_, entry, to_bytes(state), &detail::type_key<State>);
    }

    /// Delivers `value` on `ch` from outside the world — a player's input, a network message,
    /// the result of I/O a plain tasklet did — between run_until() calls. The first waiting
    /// receiver gets it and becomes ready; if none waits, the value waits in the channel,
    /// after the senders already there, for the next receiver. Never blocks. Posted values
    /// are saved with the world, and the receiver journals them as any value.
    template <class T>
    void post(channel<T> ch, const T& value) {
        detail::post_bytes(*s_, ch.number_, to_bytes(value));
    }

    /// Runs the world: every ready tasklet until it waits, then the next timer due at or
    /// before `t` (moving now() to it), and so on; finally now() becomes `t` if it was
    /// earlier. An exception escaping a durable tasklet ends that tasklet and is rethrown
    /// here; the rest of the world stays as it was and can run on.
    void run_until(duration t);
    template <class Rep, class Period>
    void run_until(std::chrono::duration<Rep, Period> t) {
        run_until(std::chrono::duration_cast<duration>(t));
    }
    /// The world's virtual time.
    duration now() const noexcept;
    /// Durable tasklets alive (finished ones leave the world).
    std::size_t size() const noexcept;
    /// The world for people, e.g. when it sits idle and you want to know why: its time,
    /// each tasklet with what it waits for (or that it is ready) and its step, and each
    /// channel that has waiters or posted values. One line each:
    ///     durable world at t=300000000 ns: 9 tasklets, 9 channels, 6 timers
    ///       tasklet 1 ('master'): waits in receive on channel 'harbour'; step 60, 1 since its checkpoint
    ///       channel 'harbour': 1 waiting to receive
    std::string describe() const;

    /// Receives every context::emit of the world's tasklets (not those suppressed in replay).
    void on_emit(std::function<void(const event&)> sink);

    /// The world as an image (tasklets/image.hpp): journals, starting states, channels with
    /// their waiting tasklets in order, timers, clock and generator. Between run_until()
    /// calls only (std::logic_error while it runs).
    std::vector<std::byte> save() const;

    /// A world rebuilt from `image`: each tasklet replays its journal and waits where it
    /// was saved. Throws image_error for a damaged, truncated or foreign image, or one naming
    /// an entry point `entries` lacks; replay_divergence when a tasklet's code no longer
    /// does what its journal says. Nothing is half-restored: on any error, every tasklet
    /// already rebuilt is killed and the caller's process is as before.
    static std::unique_ptr<world> restore(const registry& entries, std::span<const std::byte> image);

    /// Ends durable tasklet `id` from outside (an agent the game removes), between
    /// run_until() calls: it is killed (its destructors run), leaves its channel queue or
    /// timer, and is not in later saves. std::invalid_argument if the world has no such
    /// tasklet.
    void kill(std::uint64_t id);
    /// Takes durable tasklet `id` out of this world, as bytes for put() in another world —
    /// in another process or on another machine; the transport is yours. The tasklet must be
    /// waiting or not yet started (between run_until() calls). Here it is killed (its
    /// destructors run) and leaves its channel queue or timer. std::invalid_argument if the
    /// world has no tasklet `id`.
    std::vector<std::byte> take(std::uint64_t id);
    /// Puts a tasklet taken from another world into this one, under a new id, which it
    /// returns (cx.id() changes). It replays its journal here at once (replay_divergence or
    /// image_error leave this world as it was), then waits in the ready queue; when it runs,
    /// it does again, in this world, what it was waiting for there: a receive or send meets
    /// this world's partners on the channel with the same number, a sleep keeps its deadline
    /// (at once if this world's time has passed it). Channels are known by number, so the two
    /// worlds must have made the same channels in the same order (std::invalid_argument
    /// naming the first that differs).
    std::uint64_t put(std::span<const std::byte> bytes);

    /// Replays `image` against this build's entry points without going live, then discards
    /// it: for a CI test that today's code still restores yesterday's saves. Throws as
    /// restore() does.
    static replay_report check(const registry& entries, std::span<const std::byte> image);

private:
    world();
    std::unique_ptr<detail::world_state> s_;
};

}  // namespace tasklets::durable
