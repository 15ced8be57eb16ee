// tasklets — ppc64le (64-bit POWER, little-endian, ELFv2 ABI) context switch, GNU as,
// C-preprocessed.
//
// A suspended context is nothing but a stack pointer (r1). Everything ELFv2 says a callee
// must preserve is stored on that context's own stack. Like any compiled function, the
// switch puts LR and CR in the two slots the caller's frame header reserves for its
// callee (LR save at +16, CR save word at +8 of the caller's sp), then allocates its own
// frame with stdu, which also writes the back chain, so the stack stays a well-formed
// ELFv2 chain that glibc's backtrace() (which walks back chains on powerpc64) can read:
//
//            higher addresses
//         +--------------------+
//   +552  |  caller's frame    |  (TOC save doubleword at +552: the caller's, untouched)
//   +544  |  LR save           |  the resume address
//   +536  |  CR save word, pad |  CR2-CR4 are restored from it
//   +528  |  back chain        |  (the caller's, untouched)
//         +====================+  <- sp of the code that called the switch (+528)
//   +512  |  v31               |
//    ...  |  ...               |  16 bytes each, 16-byte aligned (stvx/lvx ignore the
//   +336  |  v20               |  low four address bits)
//   +328  |  FPSCR             |  see "FP control" below
//   +320  |  f31               |
//    ...  |  ...               |
//   +184  |  f14               |
//   +176  |  r31               |
//    ...  |  ...               |
//    +40  |  r14               |
//    +32  |  r2 (TOC)          |
//     +8  |  header, unused    |  (CR/LR/TOC slots for our callees: we call none)
//     +0  |  back chain        |  <- saved stack pointer (the context)
//         +--------------------+
//            lower addresses
//
// The offsets are defined once, in frame_ppc64le.h, which C++ static_asserts too.
// Two functions store and load this frame: tasklets_switch_context, the public switch,
// and tasklets_kernel_switch, the scheduler's (reached by tail calls, optionally entering
// the resume hook; see its comment below). Either resumes what the other suspended.
//
// A fresh context (context_ppc64le.cpp) is the same frame below a zeroed 32-byte frame
// header at the very top of the stack, which becomes the entry's caller's header:
//
//         +--------------------+  <- stack top, 16-byte aligned
//         |  header: back      |  back chain 0 (chain walkers stop here), CR 0,
//         |  chain 0, LR slot  |  LR slot = tasklets_ppc64le_first_entry, TOC slot 0
//         +--------------------+  <- top - 32: r1 at the entry
//         |  frame as above    |  r14 = the entry function, FPSCR copied from the
//         |                    |  creator, back chain = top - 32, the rest 0
//         +--------------------+  <- the context (top - 560)
//
// Register choices:
// - r13 (the thread pointer) is never touched: it belongs to the thread, and a tasklet
//   runs on its creator's thread.
// - r2 (TOC) is saved and restored: a caller that reached us by a local call (same
//   module, no PLT stub) expects it preserved, and the resumed code may belong to another
//   module than the suspending one.
// - r0, r9-r12 and f0 are the scratch registers, as for any callee; r3 is save_sp, r4 the
//   target, r5 the value (or the resume-hook flag).
// - CR: only CR2-CR4 are non-volatile, so mtcrf writes just those three fields (0x38);
//   the whole CR is saved because mfcr reads it whole.
// - VRSAVE is not touched. ELFv2 (the OpenPOWER ABI for Linux, "Register Roles") marks it
//   "Reserved for system use. This register should not be read or written by application
//   software", and GCC does not use it on ELFv2, so it is thread state like r13. (The
//   older ELFv1/AIX conventions made it non-volatile; they are not this target's ABI.)
// - VSX: f14-f31 are the left halves of vs14-vs31 (their right halves are volatile), and
//   v20-v31 are vs52-vs63, saved whole; every other VSR is volatile. The baseline is
//   POWER8 (ISA 2.07), so stvx/lvx (with an index register: no D-form vector stores
//   before POWER9) and mffprd are available.
// - The switch resumes with blr: LR must hold the resume address anyway (for the resume
//   hook and for unwinders), and blr pops the link-stack entry that the bl into the
//   switch pushed, keeping the return predictor balanced for the code that follows.
// - FP control: ELFv2 calls the FPSCR's exception enables (VE, OE, UE, ZE, XE), binary
//   rounding mode (RN) and decimal rounding mode (DRN) "limited-access": preserved across
//   calls like non-volatile registers. With NI (non-IEEE mode, the flush-to-zero control)
//   these are the control bits, and they travel with the context: the low eight bits and
//   DRN (bits 32-34 counting from the least significant) of the 64-bit FPSCR image. The
//   rest is status (sticky flags, FPRF, FR/FI) and stays with the thread, as <fenv.h>
//   keeps it, like AArch64's FPSR. The two mtfsf below write exactly those fields (low
//   word fields 6-7, high word field 7), and only when the control bits differ, since an
//   mtfsf may serialise. A fresh context inherits its creator's.
// - Position independence: the public switch refers to no symbol and needs no TOC, so it
//   has a single entry point (no .localentry: st_other 0, "no requirement on r2 or r12,
//   r2 preserved on return", which it is, being the resumed caller's). The kernel switch
//   reaches the hook through the GOT (see its comment); the fresh frame gets the
//   trampoline's address from C++.

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) .equ name, value
#include "frame_ppc64le.h"

        .abiversion 2
        .machine power8
        .text

// Both switches below store and load the frame with these two macros, so a context
// suspended by one is resumed by the other (and a fresh frame from prepare_stack suits
// both).

// Stores the running context's callee-saved state and publishes the frame's address to
// 0(r3). Leaves the running FPSCR image in r9 for the restore to compare with.
        .macro  save_running_context
        mflr    %r0
        std     %r0, TASKLETS_FRAME_LR - TASKLETS_FRAME_SIZE(%r1)  // the caller's LR save slot
        mfcr    %r12
        stw     %r12, TASKLETS_FRAME_CR - TASKLETS_FRAME_SIZE(%r1) // its CR save word
        stdu    %r1, -TASKLETS_FRAME_SIZE(%r1)  // allocate, back chain in one (signal-safe)
        .cfi_def_cfa_offset TASKLETS_FRAME_SIZE
        // Only LR is described: enough for a backtrace taken inside the switch. The rule
        // holds on both stacks, because the target's frame has the same shape.
        .cfi_offset lr, TASKLETS_FRAME_LR - TASKLETS_FRAME_SIZE
        std     %r2, TASKLETS_FRAME_R2(%r1)
        .irp    n, 14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        std     %r\n, (TASKLETS_FRAME_R14 + 8 * (\n - 14))(%r1)
        .endr
        .irp    n, 14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        stfd    %f\n, (TASKLETS_FRAME_F14 + 8 * (\n - 14))(%r1)
        .endr
        mffs    %f0
        stfd    %f0, TASKLETS_FRAME_FPSCR(%r1)
        mffprd  %r9, %f0                    // the running FPSCR, kept for the restore
        .irp    n, 20,21,22,23,24,25,26,27,28,29,30,31
        li      %r11, TASKLETS_FRAME_V20 + 16 * (\n - 20)
        stvx    %v\n, %r1, %r11
        .endr
        std     %r1, 0(%r3)                 // publish before leaving: the target may read it
        .endm

// Moves onto the context in r4, restores its callee-saved state and releases its frame:
// afterwards r1 is as the resumed code's call into a switch left it and LR is the resume
// address. r3-r5 are left alone.
        .macro  restore_target_context
        mr      %r1, %r4                    // --- now on the target's stack ---

        ld      %r10, TASKLETS_FRAME_FPSCR(%r1)
        xor     %r10, %r10, %r9             // which bits differ from the running FPSCR...
        li      %r11, 7                     // ...among DRN (bits 32-34)
        sldi    %r11, %r11, 32
        ori     %r11, %r11, 0xff            // and VE OE UE ZE XE NI RN (bits 0-7)
        and.    %r10, %r10, %r11
        beq     1f
        lfd     %f0, TASKLETS_FRAME_FPSCR(%r1)
        mtfsf   0x03, %f0                   // low word fields 6-7: VE OE UE ZE, XE NI RN
        mtfsf   0x01, %f0, 0, 1             // high word field 7: DRN
1:      ld      %r2, TASKLETS_FRAME_R2(%r1)
        .irp    n, 14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        ld      %r\n, (TASKLETS_FRAME_R14 + 8 * (\n - 14))(%r1)
        .endr
        .irp    n, 14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        lfd     %f\n, (TASKLETS_FRAME_F14 + 8 * (\n - 14))(%r1)
        .endr
        .irp    n, 20,21,22,23,24,25,26,27,28,29,30,31
        li      %r11, TASKLETS_FRAME_V20 + 16 * (\n - 20)
        lvx     %v\n, %r1, %r11
        .endr
        addi    %r1, %r1, TASKLETS_FRAME_SIZE  // r1 is now as the resumed caller left it
        .cfi_def_cfa_offset 0
        ld      %r0, TASKLETS_FRAME_LR - TASKLETS_FRAME_SIZE(%r1)
        mtlr    %r0
        .cfi_restore lr
        lwz     %r12, TASKLETS_FRAME_CR - TASKLETS_FRAME_SIZE(%r1)
        mtcrf   0x38, %r12                  // CR2, CR3, CR4: the non-volatile fields
        .endm

// void* tasklets_switch_context(void** save_sp, void* target_sp, void* value)
//   r3 = where to store the running context, r4 = context to resume,
//   r5 = value handed to the resumed side, which sees it as this call's result.
        .global tasklets_switch_context
        .type   tasklets_switch_context, @function
        .balign 16
tasklets_switch_context:
        .cfi_startproc
        save_running_context
        restore_target_context
        mr      %r3, %r5                    // the value is the resumed call's result
        blr
        .cfi_endproc
        .size   tasklets_switch_context, . - tasklets_switch_context

// void tasklets_kernel_switch(void** save_sp, void* target_sp, uintptr_t run_resume_hook)
//   The scheduler's switch (arch/kernel_switch.h; kernel/core/switch.hpp calls it). The
//   kernel means to reach it by tail calls, so that LR at the entry is the *user's* return
//   address and r1 the user's sp. GCC for ELFv2 calls it with bl instead (a sibling call
//   needs the callee known to share the caller's TOC, and the declaration is not hidden
//   here): then the frame saved is the kernel function's and the resumed side returns into
//   it, which is correct, one frame deeper. Either way r3 is
//   not set: the kernel's switches return nothing, and the kernel's entry function
//   (which a fresh frame's trampoline calls with r3) ignores its argument.
//
//   With r5 != 0 the switcher asks for resume-time work first (free a dead tasklet's
//   stack, raise an exception thrown into the resumed tasklet): then we branch to
//   tasklets_resume_hook with r1 and LR exactly as a bl in the resumed code would have
//   left them, so the hook is, to itself and to the unwinder, a function the resumed code
//   called: its blr lands on the resume address, and if it throws, the unwinder finds
//   the resumed code's frame as the caller's and unwinds into it.
//
//     resumed code            tasklets_kernel_switch              tasklets_resume_hook
//     bl schedule  ---(b)--->  saves, switches, restores
//                              LR = resume address  ---(bctr)--->  ...
//     resume address  <-----------------------------------(blr)---  blr
//
//   Not `b tasklets_resume_hook`: in a shared library that would go through a PLT stub,
//   which stores r2 (here the library's TOC) in the TOC save slot of the resumed code's
//   frame, 24(r1), where the user's own PLT stub kept the user's TOC for the user to
//   reload after schedule() returns: the user would come back with the library's TOC.
//   So the hook's address comes from the GOT, through r2, which is the library's TOC:
//   the kernel switch is only ever reached from the library's own code, and the
//   restored r2 is the one that code had. The hook is entered at its global entry point
//   with r12 set, as ELFv2 requires of a call through a pointer, and sets its own r2.
        .global tasklets_kernel_switch
        .hidden tasklets_kernel_switch
        .type   tasklets_kernel_switch, @function
        .balign 16
tasklets_kernel_switch:
        .cfi_startproc
        save_running_context
        restore_target_context
        cmpdi   %r5, 0
        beqlr                               // no hook: straight back
        addis   %r12, %r2, tasklets_resume_hook@got@ha
        ld      %r12, tasklets_resume_hook@got@l(%r12)
        mtctr   %r12
        bctr
        .cfi_endproc
        .size   tasklets_kernel_switch, . - tasklets_kernel_switch

// First resumption of a fresh context: either switch above returned here with r14 =
// entry function, r1 = top - 32 (a zeroed frame header: back chain 0) and r3 = value
// (tasklets_switch_context) or whatever it was (tasklets_kernel_switch: the kernel's
// entry ignores it). Never with the resume hook: the kernel asks for it only when
// resuming a tasklet that has run.
        .global tasklets_ppc64le_first_entry
        .hidden tasklets_ppc64le_first_entry
        .type   tasklets_ppc64le_first_entry, @function
        .balign 16
tasklets_ppc64le_first_entry:
        .cfi_startproc
        .cfi_undefined lr                   // no caller: unwinders stop here
        mr      %r12, %r14                  // ELFv2 global entry: r12 = the function's address,
        mtctr   %r12                        // from which it computes its TOC pointer
        li      %r0, 0
        mtlr    %r0                         // null return address (r31 = 0: null frame pointer)
        bctr                                // entry(value), never returns
        .cfi_endproc
        .size   tasklets_ppc64le_first_entry, . - tasklets_ppc64le_first_entry

        .section .note.GNU-stack, "", @progbits
