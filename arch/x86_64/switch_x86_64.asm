; tasklets — x86-64 System V context switch (nasm).
;
; A suspended context is nothing but a stack pointer. Everything the System V ABI says
; a callee must preserve is pushed onto that context's own stack, below the address the
; switch will resume at:
;
;            higher addresses
;         +--------------------+
;    +64  |  caller's frame    |
;         +====================+
;    +56  |  resume address    |  pushed by the `call` into tasklets_switch_context
;    +48  |  rbp               |
;    +40  |  rbx               |
;    +32  |  r15               |
;    +24  |  r14               |
;    +16  |  r13               |
;     +8  |  r12               |
;     +4  |  x87 control word  |  (2 bytes, then 2 unused)
;     +0  |  MXCSR             |  <- saved stack pointer (the context)
;         +--------------------+
;            lower addresses
;
; The offsets are defined once, in frame_x86_64.h, which C++ static_asserts too.
;
; A fresh context (context_x86_64.cpp) is the same frame with r12 = the entry function,
; rbp = 0, and resume address = tasklets_x86_64_first_entry, sitting just below one
; null quadword at the top of the stack:
;
;         +--------------------+
;         |  0                 |  <- rsp at entry: the "return address" is null, so
;         +--------------------+     unwinders and debuggers stop here; (rsp+8) % 16 == 0
;         |  frame as above    |
;         +--------------------+  <- the context
;
; Control-flow enforcement (CET):
; - IBT: every entry point (reached by call through a PLT or a pointer, or by the
;   switch's jump) starts with endbr64. The switch resumes with an indirect jmp to the
;   saved resume address, which is a return site (no endbr64), so that jmp carries the
;   notrack prefix: it jumps, like a ret, to an address popped from the stack, which
;   IBT does not police for ret either (that is the shadow stack's job), and GCC emits
;   notrack for its own jump tables, so an IBT regime that runs GCC code honours it
;   (IA32_U_CET.NO_TRACK_EN). The first entry's jmp to the entry function stays
;   tracked: entry functions are address-taken, so -fcf-protection gives them endbr64.
;   The object carries a .note.gnu.property claiming IBT (below), so a program built
;   with -fcf-protection keeps IBT when it links this (tests/test_hardening.cpp checks
;   with readelf -n).
; - SHSTK (shadow stack) is NOT claimed: the switch changes rsp to another stack and
;   returns (via the resume hook's ret, or the caller's later rets) on it, which a
;   shadow stack would refuse. Supporting it needs a shadow stack per tasklet; see
;   arch/README.md. Without the claim, a linked program does not ask for one.

%macro TASKLETS_NOTE 0-*
%endmacro
%define TASKLETS_OFFSET(name, value) name equ value
%include "frame_x86_64.h"

; `notrack jmp reg`: nasm has no mnemonic for the notrack prefix (0x3e, the old DS
; override, ignored by CPUs without CET).
%macro NOTRACK_JMP 1
    db      0x3e
    jmp     %1
%endmacro

default rel
section .text

; Saves the running context's callee-saved state below the return address the call
; pushed, and publishes the stack pointer to [rdi].
%macro SAVE_RUNNING_CONTEXT 0
    sub     rsp, TASKLETS_FRAME_SAVED_BYTES
    stmxcsr [rsp + TASKLETS_FRAME_MXCSR]
    fnstcw  [rsp + TASKLETS_FRAME_X87CW]
    mov     [rsp + TASKLETS_FRAME_R12], r12
    mov     [rsp + TASKLETS_FRAME_R13], r13
    mov     [rsp + TASKLETS_FRAME_R14], r14
    mov     [rsp + TASKLETS_FRAME_R15], r15
    mov     [rsp + TASKLETS_FRAME_RBX], rbx
    mov     [rsp + TASKLETS_FRAME_RBP], rbp
    mov     [rdi], rsp                     ; publish before leaving: the target may read it
%endmacro

; Moves onto the stack in rsi and restores its callee-saved state, leaving rsp at its
; resume address. FP control that differs is reloaded out of line, in the code
; RESTORE_FP_CONTROL_SLOW_PATH places after the function's last jump. %1 names the
; local labels (each expansion needs its own).
;
; FP control rarely differs between contexts, and ldmxcsr/fldcw each cost several
; cycles, so reload only what changed. The registers hold exactly the saved values
; either way, which is all the ABI asks. Each field is compared by a load of its own
; width: our own frame's fields were just stored by stmxcsr (4 bytes) and fnstcw (2
; bytes), and one wider load spanning both could not be forwarded from those stores; it
; would stall until they reach the cache (measured: a raw switch round 503 contexts went
; from 7.7 to 12.3 ns with one 8-byte load).
%macro RESTORE_TARGET_CONTEXT 1
    mov     r8, rsp                        ; our frame, to compare FP control with
    mov     rsp, rsi                       ; --- now on the target's stack ---
    mov     eax, [rsp + TASKLETS_FRAME_MXCSR]
    cmp     eax, [r8 + TASKLETS_FRAME_MXCSR]
    jne     %{1}_fp_differs
    mov     ax, [rsp + TASKLETS_FRAME_X87CW]
    cmp     ax, [r8 + TASKLETS_FRAME_X87CW]
    jne     %{1}_fp_differs
%{1}_fp_done:
    mov     r12, [rsp + TASKLETS_FRAME_R12]
    mov     r13, [rsp + TASKLETS_FRAME_R13]
    mov     r14, [rsp + TASKLETS_FRAME_R14]
    mov     r15, [rsp + TASKLETS_FRAME_R15]
    mov     rbx, [rsp + TASKLETS_FRAME_RBX]
    mov     rbp, [rsp + TASKLETS_FRAME_RBP]
%endmacro

; The rare half of RESTORE_TARGET_CONTEXT %1: some FP control differs (r8 still points
; at the frame we left), so each field is compared again and only what changed is
; reloaded.
%macro RESTORE_FP_CONTROL_SLOW_PATH 1
%{1}_fp_differs:
    mov     eax, [rsp + TASKLETS_FRAME_MXCSR]
    cmp     eax, [r8 + TASKLETS_FRAME_MXCSR]
    je      %{1}_mxcsr_done
    ldmxcsr [rsp + TASKLETS_FRAME_MXCSR]
%{1}_mxcsr_done:
    mov     ax, [rsp + TASKLETS_FRAME_X87CW]
    cmp     ax, [r8 + TASKLETS_FRAME_X87CW]
    je      %{1}_fp_done
    fldcw   [rsp + TASKLETS_FRAME_X87CW]
    jmp     %{1}_fp_done
%endmacro

; void* tasklets_switch_context(void** save_sp, void* target_sp, void* value)
;   rdi = where to store the running context, rsi = context to resume,
;   rdx = value handed to the resumed side, which sees it as this call's result.
global tasklets_switch_context:function
align 16
tasklets_switch_context:
    endbr64                                ; may be reached through a PLT or a function pointer
    SAVE_RUNNING_CONTEXT
    RESTORE_TARGET_CONTEXT public_switch
    add     rsp, TASKLETS_FRAME_SAVED_BYTES
    pop     rcx                            ; resume address; rsp is now as the caller left it
    mov     rax, rdx                       ; the value is the resumed call's result
    ; jmp, not ret: the return-stack predictor holds an address on the *other* stack,
    ; so a ret mispredicts on every switch. An indirect jmp is predicted from history.
    ; notrack: the target is a return site, not a landing pad (IBT: see the header).
    NOTRACK_JMP rcx
    RESTORE_FP_CONTROL_SLOW_PATH public_switch

; void tasklets_kernel_switch(void** save_sp, void* target_sp, uintptr_t run_resume_hook)
;   The scheduler's switch. The kernel reaches it by tail calls, so the resume address it
;   saves is the *user's* return address: the resumed side jumps straight back into user
;   code and executes no ret whose prediction belongs to the other stack. Work the
;   resumed side must do first (free a dead tasklet's stack, raise an exception thrown
;   into it) is requested by the switcher with rdx != 0: then we enter
;   tasklets_resume_hook with the resume address on top of the stack, exactly as if the
;   resumed code had called it, so the hook may throw into that code.
global tasklets_kernel_switch:function hidden
extern tasklets_resume_hook
align 16
tasklets_kernel_switch:
    endbr64
    SAVE_RUNNING_CONTEXT
    RESTORE_TARGET_CONTEXT kernel_switch
    test    rdx, rdx
    jnz     .resume_hook
    ; Pop the resume address and jump to it in two instructions: the jmp reads the
    ; slot just freed, below rsp but inside the red zone, which signal delivery leaves
    ; alone.
    add     rsp, TASKLETS_FRAME_SAVED_BYTES + 8
    NOTRACK_JMP qword [rsp - 8]            ; a return site (IBT: see the header)
.resume_hook:
    add     rsp, TASKLETS_FRAME_SAVED_BYTES
    jmp     tasklets_resume_hook wrt ..plt ; (rsp + 8) % 16 == 0, as at any call
    RESTORE_FP_CONTROL_SLOW_PATH kernel_switch

; First resumption of a fresh context: the switch above jumped here with rax = value,
; r12 = entry function, rsp pointing at the null return address.
global tasklets_x86_64_first_entry:function hidden
align 16
tasklets_x86_64_first_entry:
    endbr64                                ; reached by the switch's indirect jmp
    mov     rdi, rax                       ; entry(value)
    jmp     r12                            ; jmp keeps the null return address on top

; The restorer of shared-stack tasklets (kernel/core/shared_stacks.hpp) on this port: not a
; context that suspends itself, but a frame that is resumed and never saved again. Every
; out tasklet's saved stack pointer is S, the frame's address; a switch to one restores
; this frame (junk registers, the FP control kept in it) and jumps here, or enters the
; resume hook first, which returns here. We then run one step of the restorer on the
; restorer stack below S and go straight on to the tasklet it brought in. A restorer that
; suspends itself like any context pays a whole save (stmxcsr, fnstcw, seven stores) and
; its loop at each switch to an out tasklet: this frame took 5-8 ns off a schedule round
; trip on one execution stack, in two alternations of the two builds (docs/shared-stacks.md).
;
;            restorer stack, top
;         +--------------------+
;   S+64  |  FP control kept   |  MXCSR | x87 CW, as built: S's own may be overwritten
;         +====================+
;   S+56  |  resume address    |  tasklets_x86_64_restorer
;   S+8   |  (junk registers)  |
;   S+0   |  MXCSR, x87 CW     |  <- S, every out tasklet's saved stack pointer
;         +--------------------+
;         |  the step's frames |  (the call below; a resume hook's frames lie here too)
;
; Entered with rsp = S+64 (after the switch popped the frame, or the hook returned).
global tasklets_x86_64_restorer:function hidden
extern tasklets_restorer_step
align 16
tasklets_x86_64_restorer:
    mov     rax, [rsp]                     ; the FP control the frame holds
    sub     rsp, TASKLETS_FRAME_SIZE       ; rsp = S, 16-byte aligned: below the frame
    ; The frame's two words that matter are written back at every pass:
    ; - the FP control. A resume hook run on the way here (a dead tasklet to free) may have
    ;   had its frames over it. Write back what the switch here found and loaded (S's
    ;   fields are this constant whenever nothing runs on this stack), so that the compare
    ;   below and the next switch here see what the CPU holds; never a stale word, which
    ;   ldmxcsr could even refuse (#GP on reserved bits).
    ; - the resume address, which nothing overwrites, but which Valgrind's memcheck takes
    ;   for undefined once the stack pointer has passed above it and come back down (the
    ;   add at the switch's end, the sub above): the switch's jump through it, and the
    ;   hook's return, would be reported. The junk registers may stay undefined: they are
    ;   only loaded, and saved by the step.
    mov     [rsp + TASKLETS_FRAME_MXCSR], rax
    lea     rax, [rel tasklets_x86_64_restorer]
    mov     [rsp + TASKLETS_FRAME_RESUME], rax
    call    tasklets_restorer_step         ; rax = the tasklet's stack pointer, rdx = run the hook
    mov     rsi, rax
    RESTORE_TARGET_CONTEXT restorer        ; compares FP control with S's, which the CPU holds
    test    rdx, rdx
    jnz     .resume_hook
    add     rsp, TASKLETS_FRAME_SAVED_BYTES + 8
    NOTRACK_JMP qword [rsp - 8]            ; a return site (IBT: see the header)
.resume_hook:
    add     rsp, TASKLETS_FRAME_SAVED_BYTES
    jmp     tasklets_resume_hook wrt ..plt
    RESTORE_FP_CONTROL_SLOW_PATH restorer

; GNU property note: every indirect-branch target in this object is a landing pad
; (endbr64), or reached only through notrack. IBT only; SHSTK is not claimed (header).
section .note.gnu.property note alloc noexec nowrite align=8
    dd      4                              ; n_namesz: "GNU\0"
    dd      16                             ; n_descsz
    dd      5                              ; NT_GNU_PROPERTY_TYPE_0
    db      "GNU", 0
    dd      0xc0000002                     ; GNU_PROPERTY_X86_FEATURE_1_AND
    dd      4                              ; pr_datasz
    dd      1                              ; GNU_PROPERTY_X86_FEATURE_1_IBT
    dd      0                              ; pad to 8

section .note.GNU-stack noalloc noexec nowrite progbits
