// Helper threads for blocking calls (include/tasklets/blocking.hpp): a process-wide pool,
// and the way a finished call finds its way back to the thread whose tasklet waits.
//
//   tasklet (home thread)            helper thread
//   ---------------------            -------------
//   ticket{job, home inbox}  ──queue──▶ job->run()
//   parks on the reactor               push ticket to home inbox (under its mutex),
//   (reactor::wait_for_helper)         write the inbox's eventfd
//   ◀── the reactor sees the eventfd readable, drains the inbox, wakes each ticket's waiter
//
// The waiter is touched only on the home thread (set while parked, cleared when the wait
// ends for any reason), so a ticket whose tasklet was killed or timed out is simply
// dropped when it comes back. Everything a helper touches is owned by shared pointers.
#pragma once

#include <tasklets/blocking.hpp>

#include <memory>
#include <mutex>
#include <vector>

namespace tasklets::detail {

struct io_wait;
struct helper_inbox;

struct helper_ticket {
    std::shared_ptr<helper_job> job;
    std::shared_ptr<helper_inbox> home;
    io_wait* waiter = nullptr;  // home thread only: the parked tasklet's wait, or null
};

/// Where finished tickets wait for their home thread's reactor. The eventfd (on Windows an
/// event) is created with the inbox and closed with it (by whoever drops the last reference).
struct helper_inbox {
    helper_inbox();
    ~helper_inbox();
    helper_inbox(const helper_inbox&) = delete;
    helper_inbox& operator=(const helper_inbox&) = delete;

    /// A helper is done with `t`: queue it and ring the eventfd.
    void deliver(std::shared_ptr<helper_ticket> t) noexcept;
    /// The home thread takes what has come back (and clears the eventfd).
    std::vector<std::shared_ptr<helper_ticket>> take() noexcept;

#if defined(_WIN32)
    void* event = nullptr;  // a manual-reset event (HANDLE) the reactor waits on
#else
    int fd = -1;
#endif
    std::mutex mutex;
    std::vector<std::shared_ptr<helper_ticket>> done;  // guarded by mutex
};

/// Queues a ticket for the pool (starting a helper if all are busy and there is room).
void submit_to_helpers(std::shared_ptr<helper_ticket> t);

}  // namespace tasklets::detail
