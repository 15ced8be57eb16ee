#!/usr/bin/env python3
"""Renders a tasklets_bench run into bench/results/latest.md and latest.png.

Inputs, all in the results directory (only the first is required):
  latest.json      Google Benchmark JSON (with repetitions and their aggregates)
  memory.jsonl     one JSON object per `tasklets_bench --park NAME 100000` process
  million.jsonl    the same for the 1,000,000 attempts (with exit status and last progress)
  ten_million.jsonl  the same for the 10,000,000 shared-stack attempt
  callgrind.json   bench/callgrind.sh's instruction counts
  machine.json     date, CPU, compiler... written by bench/run.sh
  commands.txt     the exact commands of the run
Uses only the standard library; the chart is drawn by gnuplot (Debian: gnuplot-nox).
"""
import json
import re
import os
import statistics
import subprocess
import sys

results = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "results")


def load(name, default=None):
    path = os.path.join(results, name)
    if not os.path.exists(path):
        return default
    with open(path) as f:
        if name.endswith(".jsonl"):
            return [json.loads(line) for line in f if line.strip().startswith("{")]
        return json.load(f)


gb = load("latest.json")
memory = load("memory.jsonl", [])
million = load("million.jsonl", [])
ten_million = load("ten_million.jsonl", [])
callgrind = load("callgrind.json", [])
machine = load("machine.json", {})
commands = ""
if os.path.exists(os.path.join(results, "commands.txt")):
    commands = open(os.path.join(results, "commands.txt")).read().strip()


def split_name(run_name):
    """'spawn_join/tasklets/real_time' -> ('spawn_join', 'tasklets')."""
    parts = run_name.split("/")
    return parts[0], parts[1] if len(parts) > 1 else ""


def fmt_ns(ns):
    if ns is None:
        return "–"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    if ns >= 100:
        return f"{ns:.0f} ns"
    return f"{ns:.2f} ns"


def to_ns(value, unit):
    return value * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]


# ---- timings: median, min and cv of the repetitions, per benchmark ---------------------
rows = {}  # run_name -> dict
order = []
for b in (gb or {}).get("benchmarks", []):
    name = b.get("run_name", b["name"])
    if name not in rows:
        rows[name] = {"reps": [], "label": b.get("label", "")}
        order.append(name)
    if b.get("run_type") == "aggregate":
        if b.get("aggregate_name") == "median":
            rows[name]["median"] = to_ns(b["real_time"], b["time_unit"])
            rows[name]["cpu"] = to_ns(b["cpu_time"], b["time_unit"])
        elif b.get("aggregate_name") == "cv":
            rows[name]["cv"] = b["real_time"]
    elif "error_occurred" not in b or not b["error_occurred"]:
        rows[name]["reps"].append(to_ns(b["real_time"], b["time_unit"]))
        rows[name].setdefault("cpus", []).append(to_ns(b["cpu_time"], b["time_unit"]))
    else:
        rows[name]["error"] = b.get("error_message", "error")
for r in rows.values():
    if "median" not in r and r["reps"]:
        r["median"] = statistics.median(r["reps"])
        r["cpu"] = statistics.median(r["cpus"])

workload_order = ["switch", "switch_framed", "schedule", "pingpong", "ring", "ring_raw", "spawn_join", "skynet",
                  "xpingpong", "fanin", "imbalance", "spawn_migratable", "move"]
workload_title = {
    "switch": "switch — raw context A→B→A round trip",
    "switch_framed": "switch_framed — the same, each side switching from a function of its own",
    "schedule": "schedule — scheduler yield round trip, two tasklets/fibers",
    "pingpong": "pingpong — two channels of int, round trip",
    "ring": "ring — 503-node thread-ring, per hop",
    "ring_raw": ("ring_raw — 503 raw contexts, one bare switch per hop, no channel or scheduler: the floor "
                 "under ring (× tasklets is against ring/tasklets)"),
    "spawn_join": "spawn_join — create 100,000, run/join all; per tasklet",
    "skynet": ("skynet — each task spawns 10 children down to 1,000,000 leaves, sums sent back over "
               "channels; per task (1,111,111); not pinned, a process per row, threads as named"),
    "xpingpong": ("xpingpong — round trip between two OS threads on two cores (go_2procs: Go may run both "
                  "goroutines on one thread; go_locked_2threads pins each to its own; spin_2threads: two threads "
                  "that never sleep, the floor under every row, which moves with where the host puts the vCPUs: "
                  "bench/multicore/xpingpong_floor.sh); not pinned, a process per row"),
    "fanin": ("fanin — producers (one per thread, two on one thread) send into one channel, one consumer; "
              "per message; not pinned, a process per row"),
    "imbalance": ("imbalance — 8 tasklets started on one worker of two, 400 slices of ~2 µs each with schedule() "
                  "between; per slice (× is against the fixed row: started tasklets that stay)"),
    "spawn_migratable": ("spawn_migratable — spawn 1,000 tasklets that end at once, then run(); per tasklet "
                         "(× is against the fixed row: what opting in to migration costs a short tasklet)"),
    "move": "move — a migratable tasklet moving itself between two workers with move_to(); per move",
}
by_workload = {}
for name in order:
    w, impl = split_name(name)
    by_workload.setdefault(w, []).append((impl, name))


# Workloads compared with another workload's tasklets row (they have none of their own kind).
reference_workload = {"ring_raw": "ring"}


# Multi-core workloads: each row against the tasklets row with as many threads (a pool's
# workers, Go's procs, Boost.Fiber's threads), the pool's row first where there are two.
multicore_workloads = {"skynet", "xpingpong", "fanin", "imbalance", "spawn_migratable", "move"}


def thread_count(impl):
    m = re.search(r"_(\d+)(?:thread|threads|proc|procs|worker|workers)$", impl)
    return int(m.group(1)) if m else None


def reference_for(w, impl, key="median"):
    if w in multicore_workloads:
        n = thread_count(impl)
        candidates = sorted(("pool" not in i and "workers" not in i, i, name) for i, name in by_workload.get(w, [])
                            if i.startswith("tasklets") and thread_count(i) == n and rows[name].get(key))
        return rows[candidates[0][2]][key] if candidates else None
    return reference(w, key)


def reference(w, key="median"):
    if w in reference_workload:
        for impl, name in by_workload.get(reference_workload[w], []):
            if impl == "tasklets" and rows[name].get(key):
                return rows[name][key]
        return None
    # The plain tasklets row when the workload has one (the counted and traced variants
    # are measured against it), else the first tasklets variant by name.
    candidates = sorted((impl != "tasklets", impl, name) for impl, name in by_workload.get(w, [])
                        if impl.startswith("tasklets") and rows[name].get(key))
    return rows[candidates[0][2]][key] if candidates else None


def median_of(run_prefix, key="cpu"):
    for name in order:
        if name == run_prefix or name.startswith(run_prefix + "/"):
            return rows[name].get(key)
    return None


out = []
emit = out.append
emit("# tasklets benchmark results")
emit("")
if machine:
    emit(f"- **Date:** {machine.get('date', '?')}")
    emit(f"- **Machine:** {machine.get('cpu', '?')}, {machine.get('cpus', '?')} CPUs online, "
         f"Linux {machine.get('kernel', '?')}; {machine.get('virt', '')}")
    emit(f"- **Compiler:** {machine.get('compiler', '?')}, CMake preset `bench` (Release)")
    emit(f"- **Peers:** {machine.get('peers', '?')}")
    emit(f"- **Pinning:** {machine.get('pinning', '?')}; "
         f"{machine.get('repetitions', '?')} repetitions, interleaved at random; "
         f"min time {machine.get('min_time', '?')} s per repetition")
    if machine.get("git"):
        emit(f"- **tasklets commit:** `{machine['git']}`")
    if machine.get("timed_git") and machine.get("timed_git") != machine.get("git"):
        emit(f"- **Timed tables** (kept from an earlier run: this one ran with TIMED=0): measured on "
             f"`{machine['timed_git']}`, {machine.get('timed_date', '?')}; the memory tables are this run's")
    emit("")
emit("Each time is the **median** of the repetitions, per operation, as wall-clock time and "
     "as the process's CPU time (all its threads, user + system: on a shared machine this "
     "leaves out the time other processes took from the pinned core, and is what the goals "
     "below are judged on). *× tasklets* is the row divided by the tasklets row of the same "
     "workload in this run (skynet, xpingpong and fanin: the tasklets row with as many threads; "
     "– where there is none): above 1 means tasklets is faster. *cv* is the coefficient of "
     "variation of the wall times across repetitions (noise).")
emit("")

if rows:
    emit("## Time per operation")
    emit("")
    emit("| workload | implementation | wall | × tasklets | CPU | × tasklets | cv |")
    emit("|---|---|---:|---:|---:|---:|---:|")
    for w in workload_order + sorted(set(by_workload) - set(workload_order)):
        if w not in by_workload:
            continue
        for impl, name in sorted(by_workload[w], key=lambda x: (not x[0].startswith("tasklets"), rows[x[1]].get("cpu") or 0)):
            ref, ref_cpu = reference_for(w, impl), reference_for(w, impl, "cpu")
            r = rows[name]
            med, cpu = r.get("median"), r.get("cpu")
            ratio = f"{med / ref:.2f}×" if (med and ref) else "–"
            ratio_cpu = f"{cpu / ref_cpu:.2f}×" if (cpu and ref_cpu) else "–"
            cv = f"{100 * r['cv']:.1f}%" if "cv" in r else "–"
            label = impl + (" ⚠ " + r["error"] if "error" in r else "")
            emit(f"| {w} | `{label}` | {fmt_ns(med)} | {ratio} | {fmt_ns(cpu)} | {ratio_cpu} | {cv} |")
    emit("")
    emit("Workloads: " + "; ".join(workload_title[w] for w in workload_order if w in by_workload) + ".")
    emit("")

# ---- memory ------------------------------------------------------------------------------
mem = {}
for m in memory:
    mem.setdefault(m["name"], []).append(m)


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


floor_ns = med([m["ns_per_park"] for m in mem.get("fresh_page", []) if m["ok"]])
if mem:
    emit("## Memory — contexts parked at once (a fresh process per run)")
    emit("")
    emit("Each run spawns N contexts that each block (tasklets and Boost.Fiber: on their own "
         "channel; raw contexts: suspended; threads: on their own condition variable) and "
         "reads VmRSS/VmSize from `/proc/self/status` before and after. "
         "`fresh_page` is the floor: one write to each of N fresh anonymous pages, in the same binary. "
         "Medians over runs.")
    emit("")
    emit("| implementation | N | runs | RSS / parked | virtual / parked | time per spawn-and-park | × fresh-page floor | note |")
    emit("|---|---:|---:|---:|---:|---:|---:|---|")
    names = sorted(mem, key=lambda n: (0 if n.startswith("tasklets") else 2 if n.startswith("fresh_page") else 1, n))
    for name in names:
        ms = mem[name]
        ok = [m for m in ms if m["ok"]]
        n = ms[0]["requested"]
        if not ok:
            worst = max(ms, key=lambda m: m["parked"])
            emit(f"| `{name}` | {n:,} | {len(ms)} | – | – | – | – | **failed**: parked {worst['parked']:,}; {worst['note']} |")
            continue
        failed = [m for m in ms if not m["ok"]]
        fail_note = (f"; **{len(failed)} of {len(ms)} runs failed** (parked " +
                     ", ".join(f"{m['parked']:,}" for m in failed) + f": {failed[0]['note']})") if failed else ""
        rss = med([m["rss_bytes_per"] for m in ok])
        vm = med([m["vm_bytes_per"] for m in ok])
        ns = med([m["ns_per_park"] for m in ok])
        x = f"{ns / floor_ns:.2f}×" if floor_ns else "–"
        emit(f"| `{name}` | {n:,} | {len(ok)} | {rss:,.0f} B ({rss / 1024:.2f} KiB) | {vm / 1024:,.1f} KiB | "
             f"{fmt_ns(ns)} | {x} | {ok[0]['note']}{fail_note} |")
    emit("")

def parked_row(m, extra, rss_digits):
    """A table row for one large park attempt: name, parked, succeeded, time, per park, then
    `extra` cells, then RSS per parked (to `rss_digits` decimals), virtual total, exit, note."""
    ok = "yes" if m.get("ok") else "**no**"
    t = f"{m['seconds']:.2f} s" if m.get("seconds") else "–"
    per = fmt_ns(m["ns_per_park"]) if m.get("ns_per_park") else "–"
    rss = f"{m['rss_bytes_per']:,.{rss_digits}f} B" if m.get("rss_bytes_per") else "–"
    vm = f"{m['vm_delta_bytes'] / 2**30:.1f} GiB" if m.get("vm_delta_bytes") else "–"
    cells = [f"`{m['name']}`", f"{m.get('parked', 0):,}", ok, t, per, *extra, rss, vm, str(m.get("exit", "")), m.get("note", "")]
    return "| " + " | ".join(cells) + " |"


million_floor = med([m["ns_per_park"] for m in million if m["name"] == "fresh_page" and m.get("ok")])
if million:
    emit("## 1,000,000 parked, default system settings")
    emit("")
    emit("In the order they ran. On this VM the host backs guest memory lazily, so the first "
         "touch of memory the guest has not used recently is much slower; the fresh-page floor "
         "is therefore measured in the same sequence. *× floor* divides by the median "
         "`fresh_page` time at 1,000,000.")
    emit("")
    emit("| implementation | parked | succeeded | time | per park | × floor | RSS / parked | virtual total | exit | note |")
    emit("|---|---:|---|---:|---:|---:|---:|---:|---|---|")
    for m in million:
        xf = f"{m['ns_per_park'] / million_floor:.2f}×" if (m.get("ns_per_park") and million_floor) else "–"
        emit(parked_row(m, [xf], 0))
    emit("")

if ten_million:
    emit("## 10,000,000 parked on shared stacks, default system settings")
    emit("")
    emit("One process, each tasklet blocked on its own `channel<int>`; RSS includes the control "
         "blocks, the copied-out frames, the channels and the allocator's overhead.")
    emit("")
    emit("| implementation | parked | succeeded | time | per park | RSS / parked | virtual total | exit | note |")
    emit("|---|---:|---|---:|---:|---:|---:|---|---|")
    for m in ten_million:
        emit(parked_row(m, [], 1))
    emit("")

if callgrind:
    emit("## Instructions per operation (callgrind, noise-free)")
    emit("")
    emit("`(Ir(N2) − Ir(N1)) / (N2 − N1)` of whole-program instruction counts under "
         "`valgrind --tool=callgrind`, so set-up cancels; includes the ~3-instruction driver loop. "
         "Kernel work (ucontext's sigprocmask) is not counted.")
    emit("")
    emit("| operation | instructions / op | × tasklets | median CPU time (this run) |")
    emit("|---|---:|---:|---:|")
    cg = {c["name"]: c["instructions_per_op"] for c in callgrind}
    for c in callgrind:
        w, impl = split_name(c["name"])
        ref = next((v for k, v in cg.items() if split_name(k)[0] == w and split_name(k)[1].startswith("tasklets")), None)
        ratio = f"{c['instructions_per_op'] / ref:.2f}×" if ref else "–"
        emit(f"| `{c['name']}` | {c['instructions_per_op']:.1f} | {ratio} | {fmt_ns(median_of(c['name']))} |")
    emit("")

# ---- goals -------------------------------------------------------------------------------
goals = []


def goal(text, measured, met):
    goals.append((text, measured, "✅ met" if met else ("❌ missed" if met is False else "–")))


def both(name):
    """'CPU x (wall y)' of a row."""
    return f"{fmt_ns(median_of(name))} CPU ({fmt_ns(median_of(name, 'median'))} wall)"


t_ctx, t_fc = median_of("switch/tasklets_context"), median_of("switch/boost_fcontext")
if t_ctx and t_fc:
    w_ratio = median_of("switch/tasklets_context", "median") / median_of("switch/boost_fcontext", "median")
    goal("raw switch ≤ 1.0× Boost fcontext",
         f"{both('switch/tasklets_context')} vs {both('switch/boost_fcontext')}: {t_ctx / t_fc:.2f}× CPU, {w_ratio:.2f}× wall",
         t_ctx <= t_fc)
for w, peer, limit in (("schedule", "schedule/boost_fiber_yield", 15), ("pingpong", "pingpong/boost_fiber_unbuffered", 30),
                       ("ring", "ring/boost_fiber", 15)):
    t, p = median_of(f"{w}/tasklets"), median_of(peer)
    if t:
        goal(f"{w} ≤ {limit} ns", both(f"{w}/tasklets"), t <= limit)
        if p:
            pw, tw = median_of(peer, "median"), median_of(f"{w}/tasklets", "median")
            goal(f"{w} ≥ 8× faster than Boost.Fiber (`{split_name(peer)[1]}`)",
                 f"{p / t:.1f}× faster (CPU), {pw / tw:.1f}× (wall)", p / t >= 8)
t, raw = median_of("ring/tasklets"), median_of("ring_raw/tasklets_context_coloured")
if t and raw:
    fc_raw = median_of("ring_raw/boost_fcontext")
    peer = f"; Boost fcontext's bare ring {fmt_ns(fc_raw)}" if fc_raw else ""
    goal("ring: what the floor leaves (not a goal of its own)",
         f"a bare switch round 503 cold contexts (`ring_raw`) costs {fmt_ns(raw)} per hop{peer}: "
         f"the ring's channel and scheduler work adds {fmt_ns(t - raw)}", None)
t = median_of("spawn_join/tasklets")
if t:
    goal("spawn-join ≤ 100 ns per tasklet", both("spawn_join/tasklets"), t <= 100)
tm = [m for m in mem.get("tasklets", []) if m["ok"]]
if tm:
    rss = med([m["rss_bytes_per"] for m in tm])
    goal("≤ 4.3 KiB RSS per parked tasklet", f"{rss / 1024:.2f} KiB", rss <= 4.3 * 1024)
    ns = med([m["ns_per_park"] for m in tm])
    if floor_ns:
        # The floor of the pool's own method: guards batched per slab, a new stack's top
        # page committed by madvise(MADV_POPULATE_WRITE) rather than by a page fault.
        guarded = med([m["ns_per_park"] for m in mem.get("fresh_page_guarded_prefaulted", []) if m["ok"]])
        extra = (f" (the floor of the pool's method, `fresh_page_guarded_prefaulted`, is "
                 f"{guarded / floor_ns:.2f}×; tasklets is {ns / guarded:.2f}× that)") if guarded else ""
        goal("spawn-and-park ≤ 1.3× the fresh-page floor",
             f"{fmt_ns(ns)} vs {fmt_ns(floor_ns)}: {ns / floor_ns:.2f}×{extra}", ns <= 1.3 * floor_ns)
tm1 = [m for m in million if m["name"] == "tasklets"]
if tm1:
    ok1 = [m for m in tm1 if m.get("ok")]
    secs = ", ".join(f"{m['seconds']:.2f} s" for m in ok1)
    goal("1,000,000 parked tasklets, default settings",
         f"{len(ok1)} of {len(tm1)} runs parked all 1,000,000 ({secs})", len(ok1) == len(tm1))
    if ok1 and million_floor:
        ns1 = med([m["ns_per_park"] for m in ok1])
        goal("spawn-and-park ≤ 1.3× the fresh-page floor, at 1,000,000",
             f"{fmt_ns(ns1)} vs {fmt_ns(million_floor)}: {ns1 / million_floor:.2f}×", ns1 <= 1.3 * million_floor)
for m in ten_million:
    goal("issue 16: 10,000,000 shared-stack tasklets parked, ≤ 512 B RSS each",
         f"{m.get('parked', 0):,} parked, {m['rss_bytes_per']:,.1f} B each" if m.get("rss_bytes_per") else "–",
         bool(m.get("ok")) and m.get("rss_bytes_per", 1e9) <= 512)
    goal("issue 16: spawn-and-park of all 10,000,000 ≤ 10 s",
         f"{m['seconds']:.2f} s" if m.get("seconds") else "–", bool(m.get("ok")) and m.get("seconds", 1e9) <= 10)
if goals:
    emit("## Goals (issues 4 and 16), from this run")
    emit("")
    emit("| goal | measured | |")
    emit("|---|---|---|")
    for g in goals:
        emit(f"| {g[0]} | {g[1]} | {g[2]} |")
    emit("")

emit("![time per operation, log scale](latest.png)")
emit("")
if commands:
    emit("## Commands")
    emit("")
    emit("```")
    emit(commands)
    emit("```")
    emit("")

with open(os.path.join(results, "latest.md"), "w") as f:
    f.write("\n".join(out))
print(f"render.py: wrote {os.path.join(results, 'latest.md')}")

# ---- chart -------------------------------------------------------------------------------
bars = []  # (label, ns, colour index)
palette = {"tasklets": 1, "boost": 2, "ucontext": 3, "std": 4, "fresh": 5, "go": 6, "erlang": 6}


def colour(impl):
    for k, v in palette.items():
        if impl.startswith(k):
            return v
    return 6


for w in workload_order + sorted(set(by_workload) - set(workload_order)):
    for impl, name in sorted(by_workload.get(w, []), key=lambda x: (not x[0].startswith("tasklets"), rows[x[1]].get("cpu") or 0)):
        if rows[name].get("cpu"):
            bars.append((f"{w}/{impl}", rows[name]["cpu"], colour(impl)))
for name in sorted(mem, key=lambda n: (0 if n.startswith("tasklets") else 2 if n.startswith("fresh_page") else 1, n)):
    ns = med([m["ns_per_park"] for m in mem[name] if m["ok"]])
    if ns:
        bars.append((f"park/{name}", ns, colour(name)))
if not bars:
    sys.exit(0)
data = os.path.join(results, "latest.dat")
with open(data, "w") as f:
    for i, (label, ns, c) in enumerate(bars):
        short = fmt_ns(ns).replace(" ", "")
        f.write(f'{i} "{label}" {ns:.4f} {c} "{short}"\n')
title = "tasklets vs peers: time per operation (median process CPU time; park rows: wall; log scale; lower is better)"
sub = f"{machine.get('cpu', '')}, {machine.get('compiler', '')}, {machine.get('date', '')}"
script = f"""
set terminal pngcairo noenhanced size 1500,850 font "DejaVu Sans,10"
set output "{os.path.join(results, 'latest.png')}"
set title "{title}\\n{sub}"
set logscale y
set yrange [1:*]
set ylabel "nanoseconds per operation"
set grid ytics mytics
set style fill solid 0.85 border -1
set boxwidth 0.75
set xtics rotate by -50 left font ",9" nomirror
set bmargin 13
set rmargin 16
set key off
set palette maxcolors 6
set linetype 1 lc rgb "#d62728"
set linetype 2 lc rgb "#1f77b4"
set linetype 3 lc rgb "#2ca02c"
set linetype 4 lc rgb "#9467bd"
set linetype 5 lc rgb "#7f7f7f"
set linetype 6 lc rgb "#ff7f0e"
set label 1 "red: tasklets   blue: Boost   green: ucontext   purple: std::thread   grey: fresh-page floor   orange: Go, Erlang" at graph 0.01, graph 0.97 font ",10"
plot "{data}" using 1:3:4:xtic(2) with boxes lc variable, \\
     "" using 1:3:5 with labels offset 0,0.6 font ",7"
"""
subprocess.run(["gnuplot"], input=script, text=True, check=True)
print(f"render.py: wrote {os.path.join(results, 'latest.png')}")
