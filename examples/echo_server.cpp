// echo_server — echoes every byte back, one tasklet per connection, one thread, written as
// plain blocking code. Connections idle for 5 minutes are closed (a read timeout).
//
//     echo_server [port [address]]        default: 7007 127.0.0.1
//     then e.g.:  nc 127.0.0.1 7007
#include "cli.hpp"

#include <tasklets/tasklets.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>

using namespace std::chrono_literals;
using tasklets::net::address;
using tasklets::net::listener;
using tasklets::net::stream;

namespace {

constexpr const char* usage = "Usage: echo_server [port [address]]";
constexpr const char* help =
    "A TCP echo server: one tasklet per connection, all on one thread, written as plain blocking\n"
    "code over the scheduler's epoll reactor. A connection idle for 5 minutes is closed (a read\n"
    "timeout). Try it with e.g. `nc 127.0.0.1 7007`.\n"
    "\n"
    "Arguments:\n"
    "  port       TCP port to listen on, 0 to 65535; 0 picks a free one (default 7007)\n"
    "  address    numeric IPv4 or IPv6 address to listen on (default 127.0.0.1)\n"
    "  -h, --help show this help\n";

}  // namespace

int main(int argc, char** argv) {
    const cli::command_line args = cli::parse(argc, argv, usage, help, 2);
    const auto port = args.integer<std::uint16_t>(0, "port", 7007, 0, 65535);
    const std::string host(args.text(1, "127.0.0.1"));
    address where;
    try {
        where = address::parse(host, port);
    } catch (const std::invalid_argument&) {
        args.fail("address: \"" + host + "\" is not a numeric IPv4 or IPv6 address; expected e.g. 127.0.0.1 or ::1");
    }
    listener server;
    try {
        server = listener::bind(where);
    } catch (const std::system_error& e) {
        std::fprintf(stderr, "echo_server: cannot listen on %s: %s\n", where.to_string().c_str(), e.what());
        return 1;
    }
    const std::string backend(tasklets::to_string(tasklets::current_io_backend()));
    std::printf("echo_server: listening on %s (I/O backend: %s)\n", server.local_address().to_string().c_str(),
                backend.c_str());
    std::fflush(stdout);
    tasklets::spawn([&] {
        for (;;) {
            address peer;
            stream c;
            try {
                c = server.accept(peer);
            } catch (const std::system_error& e) {
                std::fprintf(stderr, "echo_server: %s\n", e.what());  // e.g. EMFILE; accept() backs off
                continue;
            }
            tasklets::spawn([peer](stream c) {
                try {
                    char buf[4096];
                    while (std::size_t n = c.read_some(buf, sizeof buf, 5min)) c.write_all(buf, n, 30s);
                } catch (const tasklets::timeout_error& e) {
                    std::fprintf(stderr, "echo_server: %s: %s\n", peer.to_string().c_str(), e.what());
                } catch (const std::system_error& e) {
                    std::fprintf(stderr, "echo_server: %s: %s\n", peer.to_string().c_str(), e.what());
                }
            }, std::move(c));
        }
    });
    args.report_statistics_every(std::chrono::seconds(5));
    tasklets::run();
}
