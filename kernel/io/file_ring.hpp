// File calls on io_uring (kernel/io/file_ring.cpp), for include/tasklets/file.hpp's calls
// when this thread's reactor runs the io_uring backend; kernel/io/files.cpp falls back to
// the helper threads otherwise. Each returns the system call's result (>= 0) or -errno
// (-ETIMEDOUT when the deadline passed). Every byte the kernel reads or writes lives in
// the request's own record, and `keep` holds the file's descriptor open until the kernel
// is done, so a killed or timed-out caller leaves nothing dangling (io/uring.hpp).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace tasklets::detail {

class reactor;

/// This thread's reactor if it runs io_uring (and the build has it), else null.
reactor* file_ring();

#if TASKLETS_HAVE_URING
long ring_open(reactor& r, const std::string& path, int flags, mode_t mode, std::int64_t deadline);
/// Up to n bytes at offset; short only at the end of the file (continues short reads).
long ring_read(reactor& r, std::shared_ptr<void> keep, int fd, void* buf, std::size_t n, std::uint64_t offset,
               std::int64_t deadline);
/// All n bytes at offset, or at the end for append (continues short writes). 0 or -errno.
long ring_write(reactor& r, std::shared_ptr<void> keep, int fd, const void* buf, std::size_t n, std::uint64_t offset,
                bool append, std::int64_t deadline);
long ring_fsync(reactor& r, std::shared_ptr<void> keep, int fd, std::int64_t deadline);
/// statx of a path (fd < 0) or of a descriptor (path empty), into *out.
long ring_stat(reactor& r, std::shared_ptr<void> keep, int fd, const std::string& path, struct ::stat* out,
               std::int64_t deadline);
long ring_rename(reactor& r, const std::string& from, const std::string& to, std::int64_t deadline);
long ring_unlink(reactor& r, const std::string& path, std::int64_t deadline);
#endif

}  // namespace tasklets::detail
