// Soak: a million tasklets pass messages around a ring of channels for a while; RSS is
// sampled every second and must stay flat after the warm-up; any error fails the run.
// Not part of CI (it needs ~5 GB and minutes); build with -DTASKLETS_BUILD_SOAK=ON:
//
//   tasklets_soak [--tasklets 1000000] [--tokens 1000] [--seconds 60] [--warmup 10]
//                 [--slack-percent 5] [--slack-mib 64] [--stack 16384]
//
// Tasklet i receives a message on channel i and sends it on to channel i+1 (mod N); the
// tokens in flight keep that many tasklets runnable at a time. Each hop rebuilds the
// message (a string of 16-400 bytes), so the heap churns. A monitor tasklet in the ring
// samples RSS once a second. After `warmup` seconds (and once every tasklet has run, so
// every stack is touched) the RSS baseline is the highest sample so far; a later sample
// above baseline * (1 + slack-percent/100) + slack-mib fails the run. At the end the
// tokens are drained and every tasklet is killed, and the counts must add up.
// Prints one line per second and a summary; exit status 0 only if all is well.
#include <tasklets/tasklets.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

struct options {
    std::size_t tasklets = 1'000'000;
    std::size_t tokens = 1000;
    double seconds = 60;
    double warmup = 10;
    double slack_percent = 5;
    double slack_mib = 64;
    std::size_t stack = 16 * 1024;
};

std::size_t rss_bytes() {
    long pages = 0, resident = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return static_cast<std::size_t>(resident) * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

double mib(std::size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        auto value = [&](const char* name) -> const char* {
            if (std::strcmp(argv[i], name) != 0) return nullptr;
            if (i + 1 >= argc) {
                std::fprintf(stderr, "soak: %s needs a value\n", name);
                std::exit(2);
            }
            return argv[++i];
        };
        if (const char* v = value("--tasklets")) o.tasklets = std::strtoull(v, nullptr, 10);
        else if (const char* v = value("--tokens")) o.tokens = std::strtoull(v, nullptr, 10);
        else if (const char* v = value("--seconds")) o.seconds = std::strtod(v, nullptr);
        else if (const char* v = value("--warmup")) o.warmup = std::strtod(v, nullptr);
        else if (const char* v = value("--slack-percent")) o.slack_percent = std::strtod(v, nullptr);
        else if (const char* v = value("--slack-mib")) o.slack_mib = std::strtod(v, nullptr);
        else if (const char* v = value("--stack")) o.stack = std::strtoull(v, nullptr, 10);
        else {
            std::fprintf(stderr, "soak: unknown argument %s (see the comment at the top of tests/soak/soak.cpp)\n", argv[i]);
            std::exit(2);
        }
    }
    o.tokens = std::clamp<std::size_t>(o.tokens, 1, o.tasklets);
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - start).count(); };

    std::vector<tasklets::channel<std::string>> ring(o.tasklets);
    std::vector<tasklets::tasklet> workers;
    workers.reserve(o.tasklets);
    bool stopping = false;
    std::uint64_t hops = 0, started = 0, finished = 0, drained = 0, sending = 0;
    std::uint64_t payload_bytes = 0;
    int errors = 0;

    std::printf("soak: %zu tasklets (stack %zu bytes), %zu tokens, %.0f s (warm-up %.0f s), RSS slack %.1f%% + %.0f MiB\n",
                o.tasklets, o.stack, o.tokens, o.seconds, o.warmup, o.slack_percent, o.slack_mib);
    std::fflush(stdout);
    const std::size_t rss_at_start = rss_bytes();
    try {
        for (std::size_t i = 0; i < o.tasklets; ++i) {
            workers.emplace_back(tasklets::tasklet_options{o.stack, {}}, [&, i] {
                ++started;
                auto& in = ring[i];
                auto& out = ring[(i + 1) % ring.size()];
                for (;;) {
                    std::string message = in.receive();
                    if (stopping) {  // the token leaves the ring here
                        ++drained;
                        break;
                    }
                    ++hops;
                    // A new message each hop, of a length that depends on the old one.
                    const std::size_t next = 16 + (message.size() * 7 + i) % 385;
                    payload_bytes += next;
                    ++sending;  // a token stays here if the next one has left the ring
                    out.send(std::string(next, static_cast<char>('a' + hops % 26)));
                    --sending;
                }
                ++finished;
            });
        }
        std::printf("soak: %zu tasklets made in %.1f s, RSS %.0f MiB\n", o.tasklets, elapsed(), mib(rss_bytes()));
        std::fflush(stdout);

        // Tokens: sent from small feeder tasklets so that main never blocks.
        for (std::size_t t = 0; t < o.tokens; ++t) {
            const std::size_t at = t * (o.tasklets / o.tokens);
            tasklets::tasklet([&, at] { ring[at].send(std::string(32, 'x')); });
        }

        std::size_t baseline = 0, peak_after = 0, last = 0;
        int sample = 0;
        bool failed_rss = false;
        tasklets::tasklet monitor([&] {
            double next_sample = 1.0;
            while (!stopping) {
                const double now = elapsed();
                if (now >= next_sample) {
                    next_sample = std::floor(now) + 1.0;  // once a second, no catching up
                    last = rss_bytes();
                    ++sample;
                    const bool warm = now >= o.warmup && started == o.tasklets;
                    const char* note = "";
                    if (!warm) {
                        baseline = std::max(baseline, last);
                        note = " (warm-up)";
                    } else {
                        if (baseline == 0) baseline = last;
                        peak_after = std::max(peak_after, last);
                        const double bound = static_cast<double>(baseline) * (1 + o.slack_percent / 100) +
                                             o.slack_mib * 1024 * 1024;
                        if (static_cast<double>(last) > bound) {
                            failed_rss = true;
                            note = " ** above the bound **";
                        }
                    }
                    std::printf("t=%5.1f s  RSS %8.1f MiB  hops %12llu  started %zu%s\n", now, mib(last),
                                static_cast<unsigned long long>(hops), static_cast<std::size_t>(started), note);
                    std::fflush(stdout);
                    if (now >= o.seconds) stopping = true;
                }
                tasklets::schedule();
            }
        });
        tasklets::run();  // returns when the monitor is done and the tokens are drained

        const double run_seconds = elapsed();
        const std::uint64_t in_send_at_end = sending;
        std::size_t killed = 0;
        for (auto& w : workers)
            if (w.alive()) {
                w.kill();
                ++killed;
            }
        if (tasklets::runcount() != 1) {
            std::fprintf(stderr, "soak: runcount() is %d after the end\n", tasklets::runcount());
            ++errors;
        }
        const std::uint64_t stuck_in_send = in_send_at_end;
        if (finished + killed != o.tasklets || drained + stuck_in_send != o.tokens) {
            std::fprintf(stderr, "soak: counts do not add up: %llu finished + %zu killed of %zu; %llu drained + %llu in "
                                 "blocked sends of %zu tokens\n",
                         static_cast<unsigned long long>(finished), killed, o.tasklets,
                         static_cast<unsigned long long>(drained), static_cast<unsigned long long>(stuck_in_send), o.tokens);
            ++errors;
        }
        std::printf("soak: %.1f s, %llu hops (%.2f M/s), %.1f GiB of messages; RSS at start %.0f MiB, baseline %.0f MiB, "
                    "highest after warm-up %.0f MiB (%+.2f%%), last %.0f MiB; %zu samples\n",
                    run_seconds, static_cast<unsigned long long>(hops), static_cast<double>(hops) / run_seconds / 1e6,
                    static_cast<double>(payload_bytes) / (1 << 30), mib(rss_at_start), mib(baseline), mib(peak_after),
                    baseline ? 100.0 * (static_cast<double>(peak_after) - static_cast<double>(baseline)) / static_cast<double>(baseline) : 0.0,
                    mib(last), static_cast<std::size_t>(sample));
        workers.clear();
        ring.clear();
        std::printf("soak: teardown done at %.1f s, RSS %.0f MiB\n", elapsed(), mib(rss_bytes()));
        if (failed_rss) {
            std::fprintf(stderr, "soak: FAILED: RSS grew beyond the bound after warm-up\n");
            ++errors;
        }
        if (sample < static_cast<int>(o.seconds) - 1) {
            std::fprintf(stderr, "soak: FAILED: only %d RSS samples in %.0f s (the monitor starved?)\n", sample, o.seconds);
            ++errors;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "soak: FAILED: %s\n", e.what());
        return 1;
    }
    std::printf("soak: %s\n", errors ? "FAILED" : "ok");
    return errors ? 1 : 0;
}
