// The raw context layer linked into a program built with -fcf-protection=full (see
// tests/CMakeLists.txt): 1,000 switches through the switch's notrack jumps and the first
// entry's tracked jump; exits 0 when every value came back.
#include "kernel_switch.h"

#include <tasklets/context.hpp>

#include <cstdint>
#include <cstdio>

namespace {
tasklets::context main_context, self;
alignas(16) unsigned char stack[64 * 1024];
void entry(void* v) {
    for (;;) v = tasklets::switch_context(self, main_context, static_cast<char*>(v) + 1);
}
}  // namespace

// The scheduler's resume hook and the shared-stack restorer's step, referenced by the
// assembly kernel switch and restorer frame; never reached here (only the scheduler
// calls them).
extern "C" void tasklets_resume_hook() { __builtin_trap(); }
extern "C" tasklets_restorer_next tasklets_restorer_step() noexcept { __builtin_trap(); }

int main() {
    tasklets::context fresh = tasklets::make_context(stack, sizeof stack, &entry);
    void* r = tasklets::switch_context(main_context, fresh, nullptr);
    for (int i = 0; i < 999; ++i) r = tasklets::switch_context(main_context, self, r);
    const auto n = reinterpret_cast<std::uintptr_t>(r);
    std::printf("%ju switches\n", static_cast<std::uintmax_t>(n));
    return n == 1000 ? 0 : 1;
}
