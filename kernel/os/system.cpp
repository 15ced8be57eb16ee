#include "os/system.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <string>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <system_error>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  // Linux 6.13; older headers lack it
#endif

namespace tasklets::detail::sys {

namespace {

[[noreturn]] void fail(int err, const std::string& what) {
    throw std::system_error(err, std::generic_category(), "tasklets: " + what);
}

std::string max_map_count_text() {
    char buf[32] = "65530 by default";
    if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
        long n = 0;
        if (std::fscanf(f, "%ld", &n) == 1) std::snprintf(buf, sizeof buf, "now %ld", n);
        std::fclose(f);
    }
    return buf;
}

// Is a guard installed by MADV_GUARD_INSTALL real? Some environments (QEMU 7.2 user
// mode) accept the call and install nothing. The kernel reports EFAULT when write()
// reads from a guarded page, and no signal is raised either way, so this probe is safe.
bool madvise_guards_work() {
    const std::size_t page = page_size();
    void* p = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    bool real = false;
    if (::madvise(p, page, MADV_GUARD_INSTALL) == 0) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) == 0) {
            real = ::write(fds[1], p, 1) == -1 && errno == EFAULT;
            ::close(fds[0]);
            ::close(fds[1]);
        }
    }
    ::munmap(p, page);
    return real;
}

guard_method choose_guard_method() {
    // TASKLETS_STACK_GUARD=mprotect forces the fallback (tests use it to cover both paths).
    if (const char* forced = std::getenv("TASKLETS_STACK_GUARD"); forced && std::strcmp(forced, "mprotect") == 0)
        return guard_method::mprotect;
    return madvise_guards_work() ? guard_method::madvise_guard : guard_method::mprotect;
}

}  // namespace

std::size_t page_size() noexcept {
    static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

guard_method guard_method_in_use() {
    static const guard_method method = choose_guard_method();
    return method;
}

const char* guard_method_name(guard_method m) noexcept {
    return m == guard_method::madvise_guard ? "madvise(MADV_GUARD_INSTALL)" : "mprotect(PROT_NONE)";
}

void* map_slab(std::size_t bytes) {
    void* p = inject_failure("mmap of a stack slab")
                  ? MAP_FAILED
                  : ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        fail(err, "cannot map " + std::to_string(bytes) + " bytes for tasklet stacks (mmap failed); "
                  "reduce the number of live tasklets or their stack size, or raise the address-space limit (ulimit -v)");
    }
    // A stack touches a page or two; with transparent huge pages set to "always", one
    // touch could otherwise commit 2 MiB. Advice only: failure changes nothing else.
    if (!inject_failure("madvise(MADV_NOHUGEPAGE) of a stack slab")) ::madvise(p, bytes, MADV_NOHUGEPAGE);
    count_slabs(+1);
    return p;
}

void unmap(void* p, std::size_t bytes) noexcept {
    ::munmap(p, bytes);
    count_slabs(-1);
}

void install_guard(void* p, std::size_t bytes) {
    if (guard_method_in_use() == guard_method::madvise_guard) {
        if (!inject_failure("madvise(MADV_GUARD_INSTALL) of a stack guard") &&
            ::madvise(p, bytes, MADV_GUARD_INSTALL) == 0)
            return;
        int err = errno;
        fail(err, "cannot install a stack guard (madvise MADV_GUARD_INSTALL failed); "
                  "set TASKLETS_STACK_GUARD=mprotect to use mprotect guards instead");
    }
    if (!inject_failure("mprotect(PROT_NONE) of a stack guard") && ::mprotect(p, bytes, PROT_NONE) == 0) return;
    int err = errno;
    if (err == ENOMEM)
        fail(err, "cannot guard a new tasklet stack: the process has run out of memory mappings "
                  "(vm.max_map_count, " + max_map_count_text() + "; each mprotect-guarded stack takes two). "
                  "Raise it, e.g. `sysctl -w vm.max_map_count=1048576`, or run on Linux >= 6.13 "
                  "where guard pages need no extra mappings");
    fail(err, "cannot guard a new tasklet stack (mprotect PROT_NONE failed)");
}

namespace {
// Cleared for good when the kernel does not know MADV_POPULATE_WRITE (before 5.14).
// Relaxed: it orders nothing; a thread that reads a stale `true` makes one more call that
// fails harmlessly.
std::atomic<bool> prefault_works{true};
}  // namespace

void prefault(void* p, std::size_t bytes) noexcept {
    if (!prefault_works.load(std::memory_order_relaxed)) return;
    if (::madvise(p, bytes, MADV_POPULATE_WRITE) != 0 && errno == EINVAL)
        prefault_works.store(false, std::memory_order_relaxed);
}

namespace {

// process_madvise(2) on the calling process without a pidfd (Linux >= 6.14 takes this
// sentinel; nothing to open, nothing to leak, nothing stale after fork()).
constexpr int pidfd_self_process = -10001;  // PIDFD_SELF_THREAD_GROUP

// Cleared for good the first time the kernel refuses a batch (older kernels: EBADF for
// the sentinel, EINVAL for the advice; QEMU user mode: ENOSYS). Relaxed, as prefault_works:
// a stale `true` costs one more refused batch, after which the guards go one by one.
std::atomic<bool> batches_work{true};

// All the guards by one process_madvise call per 64 of them (a slab's 65 take two;
// Linux's limit is IOV_MAX, 1024). False if the kernel did not install all of them (the
// caller then installs them one by one: installing a guard twice is harmless).
bool install_guards_batched(std::byte* first, std::size_t stride, std::size_t count, std::size_t bytes) {
    iovec ranges[64];
    for (std::size_t done = 0; done < count;) {
        const std::size_t n = std::min(count - done, sizeof ranges / sizeof ranges[0]);
        for (std::size_t i = 0; i < n; ++i) ranges[i] = {first + (done + i) * stride, bytes};
        const long advised = ::syscall(SYS_process_madvise, pidfd_self_process, ranges, n, MADV_GUARD_INSTALL, 0u);
        if (advised != static_cast<long>(n * bytes)) {
            if (advised < 0) batches_work.store(false, std::memory_order_relaxed);
            return false;
        }
        done += n;
    }
    return true;
}

}  // namespace

void install_guards(std::byte* first, std::size_t stride, std::size_t count, std::size_t bytes) {
    // Fault injection is asked once per guard, as install_guard does, before anything.
    const bool batch = guard_method_in_use() == guard_method::madvise_guard &&
                       batches_work.load(std::memory_order_relaxed);
    if (batch) {
        bool injected = false;
        for (std::size_t i = 0; i < count && !injected; ++i)
            injected = inject_failure("madvise(MADV_GUARD_INSTALL) of a stack guard");
        if (injected)
            fail(ENOMEM, "cannot install a stack guard (madvise MADV_GUARD_INSTALL failed); "
                         "set TASKLETS_STACK_GUARD=mprotect to use mprotect guards instead");
        if (install_guards_batched(first, stride, count, bytes)) return;
    }
    for (std::size_t i = 0; i < count; ++i) install_guard(first + i * stride, bytes);
}

}  // namespace tasklets::detail::sys
