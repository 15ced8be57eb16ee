// The contract between the scheduler and a port's kernel switch: the two symbols every
// port provides or uses (arch/README.md, "The kernel switch"). Each port implements
// tasklets_kernel_switch in assembly (arch/<arch>/switch_*); a port without one builds
// arch/portable/kernel_switch_portable.cpp instead. The scheduler implements the hook.
#pragma once

#include <cstdint>

// The kernel reaches the switch by tail calls (see the ports). On i386 the arguments go in
// registers (eax, edx, ecx), because GCC can tail-call a cdecl function only when its
// stack arguments fit in the caller's own (elsewhere they are in registers anyway), and
// the declaration says hidden, as the symbol is: position-independent i386 code calls a
// default-visibility function through the PLT with the GOT in ebx, which rules out a
// tail call.
#if defined(__i386__)
#define TASKLETS_KERNEL_SWITCH_ABI __attribute__((regparm(3), visibility("hidden")))
#else
#define TASKLETS_KERNEL_SWITCH_ABI
#endif

extern "C" {
/// Saves the running context to *save_sp and resumes target_sp. If run_resume_hook is
/// non-zero, the resumed side first runs tasklets_resume_hook(), which may throw into it.
TASKLETS_KERNEL_SWITCH_ABI void tasklets_kernel_switch(void** save_sp, void* target_sp,
                                                       std::uintptr_t run_resume_hook);
/// The scheduler's work for the tasklet just resumed (kernel/core/tasklet_life.cpp);
/// entered as if called by the resumed code, so what it throws is raised there.
void tasklets_resume_hook();

/// What one step of the shared-stack tasklets' restorer decided: the stack pointer of the
/// tasklet it brought in, and whether the resume hook runs first.
struct tasklets_restorer_next {
    void* target_sp;
    std::uintptr_t run_resume_hook;
};
/// One step of the restorer (kernel/core/shared_stacks.cpp): brings the current tasklet's
/// frames in. Called from assembly by the ports with a restorer frame
/// (tasklets::arch::has_restorer_frame), on the restorer's stack.
__attribute__((visibility("hidden"))) tasklets_restorer_next tasklets_restorer_step() noexcept;
}
