// tasklets_diff — the differential test's long mode: random programs on the real library
// and on the reference model (tests/model/), compared line for line.
//
//   tasklets_diff [--programs N] [--seed S] [--keep-going] [--print P] [--repro P] [--quiet] [--stats] [--tasklets N] [--ops N]
//
// Default: 1,000,000 programs from seed 1, progress every 100,000. On the first mismatch
// (or every one, with --keep-going) the program is shrunk and printed with both logs and
// as a ready-to-paste Catch2 TEST_CASE. --print P prints program P (its text and the
// model's log) and exits; --repro P prints program P as a TEST_CASE. --tasklets N and
// --ops N raise the size limits (default 4 tasklets, 8 ops per tasklet, 10 for main). Exit status: 0 when everything matched.
#include "model/shrink.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

std::uint64_t program_seed(std::uint64_t seed, std::uint64_t i) {
    // Each program has its own generator, so program i can be replayed alone.
    std::uint64_t z = seed * 0x9E3779B97F4A7C15ull + i + 1;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t programs = 1000000, seed = 1;
    long print = -1;
    diff::gen_limits limits;
    bool keep_going = false, quiet = false, stats = false, repro = false;
    // --stats: how often each kind of outcome occurs (is the generator reaching the rules?)
    const char* kinds[] = {"-> ok", "-> tasklet_exit", "(caught)", "(escapes)", "deadlock_error: Deadlock", "deadlock_error: the main",
                           "channel_closed_error", "does not like to be blocked", "cannot run a blocked", "unbound(dead)",
                           "throw to a dead", "cannot be removed", "remove a blocked", "other_error", "test_error: x",
                           "test_error: raise", ": start", ": end", "blocked", "paused", "/new"};
    std::uint64_t counts[sizeof kinds / sizeof *kinds] = {};
    for (int i = 1; i < argc; ++i) {
        auto next = [&] { return i + 1 < argc ? argv[++i] : (std::fprintf(stderr, "missing value\n"), std::exit(2), ""); };
        if (!std::strcmp(argv[i], "--programs")) programs = std::strtoull(next(), nullptr, 0);
        else if (!std::strcmp(argv[i], "--seed")) seed = std::strtoull(next(), nullptr, 0);
        else if (!std::strcmp(argv[i], "--print")) print = std::strtol(next(), nullptr, 0);
        else if (!std::strcmp(argv[i], "--repro")) print = std::strtol(next(), nullptr, 0), repro = true;
        else if (!std::strcmp(argv[i], "--keep-going")) keep_going = true;
        else if (!std::strcmp(argv[i], "--quiet")) quiet = true;
        else if (!std::strcmp(argv[i], "--stats")) stats = true;
        else if (!std::strcmp(argv[i], "--tasklets")) limits.max_tasklets = std::atoi(next());
        else if (!std::strcmp(argv[i], "--ops")) limits.max_ops_tasklet = limits.max_ops_main = std::atoi(next());
        else {
            std::fprintf(stderr, "usage: %s [--programs N] [--seed S] [--keep-going] [--print P] [--repro P] [--quiet] [--stats] [--tasklets N] [--ops N]\n", argv[0]);
            return 2;
        }
    }
    if (print >= 0) {
        std::mt19937_64 rng(program_seed(seed, static_cast<std::uint64_t>(print)));
        diff::program p = diff::generate(rng, limits);
        diff::comparison r = diff::compare(p);
        if (!repro) std::printf("%s", diff::describe(p).c_str());
        if (repro) {  // as a TEST_CASE expecting the model's log
            std::printf("%s", diff::repro_code(p, r.model, "seed " + std::to_string(seed) + " program " + std::to_string(print), !r.same()).c_str());
            return r.same() ? 0 : 1;
        }
        for (const auto& line : r.model) std::printf("  %s\n", line.c_str());
        std::printf(r.same() ? "real and model agree\n" : "MISMATCH\n%s", r.report().c_str());
        return r.same() ? 0 : 1;
    }
    const auto start = std::chrono::steady_clock::now();
    std::uint64_t mismatches = 0, lines = 0;
    for (std::uint64_t i = 0; i < programs; ++i) {
        std::mt19937_64 rng(program_seed(seed, i));
        diff::program p = diff::generate(rng, limits);
        diff::comparison r = diff::compare(p);
        lines += r.model.size();
        if (stats)
            for (const auto& line : r.model)
                for (std::size_t k = 0; k < sizeof kinds / sizeof *kinds; ++k) counts[k] += line.find(kinds[k]) != std::string::npos;
        if (!r.same()) {
            ++mismatches;
            std::printf("MISMATCH: seed %llu, program %llu\n%s%s", static_cast<unsigned long long>(seed),
                        static_cast<unsigned long long>(i), diff::describe(p).c_str(), r.report().c_str());
            diff::program small = diff::shrink(p, [](const diff::program& q) { return !diff::compare(q).same(); });
            diff::comparison rs = diff::compare(small);
            std::printf("shrunk to:\n%s%s\nmodel log:\n", diff::describe(small).c_str(), rs.report().c_str());
            for (const auto& line : rs.model) std::printf("  %s\n", line.c_str());
            std::printf("real log:\n");
            for (const auto& line : rs.real) std::printf("  %s\n", line.c_str());
            std::printf("\n%s\n",
                        diff::repro_code(small, rs.model, "seed " + std::to_string(seed) + " program " + std::to_string(i), true).c_str());
            std::fflush(stdout);
            if (!keep_going) break;
        }
        if (!quiet && (i + 1) % 100000 == 0) {
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            std::printf("%llu programs, %llu mismatches, %.1f s\n", static_cast<unsigned long long>(i + 1),
                        static_cast<unsigned long long>(mismatches), s);
            std::fflush(stdout);
        }
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("done: %llu mismatches, %llu log lines compared, %.1f s\n", static_cast<unsigned long long>(mismatches),
                static_cast<unsigned long long>(lines), s);
    if (stats)
        for (std::size_t k = 0; k < sizeof kinds / sizeof *kinds; ++k)
            std::printf("  %-32s %llu\n", kinds[k], static_cast<unsigned long long>(counts[k]));
    return mismatches ? 1 : 0;
}
