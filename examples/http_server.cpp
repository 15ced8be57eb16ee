// http_server — an HTTP/1.1 keep-alive "hello" server written in plain blocking style: one
// tasklet per connection, all on one thread. Every request gets "Hello, World!".
//
//     http_server [port [address]]        default: 8080 127.0.0.1 (use :: or ::1 for IPv6)
//
// Each connection is a sequential loop — read, answer, repeat — whose read_some() blocks
// only its own tasklet; the scheduler's epoll reactor runs whichever connection is ready.
#include "http_hello.hpp"

#include <tasklets/tasklets.hpp>

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
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

}  // namespace

int main(int argc, char** argv) {
    const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8080);
    const char* host = argc > 2 ? argv[2] : "127.0.0.1";
    // Ten thousand connections need ten thousand descriptors: take what the hard limit allows.
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &lim);
    }
    listener server = listener::bind(address::parse(host, port), 65535);
    std::printf("http_server: listening on %s\n", server.local_address().to_string().c_str());
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
    tasklets::run();
}
