// tests/model/shrink.hpp — comparing the real library with the model, shrinking a program
// on which they disagree, and printing it as a ready-to-paste Catch2 TEST_CASE.
#pragma once

#include "model.hpp"
#include "program.hpp"
#include "real.hpp"

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace diff {

inline bool targets_tasklet(op o) {
    switch (o) {
    case op::insert: case op::remove: case op::run_t: case op::switch_to: case op::kill:
    case op::throw_: case op::trap: case op::create:
        return true;
    default: return false;
    }
}
inline bool targets_channel(op o) {
    switch (o) {
    case op::send: case op::recv: case op::send_exc: case op::close: case op::open: case op::pref:
    case op::sched_all:
        return true;
    default: return false;
    }
}

struct comparison {
    event_log real, model;
    bool same() const { return real == model; }
    /// Index of the first differing line (or the shorter length).
    std::size_t first_difference() const {
        std::size_t i = 0;
        while (i < real.size() && i < model.size() && real[i] == model[i]) ++i;
        return i;
    }
    std::string report(std::size_t context = 6) const {
        const std::size_t d = first_difference();
        std::string out;
        const std::size_t from = d > context ? d - context : 0;
        for (std::size_t i = from; i < d; ++i) out += "    both:  " + real[i] + "\n";
        out += "    real:  " + (d < real.size() ? real[d] : std::string("<end of log>")) + "\n";
        out += "    model: " + (d < model.size() ? model[d] : std::string("<end of log>")) + "\n";
        return out;
    }
};

inline comparison compare(const program& p) { return {run_real(p), run_model(p)}; }

/// Removes tasklet k (1..N): its script, and every op that names it; later ones renumber.
inline program without_tasklet(const program& p, int k) {
    program q = p;
    q.ntasklets--;
    q.scripts.erase(q.scripts.begin() + k);
    q.created_at_start.erase(q.created_at_start.begin() + k);
    for (auto& sc : q.scripts) {
        std::vector<step> out;
        for (step s : sc) {
            if (targets_tasklet(s.o)) {
                if (s.a == k) continue;
                if (s.a > k) s.a--;
            }
            out.push_back(s);
        }
        sc = out;
    }
    return q;
}

inline program without_channel(const program& p, int c) {
    program q = p;
    q.preference.erase(q.preference.begin() + c);
    q.schedule_all.erase(q.schedule_all.begin() + c);
    for (auto& sc : q.scripts) {
        std::vector<step> out;
        for (step s : sc) {
            if (targets_channel(s.o)) {
                if (s.a == c) continue;
                if (s.a > c) s.a--;
            }
            out.push_back(s);
        }
        sc = out;
    }
    return q;
}

/// Delta-debugging, greedy: keep any simplification that still fails `fails`.
inline program shrink(program p, const std::function<bool(const program&)>& fails) {
    bool changed = true;
    auto attempt = [&](const program& q) {
        if (q == p || !fails(q)) return false;
        p = q;
        changed = true;
        return true;
    };
    while (changed) {
        changed = false;
        for (int k = p.ntasklets; k >= 1 && p.ntasklets > 1; --k) attempt(without_tasklet(p, k));
        for (int c = p.nchannels() - 1; c >= 0 && p.nchannels() > 1; --c) attempt(without_channel(p, c));
        // Drop chunks of ops, then single ops.
        for (std::size_t k = 0; k < p.scripts.size(); ++k) {
            for (std::size_t chunk = p.scripts[k].size() / 2; chunk >= 1; chunk /= 2) {
                for (std::size_t i = 0; i + chunk <= p.scripts[k].size();) {
                    program q = p;
                    q.scripts[k].erase(q.scripts[k].begin() + static_cast<long>(i), q.scripts[k].begin() + static_cast<long>(i + chunk));
                    if (!attempt(q)) i += chunk;
                }
            }
        }
        // Simplify what is left.
        for (int c = 0; c < p.nchannels(); ++c) {
            if (p.preference[c] != -1) { program q = p; q.preference[c] = -1; attempt(q); }
            if (p.schedule_all[c]) { program q = p; q.schedule_all[c] = false; attempt(q); }
        }
        for (int k = 1; k <= p.ntasklets; ++k)
            if (!p.created_at_start[k]) { program q = p; q.created_at_start[k] = true; attempt(q); }
        for (std::size_t k = 0; k < p.scripts.size(); ++k) {
            for (std::size_t i = 0; i < p.scripts[k].size(); ++i) {
                const step s = p.scripts[k][i];
                if (k > 0 && s.c != catching::std_errors) { program q = p; q.scripts[k][i].c = catching::std_errors; attempt(q); }
                if ((s.o == op::kill || s.o == op::throw_) && s.b) { program q = p; q.scripts[k][i].b = 0; attempt(q); }
                if (s.o == op::throw_) { program q = p; q.scripts[k][i].o = op::kill; attempt(q); }
                if (s.o == op::send_exc) { program q = p; q.scripts[k][i].o = op::send; attempt(q); }
                if (s.o == op::switch_to) { program q = p; q.scripts[k][i].o = op::run_t; attempt(q); }
            }
        }
    }
    // Renumber values 1, 2, 3... in script order for readability.
    int v = 1;
    program q = p;
    for (auto& sc : q.scripts)
        for (step& s : sc) s.val = v++;
    if (fails(q)) p = q;
    return p;
}

// ---- printing a repro -------------------------------------------------------------------

inline std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"' || ch == '\\') out += '\\';
        out += ch;
    }
    return out + "\"";
}

/// The C++ for one op, as real_run::perform() does it (keep the two in step).
inline std::string op_code(int self, const step& s) {
    const std::string t = "t[" + std::to_string(s.a) + "]", c = "c[" + std::to_string(s.a) + "]";
    const std::string v = std::to_string(s.val), b = s.b ? "true" : "false";
    switch (s.o) {
    case op::schedule: return "tasklets::schedule(); return \"ok\";";
    case op::schedule_remove: return "tasklets::schedule_remove(); return \"ok\";";
    case op::send: return c + ".send(" + v + "); return \"ok\";";
    case op::recv: return "return std::to_string(" + c + ".receive());";
    case op::send_exc: return c + ".send_exception(diff::test_error(\"x" + v + "\")); return \"ok\";";
    case op::insert: return t + ".insert(); return \"ok\";";
    case op::remove: return t + ".remove(); return \"ok\";";
    case op::run_t: return t + ".run(); return \"ok\";";
    case op::switch_to: return t + ".switch_to(); return \"ok\";";
    case op::kill: return t + ".kill(" + b + "); return \"ok\";";
    case op::throw_: return t + ".throw_exception(diff::other_error(\"x" + v + "\"), " + b + "); return \"ok\";";
    case op::close: return c + ".close(); return \"ok\";";
    case op::open: return c + ".open(); return \"ok\";";
    case op::trap: return "if (!" + t + ") return \"no tasklet\"; " + t + ".set_block_trap(" + b + "); return \"ok\";";
    case op::run: return "tasklets::run(); return \"ok\";";
    case op::raise: return "throw diff::test_error(\"raise " + tname(self) + "\");";
    case op::snap: return "return diff::snapshot(t, c);";
    case op::create: return "if (" + t + ") return \"exists\"; " + t + " = tasklets::tasklet(body[" + std::to_string(s.a) + "]); return \"ok\";";
    case op::pref: return c + ".set_preference(" + std::to_string(s.b) + "); return \"ok\";";
    case op::sched_all: return c + ".set_schedule_all(" + b + "); return \"ok\";";
    case op::count_: break;
    }
    return "return \"?\";";
}

inline std::string step_code(int self, const step& s, const std::string& indent) {
    const catching c = s.o == op::raise ? catching::nothing : s.c;
    const char* cs = c == catching::all ? "diff::catching::all" : c == catching::nothing ? "diff::catching::nothing" : "diff::catching::std_errors";
    return indent + "diff::logged_op(log, \"" + tname(self) + "\", " + quote(op_text(s)) + ", " + cs + ", [&]() -> std::string { " +
           op_code(self, s) + " });\n";
}

/// A Catch2 TEST_CASE that runs `p` with the public API (through diff::logged_op and
/// diff::snapshot from tests/model/real.hpp) and requires the log `expected`.
inline std::string repro_code(const program& p, const event_log& expected, const std::string& title, bool mayfail) {
    std::string o;
    o += "// Differential test repro: " + title + "\n";
    o += "// (needs #include \"model/real.hpp\", <functional>, <string>, <vector>)\n";
    o += "TEST_CASE(" + quote("differential: " + title) + ", \"[differential]" + (mayfail ? "[!mayfail]" : "") + "\") {\n";
    o += "    diff::event_log log;\n";
    o += "    std::vector<tasklets::tasklet> t(" + std::to_string(p.ntasklets + 1) + ");\n";
    o += "    t[0] = tasklets::main_tasklet();\n";
    o += "    t[0].set_block_trap(false);\n";
    o += "    std::vector<tasklets::channel<int>> c(" + std::to_string(p.nchannels()) + ");\n";
    for (int i = 0; i < p.nchannels(); ++i) {
        if (p.preference[i] != -1) o += "    c[" + std::to_string(i) + "].set_preference(" + std::to_string(p.preference[i]) + ");\n";
        if (p.schedule_all[i]) o += "    c[" + std::to_string(i) + "].set_schedule_all(true);\n";
    }
    o += "    std::vector<std::function<void()>> body(" + std::to_string(p.ntasklets + 1) + ");\n";
    for (int k = 1; k <= p.ntasklets; ++k) {
        o += "    body[" + std::to_string(k) + "] = [&] {\n";
        o += "        log.push_back(\"" + tname(k) + ": start\");\n";
        for (const step& s : p.scripts[k]) o += step_code(k, s, "        ");
        o += "        log.push_back(\"" + tname(k) + ": end\");\n";
        o += "    };\n";
    }
    for (int k = 1; k <= p.ntasklets; ++k)
        if (p.created_at_start[k]) o += "    t[" + std::to_string(k) + "] = tasklets::tasklet(body[" + std::to_string(k) + "]);\n";
    const std::vector<step> ms = main_script(p);
    const std::size_t own = 2 * p.scripts[0].size();  // each of main's ops and its snapshot
    for (std::size_t i = 0; i < ms.size(); ++i) {
        if (i == own) o += "    // cleanup: block_trap off, run() until the ring is empty, kill the rest\n";
        o += step_code(0, ms[i], "    ");
    }
    o += "    REQUIRE(log == diff::event_log{\n";
    for (const std::string& line : expected) o += "        " + quote(line) + ",\n";
    o += "    });\n";
    o += "}\n";
    return o;
}

}  // namespace diff
