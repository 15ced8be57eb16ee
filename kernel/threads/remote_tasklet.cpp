// remote_tasklet (include/tasklets/remote_tasklet.hpp): a kill or throw travels as mail to
// the tasklet's thread and is delivered there as a pending one.
#include "core/control_block.hpp"
#include "core/scheduler.hpp"
#include "core/thread_check.hpp"
#include "core/throw_into.hpp"
#include "io/reactor.hpp"
#include "threads/inbox.hpp"
#include "threads/migration.hpp"

#include <tasklets/errors.hpp>
#include <tasklets/remote_tasklet.hpp>

namespace tasklets::detail {

namespace {

struct throw_mail : mail {
    std::uint64_t id = 0;
    std::exception_ptr e;
    bool killing = false;
};

tasklet_impl* find_tasklet(scheduler& s, std::uint64_t id) noexcept {
    if (s.main.id == id) return &s.main;
    for (tasklet_impl* t = s.all; t; t = t->all_next)
        if (t->id == id) return t;
    return nullptr;
}

// On the tasklet's thread, inside its reactor's poll: no switch (pending), nothing thrown.
void deliver_throw(mail* m, scheduler& s) noexcept {
    std::unique_ptr<throw_mail> mine(static_cast<throw_mail*>(m));
    tasklet_impl* t = find_tasklet(s, mine->id);
    if (!t && mine->id >= first_migrant_id && forward_to_migrant(mine->id, mine.get())) {
        (void)mine.release();  // it moved: sent after it, or kept until it arrives
        return;
    }
    if (!t || !t->alive) return;  // dead already: nothing to do (§4.1)
    if (t == s.current) {
        // It is the one polling: raise it at its next switch, as a resume hook does.
        set_pending(t, std::move(mine->e));
        return;
    }
    try {
        throw_into(s, t, std::move(mine->e), true, mine->killing);
    } catch (...) {
        // throw_into with pending does not throw (it neither switches nor allocates).
    }
}

// Its thread ended first. A migratable tasklet may live on elsewhere: then it follows.
void discard_throw(mail* m) noexcept {
    auto* mine = static_cast<throw_mail*>(m);
    if (mine->id >= first_migrant_id && forward_to_migrant(mine->id, mine)) return;
    delete mine;
}

}  // namespace

}  // namespace tasklets::detail

namespace tasklets {

remote_tasklet::remote_tasklet(const tasklet& t) {
    detail::tasklet_impl* impl = t.impl();
    if (!impl) throw state_error("tasklets: remote_tasklet of an empty tasklet handle");
    detail::own(impl, "remote_tasklet()");
    thread_ = thread_ref(detail::get_reactor(*impl->home).inbox());
    id_ = impl->id;
    if (impl->stack_kind == detail::stack_alone) detail::follow_migrant(id_, thread_.inbox_);  // requests follow it where it moves
}

void remote_tasklet::post(std::exception_ptr e, bool killing) const {
    auto m = std::make_unique<detail::throw_mail>();
    m->deliver = &detail::deliver_throw;
    m->discard = &detail::discard_throw;
    m->id = id_;
    m->e = std::move(e);
    m->killing = killing;
    // A migratable tasklet is sent to where the directory says it is now.
    if (id_ >= detail::first_migrant_id) {
        if (detail::forward_to_migrant(id_, m.get())) (void)m.release();
        return;  // not in the directory: it has ended
    }
    // A thread that has ended killed all its tasklets: the request is moot.
    if (thread_.inbox_->post(m.get())) (void)m.release();
}

void remote_tasklet::kill() const {
    if (!thread_) return;
    post(std::make_exception_ptr(tasklet_exit{}), true);
}

void remote_tasklet::throw_exception(std::exception_ptr e) const {
    if (!thread_) throw state_error("tasklets: throw_exception() on an empty remote_tasklet");
    if (!e) throw std::invalid_argument("tasklets: remote_tasklet::throw_exception() needs an exception, not a null exception_ptr");
    post(std::move(e), false);
}

}  // namespace tasklets
