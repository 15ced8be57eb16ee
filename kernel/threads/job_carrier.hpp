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
//   carry(): run the job ─▶ destroy it ─▶ count it done ─▶ may it park? ─yes▶ park as
//            the spare ─▶ resumed with the next job (or none: end)
//                                                  └─no─▶ end, as any tasklet
#pragma once

#include <tasklets/worker_pool.hpp>

#include <memory>

namespace tasklets::detail {

struct parked_carrier;
struct tasklet_impl;

/// A worker's carriers (worker thread only, so no atomics).
struct carrier_slot {
    parked_carrier* spare = nullptr;  // the parked carrier, if any (one at most: a stack's worth kept)
    bool open = false;                // while serve() runs: set by it, cleared by close_carriers()
};

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
