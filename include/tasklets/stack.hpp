// tasklets/stack.hpp — stack sizes.
//
// Every tasklet runs on its own stack, mmap'd from the kernel with an inaccessible guard
// region below it (and above it): an overflow faults at once and is reported naming the
// tasklet ("tasklets: stack overflow in tasklet 17 "parser" (stack 65536 bytes); give it
// a larger stack"), and the process dies by SIGSEGV. Stacks are carved from large slabs
// and pooled: a tasklet takes a stack when it first runs and returns it when it ends.
// Only the pages a tasklet actually touches cost memory (typically one 4 KiB page).
// A tasklet's first frame starts up to 960 bytes below the top of its stack, at an offset
// that differs between neighbouring stacks: stacks lie whole pages apart, and suspended
// tasklets whose saved contexts all sat at the same offset in their pages would compete
// for the same few cache sets. Those bytes count in stack_depth() and are not usable.
//
// The overflow report comes from a SIGSEGV handler that tasklets installs (with an
// alternate signal stack per thread) when a thread first uses tasklets; faults that are
// not in a tasklet guard go to the handler that was installed before it. A program that
// installs its own SIGSEGV handler afterwards should likewise pass on faults it does not
// handle to the previous handler, or overflows will not be reported.
#pragma once

#include <cstddef>
#include <string_view>

namespace tasklets {

/// Default stack size of a new tasklet unless changed: 64 KiB.
inline constexpr std::size_t builtin_default_stack_size = 64 * 1024;

/// Smallest stack a tasklet may have: 16 KiB (room for a signal frame with AVX-512
/// state plus a few calls). Sizes are rounded up to whole pages.
inline constexpr std::size_t min_stack_size = 16 * 1024;

/// The stack size new tasklets get when their options do not name one (process-wide).
std::size_t default_stack_size() noexcept;

/// Sets the process-wide default stack size. Throws std::invalid_argument naming the
/// minimum if `bytes` < min_stack_size (zero included).
void set_default_stack_size(std::size_t bytes);

/// Where a tasklet's frames live (tasklet_options::stack; docs/shared-stacks.md).
enum class stack_mode : unsigned char {
    /// The spawning thread's default_stack_mode().
    thread_default,
    /// A stack of its own, guard-paged, stack_size bytes: a parked tasklet costs the
    /// pages it touched (one 4 KiB page for most), and a switch copies nothing.
    dedicated,
    /// One of its thread's few execution stacks (default_stack_size() bytes each, made
    /// when the thread's first shared-stack tasklet is spawned). While it is parked and
    /// another tasklet needs that stack, its live frames — from its stack pointer to the
    /// top, a few hundred bytes for most — are copied into a heap buffer of exactly that
    /// size, and copied back before it runs again. Costs a copy each way when tasklets
    /// that share an execution stack take turns; saves memory when most are parked.
    /// A tasklet whose live frames outgrow shared_stack_limit() keeps its execution
    /// stack for itself (see there).
    /// The rule for user code: never let another tasklet use a pointer to a local
    /// variable of a parked shared-stack tasklet (the bytes may be in its buffer, and
    /// another tasklet's frames at that address).
    /// Every wait works in it (channels, shared_channels, select over either, timers,
    /// timeouts, I/O on epoll and io_uring, files, run_blocking): each keeps what its
    /// partners reach off the stack while it waits. Refused: a waiting select over
    /// channels with a send value whose move may throw (state_error names the case), and
    /// migration (tasklet_options::migratable; std::invalid_argument at spawn).
    shared,
};

/// The calling thread's default stack mode for new tasklets: dedicated unless set.
stack_mode default_stack_mode();
/// Sets the calling thread's default stack mode. std::invalid_argument for thread_default.
void set_default_stack_mode(stack_mode mode);

/// The calling thread's limit for shared-stack tasklets that grow: 2,048 bytes unless set.
/// A tasklet copied out of its execution stack with more live bytes than this *keeps*
/// that stack: it leaves the thread's rotation, no tasklet is bound to it again, and once
/// the others already bound to it have ended, the big tasklet has it to itself and is not
/// copied any more, as if it had a dedicated stack. The stack is freed when its last
/// tasklet ends. (A tasklet cannot move to another stack: its frames point into
/// themselves.) From about 2 KiB of live frames on, a switch that copies both ways costs
/// more than ten that do not, and the heap buffer saves at most half a page
/// (docs/shared-stacks.md, "Tasklets that grow"). statistics() counts the copies and the
/// kept stacks.
std::size_t shared_stack_limit();
/// Sets the calling thread's limit (above). 0: never keep a stack; every tasklet bound to
/// it goes on copying.
void set_shared_stack_limit(std::size_t bytes);

/// How guard regions are made in this process: "madvise(MADV_GUARD_INSTALL)" (Linux
/// >= 6.13; no extra memory mappings, so a million stacks fit under the default
/// vm.max_map_count) or "mprotect(PROT_NONE)" (two mappings per stack). Decided once,
/// after checking that madvise guards really fault (QEMU user mode accepts the call and
/// installs nothing). The environment variable TASKLETS_STACK_GUARD=mprotect forces the
/// fallback.
std::string_view stack_guard_method();

}  // namespace tasklets
