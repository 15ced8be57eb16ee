# tasklets_gdb.py — gdb commands for programs that use tasklets.
#
#   info tasklets            one line per tasklet of the selected thread: id, name, state
#                            (running, runnable, blocked on which channel, paused, ...),
#                            stack size, depth now, high-water mark
#   tasklet bt ID|NAME|all [bt options]
#                            backtrace of a parked tasklet, unwound from its saved context
#   tasklet frame ID|NAME    look at a parked tasklet's frames: frame #1 and up are the
#                            tasklet's (select them with `frame N`, `up`, `info locals`, ...)
#   tasklet restore          back to the thread's real frames (also automatic on resume)
#
# Loading: gdb auto-loads this file next to a shared libtasklets (installed as
# <prefix>/share/gdb/auto-load/<libdir>/libtasklets.so.<version>-gdb.py); with a static
# link, `source <prefix>/share/tasklets/gdb/tasklets_gdb.py` (see README, "Debugging with gdb").
#
# How it reads the program: the control blocks and the scheduler through debug information
# (fields by name: libtasklets must be built with -g, as RelWithDebInfo and Debug are), the
# per-thread scheduler from the thread-local tasklets::detail::tls_scheduler, and the frame
# of a suspended context from the table `tasklets_debug_info` in the library (made from
# the port's frame header), so a change of field order or frame layout needs no change here.
#
# Viewing a tasklet's frames needs no register writes (so it works on core files too): a
# Python unwinder, while a tasklet is selected, says that the thread's innermost frame (#0)
# was called by the tasklet's resume point, with the registers saved in its context. #0
# stays the thread's real position; everything older is the tasklet's stack.
#
# A shared-stack tasklet (stack_mode::shared) whose frames are copied out of its execution
# stack has them in a heap buffer, and another tasklet's frames at their addresses. To
# unwind it in a live process, its frames are written back in place for as long as they
# are shown, and the other tasklet's bytes restored afterwards (and before the program
# resumes). A core file cannot be written to, so there it says so.

import os
import re
import sys

import gdb
import gdb.unwinder

_KIB = 1024

# Registers restored from a suspended context, per architecture: gdb register name ->
# frame-table slot. "pc" and "sp" are special (resume address; saved sp + frame size).
_ARCH_REGS = {
    "x86_64": {
        "pc": "rip", "sp": "rsp",
        "saved": {"rbp": "TASKLETS_FRAME_RBP", "rbx": "TASKLETS_FRAME_RBX", "r12": "TASKLETS_FRAME_R12",
                  "r13": "TASKLETS_FRAME_R13", "r14": "TASKLETS_FRAME_R14", "r15": "TASKLETS_FRAME_R15"},
    },
    "aarch64": {
        "pc": "pc", "sp": "sp",
        "saved": dict([("x%d" % n, "TASKLETS_FRAME_X%d" % n) for n in range(19, 30)] +
                      [("x30", "TASKLETS_FRAME_RESUME")]),
    },
    "riscv64": {
        "pc": "pc", "sp": "sp",
        "saved": dict([("s%d" % n, "TASKLETS_FRAME_S%d" % n) for n in range(0, 12)] + [("ra", "TASKLETS_FRAME_RA")]),
    },
    "i386": {
        "pc": "eip", "sp": "esp",
        "saved": {"ebp": "TASKLETS_FRAME_EBP", "ebx": "TASKLETS_FRAME_EBX", "esi": "TASKLETS_FRAME_ESI",
                  "edi": "TASKLETS_FRAME_EDI"},
    },
    # gdb names the s390x PC pswa (the PSW's address half) and has no register called sp.
    "s390x": {
        "pc": "pswa", "sp": "r15",
        "saved": dict([("r%d" % n, "TASKLETS_FRAME_R%d" % n) for n in range(6, 15)]),
    },
    "armhf": {
        "pc": "pc", "sp": "sp",
        "saved": dict([("r%d" % n, "TASKLETS_FRAME_R%d" % n) for n in range(4, 12)] + [("lr", "TASKLETS_FRAME_RESUME")]),
    },
    # ppc64le: gdb's sp is r1. frame_ppc64le.h names the first slot of each run of saved
    # registers (the switch stores them with .irp loops), so the others are (slot, offset).
    "ppc64le": {
        "pc": "pc", "sp": "r1",
        "saved": dict([("r2", "TASKLETS_FRAME_R2"), ("lr", "TASKLETS_FRAME_LR")] +
                      [("r%d" % n, ("TASKLETS_FRAME_R14", 8 * (n - 14))) for n in range(14, 32)]),
    },
    # gdb calls $30 s8 on MIPS; gp is callee-saved in n64, and ra also holds the resume address.
    "mips64el": {
        "pc": "pc", "sp": "sp",
        "saved": dict([("s%d" % n, "TASKLETS_FRAME_S%d" % n) for n in range(0, 8)] +
                      [("s8", "TASKLETS_FRAME_FP"), ("gp", "TASKLETS_FRAME_GP"), ("ra", "TASKLETS_FRAME_RA")]),
    },
}
_RESUME_SLOT = {"x86_64": "TASKLETS_FRAME_RESUME", "aarch64": "TASKLETS_FRAME_RESUME", "riscv64": "TASKLETS_FRAME_RA",
                "i386": "TASKLETS_FRAME_RESUME", "s390x": "TASKLETS_FRAME_R14", "armhf": "TASKLETS_FRAME_RESUME",
                "ppc64le": "TASKLETS_FRAME_LR", "mips64el": "TASKLETS_FRAME_RA"}


class _Error(gdb.GdbError):
    pass


_CORE_HINT = ("; if this is a core file, it may lack the tasklet stacks: gdb's gcore cannot read stacks "
              "guarded by madvise(MADV_GUARD_INSTALL) (run with TASKLETS_STACK_GUARD=mprotect before gcore); "
              "the kernel's own core dumps include them")


# ---- reading the program ----------------------------------------------------------------------
def _eval_cxx(expr):
    """Evaluates a C++ expression whatever the selected frame's language (a crash stops in
    C code, e.g. in abort(), where `::` does not parse)."""
    language = gdb.parameter("language")
    if language in ("c++", None):
        return gdb.parse_and_eval(expr)
    gdb.execute("set language c++", to_string=True)
    try:
        return gdb.parse_and_eval(expr)
    finally:
        gdb.execute("set language %s" % language, to_string=True)


def _scheduler():
    """The selected thread's scheduler (a gdb.Value of type scheduler), or None."""
    try:
        ptr = _eval_cxx("tasklets::detail::tls_scheduler")
    except gdb.error as e:
        raise _Error("tasklets: cannot read tasklets::detail::tls_scheduler (%s). Is the program linked with "
                     "libtasklets, built with debug information (-g), and is a thread selected?" % e)
    if int(ptr) == 0:
        return None
    return ptr.dereference()


def _frame_table():
    try:
        info = gdb.parse_and_eval("tasklets_debug_info")
    except gdb.error as e:
        raise _Error("tasklets: the table tasklets_debug_info is missing from the program (%s); it is linked "
                     "in by -Wl,--undefined=tasklets_debug_info, which tasklets::tasklets and tasklets.pc add" % e)
    arch = info["arch"].string()
    slots = {}
    slot = info["frame"]
    while int(slot["name"]) != 0:
        slots[slot["name"].string()] = int(slot["offset"])
        slot += 1
    return arch, slots


def _tasklets(sched):
    """Every control block of the thread, by id."""
    out = []
    seen = set()
    t = sched["all"]
    while int(t) != 0 and int(t) not in seen and len(seen) < 10000000:
        seen.add(int(t))
        out.append(t.dereference())
        t = t["all_next"]
    out.sort(key=lambda x: int(x["id"]))
    return out


def _has_field(value, name):
    return any(f.name == name for f in value.type.strip_typedefs().fields())


def _name(t):
    try:
        if _has_field(t, "extras"):  # the name lives in the tasklet's extras, made when it is named
            extras = t["extras"]
            return extras.dereference()["name"].string() if int(extras) != 0 and int(extras.dereference()["name"]) != 0 else ""
        v = t["name"]
        if v.type.strip_typedefs().code == gdb.TYPE_CODE_PTR:  # char*, null when unnamed
            return v.string() if int(v) != 0 else ""
        return _std_string(v)  # libraries before 0.1 kept a std::string
    except gdb.error:
        return "?"


def _std_string(v):
    # libstdc++'s std::string: _M_dataplus._M_p and _M_string_length.
    try:
        return v["_M_dataplus"]["_M_p"].string(length=int(v["_M_string_length"]))
    except gdb.error:
        s = str(v)
        return s[1:-1] if s.startswith('"') else s


def _word(addr):
    """A register-sized word of the program (8 bytes, 4 on i386 and armhf), as saved in a context frame.
    Read as a pointer-typed value, so gdb applies the program's byte order (s390x is
    big-endian; decoding the raw bytes as little-endian read every s390x slot wrongly)."""
    word = gdb.lookup_type("void").pointer()
    return int(gdb.Value(addr).cast(word.pointer()).dereference())


def _pending(t):
    try:
        return int(t["pending"]["_M_exception_object"]) != 0
    except gdb.error:
        return False


def _field_nonzero(value, name):
    """A pointer field that older libraries may not have."""
    try:
        return int(value[name]) != 0
    except gdb.error:
        return False


def _select_count(t):
    """How many cases a tasklet blocked in a select waits on (0: not in a select)."""
    try:
        waiters = t["waiters"]
        if int(waiters) == 0:
            return 0
        wait = waiters.dereference()["select"]
        return int(wait.dereference()["count"]) if int(wait) != 0 else 0
    except gdb.error:
        return 0


def _state(sched, t):
    if not bool(t["alive"]):
        return "dead"
    if int(t.address) == int(sched["current"]):
        return "running"
    words = []
    # Blocked on channels: the waiter record (a select's first) names channel and direction.
    waiter = t["waiters"]
    chan = int(waiter.dereference()["channel"]) if int(waiter) != 0 else 0
    selecting = _select_count(t) if chan != 0 else 0
    if selecting:
        words.append("blocked in select on %d channels" % selecting)
    elif chan != 0:
        direction = int(waiter.dereference()["direction"])
        verb = "sending" if direction > 0 else "receiving" if direction < 0 else "blocked"
        words.append("blocked %s on channel 0x%x" % (verb, chan))
        try:
            core = waiter.dereference()["channel"].dereference()
            waiting = abs(int(core["balance"]))
            words.append("(%d waiting)" % waiting)
        except gdb.error:
            pass
    elif _field_nonzero(t, "event"):
        words.append("blocked waiting for a timer or I/O")
    elif bool(t["in_ring"]):
        words.append("runnable")
        if not bool(t["started"]):
            words.append("(not started)")
        elif bool(t["awaiting_entry"]):
            words.append("(not yet entered)")
    elif bool(t["waiting_in_run"]):
        words.append("waiting in run()")
    else:
        words.append("paused")
    if _shared_out(t) and not bool(t["awaiting_entry"]):
        words.append("[frames copied out]")
    if _pending(t):
        words.append("[exception pending]")
    return " ".join(words)


def _is_shared(t):
    return _has_field(t, "stack_kind") and int(t["stack_kind"]) == 2


def _shared_out(t):
    """A shared-stack tasklet whose frames are copied out (or not made yet)."""
    return _is_shared(t) and int(t["shared"]) != 0 and bool(t["shared"].dereference()["out"])


def _shared_kept(t):
    """A shared-stack tasklet whose execution stack is kept: out of the rotation since a
    tasklet copied out of it had outgrown shared_stack_limit() (core/shared_stacks.cpp)."""
    try:
        st = t["shared"]
        if int(st) == 0 or int(st.dereference()["stack"]) == 0:
            return False
        stack = st.dereference()["stack"].dereference()
        return _has_field(stack, "kept") and bool(stack["kept"])
    except gdb.error:
        return False


def _stack_start(t):
    """Where the first frame begins: below the top by the stack's slot offset (stack_region::start)."""
    base, size, index = int(t["stack"]["base"]), int(t["stack"]["size"]), int(t["stack"]["index"])
    return base + size - (index % 16) * 64


def _unkept_top():
    """The bytes at the top of a shared-stack tasklet's live part that copies leave on the
    execution stack (core/shared_stacks.cpp, unkept_top)."""
    try:
        return int(gdb.parse_and_eval("*(unsigned long *) &tasklets_shared_unkept_top"))
    except gdb.error:
        return 0  # a library from before 2026-12-06 copied every byte


def _skipped_slot(st):
    """The waiter slot a copy left out of the buffer, in bytes (0: none)."""
    return gdb.lookup_type("tasklets::detail::waiter_slot").sizeof if int(st["hole"]) else 0


def _resident_sp(t):
    """An out shared-stack tasklet's real stack pointer: below the top by the bytes left in
    place, the bytes its buffer keeps, and the waiter slot the copy left out, if `hole`
    says it left one out (core/shared_stacks.cpp, resident_sp)."""
    st = t["shared"].dereference()
    return _stack_start(t) - _unkept_top() - int(st["saved_size"]) - _skipped_slot(st)


def _shared_depth(sched, t):
    if int(t["shared"]) == 0 or bool(t["awaiting_entry"]):
        return None
    if _shared_out(t):
        return _stack_start(t) - _resident_sp(t)
    sp = _current_sp() if int(t.address) == int(sched["current"]) else int(t["sp"])
    return None if sp is None else _stack_start(t) - sp


_patch = None  # (address, the bytes it held) while a copied-out tasklet's frames are shown in place


def _unpatch():
    global _patch
    if _patch is not None:
        address, original = _patch
        _patch = None
        gdb.selected_inferior().write_memory(address, original)


def _patch_in(t):
    """Writes a copied-out shared-stack tasklet's frames back at their addresses; returns its sp."""
    global _patch
    _unpatch()
    st = t["shared"].dereference()
    sp, kept, saved = _resident_sp(t), int(st["saved_size"]), int(st["saved"])
    # The copied part runs from sp to the bytes left in place at the top; a channel wait's
    # unused waiter slot, `hole` bytes below the top, may have been left out of the buffer
    # (kept < n: core/shared_stacks.cpp).
    n = kept + _skipped_slot(st)
    inferior = gdb.selected_inferior()
    try:
        original = bytes(inferior.read_memory(sp, n))
        frames = bytes(inferior.read_memory(saved, kept))
        if kept < n:
            hole = _stack_start(t) - int(st["hole"])
            below = hole - sp
            inferior.write_memory(sp, frames[:below])
            inferior.write_memory(hole + (n - kept), frames[below:])
        else:
            inferior.write_memory(sp, frames)
    except gdb.error as e:
        raise _Error("tasklets: tasklet %d's frames are copied out of its shared stack, and cannot be put back "
                     "in place to unwind them here (%s): a live process is needed" % (int(t["id"]), e))
    _patch = (sp, original)
    return sp


def _stack_range(t):
    if bool(t["is_main"]) or not bool(t["started"]) or _is_shared(t):
        return None
    base = int(t["stack"]["base"])
    size = int(t["stack"]["size"])
    if base == 0 or size == 0:
        return None
    return base, size


def _current_sp():
    try:
        return int(gdb.newest_frame().read_register("sp"))
    except gdb.error:
        return None


def _depth(sched, t, stack):
    base, size = stack
    top = base + size
    if int(t.address) == int(sched["current"]):
        sp = _current_sp()
    else:
        sp = int(t["sp"])
    if sp is None or not (base <= sp <= top):
        return None
    return top - sp


def _native_pid():
    inf = gdb.selected_inferior()
    if inf.pid <= 0:
        return None
    conn = getattr(inf, "connection", None)
    if conn is not None and conn.type != "native":
        return None  # a core file or a remote target: /proc is not the program's
    try:  # older gdbs have no connection type: make sure /proc/<pid> is this program
        exe = os.path.realpath("/proc/%d/exe" % inf.pid)
        prog = inf.progspace.filename
        if prog and os.path.realpath(prog) != exe:
            return None
    except (OSError, AttributeError):
        return None
    return inf.pid


def _high_water(stack):
    """Deepest page of the stack ever touched, from /proc/<pid>/pagemap (present or swapped),
    without calling into the program; None where that cannot be read (core files, remote)."""
    pid = _native_pid()
    if pid is None:
        return None
    base, size = stack
    page = os.sysconf("SC_PAGE_SIZE")
    pages = size // page
    try:
        with open("/proc/%d/pagemap" % pid, "rb") as f:
            f.seek((base // page) * 8)
            data = f.read(pages * 8)
    except OSError:
        return None
    for i in range(len(data) // 8):
        # The kernel writes pagemap entries in its own byte order: that of the machine gdb
        # runs on, which is where this file is read (not necessarily the program's: under
        # qemu-user an s390x program's pagemap comes from the x86-64 kernel).
        entry = int.from_bytes(data[i * 8:i * 8 + 8], sys.byteorder)
        if entry & (3 << 62):  # bit 63 present, bit 62 swapped
            return size - i * page
    return 0


def _fmt_size(n):
    if n is None:
        return "?"
    if n % _KIB == 0:
        return "%dK" % (n // _KIB)
    return "%.1fK" % (n / _KIB)


def _find(sched, spec):
    spec = spec.strip()
    ts = _tasklets(sched)
    if re.fullmatch(r"\d+", spec):
        for t in ts:
            if int(t["id"]) == int(spec):
                return t
        raise _Error("tasklets: no tasklet %s in this thread (see `info tasklets`)" % spec)
    named = [t for t in ts if _name(t) == spec]
    if len(named) == 1:
        return named[0]
    if not named:
        raise _Error("tasklets: no tasklet named \"%s\" in this thread (see `info tasklets`)" % spec)
    raise _Error("tasklets: %d tasklets are named \"%s\"; give an id" % (len(named), spec))


def _context_registers(sched, t):
    """gdb register name -> value for a parked tasklet's resume point."""
    tid = int(t["id"])
    if int(t.address) == int(sched["current"]):
        raise _Error("tasklets: tasklet %d is running: its frames are the thread's own (use `bt`)" % tid)
    if not bool(t["alive"]):
        raise _Error("tasklets: tasklet %d has ended; it has no frames" % tid)
    if not bool(t["started"]):
        raise _Error("tasklets: tasklet %d has not started yet; it has no frames" % tid)
    if bool(t["awaiting_entry"]):
        raise _Error("tasklets: tasklet %d has a stack but has not been entered yet; it has no frames" % tid)
    arch, slots = _frame_table()
    regs = _ARCH_REGS.get(arch)
    if regs is None:
        raise _Error("tasklets: no register map for architecture %s" % arch)
    sp = _patch_in(t) if _shared_out(t) else int(t["sp"])
    try:
        resume = _word(sp + slots[_RESUME_SLOT[arch]])
        values = {regs["pc"]: resume, regs["sp"]: sp + slots["TASKLETS_FRAME_SIZE"]}
        for reg, slot in regs["saved"].items():
            name, offset = slot if isinstance(slot, tuple) else (slot, 0)
            values[reg] = _word(sp + slots[name] + offset)
    except gdb.MemoryError as e:
        raise _Error("tasklets: cannot read tasklet %d's saved context at 0x%x (%s)%s" % (tid, sp, e, _CORE_HINT))
    if resume == 0:
        raise _Error("tasklets: tasklet %d's saved context at 0x%x reads as zeros%s" % (tid, sp, _CORE_HINT))
    return values, sp


# ---- the unwinder that shows a parked tasklet's frames -------------------------------------------
class _View(object):
    def __init__(self, tid, name, ptid, registers, context_sp):
        self.tid = tid
        self.name = name
        self.ptid = ptid
        self.registers = registers
        self.context_sp = context_sp


class _FrameId(object):
    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


class _TaskletUnwinder(gdb.unwinder.Unwinder):
    def __init__(self):
        super(_TaskletUnwinder, self).__init__("tasklets")
        self.view = None

    def __call__(self, pending_frame):
        view = self.view
        if view is None or pending_frame.level() != 0:
            return None
        thread = gdb.selected_thread()
        if thread is None or thread.ptid != view.ptid:
            return None
        pc = pending_frame.read_register("pc")
        # Frame #0's id uses the context's stack pointer, below every frame of the tasklet,
        # so that gdb sees the tasklet's frames as outer to #0 wherever its stack lies.
        sp_type = pending_frame.read_register("sp").type
        info = pending_frame.create_unwind_info(_FrameId(gdb.Value(view.context_sp).cast(sp_type), pc))
        for reg, value in view.registers.items():
            info.add_saved_register(reg, gdb.Value(value).cast(pending_frame.read_register(reg).type))
        return info


_unwinder = _TaskletUnwinder()


def _install_unwinder():
    # Replace an instance left by an earlier `source` of this file.
    for u in list(gdb.frame_unwinders):
        if getattr(u, "name", None) == "tasklets":
            gdb.frame_unwinders.remove(u)
    gdb.unwinder.register_unwinder(None, _unwinder, replace=True)


def _select(t, sched):
    registers, context_sp = _context_registers(sched, t)
    _unwinder.view = _View(int(t["id"]), _name(t), gdb.selected_thread().ptid, registers, context_sp)
    gdb.invalidate_cached_frames()


def _restore():
    was = _unwinder.view
    _unwinder.view = None
    _unpatch()
    gdb.invalidate_cached_frames()
    return was


def _on_resume(_event):
    if _unwinder.view is not None:
        _restore()


# ---- commands ------------------------------------------------------------------------------
class InfoTasklets(gdb.Command):
    """List the tasklets of the selected thread.
Usage: info tasklets
One line per tasklet: id, name, state, stack size, depth now (top of stack down to the
stack pointer or saved context) and high-water mark (deepest page of the stack ever
touched; '?' on core files and remote targets). '*' marks the running tasklet. Stacks
are pooled, so the high-water mark can include a previous tasklet's use of the same stack
(see tasklets/debug.hpp). A shared-stack tasklet shows "shared" for its stack ("shared,
kept" once a tasklet that outgrew shared_stack_limit() kept that execution stack), the bytes of
its frames (copied out or in place) for its depth, and "[frames copied out]" in its state
while they are in its buffer. For every thread: thread apply all info tasklets"""

    def __init__(self):
        super(InfoTasklets, self).__init__("info tasklets", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        sched = _scheduler()
        if sched is None:
            gdb.write("This thread has not used tasklets.\n")
            return
        rows = []
        for t in _tasklets(sched):
            stack = _stack_range(t)
            if bool(t["is_main"]):
                size, depth, high = "thread", "-", "-"
            elif _is_shared(t):
                size = "shared, kept" if _shared_kept(t) else "shared"
                depth, high = _fmt_size(_shared_depth(sched, t)), "-"
            elif stack is None:
                size, depth, high = _fmt_size(int(t["stack"]["size"])), "-", "-"
            else:
                size = _fmt_size(stack[1])
                depth = _fmt_size(_depth(sched, t, stack))
                high = _fmt_size(_high_water(stack))
            mark = "*" if int(t.address) == int(sched["current"]) else " "
            name = "main" if bool(t["is_main"]) and not _name(t) else _name(t)
            rows.append((mark, str(int(t["id"])), name, _state(sched, t), size, depth, high))
        head = (" ", "Id", "Name", "State", "Stack", "Depth", "High-water")
        widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
        fmt = "%s %*s  %-*s  %-*s  %*s  %*s  %*s\n"
        for r in [head] + rows:
            gdb.write(fmt % (r[0], widths[1], r[1], widths[2], r[2], widths[3], r[3], widths[4], r[4],
                             widths[5], r[5], widths[6], r[6]))


class TaskletPrefix(gdb.Command):
    """Commands for tasklets: tasklet bt, tasklet frame, tasklet restore. See also info tasklets."""

    def __init__(self):
        super(TaskletPrefix, self).__init__("tasklet", gdb.COMMAND_STACK, gdb.COMPLETE_NONE, True)


def _backtrace_of(sched, t, bt_args):
    tid = int(t["id"])
    header = "tasklet %d \"%s\": %s" % (tid, _name(t), _state(sched, t))
    if int(t.address) == int(sched["current"]):
        gdb.write(header + " (the thread's own frames)\n")
        gdb.execute("bt " + bt_args)
        return
    previous = _restore()
    _select(t, sched)
    try:
        text = gdb.execute("bt " + bt_args, to_string=True)
    finally:
        _restore()
        if previous is not None:  # shown again as before (a copied-out one put back in place again)
            _select(_find(sched, str(previous.tid)), sched)
    # Drop frame #0 (the thread's real position, not the tasklet's), and the null return
    # address that ends every tasklet's stack (gdb shows it as a frame at 0x0, then fails
    # to unwind past it).
    lines = text.splitlines(True)
    start = next((i for i, l in enumerate(lines) if re.match(r"#[1-9]", l)), len(lines))
    kept = []
    for line in lines[start:]:
        if re.match(r"#\d+\s+0x0+ in \?\? \(\)\s*$", line):
            kept.append(None)
            continue
        if kept and kept[-1] is None and line.startswith("Backtrace stopped: Cannot access memory"):
            continue
        kept.append(line)
    gdb.write(header + "\n")
    gdb.write("".join(l for l in kept if l is not None))


class TaskletBt(gdb.Command):
    """Backtrace of a parked tasklet, unwound from its saved context.
Usage: tasklet bt ID|NAME|all [backtrace options, e.g. full, -10]
Frame numbers start at #1, as in `tasklet frame` (#0 is the thread's real position)."""

    def __init__(self):
        super(TaskletBt, self).__init__("tasklet bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        words = arg.split(None, 1)
        if not words:
            raise _Error("usage: tasklet bt ID|NAME|all [backtrace options]")
        bt_args = words[1] if len(words) > 1 else ""
        sched = _scheduler()
        if sched is None:
            raise _Error("tasklets: this thread has not used tasklets")
        if words[0] == "all":
            for t in _tasklets(sched):
                try:
                    _backtrace_of(sched, t, bt_args)
                except gdb.GdbError as e:
                    gdb.write("%s\n" % e)
                gdb.write("\n")
            return
        _backtrace_of(sched, _find(sched, words[0]), bt_args)


class TaskletFrame(gdb.Command):
    """Show a parked tasklet's frames until `tasklet restore` (or until the program resumes).
Usage: tasklet frame ID|NAME
Frame #1 and older are the tasklet's: `bt`, `frame N`, `up`, `down`, `info locals`, `print`
work on them. #0 stays the thread's real position. No register is written."""

    def __init__(self):
        super(TaskletFrame, self).__init__("tasklet frame", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        if not arg.strip():
            view = _unwinder.view
            gdb.write("Showing tasklet %d \"%s\".\n" % (view.tid, view.name) if view else
                      "Showing the thread's own frames.\n")
            return
        sched = _scheduler()
        if sched is None:
            raise _Error("tasklets: this thread has not used tasklets")
        t = _find(sched, arg)
        if int(t.address) == int(sched["current"]):
            _restore()
            gdb.write("Tasklet %d is running: these are the thread's own frames.\n" % int(t["id"]))
            gdb.execute("frame 0")
            return
        _select(t, sched)
        gdb.write("Showing tasklet %d \"%s\" (%s) from frame #1; `tasklet restore` goes back.\n"
                  % (int(t["id"]), _name(t), _state(sched, t)))
        gdb.execute("frame 1")


class TaskletRestore(gdb.Command):
    """Go back to the thread's real frames after `tasklet frame`.
Usage: tasklet restore"""

    def __init__(self):
        super(TaskletRestore, self).__init__("tasklet restore", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        was = _restore()
        gdb.write("Back to the thread's own frames%s.\n" % (" (was showing tasklet %d)" % was.tid if was else ""))
        gdb.execute("frame 0")


_install_unwinder()
# Loaded twice (auto-load and `source`, or a reload): the newest copy's handler wins.
if getattr(gdb, "_tasklets_gdb_on_resume", None) is not None:
    gdb.events.cont.disconnect(gdb._tasklets_gdb_on_resume)
gdb.events.cont.connect(_on_resume)
gdb._tasklets_gdb_on_resume = _on_resume
InfoTasklets()
TaskletPrefix()
TaskletBt()
TaskletFrame()
TaskletRestore()
