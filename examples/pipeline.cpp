// A pipeline of 100,000 tasklets ("Chinese whispers"): stage i receives a number from
// the channel on its left, adds one, and passes it to the channel on its right. Main
// feeds numbers in at one end and reads them out at the other, so every message crosses
// every stage: one hand-off between two tasklets per stage.
//
//   pipeline [stages] [messages]      (defaults: 100000 stages, 10 messages; --help)
//   pipeline --shared-stacks 10000000 1    ten million stages on shared stacks
#include "cli.hpp"

#include <tasklets/tasklets.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point start) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
}

// Resident memory of this process, from /proc/self/status (kB).
long resident_kib() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    return -1;
}

// One stage: forever take a number from the left, add one, hand it to the right. When
// the left channel is closed and drained, close the right one and finish.
void stage(tasklets::channel<long> left, tasklets::channel<long> right) {
    for (long n : left) right.send(n + 1);
    right.close();
}

constexpr const char* usage = "Usage: pipeline [stages [messages]]";
constexpr const char* help =
    "A chain of tasklets linked by channels (\"Chinese whispers\"): each stage receives a number\n"
    "from its left, adds one and passes it right, so every message crosses every stage. Shows\n"
    "how cheap parked tasklets are (memory each) and a hand-off between two (time each).\n"
    "\n"
    "Arguments:\n"
    "  stages     tasklets in the chain, 1 to 10000000 (default 100000)\n"
    "  messages   numbers sent through the whole chain, 1 to 1000000 (default 10)\n"
    "  -h, --help show this help\n";

}  // namespace

int main(int argc, char** argv) {
    const cli::command_line args = cli::parse(argc, argv, usage, help, 2);
    const long stages = args.integer(0, "stages", 100000L, 1L, 10000000L);
    const long messages = args.integer(1, "messages", 10L, 1L, 1000000L);
    const long rss_before = resident_kib();

    // 1. Build the chain: stages + 1 channels, one tasklet between each pair.
    auto start = clock_type::now();
    tasklets::channel<long> first;
    tasklets::channel<long> left = first;
    for (long i = 0; i < stages; ++i) {
        tasklets::channel<long> right;
        tasklets::spawn(stage, left, right);
        left = right;
    }
    tasklets::channel<long> last = left;
    std::printf("Created %ld tasklets linked by %ld channels in %.1f ms.\n", stages, stages + 1, ms_since(start));

    // 2. Let every stage start and block on its left channel.
    start = clock_type::now();
    tasklets::run();
    const double park_ms = ms_since(start);
    const long rss_parked = resident_kib();
    std::printf("Started them; each is now blocked waiting for a message (%.1f ms).\n", park_ms);
    const double mib = (rss_parked - rss_before) / 1024.0, each = (rss_parked - rss_before) * 1024.0 / stages;
    if (args.shared_stacks)
        std::printf("  memory: %.1f MiB resident for %ld parked tasklets = %.0f bytes each (shared stacks: each keeps "
                    "only its live frames, copied out)\n", mib, stages, each);
    else
        std::printf("  memory: %.1f MiB resident for %ld parked tasklets = %.0f bytes each (stacks are %zu KiB, touched "
                    "lazily)\n", mib, stages, each, tasklets::default_stack_size() / 1024);

    // 3. Send messages through the whole chain.
    start = clock_type::now();
    bool all_right = true;
    for (long m = 0; m < messages; ++m) {
        const long sent = m * 1000;
        first.send(sent);            // ripples through every stage...
        const long got = last.receive();  // ...and comes out the far end
        if (m < 3 || m == messages - 1)
            std::printf("  message %ld: sent %ld, received %ld after %ld stages each added 1\n", m + 1, sent, got, stages);
        else if (m == 3)
            std::printf("  ...\n");
        all_right &= got == sent + stages;
    }
    const double send_ms = ms_since(start);
    const double hops = static_cast<double>(messages) * (stages + 1);
    std::printf("Passed %ld messages through the chain: %.0f hand-offs between tasklets in %.1f ms (%.1f ns each).\n",
                messages, hops, send_ms, send_ms * 1e6 / hops);

    // 4. Close the front; each stage sees its channel end, closes the next and finishes.
    start = clock_type::now();
    first.close();
    tasklets::run();
    std::printf("Closed the chain: every stage finished in turn (%.1f ms); %d tasklet left running (main).\n",
                ms_since(start), tasklets::runcount());
    std::printf(all_right ? "All results correct.\n" : "WRONG RESULTS\n");
    return all_right ? 0 : 1;
}
