// thread_server — the thread-per-connection comparison for bench/http/run.sh: the same
// HTTP/1.1 keep-alive "hello" server as examples/http_server.cpp, written the way it is
// written without tasklets: blocking sockets and one OS thread per connection (64 KiB
// stacks, so that 10,000 threads fit).
//
//     thread_server [port [address]]
#include "../../examples/http_hello.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

bool write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        const ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += k;
        n -= static_cast<std::size_t>(k);
    }
    return true;
}

void* serve(void* arg) {
    const int fd = static_cast<int>(reinterpret_cast<std::intptr_t>(arg));
    char buf[hello::buffer_size];
    char out[hello::batch * hello::response.size()];
    std::size_t have = 0;
    bool close = false;
    while (!close) {
        const ssize_t n = ::recv(fd, buf + have, sizeof buf - have, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        have += static_cast<std::size_t>(n);
        std::size_t requests = hello::take_requests(buf, have, close);
        if (requests == 0 && have == sizeof buf) break;
        bool ok = true;
        while (ok && requests > 0) {
            std::size_t len = 0;
            for (; requests > 0 && len + hello::response.size() <= sizeof out; --requests, len += hello::response.size())
                std::memcpy(out + len, hello::response.data(), hello::response.size());
            ok = write_all(fd, out, len);
        }
        if (!ok) break;
    }
    ::close(fd);
    return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
    const int port = argc > 1 ? std::atoi(argv[1]) : 8082;
    const char* host = argc > 2 ? argv[2] : "127.0.0.1";
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &lim);
    }
    sockaddr_in6 a6{};
    sockaddr_in a4{};
    sockaddr* sa;
    socklen_t len;
    if (::inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons(static_cast<std::uint16_t>(port));
        sa = reinterpret_cast<sockaddr*>(&a4);
        len = sizeof a4;
    } else if (::inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons(static_cast<std::uint16_t>(port));
        sa = reinterpret_cast<sockaddr*>(&a6);
        len = sizeof a6;
    } else {
        std::fprintf(stderr, "thread_server: bad address %s\n", host);
        return 2;
    }
    const int l = ::socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(l, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // inherited by accepted sockets
    if (::bind(l, sa, len) != 0 || ::listen(l, 65535) != 0) {
        std::perror("thread_server: bind/listen");
        return 1;
    }
    std::printf("thread_server: listening on %s:%d\n", host, port);
    std::fflush(stdout);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (;;) {
        const int c = ::accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EMFILE || errno == ENFILE) ::usleep(10000);
            continue;
        }
        pthread_t t;
        if (pthread_create(&t, &attr, serve, reinterpret_cast<void*>(static_cast<std::intptr_t>(c))) != 0) ::close(c);
    }
}
