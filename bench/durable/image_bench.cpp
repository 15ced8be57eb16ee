// tasklets_bench_durable: what the first layer of durable tasklets costs (docs/durable.md).
// Issue 15 asks that a world of 100,000 durable agents with checkpoints saves and restores
// in under a second each; the world itself is not built yet, but its image will be made
// of these parts, so these rows are the floor under those figures:
//   durable/save_100k_agents     encode 100,000 agent checkpoints (serial.hpp) into one
//                                image section and finish the image (both CRC-32Cs)
//   durable/restore_100k_agents  check that image (header, size, CRC-32C) and decode all
//                                100,000 agents
//   durable/crc32c_1MiB          the checksum alone, per MiB
// Each agent: id, name, position, a small inventory and its random generator's state, as
// a simulation's checkpoint might hold (about 70 bytes encoded).
#include <tasklets/image.hpp>
#include <tasklets/random.hpp>
#include <tasklets/serial.hpp>

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

namespace {

struct agent {
    std::uint32_t id = 0;
    std::string name;
    double x = 0, y = 0;
    std::vector<std::int32_t> inventory;
    tasklets::random_generator rng;
    template <class F>
    void fields(F& f) {
        f(id, name, x, y, inventory, rng);
    }
};

constexpr std::size_t agents = 100'000;
constexpr std::uint32_t world_tag = tasklets::section_tag("AGNT");

std::vector<agent> make_world() {
    std::vector<agent> world(agents);
    tasklets::random_generator g(15);
    for (std::size_t i = 0; i < agents; ++i) {
        agent& a = world[i];
        a.id = static_cast<std::uint32_t>(i);
        a.name = "agent-" + std::to_string(i);
        a.x = g.unit() * 1000;
        a.y = g.unit() * 1000;
        for (int k = 0; k < 4; ++k) a.inventory.push_back(static_cast<std::int32_t>(g.between(-50, 500)));
        a.rng = g.split();
    }
    return world;
}

std::vector<std::byte> save(const std::vector<agent>& world) {
    tasklets::serial_writer w;
    w(world);
    tasklets::image_writer image;
    image.add(world_tag, w);
    return image.finish();
}

void save_world(benchmark::State& state) {
    const std::vector<agent> world = make_world();
    std::size_t bytes = 0;
    for (auto _ : state) {
        std::vector<std::byte> image = save(world);
        bytes = image.size();
        benchmark::DoNotOptimize(image.data());
    }
    state.counters["image_bytes"] = static_cast<double>(bytes);
    state.counters["bytes_per_agent"] = static_cast<double>(bytes) / agents;
}
BENCHMARK(save_world)->Name("durable/save_100k_agents")->Unit(benchmark::kMillisecond);

void restore_world(benchmark::State& state) {
    const std::vector<std::byte> image = save(make_world());
    for (auto _ : state) {
        tasklets::image_reader r(image);
        tasklets::serial_reader in = r.open(world_tag);
        auto world = in.read<std::vector<agent>>();
        in.expect_end();
        if (world.size() != agents) state.SkipWithError("lost agents");
        benchmark::DoNotOptimize(world.data());
    }
}
BENCHMARK(restore_world)->Name("durable/restore_100k_agents")->Unit(benchmark::kMillisecond);

void crc_1mib(benchmark::State& state) {
    std::vector<std::byte> bytes(1 << 20, std::byte{0x5a});
    for (auto _ : state) benchmark::DoNotOptimize(tasklets::crc32c(bytes));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * (1 << 20));
}
BENCHMARK(crc_1mib)->Name("durable/crc32c_1MiB")->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
