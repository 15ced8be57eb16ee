// tasklets_bench (and tasklets_bench_mc, the multi-core workloads) — one binary, three modes:
//   tasklets_bench [google benchmark flags]   the timed suite (all workloads, all peers)
//   tasklets_bench --ops NAME N                N round trips of op NAME, nothing else
//                                              (for callgrind: difference two N's)
//   tasklets_bench --park NAME COUNT           the memory workload, once, in this process:
//                                              prints one JSON object on stdout
//   tasklets_bench --list                      the names usable with --ops and --park
#include "common.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <unistd.h>

namespace {

int run_op(const char* name, long n) {
    for (const auto& e : bench::ops())
        if (e.name == name) {
            e.fn(n);
            return 0;
        }
    std::fprintf(stderr, "tasklets_bench: no op named '%s' (try --list)\n", name);
    return 2;
}

std::string json_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) { out += ' '; continue; }
        out += c;
    }
    return out;
}

void progress(long parked) {
    // One line per chunk on stderr: if the process dies, the last line says how far it got.
    std::fprintf(stderr, "parked %ld\n", parked);
    std::fflush(stderr);
}

long count_vmas() {
    std::FILE* f = std::fopen("/proc/self/maps", "r");
    if (!f) return -1;
    long n = 0;
    for (int c; (c = std::fgetc(f)) != EOF;) n += c == '\n';
    std::fclose(f);
    return n;
}

int run_park(const char* name, long count) {
    for (const auto& e : bench::parks()) {
        if (e.name != name) continue;
        const long long rss0 = bench::proc_status_bytes("VmRSS");
        const long long vm0 = bench::proc_status_bytes("VmSize");
        bench::park_result r;
        try {
            r = e.fn(count, &progress);
        } catch (const std::exception& ex) {
            r.note += std::string(" exception: ") + ex.what();
        }
        const long long rss1 = bench::proc_status_bytes("VmRSS");
        const long long vm1 = bench::proc_status_bytes("VmSize");
        const long vmas = count_vmas();
        const double per = r.parked > 0 ? 1.0 / static_cast<double>(r.parked) : 0.0;
        std::printf(
            "{\"name\": \"%s\", \"requested\": %ld, \"parked\": %ld, \"ok\": %s, \"seconds\": %.6f, "
            "\"ns_per_park\": %.1f, \"rss_bytes_per\": %.1f, \"vm_bytes_per\": %.1f, "
            "\"rss_delta_bytes\": %lld, \"vm_delta_bytes\": %lld, \"vmas\": %ld, \"note\": \"%s\"}\n",
            name, count, r.parked, r.parked == count ? "true" : "false", r.seconds,
            r.seconds * 1e9 * per, static_cast<double>(rss1 - rss0) * per,
            static_cast<double>(vm1 - vm0) * per, rss1 - rss0, vm1 - vm0, vmas, json_escape(r.note).c_str());
        std::fflush(stdout);
        // The parked contexts are deliberately not torn down: tearing down a million of
        // them is not what is measured, and exit must not wait for it.
        std::_Exit(r.parked == count ? 0 : 1);
    }
    std::fprintf(stderr, "tasklets_bench: no park driver named '%s' (try --list)\n", name);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "--list") == 0) {
        for (const auto& e : bench::ops()) std::printf("op   %s\n", e.name.c_str());
        for (const auto& e : bench::parks()) std::printf("park %s\n", e.name.c_str());
        return 0;
    }
    if (argc == 4 && std::strcmp(argv[1], "--ops") == 0) return run_op(argv[2], std::atol(argv[3]));
    if (argc == 4 && std::strcmp(argv[1], "--park") == 0) return run_park(argv[2], std::atol(argv[3]));

    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::AddCustomContext("note", "ratios within one run; see bench/README.md");
    benchmark::RunSpecifiedBenchmarks();
    for (auto* hook : bench::at_end()) hook();
    benchmark::Shutdown();
    return 0;
}
