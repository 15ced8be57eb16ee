// Which backend the reactors of this process use: io_uring where the kernel offers all
// that the backend needs, epoll otherwise, or what TASKLETS_IO_BACKEND says.
//
// The probe does what the backend will do, once, on a socket pair: a ring with the setup
// flags the reactor asks for, a provided-buffer ring, a multishot receive that must come
// back with a buffer and IORING_CQE_F_MORE. Anything refused — io_uring_setup denied by a
// container's seccomp profile (EPERM) or by kernel.io_uring_disabled, missing under
// emulation (ENOSYS: qemu-user), a kernel older than 6.0 (no multishot receive) — means
// epoll, which every Linux has.
//
// Under Valgrind, auto means epoll: Valgrind 3.19 does not know that io_uring_enter
// blocks, keeps its big lock across it, and so never lets a helper thread run while the
// reactor waits for that helper's reply (the process hangs). Forcing io_uring is honoured.
#include "io/uring.hpp"
#include "os/instrument.hpp"

#include <tasklets/io.hpp>

#include <sys/socket.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace tasklets::detail {

namespace {

struct probe_result {
    bool ok = false;
    int err = 0;          // why not (errno)
    const char* step = "";  // what was refused
};

#if TASKLETS_HAVE_URING
probe_result probe_uring() {
    probe_result r;
    io_uring ring{};
    int rc = io_uring_queue_init(8, &ring, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
    if (rc == -EINVAL) rc = io_uring_queue_init(8, &ring, 0);  // older kernel: plain flags
    if (rc < 0) {
        r.err = -rc;
        r.step = "io_uring_setup";
        return r;
    }
    int sv[2] = {-1, -1};
    void* memory = MAP_FAILED;
    const std::size_t bytes = 4096 + 2 * 64;
    do {
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
            r.err = errno;
            r.step = "socketpair";
            break;
        }
        memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED) {
            r.err = errno;
            r.step = "mmap";
            break;
        }
        auto* br = static_cast<io_uring_buf_ring*>(memory);
        io_uring_buf_reg reg{};
        reg.ring_addr = reinterpret_cast<std::uintptr_t>(br);
        reg.ring_entries = 2;
        reg.bgid = 0;
        rc = io_uring_register_buf_ring(&ring, &reg, 0);
        if (rc < 0) {
            r.err = -rc;
            r.step = "IORING_REGISTER_PBUF_RING";
            break;
        }
        io_uring_buf_ring_init(br);
        auto* data = static_cast<std::byte*>(memory) + 4096;
        for (unsigned i = 0; i < 2; ++i) io_uring_buf_ring_add(br, data + i * 64, 64, static_cast<unsigned short>(i), 1, static_cast<int>(i));
        io_uring_buf_ring_advance(br, 2);
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        io_uring_prep_recv_multishot(sqe, sv[0], nullptr, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = 0;
        if (::write(sv[1], "x", 1) != 1) {
            r.err = errno;
            r.step = "write";
            break;
        }
        io_uring_cqe* cqe = nullptr;
        rc = io_uring_submit_and_wait(&ring, 1);
        if (rc >= 0) rc = io_uring_peek_cqe(&ring, &cqe);
        if (rc < 0 || !cqe) {
            r.err = rc < 0 ? -rc : EIO;
            r.step = "multishot receive";
            break;
        }
        if (cqe->res != 1 || !(cqe->flags & IORING_CQE_F_MORE) || !(cqe->flags & IORING_CQE_F_BUFFER)) {
            r.err = cqe->res < 0 ? -cqe->res : EOPNOTSUPP;
            r.step = "multishot receive";
            break;
        }
        r.ok = true;
    } while (false);
    io_uring_queue_exit(&ring);  // cancels the receive, drops the buffer registration
    if (memory != MAP_FAILED) ::munmap(memory, bytes);
    if (sv[0] >= 0) ::close(sv[0]);
    if (sv[1] >= 0) ::close(sv[1]);
    return r;
}
#endif

struct choice {
    backend_kind kind = backend_kind::epoll;
    std::string error;  // forced io_uring that cannot be had, or a bad variable
    bool invalid = false;
};

choice decide() {
    choice c;
    std::string wanted = "auto";
    if (const char* v = std::getenv("TASKLETS_IO_BACKEND"); v && *v) wanted = v;
    if (wanted == "epoll") return c;
    if (wanted != "auto" && wanted != "io_uring") {
        c.invalid = true;
        c.error = "tasklets: TASKLETS_IO_BACKEND=\"" + wanted + "\" is not a backend; use epoll, io_uring or auto";
        return c;
    }
#if TASKLETS_HAVE_URING
    if (wanted == "auto" && instrument::on_valgrind()) return c;
    const probe_result p = probe_uring();
    if (p.ok) {
        c.kind = backend_kind::io_uring;
        return c;
    }
    if (wanted == "io_uring")
        c.error = std::string("tasklets: TASKLETS_IO_BACKEND=io_uring, but this kernel refuses it (") + p.step + ": " +
                  std::strerror(p.err) + "); unset the variable or set it to auto to fall back to epoll";
#else
    if (wanted == "io_uring")
        c.error = "tasklets: TASKLETS_IO_BACKEND=io_uring, but this build has no io_uring backend (liburing was not "
                  "found when it was configured); install liburing-dev and reconfigure, or use epoll";
#endif
    return c;
}

const choice& process_choice() {
    static const choice c = decide();
    return c;
}

}  // namespace

backend_kind chosen_backend() {
    const choice& c = process_choice();
    if (c.invalid) throw std::invalid_argument(c.error);
    if (!c.error.empty()) throw std::runtime_error(c.error);
    return c.kind;
}

}  // namespace tasklets::detail

namespace tasklets {

io_backend current_io_backend() {
    return detail::chosen_backend() == detail::backend_kind::io_uring ? io_backend::io_uring : io_backend::epoll;
}

std::string_view to_string(io_backend b) noexcept { return b == io_backend::io_uring ? "io_uring" : "epoll"; }

}  // namespace tasklets
