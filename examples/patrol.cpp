// patrol — a simulation on the virtual clock: robots patrol their waypoints, sleeping 5
// game-seconds between moves, and a watchman checks in on a channel with a timeout. An hour
// of game time runs in milliseconds and prints the same log on every run.
//
//     patrol [robots [game-minutes]]      default: 3 robots, 1 minute; --help
#include "cli.hpp"

#include <tasklets/tasklets.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace std::chrono_literals;

namespace {

double game_seconds() {
    return std::chrono::duration<double>(tasklets::clock::now().time_since_epoch()).count();
}

constexpr const char* usage = "Usage: patrol [robots [game-minutes]]";
constexpr const char* help =
    "A simulation on the virtual clock: robots patrol their waypoints, sleeping 5 game-seconds\n"
    "between moves, and a watchman waits for their reports on a channel with a timeout. When\n"
    "every tasklet sleeps the clock jumps to the next timer: game hours run in milliseconds,\n"
    "and the log is the same on every run.\n"
    "\n"
    "Arguments:\n"
    "  robots        robots on patrol, 1 to 1000 (default 3)\n"
    "  game-minutes  game time to simulate, 1 to 1440 (default 1)\n"
    "  -h, --help    show this help\n";

}  // namespace

int main(int argc, char** argv) {
    const cli::command_line args = cli::parse(argc, argv, usage, help, 2);
    const int robots = args.integer(0, "robots", 3, 1, 1000);
    const auto game_time = std::chrono::minutes(args.integer(1, "game-minutes", 1, 1, 1440));
    const auto real_start = std::chrono::steady_clock::now();

    tasklets::use_virtual_clock();  // auto-advance: when all sleep, jump to the next timer
    tasklets::channel<std::string> reports;
    for (int r = 0; r < robots; ++r) {
        tasklets::spawn([=]() mutable {
            const int waypoints = 4 + r;
            for (int at = 0; tasklets::clock::now() < tasklets::clock::time_point(game_time); at = (at + 1) % waypoints) {
                std::printf("%8.1f s  robot %d at waypoint %d\n", game_seconds(), r, at);
                if (at == 0) reports.send("robot " + std::to_string(r) + " completed a round");
                tasklets::sleep_for(5s + std::chrono::milliseconds(500 * r));  // 5 game-seconds and a bit
            }
        });
    }
    tasklets::spawn([=]() mutable {
        while (tasklets::clock::now() < tasklets::clock::time_point(game_time)) {
            try {
                std::printf("%8.1f s  watchman: %s\n", game_seconds(), reports.receive_for(12s).c_str());
            } catch (const tasklets::timeout_error&) {
                std::printf("%8.1f s  watchman: 12 s without a report\n", game_seconds());
            }
        }
    });
    tasklets::run();
    // Robots still blocked on send() when the watchman left are killed at exit.
    const double real = std::chrono::duration<double>(std::chrono::steady_clock::now() - real_start).count();
    std::printf("%.0f game-seconds simulated in %.3f real seconds\n", game_seconds(), real);
}
