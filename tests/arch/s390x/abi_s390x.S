// tasklets ABI conformance tests, s390x: the assembly half (GNU as, like the switch in
// arch/s390x). The C++ half is tests/test_abi_*.cpp; declarations and the register order
// are in tests/arch/abi_probe.hpp.
//
// Written in assembly because only assembly can put a known value in every callee-saved
// register across a call, or overwrite registers a compiler would never touch.
// The access registers (thread pointer) are left alone here too, as the switch leaves them.

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) .equ name, value
#include "abi_peer.h"

// results[] as abi_probe.hpp lays it out: r6-r13, f8-f15, then sp before and after.
        .equ    RESULTS_F8, 8 * 8
        .equ    RESULTS_SP_BEFORE, 16 * 8
        .equ    RESULTS_SP_AFTER, 17 * 8

// A checked probe's frame below its caller's sp: the 160-byte save area its own callee
// may use, then f8-f15 of its caller (restored on the way out), then the results pointer,
// kept on the stack across the call. r6-r15 of its caller go in the caller's save area.
        .equ    PROBE_F8, 160
        .equ    PROBE_RESULTS, 224
        .equ    PROBE_FRAME, 232
// The clobbering probe's: save area and f8-f15 only.
        .equ    CLOBBER_FRAME, 224
// The context entries': save area and the peer pointer.
        .equ    ENTRY_PEER, 160
        .equ    ENTRY_FRAME, 168

        .text

// Saves our own caller's r6-r15 in its save area and f8-f15 in a new frame of `size`.
        .macro  save_callers_registers size
        stmg    %r6, %r15, 48(%r15)
        .cfi_offset %r6, -112
        .cfi_offset %r7, -104
        .cfi_offset %r8, -96
        .cfi_offset %r9, -88
        .cfi_offset %r10, -80
        .cfi_offset %r11, -72
        .cfi_offset %r12, -64
        .cfi_offset %r13, -56
        .cfi_offset %r14, -48
        .cfi_offset %r15, -40
        aghi    %r15, -\size
        .cfi_adjust_cfa_offset \size
        .irp    n, 8,9,10,11,12,13,14,15
        std     %f\n, (PROBE_F8 + 8 * (\n - 8))(%r15)
        .endr
        .endm

// Restores them (lmg reloads r15 too, releasing the frame) and returns.
        .macro  restore_callers_registers_and_return size
        .irp    n, 8,9,10,11,12,13,14,15
        ld      %f\n, (PROBE_F8 + 8 * (\n - 8))(%r15)
        .endr
        lmg     %r6, %r15, (\size + 48)(%r15)
        .cfi_def_cfa_offset 160
        br      %r14
        .endm

// Loads every callee-saved register with its pattern (order: abi_probe.hpp
// saved_registers) from the array at \patterns, after recording r15 in
// results[sp_before] through \results (which must not be one of r6-r13).
        .macro  load_patterns patterns, results
        stg     %r15, RESULTS_SP_BEFORE(\results)
        lmg     %r6, %r13, 0(\patterns)
        .irp    n, 8,9,10,11,12,13,14,15
        ld      %f\n, (RESULTS_F8 + 8 * (\n - 8))(\patterns)
        .endr
        .endm

// Stores what every callee-saved register holds now into the results (their address is
// at PROBE_RESULTS(r15)) and r15 in results[sp_after]. Leaves r2 alone.
        .macro  store_results
        lg      %r1, PROBE_RESULTS(%r15)
        stmg    %r6, %r13, 0(%r1)
        .irp    n, 8,9,10,11,12,13,14,15
        std     %f\n, (RESULTS_F8 + 8 * (\n - 8))(%r1)
        .endr
        stg     %r15, RESULTS_SP_AFTER(%r1)
        .endm

// Overwrites every general register in the list and every FP register with a pattern
// that is no valid pointer, via r0.
        .macro  clobber_registers regs:vararg
        llihf   %r0, 0xbad0bad0
        oilf    %r0, 0xbad0bad0
        .irp    r, \regs
        lgr     %r\r, %r0
        .endr
        .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        ldgr    %f\n, %r0
        .endr
        .endm

// void* tasklets_abi_switch_checked(void** save_sp, void* target_sp, void* value,
//                                   const uint64_t* patterns, uint64_t* results)
//   r2-r4 go to the switch unchanged; r5 = patterns, r6 = results (callee-saved itself,
//   so it is moved to r1 before the patterns overwrite it).
        .global tasklets_abi_switch_checked
        .type   tasklets_abi_switch_checked, @function
        .balign 8
tasklets_abi_switch_checked:
        .cfi_startproc
        save_callers_registers PROBE_FRAME
        stg     %r6, PROBE_RESULTS(%r15)    // results, kept on the stack across the switch
        lgr     %r1, %r6
        load_patterns %r5, %r1
        brasl   %r14, tasklets_switch_context@PLT
        store_results                       // r2 (the switch's result) stays untouched
        restore_callers_registers_and_return PROBE_FRAME
        .cfi_endproc
        .size   tasklets_abi_switch_checked, . - tasklets_abi_switch_checked

// void tasklets_abi_clobber_entry(tasklets_abi_peer* peer)
        .global tasklets_abi_clobber_entry
        .type   tasklets_abi_clobber_entry, @function
        .balign 8
tasklets_abi_clobber_entry:
        aghi    %r15, -ENTRY_FRAME
        stg     %r2, ENTRY_PEER(%r15)       // the peer lives here
1:      lg      %r2, ENTRY_PEER(%r15)
        lg      %r1, ABI_PEER_ROUNDS(%r2)
        aghi    %r1, 1
        stg     %r1, ABI_PEER_ROUNDS(%r2)
        clobber_registers 1,2,3,4,5,6,7,8,9,10,11,12,13,14  // all but r15 (and r0, the pattern)
        lg      %r2, ENTRY_PEER(%r15)
        lg      %r4, ABI_PEER_ROUNDS(%r2)   // value: how many times we ran
        lg      %r3, ABI_PEER_MAIN_SP(%r2)
        la      %r2, ABI_PEER_SELF_SP(%r2)
        brasl   %r14, tasklets_switch_context@PLT
        j       1b
        .size   tasklets_abi_clobber_entry, . - tasklets_abi_clobber_entry

// void tasklets_abi_entry_probe(tasklets_abi_peer* peer)
//   entry_fp records r11 (the frame pointer when one is kept) ORed with the back chain
//   slot at 0(r15): both must be null for walkers of either kind to stop.
        .global tasklets_abi_entry_probe
        .type   tasklets_abi_entry_probe, @function
        .balign 8
tasklets_abi_entry_probe:
        stg     %r15, ABI_PEER_ENTRY_SP(%r2)
        stg     %r14, ABI_PEER_ENTRY_RA(%r2)
        lg      %r1, 0(%r15)
        ogr     %r1, %r11
        stg     %r1, ABI_PEER_ENTRY_FP(%r2)
        aghi    %r15, -ENTRY_FRAME
        stg     %r2, ENTRY_PEER(%r15)
1:      lg      %r2, ENTRY_PEER(%r15)
        lg      %r3, ABI_PEER_MAIN_SP(%r2)
        la      %r2, ABI_PEER_SELF_SP(%r2)
        lghi    %r4, 0
        brasl   %r14, tasklets_switch_context@PLT
        j       1b
        .size   tasklets_abi_entry_probe, . - tasklets_abi_entry_probe

// uintptr_t tasklets_abi_sp_at_call(void)
        .global tasklets_abi_sp_at_call
        .type   tasklets_abi_sp_at_call, @function
        .balign 8
tasklets_abi_sp_at_call:
        lgr     %r2, %r15                   // brasl leaves r15 alone
        br      %r14
        .size   tasklets_abi_sp_at_call, . - tasklets_abi_sp_at_call

// void tasklets_abi_call_checked(void (*fn)(void*), void* arg,
//                                const uint64_t* patterns, uint64_t* results)
//   r2 = fn, r3 = arg, r4 = patterns, r5 = results. The frame and the register order are
//   those of tasklets_abi_switch_checked; only the call differs.
        .global tasklets_abi_call_checked
        .type   tasklets_abi_call_checked, @function
        .balign 8
tasklets_abi_call_checked:
        .cfi_startproc
        save_callers_registers PROBE_FRAME
        stg     %r5, PROBE_RESULTS(%r15)    // results, kept on the stack across the call
        lgr     %r1, %r2                    // fn, called below with arg as its argument
        lgr     %r2, %r3
        load_patterns %r4, %r5
        basr    %r14, %r1
        store_results
        restore_callers_registers_and_return PROBE_FRAME
        .cfi_endproc
        .size   tasklets_abi_call_checked, . - tasklets_abi_call_checked

// void tasklets_abi_call_clobbered(void (*fn)(void*), void* arg)
        .global tasklets_abi_call_clobbered
        .type   tasklets_abi_call_clobbered, @function
        .balign 8
tasklets_abi_call_clobbered:
        .cfi_startproc
        save_callers_registers CLOBBER_FRAME
        lgr     %r1, %r2                    // fn
        lgr     %r2, %r3                    // its argument
        clobber_registers 3,4,5,6,7,8,9,10,11,12,13,14  // (r14 gets the return address)
        basr    %r14, %r1
        restore_callers_registers_and_return CLOBBER_FRAME
        .cfi_endproc
        .size   tasklets_abi_call_clobbered, . - tasklets_abi_call_clobbered

        .section .note.GNU-stack, "", @progbits
