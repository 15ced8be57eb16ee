// I/O on loopback: many concurrent echo clients against a server in the same process (IPv4
// and IPv6), timeouts firing and not firing, kill during read, close during wait, peer
// reset and broken pipe as exceptions, partial writes, EMFILE with a lowered limit, pipes
// and regular files. Every test runs on a fresh thread, whose teardown must leave no
// descriptor behind (the reactor's epoll included).
#include <tasklets/tasklets.hpp>

#include <catch2/catch.hpp>

#include "support/io_thread.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <exception>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using tasklets::net::address;
using tasklets::net::listener;
using tasklets::net::stream;

namespace {

std::pair<stream, stream> connected_pair(const address& where = address::loopback_v4()) {
    auto l = listener::bind(where);
    stream client;
    tasklets::tasklet connector([&] { client = stream::connect(l.local_address()); });
    stream server = l.accept();
    if (connector.alive()) tasklets::run();
    return {std::move(client), std::move(server)};
}

bool ipv6_loopback() {
    const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    const address a = address::loopback_v6();
    const bool ok = ::bind(fd, a.data(), a.size()) == 0;
    ::close(fd);
    return ok;
}

bool closed_fd(int fd) { return ::fcntl(fd, F_GETFD) == -1 && errno == EBADF; }

}  // namespace

TEST_CASE("addresses print as ip:port, IPv6 in brackets, an empty one says so", "[io][address]") {
    REQUIRE(address::parse("127.0.0.1", 8080).to_string() == "127.0.0.1:8080");
    REQUIRE(address::loopback_v6(443).to_string() == "[::1]:443");
    REQUIRE(address::parse("2001:db8::17", 65535).to_string() == "[2001:db8::17]:65535");
    REQUIRE(address().to_string() == "(no address)");
}

TEST_CASE("200 concurrent echo clients, each a tasklet, against a tasklet-per-connection server", "[io][echo]") {
    for (const address& where : {address::loopback_v4(), address::loopback_v6()}) {
        if (where.family() == AF_INET6 && !ipv6_loopback()) {
            WARN("IPv6 part skipped: this machine has no ::1 (IPv6 disabled)");
            continue;
        }
        tasklets_test::require_io_thread([&] {
            auto l = listener::bind(where);
            const address at = l.local_address();
            REQUIRE(at.family() == where.family());
            int connections = 0;
            tasklets::tasklet server([&] {
                for (;;) {
                    tasklets::spawn(
                        [&connections](stream c) {
                            ++connections;
                            char buf[512];
                            while (std::size_t n = c.read_some(buf, sizeof buf)) c.write_all(buf, n);
                        },
                        l.accept());
                }
            });
            constexpr int clients = 200, rounds = 5;
            int good = 0;
            tasklets::channel<int> done;
            for (int i = 0; i < clients; ++i) {
                tasklets::spawn([&, i] {
                    stream s = stream::connect(at);
                    for (int r = 0; r < rounds; ++r) {
                        const std::string msg = "client " + std::to_string(i) + " round " + std::to_string(r) +
                                                std::string(static_cast<std::size_t>(i % 7) * 100, 'x');
                        s.write_all(msg);
                        std::string back(msg.size(), '\0');
                        s.read_exact(back.data(), back.size());
                        good += back == msg;
                    }
                    s.shutdown();
                    char c;
                    good += s.read_some(&c, 1) == 0;  // the server closes after our FIN
                    done.send(i);
                });
            }
            for (int i = 0; i < clients; ++i) (void)done.receive();
            server.kill();
            tasklets::run();  // the connection tasklets finish
            REQUIRE(good == clients * (rounds + 1));
            REQUIRE(connections == clients);
            REQUIRE(tasklets::io_waiters() == 0);
            REQUIRE(tasklets::pending_timers() == 0);
            l.close();
            REQUIRE(tasklets::io_registered() == 0);
        });
    }
}

TEST_CASE("I/O timeouts fire, and do not fire when data comes in time", "[io][timeouts]") {
    tasklets_test::require_io_thread([] {
        auto [a, b] = connected_pair();
        char buf[16];
        try {
            (void)b.read_some(buf, sizeof buf, 20ms);
            FAIL("no timeout");
        } catch (const tasklets::timeout_error& e) {
            REQUIRE(std::string(e.what()) == "tasklets: read on fd " + std::to_string(b.fd()) + " timed out after 20ms");
        }
        REQUIRE(tasklets::pending_timers() == 0);
        REQUIRE(tasklets::io_waiters() == 0);
        tasklets::spawn([&a = a] {
            tasklets::sleep_for(1ms);
            a.write_all("ping");
        });
        REQUIRE(b.read_some(buf, sizeof buf, 10s) == 4);
        REQUIRE(std::string(buf, 4) == "ping");
        REQUIRE(tasklets::pending_timers() == 0);
        // An absolute deadline already passed, and nothing to read.
        REQUIRE_THROWS_AS(b.read_some(buf, sizeof buf, tasklets::clock::now()), tasklets::timeout_error);
        // accept and connect take deadlines too.
        auto l = listener::bind(address::loopback_v4());
        REQUIRE_THROWS_AS(l.accept(5ms), tasklets::timeout_error);
        REQUIRE(tasklets::io_waiters() == 0);
    });
}

TEST_CASE("killing a tasklet blocked in a read unregisters it and its stack closes the stream", "[io][kill]") {
    tasklets_test::require_io_thread([] {
        auto [a, b] = connected_pair();
        const int fd = b.fd();
        const std::size_t registered = tasklets::io_registered();
        tasklets::tasklet reader([&b = b] {
            stream mine = std::move(b);
            char buf[16];
            (void)mine.read_some(buf, sizeof buf, 1h);
        });
        tasklets::schedule();
        REQUIRE(reader.blocked());
        REQUIRE(tasklets::io_waiters() == 1);
        REQUIRE(tasklets::pending_timers() == 1);
        reader.kill();
        REQUIRE_FALSE(reader.alive());
        REQUIRE(tasklets::io_waiters() == 0);
        REQUIRE(tasklets::pending_timers() == 0);
        REQUIRE(closed_fd(fd));
        REQUIRE(tasklets::io_registered() == registered);  // b was registered by its wait, and is gone
    });
}

TEST_CASE("closing a descriptor wakes the tasklet waiting on it with EBADF", "[io][close]") {
    tasklets_test::require_io_thread([] {
        auto [a, b] = connected_pair();
        int code = 0;
        std::string message;
        tasklets::tasklet reader([&, &b = b] {
            char buf[16];
            try {
                (void)b.read_some(buf, sizeof buf);
            } catch (const std::system_error& e) {
                code = e.code().value();
                message = e.what();
            }
        });
        tasklets::schedule();
        REQUIRE(reader.blocked());
        b.close();
        REQUIRE_FALSE(reader.blocked());
        tasklets::run();
        REQUIRE(code == EBADF);
        REQUIRE_THAT(message, Catch::Contains("descriptor closed while waiting"));
        REQUIRE(tasklets::io_waiters() == 0);
        // Reading a closed stream fails at once.
        char c;
        REQUIRE_THROWS_AS(b.read_some(&c, 1), std::system_error);

        // The same for a raw descriptor and close_fd.
        int p[2];
        REQUIRE(::pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
        code = 0;
        tasklets::tasklet waiter([&] {
            try {
                tasklets::wait_readable(p[0]);
            } catch (const std::system_error& e) {
                code = e.code().value();
            }
        });
        tasklets::schedule();
        REQUIRE(waiter.blocked());
        tasklets::close_fd(p[0]);
        tasklets::run();
        REQUIRE(code == EBADF);
        tasklets::close_fd(p[1]);
    });
}

TEST_CASE("peer reset and broken pipe surface as std::system_error, no SIGPIPE", "[io][errors]") {
    tasklets_test::require_io_thread([] {
        {
            auto [a, b] = connected_pair();
            const linger hard{1, 0};
            REQUIRE(::setsockopt(a.fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard) == 0);
            a.close();  // sends RST
            char buf[16];
            try {
                (void)b.read_some(buf, sizeof buf);
                FAIL("no error");
            } catch (const std::system_error& e) {
                REQUIRE(e.code().value() == ECONNRESET);
                REQUIRE_THAT(std::string(e.what()), Catch::Contains("Connection reset by peer"));
            }
        }
        {
            auto [a, b] = connected_pair();
            a.close();
            int code = 0;
            for (int i = 0; i < 1000 && code == 0; ++i) {
                try {
                    b.write_all("data that nobody will read\n");
                    tasklets::sleep_for(1ms);
                } catch (const std::system_error& e) {
                    code = e.code().value();
                }
            }
            REQUIRE((code == EPIPE || code == ECONNRESET));
        }
        {
            auto [a, b] = connected_pair();
            a.write_all("abc");
            a.shutdown();
            char buf[8];
            REQUIRE_THROWS_AS(b.read_exact(buf, 5), tasklets::end_of_stream_error);
        }
        {
            auto l = listener::bind(address::loopback_v4());
            const address gone = l.local_address();
            l.close();
            try {
                (void)stream::connect(gone);
                FAIL("connected to a closed port");
            } catch (const std::system_error& e) {
                REQUIRE(e.code().value() == ECONNREFUSED);
            }
        }
    });
}

TEST_CASE("write_all continues partial writes: 4 MiB through a slow reader arrive intact", "[io][partial]") {
    tasklets_test::require_io_thread([] {
        auto [a, b] = connected_pair();
        constexpr std::size_t total = 4 << 20;
        std::vector<unsigned char> data(total);
        for (std::size_t i = 0; i < total; ++i) data[i] = static_cast<unsigned char>(i * 131 + (i >> 12));
        std::vector<unsigned char> got;
        got.reserve(total);
        tasklets::spawn([&, &b = b] {
            unsigned char buf[8192];
            while (std::size_t n = b.read_some(buf, sizeof buf)) {
                got.insert(got.end(), buf, buf + n);
                tasklets::schedule();
            }
        });
        tasklets::spawn([&, &a = a] {
            a.write_all(data.data(), data.size(), 60s);
            a.shutdown();
        });
        tasklets::run();
        REQUIRE(got == data);
    });
}

TEST_CASE("EMFILE on accept: an exception, then a back-off sleep instead of a spin", "[io][emfile]") {
    tasklets_test::require_io_thread([] {
        auto l = listener::bind(address::loopback_v4());
        l.set_accept_backoff(2ms);
        std::vector<stream> clients;
        for (int i = 0; i < 4; ++i) clients.push_back(stream::connect(l.local_address()));
        // Room for exactly two more descriptors.
        rlimit old{};
        REQUIRE(::getrlimit(RLIMIT_NOFILE, &old) == 0);
        // The next two descriptor numbers (there may be holes below).
        const int first_free = ::dup(0), second_free = ::dup(0);
        REQUIRE((first_free >= 0 && second_free > first_free));
        ::close(first_free);
        ::close(second_free);
        struct restore {
            rlimit old;
            ~restore() { ::setrlimit(RLIMIT_NOFILE, &old); }
        } guard{old};
        rlimit low = old;
        low.rlim_cur = static_cast<rlim_t>(second_free + 1);
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);

        // The back-off runs on the scheduler's clock from the failed accept4, and the EMFILE
        // exception is thrown and caught within it. On the real clock, a throw and catch
        // slower than the back-off (the first one in a process takes 4-8 ms under QEMU user
        // mode; natively, a preemption) would leave nothing to sleep by the next accept(),
        // which then only yields. A manual virtual clock makes every step exact.
        tasklets::use_virtual_clock({.auto_advance = false});
        const tasklets::clock::time_point start = tasklets::clock::now();
        std::vector<stream> accepted;
        int emfile = 0;
        tasklets::tasklet server([&] {
            for (;;) {
                try {
                    accepted.push_back(l.accept());
                } catch (const std::system_error& e) {
                    if (e.code().value() != EMFILE) throw;
                    ++emfile;
                }
            }
        });
        tasklets::schedule();
        REQUIRE(accepted.size() == 2);
        REQUIRE(emfile == 1);
        REQUIRE(server.blocked());  // sleeping out the back-off, not retrying
        REQUIRE(tasklets::pending_timers() == 1);
        REQUIRE(tasklets::next_timer() == start + 2ms);

        accepted.pop_back();  // one descriptor free again
        tasklets::advance_clock(1ms);
        tasklets::schedule();
        REQUIRE(server.blocked());  // the back-off is not cut short by a free descriptor
        REQUIRE(accepted.size() == 1);
        REQUIRE(emfile == 1);
        tasklets::advance_clock(1ms);
        tasklets::schedule();  // retries: accepts one, then out of descriptors again
        REQUIRE(accepted.size() == 2);
        REQUIRE(emfile == 2);
        REQUIRE(server.blocked());
        REQUIRE(tasklets::pending_timers() == 1);
        REQUIRE(tasklets::next_timer() == start + 4ms);

        ::setrlimit(RLIMIT_NOFILE, &old);
        tasklets::advance_clock(2ms);
        tasklets::schedule();
        REQUIRE(accepted.size() == 3);
        REQUIRE(emfile == 2);
        server.kill();
        REQUIRE(tasklets::pending_timers() == 0);
        REQUIRE(tasklets::io_waiters() == 0);
    });
}

TEST_CASE("a busy tasklet that only yields cannot starve I/O: the reactor is polled at safe points", "[io][fairness]") {
    tasklets_test::require_io_thread([] {
        auto [a, b] = connected_pair();
        bool done = false;
        long spins = 0;
        tasklets::spawn([&] {
            while (!done) {
                ++spins;
                tasklets::schedule();  // alone in the ring most of the time: no switch at all
            }
        });
        tasklets::spawn([&, &b = b] {
            char buf[4];
            b.read_exact(buf, sizeof buf);
            done = true;
        });
        tasklets::spawn([&, &a = a] { a.write_all("ping"); });
        tasklets::run();
        REQUIRE(done);
        REQUIRE(spins > 0);
    });
}

TEST_CASE("wait_readable/wait_writable on a pipe, a regular file is always ready", "[io][fd]") {
    tasklets_test::require_io_thread([] {
        int p[2];
        REQUIRE(::pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
        tasklets::fd_handle r(p[0]), w(p[1]);
        std::string got;
        tasklets::spawn([&] {
            char buf[16];
            for (;;) {
                const ssize_t n = ::read(r.get(), buf, sizeof buf);
                if (n > 0) {
                    got.append(buf, static_cast<std::size_t>(n));
                    if (got.size() >= 5) return;
                } else if (n < 0 && errno == EAGAIN) {
                    tasklets::wait_readable(r.get());
                } else {
                    return;
                }
            }
        });
        tasklets::schedule();
        REQUIRE(tasklets::io_waiters() == 1);
        tasklets::wait_writable(w.get());  // ready at once
        REQUIRE(::write(w.get(), "hel", 3) == 3);
        tasklets::sleep_for(1ms);
        REQUIRE(::write(w.get(), "lo", 2) == 2);
        tasklets::run();
        REQUIRE(got == "hello");
        REQUIRE_THROWS_AS(tasklets::wait_readable(r.get(), 5ms), tasklets::timeout_error);

        char path[] = "/tmp/tasklets-io-XXXXXX";
        tasklets::fd_handle file(::mkstemp(path));
        REQUIRE(file);
        ::unlink(path);
        tasklets::wait_readable(file.get(), 1ms);  // epoll cannot watch it: returns at once
        tasklets::wait_writable(file.get(), 1ms);
        REQUIRE(tasklets::io_waiters() == 0);
    });
}

TEST_CASE("reuse_port lets listeners share a port, and is refused on a Unix-domain address", "[io]") {
    tasklets_test::require_io_thread([] {
        const tasklets::net::listen_options shared{.backlog = 16, .reuse_port = true};
        auto first = listener::bind(address::loopback_v4(), shared);
        const address where = first.local_address();
        auto second = listener::bind(where, shared);  // the same port
        CHECK(second.local_address().to_string() == where.to_string());
        // Without the option on the newcomer, the port is taken.
        CHECK_THROWS_AS(listener::bind(where), std::system_error);
        const std::string path = "/tmp/tasklets-reuseport-" + std::to_string(::getpid());
        try {
            (void)listener::bind(address::unix_path(path), shared);
            FAIL("a Unix-domain listener took reuse_port");
        } catch (const std::system_error& e) {
            CHECK(e.code().value() == EINVAL);
            CHECK(std::string(e.what()).find("SO_REUSEPORT is for TCP addresses") != std::string::npos);
        }
        ::unlink(path.c_str());
    });
}

// A pool worker waits for new work patiently (reactor::wait_for_mail, urgent = false): with
// descriptors waited for, it sleeps in the kernel at once rather than watch its doorbell
// for 50 us, during which the descriptors' readiness went unseen (an HTTP server with two
// workers spent 8 % of its CPU time watching).
TEST_CASE("io: a pool worker whose tasklets wait for descriptors sleeps at once, without watching its doorbell",
          "[io][pool]") {
    int fds[2];
    REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
    struct figures {
        std::uint64_t watches = 0, sleeps = 0;
    };
    tasklets::shared_channel<figures> reports;  // after each byte: the watches and sleeps of the fd waits so far
    {
        tasklets::worker_pool pool(1);
        pool.spawn([fd = fds[0], reports]() mutable {
            figures f;
            for (int i = 0; i < 20; ++i) {
                char c;
                while (::read(fd, &c, 1) != 1) {
                    const tasklets::scheduler_statistics before = tasklets::statistics();
                    tasklets::wait_readable(fd);
                    const tasklets::scheduler_statistics after = tasklets::statistics();
                    f.watches += after.doorbell_watches - before.doorbell_watches;
                    f.sleeps += after.reactor_blocking_polls - before.reactor_blocking_polls;
                }
                reports.send(f);
            }
        });
        figures last;
        for (int i = 0; i < 20; ++i) {
            // Give the worker time to reach its wait: if every byte were already there when
            // it read, it would never wait, and under load (the suite runs two tests at
            // once on two cores) all twenty once were, so this check failed.
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            REQUIRE(::write(fds[1], "x", 1) == 1);
            last = reports.receive();
        }
        CHECK(last.watches == 0);
        CHECK(last.sleeps >= 1);  // the worker did sleep in the kernel for its descriptor
        pool.wait();
    }
    ::close(fds[0]);
    ::close(fds[1]);
}
