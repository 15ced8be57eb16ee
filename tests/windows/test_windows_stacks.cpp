// Windows: the layout of tasklet stacks (kernel/os/system_windows.cpp) and the TEB fields a
// running tasklet sees, which Windows and Wine read to raise STATUS_STACK_OVERFLOW and to
// bound SEH unwinding. The Linux counterparts are in tests/test_kernel.cpp.
#include <catch2/catch.hpp>
#include <tasklets/tasklets.hpp>

#include <windows.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace {

constexpr std::uintptr_t page = 4096;  // Windows x64
constexpr std::uintptr_t guard = 16 * 1024;

DWORD protection_at(std::uintptr_t address) {
    MEMORY_BASIC_INFORMATION info{};
    REQUIRE(VirtualQuery(reinterpret_cast<void*>(address), &info, sizeof info) == sizeof info);
    REQUIRE(info.State == MEM_COMMIT);
    return info.Protect;
}

// A pointer-sized TEB field, read through gs as the switch writes it.
std::uintptr_t teb_word(std::size_t offset) {
    std::uintptr_t value;
    asm volatile("movq %%gs:(%1), %0" : "=r"(value) : "r"(offset));
    return value;
}

struct seen {
    std::uintptr_t frame = 0;
    std::uintptr_t stack_base = 0, stack_limit = 0, deallocation_stack = 0;
};

}  // namespace

TEST_CASE("windows: stacks are guarded by VirtualProtect", "[windows][stacks]") {
    SYSTEM_INFO info;
    GetSystemInfo(&info);
    REQUIRE(info.dwPageSize == page);
    REQUIRE(tasklets::stack_guard_method() == "VirtualProtect(PAGE_NOACCESS, PAGE_GUARD)");
}

TEST_CASE("windows: every stack has a PAGE_GUARD page below it, a reserve, then PAGE_NOACCESS, and the TEB says so",
          "[windows][stacks]") {
    constexpr std::size_t size = 24 * 1024;  // a size of its own: new slabs
    constexpr int count = 70;               // more than one slab (64 stacks each)
    std::vector<seen> at(count);
    std::vector<tasklets::channel<int>> wake(count);
    std::vector<tasklets::tasklet> parked;
    for (int i = 0; i < count; ++i)
        parked.push_back(tasklets::spawn(tasklets::tasklet_options{size, ""}, [&, i] {
            seen& s = at[static_cast<std::size_t>(i)];
            s.frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
            s.stack_base = teb_word(offsetof(NT_TIB, StackBase));
            s.stack_limit = teb_word(offsetof(NT_TIB, StackLimit));
            // DeallocationStack: the pointer before TlsSlots (arch/windows_x64/frame_windows_x64.h).
            s.deallocation_stack = teb_word(0x1478);
            wake[static_cast<std::size_t>(i)].receive();
        }));
    tasklets::run();
    for (int i = 0; i < count; ++i) {
        INFO("stack " << i);
        const seen& s = at[static_cast<std::size_t>(i)];
        // Its frames are shallow: the top of the stack is the page boundary above them.
        const std::uintptr_t top = (s.frame + page) & ~(page - 1);
        const std::uintptr_t bottom = top - size;
        CHECK(protection_at(bottom) == PAGE_READWRITE);
        CHECK(protection_at(top - 1) == PAGE_READWRITE);
        CHECK(protection_at(bottom - 1) == (PAGE_READWRITE | PAGE_GUARD));     // the guard page
        CHECK(protection_at(bottom - page - 1) == PAGE_READWRITE);             // the reserve...
        CHECK(protection_at(bottom - guard + page) == PAGE_READWRITE);
        CHECK(protection_at(bottom - guard) == PAGE_NOACCESS);                 // ...and the hard stop
        CHECK(protection_at(top) == PAGE_NOACCESS);                            // the next region's hard stop
        // The TEB describes the stack as a thread stack: its guard region included.
        CHECK(s.stack_base == (s.stack_base & ~std::uintptr_t{15}));
        CHECK(s.stack_base <= top);
        CHECK(s.stack_base > top - 1024);
        CHECK(s.stack_limit == bottom - guard);
        CHECK(s.deallocation_stack == bottom - guard);
    }
    for (auto& w : wake) w.send(0);
    tasklets::run();
}
