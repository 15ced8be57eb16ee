// Raising exceptions in other tasklets (core/throw_into.hpp).
#include "core/throw_into.hpp"

#include "core/callbacks.hpp"
#include "core/observe.hpp"
#include "core/ring.hpp"
#include "core/switch.hpp"
#include "core/waits.hpp"

#include <tasklets/errors.hpp>

namespace tasklets::detail {

void throw_into(scheduler& s, tasklet_impl* t, std::exception_ptr e, bool pending, bool killing) {
    if (t == s.current) std::rethrow_exception(std::move(e));
    if (!pending) {
        guard_switch(s);
        prepare(s, t);
    }
    trace_event_of(s, killing ? trace_kind::killed : trace_kind::thrown_in, t, s.current);
    set_pending(t, std::move(e));
    note_unpausing(s, t);  // before unblock(): a blocked tasklet was not paused
    if (is_blocked(t)) unblock(t);
    if (!t->in_ring) ring_append(s, t);
    if (!pending) switch_to_tasklet(s, t);
}

void kill_now(scheduler& s, tasklet_impl* t) { throw_into(s, t, std::make_exception_ptr(tasklet_exit{}), false, true); }

[[noreturn]] void throw_state_error(const char* message) { throw state_error(message); }

}  // namespace tasklets::detail
