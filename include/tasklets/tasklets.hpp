// tasklets/tasklets.hpp — everything: tasklets, the scheduler, channels, timers, I/O, raw contexts, statistics, traces.
#pragma once

#include <tasklets/blocking.hpp>
#include <tasklets/channel.hpp>
#include <tasklets/context.hpp>
#include <tasklets/errors.hpp>
#include <tasklets/file.hpp>
#include <tasklets/io.hpp>
#include <tasklets/select.hpp>
#include <tasklets/stack.hpp>
#include <tasklets/statistics.hpp>
#include <tasklets/tasklet.hpp>
#include <tasklets/watchdog.hpp>
#include <tasklets/time.hpp>
#include <tasklets/trace.hpp>
