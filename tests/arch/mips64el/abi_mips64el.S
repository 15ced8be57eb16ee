// tasklets ABI conformance tests, mips64el (n64): the assembly half (GNU as, like the
// switch in arch/mips64el). The C++ half is tests/test_abi_*.cpp; declarations and the
// register order are in tests/arch/abi_probe.hpp.
//
// Written in assembly because only assembly can put a known value in every callee-saved
// register across a call (gp included), or overwrite registers a compiler would never touch.
// k0/k1 (the kernel's) and the thread pointer are left alone, as the switch leaves them.
//
// Like the switch, the file is `.set noreorder`: every branch and jump is followed by its
// delay slot, written out (a nop where nothing useful fits).
// Calls into the library go through t9 (the callee computes its gp from it), with the
// address loaded by %got_disp (resolved at load time: a %call16 entry may be a lazy stub,
// which needs $gp, and the probes call with a pattern in gp).

#define TASKLETS_NOTE(...)
#define TASKLETS_OFFSET(name, value) .equ name, value
#include "abi_peer.h"

// results[] as abi_probe.hpp lays it out: s0-s7, s8, gp, f24-f31, then sp before and after.
        .equ    RESULTS_S8, 8 * 8
        .equ    RESULTS_GP, 9 * 8
        .equ    RESULTS_F24, 10 * 8
        .equ    RESULTS_SP_BEFORE, 18 * 8
        .equ    RESULTS_SP_AFTER, 19 * 8

// A probe's frame: ra, its own caller's gp, s0-s7, s8 and f24-f31 (restored on the way
// out), then (in the checked probes) the results pointer, kept on the stack across the
// call. 160 bytes keeps sp 16-byte aligned.
        .equ    PROBE_RA, 0
        .equ    PROBE_GP, 8
        .equ    PROBE_S0, 16
        .equ    PROBE_S8, 80
        .equ    PROBE_F24, 88
        .equ    PROBE_RESULTS, 152
        .equ    PROBE_FRAME, 160
// A context entry's frame: the peer, and the switch's address (gp is a pattern later).
        .equ    ENTRY_PEER, 0
        .equ    ENTRY_SWITCH, 8
        .equ    ENTRY_FRAME, 16

        .abicalls
        .set    noreorder
        .text

// gp for this file's own GOT, from t9 = the address of \fn (n64's PIC prologue).
        .macro  setup_gp fn
        lui     $gp, %hi(%neg(%gp_rel(\fn)))
        daddu   $gp, $gp, $t9
        daddiu  $gp, $gp, %lo(%neg(%gp_rel(\fn)))
        .endm

// Saves our own caller's callee-saved registers in a PROBE_FRAME.
        .macro  save_callers_registers
        daddiu  $sp, $sp, -PROBE_FRAME
        .cfi_def_cfa_offset PROBE_FRAME
        sd      $ra, PROBE_RA($sp)
        .cfi_offset $31, PROBE_RA - PROBE_FRAME
        sd      $gp, PROBE_GP($sp)
        .cfi_offset $28, PROBE_GP - PROBE_FRAME
        .irp    n, 0,1,2,3,4,5,6,7
        sd      $s\n, (PROBE_S0 + 8 * \n)($sp)
        .endr
        sd      $s8, PROBE_S8($sp)
        .irp    n, 24,25,26,27,28,29,30,31
        sdc1    $f\n, (PROBE_F24 + 8 * (\n - 24))($sp)
        .endr
        .endm

// Restores them, releases the frame and returns.
        .macro  restore_callers_registers_and_return
        .irp    n, 0,1,2,3,4,5,6,7
        ld      $s\n, (PROBE_S0 + 8 * \n)($sp)
        .endr
        ld      $s8, PROBE_S8($sp)
        .irp    n, 24,25,26,27,28,29,30,31
        ldc1    $f\n, (PROBE_F24 + 8 * (\n - 24))($sp)
        .endr
        ld      $gp, PROBE_GP($sp)
        ld      $ra, PROBE_RA($sp)
        jr      $ra
        daddiu  $sp, $sp, PROBE_FRAME     // (delay slot)
        .endm

// Loads every callee-saved register with its pattern (order: abi_probe.hpp
// saved_registers) and records sp in results[sp_before]. Leaves t9, a0-a2 alone.
        .macro  load_patterns patterns, results
        sd      $sp, RESULTS_SP_BEFORE(\results)
        .irp    n, 0,1,2,3,4,5,6,7
        ld      $s\n, (8 * \n)(\patterns)
        .endr
        ld      $s8, RESULTS_S8(\patterns)
        .irp    n, 24,25,26,27,28,29,30,31
        ldc1    $f\n, (RESULTS_F24 + 8 * (\n - 24))(\patterns)
        .endr
        ld      $gp, RESULTS_GP(\patterns)   // last: \patterns may not be gp, but be safe
        .endm

// Stores what every callee-saved register holds now into the results (their address is
// at PROBE_RESULTS(sp)) and sp in results[sp_after]. Leaves v0 alone.
        .macro  store_results
        ld      $t8, PROBE_RESULTS($sp)
        .irp    n, 0,1,2,3,4,5,6,7
        sd      $s\n, (8 * \n)($t8)
        .endr
        sd      $s8, RESULTS_S8($t8)
        sd      $gp, RESULTS_GP($t8)
        .irp    n, 24,25,26,27,28,29,30,31
        sdc1    $f\n, (RESULTS_F24 + 8 * (\n - 24))($t8)
        .endr
        sd      $sp, RESULTS_SP_AFTER($t8)
        .endm

// Puts a pattern that is no valid pointer in t8 and copies it to every general register
// in the list and to every FP register.
        .macro  clobber_registers regs:vararg
        lui     $t8, 0xbad0
        ori     $t8, $t8, 0xbad0
        dsll32  $t8, $t8, 0
        lui     $1, 0xbad0
        ori     $1, $1, 0xbad0
        dext    $1, $1, 0, 32
        or      $t8, $t8, $1              // 0xbad0bad0bad0bad0
        .irp    r, \regs
        move    $\r, $t8
        .endr
        .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        dmtc1   $t8, $f\n
        .endr
        .endm

        .set    noat                      // the clobbers write $1 on purpose

// void* tasklets_abi_switch_checked(void** save_sp, void* target_sp, void* value,
//                                   const uint64_t* patterns, uint64_t* results)
//   a0-a2 go to the switch unchanged; a3 = patterns, a4 = results.
        .global tasklets_abi_switch_checked
        .type   tasklets_abi_switch_checked, @function
        .balign 8
tasklets_abi_switch_checked:
        .cfi_startproc
        save_callers_registers
        setup_gp tasklets_abi_switch_checked
        sd      $a4, PROBE_RESULTS($sp)   // results, kept on the stack across the switch
        ld      $t9, %got_disp(tasklets_switch_context)($gp)
        load_patterns $a3, $a4
        jalr    $t9
        nop                               // (delay slot)
        store_results                     // v0 (the switch's result) stays untouched
        restore_callers_registers_and_return
        .cfi_endproc
        .size   tasklets_abi_switch_checked, . - tasklets_abi_switch_checked

// void tasklets_abi_clobber_entry(tasklets_abi_peer* peer)
//   Entered through t9 by the first-entry trampoline, so setup_gp works.
        .global tasklets_abi_clobber_entry
        .type   tasklets_abi_clobber_entry, @function
        .balign 8
tasklets_abi_clobber_entry:
        setup_gp tasklets_abi_clobber_entry
        daddiu  $sp, $sp, -ENTRY_FRAME
        sd      $a0, ENTRY_PEER($sp)      // the peer lives here; sp stays 16-aligned
        ld      $t9, %got_disp(tasklets_switch_context)($gp)
        sd      $t9, ENTRY_SWITCH($sp)
1:      ld      $a0, ENTRY_PEER($sp)
        ld      $t8, ABI_PEER_ROUNDS($a0)
        daddiu  $t8, $t8, 1
        sd      $t8, ABI_PEER_ROUNDS($a0)
        // Every general register but zero, sp, k0/k1 and t8 (the pattern itself)...
        clobber_registers 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,25,28,30,31
        ld      $a0, ENTRY_PEER($sp)
        ld      $a2, ABI_PEER_ROUNDS($a0) // value: how many times we ran
        ld      $a1, ABI_PEER_MAIN_SP($a0)
        daddiu  $a0, $a0, ABI_PEER_SELF_SP
        ld      $t9, ENTRY_SWITCH($sp)
        jalr    $t9
        nop                               // (delay slot)
        b       1b
        nop                               // (delay slot)
        .size   tasklets_abi_clobber_entry, . - tasklets_abi_clobber_entry

// void tasklets_abi_entry_probe(tasklets_abi_peer* peer)
//   Records sp, ra and s8 (the frame pointer) before anything else; then needs t9 to be
//   its own address for setup_gp, as any PIC function entered by the trampoline does.
        .global tasklets_abi_entry_probe
        .type   tasklets_abi_entry_probe, @function
        .balign 8
tasklets_abi_entry_probe:
        sd      $sp, ABI_PEER_ENTRY_SP($a0)
        sd      $ra, ABI_PEER_ENTRY_RA($a0)
        sd      $s8, ABI_PEER_ENTRY_FP($a0)
        setup_gp tasklets_abi_entry_probe
        daddiu  $sp, $sp, -ENTRY_FRAME
        sd      $a0, ENTRY_PEER($sp)
        ld      $t9, %got_disp(tasklets_switch_context)($gp)
        sd      $t9, ENTRY_SWITCH($sp)
1:      ld      $a0, ENTRY_PEER($sp)
        ld      $a1, ABI_PEER_MAIN_SP($a0)
        daddiu  $a0, $a0, ABI_PEER_SELF_SP
        move    $a2, $zero
        ld      $t9, ENTRY_SWITCH($sp)
        jalr    $t9
        nop                               // (delay slot)
        b       1b
        nop                               // (delay slot)
        .size   tasklets_abi_entry_probe, . - tasklets_abi_entry_probe

// uintptr_t tasklets_abi_sp_at_call(void)
        .global tasklets_abi_sp_at_call
        .type   tasklets_abi_sp_at_call, @function
        .balign 8
tasklets_abi_sp_at_call:
        jr      $ra
        move    $v0, $sp                  // (delay slot) jalr leaves sp alone
        .size   tasklets_abi_sp_at_call, . - tasklets_abi_sp_at_call

// void tasklets_abi_call_checked(void (*fn)(void*), void* arg,
//                                const uint64_t* patterns, uint64_t* results)
//   a0 = fn, a1 = arg, a2 = patterns, a3 = results. The frame and the register order are
//   those of tasklets_abi_switch_checked; only the call differs (fn is C++, entered
//   through t9, and computes its own gp).
        .global tasklets_abi_call_checked
        .type   tasklets_abi_call_checked, @function
        .balign 8
tasklets_abi_call_checked:
        .cfi_startproc
        save_callers_registers
        sd      $a3, PROBE_RESULTS($sp)   // results, kept on the stack across the call
        move    $t9, $a0                  // fn, called below with arg as its argument
        move    $a0, $a1
        load_patterns $a2, $a3
        jalr    $t9
        nop                               // (delay slot)
        store_results
        restore_callers_registers_and_return
        .cfi_endproc
        .size   tasklets_abi_call_checked, . - tasklets_abi_call_checked

// void tasklets_abi_call_clobbered(void (*fn)(void*), void* arg)
        .global tasklets_abi_call_clobbered
        .type   tasklets_abi_call_clobbered, @function
        .balign 8
tasklets_abi_call_clobbered:
        .cfi_startproc
        save_callers_registers
        move    $t9, $a0                  // fn
        move    $a0, $a1                  // its argument
        // Every other general register but zero, sp, k0/k1, t8 (the pattern) and ra (the
        // return address from the jalr on)...
        clobber_registers 1,2,3,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,28,30
        jalr    $t9
        nop                               // (delay slot)
        restore_callers_registers_and_return
        .cfi_endproc
        .size   tasklets_abi_call_clobbered, . - tasklets_abi_call_clobbered

        .set    at
        .set    reorder
        .section .note.GNU-stack, "", @progbits
