// tasklets — armhf (32-bit ARM, AAPCS, VFP hard-float) context switch, GNU as,
// C-preprocessed, Thumb-2.
//
// A suspended context is nothing but a stack pointer. Everything AAPCS says a callee
// must preserve (r4-r11, sp, the return address in lr, d8-d15, and the control bits of
// FPSCR) is stored on that context's own stack, in one 104-byte frame the switch
// reserves below the caller's sp. 104 is a multiple of 8, so sp keeps the 8-byte
// alignment AAPCS requires at every public interface:
//
//            higher addresses
//         +--------------------+
//   +104  |  caller's frame    |  <- sp of the code that called the switch
//         +====================+
//   +100  |  lr                |  the resume address (Thumb bit included)
//    +96  |  r11               |  frame pointer of ARM-state code
//    ...  |  ...               |
//    +80  |  r7                |  frame pointer of Thumb code
//    ...  |  ...               |
//    +68  |  r4                |  r4-r11, lr: one stm/ldm
//    +64  |  FPSCR control     |  control bits only; see "FP control" below
//    +56  |  d15               |
//    ...  |  ...               |
//     +0  |  d8                |  <- saved stack pointer (the context); one vstm/vldm
//         +--------------------+
//            lower addresses
//
// The offsets are defined once, in frame_armhf.h, which C++ static_asserts too. Two
// functions store and load this frame: tasklets_switch_context, the public switch, and
// tasklets_kernel_switch, the scheduler's (reached by tail calls, optionally entering the
// resume hook; see its comment below). Either resumes what the other suspended.
//
// A fresh context (context_armhf.cpp) is the same frame at the very top of its stack
// (aligned to 16, more than AAPCS asks) with r4 = the entry function, r7 = r11 = 0,
// lr = tasklets_armhf_first_entry and the FPSCR control bits copied from the creator:
//
//         +--------------------+  <- stack top, 16-byte aligned: sp at the entry
//         |  frame as above    |
//         +--------------------+  <- the context
//
// Choices:
// - Thumb-2, not ARM state: it is what GCC generates for armhf by default (Debian's
//   baseline is ARMv7-A with -mthumb), so the switch runs in the same state as the code
//   around it, and is denser. Every branch that leaves the switch or the trampoline for
//   code it does not know is a `bx` (interworking): a caller in ARM state left an even
//   lr, a Thumb caller an odd one, and bx enters each in its own state; the entry
//   function pointer has the same convention. Nothing here needs ARM state.
// - Hard-float only: d8-d15 are callee-saved under the VFP variant of AAPCS, and armhf
//   promises VFP (at least VFPv3-D16: d0-d15, so d16-d31, caller-saved anyway, may not
//   even exist and are never touched). A soft-float (armel) port would drop the VFP part.
// - r9 is callee-saved on Linux (AAPCS's "platform register" is an ordinary variable
//   register there), r12 (ip) is scratch, as for any callee and for the linker's veneers.
// - FP control: FPSCR holds both control (RMode, FZ, DN, AHP, Len/Stride, trap enables:
//   bits 8-26) and status (the cumulative exception flags, QC, NZCV). Control belongs to
//   the code that set it, like a callee-saved register, so the frame keeps the control
//   bits and a fresh context inherits its creator's (the rule of every port,
//   arch/README.md). Status is not part of a context: the flags stay with the thread, as
//   on AArch64 (FPSR) and RISC-V (fflags). The two share one register, so when the
//   control bits differ the restore merges the target's control into the running
//   status; when they are equal (nearly always) FPSCR is not written at all, since
//   vmsr may wait for every pending VFP instruction.
// - Unwinding: C++ exceptions on ARM use EHABI tables (.ARM.exidx), which describe one
//   frame state per function and cannot describe a function that changes stacks
//   half-way. Nothing ever unwinds through a switch: it calls nothing, and the resume
//   hook (below) is entered after the frame is gone, as if the resumed code had called
//   it. So both switches and the first-entry trampoline are marked .cantunwind: an
//   unwinder that samples a pc in them (a profiler) stops there, the EHABI way of saying
//   "end of stack". The DWARF .cfi_* directives go to .debug_frame (.cfi_sections),
//   which gdb reads: a backtrace taken inside a switch is right on both stacks, since
//   the target's frame has the same shape.

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) .equ name, value
#include "frame_armhf.h"

        .syntax unified
        .thumb
        .fpu    vfpv3-d16
        .cfi_sections .debug_frame
        .text

// Both switches below store and load the frame with these macros, so a context
// suspended by one is resumed by the other, and a fresh frame from prepare_stack suits
// both.

// Stores the running context's callee-saved state in a frame below sp and publishes the
// frame's address to [r0]. Leaves the running FPSCR control bits in r3 for the restore
// to compare with. r0-r2 are kept.
        .macro  save_running_context
        sub     sp, sp, #TASKLETS_FRAME_SIZE
        .cfi_adjust_cfa_offset TASKLETS_FRAME_SIZE
        vstm    sp, {d8-d15}              // TASKLETS_FRAME_D8 == 0: at sp itself
        add     r12, sp, #TASKLETS_FRAME_R4
        stm     r12, {r4-r11, lr}
        .cfi_rel_offset r4, TASKLETS_FRAME_R4
        .cfi_rel_offset r5, TASKLETS_FRAME_R5
        .cfi_rel_offset r6, TASKLETS_FRAME_R6
        .cfi_rel_offset r7, TASKLETS_FRAME_R7
        .cfi_rel_offset r8, TASKLETS_FRAME_R8
        .cfi_rel_offset r9, TASKLETS_FRAME_R9
        .cfi_rel_offset r10, TASKLETS_FRAME_R10
        .cfi_rel_offset r11, TASKLETS_FRAME_R11
        .cfi_rel_offset lr, TASKLETS_FRAME_RESUME
        vmrs    r3, fpscr
        // Keep the control bits only (zero-extended, then back in place): the frame holds
        // no flags, so two contexts compare equal whatever flags were raised meanwhile.
        ubfx    r3, r3, #TASKLETS_FPSCR_CONTROL_LSB, #TASKLETS_FPSCR_CONTROL_WIDTH
        lsl     r3, r3, #TASKLETS_FPSCR_CONTROL_LSB
        str     r3, [sp, #TASKLETS_FRAME_FPSCR]
        str     sp, [r0]                  // publish before leaving: the target may read it
        .endm

// Moves onto the context in r1 and restores its callee-saved state, releasing its frame:
// afterwards sp and lr are exactly as the resumed code's call into a switch left them.
// FP control that differs is merged in out of line (restore_fp_control_slow_path, after
// the function's last branch). r0 and r2 are left alone.
        .macro  restore_target_context name
        mov     sp, r1                    // --- now on the target's stack ---
        ldr     r12, [sp, #TASKLETS_FRAME_FPSCR]
        cmp     r12, r3
        bne     .L\name\()_fp_differs
.L\name\()_fp_done:
        vldm    sp, {d8-d15}
        add     r12, sp, #TASKLETS_FRAME_R4
        ldm     r12, {r4-r11, lr}
        add     sp, sp, #TASKLETS_FRAME_SIZE  // sp is now as the resumed caller left it
        .cfi_adjust_cfa_offset -TASKLETS_FRAME_SIZE
        .cfi_restore r4
        .cfi_restore r5
        .cfi_restore r6
        .cfi_restore r7
        .cfi_restore r8
        .cfi_restore r9
        .cfi_restore r10
        .cfi_restore r11
        .cfi_restore lr
        .endm

// The rare half of restore_target_context: the target's control bits (r12) differ from
// ours. The running status bits are kept (they belong to the thread), the control bits
// replaced.
        .macro  restore_fp_control_slow_path name
.L\name\()_fp_differs:
        vmrs    r3, fpscr
        bfc     r3, #TASKLETS_FPSCR_CONTROL_LSB, #TASKLETS_FPSCR_CONTROL_WIDTH
        orr     r3, r3, r12
        vmsr    fpscr, r3
        b       .L\name\()_fp_done
        .endm

// void* tasklets_switch_context(void** save_sp, void* target_sp, void* value)
//   r0 = where to store the running context, r1 = context to resume,
//   r2 = value handed to the resumed side, which sees it as this call's result.
        .global tasklets_switch_context
        .type   tasklets_switch_context, %function
        .thumb_func
        .p2align 4
tasklets_switch_context:
        .fnstart
        .cantunwind                       // see "Unwinding" in the header
        .cfi_startproc
        save_running_context
        .cfi_remember_state               // the frame is live: the slow path's state
        restore_target_context public_switch
        mov     r0, r2                    // the value is the resumed call's result
        bx      lr                        // interworking: the caller's own state
        .cfi_restore_state
        restore_fp_control_slow_path public_switch
        .cfi_endproc
        .fnend
        .size   tasklets_switch_context, . - tasklets_switch_context

// void tasklets_kernel_switch(void** save_sp, void* target_sp, uintptr_t run_resume_hook)
//   The scheduler's switch (arch/kernel_switch.h; kernel/core/switch.hpp calls it). The
//   kernel reaches it by tail calls (b), so lr at the entry is the *user's* return
//   address and sp the user's: the frame saved is the one tasklets_switch_context would
//   save had the user called it, and the resumed side goes straight back into user code.
//   r0 is not set: the kernel's switches return nothing, and the kernel's entry function
//   (which a fresh frame's trampoline calls with r0) ignores its argument.
//
//   With r2 != 0 the switcher asks for resume-time work first (free a dead tasklet's
//   stack, raise an exception thrown into the resumed tasklet): then we branch (b, not
//   bl) to tasklets_resume_hook with sp and lr exactly as a `bl` in the resumed code
//   would have left them, so the hook is, to itself and to the unwinder, a function the
//   resumed code called: it returns to the resume address, and if it throws, the EHABI
//   unwinder finds the resumed code's frame from lr and unwinds into it.
        .global tasklets_kernel_switch
        .hidden tasklets_kernel_switch
        .type   tasklets_kernel_switch, %function
        .thumb_func
        .p2align 4
tasklets_kernel_switch:
        .fnstart
        .cantunwind                       // see "Unwinding" in the header
        .cfi_startproc
        save_running_context
        .cfi_remember_state               // the frame is live: the slow path's state
        restore_target_context kernel_switch
        cbnz    r2, 1f
        bx      lr
        // Not hidden, so reached as any call to it would be: through the PLT in a shared
        // library (the linker adds a veneer if the PLT entry is in ARM state).
1:      b       tasklets_resume_hook
        .cfi_restore_state
        restore_fp_control_slow_path kernel_switch
        .cfi_endproc
        .fnend
        .size   tasklets_kernel_switch, . - tasklets_kernel_switch

// First resumption of a fresh context: either switch above returned here (bx lr, in
// Thumb state: the frame's lr has the Thumb bit) with r4 = entry function, r7 = r11 = 0,
// sp = the stack top, and r0 = value (tasklets_switch_context) or whatever it was
// (tasklets_kernel_switch: the kernel's entry ignores it). Never with the resume hook:
// the kernel asks for it only when resuming a tasklet that has run.
        .global tasklets_armhf_first_entry
        .hidden tasklets_armhf_first_entry
        .type   tasklets_armhf_first_entry, %function
        .thumb_func
        .p2align 4
tasklets_armhf_first_entry:
        .fnstart
        .cantunwind                       // EHABI: no caller, unwinders stop here
        .cfi_startproc
        .cfi_undefined lr                 // DWARF (gdb): the same
        mov     lr, #0                    // null return address; r7 = r11 = 0: null frame
        bx      r4                        // entry(value), in its own state; never returns
        .cfi_endproc
        .fnend
        .size   tasklets_armhf_first_entry, . - tasklets_armhf_first_entry

        .section .note.GNU-stack, "", %progbits
