// http_server — an HTTP/1.1 keep-alive "hello" server written in plain blocking style: one
// tasklet per connection, all on one thread. Every request gets "Hello, World!".
//
//     http_server [port [address]]        default: 8080 127.0.0.1 (use :: or ::1 for IPv6)
//
// Each connection is a sequential loop — read, answer, repeat — whose read_some() blocks
// only its own tasklet; the scheduler's epoll reactor runs whichever connection is ready.
#include "cli.hpp"
#include "http_hello.hpp"

#include <tasklets/tasklets.hpp>

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>

using tasklets::net::address;
using tasklets::net::listener;
using tasklets::net::stream;

namespace {

void serve(stream c) {
    char buf[hello::buffer_size];
    char out[hello::batch * hello::response.size()];
    std::size_t have = 0;
    bool close = false;
    try {
        while (!close) {
            const std::size_t n = c.read_some(buf + have, sizeof buf - have);
            if (n == 0) return;  // the client closed
            have += n;
            std::size_t requests = hello::take_requests(buf, have, close);
            if (requests == 0 && have == sizeof buf) return;  // a header block too large: give up
            // Pipelined requests are answered with one write.
            while (requests > 0) {
                std::size_t len = 0;
                for (; requests > 0 && len + hello::response.size() <= sizeof out; --requests, len += hello::response.size())
                    std::memcpy(out + len, hello::response.data(), hello::response.size());
                c.write_all(out, len);
            }
        }
        c.shutdown();
    } catch (const std::system_error&) {
        // reset by the peer, broken pipe: the connection is over; the stream closes itself
    }
}

constexpr const char* usage = "Usage: http_server [port [address]]";
constexpr const char* help =
    "An HTTP/1.1 keep-alive server that answers every request with \"Hello, World!\": one tasklet\n"
    "per connection, all on one thread. Each connection is a sequential loop (read, answer,\n"
    "repeat) whose reads block only its own tasklet; the epoll reactor runs whichever is ready.\n"
    "\n"
    "Arguments:\n"
    "  port       TCP port to listen on, 0 to 65535; 0 picks a free one (default 8080)\n"
    "  address    numeric IPv4 or IPv6 address to listen on; :: or ::1 for IPv6 (default 127.0.0.1)\n"
    "  -h, --help show this help\n";

}  // namespace

int main(int argc, char** argv) {
    const cli::command_line args = cli::parse(argc, argv, usage, help, 2);
    const auto port = args.integer<std::uint16_t>(0, "port", 8080, 0, 65535);
    const std::string host(args.text(1, "127.0.0.1"));
    address where;
    try {
        where = address::parse(host, port);
    } catch (const std::invalid_argument&) {
        args.fail("address: \"" + host + "\" is not a numeric IPv4 or IPv6 address; expected e.g. 127.0.0.1 or ::1");
    }
    // Ten thousand connections need ten thousand descriptors: take what the hard limit allows.
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &lim);
    }
    listener server;
    try {
        server = listener::bind(where, 65535);
    } catch (const std::system_error& e) {
        std::fprintf(stderr, "http_server: cannot listen on %s: %s\n", where.to_string().c_str(), e.what());
        return 1;
    }
    const std::string backend(tasklets::to_string(tasklets::current_io_backend()));
    std::printf("http_server: listening on %s (I/O backend: %s)\n", server.local_address().to_string().c_str(),
                backend.c_str());
    std::fflush(stdout);
    // Small stacks: a connection needs its buffers (under 6 KiB) and a few frames.
    const tasklets::tasklet_options per_connection{.stack_size = 32 * 1024, .name = {}};
    tasklets::spawn([&] {
        bool warned = false;
        for (;;) {
            try {
                tasklets::spawn(per_connection, serve, server.accept());
            } catch (const std::system_error& e) {
                // Out of descriptors: accept() backs off before its next try (no spinning).
                if (!warned) std::fprintf(stderr, "http_server: %s\n", e.what());
                warned = true;
            }
        }
    });
    args.report_statistics_every(std::chrono::seconds(5));
    tasklets::run();
}
