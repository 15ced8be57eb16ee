// <tasklets/io.hpp>: descriptor waits, stream sockets (TCP, Unix-domain) and datagram
// sockets (UDP, Unix-domain) on the reactor.
#include "io/reactor.hpp"

#include <tasklets/io.hpp>

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <system_error>

namespace tasklets {

using namespace detail;

namespace {

std::string on_fd(const char* op, int fd) { return std::string(op) + " on fd " + std::to_string(fd); }

[[noreturn]] void throw_errno(int err, const char* op, int fd) {
    throw std::system_error(err, std::generic_category(), "tasklets: " + on_fd(op, fd));
}

bool is_ip(int family) noexcept { return family == AF_INET || family == AF_INET6; }

// Waits for fd through the reactor; turns the outcome into the conventions' exceptions.
void await(reactor& r, int fd, std::uint8_t dir, const deadline& d, const char* op) {
    const int result = r.wait(fd, dir, d.raw());
    if (result == 0) return;
    if (result == ETIMEDOUT) throw_timeout(on_fd(op, fd), d.span());
    throw std::system_error(result, std::generic_category(),
                            "tasklets: " + on_fd(op, fd) + ": descriptor closed while waiting");
}

void wait_fd(int fd, short events, std::uint8_t dir, const deadline& d, const char* op) {
    if (fd < 0) throw_errno(EBADF, op, fd);
    reactor& r = get_reactor(sched());
    // Level-triggered for the caller: data left over from an earlier edge counts.
    pollfd p{fd, events, 0};
    if (::poll(&p, 1, 0) > 0) return;
    await(r, fd, dir, d, op);
}

int checked_fd(const fd_handle& h, const char* op) {
    if (!h) throw std::system_error(EBADF, std::generic_category(), std::string("tasklets: ") + op + " on a closed socket");
    return h.get();
}

void set_int_option(int fd, int level, int name, int value, const char* what) {
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0) throw_errno(errno, what, fd);
}

// A new descriptor number: forget whatever the reactor knew about an old one.
int adopt_new(int fd) noexcept {
    if (reactor* r = find_reactor()) r->forget(fd);
    return fd;
}

}  // namespace

void wait_readable(int fd, deadline d) { wait_fd(fd, POLLIN | POLLRDHUP, want_read, d, "wait_readable"); }
void wait_writable(int fd, deadline d) { wait_fd(fd, POLLOUT, want_write, d, "wait_writable"); }

void forget_fd(int fd) noexcept {
    if (reactor* r = find_reactor()) r->forget(fd);
}

void close_fd(int fd) noexcept {
    if (fd < 0) return;
    forget_fd(fd);
    ::close(fd);
}

std::size_t io_waiters() noexcept {
    reactor* r = find_reactor();
    return r ? r->fd_waiter_count() : 0;
}

std::size_t io_registered() noexcept {
    reactor* r = find_reactor();
    return r ? r->registered_count() : 0;
}

namespace net {

// ---- address ----------------------------------------------------------------------------------

address::address() noexcept { std::memset(&storage_, 0, sizeof storage_); }

address address::parse(std::string_view ip, std::uint16_t port) {
    std::string text(ip);
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
    address a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
    if (::inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a.len_ = sizeof(sockaddr_in);
        return a;
    }
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
    if (::inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a.len_ = sizeof(sockaddr_in6);
        return a;
    }
    throw std::invalid_argument("tasklets: not a numeric IPv4 or IPv6 address: \"" + std::string(ip) + "\"");
}

namespace {

constexpr std::size_t unix_path_max = sizeof(sockaddr_un{}.sun_path) - 1;  // 107 on Linux

address make_unix(std::string_view name, bool abstract, const char* what) {
    if (name.empty()) throw std::invalid_argument(std::string("tasklets: ") + what + ": empty");
    if (name.size() > unix_path_max)
        throw std::invalid_argument(std::string("tasklets: ") + what + " \"" + std::string(name) + "\" is " +
                                    std::to_string(name.size()) + " bytes; a Unix socket name has at most " +
                                    std::to_string(unix_path_max));
    if (!abstract && name.find('\0') != std::string_view::npos)
        throw std::invalid_argument("tasklets: unix_path: a path cannot contain a NUL byte");
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    // Abstract: a NUL first, then the name, whose length the address length gives.
    // A path: NUL-terminated, and the terminator counted (as unix(7) recommends).
    std::memcpy(un.sun_path + (abstract ? 1 : 0), name.data(), name.size());
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size() + 1);
    return address::from_sockaddr(reinterpret_cast<const sockaddr*>(&un), len);
}

}  // namespace

address address::unix_path(std::string_view path) { return make_unix(path, false, "unix_path"); }
address address::unix_abstract(std::string_view name) { return make_unix(name, true, "unix_abstract"); }

address address::loopback_v4(std::uint16_t port) { return parse("127.0.0.1", port); }
address address::loopback_v6(std::uint16_t port) { return parse("::1", port); }
address address::any_v4(std::uint16_t port) { return parse("0.0.0.0", port); }
address address::any_v6(std::uint16_t port) { return parse("::", port); }

address address::from_sockaddr(const sockaddr* sa, socklen_t len) {
    address a;
    if (len > static_cast<socklen_t>(sizeof a.storage_)) len = sizeof a.storage_;
    std::memcpy(&a.storage_, sa, len);
    a.len_ = len;
    return a;
}

std::uint16_t address::port() const noexcept {
    if (storage_.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    if (storage_.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    return 0;
}

std::string address::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (storage_.ss_family == AF_INET) {
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
        return std::string(buf) + ":" + std::to_string(port());
    }
    if (storage_.ss_family == AF_INET6) {
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf, sizeof buf);
        // Appended piece by piece: "[" + std::string(...) trips GCC 12's -Wrestrict false
        // positive (GCC bug 105651) in optimised builds.
        std::string text = "[";
        text += buf;
        text += "]:";
        text += std::to_string(port());
        return text;
    }
    if (storage_.ss_family == AF_UNIX) {
        const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
        const std::size_t offset = offsetof(sockaddr_un, sun_path);
        if (len_ <= offset) return "unix:(unnamed)";
        const std::size_t n = len_ - offset;
        if (un->sun_path[0] == '\0') return "unix:@" + std::string(un->sun_path + 1, n - 1);
        return "unix:" + std::string(un->sun_path, strnlen(un->sun_path, n));
    }
    return "(no address)";
}

namespace {

address sock_name(int fd, bool peer) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                        : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    if (rc != 0) throw_errno(errno, peer ? "getpeername" : "getsockname", fd);
    return address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

}  // namespace

// ---- stream -----------------------------------------------------------------------------------

stream stream::connect(const address& to, deadline d) {
    if (to.size() == 0) throw std::invalid_argument("tasklets: connect to an empty address");
    reactor& r = get_reactor(sched());
    const int raw = ::socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (raw < 0) throw std::system_error(errno, std::generic_category(), "tasklets: socket for " + to.to_string());
    fd_handle h(adopt_new(raw));
    if (is_ip(to.family())) set_int_option(raw, IPPROTO_TCP, TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)");
    const std::string what = "connect to " + to.to_string();
    if (::connect(raw, to.data(), to.size()) != 0) {
        if (errno != EINPROGRESS && errno != EINTR)
            throw std::system_error(errno, std::generic_category(), "tasklets: " + what);
        for (;;) {
            const int result = r.wait(raw, want_write, d.raw());
            if (result == ETIMEDOUT) throw_timeout(what, d.span());
            if (result != 0) throw std::system_error(result, std::generic_category(), "tasklets: " + what + ": descriptor closed while waiting");
            int err = 0;
            socklen_t len = sizeof err;
            if (::getsockopt(raw, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
            if (err != 0) throw std::system_error(err, std::generic_category(), "tasklets: " + what);
            sockaddr_storage ss;
            len = sizeof ss;
            if (::getpeername(raw, reinterpret_cast<sockaddr*>(&ss), &len) == 0) break;  // connected
            if (errno != ENOTCONN) throw std::system_error(errno, std::generic_category(), "tasklets: " + what);
            // a spurious wake-up: still connecting
        }
    }
    return stream(std::move(h));
}

std::size_t stream::read_some(void* buf, std::size_t n, deadline d) {
    const int fd = checked_fd(fd_, "read");
    if (n == 0) return 0;
    reactor& r = get_reactor(sched());
#if TASKLETS_HAVE_URING
    if (r.uses_uring()) {
        int err = 0;
        const std::size_t k = r.ring_receive(fd, buf, n, d.raw(), err);
        if (err == 0) return k;
        if (err == ETIMEDOUT) throw_timeout(on_fd("read", fd), d.span());
        if (err == EBADF) throw std::system_error(err, std::generic_category(), "tasklets: " + on_fd("read", fd) + ": descriptor closed while waiting");
        throw_errno(err, "read", fd);
    }
#endif
    for (;;) {
        if (drained_) {
            // The last read emptied the socket: anything newer comes with an edge, so wait
            // for it (at once if it has come) instead of paying for a recv that says EAGAIN.
            // Not after a hang-up: the end of stream may have come with that data, and it
            // brings no further edge.
            drained_ = false;
            if (!r.hung_up(fd)) await(r, fd, want_read, d, "read");
        }
        r.clear_ready(fd, want_read);
        const ssize_t k = ::recv(fd, buf, n, 0);
        if (k >= 0) {
            drained_ = k > 0 && static_cast<std::size_t>(k) < n;
            return static_cast<std::size_t>(k);
        }
        const int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) {
            await(r, fd, want_read, d, "read");
            continue;
        }
        throw_errno(err, "read", fd);
    }
}

std::size_t stream::write_some(const void* buf, std::size_t n, deadline d) {
    const int fd = checked_fd(fd_, "write");
    if (n == 0) return 0;
    reactor& r = get_reactor(sched());
#if TASKLETS_HAVE_URING
    if (r.uses_uring()) {
        int err = 0;
        const std::size_t k = r.ring_send(fd, buf, n, d.raw(), err);
        if (err == 0) return k;
        if (err == ETIMEDOUT) throw_timeout(on_fd("write", fd), d.span());
        if (err == EBADF) throw std::system_error(err, std::generic_category(), "tasklets: " + on_fd("write", fd) + ": descriptor closed while waiting");
        throw_errno(err, "write", fd);
    }
#endif
    for (;;) {
        r.clear_ready(fd, want_write);
        const ssize_t k = ::send(fd, buf, n, MSG_NOSIGNAL);
        if (k >= 0) return static_cast<std::size_t>(k);
        const int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) {
            await(r, fd, want_write, d, "write");
            continue;
        }
        throw_errno(err, "write", fd);
    }
}

void stream::read_exact(void* buf, std::size_t n, deadline d) {
    auto* p = static_cast<char*>(buf);
    std::size_t got = 0;
    while (got < n) {
        const std::size_t k = read_some(p + got, n - got, d);
        if (k == 0)
            throw end_of_stream_error("tasklets: read_exact on fd " + std::to_string(fd()) + ": end of stream after " +
                                      std::to_string(got) + " of " + std::to_string(n) + " bytes");
        got += k;
    }
}

void stream::write_all(const void* buf, std::size_t n, deadline d) {
    const auto* p = static_cast<const char*>(buf);
    std::size_t done = 0;
    while (done < n) done += write_some(p + done, n - done, d);
}

void stream::shutdown(direction how) {
    const int fd = checked_fd(fd_, "shutdown");
    if (::shutdown(fd, static_cast<int>(how)) != 0) throw_errno(errno, "shutdown", fd);
}

address stream::local_address() const { return sock_name(checked_fd(fd_, "getsockname"), false); }
address stream::peer_address() const { return sock_name(checked_fd(fd_, "getpeername"), true); }

void stream::set_nodelay(bool on) {
    const int fd = checked_fd(fd_, "setsockopt(TCP_NODELAY)");
    set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, "setsockopt(TCP_NODELAY)");
}

// ---- listener ---------------------------------------------------------------------------------

listener listener::bind(const address& at, int backlog) { return bind(at, listen_options{.backlog = backlog, .reuse_port = false}); }

listener listener::bind(const address& at, const listen_options& options) {
    const int backlog = options.backlog;
    if (at.size() == 0) throw std::invalid_argument("tasklets: bind to an empty address");
    if (options.reuse_port && !is_ip(at.family()))
        throw std::system_error(EINVAL, std::generic_category(),
                                "tasklets: reuse_port on " + at.to_string() + ": SO_REUSEPORT is for TCP addresses");
    const int raw = ::socket(at.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (raw < 0) throw std::system_error(errno, std::generic_category(), "tasklets: socket for " + at.to_string());
    listener l;
    l.fd_.reset(adopt_new(raw));
    if (is_ip(at.family())) {
        set_int_option(raw, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)");
        if (options.reuse_port) set_int_option(raw, SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt(SO_REUSEPORT)");
        // Accepted sockets inherit TCP_NODELAY from the listener on Linux: one call here
        // instead of one per connection.
        set_int_option(raw, IPPROTO_TCP, TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)");
    }
    if (::bind(raw, at.data(), at.size()) != 0)
        throw std::system_error(errno, std::generic_category(), "tasklets: bind to " + at.to_string());
    if (::listen(raw, backlog) != 0) throw_errno(errno, "listen", raw);
    return l;
}

stream listener::accept(deadline d) {
    address ignored;
    return accept(ignored, d);
}

stream listener::accept(address& peer, deadline d) {
    const int fd = checked_fd(fd_, "accept");
    reactor& r = get_reactor(sched());
    if (backing_off_) {
        // Out of descriptors last time: let connections close before trying again.
        const bool deadline_first = !d.is_never() && d.when() < retry_at_;
        sleep_until(deadline_first ? d.when() : retry_at_);
        backing_off_ = false;
        if (deadline_first) throw_timeout(on_fd("accept", fd), d.span());
        if (!fd_) throw_errno(EBADF, "accept", fd);
    }
    for (;;) {
        int c;
        int err = 0;
        sockaddr_storage ss;
        socklen_t len = sizeof ss;
#if TASKLETS_HAVE_URING
        if (r.uses_uring()) {
            c = r.ring_accept(fd, d.raw(), err);
            // The multishot accept keeps no peer addresses: ask for this one.
            if (c >= 0 && ::getpeername(c, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
                len = 0;  // the peer is gone already: its first read will say so
            if (err == ETIMEDOUT) throw_timeout(on_fd("accept", fd), d.span());
            if (err == EBADF)
                throw std::system_error(err, std::generic_category(),
                                        "tasklets: " + on_fd("accept", fd) + ": descriptor closed while waiting");
        } else
#endif
        {
            r.clear_ready(fd, want_read);
            c = ::accept4(fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (c < 0) err = errno;
        }
        if (c >= 0) {
            r.forget(c);  // a new descriptor number: nothing of an old one applies
            peer = len > 0 ? address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len) : address{};
            return stream(fd_handle(c));
        }
        switch (err) {
        case EINTR:
        case ECONNABORTED:  // the peer gave up while in the backlog
            continue;
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
            await(r, fd, want_read, d, "accept");
            continue;
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            backing_off_ = true;
            retry_at_ = clock::now() + backoff_;
            throw_errno(err, "accept", fd);
        default:
            throw_errno(err, "accept", fd);
        }
    }
}

address listener::local_address() const { return sock_name(checked_fd(fd_, "getsockname"), false); }

// ---- datagram_socket ----------------------------------------------------------------------------

namespace {

int datagram_fd(int family, const std::string& what) {
    const int raw = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (raw < 0) throw std::system_error(errno, std::generic_category(), "tasklets: socket for " + what);
    return adopt_new(raw);
}

// One datagram call, retried on EINTR, waiting for the descriptor on EAGAIN: `call`
// returns what the system call did.
template <class Call>
std::size_t datagram_io(int fd, std::uint8_t dir, const deadline& d, const char* op, const std::string& what, Call call) {
    reactor& r = get_reactor(sched());
    for (;;) {
        r.clear_ready(fd, dir);
        const ssize_t k = call();
        if (k >= 0) return static_cast<std::size_t>(k);
        const int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) {
            await(r, fd, dir, d, op);
            continue;
        }
        throw std::system_error(err, std::generic_category(), "tasklets: " + on_fd(op, fd) + what);
    }
}

}  // namespace

datagram_socket datagram_socket::bind(const address& at) {
    if (at.size() == 0) throw std::invalid_argument("tasklets: bind to an empty address");
    datagram_socket s(fd_handle(datagram_fd(at.family(), at.to_string())));
    if (::bind(s.fd(), at.data(), at.size()) != 0)
        throw std::system_error(errno, std::generic_category(), "tasklets: bind to " + at.to_string());
    return s;
}

datagram_socket datagram_socket::open(int family) {
    if (family != AF_INET && family != AF_INET6 && family != AF_UNIX)
        throw std::invalid_argument("tasklets: datagram_socket::open: family " + std::to_string(family) +
                                    " is not AF_INET, AF_INET6 or AF_UNIX");
    return datagram_socket(fd_handle(datagram_fd(family, "family " + std::to_string(family))));
}

std::size_t datagram_socket::send_to(const void* buf, std::size_t n, const address& to, deadline d) {
    const int fd = checked_fd(fd_, "send_to");
    if (to.size() == 0) throw std::invalid_argument("tasklets: send_to an empty address");
    return datagram_io(fd, want_write, d, "send_to", " (to " + to.to_string() + ")",
                       [&] { return ::sendto(fd, buf, n, MSG_NOSIGNAL, to.data(), to.size()); });
}

std::size_t datagram_socket::receive_from(void* buf, std::size_t n, address& from, deadline d) {
    const int fd = checked_fd(fd_, "receive_from");
    sockaddr_storage ss;
    socklen_t len = 0;
    const std::size_t k = datagram_io(fd, want_read, d, "receive_from", "", [&] {
        len = sizeof ss;
        return ::recvfrom(fd, buf, n, MSG_TRUNC, reinterpret_cast<sockaddr*>(&ss), &len);
    });
    from = address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    return k;
}

void datagram_socket::connect(const address& peer) {
    const int fd = checked_fd(fd_, "connect");
    if (::connect(fd, peer.data(), peer.size()) != 0)
        throw std::system_error(errno, std::generic_category(), "tasklets: " + on_fd("connect", fd) + " to " + peer.to_string());
}

std::size_t datagram_socket::send(const void* buf, std::size_t n, deadline d) {
    const int fd = checked_fd(fd_, "send");
    return datagram_io(fd, want_write, d, "send", "", [&] { return ::send(fd, buf, n, MSG_NOSIGNAL); });
}

std::size_t datagram_socket::receive(void* buf, std::size_t n, deadline d) {
    const int fd = checked_fd(fd_, "receive");
    return datagram_io(fd, want_read, d, "receive", "", [&] { return ::recv(fd, buf, n, MSG_TRUNC); });
}

address datagram_socket::local_address() const { return sock_name(checked_fd(fd_, "getsockname"), false); }

}  // namespace net

}  // namespace tasklets
