// log_shipper — reads log files and ships their lines over TCP to a collector, in plain
// blocking style: one tasklet per file reads it in 4 KiB pieces (tasklets::fs, whose calls
// block only the calling tasklet) and writes the lines to the collector (tasklets::net);
// the collector, a tasklet per connection, appends what arrives to one file. All on one
// thread. The program is self-contained: it writes the logs it ships into a fresh directory
// under /tmp, runs its own collector on 127.0.0.1 (a free port), connects to it by the
// name "localhost", checks at the end that every line arrived, and removes the directory.
//
//     log_shipper [files [lines]]     defaults: 4 files of 1000 lines each; --help
#include "cli.hpp"

#include <tasklets/tasklets.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;
namespace fs = tasklets::fs;
using tasklets::net::listener;
using tasklets::net::stream;

namespace {

constexpr const char* usage = "Usage: log_shipper [files [lines]]";
constexpr const char* help =
    "Ships log files over TCP to a collector: each file is read by its own tasklet in 4 KiB\n"
    "pieces (file calls run on helper threads, so a slow disk delays only that tasklet) and\n"
    "sent line by line; the collector appends every line it receives to one file. Writes its\n"
    "own logs into a fresh directory under /tmp, runs its own collector on 127.0.0.1,\n"
    "connects to it by the name \"localhost\", checks that every line arrived, cleans up.\n"
    "\n"
    "Arguments:\n"
    "  files      log files to ship, 1 to 1000 (default 4)\n"
    "  lines      lines per file, 1 to 1000000 (default 1000)\n"
    "  -h, --help show this help\n";

// The collector's side of one connection: append what is received to the collected file,
// whole lines only (a read may end mid-line, and other connections append meanwhile).
void collect(stream c, fs::file& out) {
    char buf[4096];
    std::string pending;
    while (std::size_t n = c.read_some(buf, sizeof buf, 10s)) {
        pending.append(buf, n);
        const std::size_t end = pending.rfind('\n');
        if (end == std::string::npos) continue;
        out.append(pending.data(), end + 1, 10s);
        pending.erase(0, end + 1);
    }
}

// Ships one file: read it piece by piece, send whole lines (a piece may end mid-line).
std::size_t ship(const std::string& path, std::uint16_t port) {
    fs::file in = fs::file::open(path);
    stream out = stream::connect("localhost", port, 10s);  // resolved on a helper thread
    char buf[4096];
    std::string partial;
    std::size_t lines = 0;
    std::uint64_t offset = 0;
    while (std::size_t n = in.read_at(buf, sizeof buf, offset, 10s)) {
        offset += n;
        partial.append(buf, n);
        const std::size_t end = partial.rfind('\n');
        if (end == std::string::npos) continue;
        out.write_all(partial.data(), end + 1, 10s);
        for (std::size_t i = 0; i <= end; ++i) lines += partial[i] == '\n';
        partial.erase(0, end + 1);
    }
    if (!partial.empty()) {  // a last line without its newline
        partial += '\n';
        out.write_all(partial, 10s);
        ++lines;
    }
    return lines;
}

}  // namespace

int main(int argc, char** argv) {
    const cli::command_line args = cli::parse(argc, argv, usage, help, 2);
    const int files = args.integer(0, "files", 4, 1, 1000);
    const long lines = args.integer(1, "lines", 1000L, 1L, 1000000L);

    const std::string dir = "/tmp/log_shipper-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir);
    struct cleanup {
        std::string dir;
        ~cleanup() { std::filesystem::remove_all(dir); }
    } remove_dir{dir};

    // The logs to ship: "file F line L" lines, written atomically (as a game saves state).
    std::vector<std::string> paths;
    for (int f = 0; f < files; ++f) {
        std::string text;
        for (long l = 0; l < lines; ++l) text += "file " + std::to_string(f) + " line " + std::to_string(l) + "\n";
        paths.push_back(dir + "/app-" + std::to_string(f) + ".log");
        fs::write_file_atomically(paths.back(), text);
    }

    // The collector.
    listener server = listener::bind(tasklets::net::address::loopback_v4(0));
    const std::uint16_t port = server.local_address().port();
    fs::file collected = fs::file::open(dir + "/collected.log", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    tasklets::spawn([&] {
        for (int i = 0; i < files; ++i) tasklets::spawn(collect, server.accept(10s), std::ref(collected));
    });
    std::printf("collector on %s; shipping %d files of %ld lines\n", server.local_address().to_string().c_str(), files, lines);

    // The shippers, one tasklet per file.
    const auto start = std::chrono::steady_clock::now();
    std::size_t shipped = 0;
    int failed = 0;
    for (const std::string& path : paths)
        tasklets::spawn([&, path] {
            try {
                shipped += ship(path, port);
            } catch (const std::exception& e) {
                std::printf("shipping %s failed: %s\n", path.c_str(), e.what());
                ++failed;
            }
        });
    tasklets::run();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

    // Check: every line arrived whole, once (lines of different files interleave).
    collected.close();
    const std::string all = fs::read_file(dir + "/collected.log");
    std::vector<long> per_file(static_cast<std::size_t>(files), 0);
    std::size_t arrived = 0;
    for (std::size_t at = 0, eol; (eol = all.find('\n', at)) != std::string::npos; at = eol + 1) {
        int f = -1;
        long l = -1;
        const std::string line = all.substr(at, eol - at);
        if (std::sscanf(line.c_str(), "file %d line %ld", &f, &l) == 2 && f >= 0 && f < files && l == per_file[static_cast<std::size_t>(f)]) {
            ++per_file[static_cast<std::size_t>(f)];  // each file's lines arrive in order
            ++arrived;
        }
    }
    const std::size_t expected = static_cast<std::size_t>(files) * static_cast<std::size_t>(lines);
    std::printf("shipped %zu lines in %.1f ms; the collector has %zu whole lines in order (%zu bytes)\n", shipped, ms, arrived,
                all.size());
    if (failed != 0 || arrived != expected || shipped != expected) {
        std::printf("MISMATCH: expected %zu lines\n", expected);
        return 1;
    }
    std::printf("every line arrived\n");
    return 0;
}
