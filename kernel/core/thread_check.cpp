// Thread ownership: the errors, and the handles that outlive their thread
// (core/thread_check.hpp).
#include "core/thread_check.hpp"

#include "channels/channel_core.hpp"
#include "core/tasklet_life.hpp"

#include <tasklets/errors.hpp>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace tasklets::detail {

namespace {

// Orphans (control blocks whose thread has ended) may be let go of by any thread, and by
// several at once: their counts and their scheduler's cell pool are kept under this lock.
std::mutex orphans;

// acquire: pairs with the release in destroy_scheduler (core/thread_scheduler.cpp), so a
// thread that sees `ended` also sees the teardown that came before it.
bool thread_ended(const scheduler* s) noexcept { return s->ended.load(std::memory_order_acquire); }

const char* const rule =
    "a tasklet is used only on the thread that created it, and a channel only on the thread of its first "
    "send, receive or select (docs/semantics.md §9.1)";

}  // namespace

void throw_foreign_tasklet(const tasklet_impl* t, const char* operation) {
    // Only the id is read: it never changes, while the name could be changing on its thread.
    throw thread_error(std::string("tasklets: ") + operation + " on tasklet " + std::to_string(t->id) +
                       (thread_ended(t->home) ? " of a thread that has ended: " : " of another thread: ") + rule);
}

void throw_foreign_channel(const char* operation) {
    throw thread_error(std::string("tasklets: ") + operation + " on a channel of another thread: " + rule);
}

void bind_channel(channel_core* c, scheduler* s, const char* operation) {
    scheduler* expected = unbound();
    // relaxed: binding publishes nothing. Before it, the channel is an ordinary object
    // that the program's own synchronisation hands between threads; after it, only the
    // owner touches the rest of it, and a thread that loses the race reads only this word.
    if (s != nullptr && c->owner.compare_exchange_strong(expected, s, std::memory_order_relaxed)) {
        // The channel keeps its owner's block, so that no later thread's scheduler can take
        // its address while the channel names it. relaxed: this thread's own keeper holds it.
        s->keepers.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    throw_foreign_channel(operation);
}

void drop_keeper(scheduler* s) noexcept {
    // acq_rel: every keeper releases its hold after its last use of the block, and the one
    // that deletes it acquires all of them first (shared_ptr's reasoning).
    if (s->keepers.fetch_sub(1, std::memory_order_acq_rel) == 1) delete s;
}

void fatal_misuse(const char* message) noexcept {
    std::fprintf(stderr, "tasklets: fatal: %s\n", message);
    std::fflush(stderr);
    std::abort();
}

void retain_foreign(tasklet_impl* t) noexcept {
    if (!thread_ended(t->home))
        fatal_misuse("a tasklet handle was copied on a thread other than its tasklet's, while that thread runs: "
                     "tasklet handles are copied and destroyed only on their own thread (docs/semantics.md §9.1)");
    std::lock_guard lock(orphans);
    ++t->handles;
}

void release_foreign(tasklet_impl* t) noexcept {
    scheduler* home = t->home;
    if (!thread_ended(home))
        fatal_misuse("a tasklet handle was destroyed on a thread other than its tasklet's, while that thread runs: "
                     "tasklet handles are copied and destroyed only on their own thread (docs/semantics.md §9.1)");
    std::unique_lock lock(orphans);
    --t->handles;
    if (t->is_main ? t->handles != 1 : t->handles != 0) return;  // main keeps the scheduler's own count of 1
    // Its thread's teardown killed it or unbound it: dead, and without a stack.
    if (!t->is_main) free_tasklet(*home, t);
    const bool last_orphan = home->all == &home->main && home->main.all_next == nullptr && home->main.handles == 1;
    lock.unlock();
    if (last_orphan) drop_keeper(home);  // the orphans' keeper (core/thread_scheduler.cpp)
}

}  // namespace tasklets::detail
