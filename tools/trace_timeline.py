#!/usr/bin/env python3
"""Renders a tasklets trace (Chrome trace-event JSON, from the trace exporter) to a PNG timeline.

Usage:
  trace_timeline.py TRACE.json OUT.png [--from US] [--to US] [--max-tracks N]
                    [--title TEXT] [--width PX] [--height PX]

Input: the exporter's JSON ({"displayTimeUnit": "ns", "traceEvents": [...]}; times in µs).
Output: one horizontal row per track (pid, tid) — a tasklet on one OS thread — labelled with
its thread_name, ordered by thread_sort_index where present, else by first appearance (and
grouped by pid, process_sort_index first, when there are several OS threads):
  - "X" slices of cat "run": full-height boxes (the tasklet was running);
  - "X" slices of cat "wait": thinner boxes, coloured by kind — channel waits (names starting
    receive/send/select), events (sleep, wait for descriptor), runnable (waiting in the
    ring), paused and anything else;
  - flows ("s" -> "f" with the same id, e.g. a channel hand-off): thin arrows from the
    sender's row at s.ts to the receiver's row at f.ts;
  - "i" instants (spawn, start, finish, kill, ...): small markers at the top of the row, one
    symbol per name, listed in the key.
The x axis is the time since the first event, in ms (µs when the window is under 2 ms).
A slice narrower than a pixel is drawn one pixel wide so that it stays visible.
--from/--to choose a window in µs from the first event; --max-tracks N keeps the N tracks
with most events in that window. Default title: the trace's file name.

Uses only the standard library; the drawing is done by gnuplot (Debian: gnuplot-nox), run
on data files in a temporary directory.
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

# Wait kinds: (key, legend title, colour, name prefixes). The last one takes everything else.
WAIT_KINDS = [
    ("channel", "channel wait (receive / send / select)", "#1f77b4", ("receive", "send", "select")),
    ("event", "event wait (sleep / descriptor)", "#ff7f0e", ("sleep", "wait for descriptor", "descriptor")),
    ("runnable", "runnable (waiting in the ring)", "#e6c619", ("runnable",)),
    ("other", "paused / other wait", "#9a9a9a", ()),
]
RUN_COLOUR = "#2ca02c"
OTHER_SLICE_COLOUR = "#c5b0d5"  # "X" slices of another cat
FLOW_COLOUR = "#303030"
# Instant markers: gnuplot point type and colour; the exporter's names get fixed ones (so a
# symbol means the same in every chart), other names the spare ones in turn.
INSTANT_MARKERS = {
    "spawn": (11, "#000000"), "start": (9, "#d62728"), "finish": (13, "#e377c2"), "kill": (2, "#d62728"),
    "exception thrown in": (7, "#9467bd"), "exception escaped": (6, "#9467bd"),
    "watchdog interruption": (15, "#8c564b"), "watchdog stop": (14, "#8c564b"),
}
SPARE_MARKERS = [(3, "#17becf"), (1, "#000000"), (5, "#17becf"), (8, "#000000"), (12, "#e377c2"), (4, "#d62728")]
RUN_HALF, WAIT_HALF = 0.38, 0.16  # box half-heights, in rows
MAX_LABEL = 36


def fail(message):
    print(f"trace_timeline: {message}", file=sys.stderr)
    sys.exit(1)


def number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def gp_string(text):
    """A gnuplot double-quoted string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def wait_kind(name):
    for key, _, _, prefixes in WAIT_KINDS:
        if name.startswith(prefixes):
            return key
    return "other"


def main():
    parser = argparse.ArgumentParser(prog="trace_timeline.py",
                                     description="Renders a tasklets trace to a PNG timeline (gnuplot).")
    parser.add_argument("trace", help="the trace (Chrome trace-event JSON)")
    parser.add_argument("out", help="the PNG to write")
    parser.add_argument("--from", dest="t_from", type=float, default=None, metavar="US",
                        help="start of the window, µs after the first event")
    parser.add_argument("--to", dest="t_to", type=float, default=None, metavar="US",
                        help="end of the window, µs after the first event")
    parser.add_argument("--max-tracks", type=int, default=None, metavar="N",
                        help="keep the N tracks with most events in the window")
    parser.add_argument("--title", default=None, help="chart title (default: the trace's file name)")
    parser.add_argument("--width", type=int, default=1600, metavar="PX")
    parser.add_argument("--height", type=int, default=None, metavar="PX",
                        help="default: from the number of tracks")
    args = parser.parse_args()

    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        fail("gnuplot not found on PATH (Debian: apt-get install gnuplot-nox)")
    try:
        with open(args.trace, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as err:
        fail(f"cannot read {args.trace}: {err.strerror}")
    except ValueError as err:
        fail(f"{args.trace} is not valid JSON: {err}")
    events = doc.get("traceEvents") if isinstance(doc, dict) else doc if isinstance(doc, list) else None
    if not isinstance(events, list):
        fail(f'{args.trace}: no "traceEvents" list')

    # ---- tracks and their order ----------------------------------------------------------------
    thread_names, thread_sort, process_names, process_sort = {}, {}, {}, {}
    first_seen, pid_first_seen = {}, {}
    timed = []  # non-metadata events with a usable track and ts
    for e in events:
        if not isinstance(e, dict):
            continue
        pid, tid, ph, args_ = e.get("pid"), e.get("tid"), e.get("ph"), e.get("args") or {}
        if not isinstance(args_, dict):
            args_ = {}
        if ph == "M":
            name = e.get("name")
            if name == "thread_name":
                thread_names[(pid, tid)] = str(args_.get("name", ""))
                first_seen.setdefault((pid, tid), len(first_seen))
            elif name == "thread_sort_index" and number(args_.get("sort_index")):
                thread_sort[(pid, tid)] = args_["sort_index"]
            elif name == "process_name":
                process_names[pid] = str(args_.get("name", ""))
            elif name == "process_sort_index" and number(args_.get("sort_index")):
                process_sort[pid] = args_["sort_index"]
            pid_first_seen.setdefault(pid, len(pid_first_seen))
            continue
        if not number(e.get("ts")) or ph not in ("X", "i", "s", "f"):
            continue
        first_seen.setdefault((pid, tid), len(first_seen))
        pid_first_seen.setdefault(pid, len(pid_first_seen))
        timed.append(e)
    if not timed:
        fail(f"{args.trace}: no timed events to draw")

    t0 = min(e["ts"] for e in timed)
    t_last = max(e["ts"] + (e.get("dur") if e.get("ph") == "X" and number(e.get("dur")) else 0) for e in timed)
    lo = args.t_from if args.t_from is not None else 0.0
    hi = args.t_to if args.t_to is not None else t_last - t0
    if hi <= lo:
        if args.t_to is not None or args.t_from is not None:
            fail(f"empty window: --from {lo:g} µs is not before --to {hi:g} µs")
        hi = lo + 1.0  # a trace of one instant
    win_lo, win_hi = t0 + lo, t0 + hi  # absolute µs (events outside are not drawn)
    # Shown range: the window, plus 0.5% of room on a side the user did not choose, so that
    # markers at the first and last event are not cut in half by the border.
    pad = 0.005 * (hi - lo)
    show_lo, show_hi = lo - (pad if args.t_from is None else 0), hi + (pad if args.t_to is None else 0)

    def in_window(e):
        start = e["ts"]
        end = start + (e["dur"] if e["ph"] == "X" and number(e.get("dur")) else 0)
        return end >= win_lo and start <= win_hi

    counts = {}
    for e in timed:
        if in_window(e):
            counts[(e["pid"], e["tid"])] = counts.get((e["pid"], e["tid"]), 0) + 1
    tracks = [t for t in first_seen if counts.get(t)]
    if args.max_tracks is not None:
        if args.max_tracks < 1:
            fail("--max-tracks must be at least 1")
        keep = set(sorted(tracks, key=lambda t: (-counts[t], first_seen[t]))[:args.max_tracks])
        tracks = [t for t in tracks if t in keep]
    if not tracks:
        fail(f"{args.trace}: no events between {lo:g} and {hi:g} µs after the first event")

    def track_order(t):
        pid = t[0]
        pkey = (0, process_sort[pid], pid_first_seen[pid]) if pid in process_sort else (1, 0, pid_first_seen[pid])
        tkey = (0, thread_sort[t], first_seen[t]) if t in thread_sort else (1, 0, first_seen[t])
        return pkey + tkey

    tracks.sort(key=track_order)
    row = {t: i for i, t in enumerate(tracks)}
    several_pids = len({t[0] for t in tracks}) > 1

    def label(t):
        text = thread_names.get(t) or f"tid {t[1]}"
        if len(text) > MAX_LABEL:
            text = text[:MAX_LABEL - 1] + "…"
        if several_pids:
            text += f"  ({process_names.get(t[0]) or f'pid {t[0]}'})"
        return text

    # ---- units and the minimum visible width -------------------------------------------------
    span = hi - lo
    scale, unit = (1000.0, "ms") if span >= 2000 else (1.0, "µs")
    width_px = max(400, args.width)
    plot_px = max(200, width_px - 300)  # roughly: the width minus labels and margins
    min_width = (span / scale) / plot_px  # one pixel, in axis units

    def x(ts):
        return (ts - t0) / scale

    # ---- data --------------------------------------------------------------------------------
    boxes = {"run": [], "slice": []}
    boxes.update({k: [] for k, _, _, _ in WAIT_KINDS})
    instants = {}  # name -> [(x, y)]
    flow_ends = {}  # id -> {"s": event, "f": event}
    for e in timed:
        t = (e["pid"], e["tid"])
        if t not in row:
            continue
        y = row[t]
        if e["ph"] == "X":
            if not in_window(e):
                continue
            start = max(e["ts"], win_lo)
            end = min(e["ts"] + (e["dur"] if number(e.get("dur")) else 0), win_hi)
            x0, x1 = x(start), x(end)
            if x1 - x0 < min_width:
                mid = (x0 + x1) / 2
                x0, x1 = mid - min_width / 2, mid + min_width / 2
            name = str(e.get("name", ""))
            if e.get("cat") == "run":
                kind, half = "run", RUN_HALF
            elif e.get("cat") == "wait":
                kind, half = wait_kind(name), WAIT_HALF
            else:
                kind, half = "slice", WAIT_HALF
            boxes[kind].append(f"{(x0 + x1) / 2:.6f} {y} {x0:.6f} {x1:.6f} {y - half} {y + half}")
        elif e["ph"] == "i":
            if in_window(e):
                instants.setdefault(str(e.get("name", "")), []).append(f"{x(e['ts']):.6f} {y - RUN_HALF}")
        else:
            flow_ends.setdefault(json.dumps(e.get("id")), {})[e["ph"]] = e
    flows = []
    for ends in flow_ends.values():
        s, f = ends.get("s"), ends.get("f")
        if not s or not f or (s["pid"], s["tid"]) not in row or (f["pid"], f["tid"]) not in row:
            continue
        if not (win_lo <= s["ts"] <= win_hi and win_lo <= f["ts"] <= win_hi):
            continue
        ys, yf = row[(s["pid"], s["tid"])], row[(f["pid"], f["tid"])]
        if ys == yf and f["ts"] == s["ts"]:
            continue
        flows.append(f"{x(s['ts']):.6f} {ys} {x(f['ts']) - x(s['ts']):.6f} {yf - ys}")

    # ---- key layout: gnuplot 5.4 drops the entries of a "below" key that do not fit its own
    # row count, so the columns are chosen here (conservatively) and the height leaves room.
    titles = ([legend for key, legend, _, _ in [("run", "running", 0, 0)] + WAIT_KINDS + [("slice", "other slice", 0, 0)]
               if boxes[key]] + (["flow (hand-off)"] if flows else []) + list(instants))
    key_cols = max(1, min(len(titles), (width_px - 80) // (7 * max(len(t) for t in titles) + 70)))
    key_rows = math.ceil(len(titles) / key_cols)
    height_px = args.height or max(360, 150 + 34 * len(tracks) + 18 * key_rows)

    # ---- gnuplot -----------------------------------------------------------------------------
    terminals = subprocess.run([gnuplot, "-e", "set terminal"], capture_output=True, text=True)
    cairo = "pngcairo" in terminals.stdout + terminals.stderr
    if not cairo:
        unit = unit.replace("µ", "u")
    title = args.title if args.title is not None else os.path.basename(args.trace)
    out = os.path.abspath(args.out)
    with tempfile.TemporaryDirectory(prefix="trace_timeline.") as tmp:
        plots = []

        def data(name, lines):
            path = os.path.join(tmp, name + ".dat")
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
            return gp_string(path)

        box_style = "with boxxyerror fs solid 0.9 noborder"
        if boxes["run"]:
            plots.append(f'{data("run", boxes["run"])} using 1:2:3:4:5:6 {box_style} '
                         f'lc rgb "{RUN_COLOUR}" title "running"')
        for key, legend, colour, _ in WAIT_KINDS:
            if boxes[key]:
                plots.append(f'{data(key, boxes[key])} using 1:2:3:4:5:6 {box_style} '
                             f'lc rgb "{colour}" title {gp_string(legend)}')
        if boxes["slice"]:
            plots.append(f'{data("slice", boxes["slice"])} using 1:2:3:4:5:6 {box_style} '
                         f'lc rgb "{OTHER_SLICE_COLOUR}" title "other slice"')
        if flows:
            plots.append(f'{data("flows", flows)} using 1:2:3:4 with vectors head filled size screen 0.005,25 '
                         f'lw 0.8 lc rgb "{FLOW_COLOUR}" title "flow (hand-off)"')
        known = list(INSTANT_MARKERS)
        spare = iter(SPARE_MARKERS * (1 + len(instants) // len(SPARE_MARKERS)))
        for i, (name, points) in enumerate(sorted(instants.items(), key=lambda kv: (
                known.index(kv[0]) if kv[0] in known else len(known), kv[0]))):
            pt, colour = INSTANT_MARKERS.get(name) or next(spare)
            plots.append(f'{data(f"instant{i}", points)} using 1:2 with points pt {pt} ps 1.2 '
                         f'lc rgb "{colour}" title {gp_string(name)}')

        ytics = ", ".join(f"{gp_string(label(t))} {row[t]}" for t in tracks)
        shading = "\n".join(
            f"set object {i + 1} rect from graph 0, first {row[t] - 0.5} to graph 1, first {row[t] + 0.5} "
            f'behind fc rgb "#f2f2f2" fs solid 1.0 noborder'
            for i, t in enumerate(tracks) if row[t] % 2 == 1)
        separators = "\n".join(
            f'set arrow from graph 0, first {row[t] - 0.5} to graph 1, first {row[t] - 0.5} nohead '
            f'dt 2 lw 1 lc rgb "#606060" back'
            for prev, t in zip(tracks, tracks[1:]) if prev[0] != t[0])
        terminal = (f'set terminal pngcairo noenhanced size {width_px},{height_px} font "DejaVu Sans,10"' if cairo
                    else f"set terminal png noenhanced size {width_px},{height_px}")
        script = f"""
{terminal}
set output {gp_string(out)}
set title {gp_string(title)}
set xlabel {gp_string(f"time since the first event ({unit})")}
set xrange [{show_lo / scale:.6f}:{show_hi / scale:.6f}]
set yrange [{len(tracks) - 0.5}:-0.5]
set ytics ({ytics}) nomirror scale 0
set xtics nomirror
set grid xtics lc rgb "#d0d0d0" lw 1 back
set border 3
set key outside below center horizontal Left reverse samplen 1.5 spacing 1.1 width 2 maxcols {key_cols}
{shading}
{separators}
plot {", ".join(plots)}
"""
        with open(os.path.join(tmp, "timeline.gp"), "w") as f:
            f.write(script)
        run = subprocess.run([gnuplot, os.path.join(tmp, "timeline.gp")], capture_output=True, text=True)
        if run.returncode != 0:
            fail(f"gnuplot failed (exit {run.returncode}):\n{run.stderr.strip()}")
        if run.stderr.strip():
            print(run.stderr.strip(), file=sys.stderr)
    n_slices = sum(len(v) for v in boxes.values())
    n_instants = sum(len(v) for v in instants.values())
    print(f"trace_timeline: wrote {args.out} ({len(tracks)} tracks, {n_slices} slices, {len(flows)} flows, "
          f"{n_instants} instants)")


if __name__ == "__main__":
    main()
