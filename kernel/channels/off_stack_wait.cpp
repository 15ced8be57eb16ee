// Off-stack channel waits (channels/off_stack_wait.hpp).
//
// The box is one allocation per tasklet: the waiter record, then the value, aligned for
// both. It costs a shared-stack tasklet one extra move of the value per wait, against
// copying records back and forth with the stack and patching every pointer to them, which
// would also move values byte by byte: wrong for types that point into themselves (a
// libstdc++ std::string keeps a pointer to its own short buffer).
#include "channels/off_stack_wait.hpp"

#include "channels/handoff.hpp"
#include "stacks/shared_stacks.hpp"

#include <algorithm>
#include <exception>
#include <new>

namespace tasklets::detail {

namespace {

// The record, then the value, in the tasklet's box: made on its first wait, kept for the
// next (a tasklet that waits often allocates once), replaced if a value needs more room.
struct off_stack_box {
    channel_waiter* record;
    void* value;

    off_stack_box(shared_stack_state& st, const transfer_ops* ops) {
        const std::size_t align = std::max(ops->align, alignof(channel_waiter));
        const std::size_t offset = (sizeof(channel_waiter) + ops->align - 1) / ops->align * ops->align;
        const std::size_t size = offset + ops->size;
        if (st.box == nullptr || st.box_size < size || st.box_align < align) {
            void* fresh = ::operator new(size, std::align_val_t{align});  // may throw: nothing changed
            if (st.box) ::operator delete(st.box, std::align_val_t{st.box_align});
            st.box = fresh;
            st.box_size = size;
            st.box_align = align;
        }
        record = ::new (st.box) channel_waiter{};
        value = static_cast<std::byte*>(st.box) + offset;
    }
};

}  // namespace

void wait_off_stack(scheduler& s, channel_core* c, std::int8_t direction, void* transfer, bool is_exception,
                    const transfer_ops* ops) {
    off_stack_box box(*s.current->shared, ops);
    channel_waiter* w = box.record;
    w->tasklet = s.current;
    w->channel = c;
    w->transfer = box.value;
    w->transfer_is_exception = is_exception;
    w->unusual = is_exception;
    w->direction = direction;
    // Never queued, so far: queue_push overwrites it, and a partner never touches it.
    w->next = w;
    if (direction == sending) ops->relocate(box.value, transfer);  // may throw: nothing changed yet
    try {
        block_on_records(s, w, 1);
    } catch (...) {
        // Sending: the box holds the value (not taken) or what a receiver left of it
        // (taken, and then an exception came): either way it is ours to destroy.
        // Receiving: a value is there only if a partner delivered one before the
        // exception; a refusal before parking, or a kill or throw that took us off the
        // channel (unblock_from_channel clears transfer), leaves none.
        if (direction == sending || (w->next != w && w->transfer != nullptr)) ops->destroy(box.value);
        throw;
    }
    if (direction == receiving) {
        try {
            ops->relocate(transfer, box.value);
        } catch (...) {
            ops->destroy(box.value);
            throw;
        }
    }
    ops->destroy(box.value);  // sending: what the receiver left; receiving: what we moved from
}

}  // namespace tasklets::detail
