// tasklets — mips64el (n64 ABI, little-endian, FR=1) context switch, GNU as, C-preprocessed.
//
// A suspended context is nothing but a stack pointer. Everything the n64 ABI says a callee
// must preserve is stored on that context's own stack, in one 160-byte frame that the
// switch reserves below the caller's sp (16-byte aligned, the n64 stack alignment; n64
// callers reserve no argument save area, so nothing else is below or above):
//
//            higher addresses
//         +--------------------+
//   +160  |  caller's frame    |  <- sp of the code that called the switch
//         +====================+
//   +152  |  FCSR (32), pad    |  see "FP control" below
//   +144  |  f31               |
//    ...  |  ...               |
//    +88  |  f24               |
//    +80  |  s7                |
//    ...  |  ...               |
//    +24  |  s0                |
//    +16  |  gp                |  callee-saved in n64 (not in o32)
//     +8  |  s8 (fp)           |
//     +0  |  ra                |  <- saved stack pointer (the context); the resume address
//         +--------------------+
//            lower addresses
//
// The offsets are defined once, in frame_mips64el.h, which C++ static_asserts too.
// Two functions store and load this frame: tasklets_switch_context, the public switch,
// and tasklets_kernel_switch, the scheduler's (reached by tail calls, optionally entering
// the resume hook; see its comment below). Either resumes what the other suspended.
//
// A fresh context (context_mips64el.cpp) is the same frame at the very top of its stack
// with s0 = the entry function, s8 = 0, gp = 0, ra = tasklets_mips64el_first_entry and
// the FCSR copied from the creator:
//
//         +--------------------+  <- stack top, 16-byte aligned: sp at the entry
//         |  frame as above    |
//         +--------------------+  <- the context
//
// Register choices:
// - Callee-saved in n64: s0-s7 ($16-$23), gp ($28), sp, s8/fp ($30), and f24-f31, all
//   eight of them, each 64 bits wide (n64 runs with FR=1; n32 would keep only the even
//   ones of f20-f30). GCC's own prologues save exactly this set. k0/k1 belong to the
//   kernel, hi/lo are caller-saved, and the thread pointer (UserLocal, read with rdhwr)
//   belongs to the thread.
// - gp: n64 makes it callee-saved because every DSO has its own; a function compiled as
//   position-independent code computes its gp from t9 ($25), which must hold the
//   function's own address at its entry. So the resumed code gets its own gp back, a
//   fresh context starts with gp = 0 and the trampoline enters the entry through t9.
// - Scratch: v0, v1, t8, t9 only, as for any callee. a0-a2 carry the arguments across.
//   The resume address goes to t9 and the switch leaves with `jr $t9`, not `jr $ra`: a
//   jump through $31 is predicted as a return, popping a return-address stack whose top
//   belongs to the other context (the x86-64 and RISC-V ports avoid their returns too).
//   ra itself is caller-saved, so it is left as it was.
// - Delay slots: the file is `.set noreorder` (and `nomacro`, so every line is one
//   instruction): each branch's delay slot holds a useful instruction, marked "(delay
//   slot)", which runs whether or not the branch is taken. mips64r2 has no load-use or
//   CP1-move hazards left to pad (they are interlocked), so no other nops are needed.
// - FP control: the FCSR holds control (RM rounding mode, bits 0-1; exception enables,
//   7-11; FS flush-to-zero, 24) and status (flags, 2-6; cause, 12-17; condition codes
//   FCC0-7, 23 and 25-31). Control belongs to the code that set it, as on every port:
//   saved per context, and a fresh context inherits its creator's. The flags stay with the
//   thread (AArch64 FPSR, RISC-V fflags); the condition codes are caller-saved like any
//   compare result; NAN2008/ABS2008 (18, 19) are the process's mode and the
//   implementation-defined bits 21-22 are not ours to know, so all those stay too. The
//   switch saves the whole FCSR and writes the running FCSR with the target's control bits
//   only when those differ (ctc1 may serialise). It clears the cause bits in the value it
//   writes: ctc1 raises SIGFPE at once if a cause bit is set whose enable is set, and the
//   cause of the last FP instruction is not what the target enabled traps for.
// - Position independence: the public switch refers to no symbol. The kernel switch's
//   reference to tasklets_resume_hook goes through the GOT with a gp of our own, computed
//   from a `bal`, since $gp by then is the resumed code's (and must be when the hook is
//   entered: the hook saves it as its caller's). It uses %got_disp, not %call16: a
//   %call16 entry may point at a lazy-binding stub, which needs $gp to be ours; an
//   address-taken symbol's entry holds the function itself, resolved at load time.
//   The fresh frame gets the trampoline's address from C++, through the GOT.

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) .equ name, value
#include "frame_mips64el.h"

// The FCSR's control bits (above): FS, the enables and RM.
        .equ    TASKLETS_FCSR_CONTROL, 0x01000f83

        .abicalls
        .set    noreorder
        .set    nomacro
        .text

// Both switches below store and load the frame with these two macros, so a context
// suspended by one is resumed by the other (and a fresh frame from prepare_stack suits
// both). CFA = sp at the entry (the ABI's CIE rule), the return address column is $31.

// Stores the running context's callee-saved state (ra as the resume address) in a frame
// below sp and publishes the frame's address to 0(a0). Leaves the running FCSR in v0 for
// the restore to compare with.
        .macro  save_running_context
        daddiu  $sp, $sp, -TASKLETS_FRAME_SIZE
        .cfi_def_cfa_offset TASKLETS_FRAME_SIZE
        sd      $ra, TASKLETS_FRAME_RA($sp)
        sd      $fp, TASKLETS_FRAME_FP($sp)
        sd      $gp, TASKLETS_FRAME_GP($sp)
        // ra, fp and gp are described: enough for a backtrace taken inside the switch
        // (gp too: a caller in another DSO needs its own). The rules hold on both stacks,
        // because the target's frame has the same shape.
        .cfi_offset $31, TASKLETS_FRAME_RA - TASKLETS_FRAME_SIZE
        .cfi_offset $30, TASKLETS_FRAME_FP - TASKLETS_FRAME_SIZE
        .cfi_offset $28, TASKLETS_FRAME_GP - TASKLETS_FRAME_SIZE
        sd      $s0, TASKLETS_FRAME_S0($sp)
        sd      $s1, TASKLETS_FRAME_S1($sp)
        sd      $s2, TASKLETS_FRAME_S2($sp)
        sd      $s3, TASKLETS_FRAME_S3($sp)
        sd      $s4, TASKLETS_FRAME_S4($sp)
        sd      $s5, TASKLETS_FRAME_S5($sp)
        sd      $s6, TASKLETS_FRAME_S6($sp)
        sd      $s7, TASKLETS_FRAME_S7($sp)
        sdc1    $f24, TASKLETS_FRAME_F24($sp)
        sdc1    $f25, TASKLETS_FRAME_F25($sp)
        sdc1    $f26, TASKLETS_FRAME_F26($sp)
        sdc1    $f27, TASKLETS_FRAME_F27($sp)
        sdc1    $f28, TASKLETS_FRAME_F28($sp)
        sdc1    $f29, TASKLETS_FRAME_F29($sp)
        sdc1    $f30, TASKLETS_FRAME_F30($sp)
        sdc1    $f31, TASKLETS_FRAME_F31($sp)
        cfc1    $v0, $31                  // the whole FCSR
        sw      $v0, TASKLETS_FRAME_FCSR($sp)
        sd      $sp, 0($a0)               // publish before leaving: the target may read it
        .endm

// Moves onto the context in a1, restores its callee-saved state and releases its frame:
// afterwards sp is as the resumed code's call into a switch left it, and the resume
// address is in t9 (ra itself is left as it was). a0-a2 are left alone.
        .macro  restore_target_context
        move    $sp, $a1                  // --- now on the target's stack ---

        lw      $v1, TASKLETS_FRAME_FCSR($sp)
        xor     $t8, $v1, $v0             // which bits differ from the running FCSR...
        lui     $t9, TASKLETS_FCSR_CONTROL >> 16
        ori     $t9, $t9, TASKLETS_FCSR_CONTROL & 0xffff
        and     $t8, $t8, $t9             // ...among the control bits
        beq     $t8, $zero, 1f
        ld      $t9, TASKLETS_FRAME_RA($sp)  // (delay slot) the resume address
        xor     $v0, $v0, $t8             // the running FCSR with the target's control bits,
        ins     $v0, $zero, 12, 6         // no cause bits (they would trap if enabled)
        ctc1    $v0, $31
1:      ld      $fp, TASKLETS_FRAME_FP($sp)
        ld      $gp, TASKLETS_FRAME_GP($sp)
        ld      $s0, TASKLETS_FRAME_S0($sp)
        ld      $s1, TASKLETS_FRAME_S1($sp)
        ld      $s2, TASKLETS_FRAME_S2($sp)
        ld      $s3, TASKLETS_FRAME_S3($sp)
        ld      $s4, TASKLETS_FRAME_S4($sp)
        ld      $s5, TASKLETS_FRAME_S5($sp)
        ld      $s6, TASKLETS_FRAME_S6($sp)
        ld      $s7, TASKLETS_FRAME_S7($sp)
        ldc1    $f24, TASKLETS_FRAME_F24($sp)
        ldc1    $f25, TASKLETS_FRAME_F25($sp)
        ldc1    $f26, TASKLETS_FRAME_F26($sp)
        ldc1    $f27, TASKLETS_FRAME_F27($sp)
        ldc1    $f28, TASKLETS_FRAME_F28($sp)
        ldc1    $f29, TASKLETS_FRAME_F29($sp)
        ldc1    $f30, TASKLETS_FRAME_F30($sp)
        ldc1    $f31, TASKLETS_FRAME_F31($sp)
        daddiu  $sp, $sp, TASKLETS_FRAME_SIZE  // sp is now as the resumed caller left it
        .cfi_def_cfa_offset 0
        .cfi_register $31, $25            // the return address now lives in t9
        .cfi_restore $30
        .cfi_restore $28
        .endm

// void* tasklets_switch_context(void** save_sp, void* target_sp, void* value)
//   a0 = where to store the running context, a1 = context to resume,
//   a2 = value handed to the resumed side, which sees it as this call's result (v0; a
//   fresh context's trampoline moves it to a0, the entry's argument).
        .global tasklets_switch_context
        .type   tasklets_switch_context, @function
        .balign 8
tasklets_switch_context:
        .cfi_startproc
        save_running_context
        restore_target_context
        jr      $t9
        move    $v0, $a2                  // (delay slot) the resumed call's result
        .cfi_endproc
        .size   tasklets_switch_context, . - tasklets_switch_context

// void tasklets_kernel_switch(void** save_sp, void* target_sp, uintptr_t run_resume_hook)
//   The scheduler's switch (arch/kernel_switch.h; kernel/core/switch.hpp calls it). The
//   kernel reaches it by tail calls, so ra at the entry is the *user's* return address, and
//   sp and gp the user's (a tail call restores the caller's gp first): the frame saved is
//   the one tasklets_switch_context would save had the user called it, and the resumed
//   side jumps straight back into user code with `jr $t9`, executing no return whose
//   prediction belongs to the other stack. v0 is not set: the kernel's switches return
//   nothing, and the kernel's entry function (which a fresh frame's trampoline calls with
//   v0 as its argument) ignores its argument.
//
//   With a2 != 0 the switcher asks for resume-time work first (free a dead tasklet's
//   stack, raise an exception thrown into the resumed tasklet): then we jump to
//   tasklets_resume_hook with sp, gp and ra exactly as a call in the resumed code would
//   have left them, and t9 = the hook (its prologue computes its gp from it), so the hook
//   is, to itself and to the unwinder, a function the resumed code called: its return
//   lands on the resume address with the resumed code's gp restored, and if it throws,
//   the unwinder finds the resumed code's frame as the caller's and unwinds into it.
//
//     resumed code            tasklets_kernel_switch              tasklets_resume_hook
//     jalr schedule -(jr)-->  saves, switches, restores
//                             ra = resume address -----(jr $t9)--->  ...
//     resume address  <------------------------------------(jr $ra)---  jr $ra
        .global tasklets_kernel_switch
        .hidden tasklets_kernel_switch
        .type   tasklets_kernel_switch, @function
        .balign 8
tasklets_kernel_switch:
        .cfi_startproc
        save_running_context
        restore_target_context
        bne     $a2, $zero, 2f
        move    $v1, $t9                  // (delay slot) the resume address, for the hook
        jr      $t9                       // not a return: see the header
        nop                               // (delay slot)
2:      .cfi_register $31, $3             // the return address now lives in v1
        bal     3f                        // ra = 3f: a PC to derive our own gp from
        nop                               // (delay slot)
3:      lui     $t8, %hi(%neg(%gp_rel(3b)))  // t8 = our gp; $gp keeps the resumed code's
        daddu   $t8, $t8, $ra
        daddiu  $t8, $t8, %lo(%neg(%gp_rel(3b)))
        ld      $t9, %got_disp(tasklets_resume_hook)($t8)  // the hook itself: see the header
        jr      $t9
        move    $ra, $v1                  // (delay slot) as if the resumed code had called it
        .cfi_endproc
        .size   tasklets_kernel_switch, . - tasklets_kernel_switch

// First resumption of a fresh context: either switch above jumped here with s0 = entry
// function, s8 = 0, gp = 0, sp = the stack top, and v0 = value (tasklets_switch_context)
// or whatever it was (tasklets_kernel_switch: the kernel's entry ignores it). Never with
// the resume hook: the kernel asks for it only when resuming a tasklet that has run.
        .global tasklets_mips64el_first_entry
        .hidden tasklets_mips64el_first_entry
        .type   tasklets_mips64el_first_entry, @function
        .balign 8
tasklets_mips64el_first_entry:
        .cfi_startproc
        .cfi_undefined $31                // no caller: unwinders stop here
        move    $a0, $v0                  // entry(value)
        move    $t9, $s0                  // through t9: the entry computes its gp from it
        jr      $t9                       // never returns
        move    $ra, $zero                // (delay slot) null return address (s8 = 0 too)
        .cfi_endproc
        .size   tasklets_mips64el_first_entry, . - tasklets_mips64el_first_entry

        .set    reorder
        .set    macro
        .section .note.GNU-stack, "", @progbits
