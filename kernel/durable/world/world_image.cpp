// kernel/durable/world/world_image.cpp — a world to an image and back (docs/durable.md, "The
// world image").
//
// Sections, each a sequence of serial.hpp values:
//   WRLD  world format (1), now, next tasklet id, next timer number, the world's generator
//   CHAN  count; per channel: name, waiting tasklet ids first to last (0: a posted value),
//         the posted values' bytes in order
//   TASK  count; per tasklet, by id: id, entry name, steps before its starting point, time
//         of its starting point, starting state (bytes), starting generator, journal, wait,
//         and whether it is ready instead: arrived by put() (it will redo its wait), or handed
//         a value by world::post while it waited in receive (the value follows)
//   REDY  ids of the tasklets in the ready queue, in order: spawned ones not yet started,
//         arrivals, and receivers handed a posted value
//
// take() writes one tasklet the same way, in a MOVE section, with CHAN holding only the
// names of the world's channels, by number: put() checks that its world has the same.
//
// restore() decodes and checks everything before it creates a tasklet, then replays each
// tasklet to the wait the image saved, then rebuilds the queues in their saved order. Any
// error destroys the half-built world, which kills what it had rebuilt.
#include "world_state.hpp"

#include <tasklets/image.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

namespace tasklets::durable::detail {
namespace {

constexpr std::uint32_t tag_world = section_tag("WRLD");
constexpr std::uint32_t tag_channels = section_tag("CHAN");
constexpr std::uint32_t tag_tasklets = section_tag("TASK");
constexpr std::uint32_t tag_ready = section_tag("REDY");
constexpr std::uint32_t tag_move = section_tag("MOVE");
constexpr std::uint64_t world_format = 1;

void write_bytes(serial_writer& w, const std::vector<std::byte>& b) {
    w.unsigned_varint(b.size());
    w.raw(b.data(), b.size());
}

std::vector<std::byte> read_bytes(serial_reader& r, const char* what) {
    std::vector<std::byte> b(r.count(what));
    r.raw(b.data(), b.size(), what);
    return b;
}

void write_entry(serial_writer& w, const journal_entry& e) {
    w.byte(static_cast<std::uint8_t>(e.kind));
    w.signed_varint(e.time);
    switch (e.kind) {
    case op::receive:
        w.unsigned_varint(e.a);
        write_bytes(w, e.bytes);
        break;
    case op::send: w.unsigned_varint(e.a); w.fixed32(static_cast<std::uint32_t>(e.b)); break;
    case op::sleep: w.signed_varint(static_cast<std::int64_t>(e.a)); break;
    case op::now: break;
    case op::emit: w.fixed32(static_cast<std::uint32_t>(e.b)); break;
    case op::spawn: w.unsigned_varint(e.a); w.fixed32(static_cast<std::uint32_t>(e.b)); break;
    case op::select:
        w.unsigned_varint(e.a);
        w.fixed32(static_cast<std::uint32_t>(e.b));
        write_bytes(w, e.bytes);
        break;
    case op::checkpoint: break;
    }
}

journal_entry read_entry(serial_reader& r) {
    journal_entry e;
    std::uint8_t kind = r.byte("a journal entry's kind");
    if (kind == 0 || kind > last_op) r.fail("a journal entry of unknown kind " + std::to_string(kind));
    e.kind = static_cast<op>(kind);
    e.time = r.signed_varint("a journal entry's time");
    switch (e.kind) {
    case op::receive:
        e.a = r.unsigned_varint("a received value's channel");
        e.bytes = read_bytes(r, "a received value");
        break;
    case op::send:
        e.a = r.unsigned_varint("a send's channel");
        e.b = r.fixed32("a sent value's CRC");
        break;
    case op::sleep: e.a = static_cast<std::uint64_t>(r.signed_varint("a sleep's deadline")); break;
    case op::now: break;
    case op::emit: e.b = r.fixed32("an emitted line's CRC"); break;
    case op::spawn:
        e.a = r.unsigned_varint("a spawned child's id");
        e.b = r.fixed32("a spawn's CRC");
        break;
    case op::select:
        e.a = r.unsigned_varint("the case a select took");
        e.b = r.fixed32("a select's CRC");
        e.bytes = read_bytes(r, "a selected value");
        break;
    case op::checkpoint: break;
    }
    return e;
}

[[noreturn]] void refuse(const std::string& problem, const char* what = "durable world image") {
    throw image_error(std::string("tasklets: ") + what + ": " + problem);
}

// A tasklet as the image has it, decoded but not yet created.
struct saved_tasklet {
    std::uint64_t id = 0;
    std::string entry;
    std::uint64_t base_step = 0;
    std::int64_t base_time = 0;
    std::vector<std::byte> base_state;
    random_generator base_random;
    std::vector<journal_entry> journal;
    durable_tasklet::expected_wait wait;
    bool arrived = false;
    bool handed = false;
    std::vector<std::byte> handed_value;
    std::size_t handed_case = 0;
    bool in_ready() const noexcept { return arrived || handed; }
};

void write_tasklet(serial_writer& out, const durable_tasklet& t) {
    out(t.id, t.entry->name, t.base_step, t.base_time);
    write_bytes(out, t.base_state);
    out(t.base_random);
    out.unsigned_varint(t.journal.size());
    for (const auto& e : t.journal) write_entry(out, e);
    // An arrived tasklet is ready, parked at the wait it brought; one handed a posted value
    // is ready, parked in its receive or select with the value. Both keep that wait in
    // `expect`.
    const durable_tasklet::expected_wait wait = t.redo || t.handed ? t.expect : current_wait(t);
    const std::uint8_t ready = t.redo ? 1 : t.handed ? 2 : 0;
    out.byte(static_cast<std::uint8_t>(wait.kind));
    switch (wait.kind) {
    case wait::receive: out(wait.channel); break;
    case wait::send: out(wait.channel); out.fixed32(wait.value_crc); break;
    case wait::sleep: out(wait.deadline, wait.timer_seq); break;
    case wait::select:
        out(wait.cases, wait.timed);
        if (wait.timed) out(wait.deadline, wait.timer_seq);
        break;
    case wait::start: break;
    case wait::none:
        // run_until() leaves every started tasklet waiting; one that an exception stopped
        // leaves woken tasklets ready, which a replay cannot put back where they were.
        throw std::logic_error("tasklets: world::save: durable tasklet " + std::to_string(t.id) +
                               " is ready to run (run_until stopped by an exception); run the world "
                               "again before saving");
    }
    out.byte(ready);
    if (t.handed) write_bytes(out, t.received);
    if (t.handed && wait.kind == wait::select) out(t.selected);
}

saved_tasklet read_tasklet(serial_reader& r) {
    saved_tasklet t;
    r(t.id, t.entry, t.base_step, t.base_time);
    t.base_state = read_bytes(r, "a starting state");
    r(t.base_random);
    t.journal.resize(r.count("a journal's length", 2));
    for (auto& e : t.journal) e = read_entry(r);
    std::uint8_t kind = r.byte("a tasklet's wait");
    if (kind == 0 || kind > static_cast<std::uint8_t>(wait::select))
        r.fail("a tasklet's wait of unknown kind " + std::to_string(kind));
    t.wait.kind = static_cast<wait>(kind);
    if (t.wait.kind == wait::receive || t.wait.kind == wait::send) t.wait.channel = r.read<std::uint32_t>();
    if (t.wait.kind == wait::send) t.wait.value_crc = r.fixed32("a waiting send's CRC");
    if (t.wait.kind == wait::sleep) r(t.wait.deadline, t.wait.timer_seq);
    if (t.wait.kind == wait::select) {
        r(t.wait.cases, t.wait.timed);
        if (t.wait.cases.empty()) r.fail("a select with no cases");
        if (t.wait.timed) r(t.wait.deadline, t.wait.timer_seq);
    }
    std::uint8_t ready = r.byte("whether a tasklet is ready");
    if (ready > 2) r.fail("a tasklet's ready state of unknown kind " + std::to_string(ready));
    t.arrived = ready == 1;
    t.handed = ready == 2;
    if (t.handed) t.handed_value = read_bytes(r, "a posted value handed to a receiver");
    if (t.handed && t.wait.kind == wait::select) {
        r(t.handed_case);
        if (t.handed_case >= t.wait.cases.size()) r.fail("a posted value handed to a select case it does not have");
    }
    if (t.arrived && t.wait.kind == wait::start) r.fail("an arrived tasklet that has not started");
    if (t.handed && t.wait.kind != wait::receive && t.wait.kind != wait::select)
        r.fail("a posted value handed to a tasklet that is not receiving");
    return t;
}

// The checks every tasklet record passes, in a world image and in a moved tasklet.
void check_tasklet(const registry& entries, const saved_tasklet& t, std::size_t channels, const char* what) {
    if (!entries.find(t.entry))
        refuse("tasklet " + std::to_string(t.id) + " runs entry point '" + t.entry +
               "', which this program's registry does not define; define it before restoring", what);
    const auto& w = t.wait;
    if ((w.kind == wait::receive || w.kind == wait::send) && (w.channel == 0 || w.channel > channels))
        refuse("tasklet " + std::to_string(t.id) + " waits on channel " + std::to_string(w.channel) +
               ", which the image does not have", what);
    for (std::uint32_t c : w.cases)
        if (c == 0 || c > channels)
            refuse("tasklet " + std::to_string(t.id) + " selects on channel " + std::to_string(c) +
                   ", which the image does not have", what);
    if (w.kind == wait::start && !t.journal.empty())
        refuse("tasklet " + std::to_string(t.id) + " has not started but has a journal", what);
    for (const auto& e : t.journal)
        if ((e.kind == op::receive || e.kind == op::send) && (e.a == 0 || e.a > channels))
            refuse("tasklet " + std::to_string(t.id) + "'s journal names channel " + std::to_string(e.a) +
                   ", which the image does not have", what);
}

struct saved_world {
    std::int64_t now = 0;
    std::uint64_t next_id = 0, next_timer_seq = 0;
    random_generator rng;
    struct channel {
        std::string name;
        std::vector<std::uint64_t> waiters;  // 0: a posted value
        std::vector<std::vector<std::byte>> posted;
    };
    std::vector<channel> channels;
    std::vector<saved_tasklet> tasklets;
    std::vector<std::uint64_t> ready;
};


saved_world decode(const registry& entries, std::span<const std::byte> image) {
    image_reader img(image);
    for (std::uint32_t tag : {tag_world, tag_channels, tag_tasklets, tag_ready})
        if (!img.contains(tag)) refuse("it has no section " + section_name(tag) + "; it is not a saved world");
    saved_world s;
    {
        serial_reader r = img.open(tag_world);
        std::uint64_t format = r.unsigned_varint("the world format");
        if (format != world_format)
            refuse("world format " + std::to_string(format) + ", this build reads format " +
                   std::to_string(world_format));
        r(s.now, s.next_id, s.next_timer_seq, s.rng);
        r.expect_end();
    }
    {
        serial_reader r = img.open(tag_channels);
        s.channels.resize(r.count("the channel count", 3));
        for (auto& c : s.channels) {
            r(c.name, c.waiters);
            c.posted.resize(r.count("a channel's posted values"));
            for (auto& v : c.posted) v = read_bytes(r, "a posted value");
        }
        r.expect_end();
    }
    {
        serial_reader r = img.open(tag_tasklets);
        s.tasklets.resize(r.count("the tasklet count", 8));
        for (auto& t : s.tasklets) t = read_tasklet(r);
        r.expect_end();
    }
    {
        serial_reader r = img.open(tag_ready);
        r(s.ready);
        r.expect_end();
    }

    // The sections must describe one consistent world; each check names what does not fit.
    std::map<std::uint64_t, const saved_tasklet*> by_id;
    std::set<std::uint64_t> timer_seqs;
    std::set<std::string_view> channel_names;
    for (const auto& c : s.channels)
        if (c.name.empty() || !channel_names.insert(c.name).second)
            refuse("channel name '" + c.name + "' is empty or appears twice");
    for (const auto& t : s.tasklets) {
        if (t.id == 0 || t.id >= s.next_id || !by_id.emplace(t.id, &t).second)
            refuse("tasklet id " + std::to_string(t.id) + " is 0, repeated, or not below the next id " +
                   std::to_string(s.next_id));
        check_tasklet(entries, t, s.channels.size(), "durable world image");
        const auto& w = t.wait;
        const bool timer = w.kind == wait::sleep || (w.kind == wait::select && w.timed);
        if (timer && !t.in_ready() && (w.timer_seq == 0 || w.timer_seq >= s.next_timer_seq || !timer_seqs.insert(w.timer_seq).second))
            refuse("tasklet " + std::to_string(t.id) + " has timer number " + std::to_string(w.timer_seq) +
                   ", which is 0, repeated, or not below the next " + std::to_string(s.next_timer_seq));
        if (timer && !t.in_ready() && w.deadline <= s.now)
            refuse("tasklet " + std::to_string(t.id) + " sleeps until t=" + std::to_string(w.deadline) +
                   " ns, which is not after the world's time " + std::to_string(s.now));
    }
    // Every waiting tasklet listed, once, in the queue of each channel it waits on (a select:
    // each of its cases' channels); nothing else listed; never receivers beside senders.
    std::map<std::pair<std::uint32_t, std::uint64_t>, bool> expected;  // (channel, id) -> listed yet
    std::size_t unstarted = 0;
    for (const auto& t : s.tasklets) {
        unstarted += t.wait.kind == wait::start || t.in_ready();
        if (t.in_ready()) continue;
        if (t.wait.kind == wait::receive || t.wait.kind == wait::send) expected[{t.wait.channel, t.id}] = false;
        for (std::uint32_t c : t.wait.cases) expected[{c, t.id}] = false;
    }
    std::size_t listed = 0;
    for (std::uint32_t c = 1; c <= s.channels.size(); ++c) {
        const auto& ch = s.channels[c - 1];
        std::size_t posted = 0, receivers = 0;
        for (std::uint64_t id : ch.waiters) {
            if (id == 0) {
                ++posted;
                continue;
            }
            auto it = expected.find({c, id});
            if (it == expected.end() || it->second)
                refuse("channel '" + ch.name + "' lists waiting tasklet " + std::to_string(id) +
                       ", which is not a tasklet waiting there, or is listed twice");
            it->second = true;
            ++listed;
            receivers += by_id.at(id)->wait.kind != wait::send;
        }
        if (posted != ch.posted.size() || (receivers != 0 && receivers != ch.waiters.size()))
            refuse("channel '" + ch.name + "' holds receivers with senders or posted values, or " +
                   std::to_string(ch.posted.size()) + " posted values for " + std::to_string(posted) + " places");
    }
    if (listed != expected.size()) refuse("a tasklet waits on a channel whose queue does not list it");
    std::set<std::uint64_t> ready_ids(s.ready.begin(), s.ready.end());
    if (ready_ids.size() != s.ready.size() || s.ready.size() != unstarted ||
        !std::all_of(s.ready.begin(), s.ready.end(),
                     [&](std::uint64_t id) {
                         return by_id.count(id) && (by_id.at(id)->wait.kind == wait::start || by_id.at(id)->in_ready());
                     }))
        refuse("the ready queue does not list exactly the tasklets that have not started or are ready");
    return s;
}


// A saved tasklet created again, under `id`, to be replayed to its saved wait (unless it had
// not started). An arrived one then waits in the ready queue to redo that wait.
durable_tasklet& rebuild(world_state& w, std::uint64_t id, saved_tasklet st, const registry& entries) {
    durable_tasklet& t = w.create(id, *entries.find(st.entry), std::move(st.base_state), st.base_random);
    t.base_step = st.base_step;
    t.base_time = st.base_time;
    t.journal = std::move(st.journal);
    t.expect = st.wait;
    t.restoring = st.wait.kind != wait::start;
    t.redo = st.arrived;
    t.handed = st.handed;
    t.received = std::move(st.handed_value);
    t.selected = st.handed_case;
    return t;
}

}  // namespace

}  // namespace tasklets::durable::detail

namespace tasklets::durable {

using namespace detail;

std::vector<std::byte> world::save() const {
    const world_state& w = *s_;
    w.check_thread("save");
    if (w.running)
        throw std::logic_error("tasklets: world::save while the world runs; save between run_until() calls");
    image_writer img;
    serial_writer out;
    out.unsigned_varint(world_format);
    out(w.now, w.next_id, w.next_timer_seq, w.rng);
    img.add(tag_world, out);

    out.unsigned_varint(w.channels.size());
    for (const auto& c : w.channels) {
        out(c.name);
        out.unsigned_varint(c.waiters.size());
        for (const durable_tasklet* t : c.waiters) out(t ? t->id : std::uint64_t{0});
        out.unsigned_varint(c.posted.size());
        for (const auto& v : c.posted) write_bytes(out, v);
    }
    img.add(tag_channels, out);

    out.unsigned_varint(w.tasklets.size());
    for (const auto& [id, t] : w.tasklets) write_tasklet(out, *t);
    img.add(tag_tasklets, out);

    std::vector<std::uint64_t> ready;
    for (const durable_tasklet* t : w.ready) ready.push_back(t->id);
    out(ready);
    img.add(tag_ready, out);
    return img.finish();
}

std::unique_ptr<world> world::restore(const registry& entries, std::span<const std::byte> image) {
    saved_world s = decode(entries, image);  // throws before anything exists

    std::unique_ptr<world> result(new world());
    world_state& w = *result->s_;
    w.entries = &entries;
    w.now = s.now;
    w.next_id = s.next_id;
    w.next_timer_seq = s.next_timer_seq;
    w.rng = s.rng;
    for (auto& c : s.channels) w.channels.push_back(channel_state{c.name, {}, {c.posted.begin(), c.posted.end()}});
    for (auto& st : s.tasklets) rebuild(w, st.id, std::move(st), entries);

    // Replay each started tasklet to the wait the image saved (context_ops.cpp, "restoring").
    // A divergence ends here: `result` is destroyed, killing every rebuilt tasklet.
    w.running = true;
    for (auto& [id, t] : w.tasklets)
        if (t->restoring) w.run_one(*t);
    w.running = false;
    for (auto& [id, t] : w.tasklets)
        if (t->redo || t->handed) t->waiting = wait::none;  // ready, not in a queue

    for (std::size_t c = 0; c < s.channels.size(); ++c)
        for (std::uint64_t id : s.channels[c].waiters)
            w.channels[c].waiters.push_back(id ? w.tasklets.at(id).get() : nullptr);
    for (auto& [id, t] : w.tasklets)
        if (t->waiting == wait::sleep || (t->waiting == wait::select && t->timed))
            w.timers.insert({t->deadline, t->timer_seq, t.get()});
    for (std::uint64_t id : s.ready) w.ready.push_back(w.tasklets.at(id).get());
    return result;
}

// ---- moving one tasklet ------------------------------------------------------------------

std::vector<std::byte> world::take(std::uint64_t id) {
    world_state& w = *s_;
    w.check_thread("take");
    if (w.running) throw std::logic_error("tasklets: world::take while the world runs; take between run_until() calls");
    durable_tasklet& t = w.tasklet_at(id, "take");
    image_writer img;
    serial_writer out;
    out.unsigned_varint(world_format);
    write_tasklet(out, t);  // refuses a tasklet that is ready to run, before anything changes
    img.add(tag_move, out);
    out.unsigned_varint(w.channels.size());
    for (const auto& c : w.channels) out(c.name);
    img.add(tag_channels, out);
    std::vector<std::byte> bytes = img.finish();
    w.remove(t);
    return bytes;
}

std::uint64_t world::put(std::span<const std::byte> bytes) {
    world_state& w = *s_;
    w.check_thread("put");
    if (w.running) throw std::logic_error("tasklets: world::put while the world runs; put between run_until() calls");
    constexpr const char* what = "moved durable tasklet";
    image_reader img(bytes);
    for (std::uint32_t tag : {tag_move, tag_channels})
        if (!img.contains(tag)) refuse("it has no section " + section_name(tag) + "; it is not a moved tasklet", what);
    saved_tasklet st;
    {
        serial_reader r = img.open(tag_move);
        std::uint64_t format = r.unsigned_varint("the world format");
        if (format != world_format)
            refuse("world format " + std::to_string(format) + ", this build reads format " + std::to_string(world_format), what);
        st = read_tasklet(r);
        r.expect_end();
    }
    std::vector<std::string> names;
    {
        serial_reader r = img.open(tag_channels);
        r(names);
        r.expect_end();
    }
    check_tasklet(*w.entries, st, names.size(), what);
    // Channels are known by number (a state holds them as numbers): the worlds must agree.
    for (std::size_t n = 0; n < names.size(); ++n) {
        const std::string here = n < w.channels.size() ? "'" + w.channels[n].name + "'" : "missing";
        if (n >= w.channels.size() || w.channels[n].name != names[n])
            throw std::invalid_argument("tasklets: world::put: channel " + std::to_string(n + 1) + " is '" + names[n] +
                                        "' in the tasklet's world and " + here +
                                        " here; worlds that exchange tasklets make the same channels in the same order");
    }
    // Replayed at once, so that a divergence is refused here, with nothing changed but
    // the id it would have had; then it waits in the ready queue to redo its wait.
    // A tasklet handed a posted value there completes its receive here, with that value;
    // any other that was waiting redoes its wait here.
    st.arrived = st.wait.kind != wait::start && !st.handed;
    st.wait.timer_seq = 0;  // its world's numbering; a redone sleep takes one of this world's
    durable_tasklet& t = rebuild(w, w.next_id++, std::move(st), *w.entries);
    if (t.restoring) {
        w.running = true;
        struct stop {
            world_state& w;
            ~stop() { w.running = false; }
        } guard{w};
        w.run_one(t);
        t.waiting = wait::none;
    }
    w.ready.push_back(&t);
    return t.id;
}

replay_report world::check(const registry& entries, std::span<const std::byte> image) {
    std::unique_ptr<world> w = restore(entries, image);
    replay_report r;
    r.tasklets = w->s_->tasklets.size();
    r.channels = w->s_->channels.size();
    for (const auto& [id, t] : w->s_->tasklets) r.steps_replayed += t->journal.size();
    r.time = duration(w->s_->now);
    return r;
}

}  // namespace tasklets::durable
