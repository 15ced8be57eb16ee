// tasklets ABI conformance tests, AArch64 (AAPCS64): the assembly half (GNU as, like the
// switch in arch/aarch64). The C++ half is tests/test_abi_*.cpp; declarations and the
// register order are in tests/arch/abi_probe.hpp.
//
// Written in assembly because only assembly can put a known value in every callee-saved
// register across a call, or overwrite registers a compiler would never touch.
// x18 (the platform register) is left alone here too, as the switch leaves it.

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) .equ name, value
#include "abi_peer.h"

        .text

// The probes below share these pieces. A probe's frame: x29/x30 at its bottom, then
// x19-x28 and d8-d15 (its own caller's values, restored on the way out), then (in the
// checked probes) the results pointer at #160, kept on the stack across the call.

// Saves our own caller's callee-saved registers in a frame of `size` bytes.
        .macro  save_callers_registers size
        stp     x29, x30, [sp, #-\size]!
        .cfi_def_cfa_offset \size
        .cfi_offset x29, -\size
        .cfi_offset x30, -\size + 8
        stp     x19, x20, [sp, #16]
        stp     x21, x22, [sp, #32]
        stp     x23, x24, [sp, #48]
        stp     x25, x26, [sp, #64]
        stp     x27, x28, [sp, #80]
        stp     d8,  d9,  [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        .endm

// Restores them, releases the frame and returns.
        .macro  restore_callers_registers_and_return size
        ldp     x19, x20, [sp, #16]
        ldp     x21, x22, [sp, #32]
        ldp     x23, x24, [sp, #48]
        ldp     x25, x26, [sp, #64]
        ldp     x27, x28, [sp, #80]
        ldp     d8,  d9,  [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        ldp     x29, x30, [sp], #\size
        .cfi_def_cfa_offset 0
        .cfi_restore x29
        .cfi_restore x30
        ret
        .endm

// Loads every callee-saved register with its pattern (order: abi_probe.hpp
// saved_registers) and records sp in results[sp_before].
        .macro  load_patterns patterns, results
        ldp     x19, x20, [\patterns, #0*8]
        ldp     x21, x22, [\patterns, #2*8]
        ldp     x23, x24, [\patterns, #4*8]
        ldp     x25, x26, [\patterns, #6*8]
        ldp     x27, x28, [\patterns, #8*8]
        ldr     x29,      [\patterns, #10*8]  // the CFA is sp-based, so fp may hold a pattern
        ldp     d8,  d9,  [\patterns, #11*8]
        ldp     d10, d11, [\patterns, #13*8]
        ldp     d12, d13, [\patterns, #15*8]
        ldp     d14, d15, [\patterns, #17*8]
        mov     x9, sp
        str     x9, [\results, #19*8]         // results[sp_before]
        .endm

// Stores what every callee-saved register holds now into the results (their address is
// at [sp, #160]) and sp in results[sp_after]. Leaves x0 alone.
        .macro  store_results
        ldr     x9, [sp, #160]
        stp     x19, x20, [x9, #0*8]
        stp     x21, x22, [x9, #2*8]
        stp     x23, x24, [x9, #4*8]
        stp     x25, x26, [x9, #6*8]
        stp     x27, x28, [x9, #8*8]
        str     x29,      [x9, #10*8]
        stp     d8,  d9,  [x9, #11*8]
        stp     d10, d11, [x9, #13*8]
        stp     d12, d13, [x9, #15*8]
        stp     d14, d15, [x9, #17*8]
        mov     x10, sp
        str     x10, [x9, #20*8]               // results[sp_after]
        .endm

// void* tasklets_abi_switch_checked(void** save_sp, void* target_sp, void* value,
//                                   const uint64_t* patterns, uint64_t* results)
//   x0-x2 go to the switch unchanged; x3 = patterns, x4 = results.
        .global tasklets_abi_switch_checked
        .type   tasklets_abi_switch_checked, %function
        .balign 16
tasklets_abi_switch_checked:
        .cfi_startproc
        bti     c
        save_callers_registers 176
        str     x4, [sp, #160]           // results, kept on the stack across the switch
        load_patterns x3, x4
        bl      tasklets_switch_context
        store_results                    // x0 (the switch's result) stays untouched
        restore_callers_registers_and_return 176
        .cfi_endproc
        .size   tasklets_abi_switch_checked, . - tasklets_abi_switch_checked

// void tasklets_abi_clobber_entry(tasklets_abi_peer* peer)
        .global tasklets_abi_clobber_entry
        .type   tasklets_abi_clobber_entry, %function
        .balign 16
tasklets_abi_clobber_entry:
        bti     c                        // entered by br x16 from the first-entry trampoline
        stp     x0, xzr, [sp, #-16]!     // the peer lives here; sp stays 16-aligned
1:      ldr     x0, [sp]
        ldr     x1, [x0, #ABI_PEER_ROUNDS]
        add     x1, x1, #1
        str     x1, [x0, #ABI_PEER_ROUNDS]
        movz    x0, #0xbad0              // every general register but sp and x18...
        movk    x0, #0xbad0, lsl #16
        movk    x0, #0xbad0, lsl #32
        movk    x0, #0xbad0, lsl #48
        .irp    n, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,19,20,21,22,23,24,25,26,27,28,29,30
        mov     x\n, x0
        .endr
        .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        dup     v\n\().2d, x0            // ...and all 128 bits of every vector register
        .endr
        ldr     x0, [sp]
        ldr     x2, [x0, #ABI_PEER_ROUNDS]   // value: how many times we ran
        ldr     x1, [x0, #ABI_PEER_MAIN_SP]
        add     x0, x0, #ABI_PEER_SELF_SP
        bl      tasklets_switch_context
        b       1b
        .size   tasklets_abi_clobber_entry, . - tasklets_abi_clobber_entry

// void tasklets_abi_entry_probe(tasklets_abi_peer* peer)
        .global tasklets_abi_entry_probe
        .type   tasklets_abi_entry_probe, %function
        .balign 16
tasklets_abi_entry_probe:
        bti     c
        mov     x9, sp
        str     x9,  [x0, #ABI_PEER_ENTRY_SP]
        str     x30, [x0, #ABI_PEER_ENTRY_RA]
        str     x29, [x0, #ABI_PEER_ENTRY_FP]
        stp     x0, xzr, [sp, #-16]!
1:      ldr     x0, [sp]
        ldr     x1, [x0, #ABI_PEER_MAIN_SP]
        add     x0, x0, #ABI_PEER_SELF_SP
        mov     x2, #0
        bl      tasklets_switch_context
        b       1b
        .size   tasklets_abi_entry_probe, . - tasklets_abi_entry_probe

// uintptr_t tasklets_abi_sp_at_call(void)
        .global tasklets_abi_sp_at_call
        .type   tasklets_abi_sp_at_call, %function
        .balign 16
tasklets_abi_sp_at_call:
        bti     c
        mov     x0, sp                   // bl leaves sp alone
        ret
        .size   tasklets_abi_sp_at_call, . - tasklets_abi_sp_at_call

// void tasklets_abi_call_checked(void (*fn)(void*), void* arg,
//                                const uint64_t* patterns, uint64_t* results)
//   x0 = fn, x1 = arg, x2 = patterns, x3 = results. The frame and the register order are
//   those of tasklets_abi_switch_checked; only the call differs.
        .global tasklets_abi_call_checked
        .type   tasklets_abi_call_checked, %function
        .balign 16
tasklets_abi_call_checked:
        .cfi_startproc
        bti     c
        save_callers_registers 176
        str     x3, [sp, #160]           // results, kept on the stack across the call
        mov     x16, x0                  // fn, called below with arg as its argument
        mov     x0, x1
        load_patterns x2, x3
        blr     x16
        store_results
        restore_callers_registers_and_return 176
        .cfi_endproc
        .size   tasklets_abi_call_checked, . - tasklets_abi_call_checked

// void tasklets_abi_call_clobbered(void (*fn)(void*), void* arg)
        .global tasklets_abi_call_clobbered
        .type   tasklets_abi_call_clobbered, %function
        .balign 16
tasklets_abi_call_clobbered:
        .cfi_startproc
        bti     c
        save_callers_registers 160

        mov     x16, x0                  // fn
        mov     x0, x1                   // its argument
        movz    x17, #0xbad0             // every other general register but sp and x18...
        movk    x17, #0xbad0, lsl #16
        movk    x17, #0xbad0, lsl #32
        movk    x17, #0xbad0, lsl #48
        .irp    n, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,19,20,21,22,23,24,25,26,27,28,29
        mov     x\n, x17
        .endr
        .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        dup     v\n\().2d, x17           // ...and all 128 bits of every vector register
        .endr
        blr     x16                      // (x30 is the return address from here on)

        restore_callers_registers_and_return 160
        .cfi_endproc
        .size   tasklets_abi_call_clobbered, . - tasklets_abi_call_clobbered

// void tasklets_abi_no_landing_pad(void): deliberately no `bti` at the entry, so reaching
// it with blr from a BTI-guarded page must fault: the BTI test's proof of enforcement.
        .global tasklets_abi_no_landing_pad
        .type   tasklets_abi_no_landing_pad, %function
        .balign 16
tasklets_abi_no_landing_pad:
        nop
        ret
        .size   tasklets_abi_no_landing_pad, . - tasklets_abi_no_landing_pad

        .section .note.GNU-stack, "", %progbits
