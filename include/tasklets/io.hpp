// tasklets/io.hpp — blocking-style I/O for tasklets: descriptors, TCP and Unix-domain
// streams, UDP and Unix datagrams, on io_uring or epoll.
//
// Every call here blocks only the calling tasklet: when the descriptor is not ready, the
// tasklet parks and the scheduler runs others; when nothing is runnable, the thread sleeps
// in the kernel until a descriptor is ready or a timer is due. Each connection can be
// written as a plain sequential function, one tasklet per connection:
//
//     auto server = tasklets::net::listener::bind(tasklets::net::address::loopback_v4(8080));
//     for (;;) {
//         tasklets::spawn([](tasklets::net::stream c) {
//             char buf[4096];
//             while (std::size_t n = c.read_some(buf, sizeof buf)) c.write_all(buf, n);
//         }, server.accept());
//     }
//
// Conventions
// - Timeouts: every blocking call takes an optional tasklets::deadline (a duration from the
//   call, or a clock::time_point; default: none) and throws tasklets::timeout_error when it
//   passes, as everywhere in tasklets (<tasklets/time.hpp>). For read_exact/write_all the
//   deadline covers the whole call; what was already transferred stays transferred.
// - Errors: std::system_error carrying the errno (code()) and its text, e.g.
//   "tasklets: read on fd 7: Connection reset by peer". Writes use MSG_NOSIGNAL: a peer
//   that went away gives EPIPE as an exception, never SIGPIPE.
// - End of stream: read_some returns 0; read_exact throws end_of_stream_error.
// - Closing: close descriptors through tasklets (stream::close, listener::close, fd_handle,
//   close_fd). A tasklet waiting on a descriptor that is closed that way wakes with
//   std::system_error(EBADF) "…: descriptor closed while waiting". (A descriptor closed
//   behind tasklets' back with ::close() silently leaves its waiters waiting.)
// - Killing a tasklet blocked here unregisters its wait; RAII types close their
//   descriptors as the stack unwinds. Nothing is left behind.
// - Regular files: epoll cannot watch them (the kernel always reports them ready), so
//   wait_readable/wait_writable return at once and a read(2) on one blocks the whole
//   thread for the length of the disk access. Use tasklets/file.hpp, whose calls run on
//   helper threads and block only the calling tasklet.
// - Descriptors must be non-blocking (everything created here is, with O_CLOEXEC).
//
// Backends (current_io_backend() says which one runs)
// - io_uring, where the kernel offers everything used (Linux 6.0 or later, not refused by a
//   seccomp profile or kernel.io_uring_disabled; probed once per process): streams receive
//   through a multishot receive into a pool of buffers shared by the thread's streams,
//   send from a copy of the caller's bytes, and listeners accept through a multishot
//   accept; everything a scheduler pass queues is submitted in one system call. A stream
//   therefore reads ahead: bytes that arrived are taken from the socket before read_some
//   asks (once a stream holds 32 KiB, its receive stops after the pass that brought them,
//   and TCP's flow control applies again until a read empties it), so do not mix
//   a stream's reads with your own recv(2) on its descriptor, and what was read ahead is
//   dropped when the stream is closed or its descriptor forgotten.
// - epoll otherwise: each call is the system call itself, and the thread waits in
//   epoll_wait. TASKLETS_IO_BACKEND=epoll, io_uring or auto (the default) chooses; forcing
//   io_uring where it is unavailable makes the first I/O call throw, saying why. Under
//   Valgrind, auto means epoll (Valgrind 3.19 holds its lock across io_uring_enter, so
//   helper threads would never run while the reactor waits).
// Behaviour, timeouts and errors are the same on both; the tests run on both.
#pragma once

#if defined(_WIN32)
#error "tasklets: tasklets/io.hpp (sockets and descriptor I/O) is not available on Windows yet: it needs an IOCP reactor (see arch/README.md, \"Windows x64\"). The rest of tasklets (tasklets, channels, select, timers, helper threads) is."
#endif

#include <tasklets/time.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace tasklets {

/// The kernel interface this process's reactors wait in (see "Backends" above).
enum class io_backend { epoll, io_uring };
/// The backend in use, chosen on the first call (TASKLETS_IO_BACKEND, else a probe).
/// Throws std::invalid_argument for an unknown TASKLETS_IO_BACKEND value and
/// std::runtime_error when io_uring is forced but unavailable.
io_backend current_io_backend();
/// "epoll" or "io_uring".
std::string_view to_string(io_backend b) noexcept;

/// read_exact() met the end of the stream first.
class end_of_stream_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Blocks the calling tasklet until `fd` (non-blocking, any pollable descriptor) is
/// readable / writable, or has an error or hang-up pending. May return spuriously: the
/// caller retries its call and waits again on EAGAIN. Returns at once for a regular file.
/// The descriptor stays registered with this thread's epoll until close_fd / forget_fd.
void wait_readable(int fd, deadline d = {});
void wait_writable(int fd, deadline d = {});
/// Closes `fd`, first waking its waiters with EBADF and dropping its registration.
void close_fd(int fd) noexcept;
/// Drops tasklets' registration of `fd` (waking its waiters with EBADF) without closing
/// it: call it before closing a descriptor by other means or handing it to other code.
void forget_fd(int fd) noexcept;
/// Tasklets on this thread waiting for a descriptor (for tests and monitoring).
std::size_t io_waiters() noexcept;
/// Descriptors registered with this thread's epoll.
std::size_t io_registered() noexcept;

/// Owns a descriptor: closes it (close_fd) when destroyed. Move-only.
class fd_handle {
public:
    fd_handle() noexcept = default;
    explicit fd_handle(int fd) noexcept : fd_(fd) {}
    fd_handle(fd_handle&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    fd_handle& operator=(fd_handle&& other) noexcept {
        if (this != &other) reset(std::exchange(other.fd_, -1));
        return *this;
    }
    ~fd_handle() { reset(); }
    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    /// Gives up ownership (no forget_fd: call it if tasklets waited on the descriptor).
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) close_fd(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

namespace net {

/// A socket address: IPv4 or IPv6 (numeric; no name resolution), or Unix-domain.
class address {
public:
    address() noexcept;
    /// "127.0.0.1", "::1", "0.0.0.0", "::" …; std::invalid_argument if not numeric.
    static address parse(std::string_view ip, std::uint16_t port);
    /// A Unix-domain socket at a file-system path (at most 107 bytes, no NUL inside;
    /// std::invalid_argument otherwise). Binding creates the socket file; a path that
    /// exists already is EADDRINUSE: remove a stale one first (closing never removes it,
    /// since another process may own it by then).
    static address unix_path(std::string_view path);
    /// A Unix-domain socket in Linux's abstract namespace: no file, gone when the last
    /// descriptor closes (at most 107 bytes; std::invalid_argument otherwise). Printed
    /// with a leading '@', as ss(8) does.
    static address unix_abstract(std::string_view name);
    static address loopback_v4(std::uint16_t port = 0);
    static address loopback_v6(std::uint16_t port = 0);
    static address any_v4(std::uint16_t port = 0);
    static address any_v6(std::uint16_t port = 0);
    static address from_sockaddr(const sockaddr* sa, socklen_t len);

    int family() const noexcept { return storage_.ss_family; }
    bool is_unix() const noexcept { return storage_.ss_family == AF_UNIX; }
    /// The port of an IP address; 0 for a Unix-domain one.
    std::uint16_t port() const noexcept;
    /// "127.0.0.1:8080", "[::1]:8080", "unix:/run/app.sock", "unix:@name", "unix:(unnamed)".
    std::string to_string() const;
    const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
    socklen_t size() const noexcept { return len_; }

private:
    sockaddr_storage storage_;
    socklen_t len_ = 0;
};

/// The error category of name lookups (getaddrinfo's EAI_* codes; their text is
/// gai_strerror's). EAI_SYSTEM is reported as the errno it carries, generic_category.
const std::error_category& resolver_category() noexcept;

/// The addresses of `host` — a name ("example.com", "localhost", a name from /etc/hosts)
/// or a numeric IPv4/IPv6 address — for `port`, IPv4 and IPv6, in the order the system's
/// resolver prefers (RFC 6724), duplicates removed. Blocks only the calling tasklet: the
/// lookup (getaddrinfo, following /etc/nsswitch.conf) runs on a helper thread
/// (tasklets/blocking.hpp). Errors: std::system_error in resolver_category() naming the
/// host, e.g. "tasklets: resolve \"nosuch.invalid\": Name or service not known";
/// timeout_error when `d` passes first (the lookup finishes on its helper and is dropped).
std::vector<address> resolve(std::string_view host, std::uint16_t port, deadline d = {});

/// A connected stream socket: TCP, or Unix-domain (the same calls; set_nodelay is TCP's
/// alone). Move-only; closes its descriptor when destroyed.
///
/// Threads: a stream is used by tasklets of one thread, whose reactor it registers with
/// when a call first waits. One that no call has used yet — as accept() returns it — may
/// be moved to a tasklet of another thread (thread_ref::spawn(serve, server.accept()):
/// examples/http_server.cpp hands connections out so). Once used, it stays with its thread.
class stream {
public:
    stream() noexcept = default;
    /// Adopts a connected, non-blocking socket.
    explicit stream(fd_handle fd) noexcept : fd_(std::move(fd)) {}
    stream(stream&&) noexcept = default;
    stream& operator=(stream&&) noexcept = default;

    /// Connects (blocking only this tasklet). std::system_error, e.g. ECONNREFUSED.
    static stream connect(const address& to, deadline d = {});
    /// Resolves `host` (resolve()) and connects to its addresses in the order the resolver
    /// gives them, the first that accepts; the deadline covers the lookup and every
    /// attempt. If none accepts: the last attempt's std::system_error, its message naming
    /// the host and every address tried.
    static stream connect(std::string_view host, std::uint16_t port, deadline d = {});

    /// Reads what is available (at least 1 byte, at most n), waiting if nothing is.
    /// Returns 0 at end of stream.
    std::size_t read_some(void* buf, std::size_t n, deadline d = {});
    std::size_t read_some(std::span<std::byte> buf, deadline d = {}) { return read_some(buf.data(), buf.size(), d); }
    /// Writes what fits now (at least 1 byte for n > 0), waiting until something does.
    std::size_t write_some(const void* buf, std::size_t n, deadline d = {});
    /// Reads exactly n bytes; end_of_stream_error if the stream ends first.
    void read_exact(void* buf, std::size_t n, deadline d = {});
    /// Writes all n bytes (partial writes are continued).
    void write_all(const void* buf, std::size_t n, deadline d = {});
    void write_all(std::string_view s, deadline d = {}) { write_all(s.data(), s.size(), d); }

    enum class direction { read = SHUT_RD, write = SHUT_WR, both = SHUT_RDWR };
    /// shutdown(2): `write` sends FIN after the data already written.
    void shutdown(direction how = direction::write);
    /// Closes now, waking tasklets waiting on this stream with EBADF. Idempotent.
    void close() noexcept { fd_.reset(); }

    bool is_open() const noexcept { return static_cast<bool>(fd_); }
    int fd() const noexcept { return fd_.get(); }
    address local_address() const;
    address peer_address() const;
    /// TCP_NODELAY (on by default for TCP streams made here: request/response traffic).
    /// std::system_error(EOPNOTSUPP) on a Unix-domain stream.
    void set_nodelay(bool on);

private:
    fd_handle fd_;
    bool drained_ = false;  // the last read came back short: wait before the next read
};

/// How listener::bind sets a socket up.
struct listen_options {
    /// listen(2)'s backlog: connections the kernel holds until accept() takes them.
    int backlog = 4096;
    /// TCP: SO_REUSEPORT, so that several listeners (one per worker thread, say) bind the
    /// same address and the kernel spreads new connections over them. Every listener of
    /// the group must set it; on a Unix-domain address it is an error (EINVAL).
    bool reuse_port = false;
};

/// A listening stream socket, TCP or Unix-domain (by the address it is bound to).
class listener {
public:
    listener() noexcept = default;
    listener(listener&&) noexcept = default;
    listener& operator=(listener&&) noexcept = default;

    /// socket + SO_REUSEADDR (TCP) + bind + listen. Port 0 picks a free port (see
    /// local_address).
    static listener bind(const address& at, int backlog = 4096);
    /// The same with options (a per-worker listener: `{.reuse_port = true}`).
    static listener bind(const address& at, const listen_options& options);

    /// Waits for and accepts a connection. When the process is out of descriptors (EMFILE,
    /// ENFILE) or memory (ENOBUFS, ENOMEM), throws std::system_error with that errno, and
    /// the next accept() on this listener first sleeps the back-off (default 100 ms, on the
    /// scheduler's clock) before trying again — so a server loop that catches and retries
    /// never spins; the pending connections wait in the backlog meanwhile.
    stream accept(deadline d = {});
    /// As accept(), also reporting the peer's address.
    stream accept(address& peer, deadline d = {});

    void set_accept_backoff(clock::duration d) noexcept { backoff_ = d; }
    void close() noexcept { fd_.reset(); }
    bool is_open() const noexcept { return static_cast<bool>(fd_); }
    int fd() const noexcept { return fd_.get(); }
    address local_address() const;

private:
    fd_handle fd_;
    clock::duration backoff_ = std::chrono::milliseconds(100);
    clock::time_point retry_at_{};
    bool backing_off_ = false;
};

/// A datagram socket: UDP (an IPv4 or IPv6 address) or Unix-domain (SOCK_DGRAM), with
/// the conventions above. Move-only; closes its descriptor when destroyed.
///
///     auto server = tasklets::net::datagram_socket::bind(tasklets::net::address::loopback_v4(5353));
///     char buf[1500];
///     tasklets::net::address from;
///     std::size_t n = server.receive_from(buf, sizeof buf, from);
///     server.send_to(buf, std::min(n, sizeof buf), from);   // echo it
///
/// Datagrams keep their boundaries: each receive returns one, each send sends one whole
/// (EMSGSIZE if it is too large for the protocol). A receive returns the datagram's full
/// length; if that is more than the buffer, the rest of that datagram was discarded — so
/// `n > sizeof buf` says it was cut.
class datagram_socket {
public:
    datagram_socket() noexcept = default;
    datagram_socket(datagram_socket&&) noexcept = default;
    datagram_socket& operator=(datagram_socket&&) noexcept = default;

    /// A socket bound to `at` (port 0: a free port; see local_address()).
    static datagram_socket bind(const address& at);
    /// An unbound socket of that family (AF_INET, AF_INET6, AF_UNIX): UDP binds it to a
    /// free port at its first send; an unbound Unix one can send but not be answered.
    static datagram_socket open(int family);

    /// Sends one datagram to `to`, waiting while the socket's buffer is full.
    std::size_t send_to(const void* buf, std::size_t n, const address& to, deadline d = {});
    /// Waits for one datagram; `from` is its sender. Returns its full length (see above).
    std::size_t receive_from(void* buf, std::size_t n, address& from, deadline d = {});

    /// Fixes the peer: send() goes there and receive() takes datagrams from it alone (and
    /// with UDP, an ICMP "port unreachable" from it fails a later call with ECONNREFUSED).
    void connect(const address& peer);
    std::size_t send(const void* buf, std::size_t n, deadline d = {});
    std::size_t receive(void* buf, std::size_t n, deadline d = {});

    void close() noexcept { fd_.reset(); }
    bool is_open() const noexcept { return static_cast<bool>(fd_); }
    int fd() const noexcept { return fd_.get(); }
    address local_address() const;

private:
    explicit datagram_socket(fd_handle fd) noexcept : fd_(std::move(fd)) {}
    fd_handle fd_;
};

}  // namespace net

}  // namespace tasklets
