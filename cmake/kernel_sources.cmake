# The kernel's sources that every platform builds, in folders by layer (each depends only
# on those listed before it): os/ the tools that watch the process; context/ raw
# contexts; stacks/ the stack pool; core/ the scheduler; channels/ channels and select;
# io/ timers and the reactor's portable half (with threads/inbox.cpp, the doorbell it
# watches); threads/ what crosses threads (thread_ref, shared channels, worker pools);
# debug/ what debuggers and the stack-usage API read; durable/ the byte encoding and the
# image container of durable tasklets (docs/durable.md). The Linux build (CMakeLists.txt)
# and the Windows one (cmake/windows.cmake) each add their system layer, overflow
# reporting and reactor half.
# io/reactor_uring.cpp is in both: without liburing it holds the "no io_uring" definitions.
set(TASKLETS_KERNEL_SOURCES
  kernel/os/faults.cpp
  kernel/context/make_context.cpp
  kernel/core/shared_stacks.cpp
  kernel/stacks/stack_pool.cpp
  kernel/stacks/stack_settings.cpp
  kernel/trace/trace_buffer.cpp
  kernel/core/thread_scheduler.cpp
  kernel/core/cell_pool.cpp
  kernel/core/control_blocks.cpp
  kernel/core/handles.cpp
  kernel/core/thread_check.cpp
  kernel/core/tasklet_life.cpp
  kernel/core/handover.cpp
  kernel/core/waits.cpp
  kernel/core/throw_into.cpp
  kernel/core/deadlock.cpp
  kernel/core/safe_points.cpp
  kernel/core/callbacks.cpp
  kernel/core/schedule.cpp
  kernel/core/run.cpp
  kernel/core/tasklet_api.cpp
  kernel/core/observe.cpp
  kernel/channels/channel.cpp
  kernel/channels/handoff.cpp
  kernel/channels/off_stack_wait.cpp
  kernel/channels/select.cpp
  kernel/threads/inbox.cpp
  kernel/io/reactor.cpp
  kernel/io/reactor_uring.cpp
  kernel/io/channel_timeouts.cpp
  kernel/io/helpers.cpp
  kernel/threads/job_carrier.cpp
  kernel/threads/job_memory.cpp
  kernel/threads/migration.cpp
  kernel/threads/thread_ref.cpp
  kernel/threads/shared_channel.cpp
  kernel/threads/shared_select.cpp
  kernel/threads/worker_pool.cpp
  kernel/threads/remote_tasklet.cpp
  kernel/debug/gdb_table.cpp
  kernel/debug/stack_usage.cpp
  kernel/debug/trace_export.cpp
  kernel/durable/encoding/serial.cpp
  kernel/durable/encoding/crc32c.cpp
  kernel/durable/encoding/image.cpp
  kernel/durable/encoding/image_file.cpp
  kernel/durable/encoding/random.cpp
  kernel/durable/world/world.cpp
  kernel/durable/world/context_ops.cpp
  kernel/durable/world/world_image.cpp
)
