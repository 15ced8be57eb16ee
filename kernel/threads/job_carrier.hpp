// Starting a pool's jobs, and carriers: a job's tasklet that runs a later job of its
// worker when its own has ended (docs/multicore.md, "Carriers").
//
// A job without options whose tasklet ends with nothing referring to it (no handle, no
// name, no pending exception) does not end: it parks as its worker's spare carrier, out
// of the ring and out of the thread's list of tasklets, counted as ended. When serve()
// next starts a job without options, it hands the job to the spare instead of making a
// tasklet: the spare gets a new id and serve()'s FP control (as a new tasklet inherits
// it), is counted as spawned and is appended to the ring, where the new tasklet would have
// gone. The job then runs at the bottom of the same stack, and nothing that a new tasklet
// would show differently can be seen: no handle to the earlier job's tasklet exists, and
// its id is not reused.
// What this saves is a tasklet's making and its end: its block and stack taken and given
// back, its first frame, its entry and its death (skynet on one worker: 1,315 -> 1,059
// instructions a task under callgrind, all but one task in 100,000 carried).
//
//   serve(): start_job ─▶ spare parked? ─yes▶ hand the job to it, append it to the ring
//                                      └─no─▶ a new tasklet whose body is carry()
//   carry(): run the job ─▶ destroy it ─▶ count it done ─▶ may it park? ─yes▶ serve()'s
//            turn next, and a job of its own queue for it? ─yes▶ take the turn (below)
//                                                   └─no─▶ park as the spare ─▶
//            resumed with the next job (or none: end)
//                                                  └─no─▶ end, as any tasklet
//
// Taking serve()'s turn. When the ring's next tasklet is serve()'s, parked in its loop,
// its turn is fixed: it would take the newest job of its own queue, hand it to the spare
// (the carrier that is about to park), which it appends just before itself, and then
// schedule() on to the tasklet after it. The carrier does exactly that in its place: it
// takes the job, renews its identity as the hand-over would (a new id, counted ended and
// spawned), stays where the hand-over would put it (just before serve()'s tasklet, where
// it is), and switches to the tasklet after serve()'s; serve() keeps its place in the
// ring. The ring and the books end as they would have; the two switches through serve()'s
// tasklet become one, and its loop's round is saved (skynet on one worker: 1,057 -> 961
// instructions a task, two switches a task instead of three). It is taken only
// when that turn would take schedule()'s plain path (no safe point's work due, the next
// tasklet started, nothing watching switches: may_park()) and the carrier's FP control
// is serve()'s, so that the next job starts as a new tasklet would; otherwise the carrier
// parks and serve() takes its turn itself.
#pragma once

#include <tasklets/worker_pool.hpp>

#include <cstdint>
#include <memory>

namespace tasklets::detail {

struct parked_carrier;
struct tasklet_impl;

/// A worker's carriers (worker thread only, so no atomics).
struct carrier_slot {
    parked_carrier* spare = nullptr;  // the parked carrier, if any (one at most: a stack's worth kept)
    bool open = false;                // while serve() runs: set by it, cleared by close_carriers()
    // serve()'s FP control state (arch::fp_control), which a job's tasklet starts with as a
    // new tasklet would: read when serve() opens the slot and at every hand-over.
    std::uint64_t serve_fp = 0;
};

/// serve()'s turn, taken for it by a carrier (threads/job_carrier.cpp): the newest job of
/// the calling worker's own queue, taken off and counted as started and carried, if
/// serve() would start it in the spare now; else null, and nothing changed. Null when
/// serve() is not parked in its loop (woken from its idle wait, it has state to clear),
/// when the pool stops, and when the job has options (a tasklet of its own).
pool_job_base* take_serves_job() noexcept;

/// The calling thread's slot if it is a worker of pool `p`, else null
/// (threads/worker_pool.cpp, which knows which worker the thread is).
carrier_slot* worker_carriers(const pool_core* p) noexcept;
/// On the worker, after serve(): nothing parks any more, and a parked spare is put back
/// in the ring with no job, so that it ends (the thread's teardown kills what is left).
void close_carriers(carrier_slot& slot) noexcept;

/// A job has ended (normally, by an exception, or killed) and its function and arguments
/// are destroyed: the pool's count (threads/worker_pool.cpp).
void pool_job_done(pool_core* p) noexcept;

/// Starts a queued job on the calling worker (serve()): true if the spare carrier took it.
/// Throws what making a tasklet throws (bad_alloc, a stack that cannot be mapped); the job
/// is then destroyed.
bool start_job(carrier_slot& slot, std::unique_ptr<pool_job_base> job);

}  // namespace tasklets::detail
