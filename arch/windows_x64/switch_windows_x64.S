// tasklets — Windows x64 context switch (Microsoft x64 calling convention), GNU as,
// C-preprocessed (.S) so it can include the frame header. AT&T syntax, as in the i386
// port. GNU as rather than nasm (which the System V x86-64 port uses): the .seh_*
// directives below make the assembler write the .pdata/.xdata unwind tables that
// Windows (and Wine, and MinGW's SEH-based C++ exceptions) unwind with; nasm has no such
// directives, and hand-written tables would state every offset a second time.
//
// A suspended context is nothing but a stack pointer. Everything the Windows x64 ABI
// says a callee must preserve is stored on that context's own stack, below the address
// the switch will resume at, and so are the fields of the Thread Environment Block that
// describe the running stack (a Windows fiber switch changes the same ones):
//
//            higher addresses
//         +--------------------+
//   +288  |  caller's frame    |  (starting with the 32-byte shadow space it owes us)
//         +====================+
//   +280  |  resume address    |  pushed by the `call` into the switch
//   +272  |  (padding)         |  keeps the saved stack pointer 16-byte aligned
//   +264  |  TEB FiberData     |  gs:0x20
//   +256  |  TEB Deallocation- |  gs:0x1478
//         |        Stack       |
//   +248  |  TEB StackLimit    |  gs:0x10
//   +240  |  TEB StackBase     |  gs:0x08
//   +232  |  TEB ExceptionList |  gs:0x00
//   +228  |  x87 control word  |  (2 bytes, then 2 unused)
//   +224  |  MXCSR             |
//   +160  |  rbx rbp rdi rsi   |
//         |  r12 r13 r14 r15   |  (8 bytes each, in this order)
//     +0  |  xmm6 ... xmm15    |  (16 bytes each) <- saved stack pointer (the context)
//         +--------------------+
//            lower addresses
//
// The offsets are defined once, in frame_windows_x64.h, which C++ static_asserts too.
// Two functions store and load this frame: tasklets_switch_context, the public switch,
// and tasklets_kernel_switch, the scheduler's (reached by tail calls, optionally
// entering the resume hook). Either resumes what the other suspended.
//
// What is saved, and why:
// - rbx, rbp, rdi, rsi, r12-r15 and the whole of xmm6-xmm15: the ABI's nonvolatile
//   registers (rdi and rsi, and the vector registers, are what System V lacks).
// - MXCSR's control bits and the x87 control word are nonvolatile too; as on every port
//   (arch/README.md, "FP control and status"), each is written only when it differs.
// - The TEB: StackBase and StackLimit bound the stack that Windows' (and Wine's)
//   exception dispatcher and unwinder accept frames on; a frame outside them is "invalid"
//   and the exception is not handled. DeallocationStack is the stack's allocation base,
//   which stack-overflow handling reads. FiberData is what GetCurrentFiber() returns.
//   ExceptionList heads the chain of frames registered with the old x86 SEH mechanism;
//   x64 Windows itself does not use it, but Wine does, for its own handlers, and walks it
//   while dispatching an exception: a chain left pointing into another stack makes Wine
//   call a handler that is not on this one, and the process dies. (Boost.Context leaves
//   ExceptionList alone; corosensei switches it, as here.)
// - rax, rcx, rdx, r8-r11 and xmm0-xmm5 are volatile: scratch here, as for any callee.
//   gs (the TEB itself) belongs to the thread.
//
// A fresh context (context_windows_x64.cpp) is the same frame with r12 = the entry
// function, rbp = 0, the TEB fields of its own stack, and resume address =
// tasklets_windows_x64_first_entry:
//
//         +--------------------+  <- stack top, 16-byte aligned = its StackBase
//         |  shadow space (32) |  zero: the home area a caller owes the entry
//         +--------------------+
//         |  0                 |  <- rsp at entry: the "return address" is null, so
//         +--------------------+     unwinders stop here; (rsp + 8) % 16 == 0
//         |  0 (8 bytes)       |  popped by the trampoline: the switch resumes with
//         +--------------------+     rsp 16-byte aligned, an entry needs it at 8 mod 16
//         |  frame as above    |
//         +--------------------+  <- the context
//
// Unwinding. Each switch is described to the unwinder as a function that allocates the
// frame and saves the nonvolatile registers in it (.seh_* below). After the stack
// pointer moves, the target's frame has exactly that shape on the target's stack, so an
// unwind from inside either half finds the right registers and resume address. Nothing
// is ever unwound through a switch in normal operation (a suspended stack is not walked;
// a running one has no switch frame on it): the tables serve debuggers and samplers.
// One gap: the last instructions (`add rsp` up to the jump) are not a canonical x64
// epilogue, which unwinders recognise only as add/pop sequences ending in ret or a
// direct jmp, so a sample taken exactly there unwinds wrongly; nothing else can stop there.
//
// The resume address is popped into rcx and jumped to, never `ret`ed to: the return-stack
// predictor holds an address on the *other* stack, so a ret would mispredict on every
// switch. Popping first matters: Windows x64 has no red zone, so nothing below rsp is
// safe from being overwritten (the System V port's `jmp [rsp - 8]` would not be).

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) .equ name, value
#include "frame_windows_x64.h"

        .text

// Stores the running context's nonvolatile state below the return address the call
// pushed, and publishes the stack pointer to (%rcx). Ends the SEH prologue.
        .macro  save_running_context
        subq    $TASKLETS_FRAME_SAVED_BYTES, %rsp
        .seh_stackalloc TASKLETS_FRAME_SAVED_BYTES
        movaps  %xmm6, TASKLETS_FRAME_XMM6(%rsp)
        .seh_savexmm %xmm6, TASKLETS_FRAME_XMM6
        movaps  %xmm7, TASKLETS_FRAME_XMM7(%rsp)
        .seh_savexmm %xmm7, TASKLETS_FRAME_XMM7
        movaps  %xmm8, TASKLETS_FRAME_XMM8(%rsp)
        .seh_savexmm %xmm8, TASKLETS_FRAME_XMM8
        movaps  %xmm9, TASKLETS_FRAME_XMM9(%rsp)
        .seh_savexmm %xmm9, TASKLETS_FRAME_XMM9
        movaps  %xmm10, TASKLETS_FRAME_XMM10(%rsp)
        .seh_savexmm %xmm10, TASKLETS_FRAME_XMM10
        movaps  %xmm11, TASKLETS_FRAME_XMM11(%rsp)
        .seh_savexmm %xmm11, TASKLETS_FRAME_XMM11
        movaps  %xmm12, TASKLETS_FRAME_XMM12(%rsp)
        .seh_savexmm %xmm12, TASKLETS_FRAME_XMM12
        movaps  %xmm13, TASKLETS_FRAME_XMM13(%rsp)
        .seh_savexmm %xmm13, TASKLETS_FRAME_XMM13
        movaps  %xmm14, TASKLETS_FRAME_XMM14(%rsp)
        .seh_savexmm %xmm14, TASKLETS_FRAME_XMM14
        movaps  %xmm15, TASKLETS_FRAME_XMM15(%rsp)
        .seh_savexmm %xmm15, TASKLETS_FRAME_XMM15
        movq    %rbx, TASKLETS_FRAME_RBX(%rsp)
        .seh_savereg %rbx, TASKLETS_FRAME_RBX
        movq    %rbp, TASKLETS_FRAME_RBP(%rsp)
        .seh_savereg %rbp, TASKLETS_FRAME_RBP
        movq    %rdi, TASKLETS_FRAME_RDI(%rsp)
        .seh_savereg %rdi, TASKLETS_FRAME_RDI
        movq    %rsi, TASKLETS_FRAME_RSI(%rsp)
        .seh_savereg %rsi, TASKLETS_FRAME_RSI
        movq    %r12, TASKLETS_FRAME_R12(%rsp)
        .seh_savereg %r12, TASKLETS_FRAME_R12
        movq    %r13, TASKLETS_FRAME_R13(%rsp)
        .seh_savereg %r13, TASKLETS_FRAME_R13
        movq    %r14, TASKLETS_FRAME_R14(%rsp)
        .seh_savereg %r14, TASKLETS_FRAME_R14
        movq    %r15, TASKLETS_FRAME_R15(%rsp)
        .seh_savereg %r15, TASKLETS_FRAME_R15
        .seh_endprologue
        stmxcsr TASKLETS_FRAME_MXCSR(%rsp)
        fnstcw  TASKLETS_FRAME_X87CW(%rsp)
        movq    %gs:TASKLETS_TEB_EXCEPTION_LIST, %rax
        movq    %rax, TASKLETS_FRAME_EXCEPTION_LIST(%rsp)
        movq    %gs:TASKLETS_TEB_STACK_BASE, %rax
        movq    %rax, TASKLETS_FRAME_STACK_BASE(%rsp)
        movq    %gs:TASKLETS_TEB_STACK_LIMIT, %rax
        movq    %rax, TASKLETS_FRAME_STACK_LIMIT(%rsp)
        movq    %gs:TASKLETS_TEB_DEALLOCATION_STACK, %rax
        movq    %rax, TASKLETS_FRAME_DEALLOCATION_STACK(%rsp)
        movq    %gs:TASKLETS_TEB_FIBER_DATA, %rax
        movq    %rax, TASKLETS_FRAME_FIBER_DATA(%rsp)
        movq    %rsp, (%rcx)              // publish before leaving: the target may read it
        .endm

// Moves onto the stack in rdx and restores its nonvolatile state and TEB fields, leaving
// rsp at its frame (released by the caller of this macro). r9 keeps our own frame, to
// compare FP control with. FP control that differs is reloaded out of line, in
// restore_fp_control_slow_path, placed after the function's last jump. Each field is
// compared by a load of its own width, for store forwarding (see switch_x86_64.asm).
        .macro  restore_target_context name
        movq    %rsp, %r9
        movq    %rdx, %rsp                // --- now on the target's stack ---
        movl    TASKLETS_FRAME_MXCSR(%rsp), %eax
        cmpl    TASKLETS_FRAME_MXCSR(%r9), %eax
        jne     .L\name\()_fp_differs
        movzwl  TASKLETS_FRAME_X87CW(%rsp), %eax
        cmpw    TASKLETS_FRAME_X87CW(%r9), %ax
        jne     .L\name\()_fp_differs
.L\name\()_fp_done:
        // The TEB first: from here on the stack in use is the target's.
        movq    TASKLETS_FRAME_EXCEPTION_LIST(%rsp), %rax
        movq    %rax, %gs:TASKLETS_TEB_EXCEPTION_LIST
        movq    TASKLETS_FRAME_STACK_BASE(%rsp), %rax
        movq    %rax, %gs:TASKLETS_TEB_STACK_BASE
        movq    TASKLETS_FRAME_STACK_LIMIT(%rsp), %rax
        movq    %rax, %gs:TASKLETS_TEB_STACK_LIMIT
        movq    TASKLETS_FRAME_DEALLOCATION_STACK(%rsp), %rax
        movq    %rax, %gs:TASKLETS_TEB_DEALLOCATION_STACK
        movq    TASKLETS_FRAME_FIBER_DATA(%rsp), %rax
        movq    %rax, %gs:TASKLETS_TEB_FIBER_DATA
        movaps  TASKLETS_FRAME_XMM6(%rsp), %xmm6
        movaps  TASKLETS_FRAME_XMM7(%rsp), %xmm7
        movaps  TASKLETS_FRAME_XMM8(%rsp), %xmm8
        movaps  TASKLETS_FRAME_XMM9(%rsp), %xmm9
        movaps  TASKLETS_FRAME_XMM10(%rsp), %xmm10
        movaps  TASKLETS_FRAME_XMM11(%rsp), %xmm11
        movaps  TASKLETS_FRAME_XMM12(%rsp), %xmm12
        movaps  TASKLETS_FRAME_XMM13(%rsp), %xmm13
        movaps  TASKLETS_FRAME_XMM14(%rsp), %xmm14
        movaps  TASKLETS_FRAME_XMM15(%rsp), %xmm15
        movq    TASKLETS_FRAME_RBX(%rsp), %rbx
        movq    TASKLETS_FRAME_RBP(%rsp), %rbp
        movq    TASKLETS_FRAME_RDI(%rsp), %rdi
        movq    TASKLETS_FRAME_RSI(%rsp), %rsi
        movq    TASKLETS_FRAME_R12(%rsp), %r12
        movq    TASKLETS_FRAME_R13(%rsp), %r13
        movq    TASKLETS_FRAME_R14(%rsp), %r14
        movq    TASKLETS_FRAME_R15(%rsp), %r15
        .endm

// The rare half of restore_target_context \name: some FP control differs (r9 still
// points at the frame we left), so each field is compared again and only what changed
// is reloaded.
        .macro  restore_fp_control_slow_path name
.L\name\()_fp_differs:
        movl    TASKLETS_FRAME_MXCSR(%rsp), %eax
        cmpl    TASKLETS_FRAME_MXCSR(%r9), %eax
        je      .L\name\()_mxcsr_done
        ldmxcsr TASKLETS_FRAME_MXCSR(%rsp)
.L\name\()_mxcsr_done:
        movzwl  TASKLETS_FRAME_X87CW(%rsp), %eax
        cmpw    TASKLETS_FRAME_X87CW(%r9), %ax
        je      .L\name\()_fp_done
        fldcw   TASKLETS_FRAME_X87CW(%rsp)
        jmp     .L\name\()_fp_done
        .endm

// void* tasklets_switch_context(void** save_sp, void* target_sp, void* value)
//   rcx = where to store the running context, rdx = context to resume,
//   r8 = value handed to the resumed side, which sees it as this call's result.
        .globl  tasklets_switch_context
        .def    tasklets_switch_context; .scl 2; .type 32; .endef
        .p2align 4
        .seh_proc tasklets_switch_context
tasklets_switch_context:
        save_running_context
        restore_target_context public_switch
        addq    $TASKLETS_FRAME_SAVED_BYTES, %rsp
        popq    %rcx                      // resume address; rsp is now as the caller left it
        movq    %r8, %rax                 // the value is the resumed call's result
        jmp     *%rcx
        restore_fp_control_slow_path public_switch
        .seh_endproc

// void tasklets_kernel_switch(void** save_sp, void* target_sp, uintptr_t run_resume_hook)
//   The scheduler's switch. The kernel reaches it by tail calls, so the resume address it
//   saves is the *user's* return address: the resumed side jumps straight back into user
//   code. With r8 != 0 it enters tasklets_resume_hook instead, with the resume address on
//   top of the stack exactly as if the resumed code had called it (the 32 bytes above are
//   the shadow space that code's own call provided), so the hook may throw into it.
        .globl  tasklets_kernel_switch
        .def    tasklets_kernel_switch; .scl 2; .type 32; .endef
        .p2align 4
        .seh_proc tasklets_kernel_switch
tasklets_kernel_switch:
        save_running_context
        restore_target_context kernel_switch
        addq    $TASKLETS_FRAME_SAVED_BYTES, %rsp
        testq   %r8, %r8
        jnz     .Lkernel_switch_resume_hook
        popq    %rcx
        jmp     *%rcx
.Lkernel_switch_resume_hook:
        jmp     tasklets_resume_hook      // (rsp + 8) % 16 == 0, as at any call
        restore_fp_control_slow_path kernel_switch
        .seh_endproc

// First resumption of a fresh context: the switch above jumped here with rax = value,
// r12 = entry function, rsp 16-byte aligned, 8 bytes below the null return address.
// Never a caller, so never on a stack an unwinder walks, and it needs no unwind entry.
        .globl  tasklets_windows_x64_first_entry
        .def    tasklets_windows_x64_first_entry; .scl 2; .type 32; .endef
        .p2align 4
tasklets_windows_x64_first_entry:
        addq    $8, %rsp                  // onto the null return address: as after a call
        movq    %rax, %rcx                // entry(value)
        jmp     *%r12                     // jmp keeps the null return address on top
