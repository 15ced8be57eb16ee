// tasklets ABI conformance tests, Windows x64: the assembly half (GNU as, AT&T, like the
// switch in arch/windows_x64). The C++ half is tests/test_abi_*.cpp and
// teb_windows_x64.cpp; declarations and the register order are in
// tests/arch/abi_probe.hpp (rbx rbp rdi rsi r12-r15, then xmm6-xmm15 as low and high
// quadwords: the ABI preserves all 128 bits, so both halves are checked).
//
// Written in assembly because only assembly can put a known value in every nonvolatile
// register across a call, or overwrite registers a compiler would never touch.
// The scheduler-switch probes (tasklets_abi_call_checked, tasklets_abi_call_clobbered)
// share tasklets_abi_switch_checked's frame (the PROBE_PROLOGUE/PROBE_EPILOGUE macros).

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) .equ name, value
#include "abi_peer.h"

        .equ    CLOBBER, 0xBAD0BAD0BAD0BAD0
        .equ    NGPR, 8                   // general registers in the pattern list
        .equ    NSAVED, 28                // 8 general + 10 vector registers x 2 halves
        .equ    SP_BEFORE, NSAVED * 8     // results[sp_before], results[sp_after]
        .equ    SP_AFTER, NSAVED * 8 + 8
        // tasklets_abi_switch_checked's frame below the 8 pushes: shadow space for the
        // call, the caller's xmm6-xmm15, the results pointer; 8 mod 16 re-aligns rsp.
        .equ    XMM_SAVE, 32
        .equ    RESULTS_SLOT, XMM_SAVE + 160
        .equ    LOCALS, RESULTS_SLOT + 8

        .text

// void* tasklets_abi_switch_checked(void** save_sp, void* target_sp, void* value,
//                                   const uint64_t* patterns, uint64_t* results)
//   rcx, rdx, r8 go to the switch unchanged; r9 = patterns; results is the fifth
//   argument, on the stack above the return address and the 32-byte shadow space.
        .globl  tasklets_abi_switch_checked
        .def    tasklets_abi_switch_checked; .scl 2; .type 32; .endef
        .p2align 4
        .seh_proc tasklets_abi_switch_checked
tasklets_abi_switch_checked:
        pushq   %rbp
        .seh_pushreg %rbp
        pushq   %rbx
        .seh_pushreg %rbx
        pushq   %rdi
        .seh_pushreg %rdi
        pushq   %rsi
        .seh_pushreg %rsi
        pushq   %r12
        .seh_pushreg %r12
        pushq   %r13
        .seh_pushreg %r13
        pushq   %r14
        .seh_pushreg %r14
        pushq   %r15
        .seh_pushreg %r15
        subq    $LOCALS, %rsp
        .seh_stackalloc LOCALS
        .irp    n, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        movaps  %xmm\n, XMM_SAVE + (\n - 6) * 16(%rsp)
        .seh_savexmm %xmm\n, XMM_SAVE + (\n - 6) * 16
        .endr
        .seh_endprologue
        movq    LOCALS + 8 * 8 + 8 + 32(%rsp), %rax   // results (fifth argument)
        movq    %rax, RESULTS_SLOT(%rsp)
        movq    %rsp, SP_BEFORE(%rax)
        .irp    n, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        movups  (NGPR + (\n - 6) * 2) * 8(%r9), %xmm\n
        .endr
        movq    0 * 8(%r9), %rbx
        movq    1 * 8(%r9), %rbp
        movq    2 * 8(%r9), %rdi
        movq    3 * 8(%r9), %rsi
        movq    4 * 8(%r9), %r12
        movq    5 * 8(%r9), %r13
        movq    6 * 8(%r9), %r14
        movq    7 * 8(%r9), %r15
        call    tasklets_switch_context
        movq    RESULTS_SLOT(%rsp), %r10          // rax (the switch's result) stays untouched
        movq    %rbx, 0 * 8(%r10)
        movq    %rbp, 1 * 8(%r10)
        movq    %rdi, 2 * 8(%r10)
        movq    %rsi, 3 * 8(%r10)
        movq    %r12, 4 * 8(%r10)
        movq    %r13, 5 * 8(%r10)
        movq    %r14, 6 * 8(%r10)
        movq    %r15, 7 * 8(%r10)
        .irp    n, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        movups  %xmm\n, (NGPR + (\n - 6) * 2) * 8(%r10)
        .endr
        movq    %rsp, SP_AFTER(%r10)
        .irp    n, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        movaps  XMM_SAVE + (\n - 6) * 16(%rsp), %xmm\n
        .endr
        addq    $LOCALS, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rsi
        popq    %rdi
        popq    %rbx
        popq    %rbp
        ret
        .seh_endproc

// FILL_ALL reg: every general register but rsp and \reg, and every vector register
// (both halves), gets \reg's value.
        .macro  fill_all reg
        .irp    r, %rax, %rbx, %rcx, %rdx, %rsi, %rdi, %rbp, %r8, %r9, %r10, %r11, %r12, %r13, %r14, %r15
        .ifnc   \r, \reg
        movq    \reg, \r
        .endif
        .endr
        .irp    n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        movq    \reg, %xmm\n
        punpcklqdq %xmm\n, %xmm\n
        .endr
        .endm

// void tasklets_abi_clobber_entry(tasklets_abi_peer* peer)
//   A context entry: never returns and is never unwound, so it has no unwind entry.
        .globl  tasklets_abi_clobber_entry
        .def    tasklets_abi_clobber_entry; .scl 2; .type 32; .endef
        .p2align 4
tasklets_abi_clobber_entry:
        subq    $40, %rsp                 // shadow space for our calls, the peer at +32;
        movq    %rcx, 32(%rsp)            // rsp is now 16-byte aligned
.Lclobber_again:
        movq    32(%rsp), %rcx
        addq    $1, ABI_PEER_ROUNDS(%rcx)
        movq    $CLOBBER, %r11
        fill_all %r11
        movq    32(%rsp), %r9
        movq    ABI_PEER_ROUNDS(%r9), %r8             // value: how many times we ran
        movq    ABI_PEER_MAIN_SP(%r9), %rdx
        leaq    ABI_PEER_SELF_SP(%r9), %rcx
        call    tasklets_switch_context
        jmp     .Lclobber_again

// void tasklets_abi_entry_probe(tasklets_abi_peer* peer)
        .globl  tasklets_abi_entry_probe
        .def    tasklets_abi_entry_probe; .scl 2; .type 32; .endef
        .p2align 4
tasklets_abi_entry_probe:
        movq    %rsp, ABI_PEER_ENTRY_SP(%rcx)
        movq    (%rsp), %rax              // the return address a call would have pushed
        movq    %rax, ABI_PEER_ENTRY_RA(%rcx)
        movq    %rbp, ABI_PEER_ENTRY_FP(%rcx)
        subq    $40, %rsp
        movq    %rcx, 32(%rsp)
.Lentry_probe_again:
        movq    32(%rsp), %r9
        movq    ABI_PEER_MAIN_SP(%r9), %rdx
        leaq    ABI_PEER_SELF_SP(%r9), %rcx
        xorl    %r8d, %r8d
        call    tasklets_switch_context
        jmp     .Lentry_probe_again

// uintptr_t tasklets_abi_sp_at_call(void): a leaf that touches no nonvolatile register
// and does not move rsp, so it needs no unwind entry.
        .globl  tasklets_abi_sp_at_call
        .def    tasklets_abi_sp_at_call; .scl 2; .type 32; .endef
        .p2align 4
tasklets_abi_sp_at_call:
        leaq    8(%rsp), %rax             // undo the call's push of the return address
        ret

// void tasklets_abi_call_checked(void (*fn)(void*), void* arg,
//                                const uint64_t* patterns, uint64_t* results)
//   rcx = fn, rdx = arg, r8 = patterns, r9 = results. The frame and the register order
//   are those of tasklets_abi_switch_checked; only the call differs.
        .globl  tasklets_abi_call_checked
        .def    tasklets_abi_call_checked; .scl 2; .type 32; .endef
        .p2align 4
        .seh_proc tasklets_abi_call_checked
tasklets_abi_call_checked:
        pushq   %rbp
        .seh_pushreg %rbp
        pushq   %rbx
        .seh_pushreg %rbx
        pushq   %rdi
        .seh_pushreg %rdi
        pushq   %rsi
        .seh_pushreg %rsi
        pushq   %r12
        .seh_pushreg %r12
        pushq   %r13
        .seh_pushreg %r13
        pushq   %r14
        .seh_pushreg %r14
        pushq   %r15
        .seh_pushreg %r15
        subq    $LOCALS, %rsp
        .seh_stackalloc LOCALS
        .irp    n, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        movaps  %xmm\n, XMM_SAVE + (\n - 6) * 16(%rsp)
        .seh_savexmm %xmm\n, XMM_SAVE + (\n - 6) * 16
        .endr
        .seh_endprologue
        movq    %r9, RESULTS_SLOT(%rsp)
        movq    %rsp, SP_BEFORE(%r9)
        movq    %rcx, %rax                        // fn, called with arg as its argument
        movq    %rdx, %rcx
        movq    %r8, %r9
        .irp    n, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        movups  (NGPR + (\n - 6) * 2) * 8(%r9), %xmm\n
        .endr
        movq    0 * 8(%r9), %rbx
        movq    1 * 8(%r9), %rbp
        movq    2 * 8(%r9), %rdi
        movq    3 * 8(%r9), %rsi
        movq    4 * 8(%r9), %r12
        movq    5 * 8(%r9), %r13
        movq    6 * 8(%r9), %r14
        movq    7 * 8(%r9), %r15
        call    *%rax
        movq    RESULTS_SLOT(%rsp), %r10          // rax (the switch's result) stays untouched
        movq    %rbx, 0 * 8(%r10)
        movq    %rbp, 1 * 8(%r10)
        movq    %rdi, 2 * 8(%r10)
        movq    %rsi, 3 * 8(%r10)
        movq    %r12, 4 * 8(%r10)
        movq    %r13, 5 * 8(%r10)
        movq    %r14, 6 * 8(%r10)
        movq    %r15, 7 * 8(%r10)
        .irp    n, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        movups  %xmm\n, (NGPR + (\n - 6) * 2) * 8(%r10)
        .endr
        movq    %rsp, SP_AFTER(%r10)
        .irp    n, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        movaps  XMM_SAVE + (\n - 6) * 16(%rsp), %xmm\n
        .endr
        addq    $LOCALS, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rsi
        popq    %rdi
        popq    %rbx
        popq    %rbp
        ret
        .seh_endproc

// void tasklets_abi_call_clobbered(void (*fn)(void*), void* arg)
//   Saves its caller's nonvolatile registers as tasklets_abi_switch_checked does, fills
//   every register but rsp with CLOBBER, then calls fn(arg).
        .globl  tasklets_abi_call_clobbered
        .def    tasklets_abi_call_clobbered; .scl 2; .type 32; .endef
        .p2align 4
        .seh_proc tasklets_abi_call_clobbered
tasklets_abi_call_clobbered:
        pushq   %rbp
        .seh_pushreg %rbp
        pushq   %rbx
        .seh_pushreg %rbx
        pushq   %rdi
        .seh_pushreg %rdi
        pushq   %rsi
        .seh_pushreg %rsi
        pushq   %r12
        .seh_pushreg %r12
        pushq   %r13
        .seh_pushreg %r13
        pushq   %r14
        .seh_pushreg %r14
        pushq   %r15
        .seh_pushreg %r15
        subq    $LOCALS, %rsp
        .seh_stackalloc LOCALS
        .irp    n, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        movaps  %xmm\n, XMM_SAVE + (\n - 6) * 16(%rsp)
        .seh_savexmm %xmm\n, XMM_SAVE + (\n - 6) * 16
        .endr
        .seh_endprologue
        movq    %rcx, RESULTS_SLOT(%rsp)          // fn (this probe has no results)
        movq    %rdx, 0(%rsp)                     // arg, in the callee's shadow space until the call
        movq    $CLOBBER, %r11
        fill_all %r11
        movq    0(%rsp), %rcx
        movq    RESULTS_SLOT(%rsp), %rax
        call    *%rax
        .irp    n, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
        movaps  XMM_SAVE + (\n - 6) * 16(%rsp), %xmm\n
        .endr
        addq    $LOCALS, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rsi
        popq    %rdi
        popq    %rbx
        popq    %rbp
        ret
        .seh_endproc
