// echo_server — echoes every byte back, one tasklet per connection, one thread, written as
// plain blocking code. Connections idle for 5 minutes are closed (a read timeout).
//
//     echo_server [port [address]]        default: 7007 127.0.0.1
//     then e.g.:  nc 127.0.0.1 7007
#include <tasklets/tasklets.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <system_error>

using namespace std::chrono_literals;
using tasklets::net::address;
using tasklets::net::listener;
using tasklets::net::stream;

int main(int argc, char** argv) {
    const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 7007);
    const char* host = argc > 2 ? argv[2] : "127.0.0.1";
    listener server = listener::bind(address::parse(host, port));
    std::printf("echo_server: listening on %s\n", server.local_address().to_string().c_str());
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
    tasklets::run();
}
