// memory floor: the cost of the first touch of a fresh anonymous page, measured in the
// same binary the same way the park drivers are (a fresh process, one touch per page,
// pages 68 KiB apart like guard-paged 64 KiB stacks, transparent huge pages off).
// A parked context must touch at least one fresh page (the top of its stack), so this is
// the floor of the time per spawn-and-park and of the RSS per parked context.
#include "common.hpp"

#include <cstring>
#include <string>

#include <cerrno>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <vector>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102  // Linux 6.13
#endif

namespace {

bench::park_result park_fresh_page(long count, void (*progress)(long)) {
    bench::park_result r;
    r.note = "one write per fresh 4 KiB page, 68 KiB apart, MADV_NOHUGEPAGE";
    const std::size_t stride = 68 * 1024;
    const std::size_t bytes = stride * static_cast<std::size_t>(count);
    auto* base = static_cast<char*>(
        ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
    if (base == MAP_FAILED) {
        r.note += "; mmap failed";
        return r;
    }
    ::madvise(base, bytes, MADV_NOHUGEPAGE);
    const double t0 = bench::now_seconds();
    for (long i = 0; i < count; ++i) {
        // The top page of each "stack", as a stack is used from its top.
        *static_cast<volatile char*>(base + stride * static_cast<std::size_t>(i) + stride - 64) = 1;
        if ((i + 1) % 10000 == 0) r.parked = i + 1;
    }
    r.parked = count;
    r.seconds = bench::now_seconds() - t0;
    progress(count);
    return r;
}
BENCH_REGISTER(bench::add_park("fresh_page", &park_fresh_page));

// The floor of a *guard-paged* stack: slabs laid out as tasklets' pool lays them out
// ([16 KiB guard][64 KiB stack] x 64 + guard, one mmap each, guards by MADV_GUARD_INSTALL)
// and one write to the top page of each stack. `batched` installs a slab's 65 guards with
// one process_madvise(2) call instead of 65 madvise(2) calls; `prefaulted` also commits
// each top page with madvise(MADV_POPULATE_WRITE) before writing to it, as tasklets' pool
// does for a stack it hands out for the first time (one system call instead of a fault).
bench::park_result guarded(long count, void (*progress)(long), bool batched, bool prefaulted = false) {
    bench::park_result r;
    r.note = batched ? "pool layout, guards by one process_madvise per 64-stack slab"
                     : "pool layout, guards by one madvise per stack";
    if (prefaulted) r.note += ", top page by madvise(MADV_POPULATE_WRITE)";
    const std::size_t guard = 16 * 1024, stack = 64 * 1024, per_slab = 64;
    const std::size_t slab_bytes = guard + per_slab * (stack + guard);
    int pidfd = -1;
    if (batched) {
        pidfd = static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0));
        if (pidfd < 0) { r.note += "; pidfd_open failed"; return r; }
    }
    std::vector<iovec> iov(per_slab + 1);
    const double t0 = bench::now_seconds();
    char* slab = nullptr;
    for (long i = 0; i < count; ++i) {
        const std::size_t k = static_cast<std::size_t>(i) % per_slab;
        if (k == 0) {
            slab = static_cast<char*>(::mmap(nullptr, slab_bytes, PROT_READ | PROT_WRITE,
                                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0));
            if (slab == MAP_FAILED) { r.note += "; mmap failed"; break; }
            for (std::size_t g = 0; g <= per_slab; ++g) iov[g] = {slab + g * (stack + guard), guard};
            if (batched) {
                const long done = ::syscall(SYS_process_madvise, pidfd, iov.data(), iov.size(), MADV_GUARD_INSTALL, 0);
                if (done != static_cast<long>((per_slab + 1) * guard)) {
                    r.note += "; process_madvise(MADV_GUARD_INSTALL) failed: " + std::string(std::strerror(errno));
                    break;
                }
            } else {
                for (auto& v : iov)
                    if (::madvise(v.iov_base, v.iov_len, MADV_GUARD_INSTALL) != 0) {
                        r.note += "; madvise(MADV_GUARD_INSTALL) failed";
                        i = count;
                        break;
                    }
                if (i == count) break;
            }
        }
        char* top = slab + guard + k * (stack + guard) + stack;
        if (prefaulted && ::madvise(top - 4096, 4096, MADV_POPULATE_WRITE) != 0) {
            r.note += "; madvise(MADV_POPULATE_WRITE) failed: " + std::string(std::strerror(errno));
            break;
        }
        *static_cast<volatile char*>(top - 64) = 1;
        r.parked = i + 1;
    }
    r.seconds = bench::now_seconds() - t0;
    progress(r.parked);
    return r;
}
bench::park_result park_guarded(long count, void (*progress)(long)) { return guarded(count, progress, false); }
bench::park_result park_guarded_batched(long count, void (*progress)(long)) { return guarded(count, progress, true); }
bench::park_result park_guarded_prefaulted(long count, void (*progress)(long)) {
    return guarded(count, progress, true, true);
}
BENCH_REGISTER(bench::add_park("fresh_page_guarded", &park_guarded));
BENCH_REGISTER(bench::add_park("fresh_page_guarded_batched", &park_guarded_batched));
BENCH_REGISTER(bench::add_park("fresh_page_guarded_prefaulted", &park_guarded_prefaulted));

}  // namespace
