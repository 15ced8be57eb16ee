// A game loop on tasklets: thousands of agents, each a plain sequential function, driven
// by a frame loop that runs the scheduler on a per-frame time budget and then "renders"
// a summary line. One agent is a long computation (path planning) that would stall any
// frame it ran in; the budget interrupts it, the frame goes out on time, and the loop
// puts the agent back to carry on next frame, exactly where it stopped.
//
//   game_loop [frames] [agents] [budget-ms]     (defaults: 12 frames, 3000 agents, 4 ms; --help)
#include "cli.hpp"

#include <tasklets/tasklets.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct position {
    int x = 0, y = 0;
};

// The world the agents share. Only tasklets of this thread touch it: no locks needed.
struct world {
    std::vector<tasklets::tasklet> waiting_for_next_frame;
    position player{50, 50};
    long steps_this_frame = 0;
    long orders_obeyed = 0;
    long catches = 0;
    double plan_progress = 0;  // 0..1, the planner's
};

world game;

// Ends this agent's turn: it sleeps until the frame loop wakes it for the next frame.
void next_frame() {
    game.waiting_for_next_frame.push_back(tasklets::current());
    tasklets::schedule_remove();
}

// Patrol between two waypoints, one step per frame.
void patrol(position a, position b) {
    position at = a;
    for (bool outbound = true;; outbound = !outbound) {
        const position to = outbound ? b : a;
        while (at.x != to.x || at.y != to.y) {
            at.x += (to.x > at.x) - (to.x < at.x);
            at.y += (to.y > at.y) - (to.y < at.y);
            ++game.steps_this_frame;
            next_frame();
        }
    }
}

// Chase the player; start over from the edge after catching them.
void chase(position start) {
    for (position at = start;;) {
        at.x += (game.player.x > at.x) - (game.player.x < at.x);
        at.y += (game.player.y > at.y) - (game.player.y < at.y);
        ++game.steps_this_frame;
        if (at.x == game.player.x && at.y == game.player.y) {
            ++game.catches;
            at = start;
        }
        next_frame();
    }
}

// Stand guard until an order arrives on the channel, then carry it out over a few frames.
void guard(tasklets::channel<int> orders) {
    for (int steps : orders) {  // blocks (costing nothing) until the commander sends
        for (int i = 0; i < steps; ++i) {
            ++game.steps_this_frame;
            next_frame();
        }
        ++game.orders_obeyed;
    }
}

// A long computation: ~120 ms of arithmetic, with a safe point in its inner loop so the
// frame budget can interrupt it.
void plan_path() {
    constexpr long total = 60'000'000;
    volatile double sink = 0;
    for (long i = 0; i < total; ++i) {
        sink = sink + std::sqrt(static_cast<double>(i));
        if ((i & 1023) == 0) {
            game.plan_progress = static_cast<double>(i) / total;
            tasklets::check();
        }
    }
    game.plan_progress = 1;
}

constexpr const char* usage = "Usage: game_loop [frames [agents [budget-ms]]]";
constexpr const char* help =
    "A frame loop that runs thousands of agents (each a plain sequential function) on a time\n"
    "budget per frame. A long path-planning computation is interrupted at the budget, the frame\n"
    "goes out on time, and the planner carries on next frame exactly where it stopped.\n"
    "\n"
    "Arguments:\n"
    "  frames     frames to run, 1 to 100000 (default 12)\n"
    "  agents     patrollers, chasers and guards, 3 to 1000000 (default 3000)\n"
    "  budget-ms  scheduler time per frame in milliseconds, 1 to 10000 (default 4)\n"
    "  -h, --help show this help\n";

}  // namespace

int main(int argc, char** argv) {
    const cli::command_line args = cli::parse(argc, argv, usage, help, 3);
    const int frames = args.integer(0, "frames", 12, 1, 100000);
    const int agents = args.integer(1, "agents", 3000, 3, 1000000);
    const auto budget = std::chrono::milliseconds(args.integer(2, "budget-ms", 4, 1, 10000));

    tasklets::channel<int> orders;
    orders.set_preference(0);  // an order makes its guard runnable; the commander carries on
    std::vector<tasklets::tasklet> everyone;
    int guards = 0;
    for (int i = 0; i < agents; ++i) {
        // Named, so that a debugger (info tasklets) and a trace (TASKLETS_TRACE) say who is who.
        const std::string n = std::to_string(i);
        switch (i % 3) {
        case 0: everyone.push_back(tasklets::spawn({.name = "patroller " + n}, patrol, position{i % 100, 0}, position{i % 100, 20})); break;
        case 1: everyone.push_back(tasklets::spawn({.name = "chaser " + n}, chase, position{i % 100, 50 + i % 7})); break;
        default: everyone.push_back(tasklets::spawn({.name = "guard " + n}, guard, orders)); ++guards; break;
        }
    }
    tasklets::tasklet planner(tasklets::tasklet_options{0, "planner"}, plan_path);
    std::printf("%d agents (patrollers, chasers, %d guards waiting for orders) and one path planner; "
                "%lld ms of scheduler time per frame\n\n", agents, guards, static_cast<long long>(budget.count()));

    int planner_interruptions = 0;
    for (int frame = 1; frame <= frames; ++frame) {
        // Wake everyone who finished last frame's turn.
        for (tasklets::tasklet& t : game.waiting_for_next_frame) t.insert();
        game.waiting_for_next_frame.clear();
        game.steps_this_frame = 0;
        // Every fourth frame the commander orders up to half the idle guards to move.
        if (frame % 4 == 0)
            for (int g = 0; g < guards / 2 && orders.balance() < 0; ++g) orders.send(3);

        const auto start = clock_type::now();
        tasklets::tasklet interrupted = tasklets::run({.time = budget, .total = true});  // the whole frame
        const double ms = std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
        if (interrupted) {
            if (interrupted == planner) ++planner_interruptions;
            interrupted.insert();  // it carries on next frame, where it stopped
        }
        game.player.x = (game.player.x + 1) % 100;  // the player wanders

        // "Render".
        std::printf("frame %2d  %5.1f ms  %5ld steps  %4ld orders done  %3ld catches  planner %3.0f%%%s  (%d runnable left)\n",
                    frame, ms, game.steps_this_frame, game.orders_obeyed, game.catches, game.plan_progress * 100,
                    interrupted ? (interrupted == planner ? "  [planner paused at budget]" : "  [an agent paused at budget]") : "",
                    tasklets::runcount() - 1);
    }
    std::printf("\nThe planner was interrupted %d times and never held up a frame for long; "
                "a frame overruns its budget by at most the time to the next safe point.\n", planner_interruptions);

    // Game over: every agent is killed (their stacks unwind), wherever it is waiting. The
    // kills are pending and one run() delivers them: a kill that runs its victim at once
    // would, when the victim ends, hand the processor to the next tasklet in the ring (the
    // planner, say, which would then compute its whole path with no budget to stop it).
    game.waiting_for_next_frame.clear();
    for (tasklets::tasklet& t : everyone) t.kill(true);
    planner.kill(true);
    tasklets::run();
    return tasklets::runcount() == 1 ? 0 : 1;
}
