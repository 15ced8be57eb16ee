// The reactor's io_uring backend: its state (the ring, the provided-buffer pool, the
// per-descriptor requests) and the records of requests in flight. The reactor
// (io/reactor.hpp) owns one `uring` when the backend chosen for the process is io_uring
// (io/backend_choice.cpp); kernel/io/reactor_uring.cpp drives it.
//
// How a request's completion finds its way back: every submission's user_data is either
//   - a `uring_fd*` with a kind in its low bits: the descriptor's multishot poll, receive
//     or accept, which post many completions and one last one without IORING_CQE_F_MORE;
//   - a `uring_op*` (kind 0): a one-shot request (send, file call) whose record owns the
//     memory the kernel reads or writes, so that a tasklet killed while it waits leaves
//     nothing dangling — the record is freed when its completion arrives;
//   - 0: a cancellation, whose completion says nothing we need.
// A `uring_fd` outlives the descriptor's close: forget() asks the kernel to cancel its
// requests and the record is freed when the last of them has posted its final completion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

#if TASKLETS_HAVE_URING
#include <liburing.h>
#endif

namespace tasklets::detail {

struct io_wait;
struct uring;     // defined below when the build has liburing
struct uring_fd;

/// Which kernel interface a reactor waits in (the process's choice; io/backend_choice.cpp).
enum class backend_kind : std::uint8_t { epoll, io_uring };

/// The process's backend: TASKLETS_IO_BACKEND if set (epoll, io_uring or auto), else
/// io_uring when the kernel offers everything the backend uses (probed once), else epoll.
/// Throws std::invalid_argument for an unknown TASKLETS_IO_BACKEND and std::system_error
/// when io_uring is forced but unavailable (the message says why and what to do).
backend_kind chosen_backend();

#if TASKLETS_HAVE_URING

/// Received bytes in one provided buffer, not yet read by the stream's tasklet.
struct uring_chunk {
    std::uint16_t buffer;  // its id in the pool
    std::uint32_t offset;  // bytes already read
    std::uint32_t length;  // bytes the kernel put there
};

/// One descriptor's io_uring requests and what they have brought that nobody took yet.
struct uring_fd {
    int fd = -1;
    unsigned multishots = 0;      // requests that will still post a final completion
    bool polling = false;         // multishot poll armed (readiness waits: connect, datagrams, wait_readable)
    bool receiving = false;       // multishot receive armed
    bool accepting = false;       // multishot accept armed
    bool closing = false;         // forget() ran: free when `multishots` drops to 0
    bool send_busy = false;       // a send is in flight: sends go one at a time, in order
    bool eof = false;             // the receive saw the end of the stream
    int recv_error = 0;           // the receive failed with this errno (reported once the chunks are read)
    int accept_error = 0;         // the multishot accept failed with this errno
    std::deque<uring_chunk> chunks;
    std::deque<int> accepted;     // descriptors accepted and not yet taken
};

/// A one-shot request in flight. Owned by the reactor from submission to completion.
struct uring_op {
    io_wait* waiter = nullptr;    // the waiting tasklet's record while it owns this one (see ring_wait)
    bool cancelled = false;       // that tasklet was killed: it must not be woken
    uring_fd* sender = nullptr;   // a send: the descriptor whose send_busy it holds
    int result = 0;               // the completion's res
    bool done = false;
    bool result_is_fd = false;    // an open: a descriptor nobody took is closed
    bool consumed = false;        // the waiting tasklet took the result
    std::unique_ptr<std::byte[]> data;  // what the kernel reads (send, write) or fills (read)
    std::size_t size = 0;
    std::shared_ptr<void> keep;   // keeps a file's descriptor open until the kernel is done
    uring_op* next = nullptr;     // the list of ops in flight (freed at teardown)
    uring_op* prev = nullptr;
};

/// The ring and its buffer pool.
struct uring {
    io_uring ring{};
    bool deferred = false;        // IORING_SETUP_DEFER_TASKRUN: completions come only when asked for
    // Provided buffers for multishot receives, created with the first receive.
    io_uring_buf_ring* buffers = nullptr;
    std::byte* buffer_memory = nullptr;
    static constexpr unsigned buffer_count = 4096;       // a power of two (the kernel's rule)
    static constexpr unsigned buffer_size = 2048;        // a request or a line fits; bulk takes several
    static constexpr int buffer_group = 0;
    std::size_t buffer_bytes() const noexcept { return std::size_t{buffer_count} * buffer_size; }
    // The ring of buffer descriptors, in whole pages, placed before the buffers.
    static std::size_t ring_bytes() noexcept { return (buffer_count * sizeof(io_uring_buf) + 4095) / 4096 * 4096; }
    unsigned free_buffers = 0;      // in the kernel's hands, ready to be filled
    uring_op* ops = nullptr;        // one-shot requests in flight
    std::size_t multishot_fds = 0;  // uring_fd records alive (also those closing)
};

#endif  // TASKLETS_HAVE_URING

}  // namespace tasklets::detail
