// http_server — an HTTP/1.1 keep-alive "hello" server written in plain blocking style: one
// tasklet per connection. Every request gets "Hello, World!".
//
//     http_server [port [address [workers [listeners|acceptor]]]]
//                 default: 8080 127.0.0.1 1 listeners (:: or ::1 for IPv6)
//
// Each connection is a sequential loop — read, answer, repeat — whose read_some() blocks
// only its own tasklet; the thread's reactor runs whichever connection is ready. With one
// worker, everything runs on the main thread. With more, a tasklets::worker_pool runs them,
// each worker with its own reactor, and new connections reach the workers one of two ways:
// - listeners (the default): each worker has its own SO_REUSEPORT listener on the same
//   port; the kernel spreads new connections over them, and a connection stays on the
//   worker that accepted it (no hand-off between threads, no shared accept queue);
// - acceptor: worker 0 alone accepts, and hands each new connection to the next worker in
//   turn (thread_ref::spawn with the stream: a stream no tasklet has waited on yet may move
//   to another thread). bench/http/README.md compares the two.
#include "cli.hpp"
#include "http_hello.hpp"

#include <tasklets/tasklets.hpp>

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

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

// Accepts connections for as long as the process runs, a tasklet for each. `announce`: say
// so on stdout when the first connection comes (the multi-worker test checks that every
// worker gets some).
void accept_loop(listener server, int announce) {
    // Small stacks: a connection needs its buffers (under 6 KiB) and a few frames.
    const tasklets::tasklet_options per_connection{.stack_size = 32 * 1024, .name = {}};
    bool warned = false;
    for (;;) {
        try {
            tasklets::spawn(per_connection, serve, server.accept());
            if (announce >= 0) {
                std::printf("http_server: worker %d accepted its first connection\n", announce);
                std::fflush(stdout);
                announce = -1;
            }
        } catch (const std::system_error& e) {
            // Out of descriptors: accept() backs off before its next try (no spinning).
            if (!warned) std::fprintf(stderr, "http_server: %s\n", e.what());
            warned = true;
        }
    }
}

// The acceptor mode: accepts on this worker and starts each connection's tasklet on the
// next worker in turn, itself included. Says on stdout when each worker is handed its first.
void hand_out(listener server, std::vector<tasklets::thread_ref> workers) {
    const tasklets::tasklet_options per_connection{.stack_size = 32 * 1024, .name = {}};
    std::vector<bool> announced(workers.size());
    bool warned = false;
    for (std::size_t next = 0;; next = (next + 1) % workers.size()) {
        try {
            stream c = server.accept();
            if (workers[next].is_current()) tasklets::spawn(per_connection, serve, std::move(c));
            else workers[next].spawn(per_connection, serve, std::move(c));
            if (!announced[next]) {
                std::printf("http_server: worker %zu was handed its first connection\n", next);
                std::fflush(stdout);
                announced[next] = true;
            }
        } catch (const std::system_error& e) {
            if (!warned) std::fprintf(stderr, "http_server: %s\n", e.what());
            warned = true;
        }
    }
}

constexpr const char* usage = "Usage: http_server [port [address [workers [listeners|acceptor]]]]";
constexpr const char* help =
    "An HTTP/1.1 keep-alive server that answers every request with \"Hello, World!\": one tasklet\n"
    "per connection. Each connection is a sequential loop (read, answer, repeat) whose reads\n"
    "block only its own tasklet; the thread's reactor runs whichever is ready. With several\n"
    "workers, each is a thread of a worker_pool with its own SO_REUSEPORT listener, or one\n"
    "of them accepts and hands connections out in turn.\n"
    "\n"
    "Arguments:\n"
    "  port       TCP port to listen on, 0 to 65535; 0 picks a free one (default 8080)\n"
    "  address    numeric IPv4 or IPv6 address to listen on; :: or ::1 for IPv6 (default 127.0.0.1)\n"
    "  workers    threads serving connections, 1 to 256 (default 1: the main thread alone)\n"
    "  mode       with several workers: listeners (a SO_REUSEPORT listener each, the default)\n"
    "             or acceptor (worker 0 accepts and hands each connection to the next worker)\n"
    "  -h, --help show this help\n";

}  // namespace

int main(int argc, char** argv) {
    const cli::command_line args = cli::parse(argc, argv, usage, help, 4);
    const auto port = args.integer<std::uint16_t>(0, "port", 8080, 0, 65535);
    const std::string host(args.text(1, "127.0.0.1"));
    const auto workers = args.integer<int>(2, "workers", 1, 1, 256);
    const std::string mode(args.text(3, "listeners"));
    if (mode != "listeners" && mode != "acceptor")
        args.fail("mode: \"" + mode + "\" is not a mode; expected listeners or acceptor");
    const bool acceptor = mode == "acceptor";
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
    // One listener per worker; with several, all on one port (the first one's, if port 0
    // asked for a free one), SO_REUSEPORT.
    std::vector<listener> servers;
    try {
        const std::size_t listeners = acceptor ? 1 : static_cast<std::size_t>(workers);
        const tasklets::net::listen_options options{.backlog = 65535, .reuse_port = listeners > 1};
        servers.push_back(listener::bind(where, options));
        where = servers.front().local_address();
        while (servers.size() < listeners) servers.push_back(listener::bind(where, options));
    } catch (const std::system_error& e) {
        std::fprintf(stderr, "http_server: cannot listen on %s: %s\n", where.to_string().c_str(), e.what());
        return 1;
    }
    const std::string backend(tasklets::to_string(tasklets::current_io_backend()));
    std::printf("http_server: listening on %s (I/O backend: %s)\n", where.to_string().c_str(), backend.c_str());
    if (workers == 1) {
        std::fflush(stdout);
        tasklets::spawn(accept_loop, std::move(servers.front()), -1);
        args.report_statistics_every(std::chrono::seconds(5));
        tasklets::run();
        return 0;
    }
    std::printf(acceptor ? "http_server: %d workers, one acceptor handing connections out\n"
                         : "http_server: %d workers, a listener each\n",
                workers);
    std::fflush(stdout);
    tasklets::worker_pool pool(static_cast<std::size_t>(workers));
    if (acceptor) {
        std::vector<tasklets::thread_ref> refs;
        for (int i = 0; i < workers; ++i) refs.push_back(pool.worker(static_cast<std::size_t>(i)));
        pool.worker(0).spawn(hand_out, std::move(servers.front()), std::move(refs));
        for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
    }
    // Placed on each worker directly (thread_ref), not as stealable jobs: a listener
    // belongs to the worker whose reactor waits on it.
    for (int i = 0; i < workers; ++i)
        pool.worker(static_cast<std::size_t>(i)).spawn(accept_loop, std::move(servers[static_cast<std::size_t>(i)]), i);
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));  // the workers serve until the process is stopped
}
