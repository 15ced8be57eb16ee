// Off-stack channel waits (channels/off_stack_wait.hpp).
//
// The box is one per tasklet: the waiter record, then the value, aligned for both; inside
// the tasklet's shared_stack_state for values of 8 bytes or less. A value that waits there
// is moved in and out (twice more than a dedicated tasklet's), against copying records
// back and forth with the stack and patching every pointer to them, which would also move
// values byte by byte: wrong for types that point into themselves (a libstdc++ std::string
// keeps a pointer to its own short buffer). Small values avoid even that while their
// tasklet stays on its execution stack (wait_off_stack).
#include "channels/off_stack_wait.hpp"

#include "channels/handoff.hpp"
#include "core/shared_stacks.hpp"

#include <tasklets/errors.hpp>

#include <algorithm>
#include <bit>
#include <exception>
#include <vector>
#include <new>

namespace tasklets::detail {

namespace {

// Where the value starts in the box: after the record, at the value's alignment.
std::size_t value_offset(const transfer_ops* ops) noexcept {
    return (sizeof(channel_waiter) + ops->align - 1) & ~(ops->align - 1);  // align: a power of two
}
void* value_in_box(channel_waiter* w, const transfer_ops* ops) noexcept {
    return reinterpret_cast<std::byte*>(w) + value_offset(ops);
}

// The tasklet's heap box, for a value that does not fit its inline one: made on its first
// such wait and kept for the next (a tasklet that waits often allocates once), replaced if
// a value needs more room (shared_stack_state::heap_box).
void* heap_box(shared_stack_state& st, const transfer_ops* ops, std::size_t size) {
    const std::size_t align = std::max(ops->align, alignof(channel_waiter));
    if (st.has_heap_box && st.heap_box().size >= size && (std::size_t{1} << st.heap_box().align_shift) >= align)
        return st.heap_box().memory;
    void* fresh = ::operator new(size, std::align_val_t{align});  // may throw: nothing changed
    st.drop_heap_box();
    ::new (st.inline_box) kept_heap_box{fresh, static_cast<std::uint32_t>(size), static_cast<std::uint8_t>(std::countr_zero(align))};
    st.has_heap_box = true;
    return fresh;
}

// Does a box of `size` bytes for ops' value fit the inline one (in shared_stack_state)?
inline bool fits_inline(const transfer_ops* ops, std::size_t size) noexcept {
    return size <= sizeof(shared_stack_state::inline_box) && ops->align <= alignof(shared_stack_state);
}

}  // namespace

namespace {

// wait_off_stack's parts. Its frame is copied out and in with the tasklet's other frames
// whenever it must make room (core/shared_stacks.hpp), so it keeps only the record across
// the park (16 bytes on x86-64, with the return address; 32 when it kept the caller's
// storage and the ops too, which made a parked tasklet's buffer one 16-byte malloc class
// larger): they wait in shared_stack_state. Making the box and emptying it run in calls of
// their own, off the stack while it is parked, and every call takes at most six arguments
// (a seventh would go on the stack), in block_with_care's order, so that none moves.

// What a wait needs after the wake, noted in the tasklet's state: the caller's value or
// storage, its type's operations, where the value is, and the caller's unused waiter slot.
inline void note_wait(tasklet_impl* self, void* transfer, const transfer_ops* ops, const waiter_slot* slot,
                      frame_value_place value_at) noexcept {
    shared_stack_state& st = *self->shared;
    st.wait_transfer = transfer;
    st.wait_ops = ops;
    st.frame_value = value_at;
    note_hole(self, slot);
}

// The record, filled in, in the tasklet's box: the inline one when the value fits (a heap
// box noted there goes), else the heap box. A send's value is moved in last: the one
// call that may throw (wait_in_box then forgets the hole; nothing else is left to undo).
[[gnu::noinline]] channel_waiter* fill_box(channel_core* c, void* transfer, const transfer_ops* ops,
                                           const waiter_slot* slot, std::int8_t direction, bool is_exception) {
    tasklet_impl* const self = tls_scheduler->current;
    shared_stack_state& st = *self->shared;
    const std::size_t size = value_offset(ops) + ops->size;
    void* record;
    if (fits_inline(ops, size)) {
        st.drop_heap_box();  // the inline box is about to be used: the note in it goes
        record = st.inline_box;
    } else {
        record = heap_box(st, ops, size);  // may throw: nothing changed
    }
    void* const value = static_cast<std::byte*>(record) + value_offset(ops);
    auto* const w = ::new (record) channel_waiter{
        .tasklet = self,
        .next = static_cast<channel_waiter*>(record),  // never queued, so far: queue_push overwrites it, and a partner never touches it
        .prev = nullptr,
        .channel = c,
        .transfer = value,
        .transfer_is_exception = is_exception,
        .unusual = is_exception,
        .direction = direction,
    };
    note_wait(self, transfer, ops, slot, frame_value_place::none);
    if (direction == sending) ops->relocate(value, transfer);
    return w;
}

// The box's value after the wait ended: a received one moved to the caller; then what is
// left destroyed (sending: what the receiver left; receiving: what we moved from).
[[gnu::noinline]] void empty_box(channel_waiter* w) {
    forget_hole(w->tasklet);
    const shared_stack_state& st = *w->tasklet->shared;
    const transfer_ops* const ops = st.wait_ops;
    void* const value = value_in_box(w, ops);
    if (w->direction == receiving) {
        try {
            ops->relocate(st.wait_transfer, value);
        } catch (...) {
            ops->destroy(value);
            throw;
        }
    }
    ops->destroy(value);
}

// The wait ended with an exception. Sending: the box holds the value (not taken) or what
// a receiver left of it (taken, and then an exception came): either way it is ours to
// destroy. Receiving: a value is there only if a partner delivered one before the
// exception; a refusal before parking, or a kill or throw that took us off the channel
// (unblock_from_channel clears transfer), leaves none.
[[gnu::cold, gnu::noinline]] void abandon_box(channel_waiter* w) noexcept {
    forget_hole(w->tasklet);
    const transfer_ops* const ops = w->tasklet->shared->wait_ops;
    if (w->direction == sending || (w->next != w && w->transfer != nullptr)) ops->destroy(value_in_box(w, ops));
}

// Parks the current tasklet on its one record `w`: the plain way when nothing needs care,
// as channels/channel.cpp's block() does for a record in the frame (the next tasklet in
// the ring takes over), else the general way. The switch is its last call, made as a
// jump, so that its frame is not under the parked tasklet's.
[[gnu::noinline]] void park_on(channel_waiter* w) {
    tasklet_impl* const self = w->tasklet;
    scheduler& s = *self->home;
    tasklet_impl* const target = self->next;
    if ((s.switch_flags & switch_needs_care) || target == self || !target->started) [[unlikely]]
        return block_on_records(s, w, 1);
    park_plainly(s, self, w, target);
}

// The wait with its value in the box from the start: for the waits wait_off_stack does not
// park with the value in the frame. Its frame stays under the parked tasklet's, to empty the box after the wake.
[[gnu::noinline]] void wait_in_box(channel_core* c, void* transfer, const transfer_ops* ops, const waiter_slot* slot,
                                   std::int8_t direction, bool is_exception) {
    channel_waiter* w;
    try {
        w = fill_box(c, transfer, ops, slot, direction, is_exception);
    } catch (...) {
        forget_hole(tls_scheduler->current);  // making the box or moving a send's value in failed
        throw;
    }
    try {
        park_on(w);
    } catch (...) {
        abandon_box(w);
        throw;
    }
    empty_box(w);
}

}  // namespace

// Most waits park with the record in the inline box and the value where the caller keeps
// it, as a dedicated tasklet's wait does: a partner moves the value in place, and the
// tasklet wakes straight into its caller, with nothing left to do. That is only right
// while its frames stay on its execution stack. If it is copied out first, the restorer
// moves the value to the box and points the record there (evacuate_frame_wait), and moves
// it back when it copies the tasklet in (finish_frame_wait). Both moves happen in the
// restorer, which cannot throw, so the value's move must not throw; a value that does not
// fit the inline box, one whose move may throw, or an exception sent waits in the box from
// the start instead (wait_in_box).
//
// Why not always the box: the value then moves twice more, the wait calls three functions
// of its own, and its frame, 16 bytes more to copy, stays under the parked tasklet's to
// empty the box after the wake. A ping-pong between shared-stack tasklets on different
// execution stacks took 47 ns that way and 26-29 ns this way (dedicated: 22), and a parked
// tasklet 506 bytes against 490 (bench/stacks/shared_switch.cpp; tasklets_bench --park
// tasklets_shared 1000000). The return through that frame after the wake, which the
// processor mispredicts, is not most of it: receives under extra frames in a dedicated
// ping-pong cost under 1 ns per round trip for one frame more.
void wait_off_stack(channel_core* c, void* transfer, const transfer_ops* ops, const waiter_slot* slot,
                    std::int8_t direction, bool is_exception) {
    scheduler& s = *tls_scheduler;
    tasklet_impl* const self = s.current;
    shared_stack_state& st = *self->shared;
    tasklet_impl* const target = self->next;
    if (is_exception || !ops->nothrow_move || st.has_heap_box || !fits_inline(ops, value_offset(ops) + ops->size))
        [[unlikely]]
        return wait_in_box(c, transfer, ops, slot, direction, is_exception);
    auto* const w = ::new (st.inline_box) channel_waiter{
        .tasklet = self,
        .channel = c,
        .transfer = transfer,
        .direction = direction,
    };
    note_wait(self, transfer, ops, slot, frame_value_place::in_frame);
    // What block_on_records throws leaves nothing to undo: the record is not queued, and
    // the slot and frame_value are read only while the tasklet waits on it.
    if ((s.switch_flags & switch_needs_care) || target == self || !target->started) [[unlikely]]
        return block_on_records(s, w, 1);
    park_plainly(s, self, w, target);
}

void evacuate_frame_wait(tasklet_impl* t) noexcept {
    shared_stack_state& st = *t->shared;
    auto* const w = std::launder(reinterpret_cast<channel_waiter*>(st.inline_box));
    void* const value = value_in_box(w, st.wait_ops);
    if (w->direction == sending) st.wait_ops->relocate(value, w->transfer);  // cannot throw: nothrow_move
    w->transfer = value;
    st.frame_value = frame_value_place::in_box;
}

void finish_frame_wait(tasklet_impl* t) noexcept {
    shared_stack_state& st = *t->shared;
    st.frame_value = frame_value_place::none;
    auto* const w = std::launder(reinterpret_cast<channel_waiter*>(st.inline_box));
    const transfer_ops* const ops = st.wait_ops;
    void* const value = value_in_box(w, ops);
    if (w->direction == receiving) {
        // No value came if the wait ended without one (a kill, a throw, send_exception:
        // each clears transfer).
        if (w->transfer == nullptr) return;
        ops->relocate(st.wait_transfer, value);  // cannot throw: nothrow_move
    }
    ops->destroy(value);  // what a receiver left of the send's value, the value itself if none took it, or what was moved from
}

namespace {

// One allocation: the select_wait, the index a partner writes, the records, then each
// case's value slot at its own alignment.
class select_box {
public:
    select_box(const select_case* cases, std::uint32_t count) {
        std::size_t at = round_up(sizeof(header), alignof(channel_waiter));
        const std::size_t records_at = at;
        at += sizeof(channel_waiter) * count;
        align_ = alignof(header) > alignof(channel_waiter) ? alignof(header) : alignof(channel_waiter);
        offsets_.reserve(count);
        for (std::uint32_t i = 0; i < count; ++i) {
            const transfer_ops* ops = cases[i].ops;
            at = round_up(at, ops->align);
            offsets_.push_back(at);
            at += ops->size;
            if (ops->align > align_) align_ = ops->align;
        }
        memory_ = static_cast<std::byte*>(::operator new(at, std::align_val_t{align_}));
        head_ = ::new (memory_) header{};
        records_ = reinterpret_cast<channel_waiter*>(memory_ + records_at);
        for (std::uint32_t i = 0; i < count; ++i) ::new (&records_[i]) channel_waiter{};
    }
    ~select_box() { ::operator delete(memory_, std::align_val_t{align_}); }
    select_box(const select_box&) = delete;
    select_box& operator=(const select_box&) = delete;

    select_wait& wait() noexcept { return head_->wait; }
    std::uint32_t& chosen() noexcept { return head_->chosen; }
    channel_waiter* records() noexcept { return records_; }
    void* slot(std::uint32_t i) noexcept { return memory_ + offsets_[i]; }

private:
    struct header {
        select_wait wait;
        std::uint32_t chosen = select_none;
    };
    static std::size_t round_up(std::size_t n, std::size_t a) noexcept { return (n + a - 1) / a * a; }
    std::size_t align_ = 0;
    std::vector<std::size_t> offsets_;
    std::byte* memory_ = nullptr;
    header* head_ = nullptr;
    channel_waiter* records_ = nullptr;
};

}  // namespace

void select_off_stack(scheduler& s, const select_case* cases, std::uint32_t count, select_outcome& out) {
    for (std::uint32_t i = 0; i < count; ++i)
        if (cases[i].direction == sending && !cases[i].ops->nothrow_move)
            throw state_error(
                "tasklets: a select that waits in a shared-stack tasklet moves its send values off the stack and "
                "back, and this send case's type has a move constructor that may throw; make it noexcept, or give "
                "this tasklet stack_mode::dedicated (docs/shared-stacks.md)");
    select_box box(cases, count);  // may throw: nothing changed yet
    tasklet_impl* self = s.current;
    select_wait& wait = box.wait();
    wait.waiters = box.records();
    wait.count = count;
    wait.chosen = &box.chosen();
    for (std::uint32_t i = 0; i < count; ++i) {
        channel_waiter& w = box.records()[i];
        w.tasklet = self;
        w.channel = cases[i].channel;
        w.transfer = box.slot(i);
        w.direction = cases[i].direction;
        w.case_index = i;
        w.select = &wait;
        w.unusual = true;
        if (cases[i].direction == sending) cases[i].ops->relocate(box.slot(i), cases[i].transfer);  // cannot throw
    }
    // Whatever ends the wait: the chosen case's value goes where the caller reads it, and
    // every send value a receiver did not take goes back to its case.
    auto settle = [&]() noexcept {
        const std::uint32_t chosen = box.chosen();
        if (chosen != select_none) out.index = chosen;
        for (std::uint32_t i = 0; i < count; ++i) {
            const transfer_ops* ops = cases[i].ops;
            if (cases[i].direction == sending) {
                if (i != chosen) {
                    ops->destroy(cases[i].transfer);  // moved from, above
                    ops->relocate(cases[i].transfer, box.slot(i));
                }
                ops->destroy(box.slot(i));  // the value moved back, or what the receiver left
            } else if (i == chosen) {
                // A partner's hand-off chose it, so its value is here (send_exception
                // chooses no case). The move may throw only for a type whose move can.
                try {
                    ops->relocate(cases[i].transfer, box.slot(i));
                } catch (...) {
                    out.index = select_none;
                }
                ops->destroy(box.slot(i));
            }
        }
    };
    try {
        block_on_records(s, box.records(), count);
    } catch (...) {
        settle();
        throw;
    }
    settle();
}

}  // namespace tasklets::detail
