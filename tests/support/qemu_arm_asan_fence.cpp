// Linked into every test program and example of the armhf ASan build under QEMU only
// (cmake/qemu_asan.cmake), never into the library.
//
// ASan on 32-bit ARM lays out its shadow for the ARM kernel's 3 GiB of user space: it
// checks addresses up to 0xbfffffff and treats the rest as outside memory. qemu-arm gives
// a 32-bit guest all 4 GiB and, once the area below the guest's stack is used up, places
// new mappings at the top, above 3 GiB: thread stacks landed at 0xff0634ec, and ASan
// stopped with "CHECK failed: asan_mapping.h: AddrIsInMem(p)" on the first access there.
// QEMU cannot be told to keep the guest below 3 GiB (-R 0xbf000000 aborts it: ARM's
// commpage must sit at 0xffff0000). So the program fences off what an ARM kernel does not
// give user space, from 0xbf000000 (its TASK_SIZE with the 3G/1G split) to the commpage,
// PROT_NONE and without reserving memory, before main() runs; QEMU then places every later
// mapping where it would be on ARM, and where ASan checks it. (A fence from 0xc0000000 was
// not enough: QEMU then put a fake stack right below it, and ASan's CHECK failed on the
// fake stack's end address, 0xc0000000, when it was freed.) On an ARM kernel the range is
// not user space, the mmap fails, and nothing changes.
#include <sys/mman.h>

#include <cstdint>

namespace {

// After the shared libraries' constructors (ASan's own start-up among them), before the
// program's: nothing of ours has mapped memory yet.
__attribute__((constructor(101))) void fence_off_memory_above_3_gib() {
    constexpr std::uintptr_t start = 0xbf000000u;
    constexpr std::uintptr_t end = 0xffff0000u;  // ARM's commpage (kuser helpers) stays
    ::mmap(reinterpret_cast<void*>(start), end - start, PROT_NONE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
}

}  // namespace
