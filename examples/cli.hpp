// The examples' command lines: --help, --stats, positional arguments, numbers in a range.
// Every example parses its arguments with this, so all of them answer --help (usage on
// stdout, exit 0), print the scheduler's statistics with --stats, and reject a bad
// argument the same way (a message naming it and saying what is expected, on stderr, exit 2).
//
//     const cli::command_line args = cli::parse(argc, argv, usage, help, 2);
//     const long stages = args.integer(0, "stages", 100000L, 1L, 10000000L);
#pragma once

#include <tasklets/statistics.hpp>
#include <tasklets/tasklets.hpp>

#include <chrono>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace cli {

// Printed after each example's own help.
inline constexpr const char* common_options =
    "  --stats    count switches and channel hand-offs, and print the scheduler's statistics\n"
    "             (tasklets/statistics.hpp) on stderr when the program ends (servers: every 5 s)\n"
    "  --shared-stacks\n"
    "             run this thread's tasklets on shared stacks (stack_mode::shared): a parked\n"
    "             tasklet keeps only its live frames, copied out (docs/shared-stacks.md)\n"
    "Environment: TASKLETS_TRACE=FILE.json records a trace of the run (tasklets/trace.hpp);\n"
    "open it in ui.perfetto.dev, or draw it with tools/trace_timeline.py.\n";

inline void print_statistics(const char* when) {
    std::fprintf(stderr, "--- statistics (%s)\n%s", when, tasklets::format_statistics(tasklets::statistics()).c_str());
}

struct command_line {
    std::string program;                   // argv[0] without its directory, for messages
    const char* usage = "";                // "Usage: name [arguments]", one line
    std::vector<std::string_view> values;  // the positional arguments, in order
    bool stats = false;                    // --stats: counting is on; printed when this object ends
    bool shared_stacks = false;            // --shared-stacks: the main thread's tasklets use shared stacks

    command_line() = default;
    command_line(command_line&& other) noexcept
        : program(std::move(other.program)), usage(other.usage), values(std::move(other.values)),
          stats(std::exchange(other.stats, false)) {}
    command_line& operator=(command_line&&) = delete;
    // The end of main (the object is main's first local, so the last to go): the figures
    // then describe the whole run.
    ~command_line() {
        if (stats) print_statistics("at exit");
    }

    // A server never ends: with --stats, a tasklet prints the figures every `period`.
    void report_statistics_every(std::chrono::seconds period) const {
        if (!stats) return;
        tasklets::spawn(tasklets::tasklet_options{.stack_size = 0, .name = "statistics"}, [period] {
            for (;;) {
                tasklets::sleep_for(period);
                print_statistics("periodic");
            }
        });
    }

    // Prints "<program>: <message>", the usage line and a pointer to --help on stderr, exits 2.
    [[noreturn]] void fail(const std::string& message) const {
        std::fprintf(stderr, "%s: %s\n%s\nTry '%s --help' for more information.\n", program.c_str(), message.c_str(),
                     usage, program.c_str());
        std::exit(2);
    }

    // Positional argument `index` as text, or `fallback` when it was not given.
    std::string_view text(std::size_t index, std::string_view fallback) const {
        return index < values.size() ? values[index] : fallback;
    }

    // Positional argument `index` (called `name` in messages) as a whole number from `lo` to
    // `hi`, or `fallback` when it was not given. Anything else fails: "abc", "12x", "1.5",
    // an empty string, a number out of the range.
    template <class Int>
    Int integer(std::size_t index, const char* name, Int fallback, Int lo, Int hi) const {
        if (index >= values.size()) return fallback;
        const std::string_view s = values[index];
        const std::string expected = "expected a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
        long long v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec == std::errc::result_out_of_range || (ec == std::errc{} && end == s.data() + s.size() && (v < lo || v > hi)))
            fail(std::string(name) + ": \"" + std::string(s) + "\" is out of range; " + expected);
        if (ec != std::errc{} || end != s.data() + s.size() || s.empty())
            fail(std::string(name) + ": \"" + std::string(s) + "\" is not a number; " + expected);
        return static_cast<Int>(v);
    }
};

// Reads argv: with -h or --help anywhere, prints `usage` and `help` on stdout and exits 0.
// Any other argument that starts with '-' (and is not a negative number, which the range
// check then rejects with a clearer message) is an unknown option; after "--" everything is
// positional. More than `max_values` positional arguments fail too.
inline command_line parse(int argc, char** argv, const char* usage, const char* help, std::size_t max_values) {
    command_line cl;
    cl.program = argc > 0 ? argv[0] : "example";
    if (const auto slash = cl.program.rfind('/'); slash != std::string::npos) cl.program.erase(0, slash + 1);
    cl.usage = usage;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--") break;
        if (a == "-h" || a == "--help") {
            std::printf("%s\n\n%s%s", usage, help, common_options);
            std::exit(0);
        }
    }
    bool options_done = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (!options_done && a == "--") {
            options_done = true;
            continue;
        }
        if (!options_done && a == "--stats") {
            cl.stats = true;
            continue;
        }
        if (!options_done && a == "--shared-stacks") {
            cl.shared_stacks = true;
            continue;
        }
        const bool negative_number = a.size() > 1 && a[0] == '-' && a[1] >= '0' && a[1] <= '9';
        if (!options_done && a.size() > 1 && a[0] == '-' && !negative_number)
            cl.fail("unknown option \"" + std::string(a) + "\"");
        if (cl.values.size() == max_values)
            cl.fail("unexpected extra argument \"" + std::string(a) + "\" (at most " + std::to_string(max_values) +
                    (max_values == 1 ? " argument)" : " arguments)"));
        cl.values.push_back(a);
    }
    if (cl.stats) tasklets::count_statistics(true);
    if (cl.shared_stacks) tasklets::set_default_stack_mode(tasklets::stack_mode::shared);
    return cl;
}

}  // namespace cli
