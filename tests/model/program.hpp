// tests/model/program.hpp — the programs of the differential test: a few tasklets and
// channels, each tasklet (and main) a script of operations. The same program runs on the
// real library (real.hpp) and on the reference model (model.hpp); both produce an event
// log that must match line for line.
//
// Tasklet 0 is main; tasklets 1..N are created by main before its script (in order,
// appended to the ring) unless their `created_at_start` is false, in which case a
// `create` op (anyone's) creates them — until then their handle is empty.
//
// Adding an operation (select, run(budget), ...): a new `op` value, its text in
// op_text(), its generation weight in generate(), its execution in real.hpp (and the same
// code as text in repro_code() below) and its rules in model.hpp.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace diff {

enum class op : std::uint8_t {
    schedule,         // tasklets::schedule()
    schedule_remove,  // tasklets::schedule_remove()
    send,             // c[a].send(val)
    recv,             // c[a].receive()
    send_exc,         // c[a].send_exception(test_error("x<val>"))
    insert,           // t[a].insert()
    remove,           // t[a].remove()
    run_t,            // t[a].run()
    switch_to,        // t[a].switch_to()
    kill,             // t[a].kill(b)
    throw_,           // t[a].throw_exception(other_error("x<val>"), b)
    close,            // c[a].close()
    open,             // c[a].open()
    trap,             // t[a].set_block_trap(b)
    run,              // tasklets::run()
    raise,            // throw test_error("raise tK") out of the tasklet (never caught)
    snap,             // log a state snapshot
    create,           // create tasklet a (if it does not exist yet)
    pref,             // c[a].set_preference(b)
    sched_all,        // c[a].set_schedule_all(b)
    count_
};

/// What the op's caller catches: std::exception-derived errors (and lets tasklet_exit
/// through, so a kill ends the tasklet), nothing (errors escape the tasklet), or
/// everything including tasklet_exit (which cancels a kill). Main always catches all.
enum class catching : std::uint8_t { std_errors, nothing, all };

struct step {
    op o = op::snap;
    int a = 0;    // target tasklet (0 = main) or channel
    int b = 0;    // pending / on-off / preference
    int val = 0;  // value sent, or the number in an exception's message
    catching c = catching::std_errors;
    friend bool operator==(const step&, const step&) = default;
};

struct program {
    int ntasklets = 0;                   // not counting main
    std::vector<int> preference;         // per channel: -1, 0, +1
    std::vector<bool> schedule_all;      // per channel
    std::vector<bool> created_at_start;  // per tasklet 1..N (index 0 unused)
    std::vector<std::vector<step>> scripts;  // [0] = main, [k] = tasklet k
    int nchannels() const { return static_cast<int>(preference.size()); }
    friend bool operator==(const program&, const program&) = default;
};

inline std::string tname(int k) { return "t" + std::to_string(k); }
inline std::string cname(int c) { return "c" + std::to_string(c); }

/// The text an op logs (after "tK: ").
inline std::string op_text(const step& s) {
    const std::string t = tname(s.a), c = cname(s.a), v = std::to_string(s.val);
    const std::string pend = s.b ? " pending" : "";
    switch (s.o) {
    case op::schedule: return "schedule";
    case op::schedule_remove: return "schedule_remove";
    case op::send: return "send " + c + " " + v;
    case op::recv: return "recv " + c;
    case op::send_exc: return "send_exception " + c + " x" + v;
    case op::insert: return t + ".insert";
    case op::remove: return t + ".remove";
    case op::run_t: return t + ".run";
    case op::switch_to: return t + ".switch_to";
    case op::kill: return t + ".kill" + pend;
    case op::throw_: return t + ".throw x" + v + pend;
    case op::close: return c + ".close";
    case op::open: return c + ".open";
    case op::trap: return t + ".block_trap " + (s.b ? "on" : "off");
    case op::run: return "run";
    case op::raise: return "raise";
    case op::snap: return "snap";
    case op::create: return "create " + t;
    case op::pref: return c + ".preference " + std::to_string(s.b);
    case op::sched_all: return c + ".schedule_all " + (s.b ? "on" : "off");
    case op::count_: break;
    }
    return "?";
}

/// Main's cleanup, appended to its script by the runners: block_trap off, then rounds of
/// run() (enough to outlast every escaping exception) and a kill of every tasklet, then a
/// snapshot. Rounds: one, plus one per op that catches tasklet_exit (a cancelled kill).
inline std::vector<step> cleanup(const program& p) {
    int rounds = 1;
    for (std::size_t k = 1; k < p.scripts.size(); ++k)
        for (const step& s : p.scripts[k]) rounds += s.c == catching::all;
    std::vector<step> out;
    out.push_back({op::trap, 0, 0, 0, catching::all});
    for (int r = 0; r < rounds; ++r) {
        for (int i = 0; i <= p.ntasklets; ++i) out.push_back({op::run, 0, 0, 0, catching::all});
        for (int k = 1; k <= p.ntasklets; ++k) out.push_back({op::kill, k, 0, 0, catching::all});
    }
    out.push_back({op::snap, 0, 0, 0, catching::all});
    return out;
}

/// Main's whole script: its own ops, each followed by a snapshot, then the cleanup.
inline std::vector<step> main_script(const program& p) {
    std::vector<step> s;
    for (step x : p.scripts[0]) {
        x.c = catching::all;
        s.push_back(x);
        s.push_back({op::snap, 0, 0, 0, catching::all});
    }
    auto tail = cleanup(p);
    s.insert(s.end(), tail.begin(), tail.end());
    return s;
}

// ---- generation -------------------------------------------------------------------------

struct gen_limits {
    int max_tasklets = 4;
    int max_channels = 3;
    int max_ops_tasklet = 8;
    int max_ops_main = 10;
};

inline program generate(std::mt19937_64& rng, const gen_limits& lim = {}) {
    auto pick = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    auto chance = [&pick](int percent) { return pick(0, 99) < percent; };
    program p;
    p.ntasklets = pick(1, lim.max_tasklets);
    const int nch = pick(1, lim.max_channels);
    for (int c = 0; c < nch; ++c) {
        p.preference.push_back(pick(-1, 1));
        p.schedule_all.push_back(chance(15));
    }
    p.created_at_start.push_back(true);
    for (int k = 1; k <= p.ntasklets; ++k) p.created_at_start.push_back(!chance(15));
    int next_val = 1;
    // Weights: channel operations dominate, then scheduling, then the rest.
    struct w { op o; int weight; };
    static const w weights[] = {
        {op::schedule, 10}, {op::schedule_remove, 3}, {op::send, 16}, {op::recv, 16}, {op::send_exc, 4},
        {op::insert, 4}, {op::remove, 3}, {op::run_t, 4}, {op::switch_to, 3}, {op::kill, 5},
        {op::throw_, 4}, {op::close, 3}, {op::open, 3}, {op::trap, 2}, {op::run, 3},
        {op::raise, 2}, {op::snap, 2}, {op::create, 2}, {op::pref, 2}, {op::sched_all, 1},
    };
    int total = 0;
    for (const w& x : weights) total += x.weight;
    auto random_step = [&](bool is_main) {
        step s;
        for (;;) {
            int r = pick(0, total - 1);
            for (const w& x : weights) {
                if (r < x.weight) { s.o = x.o; break; }
                r -= x.weight;
            }
            if (is_main && s.o == op::raise) continue;
            break;
        }
        switch (s.o) {
        case op::send: case op::recv: case op::send_exc: case op::close: case op::open:
            s.a = pick(0, nch - 1);
            break;
        case op::pref: s.a = pick(0, nch - 1); s.b = pick(-1, 1); break;
        case op::sched_all: s.a = pick(0, nch - 1); s.b = chance(50); break;
        case op::insert: case op::remove: case op::run_t: case op::switch_to: case op::create:
            s.a = pick(0, p.ntasklets);
            break;
        case op::kill: case op::throw_: s.a = pick(0, p.ntasklets); s.b = chance(40); break;
        case op::trap: s.a = pick(0, p.ntasklets); s.b = chance(60); break;
        default: break;
        }
        if (s.o == op::create && s.a == 0) s.a = pick(1, p.ntasklets);
        s.val = next_val++;
        if (is_main) s.c = catching::all;
        else {
            int r = pick(0, 99);
            s.c = r < 85 ? catching::std_errors : r < 95 ? catching::nothing : catching::all;
        }
        return s;
    };
    p.scripts.resize(p.ntasklets + 1);
    p.scripts[0].resize(pick(1, lim.max_ops_main));
    for (step& s : p.scripts[0]) s = random_step(true);
    for (int k = 1; k <= p.ntasklets; ++k) {
        p.scripts[k].resize(pick(0, lim.max_ops_tasklet));
        for (step& s : p.scripts[k]) s = random_step(false);
    }
    return p;
}

/// Builds a program from fuzzer bytes: every byte decides something; when the bytes run
/// out, the rest is zero (so any byte string is a valid program).
inline program decode(const std::uint8_t* data, std::size_t size) {
    std::size_t at = 0;
    auto byte = [&]() -> int { return at < size ? data[at++] : 0; };
    program p;
    p.ntasklets = 1 + byte() % 4;
    const int nch = 1 + byte() % 3;
    for (int c = 0; c < nch; ++c) {
        const int b = byte();
        p.preference.push_back(b % 3 - 1);
        p.schedule_all.push_back((b / 3) % 6 == 5);
    }
    p.created_at_start.push_back(true);
    const int created = byte();
    for (int k = 1; k <= p.ntasklets; ++k) p.created_at_start.push_back(((created >> k) & 1) == 0);
    p.scripts.resize(p.ntasklets + 1);
    int val = 1;
    // Then ops: (script, op, args) triples until the bytes run out; at most 64 ops.
    for (int n = 0; at < size && n < 64; ++n) {
        const int who = byte() % (p.ntasklets + 1);
        step s;
        s.o = static_cast<op>(byte() % static_cast<int>(op::count_));
        if (who == 0 && s.o == op::raise) s.o = op::snap;
        const int arg = byte();
        switch (s.o) {
        case op::send: case op::recv: case op::send_exc: case op::close: case op::open:
            s.a = arg % nch;
            break;
        case op::pref: s.a = arg % nch; s.b = (arg / nch) % 3 - 1; break;
        case op::sched_all: s.a = arg % nch; s.b = (arg / nch) & 1; break;
        case op::create: s.a = 1 + arg % p.ntasklets; break;
        default:
            s.a = arg % (p.ntasklets + 1);
            s.b = (arg / (p.ntasklets + 1)) & 1;
            break;
        }
        const int mode = (arg >> 6) & 3;
        s.c = who == 0 ? catching::all : mode == 2 ? catching::nothing : mode == 3 ? catching::all : catching::std_errors;
        s.val = val++;
        p.scripts[who].push_back(s);
    }
    return p;
}

// ---- printing ---------------------------------------------------------------------------

inline std::string describe(const program& p) {
    std::string out = "program: " + std::to_string(p.ntasklets) + " tasklets, " + std::to_string(p.nchannels()) +
                      " channels\n";
    for (int c = 0; c < p.nchannels(); ++c)
        out += "  " + cname(c) + ": preference " + std::to_string(p.preference[c]) +
               (p.schedule_all[c] ? ", schedule_all" : "") + "\n";
    for (std::size_t k = 0; k < p.scripts.size(); ++k) {
        out += "  " + tname(static_cast<int>(k)) + (k > 0 && !p.created_at_start[k] ? " (not created at start)" : "") + ":";
        for (const step& s : p.scripts[k]) {
            out += " [" + op_text(s);
            if (k > 0 && s.c == catching::nothing) out += " !uncaught";
            if (k > 0 && s.c == catching::all) out += " !catch-exit";
            out += "]";
        }
        out += "\n";
    }
    return out;
}

}  // namespace diff
