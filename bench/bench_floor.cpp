// memory floor: the cost of the first touch of a fresh anonymous page, measured in the
// same binary the same way the park drivers are (a fresh process, one touch per page,
// pages 68 KiB apart like guard-paged 64 KiB stacks, transparent huge pages off).
// A parked context must touch at least one fresh page (the top of its stack), so this is
// the floor of the time per spawn-and-park and of the RSS per parked context.
#include "common.hpp"

#include <sys/mman.h>

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

}  // namespace
