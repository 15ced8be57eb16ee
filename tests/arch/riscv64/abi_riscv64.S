// tasklets ABI conformance tests, RISC-V64 (LP64D): the assembly half (GNU as, like the
// switch in arch/riscv64). The C++ half is tests/test_abi_*.cpp; declarations and the
// register order are in tests/arch/abi_probe.hpp.
//
// Written in assembly because only assembly can put a known value in every callee-saved
// register across a call, or overwrite registers a compiler would never touch.
// gp and tp are left alone here too, as the switch leaves them.

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) .equ name, value
#include "abi_peer.h"

        .option push
        .option arch, +f, +d
        .text

// The probes below share these pieces. A probe's frame: ra at its bottom, then s0-s11
// and fs0-fs11 (its own caller's values, restored on the way out), then (in the checked
// probes) the results pointer at 200, kept on the stack across the call.

// Saves our own caller's callee-saved registers in a frame of `size` bytes.
        .macro  save_callers_registers size
        addi    sp, sp, -\size
        .cfi_def_cfa_offset \size
        sd      ra, 0(sp)
        .cfi_offset ra, -\size
        .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11
        sd      s\n, (8 + 8*\n)(sp)
        fsd     fs\n, (104 + 8*\n)(sp)
        .endr
        .endm

// Restores them, releases the frame and returns.
        .macro  restore_callers_registers_and_return size
        .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11
        ld      s\n, (8 + 8*\n)(sp)
        fld     fs\n, (104 + 8*\n)(sp)
        .endr
        ld      ra, 0(sp)
        .cfi_restore ra
        addi    sp, sp, \size
        .cfi_def_cfa_offset 0
        ret
        .endm

// Loads every callee-saved register with its pattern (order: abi_probe.hpp
// saved_registers; s0 may hold one, the CFA is sp-based) and records sp in
// results[sp_before].
        .macro  load_patterns patterns, results
        .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11
        ld      s\n, (8*\n)(\patterns)
        fld     fs\n, (96 + 8*\n)(\patterns)
        .endr
        sd      sp, (24*8)(\results)
        .endm

// Stores what every callee-saved register holds now into the results (their address is
// at 200(sp)) and sp in results[sp_after]. Leaves a0 alone.
        .macro  store_results
        ld      t0, 200(sp)
        .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11
        sd      s\n, (8*\n)(t0)
        fsd     fs\n, (96 + 8*\n)(t0)
        .endr
        sd      sp, (25*8)(t0)
        .endm

// void* tasklets_abi_switch_checked(void** save_sp, void* target_sp, void* value,
//                                   const uint64_t* patterns, uint64_t* results)
//   a0-a2 go to the switch unchanged; a3 = patterns, a4 = results.
        .global tasklets_abi_switch_checked
        .type   tasklets_abi_switch_checked, @function
        .balign 4
tasklets_abi_switch_checked:
        .cfi_startproc
        save_callers_registers 224       // ra, s0-s11, fs0-fs11, results; 16-aligned
        sd      a4, 200(sp)              // results, kept on the stack across the switch
        load_patterns a3, a4
        call    tasklets_switch_context
        store_results                    // a0 (the switch's result) stays untouched
        restore_callers_registers_and_return 224
        .cfi_endproc
        .size   tasklets_abi_switch_checked, . - tasklets_abi_switch_checked

// void tasklets_abi_clobber_entry(tasklets_abi_peer* peer)
        .global tasklets_abi_clobber_entry
        .type   tasklets_abi_clobber_entry, @function
        .balign 4
tasklets_abi_clobber_entry:
        addi    sp, sp, -16
        sd      a0, 0(sp)                // the peer lives here; sp stays 16-aligned
1:      ld      a0, 0(sp)
        ld      t0, ABI_PEER_ROUNDS(a0)
        addi    t0, t0, 1
        sd      t0, ABI_PEER_ROUNDS(a0)
        li      t0, 0xbad0bad0bad0bad0   // every general register but sp, gp, tp...
        .irp    r, ra,t1,t2,s0,s1,a0,a1,a2,a3,a4,a5,a6,a7,s2,s3,s4,s5,s6,s7,s8,s9,s10,s11,t3,t4,t5,t6
        mv      \r, t0
        .endr
        .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        fmv.d.x f\n, t0                  // ...and every FP register
        .endr
        ld      a0, 0(sp)
        ld      a2, ABI_PEER_ROUNDS(a0)  // value: how many times we ran
        ld      a1, ABI_PEER_MAIN_SP(a0)
        addi    a0, a0, ABI_PEER_SELF_SP
        call    tasklets_switch_context
        j       1b
        .size   tasklets_abi_clobber_entry, . - tasklets_abi_clobber_entry

// void tasklets_abi_entry_probe(tasklets_abi_peer* peer)
        .global tasklets_abi_entry_probe
        .type   tasklets_abi_entry_probe, @function
        .balign 4
tasklets_abi_entry_probe:
        sd      sp, ABI_PEER_ENTRY_SP(a0)
        sd      ra, ABI_PEER_ENTRY_RA(a0)
        sd      s0, ABI_PEER_ENTRY_FP(a0)
        addi    sp, sp, -16
        sd      a0, 0(sp)
1:      ld      a0, 0(sp)
        ld      a1, ABI_PEER_MAIN_SP(a0)
        addi    a0, a0, ABI_PEER_SELF_SP
        li      a2, 0
        call    tasklets_switch_context
        j       1b
        .size   tasklets_abi_entry_probe, . - tasklets_abi_entry_probe

// uintptr_t tasklets_abi_sp_at_call(void)
        .global tasklets_abi_sp_at_call
        .type   tasklets_abi_sp_at_call, @function
        .balign 4
tasklets_abi_sp_at_call:
        mv      a0, sp                   // call leaves sp alone
        ret
        .size   tasklets_abi_sp_at_call, . - tasklets_abi_sp_at_call

// void tasklets_abi_call_checked(void (*fn)(void*), void* arg,
//                                const uint64_t* patterns, uint64_t* results)
//   a0 = fn, a1 = arg, a2 = patterns, a3 = results. The frame and the register order are
//   those of tasklets_abi_switch_checked; only the call differs.
        .global tasklets_abi_call_checked
        .type   tasklets_abi_call_checked, @function
        .balign 4
tasklets_abi_call_checked:
        .cfi_startproc
        save_callers_registers 224       // ra, s0-s11, fs0-fs11, results; 16-aligned
        sd      a3, 200(sp)              // results, kept on the stack across the call
        mv      t1, a0                   // fn, called below with arg as its argument
        mv      a0, a1
        load_patterns a2, a3
        jalr    t1
        store_results
        restore_callers_registers_and_return 224
        .cfi_endproc
        .size   tasklets_abi_call_checked, . - tasklets_abi_call_checked

// void tasklets_abi_call_clobbered(void (*fn)(void*), void* arg)
        .global tasklets_abi_call_clobbered
        .type   tasklets_abi_call_clobbered, @function
        .balign 4
tasklets_abi_call_clobbered:
        .cfi_startproc
        save_callers_registers 208       // ra, s0-s11, fs0-fs11; 16-aligned

        mv      t1, a0                   // fn
        mv      a0, a1                   // its argument
        li      t0, 0xbad0bad0bad0bad0   // every other general register but sp, gp, tp...
        .irp    r, t2,s0,s1,a1,a2,a3,a4,a5,a6,a7,s2,s3,s4,s5,s6,s7,s8,s9,s10,s11,t3,t4,t5,t6
        mv      \r, t0
        .endr
        .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        fmv.d.x f\n, t0                  // ...and every FP register
        .endr
        jalr    t1                       // (ra is the return address from here on)

        restore_callers_registers_and_return 208
        .cfi_endproc
        .size   tasklets_abi_call_clobbered, . - tasklets_abi_call_clobbered

        .option pop
        .section .note.GNU-stack, "", @progbits
