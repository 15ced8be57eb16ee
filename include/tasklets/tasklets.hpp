// tasklets/tasklets.hpp — everything: tasklets, the scheduler, channels, timers, I/O, raw contexts, statistics, traces.
#pragma once

#include <tasklets/blocking.hpp>
#include <tasklets/channel.hpp>
#include <tasklets/context.hpp>
#include <tasklets/errors.hpp>
#if !defined(_WIN32)  // descriptor I/O: not on Windows yet (an IOCP reactor, arch/README.md)
#include <tasklets/file.hpp>
#include <tasklets/io.hpp>
#endif
#include <tasklets/remote_tasklet.hpp>
#include <tasklets/select.hpp>
#include <tasklets/shared_channel.hpp>
#include <tasklets/stack.hpp>
#include <tasklets/statistics.hpp>
#include <tasklets/tasklet.hpp>
#include <tasklets/thread_ref.hpp>
#include <tasklets/watchdog.hpp>
#include <tasklets/worker_pool.hpp>
#include <tasklets/time.hpp>
#include <tasklets/trace.hpp>
