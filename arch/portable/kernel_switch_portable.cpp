// The scheduler's switch for ports without an assembly tasklets_kernel_switch: the
// public switch carries the resume-hook request across as its value, and the resumed
// side runs the hook in its own frame. Correct everywhere; what it does not avoid is the
// mispredicted return after each switch (arch/x86_64/switch_x86_64.asm explains).
#include "kernel_switch.h"

#include <tasklets/context.hpp>

extern "C" TASKLETS_KERNEL_SWITCH_ABI void tasklets_kernel_switch(void** save_sp, void* target_sp,
                                                                  std::uintptr_t run_resume_hook) {
    if (tasklets_switch_context(save_sp, target_sp, reinterpret_cast<void*>(run_resume_hook)))
        tasklets_resume_hook();
}
