// tasklets — RISC-V64 (LP64D psABI) context switch, GNU as, C-preprocessed.
//
// A suspended context is nothing but a stack pointer. Everything the psABI says a callee
// must preserve is stored on that context's own stack, in one 208-byte frame that the
// switch reserves below the caller's sp (16-byte aligned, the psABI's stack alignment):
//
//            higher addresses
//         +--------------------+
//   +208  |  caller's frame    |  <- sp of the code that called the switch
//         +====================+
//   +200  |  frm               |  dynamic rounding mode; see "FP control" below
//   +192  |  fs11              |
//    ...  |  ...               |
//   +104  |  fs0               |
//    +96  |  s11               |
//    ...  |  ...               |
//     +8  |  s0 (fp)           |
//     +0  |  ra                |  <- saved stack pointer (the context); the resume address
//         +--------------------+
//            lower addresses
//
// The offsets are defined once, in frame_riscv64.h, which C++ static_asserts too.
// Two functions store and load this frame: tasklets_switch_context, the public switch,
// and tasklets_kernel_switch, the scheduler's (reached by tail calls, optionally entering
// the resume hook; see its comment below). Either resumes what the other suspended.
//
// A fresh context (context_riscv64.cpp) is the same frame at the very top of its stack
// with s1 = the entry function, s0 = 0, ra = tasklets_riscv64_first_entry and frm
// copied from the creator:
//
//         +--------------------+  <- stack top, 16-byte aligned: sp at the entry
//         |  frame as above    |
//         +--------------------+  <- the context
//
// Register choices:
// - gp and tp are never touched. gp is the global pointer the linker may relax
//   accesses against, tp the thread pointer (TLS); both belong to the thread, and a
//   tasklet runs on its creator's thread.
// - t0-t2 are scratch, as for any callee. ra is caller-saved in the psABI, so the switch
//   resumes with `jr t2` and leaves ra as it was: t2 is not a link register, so the jump
//   is predicted as an ordinary indirect jump instead of popping the return-address
//   stack, whose top belongs to the other context (the x86-64 port does the same).
// - FP control: the psABI gives fcsr thread storage duration (C11 <fenv.h>), so no
//   callee must preserve it. The switch still saves and restores frm, the dynamic
//   rounding mode, per context, and a fresh context inherits its creator's. That is the
//   rule of the x86-64 and AArch64 ports: control state (MXCSR/x87 control word, FPCR)
//   belongs to the code that set it, so a tasklet that calls fesetround() changes only
//   itself. fflags, the accrued exception flags, is status, like x86's x87 status word
//   and AArch64's FPSR, and is not switched: the flags are per thread. Writing frm may
//   drain the FP pipeline, so it happens only when the two contexts' modes differ.
// - Position independence: the public switch refers to no symbol, so it needs no
//   relocation; the kernel switch's one reference, to tasklets_resume_hook, is a `tail`
//   (R_RISCV_CALL_PLT, PC-relative, through the PLT when the symbol is preemptible).
//   The fresh frame gets the trampoline's address from C++, which the compiler
//   computes PC-relatively.

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) .equ name, value
#include "frame_riscv64.h"

        .option push
        .option arch, +f, +d        // frm, fs0-fs11: present under LP64D anyway
        .text

// Both switches below store and load the frame with these two macros, so a context
// suspended by one is resumed by the other (and a fresh frame from prepare_stack suits
// both).

// Stores the running context's callee-saved state (ra as the resume address) in a frame
// below sp and publishes the frame's address to 0(a0). Leaves the running frm in t0 for
// the restore to compare with.
        .macro  save_running_context
        addi    sp, sp, -TASKLETS_FRAME_SIZE
        .cfi_def_cfa_offset TASKLETS_FRAME_SIZE
        sd      ra,  TASKLETS_FRAME_RA(sp)
        sd      s0,  TASKLETS_FRAME_S0(sp)
        // Only ra and fp are described: enough for a backtrace taken inside the switch.
        // The rules hold on both stacks, because the target's frame has the same shape.
        .cfi_offset ra, TASKLETS_FRAME_RA - TASKLETS_FRAME_SIZE
        .cfi_offset s0, TASKLETS_FRAME_S0 - TASKLETS_FRAME_SIZE
        sd      s1,  TASKLETS_FRAME_S1(sp)
        sd      s2,  TASKLETS_FRAME_S2(sp)
        sd      s3,  TASKLETS_FRAME_S3(sp)
        sd      s4,  TASKLETS_FRAME_S4(sp)
        sd      s5,  TASKLETS_FRAME_S5(sp)
        sd      s6,  TASKLETS_FRAME_S6(sp)
        sd      s7,  TASKLETS_FRAME_S7(sp)
        sd      s8,  TASKLETS_FRAME_S8(sp)
        sd      s9,  TASKLETS_FRAME_S9(sp)
        sd      s10, TASKLETS_FRAME_S10(sp)
        sd      s11, TASKLETS_FRAME_S11(sp)
        fsd     fs0,  TASKLETS_FRAME_FS0(sp)
        fsd     fs1,  TASKLETS_FRAME_FS1(sp)
        fsd     fs2,  TASKLETS_FRAME_FS2(sp)
        fsd     fs3,  TASKLETS_FRAME_FS3(sp)
        fsd     fs4,  TASKLETS_FRAME_FS4(sp)
        fsd     fs5,  TASKLETS_FRAME_FS5(sp)
        fsd     fs6,  TASKLETS_FRAME_FS6(sp)
        fsd     fs7,  TASKLETS_FRAME_FS7(sp)
        fsd     fs8,  TASKLETS_FRAME_FS8(sp)
        fsd     fs9,  TASKLETS_FRAME_FS9(sp)
        fsd     fs10, TASKLETS_FRAME_FS10(sp)
        fsd     fs11, TASKLETS_FRAME_FS11(sp)
        frrm    t0
        sd      t0,  TASKLETS_FRAME_FRM(sp)
        sd      sp,  0(a0)                // publish before leaving: the target may read it
        .endm

// Moves onto the context in a1, restores its callee-saved state and releases its frame:
// afterwards sp is as the resumed code's call into a switch left it, and the resume
// address is in t2 (ra itself is left as it was). a0 and a2 are left alone.
        .macro  restore_target_context
        mv      sp, a1                    // --- now on the target's stack ---

        ld      t1,  TASKLETS_FRAME_FRM(sp)
        beq     t0, t1, 1f
        fsrm    t1
1:      ld      t2,  TASKLETS_FRAME_RA(sp)
        ld      s0,  TASKLETS_FRAME_S0(sp)
        ld      s1,  TASKLETS_FRAME_S1(sp)
        ld      s2,  TASKLETS_FRAME_S2(sp)
        ld      s3,  TASKLETS_FRAME_S3(sp)
        ld      s4,  TASKLETS_FRAME_S4(sp)
        ld      s5,  TASKLETS_FRAME_S5(sp)
        ld      s6,  TASKLETS_FRAME_S6(sp)
        ld      s7,  TASKLETS_FRAME_S7(sp)
        ld      s8,  TASKLETS_FRAME_S8(sp)
        ld      s9,  TASKLETS_FRAME_S9(sp)
        ld      s10, TASKLETS_FRAME_S10(sp)
        ld      s11, TASKLETS_FRAME_S11(sp)
        fld     fs0,  TASKLETS_FRAME_FS0(sp)
        fld     fs1,  TASKLETS_FRAME_FS1(sp)
        fld     fs2,  TASKLETS_FRAME_FS2(sp)
        fld     fs3,  TASKLETS_FRAME_FS3(sp)
        fld     fs4,  TASKLETS_FRAME_FS4(sp)
        fld     fs5,  TASKLETS_FRAME_FS5(sp)
        fld     fs6,  TASKLETS_FRAME_FS6(sp)
        fld     fs7,  TASKLETS_FRAME_FS7(sp)
        fld     fs8,  TASKLETS_FRAME_FS8(sp)
        fld     fs9,  TASKLETS_FRAME_FS9(sp)
        fld     fs10, TASKLETS_FRAME_FS10(sp)
        fld     fs11, TASKLETS_FRAME_FS11(sp)
        addi    sp, sp, TASKLETS_FRAME_SIZE  // sp is now as the resumed caller left it
        .cfi_def_cfa_offset 0
        .cfi_register ra, t2              // the return address now lives in t2
        .cfi_restore s0
        .endm

// void* tasklets_switch_context(void** save_sp, void* target_sp, void* value)
//   a0 = where to store the running context, a1 = context to resume,
//   a2 = value handed to the resumed side, which sees it as this call's result.
        .global tasklets_switch_context
        .type   tasklets_switch_context, @function
        .balign 4
tasklets_switch_context:
        .cfi_startproc
        save_running_context
        restore_target_context
        mv      a0, a2                    // the value is the resumed call's result
        jr      t2
        .cfi_endproc
        .size   tasklets_switch_context, . - tasklets_switch_context

// void tasklets_kernel_switch(void** save_sp, void* target_sp, uintptr_t run_resume_hook)
//   The scheduler's switch (arch/kernel_switch.h; kernel/core/switch.hpp calls it). The kernel reaches it by tail calls,
//   so ra at the entry is the *user's* return address and sp the user's: the frame saved
//   is the one tasklets_switch_context would save had the user called it, and the
//   resumed side jumps straight back into user code with `jr t2`, executing no return
//   whose prediction belongs to the other stack. a0 is not set: the kernel's switches
//   return nothing, and the kernel's entry function (which a fresh frame's trampoline
//   calls with a0) ignores its argument.
//
//   With a2 != 0 the switcher asks for resume-time work first (free a dead tasklet's
//   stack, raise an exception thrown into the resumed tasklet): then we jump to
//   tasklets_resume_hook with sp and ra exactly as a `call` in the resumed code would
//   have left them, so the hook is, to itself and to the unwinder, a function the
//   resumed code called: its ret lands on the resume address, and if it throws, the
//   unwinder finds the resumed code's frame as the caller's and unwinds into it.
//
//     resumed code            tasklets_kernel_switch              tasklets_resume_hook
//     call schedule --(tail)-->  saves, switches, restores
//                                ra = resume address ----(tail)---->  ...
//     resume address  <-----------------------------(ret)-----------  ret
        .global tasklets_kernel_switch
        .hidden tasklets_kernel_switch
        .type   tasklets_kernel_switch, @function
        .balign 4
tasklets_kernel_switch:
        .cfi_startproc
        save_running_context
        restore_target_context
        bnez    a2, 1f
        jr      t2                        // not a return: see the header
1:      mv      ra, t2                    // as if the resumed code had called the hook
        .cfi_restore ra
        tail    tasklets_resume_hook      // via the PLT in a shared library, like x86-64's;
                                          // tail jumps through t1, not a link register
        .cfi_endproc
        .size   tasklets_kernel_switch, . - tasklets_kernel_switch

// First resumption of a fresh context: either switch above jumped here with s1 = entry
// function, s0 = 0, sp = the stack top, and a0 = value (tasklets_switch_context) or
// whatever it was (tasklets_kernel_switch: the kernel's entry ignores it). Never with
// the resume hook: the kernel asks for it only when resuming a tasklet that has run.
        .global tasklets_riscv64_first_entry
        .hidden tasklets_riscv64_first_entry
        .type   tasklets_riscv64_first_entry, @function
        .balign 4
tasklets_riscv64_first_entry:
        .cfi_startproc
        .cfi_undefined ra                 // no caller: unwinders stop here
        li      ra, 0                     // null return address and (s0 = 0) null frame
        jr      s1                        // entry(value), never returns
        .cfi_endproc
        .size   tasklets_riscv64_first_entry, . - tasklets_riscv64_first_entry

        .option pop
        .section .note.GNU-stack, "", @progbits
