// tasklets — i386 (System V i386 ABI as used by GCC on Linux) context switch, GNU as,
// C-preprocessed (.S) so it can include the frame header. AT&T syntax: it is GNU as's own
// dialect, the one GCC emits and objdump and gdb print, and in it a symbol is never
// mistaken for a memory operand, which matters for the @GOT reference below
// (.intel_syntax would read it as the nasm x86-64 port does, at the price of gas's
// intel-mode ambiguities).
//
// A suspended context is nothing but a stack pointer. Everything the ABI says a callee
// must preserve is stored on that context's own stack, below the address the switch
// will resume at:
//
//            higher addresses
//         +--------------------+
//    +28  |  caller's frame    |  (the switch's arguments, cdecl: on the stack)
//         +====================+
//    +24  |  resume address    |  pushed by the `call` into the switch
//    +20  |  ebp               |
//    +16  |  edi               |
//    +12  |  esi               |
//     +8  |  ebx               |
//     +4  |  x87 control word  |  (2 bytes, then 2 unused)
//     +0  |  MXCSR             |  <- saved stack pointer (the context)
//         +--------------------+
//            lower addresses
//
// The offsets are defined once, in frame_i386.h, which C++ static_asserts too.
// Two functions store and load this frame: tasklets_switch_context, the public switch,
// and tasklets_kernel_switch, the scheduler's (reached by tail calls, optionally entering
// the resume hook; see its comment below). Either resumes what the other suspended.
//
// Stack alignment: GCC on Linux keeps esp 16-byte aligned at every call (the i386 psABI
// as revised for SSE; GCC assumes it at function entry and does not realign), so a
// function's first instruction sees (esp + 4) % 16 == 0. The switch calls nothing while
// its frame is live, so the frame itself needs no padding: a saved stack pointer is
// 4 mod 16, and once the frame is released esp is exactly what the resumed caller's call
// left.
//
// A fresh context (context_i386.cpp) is the same frame with ebx = the entry function,
// ebp = 0, and resume address = tasklets_i386_first_entry, below a null return address
// and the entry's argument slot at the top of the stack:
//
//         +--------------------+  <- stack top, 16-byte aligned
//         |  (12 bytes, 0)     |
//         +--------------------+
//         |  argument          |  written by tasklets_i386_first_entry: the first
//         +--------------------+     switch's value; 16-byte aligned, as at any call
//         |  0                 |  <- esp at entry: the "return address" is null, so
//         +--------------------+     unwinders and debuggers stop here
//         |  frame as above    |
//         +--------------------+  <- the context
//
// Register choices:
// - Saved: ebx, esi, edi, ebp and esp (as the context itself), MXCSR and the x87 control
//   word. eax, ecx and edx are scratch, as for any callee. The x87 register stack is empty
//   at every call (the ABI), and the x87 status word is status, so neither is switched;
//   the SSE flags share MXCSR with its control bits and travel with the context, as on
//   x86-64 (arch/README.md, "FP control and status").
// - MXCSR needs SSE (Pentium III and later). Debian's i386 baseline is i686 without SSE,
//   and this library's C++ is compiled for that baseline (it needs no SSE code), but the
//   switch cannot keep a context's SSE rounding mode without reading MXCSR, so it
//   requires SSE at run time; context_i386.cpp checks for it when the library is loaded,
//   so a CPU without it gets a message rather than SIGILL in the middle of a switch.
// - The resume address is popped into ecx and jumped to, never `ret`ed to: the
//   return-stack predictor holds an address on the *other* stack, so a ret would
//   mispredict on every switch (as on x86-64). Popping first matters here: i386 has no
//   red zone, so a slot below esp may be overwritten by a signal at any moment, and the
//   x86-64 kernel switch's `jmp [rsp - 8]` would not be safe.
// - ebx: C++ in a position-independent library keeps the GOT address in ebx around
//   calls through the PLT. To the switch it is an ordinary callee-saved register; the
//   one symbol it calls (tasklets_resume_hook) is reached through the GOT with ecx as the
//   base, so the resumed code's ebx is never disturbed.
//
// Control-flow enforcement (CET), as on x86-64 where it applies to i386:
// - IBT: every entry point starts with endbr32, the resume jump carries notrack (it goes
//   to a return site, not a landing pad, like a ret, which IBT does not police), and the
//   object carries a .note.gnu.property claiming IBT, so a program built with
//   -fcf-protection keeps IBT when it links this (tests/CMakeLists.txt checks with
//   readelf -n). The first entry's jmp to the entry function stays tracked: entry
//   functions are address-taken, so -fcf-protection gives them endbr32. Linux enforces
//   IBT in no user space today, 32-bit included; the marks cost a 4-byte NOP per entry.
// - SHSTK is NOT claimed: the switch changes esp to another stack and returns on it,
//   which a shadow stack would refuse (and Linux offers user shadow stacks to 64-bit
//   programs only).

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) .equ name, value
#include "frame_i386.h"

        .text

// Both switches below store and load the frame with these macros, so a context
// suspended by one is resumed by the other (and a fresh frame from prepare_stack suits
// both).

// Stores the running context's callee-saved state below the return address the call
// pushed, and publishes the stack pointer to (\save_sp).
        .macro  save_running_context save_sp
        subl    $TASKLETS_FRAME_SAVED_BYTES, %esp
        .cfi_adjust_cfa_offset TASKLETS_FRAME_SAVED_BYTES
        stmxcsr TASKLETS_FRAME_MXCSR(%esp)
        fnstcw  TASKLETS_FRAME_X87CW(%esp)
        movl    %ebx, TASKLETS_FRAME_EBX(%esp)
        movl    %esi, TASKLETS_FRAME_ESI(%esp)
        movl    %edi, TASKLETS_FRAME_EDI(%esp)
        movl    %ebp, TASKLETS_FRAME_EBP(%esp)
        // The rules hold on both stacks, because the target's frame has the same shape.
        .cfi_rel_offset %ebx, TASKLETS_FRAME_EBX
        .cfi_rel_offset %esi, TASKLETS_FRAME_ESI
        .cfi_rel_offset %edi, TASKLETS_FRAME_EDI
        .cfi_rel_offset %ebp, TASKLETS_FRAME_EBP
        movl    %esp, (\save_sp)          // publish before leaving: the target may read it
        .endm

// Moves onto the stack in edx and restores its callee-saved state, leaving esp at its
// frame (released by release_frame_and_resume). \old receives our own frame, to compare
// FP control with; edx is scratch once esp holds it. FP control that differs is reloaded
// out of line, in restore_fp_control_slow_path, placed after the function's last jump.
//
// FP control rarely differs between contexts, and ldmxcsr/fldcw each cost several
// cycles, so only what changed is reloaded. Each field is compared by a load of its own
// width (4 bytes for what stmxcsr stored, 2 for fnstcw): a wider load spanning both
// could not be forwarded from those stores (x86-64 measured the stall; switch_x86_64.asm).
        .macro  restore_target_context old, name
        movl    %esp, \old
        movl    %edx, %esp                // --- now on the target's stack ---
        movl    TASKLETS_FRAME_MXCSR(%esp), %edx
        cmpl    TASKLETS_FRAME_MXCSR(\old), %edx
        jne     .L\name\()_fp_differs
        movzwl  TASKLETS_FRAME_X87CW(%esp), %edx
        cmpw    TASKLETS_FRAME_X87CW(\old), %dx
        jne     .L\name\()_fp_differs
.L\name\()_fp_done:
        movl    TASKLETS_FRAME_EBX(%esp), %ebx
        movl    TASKLETS_FRAME_ESI(%esp), %esi
        movl    TASKLETS_FRAME_EDI(%esp), %edi
        movl    TASKLETS_FRAME_EBP(%esp), %ebp
        .endm

// Releases the restored frame and jumps to its resume address, through ecx: esp is then
// exactly as the resumed code's call into a switch left it.
        .macro  release_frame_and_resume
        addl    $TASKLETS_FRAME_SAVED_BYTES, %esp
        .cfi_adjust_cfa_offset -TASKLETS_FRAME_SAVED_BYTES
        .cfi_restore %ebx
        .cfi_restore %esi
        .cfi_restore %edi
        .cfi_restore %ebp
        popl    %ecx                      // pop first: no red zone below esp (see the header)
        .cfi_adjust_cfa_offset -4
        .cfi_register %eip, %ecx
        notrack jmp *%ecx                 // a return site (IBT: see the header)
        .endm

// The rare half of restore_target_context: some FP control differs (\old still points
// at the frame we left), so each field is compared again and only what changed is
// reloaded.
        .macro  restore_fp_control_slow_path old, name
.L\name\()_fp_differs:
        movl    TASKLETS_FRAME_MXCSR(%esp), %edx
        cmpl    TASKLETS_FRAME_MXCSR(\old), %edx
        je      .L\name\()_mxcsr_done
        ldmxcsr TASKLETS_FRAME_MXCSR(%esp)
.L\name\()_mxcsr_done:
        movzwl  TASKLETS_FRAME_X87CW(%esp), %edx
        cmpw    TASKLETS_FRAME_X87CW(\old), %dx
        je      .L\name\()_fp_done
        fldcw   TASKLETS_FRAME_X87CW(%esp)
        jmp     .L\name\()_fp_done
        .endm

// void* tasklets_switch_context(void** save_sp, void* target_sp, void* value)
//   cdecl: the arguments are on the stack above the return address; the value is
//   returned in eax, to whoever suspended target_sp.
        .globl  tasklets_switch_context
        .type   tasklets_switch_context, @function
        .p2align 4
tasklets_switch_context:
        .cfi_startproc
        endbr32                           // may be reached through a PLT or a function pointer
        movl    4(%esp), %ecx             // save_sp
        movl    8(%esp), %edx             // target_sp
        movl    12(%esp), %eax            // value: the resumed call's result
        save_running_context %ecx
        .cfi_remember_state               // the frame is live: the slow path's state
        restore_target_context %ecx, public_switch
        release_frame_and_resume
        .cfi_restore_state
        restore_fp_control_slow_path %ecx, public_switch
        .cfi_endproc
        .size   tasklets_switch_context, . - tasklets_switch_context

// void tasklets_kernel_switch(void** save_sp, void* target_sp, uintptr_t run_resume_hook)
//   The scheduler's switch (arch/kernel_switch.h; kernel/core/switch.hpp calls it),
//   declared regparm(3) on i386: eax = save_sp, edx = target_sp, ecx = run_resume_hook.
//   With its arguments in registers the kernel can reach it by tail calls (GCC cannot
//   tail-call a cdecl function needing more argument space than its caller received),
//   so the resume address it saves is the *user's* return address, and the resumed side
//   jumps straight back into user code, executing no ret whose prediction belongs to the
//   other stack. eax is not set: the kernel's switches return nothing, and the kernel's
//   entry function (which a fresh frame's trampoline hands eax) ignores its argument.
//
//   With ecx != 0 the switcher asks for resume-time work first (free a dead tasklet's
//   stack, raise an exception thrown into the resumed tasklet): then we jump to
//   tasklets_resume_hook with the resume address on top of the stack, exactly as if the
//   resumed code had called it, so its ret lands on the resume address and, if it
//   throws, the unwinder finds the resumed code's frame as the caller's.
        .globl  tasklets_kernel_switch
        .hidden tasklets_kernel_switch
        .type   tasklets_kernel_switch, @function
        .p2align 4
tasklets_kernel_switch:
        .cfi_startproc
        endbr32
        save_running_context %eax
        .cfi_remember_state               // the frame is live: the slow path's state
        restore_target_context %eax, kernel_switch
        testl   %ecx, %ecx
        jnz     .Lresume_hook
        .cfi_remember_state               // the frame is live: the hook path's state
        release_frame_and_resume
        .cfi_restore_state
.Lresume_hook:
        addl    $TASKLETS_FRAME_SAVED_BYTES, %esp
        .cfi_adjust_cfa_offset -TASKLETS_FRAME_SAVED_BYTES
        .cfi_restore %ebx
        .cfi_restore %esi
        .cfi_restore %edi
        .cfi_restore %ebp
        // Not hidden, so reached as any call to it would be: through the GOT in a shared
        // library (relaxed to a direct jump where the linker may). The PLT is no option,
        // since its i386 form wants the GOT in ebx, which holds the resumed code's value.
        call    tasklets_i386_pc_thunk_ecx
        addl    $_GLOBAL_OFFSET_TABLE_, %ecx
        jmp     *tasklets_resume_hook@GOT(%ecx)  // (esp + 4) % 16 == 0, as at any call
        .cfi_restore_state
        restore_fp_control_slow_path %eax, kernel_switch
        .cfi_endproc
        .size   tasklets_kernel_switch, . - tasklets_kernel_switch

// ecx = the address of the instruction after the call: the base for the GOT reference
// above (what GCC's __x86.get_pc_thunk.cx does; a call paired with this ret keeps the
// return-stack predictor in step, which `call 1f; 1: pop` would not).
        .type   tasklets_i386_pc_thunk_ecx, @function
        .p2align 4
tasklets_i386_pc_thunk_ecx:
        .cfi_startproc
        movl    (%esp), %ecx
        ret
        .cfi_endproc
        .size   tasklets_i386_pc_thunk_ecx, . - tasklets_i386_pc_thunk_ecx

// First resumption of a fresh context: a switch above jumped here with ebx = entry
// function, ebp = 0, esp pointing at the null return address and eax = value (from
// tasklets_switch_context; whatever it was from tasklets_kernel_switch, whose entry
// function ignores it). Never with the resume hook: the kernel asks for it only when
// resuming a tasklet that has run.
        .globl  tasklets_i386_first_entry
        .hidden tasklets_i386_first_entry
        .type   tasklets_i386_first_entry, @function
        .p2align 4
tasklets_i386_first_entry:
        .cfi_startproc
        .cfi_undefined %eip               // no caller: unwinders stop here
        endbr32                           // reached by the switch's indirect jmp
        movl    %eax, 4(%esp)             // entry(value): cdecl, the argument above the return address
        jmp     *%ebx                     // jmp keeps the null return address on top
        .cfi_endproc
        .size   tasklets_i386_first_entry, . - tasklets_i386_first_entry

// GNU property note: every indirect-branch target in this object is a landing pad
// (endbr32), or reached only through notrack. IBT only; SHSTK is not claimed (header).
// ELF32 notes and properties are 4-byte aligned, so no padding follows the property.
        .pushsection .note.gnu.property, "a"
        .p2align 2
        .long   4                         // n_namesz: "GNU\0"
        .long   12                        // n_descsz
        .long   5                         // NT_GNU_PROPERTY_TYPE_0
        .asciz  "GNU"
        .long   0xc0000002                // GNU_PROPERTY_X86_FEATURE_1_AND
        .long   4                         // pr_datasz
        .long   1                         // GNU_PROPERTY_X86_FEATURE_1_IBT
        .popsection

        .section .note.GNU-stack, "", @progbits
