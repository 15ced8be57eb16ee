// Helper threads for blocking calls (include/tasklets/blocking.hpp): a process-wide pool,
// and the way a finished call finds its way back to the thread whose tasklet waits.
//
//   tasklet (home thread)            helper thread
//   ---------------------            -------------
//   ticket{job, home inbox}  ──queue──▶ job->run()
//   parks on the reactor               home inbox's deliver_reply (threads/inbox.hpp):
//   (reactor::wait_for_helper)         queue the ticket, ring the doorbell
//   ◀── the reactor sees the eventfd readable, drains the inbox, wakes each ticket's waiter
//
// The waiter is touched only on the home thread (set while parked, cleared when the wait
// ends for any reason), so a ticket whose tasklet was killed or timed out is simply
// dropped when it comes back. Everything a helper touches is owned by shared pointers.
#pragma once

#include <tasklets/blocking.hpp>

#include <memory>

namespace tasklets::detail {

struct io_wait;
struct thread_inbox;  // threads/inbox.hpp

struct helper_ticket {
    std::shared_ptr<helper_job> job;
    std::shared_ptr<thread_inbox> home;
    io_wait* waiter = nullptr;  // home thread only: the parked tasklet's wait, or null
};

/// Queues a ticket for the pool (starting a helper if all are busy and there is room).
void submit_to_helpers(std::shared_ptr<helper_ticket> t);

}  // namespace tasklets::detail
