// tasklets — AArch64 (AAPCS64) context switch, GNU as, C-preprocessed.
//
// A suspended context is nothing but a stack pointer. Everything AAPCS64 says a callee
// must preserve is stored on that context's own stack, in one 176-byte frame that the
// switch reserves below the caller's sp (sp stays 16-byte aligned throughout, as the
// architecture checks on every sp-relative access):
//
//            higher addresses
//         +--------------------+
//   +176  |  caller's frame    |  <- sp of the code that called the switch
//         +====================+
//   +168  |  (padding)         |
//   +160  |  FPCR              |  control only; see "FP control" below
//   +152  |  d15               |
//    ...  |  ...               |
//    +96  |  d8                |  low halves of v8-v15 (AAPCS64 keeps only those)
//    +88  |  x30 (lr)          |  the resume address: where the switch returns to
//    +80  |  x29 (fp)          |
//    +72  |  x28               |
//    ...  |  ...               |
//     +0  |  x19               |  <- saved stack pointer (the context)
//         +--------------------+
//            lower addresses
//
// The offsets are defined once, in frame_aarch64.h, which C++ static_asserts too.
// Two functions store and load this frame: tasklets_switch_context, the public switch,
// and tasklets_kernel_switch, the scheduler's (reached by tail calls, optionally entering
// the resume hook; see its comment below). Either resumes what the other suspended.
//
// A fresh context (context_aarch64.cpp) is the same frame at the very top of its stack
// with x19 = the entry function, x29 = 0, x30 = tasklets_aarch64_first_entry and FPCR
// copied from the creator:
//
//         +--------------------+  <- stack top, 16-byte aligned: sp at the entry
//         |  frame as above    |
//         +--------------------+  <- the context
//
// Register choices:
// - x18 (platform register) is never read or written. Linux leaves it to the caller,
//   other platforms reserve it (a shadow call stack, the TEB); not touching it is right
//   on all of them, and the tasklet simply shares the thread's value.
// - x16/x17 (IP0/IP1) and x9-x15 are scratch here, as they are for any callee.
// - FP control: FPCR (rounding mode, flush-to-zero, default NaN, trap enables) is saved
//   and restored per context, and a fresh context inherits its creator's. This is the
//   same rule as x86-64, where the control bits of MXCSR and the x87 control word are
//   switched: control state belongs to the code that set it, like a callee-saved
//   register. FPSR (the cumulative exception flags) is status, which the ABI leaves to
//   the caller, so it is not switched: the flags are per thread, as with a thread's
//   <fenv.h> state. msr fpcr may synchronise the pipeline, so it runs only when the
//   two contexts' FPCR differ.
// - BTI: the entry points carry `bti c` (the switch is reached by bl via a PLT, which
//   branches with x17, or through a function pointer with blr) and this object declares
//   BTI in .note.gnu.property, so linking it does not turn BTI off for a binary built
//   with -mbranch-protection=bti. The switch resumes with ret, not br: a resume address
//   is a return site after a bl, which is not a landing pad, and only ret may go there
//   on a guarded page. (ret also pops the return-address predictor, which is wrong
//   after a switch; BTI leaves no cheaper choice.)
// - PAC (pointer authentication, return addresses): the saved x30 is signed with the
//   A instruction key and, as modifier, the sp at the switch's entry (paciasp, before
//   the frame is reserved), exactly as -mbranch-protection=pac-ret signs a return
//   address; after restoring the target's frame and releasing it, sp is again the
//   value its x30 was signed with, and autiasp checks it before the ret (or, on the
//   kernel switch's resume-hook path, before the branch to the hook). A resume
//   address overwritten in a suspended frame, or one copied from another context's
//   frame (another sp), fails authentication and the ret faults. A fresh frame holds
//   tasklets_aarch64_first_entry signed by prepare_stack for the sp the switch will
//   have when it leaves the frame: the aligned stack top (pacia1716, context_aarch64.cpp).
//   Both instructions are in the hint space: NOPs on a CPU without PAuth, where the
//   frame simply holds plain addresses. Signing is always done, not only when the
//   library is built with -mbranch-protection: it is self-contained (the switch signs
//   and checks its own frames), so it needs no agreement with the compiler flags, and
//   the note below claims PAC, which the linker records for the program.

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) .equ name, value
#include "frame_aarch64.h"

        .text

// Both switches below store and load the frame with these two macros, so a context
// suspended by one is resumed by the other, and a fresh frame from prepare_stack suits
// both.

// Signs x30 with the entry sp, stores the running context's callee-saved state in a
// frame below sp and publishes the frame's address to [x0]. Leaves the running FPCR in
// x9 for the restore to compare with.
        .macro  save_running_context
        hint    #25                       // paciasp: sign x30 (the resume address) with sp
        .cfi_negate_ra_state
        sub     sp, sp, #TASKLETS_FRAME_SIZE
        .cfi_def_cfa_offset TASKLETS_FRAME_SIZE
        stp     x19, x20, [sp, #TASKLETS_FRAME_X19]
        stp     x21, x22, [sp, #TASKLETS_FRAME_X21]
        stp     x23, x24, [sp, #TASKLETS_FRAME_X23]
        stp     x25, x26, [sp, #TASKLETS_FRAME_X25]
        stp     x27, x28, [sp, #TASKLETS_FRAME_X27]
        stp     x29, x30, [sp, #TASKLETS_FRAME_X29]
        // Only fp and lr are described: enough for a backtrace taken inside the switch.
        // The rules hold on both stacks, because the target's frame has the same shape.
        .cfi_offset x29, TASKLETS_FRAME_X29 - TASKLETS_FRAME_SIZE
        .cfi_offset x30, TASKLETS_FRAME_RESUME - TASKLETS_FRAME_SIZE
        stp     d8,  d9,  [sp, #TASKLETS_FRAME_D8]
        stp     d10, d11, [sp, #TASKLETS_FRAME_D10]
        stp     d12, d13, [sp, #TASKLETS_FRAME_D12]
        stp     d14, d15, [sp, #TASKLETS_FRAME_D14]
        mrs     x9, fpcr
        str     x9, [sp, #TASKLETS_FRAME_FPCR]
        mov     x10, sp                   // str cannot store sp directly
        str     x10, [x0]                 // publish before leaving: the target may read it
        .endm

// Moves onto the context in x1, restores its callee-saved state and releases its frame,
// then authenticates x30: afterwards sp and x30 are exactly as the resumed code's call
// into a switch left them (x30 unsigned). x0 and x2 are left alone.
        .macro  restore_target_context
        mov     sp, x1                    // --- now on the target's stack ---

        ldr     x10, [sp, #TASKLETS_FRAME_FPCR]
        cmp     x9, x10
        b.eq    1f
        msr     fpcr, x10
1:      ldp     x19, x20, [sp, #TASKLETS_FRAME_X19]
        ldp     x21, x22, [sp, #TASKLETS_FRAME_X21]
        ldp     x23, x24, [sp, #TASKLETS_FRAME_X23]
        ldp     x25, x26, [sp, #TASKLETS_FRAME_X25]
        ldp     x27, x28, [sp, #TASKLETS_FRAME_X27]
        ldp     x29, x30, [sp, #TASKLETS_FRAME_X29]
        ldp     d8,  d9,  [sp, #TASKLETS_FRAME_D8]
        ldp     d10, d11, [sp, #TASKLETS_FRAME_D10]
        ldp     d12, d13, [sp, #TASKLETS_FRAME_D12]
        ldp     d14, d15, [sp, #TASKLETS_FRAME_D14]
        add     sp, sp, #TASKLETS_FRAME_SIZE  // sp is now as the resumed caller left it
        .cfi_def_cfa_offset 0
        .cfi_restore x29
        .cfi_restore x30
        hint    #29                       // autiasp: x30 was signed with this very sp
        .cfi_negate_ra_state
        .endm

// void* tasklets_switch_context(void** save_sp, void* target_sp, void* value)
//   x0 = where to store the running context, x1 = context to resume,
//   x2 = value handed to the resumed side, which sees it as this call's result.
        .global tasklets_switch_context
        .type   tasklets_switch_context, %function
        .balign 16
tasklets_switch_context:
        .cfi_startproc
        bti     c
        save_running_context
        restore_target_context
        mov     x0, x2                    // the value is the resumed call's result
        ret                               // BTI: see the header
        .cfi_endproc
        .size   tasklets_switch_context, . - tasklets_switch_context

// void tasklets_kernel_switch(void** save_sp, void* target_sp, uintptr_t run_resume_hook)
//   The scheduler's switch (arch/kernel_switch.h; kernel/core/switch.hpp calls it). The kernel reaches it by tail calls
//   (b, after the caller's own autiasp), so x30 at the entry is the *user's* return
//   address and sp the user's: the frame saved is the one tasklets_switch_context would
//   save had the user called it, and the resumed side goes straight back into user code.
//   x0 is not set: the kernel's switches return nothing, and the kernel's entry function
//   (which a fresh frame's trampoline calls with x0) ignores its argument.
//
//   With x2 != 0 the switcher asks for resume-time work first (free a dead tasklet's
//   stack, raise an exception thrown into the resumed tasklet): then we branch to
//   tasklets_resume_hook with sp and x30 exactly as a `bl` in the resumed code would
//   have left them, so the hook is, to itself and to the unwinder, a function the
//   resumed code called. It signs x30 in its own prologue (pac-ret) and returns with
//   ret to the resume address; if it throws, the unwinder finds the resumed code's
//   frame as the caller's and unwinds into it.
//
//     resumed code            tasklets_kernel_switch              tasklets_resume_hook
//     bl schedule  ---(b)--->  saves, switches, restores
//                              autiasp: x30 = resume address --(b)-->  paciasp
//                                                                      ...
//     resume address  <-----------------------------(ret)-----------  autiasp; ret
//
//   Without FEAT_FPAC a failed autiasp does not fault: it leaves x30 poisoned (an error
//   code in its top bits), and it is the ret that faults on it. A `b` does not, so on
//   this path we check x30 ourselves before leaving: otherwise the hook, kernel code,
//   would run (free a stack, raise an exception) on behalf of a context whose resume
//   address was forged, and the fault would come only at its return, or as a
//   terminate() when the unwinder finds no frame at the poisoned address.
        .global tasklets_kernel_switch
        .hidden tasklets_kernel_switch
        .type   tasklets_kernel_switch, %function
        .balign 16
tasklets_kernel_switch:
        .cfi_startproc
        bti     c                         // reached by b (no check), but keep every entry a pad
        save_running_context
        restore_target_context
        cbnz    x2, 2f
        ret                               // BTI: see the header
2:      mov     x16, x30
        hint    #7                        // xpaclri: x30 with its PAC field stripped
        cmp     x16, x30                  // equal unless autiasp failed (NOPs without PAuth)
        b.ne    3f
        b       tasklets_resume_hook      // via the PLT in a shared library, like x86-64's
3:      ret     x16                       // the poisoned address: faults as the ret above would
        .cfi_endproc
        .size   tasklets_kernel_switch, . - tasklets_kernel_switch

// First resumption of a fresh context: either switch above returned here with x19 =
// entry function, x29 = 0, sp = the stack top, and x0 = value (tasklets_switch_context)
// or whatever it was (tasklets_kernel_switch: the kernel's entry ignores it). Never with
// the resume hook: the kernel asks for it only when resuming a tasklet that has run.
        .global tasklets_aarch64_first_entry
        .hidden tasklets_aarch64_first_entry
        .type   tasklets_aarch64_first_entry, %function
        .balign 16
tasklets_aarch64_first_entry:
        .cfi_startproc
        .cfi_undefined x30                // no caller: unwinders stop here
        bti     c                         // ret needs no pad; this one keeps br/blr safe too
        mov     x16, x19                  // a `bti c` pad accepts br only through x16/x17
        mov     x30, xzr                  // null return address and (x29 = 0) null frame
        br      x16                       // entry(value), never returns
        .cfi_endproc
        .size   tasklets_aarch64_first_entry, . - tasklets_aarch64_first_entry

// Declares that every indirect-branch target in this object has a BTI landing pad, and
// that the return addresses it saves are signed (PAC).
        .pushsection .note.gnu.property, "a"
        .balign 8
        .long   4                         // n_namesz: "GNU\0"
        .long   16                        // n_descsz
        .long   5                         // NT_GNU_PROPERTY_TYPE_0
        .asciz  "GNU"
        .long   0xc0000000                // GNU_PROPERTY_AARCH64_FEATURE_1_AND
        .long   4                         // pr_datasz
        .long   3                         // GNU_PROPERTY_AARCH64_FEATURE_1_BTI | _PAC
        .long   0                         // pad to 8
        .popsection

        .section .note.GNU-stack, "", %progbits
