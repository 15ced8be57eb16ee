// Unix-domain stream sockets (paths and abstract names) and datagram sockets (UDP over IPv4
// and IPv6, Unix datagrams), with the same conventions as TCP (tasklets/io.hpp): blocking
// only the calling tasklet, deadlines, errors naming the call and the address. Each test
// runs on a fresh thread whose teardown must leave no descriptor behind.
#include <tasklets/tasklets.hpp>

#include <catch2/catch.hpp>

#include "support/io_thread.hpp"

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;
using tasklets::net::address;
using tasklets::net::datagram_socket;
using tasklets::net::listener;
using tasklets::net::stream;

namespace {

// A socket path of this test process's own, removed first and afterwards.
struct temp_socket_path {
    std::string path;
    explicit temp_socket_path(const char* name)
        : path("/tmp/tasklets-test-" + std::to_string(::getpid()) + "-" + name + ".sock") {
        ::unlink(path.c_str());
    }
    ~temp_socket_path() { ::unlink(path.c_str()); }
};

// Echo clients, each a tasklet, against a tasklet-per-connection server at `where`;
// returns what the clients got back, in client order.
std::vector<std::string> echo_round(listener& server, const address& where, int clients) {
    std::vector<std::string> got(static_cast<std::size_t>(clients));
    tasklets::tasklet acceptor([&] {
        for (int i = 0; i < clients; ++i)
            tasklets::spawn([](stream c) {
                char buf[256];
                while (std::size_t n = c.read_some(buf, sizeof buf, 5s)) c.write_all(buf, n, 5s);
            }, server.accept(5s));
    });
    for (int i = 0; i < clients; ++i)
        tasklets::spawn([&, i] {
            stream c = stream::connect(where, 5s);
            const std::string msg = "hello " + std::to_string(i);
            c.write_all(msg, 5s);
            c.shutdown();
            std::string back(msg.size(), '\0');
            c.read_exact(back.data(), back.size(), 5s);
            got[static_cast<std::size_t>(i)] = back;
        });
    tasklets::run();
    return got;
}

std::vector<std::string> expected_echo(int clients) {
    std::vector<std::string> v;
    for (int i = 0; i < clients; ++i) v.push_back("hello " + std::to_string(i));
    return v;
}

}  // namespace

TEST_CASE("unix addresses: paths and abstract names print as unix:PATH and unix:@NAME, bad ones are refused", "[io][unix]") {
    CHECK(address::unix_path("/run/app.sock").to_string() == "unix:/run/app.sock");
    CHECK(address::unix_path("/run/app.sock").is_unix());
    CHECK(address::unix_path("/run/app.sock").port() == 0);
    CHECK(address::unix_abstract("tasklets-demo").to_string() == "unix:@tasklets-demo");
    CHECK_FALSE(address::loopback_v4(1).is_unix());
    const std::string long_path(108, 'x');
    try {
        (void)address::unix_path(long_path);
        FAIL("no error");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()) == "tasklets: unix_path \"" + long_path + "\" is 108 bytes; a Unix socket name has at most 107");
    }
    CHECK_THROWS_WITH(address::unix_path(std::string("a\0b", 3)), "tasklets: unix_path: a path cannot contain a NUL byte");
    CHECK_THROWS_WITH(address::unix_abstract(""), "tasklets: unix_abstract: empty");
}

TEST_CASE("unix stream sockets at a path: 20 echo clients against a tasklet-per-connection server", "[io][unix]") {
    tasklets_test::require_io_thread([] {
        temp_socket_path p("echo");
        const address where = address::unix_path(p.path);
        listener server = listener::bind(where);
        CHECK(server.local_address().to_string() == "unix:" + p.path);
        CHECK(echo_round(server, where, 20) == expected_echo(20));
        // The socket file stays (another process may own the path by now): binding again
        // is EADDRINUSE, naming the address.
        server.close();
        try {
            (void)listener::bind(where);
            FAIL("no error");
        } catch (const std::system_error& e) {
            CHECK(e.code().value() == EADDRINUSE);
            CHECK(std::string(e.what()).starts_with("tasklets: bind to unix:" + p.path + ": "));
        }
    });
}

TEST_CASE("unix stream sockets with an abstract name: echo, no file, peer unnamed", "[io][unix]") {
    tasklets_test::require_io_thread([] {
        const address where = address::unix_abstract("tasklets-test-" + std::to_string(::getpid()));
        listener server = listener::bind(where);
        stream client;
        tasklets::tasklet connector([&] { client = stream::connect(where, 5s); });
        address peer;
        stream accepted = server.accept(peer, 5s);
        tasklets::run();
        CHECK(peer.to_string() == "unix:(unnamed)");
        CHECK(accepted.local_address().to_string() == where.to_string());
        client.write_all("ping", 5s);
        char buf[4];
        accepted.read_exact(buf, 4, 5s);
        CHECK(std::string(buf, 4) == "ping");
        CHECK_THROWS_AS(client.set_nodelay(true), std::system_error);  // TCP's alone
    });
}

TEST_CASE("connecting to a unix path where no socket exists is ENOENT, naming the path", "[io][unix]") {
    tasklets_test::require_io_thread([] {
        temp_socket_path p("nobody");
        try {
            (void)stream::connect(address::unix_path(p.path), 1s);
            FAIL("no error");
        } catch (const std::system_error& e) {
            CHECK(e.code().value() == ENOENT);
            CHECK(std::string(e.what()).starts_with("tasklets: connect to unix:" + p.path + ": "));
        }
    });
}

TEST_CASE("UDP over IPv4 and IPv6: a tasklet echo server answers 50 datagrams from 5 client tasklets", "[io][udp]") {
    for (const address& any : {address::loopback_v4(), address::loopback_v6()}) {
        tasklets_test::require_io_thread([&] {
            datagram_socket server = datagram_socket::bind(any);
            const address where = server.local_address();
            CHECK(where.port() != 0);
            int answered = 0;
            tasklets::tasklet echo([&] {
                char buf[64];
                for (; answered < 50; ++answered) {
                    address from;
                    const std::size_t n = server.receive_from(buf, sizeof buf, from, 5s);
                    server.send_to(buf, n, from, 5s);
                }
            });
            std::vector<int> ok(5, 0);
            for (int c = 0; c < 5; ++c)
                tasklets::spawn([&, c] {
                    datagram_socket s = datagram_socket::open(where.family());
                    s.connect(where);
                    for (int i = 0; i < 10; ++i) {
                        const std::string msg = std::to_string(c) + ":" + std::to_string(i);
                        s.send(msg.data(), msg.size(), 5s);
                        char buf[64];
                        const std::size_t n = s.receive(buf, sizeof buf, 5s);
                        ok[static_cast<std::size_t>(c)] += std::string(buf, n) == msg;
                    }
                });
            tasklets::run();
            CHECK(answered == 50);
            CHECK(ok == std::vector<int>(5, 10));
        });
    }
}

TEST_CASE("UDP: a receive times out, a datagram larger than the buffer is cut and says its full length", "[io][udp]") {
    tasklets_test::require_io_thread([] {
        datagram_socket a = datagram_socket::bind(address::loopback_v4());
        datagram_socket b = datagram_socket::bind(address::loopback_v4());
        char buf[8];
        address from;
        const auto t0 = tasklets::clock::now();
        CHECK_THROWS_AS(a.receive_from(buf, sizeof buf, from, 30ms), tasklets::timeout_error);
        CHECK(tasklets::clock::now() - t0 >= 30ms);

        const std::string big(100, 'z');
        CHECK(b.send_to(big.data(), big.size(), a.local_address()) == 100);
        CHECK(a.receive_from(buf, sizeof buf, from) == 100);  // cut: only 8 bytes are in buf
        CHECK(std::string(buf, sizeof buf) == "zzzzzzzz");
        CHECK(from.to_string() == b.local_address().to_string());

        // Datagrams keep their boundaries.
        b.send_to("one", 3, a.local_address());
        b.send_to("two!", 4, a.local_address());
        CHECK(a.receive_from(buf, sizeof buf, from) == 3);
        CHECK(a.receive_from(buf, sizeof buf, from) == 4);
        CHECK(std::string(buf, 4) == "two!");
    });
}

TEST_CASE("UDP: a connected socket learns of a closed port as ECONNREFUSED, bad calls are refused clearly", "[io][udp]") {
    tasklets_test::require_io_thread([] {
        datagram_socket gone = datagram_socket::bind(address::loopback_v4());
        const address where = gone.local_address();
        gone.close();
        datagram_socket s = datagram_socket::open(AF_INET);
        s.connect(where);
        s.send("x", 1);
        char buf[4];
        try {
            (void)s.receive(buf, sizeof buf, 1s);
            FAIL("no error");
        } catch (const std::system_error& e) {
            CHECK(e.code().value() == ECONNREFUSED);
            CHECK(std::string(e.what()).starts_with("tasklets: receive on fd "));
        }
        CHECK_THROWS_WITH(datagram_socket::open(12345),
                          "tasklets: datagram_socket::open: family 12345 is not AF_INET, AF_INET6 or AF_UNIX");
        datagram_socket closed;
        CHECK_THROWS_WITH(closed.send("x", 1), "tasklets: send on a closed socket: Bad file descriptor");
    });
}

TEST_CASE("unix datagram sockets: request and answer between two named sockets", "[io][unix][udp]") {
    tasklets_test::require_io_thread([] {
        temp_socket_path ps("dgram-server");
        temp_socket_path pc("dgram-client");
        datagram_socket server = datagram_socket::bind(address::unix_path(ps.path));
        datagram_socket client = datagram_socket::bind(address::unix_path(pc.path));
        tasklets::tasklet answer([&] {
            char buf[32];
            address from;
            const std::size_t n = server.receive_from(buf, sizeof buf, from, 5s);
            CHECK(from.to_string() == "unix:" + pc.path);
            const std::string reply = "re: " + std::string(buf, n);
            server.send_to(reply.data(), reply.size(), from, 5s);
        });
        client.send_to("question", 8, address::unix_path(ps.path), 5s);
        char buf[32];
        address from;
        const std::size_t n = client.receive_from(buf, sizeof buf, from, 5s);
        CHECK(std::string(buf, n) == "re: question");
        CHECK(from.to_string() == "unix:" + ps.path);
        tasklets::run();
    });
}
