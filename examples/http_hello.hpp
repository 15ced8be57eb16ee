// http_hello.hpp — the request framing shared by examples/http_server.cpp and the
// thread-per-connection server in bench/http/: HTTP/1.1 keep-alive (and pipelining), every
// request answered with the same fixed "Hello, World!". Deliberately minimal: requests are
// GET/HEAD without a body; a request whose header block does not fit the buffer is refused.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>

namespace hello {

inline constexpr std::string_view response =
    "HTTP/1.1 200 OK\r\n"
    "Server: tasklets\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 13\r\n"
    "\r\n"
    "Hello, World!";

inline constexpr std::size_t buffer_size = 4096;          // request bytes buffered per connection
inline constexpr std::size_t batch = 16;                  // pipelined responses written at once

inline bool contains_nocase(std::string_view hay, std::string_view needle) {
    for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
        std::size_t k = 0;
        while (k < needle.size() && (hay[i + k] | 0x20) == (needle[k] | 0x20)) ++k;
        if (k == needle.size()) return true;
    }
    return false;
}

/// Consumes the complete requests at the start of buf[0, len) (moving the rest to the
/// front). Returns how many; sets `close` if the client asked for the connection to end
/// (Connection: close, or HTTP/1.0 without keep-alive).
inline std::size_t take_requests(char* buf, std::size_t& len, bool& close) {
    std::size_t count = 0, start = 0;
    for (;;) {
        const void* end = ::memmem(buf + start, len - start, "\r\n\r\n", 4);
        if (!end) break;
        const std::size_t stop = static_cast<std::size_t>(static_cast<const char*>(end) - buf) + 4;
        const std::string_view head(buf + start, stop - start);
        const std::size_t line_end = head.find("\r\n");
        const bool http10 = head.substr(0, line_end).ends_with("HTTP/1.0");
        if (contains_nocase(head, "\nconnection: close")) close = true;
        else if (http10 && !contains_nocase(head, "\nconnection: keep-alive")) close = true;
        ++count;
        start = stop;
        if (close) break;
    }
    if (start > 0) {
        std::memmove(buf, buf + start, len - start);
        len -= start;
    }
    return count;
}

}  // namespace hello
