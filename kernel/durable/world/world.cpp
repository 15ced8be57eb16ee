// kernel/durable/world/world.cpp — a durable world in memory: its entry points, its tasklets, and
// the driver that runs them (world_state.hpp says why the world drives them itself).
#include "world_state.hpp"

#include <tasklets/image.hpp>

#include <algorithm>
#include <stdexcept>

namespace tasklets {

replay_divergence::replay_divergence(std::uint64_t tasklet, std::string entry, std::uint64_t step,
                                     std::string expected, std::string actual)
    : std::runtime_error("tasklets: durable tasklet " + std::to_string(tasklet) + " ('" + entry +
                         "') diverged from its journal at step " + std::to_string(step) + ": expected " +
                         expected + ", the code did " + actual),
      tasklet_(tasklet), entry_(std::move(entry)), step_(step), expected_(std::move(expected)),
      actual_(std::move(actual)) {}

}  // namespace tasklets

namespace tasklets::durable {

// ---- registry ------------------------------------------------------------------------------

void registry::add(std::string name, const void* key,
                   std::function<void(context&, std::span<const std::byte>)> start) {
    if (name.empty()) throw std::invalid_argument("tasklets: registry::define: an entry point needs a name");
    if (defines(name))
        throw std::invalid_argument("tasklets: registry::define: entry point '" + name +
                                    "' is already defined; each name runs one function");
    entries_.push_back(std::make_unique<entry>(entry{std::move(name), key, std::move(start)}));
}

const registry::entry* registry::find(std::string_view name) const noexcept {
    for (const auto& e : entries_)
        if (e->name == name) return e.get();
    return nullptr;
}

bool registry::defines(std::string_view name) const noexcept { return find(name) != nullptr; }

namespace detail {

namespace {
std::string crc_text(std::uint64_t crc) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(crc));
    return buf;
}
}  // namespace

// ---- descriptions, for divergence messages ----------------------------------------------

std::string world_state::channel_name(std::uint64_t n) const {
    if (n == 0 || n > channels.size()) return "channel " + std::to_string(n);
    return "channel '" + channels[n - 1].name + "'";
}

std::string describe(const world_state& w, const journal_entry& e) {
    switch (e.kind) {
    case op::receive: return "receive on " + w.channel_name(e.a);
    case op::send: return "send on " + w.channel_name(e.a) + " of a value with CRC-32C " + crc_text(e.b);
    case op::sleep: return "sleep until t=" + std::to_string(static_cast<std::int64_t>(e.a)) + " ns";
    case op::now: return "a clock reading";
    case op::emit: return "emit of a line with CRC-32C " + crc_text(e.b);
    case op::spawn: return "spawn of a child whose entry point and state have CRC-32C " + crc_text(e.b);
    case op::checkpoint: return "checkpoint";
    case op::select: return "select whose cases and time limit have CRC-32C " + crc_text(e.b);
    }
    return "an unknown operation";
}

std::string wait_text(const world_state& w, const durable_tasklet::expected_wait& e) {
    switch (e.kind) {
    case wait::receive: return "receive on " + w.channel_name(e.channel);
    case wait::send: return "send on " + w.channel_name(e.channel) + " of a value with CRC-32C " + crc_text(e.value_crc);
    case wait::sleep: return "sleep until t=" + std::to_string(e.deadline) + " ns";
    case wait::select: {
        std::string cases;
        for (std::uint32_t c : e.cases) cases += (cases.empty() ? "" : ", ") + w.channel_name(c);
        return "select on " + cases + (e.timed ? " until t=" + std::to_string(e.deadline) + " ns" : std::string());
    }
    case wait::start:
    case wait::none: break;
    }
    return "nothing";
}

std::string describe_wait(const world_state& w, const durable_tasklet::expected_wait& e) {
    if (e.kind == wait::start) return "not to start";
    return "to wait in " + wait_text(w, e) + " (where the image saved it)";
}

// ---- the world's state --------------------------------------------------------------------

[[noreturn]] void undecodable(const durable_tasklet& t, std::string_view what, const image_error& e) {
    const std::string step = t.cursor == 0 ? std::string() : " at step " + std::to_string(t.base_step + t.cursor);
    throw image_error("tasklets: durable tasklet " + std::to_string(t.id) + " ('" + t.entry->name + "')" + step + ": " +
                      std::string(what) +
                      " does not decode as the type the code now takes (did the type change since the image "
                      "was saved?): " + e.what());
}

void world_state::check_thread(const char* what) const {
    if (std::this_thread::get_id() != owner)
        throw thread_error(std::string("tasklets: world::") + what +
                           " on a thread other than the world's; a durable world runs on the thread that created it");
}

const registry::entry& world_state::entry_for(std::string_view name, const void* key) const {
    const registry::entry* e = entries->find(name);
    if (!e)
        throw std::invalid_argument("tasklets: spawn of durable entry point '" + std::string(name) +
                                    "', which the world's registry does not define; define it first");
    if (e->key != key)
        throw std::invalid_argument("tasklets: spawn of durable entry point '" + std::string(name) +
                                    "' with a state type other than the one it was defined with");
    return *e;
}

channel_state& world_state::channel_at(std::uint32_t n, const char* what) {
    if (n == 0 || n > channels.size())
        throw std::invalid_argument(std::string("tasklets: ") + what + " on " +
                                    (n == 0 ? std::string("an empty channel handle") : channel_name(n) + ", which this world does not have") +
                                    "; channels come from world::make_channel or find_channel");
    return channels[n - 1];
}

durable_tasklet& world_state::create(std::uint64_t id, const registry::entry& e, std::vector<std::byte> state,
                                     random_generator random) {
    auto t = std::make_unique<durable_tasklet>();
    t->w = this;
    t->id = id;
    t->entry = &e;
    t->base_state = std::move(state);
    t->base_random = random;
    t->base_time = now;
    t->waiting = wait::start;
    durable_tasklet* p = t.get();
    tasklet_options options;
    options.name = e.name;
    t->handle = tasklets::tasklet(options, [p] { p->run_body(); });
    // The world runs it (run_one), never the ring.
    t->handle.remove();
    t->handle.set_block_trap(true);
    return *tasklets.emplace(id, std::move(t)).first->second;
}

void world_state::make_ready(durable_tasklet& t) {
    if (t.waiting != wait::start) t.waiting = wait::none;
    ready.push_back(&t);
}

durable_tasklet::expected_wait current_wait(const durable_tasklet& t) {
    durable_tasklet::expected_wait e;
    e.kind = t.waiting;
    e.channel = t.channel;
    e.value_crc = t.waiting == wait::send ? crc32c(*t.offered) : 0;
    e.deadline = t.deadline;
    e.timer_seq = t.timer_seq;
    e.cases = t.cases;
    e.timed = t.timed;
    return e;
}

void world_state::deliver(durable_tasklet& r, std::uint32_t channel, std::vector<std::byte> value) {
    r.received = std::move(value);
    r.channel = channel;
    if (r.waiting == wait::select) {
        r.selected = static_cast<std::size_t>(std::find(r.cases.begin(), r.cases.end(), channel) - r.cases.begin());
        unlink(r);
    }
    make_ready(r);
}

void world_state::unlink(durable_tasklet& t) {
    if (t.waiting == wait::sleep || (t.waiting == wait::select && t.timed)) timers.erase({t.deadline, t.timer_seq, &t});
    if (t.waiting == wait::select) {
        for (std::uint32_t c : t.cases) std::erase(channels[c - 1].waiters, &t);
    } else if ((t.waiting == wait::receive || t.waiting == wait::send) && t.channel != 0) {
        std::erase(channels[t.channel - 1].waiters, &t);
    }
}

void durable_tasklet::run_body() {
    struct mark_finished {
        durable_tasklet& t;
        ~mark_finished() {
            t.finished = true;
            t.waiting = wait::none;
        }
    } mark{*this};
    try {
        waiting = wait::none;
        rng = base_random;
        clock = base_time;
        cursor = 0;
        replaying = !journal.empty();
        fresh = true;
        std::vector<std::byte> start = base_state;  // a checkpoint replaces base_state
        entry->start(cx, start);
        if (replaying || restoring)
            throw replay_divergence(id, entry->name, base_step + cursor + 1,
                                    replaying ? describe(*w, journal[cursor]) : describe_wait(*w, expect),
                                    "return from its entry point");
    } catch (const tasklet_exit&) {
        throw;  // killed: the kernel ends the tasklet silently
    } catch (...) {
        if (!w->dying) w->failure = std::current_exception();
    }
}

void world_state::run_one(durable_tasklet& t) {
    t.handle.run();  // returns when t waits (schedule_remove) or ends: the driver is next in the ring
    if (t.finished) {
        tasklets.erase(t.id);
    } else if (t.waiting == wait::none) {
        // It is back in the ring (schedule()) or waits outside the world: the world no
        // longer decides when it runs, so determinism is lost. End it and say why.
        std::uint64_t id = t.id;
        std::string name = t.entry->name;
        t.handle.kill();
        tasklets.erase(id);
        throw std::logic_error("tasklets: durable tasklet " + std::to_string(id) + " ('" + name +
                               "') switched outside its world (schedule() or a wait not made through its "
                               "context); it was killed. A durable tasklet waits only through its context");
    }
    if (failure) std::rethrow_exception(std::exchange(failure, nullptr));
}

void world_state::drain() {
    while (!ready.empty()) {
        durable_tasklet* t = ready.front();
        ready.pop_front();
        run_one(*t);
    }
}

world_state::~world_state() {
    dying = true;
    ready.clear();
    timers.clear();
    for (auto& c : channels) c.waiters.clear(), c.posted.clear();
    // Each kill unwinds the tasklet's stack, so its destructors run.
    for (auto& [id, t] : tasklets)
        if (!t->finished && t->handle.alive()) t->handle.kill();
    tasklets.clear();
}

durable_tasklet& world_state::tasklet_at(std::uint64_t id, const char* what) {
    auto it = tasklets.find(id);
    if (it == tasklets.end())
        throw std::invalid_argument(std::string("tasklets: world::") + what + ": this world has no durable tasklet " +
                                    std::to_string(id) + " (ended, taken, killed, or never spawned)");
    return *it->second;
}

void world_state::remove(durable_tasklet& t) {
    // Out of the ready queue, and killed: its destructors run, and the kill takes it out of
    // its channel queues and timer (context_ops.cpp, park).
    std::erase(ready, &t);
    if (t.handle.alive()) t.handle.kill();
    tasklets.erase(t.id);
}

std::uint32_t make_channel(world_state& w, std::string name) {
    w.check_thread("make_channel");
    if (w.running)
        throw std::logic_error("tasklets: world::make_channel while the world runs: a tasklet's replay would not "
                               "make it again; make channels between run_until() calls");
    if (name.empty()) throw std::invalid_argument("tasklets: world::make_channel: a channel needs a name");
    for (const auto& c : w.channels)
        if (c.name == name)
            throw std::invalid_argument("tasklets: world::make_channel: the world already has a channel named '" +
                                        name + "'; use find_channel for it");
    w.channels.push_back(channel_state{std::move(name), {}, {}});
    return static_cast<std::uint32_t>(w.channels.size());
}

std::uint32_t find_channel(const world_state& w, std::string_view name) {
    w.check_thread("find_channel");
    for (std::size_t i = 0; i < w.channels.size(); ++i)
        if (w.channels[i].name == name) return static_cast<std::uint32_t>(i + 1);
    throw std::invalid_argument("tasklets: world::find_channel: the world has no channel named '" +
                                std::string(name) + "'");
}

void post_bytes(world_state& w, std::uint32_t channel, std::vector<std::byte> value) {
    w.check_thread("post");
    if (w.running) throw std::logic_error("tasklets: world::post while the world runs; durable tasklets send with cx.send");
    channel_state& c = w.channel_at(channel, "world::post");
    if (c.has_receivers()) {
        durable_tasklet& receiver = *c.waiters.front();
        c.waiters.pop_front();
        receiver.expect = current_wait(receiver);  // saved as it was, with the value handed
        receiver.handed = true;
        w.deliver(receiver, channel, std::move(value));
    } else {
        c.waiters.push_back(nullptr);
        c.posted.push_back(std::move(value));
    }
}

std::uint64_t spawn_from_outside(world_state& w, std::string_view entry, std::vector<std::byte> state,
                                 const void* key) {
    w.check_thread("spawn");
    if (w.running)
        throw std::logic_error("tasklets: world::spawn while the world runs; a durable tasklet spawns with cx.spawn, "
                               "which its journal records");
    const registry::entry& e = w.entry_for(entry, key);
    durable_tasklet& t = w.create(w.next_id++, e, std::move(state), w.rng.split());
    w.make_ready(t);
    return t.id;
}

}  // namespace detail

// ---- world ---------------------------------------------------------------------------------

world::world() : s_(std::make_unique<detail::world_state>()) { s_->owner = std::this_thread::get_id(); }

world::world(const registry& entries, std::uint64_t seed) : world() {
    s_->entries = &entries;
    s_->rng = random_generator(seed);
}

world::~world() = default;

void world::run_until(duration until) {
    detail::world_state& w = *s_;
    w.check_thread("run_until");
    if (w.running)
        throw std::logic_error("tasklets: world::run_until called while the world runs (from one of its own tasklets)");
    w.running = true;
    struct stop {
        detail::world_state& w;
        ~stop() { w.running = false; }
    } guard{w};
    for (;;) {
        w.drain();
        if (w.timers.empty() || std::get<0>(*w.timers.begin()) > until.count()) break;
        // Every timer due at the next deadline fires, in the order it was set.
        w.now = std::get<0>(*w.timers.begin());
        while (!w.timers.empty() && std::get<0>(*w.timers.begin()) == w.now) {
            detail::durable_tasklet* t = std::get<2>(*w.timers.begin());
            if (t->waiting == detail::wait::select) t->selected = t->cases.size();  // its time limit
            w.unlink(*t);
            w.make_ready(*t);
        }
    }
    if (w.now < until.count()) w.now = until.count();
}

std::string world::describe() const {
    const detail::world_state& w = *s_;
    w.check_thread("describe");
    std::string out = "durable world at t=" + std::to_string(w.now) + " ns: " + std::to_string(w.tasklets.size()) +
                      " tasklets, " + std::to_string(w.channels.size()) + " channels, " + std::to_string(w.timers.size()) +
                      " timers\n";
    for (const auto& [id, t] : w.tasklets) {
        out += "  tasklet " + std::to_string(id) + " ('" + t->entry->name + "'): ";
        if (t->waiting == detail::wait::start) out += "ready, not started";
        else if (t->redo) out += "ready, arrived by put: will redo " + detail::wait_text(w, t->expect);
        else if (t->handed) out += "ready, handed a posted value in " + detail::wait_text(w, t->expect);
        else if (t->waiting == detail::wait::none) out += "ready";
        else out += "waits in " + detail::wait_text(w, detail::current_wait(*t));
        out += "; step " + std::to_string(t->step()) + ", " + std::to_string(t->journal.size()) +
               " since its checkpoint\n";
    }
    for (const auto& c : w.channels) {
        if (c.waiters.empty()) continue;
        std::size_t tasklets = c.waiters.size() - c.posted.size();
        out += "  channel '" + c.name + "': " +
               (c.has_receivers() ? std::to_string(tasklets) + " waiting to receive"
                                  : std::to_string(tasklets) + " waiting to send, " + std::to_string(c.posted.size()) +
                                        " posted values") +
               "\n";
    }
    return out;
}

void world::kill(std::uint64_t id) {
    detail::world_state& w = *s_;
    w.check_thread("kill");
    if (w.running) throw std::logic_error("tasklets: world::kill while the world runs; kill between run_until() calls");
    w.remove(w.tasklet_at(id, "kill"));
}

duration world::now() const noexcept { return duration(s_->now); }
std::size_t world::size() const noexcept { return s_->tasklets.size(); }
void world::on_emit(std::function<void(const event&)> sink) {
    s_->check_thread("on_emit");
    s_->sink = std::move(sink);
}

}  // namespace tasklets::durable
