// thread_ref (include/tasklets/thread_ref.hpp): a job travels as mail to its thread's
// inbox and runs there, inside the scheduler's poll.
#include "io/reactor.hpp"
#include "threads/inbox.hpp"

#include <tasklets/errors.hpp>
#include <tasklets/thread_ref.hpp>

#include <cstdio>
#include <exception>
#include <typeinfo>

namespace tasklets::detail {

namespace {

struct job_mail : mail {
    std::unique_ptr<remote_job> job;
};

// On the home thread, inside its reactor's poll. The job may only create tasklets, but
// that allocates (a control block, a stack): if it fails, the tasklet is not made and
// the failure is reported rather than lost silently.
void deliver_job(mail* m, scheduler&) noexcept {
    std::unique_ptr<job_mail> mine(static_cast<job_mail*>(m));
    try {
        mine->job->run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tasklets: a job sent from another thread failed on its target thread (%s: %s); it was dropped\n",
                     typeid(e).name(), e.what());
    } catch (...) {
        std::fputs("tasklets: a job sent from another thread failed on its target thread; it was dropped\n", stderr);
    }
}

void discard_job(mail* m) noexcept { delete static_cast<job_mail*>(m); }

}  // namespace

std::shared_ptr<thread_inbox> current_inbox() { return get_reactor(sched()).inbox(); }

bool inbox_closed(const thread_inbox& inbox) noexcept { return inbox.closed(); }

bool is_current_inbox(const thread_inbox* inbox) noexcept {
    const reactor* r = find_reactor();
    return r != nullptr && r->existing_inbox() == inbox;
}

void post_job(thread_inbox& inbox, std::unique_ptr<remote_job> job) {
    auto m = std::make_unique<job_mail>();
    m->deliver = &deliver_job;
    m->discard = &discard_job;
    m->job = std::move(job);
    if (!inbox.post(m.get()))
        throw thread_error("tasklets: spawn onto a thread that has ended: its scheduler is gone; keep the thread "
                           "running (or use a worker_pool) while others spawn onto it");
    (void)m.release();  // the inbox's now: deliver_job or discard_job frees it
}

}  // namespace tasklets::detail

namespace tasklets {

void thread_ref::post(std::unique_ptr<detail::remote_job> job) const {
    if (!inbox_) throw state_error("tasklets: spawn on an empty thread_ref: get one from thread_ref::current() on the thread");
    detail::post_job(*inbox_, std::move(job));
}

}  // namespace tasklets
