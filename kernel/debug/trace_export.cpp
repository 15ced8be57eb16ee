// Writing kept traces as Chrome trace-event JSON (include/tasklets/trace.hpp).
//
// The buffers hold raw events (trace/trace_buffer.hpp); this turns them into what a
// timeline viewer draws. Per OS thread (a "process" in the format, pid = the thread's
// trace number) and per tasklet (a "thread", tid = its id):
//
//   switched A -> B      closes A's "running" slice and opens its wait slice, named for
//                        the reason it left ("receive on channel #3", "runnable", ...);
//                        closes B's wait slice and opens its "running" slice
//   spawned A by B       an instant on A's track; A waits "runnable" from here
//   hand_off S -> R      a flow (an arrow) from S's track to R's, both at the hand-off's
//                        time, each inside the slice its tasklet is in then; the one of
//                        them that waited is woken
//   woken A              A's wait slice ends (its timer, descriptor or helper call came)
//                        and A waits "runnable" until it is switched in
//   killed, thrown_in, escaped, interrupted, soft_stop: instants on the tasklet's track;
//                        a kill or throw also wakes a waiting tasklet
//
// Slices are written as complete events ("X": start and duration), so they are balanced
// by construction. The ring keeps the newest events: a tasklet's state before the first
// kept event is unknown, so its first slice starts at its first kept event, and a flow
// whose ends are not both inside known slices is left out. Slices still open at the end
// are closed at the last event's time. Times are microseconds from the earliest kept
// event, with three decimals (nanoseconds).
#include "core/observe.hpp"

#include <tasklets/trace.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

namespace tasklets::detail {

namespace {

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (const char ch : text) {
        const auto u = static_cast<unsigned char>(ch);
        if (ch == '"' || ch == '\\') {
            out += '\\';
            out += ch;
        } else if (u < 0x20) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\u%04x", u);
            out += esc;
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

// One line of the output, with what it is sorted by.
struct line {
    std::uint32_t pid;
    std::uint64_t tid;  // 0: the process's own metadata
    int rank;           // metadata before events
    std::int64_t ts;
    std::uint64_t order;
    std::string text;
};

enum class track_state : std::uint8_t { unknown, running, waiting };

struct track {
    track_state state = track_state::unknown;
    std::int64_t since = 0;
    std::string wait_name;
    std::string wait_args;  // a JSON object, or empty
    bool spawned = false;   // its spawn is in the trace...
    bool started = false;   // ...and its start
};

class exporter {
public:
    explicit exporter(std::int64_t base) : base_(base) {}

    void add(const trace_buffer& b) {
        pid_ = b.thread_number;
        tracks_.clear();
        std::int64_t last = base_;
        b.for_each([&](const trace_event& e) {
            last = e.ts;
            handle(e);
        });
        for (auto& [id, t] : tracks_) close(id, t, last);
        lines_.push_back({pid_, 0, 0, 0, order_++,
                          "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":" + std::to_string(pid_) +
                              ",\"args\":{\"name\":\"thread " + std::to_string(pid_) + "\"}}"});
        for (const std::uint64_t id : seen_) {
            // Appended piece by piece: "#" + std::string trips GCC 12's -Wrestrict false
            // positive (GCC bug 105651) in optimised builds.
            std::string name = "#";
            name += std::to_string(id);
            if (auto it = b.names.find(id); it != b.names.end()) name += " " + it->second;
            else if (id == 1) name += " main";
            const std::string where = ",\"pid\":" + std::to_string(pid_) + ",\"tid\":" + std::to_string(id);
            lines_.push_back({pid_, id, 0, 0, order_++,
                              "{\"ph\":\"M\",\"name\":\"thread_name\"" + where + ",\"args\":{\"name\":" + json_string(name) + "}}"});
            lines_.push_back({pid_, id, 0, 0, order_++,
                              "{\"ph\":\"M\",\"name\":\"thread_sort_index\"" + where +
                                  ",\"args\":{\"sort_index\":" + std::to_string(id) + "}}"});
        }
        seen_.clear();
    }

    std::size_t write(std::ostream& out, std::uint64_t dropped, std::size_t threads) {
        std::sort(lines_.begin(), lines_.end(), [](const line& x, const line& y) {
            if (x.pid != y.pid) return x.pid < y.pid;
            if (x.tid != y.tid) return x.tid < y.tid;
            if (x.rank != y.rank) return x.rank < y.rank;
            if (x.ts != y.ts) return x.ts < y.ts;
            return x.order < y.order;
        });
        out << "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"library\":\"tasklets\",\"dropped_events\":" << dropped
            << ",\"threads\":" << threads << "},\n\"traceEvents\":[\n";
        for (std::size_t i = 0; i < lines_.size(); ++i) out << lines_[i].text << (i + 1 < lines_.size() ? ",\n" : "\n");
        out << "]}\n";
        return lines_.size();
    }

private:
    track& get(std::uint64_t id) {
        auto [it, fresh] = tracks_.try_emplace(id);
        if (fresh) seen_.push_back(id);
        return it->second;
    }

    std::string micros(std::int64_t ns) const {
        const std::int64_t d = ns - base_;
        char buf[32];
        std::snprintf(buf, sizeof buf, "%lld.%03lld", static_cast<long long>(d / 1000), static_cast<long long>(d % 1000));
        return buf;
    }

    std::string where(std::uint64_t id, std::int64_t ts) const {
        return ",\"pid\":" + std::to_string(pid_) + ",\"tid\":" + std::to_string(id) + ",\"ts\":" + micros(ts);
    }

    void emit(std::uint64_t id, std::int64_t ts, std::string text) {
        lines_.push_back({pid_, id, 1, ts, order_++, std::move(text)});
    }

    void slice(std::uint64_t id, const char* cat, const std::string& name, std::int64_t from, std::int64_t to,
               const std::string& args) {
        std::string text = "{\"ph\":\"X\",\"name\":" + json_string(name) + ",\"cat\":\"" + cat + "\"" + where(id, from) +
                           ",\"dur\":" + micros(to - from + base_);
        if (!args.empty()) text += ",\"args\":" + args;
        emit(id, from, text + "}");
    }

    void instant(std::uint64_t id, std::int64_t ts, const char* name, const std::string& args = {}) {
        std::string text = "{\"ph\":\"i\",\"s\":\"t\",\"name\":\"" + std::string(name) + "\"" + where(id, ts);
        if (!args.empty()) text += ",\"args\":" + args;
        emit(id, ts, text + "}");
    }

    void close(std::uint64_t id, track& t, std::int64_t ts) {
        if (t.state == track_state::running) slice(id, "run", "running", t.since, ts, {});
        if (t.state == track_state::waiting) slice(id, "wait", t.wait_name, t.since, ts, t.wait_args);
        t.state = track_state::unknown;
    }

    std::uint64_t channel_number(std::uint64_t address) {
        auto [it, fresh] = channels_.try_emplace(address, channels_.size() + 1);
        return it->second;
    }

    // A waiting tasklet was made runnable: its wait slice ends here.
    void wake(std::uint64_t id, track& t, std::int64_t ts) {
        if (t.state != track_state::waiting || t.wait_name == "runnable") return;
        close(id, t, ts);
        wait(t, ts, "runnable");
    }

    void wait(track& t, std::int64_t ts, std::string name, std::string args = {}) {
        t.state = track_state::waiting;
        t.since = ts;
        t.wait_name = std::move(name);
        t.wait_args = std::move(args);
    }

    void leave(std::uint64_t id, track& t, const trace_event& e) {
        close(id, t, e.ts);
        switch (e.reason) {
        case leave_reason::finished: instant(id, e.ts, "finish"); return;
        case leave_reason::moved: instant(id, e.ts, "moved to another thread"); return;
        case leave_reason::yielded: return wait(t, e.ts, "runnable");
        case leave_reason::sending:
        case leave_reason::receiving: {
            const std::string n = std::to_string(channel_number(e.c));
            return wait(t, e.ts, std::string(e.reason == leave_reason::sending ? "send" : "receive") + " on channel #" + n,
                        "{\"channel\":" + n + "}");
        }
        case leave_reason::selecting:
            return wait(t, e.ts, "select over " + std::to_string(e.n) + " channels",
                        "{\"first_channel\":" + std::to_string(channel_number(e.c)) + "}");
        case leave_reason::sleeping: return wait(t, e.ts, "sleep");
        case leave_reason::descriptor: return wait(t, e.ts, "wait for descriptor", "{\"fd\":" + std::to_string(e.n) + "}");
        case leave_reason::paused: return wait(t, e.ts, "paused");
        case leave_reason::in_run: return wait(t, e.ts, "waiting in run()");
        }
    }

    void handle(const trace_event& e) {
        switch (e.kind) {
        case trace_kind::switched: {
            leave(e.a, get(e.a), e);
            track& to = get(e.b);
            close(e.b, to, e.ts);
            if (to.spawned && !to.started) {
                to.started = true;
                instant(e.b, e.ts, "start");
            }
            to.state = track_state::running;
            to.since = e.ts;
            break;
        }
        case trace_kind::spawned: {
            track& t = get(e.a);
            instant(e.a, e.ts, "spawn", "{\"by\":" + std::to_string(e.b) + "}");
            t.spawned = true;
            wait(t, e.ts, "runnable");
            break;
        }
        case trace_kind::hand_off: {
            track& sender = get(e.a);
            track& receiver = get(e.b);
            if (sender.state == track_state::unknown || receiver.state == track_state::unknown) break;
            const std::string id = std::to_string(++flows_);
            const std::string channel = std::to_string(channel_number(e.c));
            emit(e.a, e.ts,
                 "{\"ph\":\"s\",\"id\":" + id + ",\"name\":\"hand-off\",\"cat\":\"channel\"" + where(e.a, e.ts) +
                     ",\"args\":{\"channel\":" + channel + "}}");
            emit(e.b, e.ts, "{\"ph\":\"f\",\"bp\":\"e\",\"id\":" + id + ",\"name\":\"hand-off\",\"cat\":\"channel\"" + where(e.b, e.ts) + "}");
            wake(e.a, sender, e.ts);  // whichever of them waited
            wake(e.b, receiver, e.ts);
            break;
        }
        case trace_kind::killed:
            instant(e.a, e.ts, "kill", "{\"by\":" + std::to_string(e.b) + "}");
            wake(e.a, get(e.a), e.ts);
            break;
        case trace_kind::thrown_in:
            instant(e.a, e.ts, "exception thrown in", "{\"by\":" + std::to_string(e.b) + "}");
            wake(e.a, get(e.a), e.ts);
            break;
        case trace_kind::woken:
            wake(e.a, get(e.a), e.ts);
            break;
        case trace_kind::escaped:
            get(e.a);
            instant(e.a, e.ts, "exception escaped");
            break;
        case trace_kind::interrupted:
            get(e.a);
            instant(e.a, e.ts, "watchdog interruption");
            break;
        case trace_kind::soft_stop:
            get(e.a);
            instant(e.a, e.ts, "watchdog stop");
            break;
        }
    }

    std::int64_t base_;
    std::uint32_t pid_ = 0;
    std::unordered_map<std::uint64_t, track> tracks_;
    std::vector<std::uint64_t> seen_;
    std::unordered_map<std::uint64_t, std::uint64_t> channels_;
    std::vector<line> lines_;
    std::uint64_t order_ = 0;
    std::uint64_t flows_ = 0;
};

struct gathered {
    std::vector<const trace_buffer*> buffers;
    std::ostream* out;
    std::size_t written = 0;
};

void write_all(const std::vector<std::unique_ptr<trace_buffer>>& kept, void* context) {
    auto& g = *static_cast<gathered*>(context);
    for (const auto& b : kept) g.buffers.push_back(b.get());
    std::sort(g.buffers.begin(), g.buffers.end(),
              [](const trace_buffer* x, const trace_buffer* y) { return x->thread_number < y->thread_number; });
    std::int64_t base = 0;
    bool any = false;
    std::uint64_t dropped = 0;
    for (const trace_buffer* b : g.buffers) {
        dropped += b->dropped();
        if (b->recorded == 0) continue;
        const std::int64_t first = b->events[b->dropped() & b->mask].ts;
        base = any ? std::min(base, first) : first;
        any = true;
    }
    exporter x(base);
    for (const trace_buffer* b : g.buffers) x.add(*b);
    g.written = x.write(*g.out, dropped, g.buffers.size());
}

}  // namespace

void write_trace_at_exit() noexcept {
    const char* path = std::getenv("TASKLETS_TRACE");
    if (!path || !*path) return;
    try {
        const std::size_t n = tasklets::write_trace(std::string(path));
        std::fprintf(stderr, "tasklets: wrote a trace of %zu events to %s (TASKLETS_TRACE)\n", n, path);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tasklets: TASKLETS_TRACE: %s\n", e.what());
    }
}

}  // namespace tasklets::detail

namespace tasklets {

using namespace detail;

std::size_t write_trace(std::ostream& out) {
    gathered g;
    g.out = &out;
    if (scheduler* s = tls_scheduler; s && s->trace) g.buffers.push_back(s->trace);
    with_kept_traces(&write_all, &g);
    return g.written;
}

std::size_t write_trace(const std::string& path) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    if (!file) throw std::system_error(errno, std::generic_category(), "tasklets::write_trace: cannot open \"" + path + "\" for writing");
    const std::size_t n = write_trace(file);
    file.flush();
    if (!file) throw std::system_error(errno ? errno : EIO, std::generic_category(), "tasklets::write_trace: cannot write \"" + path + "\"");
    return n;
}

}  // namespace tasklets
