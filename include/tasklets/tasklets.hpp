// tasklets/tasklets.hpp — everything: tasklets, the scheduler, channels, raw contexts.
#pragma once

#include <tasklets/channel.hpp>
#include <tasklets/context.hpp>
#include <tasklets/errors.hpp>
#include <tasklets/stack.hpp>
#include <tasklets/tasklet.hpp>
