// tasklets_bench_durable, the world rows (docs/durable.md, "What a world costs"):
//   durable/world_save_100k_agents     save() of a world of 100,000 durable agents, each
//                                      checkpointed and waiting (most asleep, some in
//                                      receive), to one image
//   durable/world_restore_100k_agents  restore() of that image: decode and check it, create
//                                      100,000 tasklets, replay each to its wait, rebuild
//                                      queues and timers; then destroy the world
//   durable/receive_journaled          one send and receive between two durable tasklets,
//                                      the receive journaled (value bytes and time), the
//                                      send's CRC compared in replay
//   durable/receive_plain              the same hand-off on a plain tasklets::channel<int>,
//                                      for the ratio
#include <tasklets/channel.hpp>
#include <tasklets/durable.hpp>
#include <tasklets/tasklet.hpp>

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

namespace {

namespace durable = tasklets::durable;

struct agent_state {
    std::uint32_t id = 0;
    std::string name;
    double x = 0, y = 0;
    std::vector<std::int32_t> inventory;
    durable::channel<std::int32_t> inbox;
    template <class F>
    void fields(F& f) { f(id, name, x, y, inventory, inbox); }
};

constexpr std::uint32_t agents = 100'000;

const durable::registry& agent_entries() {
    static const durable::registry r = [] {
        durable::registry e;
        // Every tenth agent waits for mail; the others wander, sleeping between steps.
        e.define<agent_state>("agent", [](durable::context& cx, agent_state s) {
            for (;;) {
                cx.checkpoint(s);
                if (s.id % 10 == 0) {
                    s.inventory.push_back(cx.receive(s.inbox));
                    continue;
                }
                cx.sleep_for(std::chrono::milliseconds(1 + cx.random().below(1000)));
                s.x += cx.random().unit() - 0.5;
                s.y += cx.random().unit() - 0.5;
            }
        });
        return e;
    }();
    return r;
}

std::unique_ptr<durable::world> agent_world() {
    auto w = std::make_unique<durable::world>(agent_entries(), 15);
    for (std::uint32_t i = 0; i < agents; ++i) {
        agent_state s{i, "agent-" + std::to_string(i), 0, 0, {1, 2, 3, 4}, {}};
        if (i % 10 == 0) s.inbox = w->make_channel<std::int32_t>("inbox " + std::to_string(i));
        w->spawn("agent", s);
    }
    w->run_until(std::chrono::milliseconds(1500));  // every agent has checkpointed, most more than once
    return w;
}

void world_save(benchmark::State& state) {
    auto w = agent_world();
    std::size_t bytes = 0;
    for (auto _ : state) {
        std::vector<std::byte> image = w->save();
        bytes = image.size();
        benchmark::DoNotOptimize(image.data());
    }
    state.counters["image_bytes"] = static_cast<double>(bytes);
    state.counters["bytes_per_agent"] = static_cast<double>(bytes) / agents;
}
BENCHMARK(world_save)->Name("durable/world_save_100k_agents")->Unit(benchmark::kMillisecond)->Iterations(3);

void world_restore(benchmark::State& state) {
    const std::vector<std::byte> image = agent_world()->save();
    for (auto _ : state) {
        auto w = durable::world::restore(agent_entries(), image);
        if (w->size() != agents) state.SkipWithError("lost agents");
        state.PauseTiming();  // destroying the world (killing 100,000 tasklets) is not restoring it
        w.reset();
        state.ResumeTiming();
    }
}
BENCHMARK(world_restore)->Name("durable/world_restore_100k_agents")->Unit(benchmark::kMillisecond)->Iterations(3);

const durable::registry& pair_entries() {
    static const durable::registry r = [] {
        durable::registry e;
        // Both checkpoint every 1,000 values, as long-lived tasklets would, so that their
        // journals stay short.
        e.define<std::pair<durable::channel<std::int32_t>, std::int64_t>>(
            "sender", [](durable::context& cx, std::pair<durable::channel<std::int32_t>, std::int64_t> s) {
                while (s.second > 0) {
                    cx.checkpoint(s);
                    for (int k = 0; k < 1000; ++k, --s.second) cx.send(s.first, static_cast<std::int32_t>(k));
                }
            });
        e.define<durable::channel<std::int32_t>>("receiver", [](durable::context& cx, durable::channel<std::int32_t> ch) {
            for (;;) {
                cx.checkpoint(ch);
                for (int k = 0; k < 1000; ++k) benchmark::DoNotOptimize(cx.receive(ch));
            }
        });
        return e;
    }();
    return r;
}

void receive_journaled(benchmark::State& state) {
    durable::world w(pair_entries(), 1);
    auto ch = w.make_channel<std::int32_t>("values");
    w.spawn("receiver", ch);
    for (auto _ : state) {
        state.PauseTiming();
        w.spawn("sender", std::pair{ch, std::int64_t{10'000}});
        state.ResumeTiming();
        w.run_until(w.now());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 10'000);
}
BENCHMARK(receive_journaled)->Name("durable/receive_journaled")->Unit(benchmark::kMicrosecond);

void receive_plain(benchmark::State& state) {
    tasklets::channel<std::int32_t> ch;
    tasklets::tasklet receiver([&] {
        for (;;) benchmark::DoNotOptimize(ch.receive());
    });
    for (auto _ : state) {
        tasklets::tasklet sender([&] {
            for (std::int32_t i = 0; i < 10'000; ++i) ch.send(i);
        });
        tasklets::run();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 10'000);
    receiver.kill();
}
BENCHMARK(receive_plain)->Name("durable/receive_plain")->Unit(benchmark::kMicrosecond);

}  // namespace
