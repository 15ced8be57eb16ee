// tasklets — s390x (64-bit z/Architecture ELF ABI) context switch, GNU as, C-preprocessed.
//
// A suspended context is nothing but a stack pointer (r15). Everything the ABI says a
// callee must preserve is stored on that context's own stack. Every s390x caller provides
// its callee a 160-byte register save area at 0(r15), so the switch, like any compiled
// function, stores r6-r15 there with one stmg in the ABI's slots (r6 at +48), and
// allocates only the rest below it, 72 bytes (a multiple of 8, the ABI's alignment):
//
//            higher addresses
//         +--------------------+
//  +232   |  caller's frame    |
//         +--------------------+  <- caller's sp + 160
//  +192   |  r15               |  the caller's sp: lmg reloads it, releasing the frame
//  +184   |  r14               |  the resume address
//   ...   |  r6 ... r13        |  (+120 .. +176)
//   +72   |  slots 0-47 unused |  (back chain, r2-r5: not ours to need)
//         +====================+  <- sp of the code that called the switch (+72)
//   +64   |  FPC (32 bits), pad|  see "FP control" below
//   +56   |  f15               |
//   ...   |  ...               |
//    +0   |  f8                |  <- saved stack pointer (the context)
//         +--------------------+
//            lower addresses
//
// The offsets are defined once, in frame_s390x.h, which C++ static_asserts too.
// Two functions store and load this frame: tasklets_switch_context, the public switch,
// and tasklets_kernel_switch, the scheduler's (reached by tail calls, optionally entering
// the resume hook; see its comment below). Either resumes what the other suspended.
//
// A fresh context (context_s390x.cpp) is the same frame with its save-area part being
// the entry function's own register save area, 160 bytes at the very top of the stack:
//
//         +--------------------+  <- stack top, 8-byte aligned
//         |  save area, zeroed |  r7 = the entry function, r14 = the trampoline,
//         |  but r7, r14, r15  |  r15 = top - 160; the back chain slot at its bottom is 0
//         +--------------------+  <- top - 160: r15 at the entry
//         |  f8-f15 = 0, FPC   |  FPC copied from the creator
//         +--------------------+  <- the context (top - 232)
//
// lmg reads r6-r15 from the entry's save area before the entry can overwrite it, so the
// whole fresh frame costs 232 bytes (within tasklets::min_context_stack).
//
// Register choices:
// - a0/a1 (the access registers holding the thread pointer) are never touched: they
//   belong to the thread, and a tasklet runs on its creator's thread.
// - r0 and r1 are the scratch registers, as for any callee (r1 is also what a PLT stub
//   may clobber). r2 carries the value across: it is the first argument of a fresh
//   context's entry and the return value of a resumed switch.
// - The switch returns with `br %r14`, as every s390x function does: z/Architecture has
//   no return instruction, only branches to a register (BCR), so there is no `ret` to
//   avoid as x86-64 and RISC-V do; r14 must hold the resume address anyway for the
//   resume hook and for unwinders.
// - Vector registers (z13 and later): f8-f15 are the leftmost halves of v8-v15, and the
//   ABI makes the rest of every vector register volatile, so f8-f15 is the whole set.
// - No back chain. GCC does not keep one on Linux s390x unless asked (-mbackchain), and
//   glibc's backtrace() and C++ exceptions unwind with DWARF CFI, so storing one would
//   cost a store per switch for no reader. A fresh frame still has a null back chain at
//   the bottom of its entry's save area, so code built with -mbackchain stops there.
// - FP control: the ABI makes the FPC non-volatile except for the IEEE flags and the DXC
//   (the "data exception code"), which are status. So the switch saves the whole FPC but
//   restores only its control bits (IEEE masks 0-5 and the DFP and BFP rounding modes,
//   0xfc000077 as a 32-bit value), keeping the running flags and DXC: the flags are per
//   thread, as <fenv.h> keeps them, like AArch64's FPSR and RISC-V's fflags. SET FPC may
//   serialise, so it runs only when the two contexts' control bits differ. A fresh
//   context inherits its creator's.
// - Position independence: the public switch refers to no symbol; the kernel switch's
//   one reference, to tasklets_resume_hook, is a `jg ...@PLT` (PC-relative, through the
//   PLT when the symbol is preemptible). The fresh frame gets the trampoline's address
//   from C++, which computes it PC-relatively (larl).

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) .equ name, value
#include "frame_s390x.h"

// The FPC's control bits: exception masks (bits 0-5 of the register) and the DFP and BFP
// rounding modes (bits 25-27 and 29-31). Flags (8-13) and DXC (16-23) are status.
        .equ    TASKLETS_FPC_CONTROL, 0xfc000077

        .text

// Both switches below store and load the frame with these two macros, so a context
// suspended by one is resumed by the other (and a fresh frame from prepare_stack suits
// both). CFA = r15 + 160 at the entry, the ABI's default rule (the CIE's).

// Stores the running context's callee-saved state (r14 as the resume address) and
// publishes the frame's address to 0(r2). Leaves the running FPC in r0 for the restore
// to compare with.
        .macro  save_running_context
        stmg    %r6, %r15, TASKLETS_FRAME_R6 - TASKLETS_FRAME_SIZE(%r15)  // in the caller's save area
        // Described for a backtrace taken inside the switch; the rules hold on both
        // stacks, because the target's frame has the same shape.
        .cfi_offset %r6,  TASKLETS_FRAME_R6  - TASKLETS_FRAME_SIZE - TASKLETS_SAVE_AREA_SIZE
        .cfi_offset %r7,  TASKLETS_FRAME_R7  - TASKLETS_FRAME_SIZE - TASKLETS_SAVE_AREA_SIZE
        .cfi_offset %r8,  TASKLETS_FRAME_R8  - TASKLETS_FRAME_SIZE - TASKLETS_SAVE_AREA_SIZE
        .cfi_offset %r9,  TASKLETS_FRAME_R9  - TASKLETS_FRAME_SIZE - TASKLETS_SAVE_AREA_SIZE
        .cfi_offset %r10, TASKLETS_FRAME_R10 - TASKLETS_FRAME_SIZE - TASKLETS_SAVE_AREA_SIZE
        .cfi_offset %r11, TASKLETS_FRAME_R11 - TASKLETS_FRAME_SIZE - TASKLETS_SAVE_AREA_SIZE
        .cfi_offset %r12, TASKLETS_FRAME_R12 - TASKLETS_FRAME_SIZE - TASKLETS_SAVE_AREA_SIZE
        .cfi_offset %r13, TASKLETS_FRAME_R13 - TASKLETS_FRAME_SIZE - TASKLETS_SAVE_AREA_SIZE
        .cfi_offset %r14, TASKLETS_FRAME_R14 - TASKLETS_FRAME_SIZE - TASKLETS_SAVE_AREA_SIZE
        .cfi_offset %r15, TASKLETS_FRAME_R15 - TASKLETS_FRAME_SIZE - TASKLETS_SAVE_AREA_SIZE
        aghi    %r15, -TASKLETS_FRAME_SIZE  // before the FPR stores: a signal may come any time
        .cfi_adjust_cfa_offset TASKLETS_FRAME_SIZE
        std     %f8,  TASKLETS_FRAME_F8(%r15)
        std     %f9,  TASKLETS_FRAME_F9(%r15)
        std     %f10, TASKLETS_FRAME_F10(%r15)
        std     %f11, TASKLETS_FRAME_F11(%r15)
        std     %f12, TASKLETS_FRAME_F12(%r15)
        std     %f13, TASKLETS_FRAME_F13(%r15)
        std     %f14, TASKLETS_FRAME_F14(%r15)
        std     %f15, TASKLETS_FRAME_F15(%r15)
        efpc    %r0                         // the whole FPC, into r0's low half
        st      %r0,  TASKLETS_FRAME_FPC(%r15)
        stg     %r15, 0(%r2)                // publish before leaving: the target may read it
        .endm

// Moves onto the context in r3, restores its callee-saved state and releases its frame:
// afterwards r15 is as the resumed code's call into a switch left it and r14 is the
// resume address. r2-r4 are left alone.
        .macro  restore_target_context
        lgr     %r15, %r3                   // --- now on the target's stack ---

        l       %r1,  TASKLETS_FRAME_FPC(%r15)
        xr      %r1,  %r0                   // which bits differ from the running FPC...
        nilf    %r1,  TASKLETS_FPC_CONTROL  // ...among the control bits (CC 0: none)
        jz      1f
        xr      %r1,  %r0                   // running FPC with the target's control bits
        sfpc    %r1
1:      ld      %f8,  TASKLETS_FRAME_F8(%r15)
        ld      %f9,  TASKLETS_FRAME_F9(%r15)
        ld      %f10, TASKLETS_FRAME_F10(%r15)
        ld      %f11, TASKLETS_FRAME_F11(%r15)
        ld      %f12, TASKLETS_FRAME_F12(%r15)
        ld      %f13, TASKLETS_FRAME_F13(%r15)
        ld      %f14, TASKLETS_FRAME_F14(%r15)
        ld      %f15, TASKLETS_FRAME_F15(%r15)
        lmg     %r6, %r15, TASKLETS_FRAME_R6(%r15)  // r15 last: the resumed caller's sp
        .cfi_def_cfa_offset TASKLETS_SAVE_AREA_SIZE
        .cfi_restore %r6
        .cfi_restore %r7
        .cfi_restore %r8
        .cfi_restore %r9
        .cfi_restore %r10
        .cfi_restore %r11
        .cfi_restore %r12
        .cfi_restore %r13
        .cfi_restore %r14
        .cfi_restore %r15
        .endm

// void* tasklets_switch_context(void** save_sp, void* target_sp, void* value)
//   r2 = where to store the running context, r3 = context to resume,
//   r4 = value handed to the resumed side, which sees it as this call's result.
        .global tasklets_switch_context
        .type   tasklets_switch_context, @function
        .balign 8
tasklets_switch_context:
        .cfi_startproc
        save_running_context
        restore_target_context
        lgr     %r2, %r4                    // the value is the resumed call's result
        br      %r14
        .cfi_endproc
        .size   tasklets_switch_context, . - tasklets_switch_context

// void tasklets_kernel_switch(void** save_sp, void* target_sp, uintptr_t run_resume_hook)
//   The scheduler's switch (arch/kernel_switch.h; kernel/core/switch.hpp calls it). The
//   kernel reaches it by tail calls, so r14 at the entry is the *user's* return address
//   and r15 the user's sp (with the user's caller-provided save area above it): the frame
//   saved is the one tasklets_switch_context would save had the user called it, and the
//   resumed side branches straight back into user code. r2 is not set: the kernel's
//   switches return nothing, and the kernel's entry function (which a fresh frame's
//   trampoline calls with r2) ignores its argument.
//
//   With r4 != 0 the switcher asks for resume-time work first (free a dead tasklet's
//   stack, raise an exception thrown into the resumed tasklet): then we branch to
//   tasklets_resume_hook with r15 and r14 exactly as a brasl in the resumed code would
//   have left them, so the hook is, to itself and to the unwinder, a function the
//   resumed code called: its `br %r14` lands on the resume address, and if it throws,
//   the unwinder finds the resumed code's frame as the caller's and unwinds into it.
//
//     resumed code            tasklets_kernel_switch              tasklets_resume_hook
//     brasl schedule -(jg)-->  saves, switches, restores
//                              r14 = resume address  -----(jg)----->  ...
//     resume address  <---------------------------------(br %r14)---  br %r14
        .global tasklets_kernel_switch
        .hidden tasklets_kernel_switch
        .type   tasklets_kernel_switch, @function
        .balign 8
tasklets_kernel_switch:
        .cfi_startproc
        save_running_context
        restore_target_context
        cgije   %r4, 0, 1f                  // no hook: straight back
        jg      tasklets_resume_hook@PLT    // via the PLT in a shared library, like x86-64's
1:      br      %r14
        .cfi_endproc
        .size   tasklets_kernel_switch, . - tasklets_kernel_switch

// First resumption of a fresh context: either switch above branched here with r7 = entry
// function, r15 = top - 160 (the entry's save area, back chain 0) and r2 = value
// (tasklets_switch_context) or whatever it was (tasklets_kernel_switch: the kernel's
// entry ignores it). Never with the resume hook: the kernel asks for it only when
// resuming a tasklet that has run.
        .global tasklets_s390x_first_entry
        .hidden tasklets_s390x_first_entry
        .type   tasklets_s390x_first_entry, @function
        .balign 8
tasklets_s390x_first_entry:
        .cfi_startproc
        .cfi_undefined %r14                 // no caller: unwinders stop here
        lghi    %r14, 0                     // null return address (r11 = 0: null frame pointer)
        br      %r7                         // entry(value), never returns
        .cfi_endproc
        .size   tasklets_s390x_first_entry, . - tasklets_s390x_first_entry

        .section .note.GNU-stack, "", @progbits
