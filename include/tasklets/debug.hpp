// tasklets/debug.hpp — how much stack a tasklet uses, for sizing stacks from data.
//
//     tasklets::tasklet parser(tasklets::tasklet_options{.stack_size = 256 * 1024, .name = "parser"}, parse);
//     tasklets::run();
//     std::printf("parser: %zu of %zu bytes\n", tasklets::stack_high_water(parser), parser.stack_size());
//
// The high-water mark costs nothing while tasklets run: no per-switch work and no
// pre-filled stacks. It asks the kernel which of the stack's pages are resident
// (mincore(2)); a page becomes resident when it is first touched, so the deepest
// resident page is the deepest point the stack has reached. Consequences, stated plainly:
//
// - The granularity is a page (4 KiB): the figure is rounded up to whole pages.
// - Stacks are pooled: a tasklet takes its stack from a per-thread pool when it first runs
//   and gives it back when it ends, and the next tasklet of the same stack size may get
//   the same stack, pages already resident. So the figure is the deepest page touched on
//   this stack since the stack was mapped — an upper bound of this tasklet's own use.
//   reset_stack_high_water() makes it exact from that point on: it gives the pages
//   below the tasklet's current depth back to the kernel (their contents are dead), so
//   a later reading shows only what was touched afterwards. Call it at the start of a
//   tasklet you want to measure (it costs one madvise(2); the pages are zero-filled
//   again on next touch), or give the tasklets you measure a stack size of their own.
// - Pages swapped out count as untouched (mincore reports them non-resident). Transparent
//   huge pages would make a whole stack look touched; stack slabs are mapped
//   MADV_NOHUGEPAGE, so they never are.
// - The gdb extension (`info tasklets`) shows the same figure, read from
//   /proc/<pid>/pagemap without calling into the process.
#pragma once

#include <tasklets/tasklet.hpp>

#include <cstddef>

namespace tasklets {

/// The deepest the tasklet's stack has reached, in bytes from its top, rounded up to whole
/// pages (see above for what pooling means for this figure). 0 for an empty handle, the
/// main tasklet (the thread's own stack), a tasklet that has not started or has ended,
/// and a tasklet of another thread. At most t.stack_size(). Works for the running tasklet too.
/// 0 for a shared-stack tasklet: its execution stack's pages hold other tasklets' frames too.
std::size_t stack_high_water(const tasklet& t) noexcept;

/// How deep the tasklet's stack is right now, in bytes from its top: for a suspended
/// tasklet, down to its saved context; for the running one, down to the caller's frame.
/// A shared-stack tasklet (stack_mode::shared) that is parked answers the bytes it keeps
/// or would keep copied out. 0 for main, and for a tasklet not started or finished.
std::size_t stack_depth(const tasklet& t) noexcept;

/// Forgets what the tasklet's stack touched below its current depth (the pages are
/// returned to the kernel; they hold no live data), so that stack_high_water() then
/// measures from here on. Returns false, doing nothing, where stack_high_water() is 0
/// (a shared-stack tasklet included) or the kernel refused. Safe on the running tasklet (the page holding the caller's frame
/// and the one below it are kept).
bool reset_stack_high_water(const tasklet& t) noexcept;

}  // namespace tasklets
