// harbour — a durable simulation (tasklets/durable.hpp): ships sail for random times on the
// world's virtual clock, ask the harbour master for one of three berths, wait in line when
// all are taken, load cargo and sail again. Stop it at any time, save the world to a file,
// and go on in another process — on another machine or architecture — with exactly the
// events one uninterrupted run prints.
//
//     harbour run T2                    the events from 0 to T2 (virtual seconds)
//     harbour save T FILE               the events from 0 to T, then the world saved to FILE
//     harbour restore FILE T2           the world from FILE, and its events up to T2
//     harbour check FILE                replay FILE against this build without going on, and
//                                       say what each tasklet in it waits for
//
// `harbour save 300 w.img; harbour restore w.img 900` prints what `harbour run 900` prints.
#include "cli.hpp"

#include <tasklets/durable.hpp>
#include <tasklets/image.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

namespace durable = tasklets::durable;
using namespace std::chrono_literals;

namespace {

constexpr int ships = 8;
constexpr int berths = 3;
constexpr std::uint64_t seed = 2026;
const std::array<const char*, ships> names = {"Aurora", "Boreas", "Calypso", "Dolphin",
                                               "Eider",  "Fulmar", "Gannet",  "Halcyon"};

// What the harbour master hears: a ship arriving, or leaving a berth.
struct message {
    std::uint32_t ship = 0;
    std::int32_t leaves_berth = -1;  // -1: arriving
    template <class F>
    void fields(F& f) { f(ship, leaves_berth); }
};

struct master_state {
    durable::channel<message> harbour;
    std::vector<durable::channel<std::int32_t>> answers;  // per ship: the berth it gets
    std::array<bool, berths> taken{};
    std::deque<std::uint32_t> waiting;  // ships in line, first to last
    template <class F>
    void fields(F& f) { f(harbour, answers, taken, waiting); }
};

struct ship_state {
    std::uint32_t id = 0;
    std::uint32_t voyages = 0;
    std::uint64_t cargo = 0;  // tonnes carried so far
    durable::channel<message> harbour;
    durable::channel<std::int32_t> answer;
    template <class F>
    void fields(F& f) { f(id, voyages, cargo, harbour, answer); }
};

// "312.045 s" for a virtual time, printed from integers so every platform prints the same;
// padded to 12 characters at the start of an event line.
std::string stamp(durable::duration t, bool padded = false) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t).count();
    char buf[32];
    std::snprintf(buf, sizeof buf, padded ? "%8lld.%03lld s" : "%lld.%03lld s", static_cast<long long>(ms / 1000),
                  static_cast<long long>(ms % 1000));
    return buf;
}

durable::registry entries() {
    durable::registry r;
    r.define<master_state>("master", [](durable::context& cx, master_state m) {
        for (;;) {
            cx.checkpoint(m);
            message msg = cx.receive(m.harbour);
            if (msg.leaves_berth >= 0) {
                m.taken[static_cast<std::size_t>(msg.leaves_berth)] = false;
                if (m.waiting.empty()) continue;
                msg.ship = m.waiting.front();  // the first in line gets the freed berth
                m.waiting.pop_front();
            }
            std::int32_t berth = -1;
            for (std::int32_t b = 0; b < berths && berth < 0; ++b)
                if (!m.taken[static_cast<std::size_t>(b)]) berth = b;
            if (berth < 0) {
                m.waiting.push_back(msg.ship);
                cx.emit(stamp(cx.now(), true) + "  master: " + names[msg.ship] + " waits, " +
                        std::to_string(m.waiting.size()) + " in line");
                continue;
            }
            m.taken[static_cast<std::size_t>(berth)] = true;
            cx.send(m.answers[msg.ship], berth);
        }
    });
    r.define<ship_state>("ship", [](durable::context& cx, ship_state s) {
        const std::string name = names[s.id];
        for (;;) {
            cx.checkpoint(s);
            cx.sleep_for(std::chrono::milliseconds(10'000 + cx.random().below(60'000)));  // at sea
            const durable::duration arrived = cx.now();
            cx.emit(stamp(arrived, true) + "  " + name + " arrives from voyage " + std::to_string(s.voyages + 1));
            cx.send(s.harbour, message{s.id, -1});
            const std::int32_t berth = cx.receive(s.answer);
            const durable::duration docked = cx.now();
            cx.emit(stamp(docked, true) + "  " + name + " docks at berth " + std::to_string(berth + 1) + " after " +
                    std::to_string(std::chrono::duration_cast<std::chrono::seconds>(docked - arrived).count()) +
                    " s in line");
            const std::uint64_t tonnes = 100 + cx.random().below(900);
            cx.sleep_for(std::chrono::seconds(10 + tonnes / 25));  // loading
            s.cargo += tonnes;
            ++s.voyages;
            cx.emit(stamp(cx.now(), true) + "  " + name + " sails with " + std::to_string(tonnes) + " t, " +
                    std::to_string(s.cargo) + " t in " + std::to_string(s.voyages) + " voyages");
            cx.send(s.harbour, message{s.id, berth});
        }
    });
    return r;
}

void print(const durable::event& e) { std::printf("%.*s\n", static_cast<int>(e.text.size()), e.text.data()); }

std::unique_ptr<durable::world> new_world(const durable::registry& r) {
    auto w = std::make_unique<durable::world>(r, seed);
    master_state m;
    m.harbour = w->make_channel<message>("harbour");
    for (int i = 0; i < ships; ++i)
        m.answers.push_back(w->make_channel<std::int32_t>(std::string("answer to ") + names[static_cast<std::size_t>(i)]));
    w->spawn("master", m);
    for (std::uint32_t i = 0; i < ships; ++i) w->spawn("ship", ship_state{i, 0, 0, m.harbour, m.answers[i]});
    return w;
}

constexpr const char* usage = "Usage: harbour run T2 | save T FILE | restore FILE T2 | check FILE";
constexpr const char* help =
    "A durable simulation: 8 ships sail for random times on a virtual clock and share 3 berths.\n"
    "The world saves to a file and restores in another process, on any architecture, going on\n"
    "with exactly the events one uninterrupted run prints (docs/durable.md).\n"
    "\n"
    "Commands (times in virtual seconds, 1 to 100000000):\n"
    "  run T2             print the events from 0 to T2\n"
    "  save T FILE        print the events from 0 to T, then save the world to FILE\n"
    "  restore FILE T2    restore the world saved in FILE and print its events up to T2\n"
    "  check FILE         replay FILE against this build's code without going on, and say what\n"
    "                     each tasklet in it waits for\n"
    "  -h, --help         show this help\n";

}  // namespace

int main(int argc, char** argv) {
    const cli::command_line args = cli::parse(argc, argv, usage, help, 3);
    const std::string_view command = args.text(0, "");
    const durable::registry r = entries();
    auto seconds = [&](std::size_t i, const char* what) {
        return std::chrono::seconds(args.integer(i, what, -1L, 1L, 100'000'000L));
    };
    // Each command's arguments, for the messages about missing ones.
    const std::string_view forms[][2] = {{"run", "T2"}, {"save", "T FILE"}, {"restore", "FILE T2"}, {"check", "FILE"}};
    std::size_t need = 0;
    std::string_view form;
    for (const auto& f : forms)
        if (f[0] == command) need = 1 + (f[1].find(' ') == std::string_view::npos ? 1 : 2), form = f[1];
    if (need == 0)
        args.fail(command.empty() ? "expected a command: run, save, restore or check"
                                  : "unknown command \"" + std::string(command) + "\": expected run, save, restore or check");
    if (args.values.size() < need)
        args.fail("after \"" + std::string(args.values.back()) + "\", expected " + std::string(form) + " (" +
                  std::string(command) + " " + std::string(form) + ")");
    if (args.values.size() > need) args.fail("unexpected extra argument \"" + std::string(args.values[need]) + "\"");
    try {
        if (command == "run") {
            auto w = new_world(r);
            w->on_emit(print);
            w->run_until(seconds(1, "T2"));
        } else if (command == "save") {
            const auto until = seconds(1, "T");
            auto w = new_world(r);
            w->on_emit(print);
            w->run_until(until);
            const std::vector<std::byte> image = w->save();
            tasklets::write_image_file(std::string(args.values[2]), image);
            std::fprintf(stderr, "harbour: saved %zu tasklets at %s to %s (%zu bytes)\n", w->size(),
                         stamp(w->now()).c_str(), std::string(args.values[2]).c_str(), image.size());
        } else if (command == "restore") {
            const auto until = seconds(2, "T2");
            auto w = durable::world::restore(r, tasklets::read_image_file(std::string(args.values[1])));
            if (until < w->now())
                args.fail("T2 \"" + std::string(args.values[2]) + "\" is before the saved world's time, " + stamp(w->now()));
            std::fprintf(stderr, "harbour: restored %zu tasklets at %s\n", w->size(), stamp(w->now()).c_str());
            w->on_emit(print);
            w->run_until(until);
        } else {
            const std::vector<std::byte> image = tasklets::read_image_file(std::string(args.values[1]));
            const auto report = durable::world::check(r, image);
            std::printf("harbour: the image replays: %zu tasklets, %zu channels, %zu steps replayed, saved at %s\n",
                        report.tasklets, report.channels, report.steps_replayed, stamp(report.time).c_str());
            std::printf("%s", durable::world::restore(r, image)->describe().c_str());  // what each one waits for
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "harbour: %s\n", e.what());
        return 1;
    }
    return 0;
}
