// The program tests/gdb/run_gdb_test.sh debugs: it puts named tasklets into known states,
// then calls tasklets_gdb_breakpoint_here(), where gdb stops and looks at them.
//
//   main        running (it calls the breakpoint function)
//   consumer    blocked receiving on `orders`, inside gdbtest_wait_for_order()
//   producer    blocked sending on `replies`, inside gdbtest_send_reply()
//   sleeper     paused (schedule_remove) inside gdbtest_paused_in_sleep()
//   digger      paused after recursing ~48 KiB deep in gdbtest_dig() (stack high-water)
//   worker      runnable: started, then schedule()d inside gdbtest_worker_loop()
//   lodger1..5  shared-stack tasklets blocked receiving inside gdbtest_lodge(); the
//               thread binds them to its four execution stacks in turn, so lodger1's
//               frames were copied out when lodger5 ran, and, past the thread's
//               shared_stack_limit() (set low here), their execution stack is kept
//   latecomer   runnable, never started
//
// Afterwards it lets everything finish and exits 0, printing "consumer got 7". With the
// environment variable TASKLETS_GDB_TARGET_ABORT set it calls abort() there instead, for a
// core dump made by the kernel.
#include <tasklets/debug.hpp>
#include <tasklets/tasklets.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

extern "C" __attribute__((noinline)) void tasklets_gdb_breakpoint_here() { asm volatile("" ::: "memory"); }

namespace {

__attribute__((noinline)) int gdbtest_wait_for_order(tasklets::channel<int>& orders) {
    int order = orders.receive();
    asm volatile("" ::: "memory");
    return order;
}
__attribute__((noinline)) void gdbtest_consumer_body(tasklets::channel<int> orders) {
    int got = gdbtest_wait_for_order(orders);
    std::printf("consumer got %d\n", got);
}

__attribute__((noinline)) void gdbtest_send_reply(tasklets::channel<int>& replies, int value) {
    replies.send(value);
    asm volatile("" ::: "memory");
}

__attribute__((noinline)) void gdbtest_paused_in_sleep() {
    tasklets::schedule_remove();
    asm volatile("" ::: "memory");
}

__attribute__((noinline)) int gdbtest_dig(int depth) {
    volatile char pad[1024];
    pad[0] = static_cast<char>(depth);
    if (depth == 0) {
        tasklets::schedule_remove();  // parked at the bottom: the stack is deep right now
        return pad[0];
    }
    return gdbtest_dig(depth - 1) + pad[0];
}

__attribute__((noinline)) int gdbtest_lodge(tasklets::channel<int>& door, int room) {
    volatile int mark = room * 1111;  // a local the frames carry across the copy
    int got = door.receive();
    return got + mark;
}

__attribute__((noinline)) void gdbtest_worker_loop() {
    for (int i = 0; i < 3; ++i) tasklets::schedule();
}

}  // namespace

int main() {
    tasklets::channel<int> orders;
    tasklets::channel<int> replies;

    tasklets::tasklet consumer({.name = "consumer"}, gdbtest_consumer_body, orders);
    tasklets::tasklet producer({.name = "producer"}, [replies]() mutable { gdbtest_send_reply(replies, 42); });
    tasklets::tasklet sleeper({.name = "sleeper"}, [] { gdbtest_paused_in_sleep(); });
    tasklets::tasklet digger({.stack_size = 128 * 1024, .name = "digger"}, [] { gdbtest_dig(48); });
    tasklets::tasklet worker({.name = "worker"}, [] { gdbtest_worker_loop(); });
    tasklets::schedule();  // each runs up to its parking point; worker comes back to the ring
    tasklets::channel<int> door;
    std::vector<tasklets::tasklet> lodgers;
    tasklets::set_shared_stack_limit(64);  // a lodger parks deeper than this (about 200 bytes)
    for (int room = 1; room <= 5; ++room)
        lodgers.emplace_back(tasklets::tasklet_options{.name = "lodger" + std::to_string(room), .stack = tasklets::stack_mode::shared},
                             [&door, room] { (void)gdbtest_lodge(door, room); });
    tasklets::schedule();  // the lodgers park; worker takes its second turn
    tasklets::tasklet latecomer({.name = "latecomer"}, [] {});

    std::printf("tasklets_gdb_target: consumer %llu blocked=%d, producer %llu blocked=%d, sleeper %llu paused=%d, "
                "digger %llu high-water %zu, worker %llu scheduled=%d, latecomer %llu started=%d\n",
                (unsigned long long)consumer.id(), consumer.blocked(), (unsigned long long)producer.id(),
                producer.blocked(), (unsigned long long)sleeper.id(), sleeper.paused(),
                (unsigned long long)digger.id(), tasklets::stack_high_water(digger),
                (unsigned long long)worker.id(), worker.scheduled(), (unsigned long long)latecomer.id(),
                latecomer.started());
    std::fflush(stdout);
    if (!consumer.blocked() || !producer.blocked() || !sleeper.paused() || !digger.paused() ||
        !worker.scheduled() || !worker.started() || latecomer.started()) {
        std::fprintf(stderr, "tasklets_gdb_target: the tasklets are not in the expected states\n");
        return 2;
    }

    if (std::getenv("TASKLETS_GDB_TARGET_ABORT")) std::abort();
    tasklets_gdb_breakpoint_here();

    // Let everything finish so that the process exits cleanly after the test.
    orders.send(7);
    (void)replies.receive();
    for (int room = 1; room <= 5; ++room) door.send(room);
    sleeper.insert();
    digger.insert();
    tasklets::run();
    return 0;
}
