// Deadlock reports that say who is stuck (core/deadlock.hpp, docs/semantics.md §5).
#include "core/deadlock.hpp"

#include "core/event_source.hpp"
#include "core/waits.hpp"

#include <tasklets/errors.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace tasklets {

std::string blocked_tasklet::description() const {
    std::string line = "tasklet ";
    line.append(std::to_string(id));
    if (!name.empty()) line.append(" \"").append(name).append("\"");
    else if (is_main) line.append(" (main)");
    char where[32];
    std::snprintf(where, sizeof where, "%p", channel);
    switch (on) {
    case waiting_for::receive: return line.append(": receiving on channel ").append(where);
    case waiting_for::send: return line.append(": sending on channel ").append(where);
    case waiting_for::select:
        return line.append(": waiting in a select over ").append(std::to_string(cases)).append(" channels (first ")
            .append(where).append(")");
    case waiting_for::timer: return line.append(": sleeping on a timer");
    case waiting_for::readable: return line.append(": waiting for fd ").append(std::to_string(fd)).append(" to become readable");
    case waiting_for::writable: return line.append(": waiting for fd ").append(std::to_string(fd)).append(" to become writable");
    }
    return line;
}

}  // namespace tasklets

namespace tasklets::detail {

namespace {

constexpr std::size_t listed_at_most = 20;

blocked_tasklet describe(const tasklet_impl* t) {
    blocked_tasklet b;
    b.id = t->id;
    b.name = std::string(t->name_view());
    b.is_main = t->is_main;
    if (on_channel(t)) {
        b.channel = blocked_channel(t);
        b.cases = channel_wait_count(t);
        b.on = b.cases > 1 || blocked_in_select(t) ? blocked_tasklet::waiting_for::select
               : blocked_direction(t) == receiving         ? blocked_tasklet::waiting_for::receive
                                                   : blocked_tasklet::waiting_for::send;
    } else if (t->event->fd < 0) {
        b.on = blocked_tasklet::waiting_for::timer;
    } else {
        b.fd = t->event->fd;
        b.on = t->event->interest == event_writable ? blocked_tasklet::waiting_for::writable
                                                    : blocked_tasklet::waiting_for::readable;
    }
    return b;
}

}  // namespace

std::exception_ptr make_deadlock_error(const scheduler& s, const char* first_line) {
    try {
        std::vector<blocked_tasklet> blocked;
        for (const tasklet_impl* t = s.all; t; t = t->all_next)
            if (t->alive && is_blocked(t)) blocked.push_back(describe(t));
        std::sort(blocked.begin(), blocked.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
        // Appended piece by piece: GCC 12's -Wrestrict misfires on chains of operator+.
        std::string what = first_line;
        if (!blocked.empty()) {
            what.append("\n").append(std::to_string(blocked.size()));
            what.append(blocked.size() == 1 ? " tasklet is blocked:" : " tasklets are blocked:");
            for (std::size_t i = 0; i < blocked.size() && i < listed_at_most; ++i)
                what.append("\n  ").append(blocked[i].description());
            if (blocked.size() > listed_at_most)
                what.append("\n  ... and ").append(std::to_string(blocked.size() - listed_at_most)).append(" more");
        }
        return std::make_exception_ptr(deadlock_error(what, std::move(blocked)));
    } catch (...) {
        return std::current_exception();  // out of memory while reporting: that is what is raised
    }
}

[[noreturn]] void throw_deadlock(const scheduler& s, const char* first_line) {
    std::rethrow_exception(make_deadlock_error(s, first_line));
}

}  // namespace tasklets::detail
