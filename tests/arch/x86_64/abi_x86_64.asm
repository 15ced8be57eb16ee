; tasklets ABI conformance tests, x86-64 System V: the assembly half (nasm, like the
; switch in arch/x86_64). The C++ half is tests/test_abi_*.cpp; declarations and the
; register order are in tests/arch/abi_probe.hpp.
;
; Written in assembly because only assembly can put a known value in every callee-saved
; register across a call, or overwrite registers a compiler would never touch.

%macro TASKLETS_NOTE 0-*
%endmacro
%define TASKLETS_OFFSET(name, value) name equ value
%include "abi_peer.h"

default rel
section .text
extern tasklets_switch_context

CLOBBER equ 0xBAD0BAD0BAD0BAD0

; The probes below share these pieces.

; Saves our own caller's callee-saved registers (six pushes).
%macro SAVE_CALLERS_REGISTERS 0
    push    rbp
    push    rbx
    push    r12
    push    r13
    push    r14
    push    r15
%endmacro

; Restores them and returns.
%macro RESTORE_CALLERS_REGISTERS_AND_RETURN 0
    pop     r15
    pop     r14
    pop     r13
    pop     r12
    pop     rbx
    pop     rbp
    ret
%endmacro

; LOAD_PATTERNS patterns, results: loads every callee-saved register with its pattern
; (order: abi_probe.hpp saved_registers) and records rsp in results[sp_before].
%macro LOAD_PATTERNS 2
    mov     rbx, [%1 + 0*8]
    mov     rbp, [%1 + 1*8]
    mov     r12, [%1 + 2*8]
    mov     r13, [%1 + 3*8]
    mov     r14, [%1 + 4*8]
    mov     r15, [%1 + 5*8]
    mov     [%2 + 6*8], rsp
%endmacro

; Stores what every callee-saved register holds now into the results (their address is
; on top of the stack) and rsp in results[sp_after]; then drops that slot. Leaves rax.
%macro STORE_RESULTS 0
    mov     r8, [rsp]
    mov     [r8 + 0*8], rbx
    mov     [r8 + 1*8], rbp
    mov     [r8 + 2*8], r12
    mov     [r8 + 3*8], r13
    mov     [r8 + 4*8], r14
    mov     [r8 + 5*8], r15
    mov     [r8 + 7*8], rsp
    add     rsp, 8
%endmacro

; FILL_VECTORS reg: every vector register xmm0-xmm15 gets reg's 64 bits in both halves.
%macro FILL_VECTORS 1
%assign i 0
%rep 16
    movq    xmm %+ i, %1
    punpcklqdq xmm %+ i, xmm %+ i
%assign i i+1
%endrep
%endmacro

; void* tasklets_abi_switch_checked(void** save_sp, void* target_sp, void* value,
;                                   const uint64_t* patterns, uint64_t* results)
;   rdi, rsi, rdx go to the switch unchanged; rcx = patterns, r8 = results.
global tasklets_abi_switch_checked:function
align 16
tasklets_abi_switch_checked:
    endbr64
    SAVE_CALLERS_REGISTERS
    push    r8                           ; results: kept on the stack across the switch;
                                         ; 7 pushes also realign rsp to 16 for the call
    LOAD_PATTERNS rcx, r8
    call    tasklets_switch_context wrt ..plt
    STORE_RESULTS                        ; rax (the switch's result) stays untouched
    RESTORE_CALLERS_REGISTERS_AND_RETURN

; void tasklets_abi_clobber_entry(tasklets_abi_peer* peer)
global tasklets_abi_clobber_entry:function
align 16
tasklets_abi_clobber_entry:
    endbr64
    push    rdi                          ; the peer lives here; rsp is now 16-aligned
.again:
    mov     rdi, [rsp]
    add     qword [rdi + ABI_PEER_ROUNDS], 1
    mov     rax, CLOBBER                 ; every general register but rsp...
    mov     rbx, rax
    mov     rcx, rax
    mov     rdx, rax
    mov     rsi, rax
    mov     rdi, rax
    mov     rbp, rax
    mov     r8, rax
    mov     r9, rax
    mov     r10, rax
    mov     r11, rax
    mov     r12, rax
    mov     r13, rax
    mov     r14, rax
    mov     r15, rax
    FILL_VECTORS rax                    ; ...and every vector register
    mov     rdi, [rsp]
    mov     rdx, [rdi + ABI_PEER_ROUNDS] ; value: how many times we ran
    mov     rsi, [rdi + ABI_PEER_MAIN_SP]
    lea     rdi, [rdi + ABI_PEER_SELF_SP]
    call    tasklets_switch_context wrt ..plt
    jmp     .again

; void tasklets_abi_entry_probe(tasklets_abi_peer* peer)
global tasklets_abi_entry_probe:function
align 16
tasklets_abi_entry_probe:
    endbr64
    mov     [rdi + ABI_PEER_ENTRY_SP], rsp
    mov     rax, [rsp]                   ; the return address a call would have pushed
    mov     [rdi + ABI_PEER_ENTRY_RA], rax
    mov     [rdi + ABI_PEER_ENTRY_FP], rbp
    push    rdi
.again:
    mov     rdi, [rsp]
    mov     rsi, [rdi + ABI_PEER_MAIN_SP]
    lea     rdi, [rdi + ABI_PEER_SELF_SP]
    xor     edx, edx
    call    tasklets_switch_context wrt ..plt
    jmp     .again

; uintptr_t tasklets_abi_sp_at_call(void)
global tasklets_abi_sp_at_call:function
align 16
tasklets_abi_sp_at_call:
    endbr64
    lea     rax, [rsp + 8]               ; undo the call's push of the return address
    ret

; void tasklets_abi_call_checked(void (*fn)(void*), void* arg,
;                                const uint64_t* patterns, uint64_t* results)
;   rdi = fn, rsi = arg, rdx = patterns, rcx = results. The frame and the register order
;   are those of tasklets_abi_switch_checked; only the call differs. (nasm emits no
;   unwind information: fn must not let an exception out.)
global tasklets_abi_call_checked:function
align 16
tasklets_abi_call_checked:
    endbr64
    SAVE_CALLERS_REGISTERS
    push    rcx                          ; results: kept on the stack across the call;
                                         ; 7 pushes also realign rsp to 16 for the call
    mov     rax, rdi                     ; fn, called below with arg as its argument
    mov     rdi, rsi
    LOAD_PATTERNS rdx, rcx
    call    rax
    STORE_RESULTS
    RESTORE_CALLERS_REGISTERS_AND_RETURN

; void tasklets_abi_call_clobbered(void (*fn)(void*), void* arg)
global tasklets_abi_call_clobbered:function
align 16
tasklets_abi_call_clobbered:
    endbr64
    SAVE_CALLERS_REGISTERS
    sub     rsp, 8                       ; 16-aligned for the call
    mov     rax, rdi                     ; fn
    mov     rdi, rsi                     ; its argument
    mov     r11, CLOBBER                 ; every other general register but rsp...
    mov     rbx, r11
    mov     rcx, r11
    mov     rdx, r11
    mov     rsi, r11
    mov     rbp, r11
    mov     r8, r11
    mov     r9, r11
    mov     r10, r11
    mov     r12, r11
    mov     r13, r11
    mov     r14, r11
    mov     r15, r11
    FILL_VECTORS r11                    ; ...and every vector register
    call    rax
    add     rsp, 8
    RESTORE_CALLERS_REGISTERS_AND_RETURN

section .note.GNU-stack noalloc noexec nowrite progbits
