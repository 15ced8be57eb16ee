#!/usr/bin/env python3
"""Checks a trace written by the tasklets trace exporter (Chrome trace-event JSON).

Perfetto (ui.perfetto.dev) and chrome://tracing open this format, but both accept a broken
file silently: an overlapping slice is drawn nested, an unpaired flow arrow is dropped, an
unnamed track shows as a bare number, and a decreasing timestamp just misplaces an event.
This script makes those mistakes fail a test instead. It checks:

  - the file parses as JSON (json.load); the top level is an object with "traceEvents" (a
    list) and "displayTimeUnit" == "ns"; "otherData", if present, is an object;
  - every event is an object with "ph" in M, X, i, s, f and "pid" an int >= 1; every event
    but "M" has "tid" (int >= 1), "ts" (a number >= 0, microseconds) and a non-empty "name";
  - "M" (metadata): process_name, thread_name, thread_sort_index or process_sort_index;
    thread_* have a tid; args.name is a string (*_name), args.sort_index an int (*_sort_index);
  - "X" (slice) has "dur" >= 0; "i" (instant) has "s" (scope) in t, p, g;
  - per track (pid, tid), in file order: timestamps never decrease, and "X" slices do not
    overlap (each starts at or after the end of the ones before it, 1 ns rounding allowed);
  - every track with events has a thread_name, every pid a process_name;
  - flows: one "s" and one "f" per id, with the same cat and name, f.ts >= s.ts, "f" has
    "bp": "e", and each end lies inside an "X" slice of its own track (the viewers attach a
    flow end to the slice around it: with none, the arrow is lost);
  - optionally (options below) that a track, flows, an instant or a slice are present.

Usage:
  check_trace.py TRACE.json [--expect-track NAME]... [--min-flows N]
                 [--expect-instant NAME]... [--expect-slice NAME-PREFIX]... [--min-threads N] [--expect-dropped]

  --expect-track NAME      some thread_name's args.name contains NAME
  --min-flows N            at least N complete flow pairs (s + f)
  --expect-instant NAME    an "i" event named exactly NAME
  --expect-slice PREFIX    an "X" event whose name starts with PREFIX
  --min-threads N          events from at least N OS threads (distinct pids)
  --expect-dropped         otherData.dropped_events is positive (the ring overflowed)

Prints one line per problem, "check_trace: <what is wrong>, event #<index>: <event>" (index
into traceEvents, from 0), and exits 1; or prints "check_trace: OK: ..." and exits 0.
Importable: check(doc, ...) returns the list of problems (without the "check_trace: " prefix).
Standard library only.
"""
import argparse
import bisect
import json
import math
import sys

SLACK_US = 1e-3 + 1e-7  # 1 ns of rounding (times are µs with 3 decimals), plus float error
PHASES = {"M", "X", "i", "s", "f"}
METADATA = {"process_name", "thread_name", "thread_sort_index", "process_sort_index"}
MAX_PRINTED = 200


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _show(event, limit=300):
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


def check(doc, expect_tracks=(), min_flows=0, expect_instants=(), expect_slices=(), stats=None):
    """Returns the problems of a parsed trace (a list of strings, empty if it is valid).

    If `stats` is a dict, it receives the counts: events, tracks, flows, slices, instants."""
    problems = []

    def bad(what, index=None, event=None):
        if index is None:
            problems.append(what)
        else:
            problems.append(f"{what}, event #{index}: {_show(event)}")

    if not isinstance(doc, dict):
        bad(f"the top level is a {type(doc).__name__}, not an object")
        return problems
    events = doc.get("traceEvents")
    if not isinstance(events, list):
        bad('no "traceEvents" list at the top level' if events is None else
            f'"traceEvents" is a {type(events).__name__}, not a list')
        events = []
    if doc.get("displayTimeUnit") != "ns":
        bad(f'"displayTimeUnit" is {json.dumps(doc.get("displayTimeUnit"))}, not "ns"')
    if "otherData" in doc and not isinstance(doc["otherData"], dict):
        bad(f'"otherData" is a {type(doc["otherData"]).__name__}, not an object')

    thread_names = {}      # (pid, tid) -> name
    process_names = {}     # pid -> name
    first_of_pid = {}      # pid -> index of its first event
    first_of_track = {}    # (pid, tid) -> index of its first non-M event
    last_ts = {}           # (pid, tid) -> (ts, index) of the latest non-M event
    last_slice = {}        # (pid, tid) -> (end, index) of the slice ending last so far
    slices = {}            # (pid, tid) -> [(ts, end)]
    flow_ends = {}         # id -> {"s": [index], "f": [index]}
    instants = set()
    slice_names = []
    n_slices = n_instants = 0

    for index, e in enumerate(events):
        if not isinstance(e, dict):
            bad(f"event is a {type(e).__name__}, not an object", index, e)
            continue
        ph = e.get("ph")
        if ph not in PHASES:
            bad(f'"ph" is {json.dumps(ph)}, not one of M, X, i, s, f', index, e)
            continue
        pid = e.get("pid")
        if not (_is_int(pid) and pid >= 1):
            bad(f'"pid" is {json.dumps(pid)}, not an int >= 1', index, e)
            continue
        first_of_pid.setdefault(pid, index)
        name = e.get("name")

        if ph == "M":
            if name not in METADATA:
                bad(f'metadata "name" is {json.dumps(name)}, not one of {", ".join(sorted(METADATA))}', index, e)
                continue
            tid = e.get("tid")
            if name.startswith("thread_") and not (_is_int(tid) and tid >= 1):
                bad(f'{name} metadata without a "tid" (int >= 1)', index, e)
                continue
            args = e.get("args")
            if not isinstance(args, dict):
                bad(f'{name} metadata without an "args" object', index, e)
                continue
            if name.endswith("_name"):
                if not isinstance(args.get("name"), str):
                    bad(f'{name} metadata: "args.name" is not a string', index, e)
                    continue
                if name == "thread_name":
                    thread_names[(pid, tid)] = args["name"]
                else:
                    process_names[pid] = args["name"]
            elif not _is_int(args.get("sort_index")):
                bad(f'{name} metadata: "args.sort_index" is not an int', index, e)
            continue

        tid, ts = e.get("tid"), e.get("ts")
        ok = True
        if not (_is_int(tid) and tid >= 1):
            bad(f'"tid" is {json.dumps(tid)}, not an int >= 1', index, e)
            ok = False
        if not (_is_number(ts) and ts >= 0):
            bad(f'"ts" is {json.dumps(ts)}, not a number >= 0', index, e)
            ok = False
        if not (isinstance(name, str) and name):
            bad('"name" is missing or not a non-empty string', index, e)
            ok = False
        if not ok:
            continue
        track = (pid, tid)
        first_of_track.setdefault(track, index)
        if track in last_ts and ts < last_ts[track][0]:
            bad(f"timestamp goes backwards on track (pid {pid}, tid {tid}): {ts} after {last_ts[track][0]} "
                f"(event #{last_ts[track][1]})", index, e)
        if track not in last_ts or ts >= last_ts[track][0]:
            last_ts[track] = (ts, index)

        if ph == "X":
            dur = e.get("dur")
            if not (_is_number(dur) and dur >= 0):
                bad(f'slice "dur" is {json.dumps(dur)}, not a number >= 0', index, e)
                continue
            n_slices += 1
            slice_names.append(name)
            end = ts + dur
            if track in last_slice and ts < last_slice[track][0] - SLACK_US:
                prev_end, prev_index = last_slice[track]
                bad(f"slice overlaps slice #{prev_index} on track (pid {pid}, tid {tid}): starts at {ts}, "
                    f"before that one ends at {prev_end:.3f}", index, e)
            if track not in last_slice or end > last_slice[track][0]:
                last_slice[track] = (end, index)
            slices.setdefault(track, []).append((ts, end))
        elif ph == "i":
            if e.get("s") not in ("t", "p", "g"):
                bad(f'instant scope "s" is {json.dumps(e.get("s"))}, not "t", "p" or "g"', index, e)
                continue
            n_instants += 1
            instants.add(name)
        else:  # "s" or "f"
            fid = e.get("id")
            if not (_is_int(fid) or (isinstance(fid, str) and fid)):
                bad(f'flow "id" is {json.dumps(fid)}, not an int or a string', index, e)
                continue
            if ph == "f" and e.get("bp") != "e":
                bad(f'flow end has "bp" {json.dumps(e.get("bp"))}, not "e" (binding to the enclosing slice)', index, e)
            flow_ends.setdefault(fid, {"s": [], "f": []})[ph].append(index)

    for track, first in first_of_track.items():
        if track not in thread_names:
            bad(f"track (pid {track[0]}, tid {track[1]}) has events but no thread_name metadata", first, events[first])
    for pid, first in first_of_pid.items():
        if pid not in process_names:
            bad(f"pid {pid} has no process_name metadata", first, events[first])

    # Flows: pairing, order, and each end inside a slice of its own track.
    covering = {}  # track -> (starts, running max of ends), for the "inside a slice" test
    for track, spans in slices.items():
        spans = sorted(spans)
        ends, top = [], -math.inf
        for _, end in spans:
            top = max(top, end)
            ends.append(top)
        covering[track] = ([s for s, _ in spans], ends)

    def inside_slice(e):
        starts, ends = covering.get((e["pid"], e["tid"]), ([], []))
        i = bisect.bisect_right(starts, e["ts"] + SLACK_US)
        return i > 0 and ends[i - 1] >= e["ts"] - SLACK_US

    n_flows = 0
    for fid, ends in flow_ends.items():
        for ph, other in (("s", "f"), ("f", "s")):
            if not ends[ph]:
                first = ends[other][0]
                bad(f'flow id {json.dumps(fid)} has an "{other}" but no "{ph}"', first, events[first])
            for extra in ends[ph][1:]:
                bad(f'flow id {json.dumps(fid)} has more than one "{ph}" (first: event #{ends[ph][0]})',
                    extra, events[extra])
        for index in ends["s"] + ends["f"]:
            e = events[index]
            if not inside_slice(e):
                bad(f'flow {"start" if e["ph"] == "s" else "end"} is not inside any "X" slice of its track '
                    f'(pid {e["pid"]}, tid {e["tid"]})', index, e)
        if len(ends["s"]) == 1 and len(ends["f"]) == 1:
            s, f = events[ends["s"][0]], events[ends["f"][0]]
            if (s.get("cat"), s.get("name")) != (f.get("cat"), f.get("name")):
                bad(f'flow id {json.dumps(fid)}: cat/name {json.dumps([f.get("cat"), f.get("name")])} differ from '
                    f'its "s" (event #{ends["s"][0]}) {json.dumps([s.get("cat"), s.get("name")])}', ends["f"][0], f)
            elif f["ts"] < s["ts"]:
                bad(f'flow id {json.dumps(fid)} ends at {f["ts"]}, before it starts at {s["ts"]} '
                    f'(event #{ends["s"][0]})', ends["f"][0], f)
            else:
                n_flows += 1

    # Expectations.
    for want in expect_tracks:
        if not any(want in n for n in thread_names.values()):
            known = ", ".join(json.dumps(n, ensure_ascii=False) for n in list(thread_names.values())[:20])
            bad(f"no track whose thread_name contains {json.dumps(want, ensure_ascii=False)} (tracks: {known or 'none'})")
    if n_flows < min_flows:
        bad(f"{n_flows} complete flow pairs, expected at least {min_flows}")
    for want in expect_instants:
        if want not in instants:
            bad(f'no "i" event named {json.dumps(want, ensure_ascii=False)} '
                f'(instants: {", ".join(sorted(instants)) or "none"})')
    for want in expect_slices:
        if not any(n.startswith(want) for n in slice_names):
            bad(f'no "X" slice whose name starts with {json.dumps(want, ensure_ascii=False)}')

    if stats is not None:
        stats.update(events=len(events), tracks=len(set(first_of_track) | set(thread_names)),
                     flows=n_flows, slices=n_slices, instants=n_instants)
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="check_trace.py", description="Checks a tasklets trace (Chrome trace-event JSON).")
    parser.add_argument("trace", help="the trace file (JSON)")
    parser.add_argument("--expect-track", action="append", default=[], metavar="NAME",
                        help="some thread_name contains NAME (repeatable)")
    parser.add_argument("--min-flows", type=int, default=0, metavar="N", help="at least N flow pairs")
    parser.add_argument("--expect-instant", action="append", default=[], metavar="NAME",
                        help='an "i" event named exactly NAME (repeatable)')
    parser.add_argument("--expect-slice", action="append", default=[], metavar="NAME-PREFIX",
                        help='an "X" event whose name starts with NAME-PREFIX (repeatable)')
    parser.add_argument("--min-threads", type=int, default=0, metavar="N",
                        help="events from at least N OS threads (distinct pids)")
    parser.add_argument("--expect-dropped", action="store_true",
                        help="otherData.dropped_events is positive (a ring that overflowed)")
    args = parser.parse_args(argv)

    try:
        with open(args.trace, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as err:
        print(f"check_trace: cannot read {args.trace}: {err.strerror}")
        return 1
    except (ValueError, UnicodeDecodeError) as err:  # json.JSONDecodeError is a ValueError
        print(f"check_trace: {args.trace} is not valid JSON: {err}")
        return 1

    stats = {}
    problems = check(doc, args.expect_track, args.min_flows, args.expect_instant, args.expect_slice, stats)
    if args.min_threads:
        pids = {e.get("pid") for e in doc.get("traceEvents", []) if isinstance(e, dict) and e.get("ph") != "M"} \
            if isinstance(doc, dict) and isinstance(doc.get("traceEvents"), list) else set()
        if len(pids) < args.min_threads:
            problems.append(f"events from {len(pids)} threads (pids), expected at least {args.min_threads}")
    if args.expect_dropped:
        other = doc.get("otherData") if isinstance(doc, dict) else None
        dropped = other.get("dropped_events") if isinstance(other, dict) else None
        if not isinstance(dropped, int) or dropped <= 0:
            problems.append(f"otherData.dropped_events is {json.dumps(dropped)}, expected a positive count")
    for p in problems[:MAX_PRINTED]:
        print(f"check_trace: {p}")
    if len(problems) > MAX_PRINTED:
        print(f"check_trace: ... and {len(problems) - MAX_PRINTED} more problems")
    if problems:
        return 1
    print(f"check_trace: OK: {stats['events']} events, {stats['tracks']} tracks, {stats['flows']} flows, "
          f"{stats['slices']} slices, {stats['instants']} instants")
    return 0


if __name__ == "__main__":
    sys.exit(main())
