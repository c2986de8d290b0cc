"""Engine overhead and scaling: rehearsal ``up`` + ``destroy`` of N spokes against the raw boto3 floor.

For each N both sides run against the same emulator, alternating (labnet, raw, labnet, raw, …) with a
moto reset and a fresh LABNET_HOME before each run, so load on a shared machine hits both alike.
Reported per N: median wall time of each side, the ratio, time per spoke and per resource, the EC2
calls each side made (they must be the same multiset, or the comparison is void), the peak number
of EC2 calls labnet had in flight at once (the Pulumi SDK registers resources from a thread pool),
and CPU seconds per run on each side of the socket (this process, and the emulator's process): on a
shared machine the CPU ratio is the steadier figure, the wall-clock ratio the one the target names.

    .venv/bin/python bench/engine_overhead.py            # N = 2 4 8 16 32 64 100
    .venv/bin/python bench/engine_overhead.py 8 --reps 5

Repetitions fall with N (``reps_for``): 5 at the target's 8 spokes, 3 up to 32, 2 at 64, 1 at 100,
so the whole curve stays inside ``make bench``'s budget.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import raw_boto3
from _common import (CallLog, count_calls, cpu_seconds, emulator, emulator_pid, fresh_home, quiet, reset,
                     spec_for)

DEFAULT_NS = (2, 4, 8, 16, 32, 64, 100)
TARGET_N, TARGET_RATIO = 8, 1.3
FLAT_NS, FLAT_BAND = (8, 16, 32, 64), 0.25  # time per spoke flat within ±25 % from 8 to 64 spokes


def reps_for(n: int, reps: int) -> int:
    """The target's N is cheap and noisy on a shared machine: more repetitions; large N fewer."""
    if n == TARGET_N:
        return max(reps, 5)
    if n >= 100:
        return 1
    if n >= 64:
        return min(reps, 2)
    return reps


def _labnet_once(url: str, spec, stack: str) -> dict[str, Any]:
    import labnet

    reset(url)
    fresh_home()
    pid = emulator_pid()
    cpu0 = cpu_seconds(pid)
    with count_calls() as log:
        c0 = time.process_time()
        t0 = time.perf_counter()
        lab = labnet.Lab(stack, spec, engine="rehearsal", progress=quiet)
        lab.up()
        t1 = time.perf_counter()
        lab.destroy()
        t2 = time.perf_counter()
        c2 = time.process_time()
    return {"up": t1 - t0, "destroy": t2 - t1, "total": t2 - t0, "log": log,
            "server_cpu": cpu_seconds(pid) - cpu0, "client_cpu": c2 - c0}


def _raw_once(url: str, spec, stack: str) -> dict[str, Any]:
    from labnet.emulator import Emulator

    reset(url)
    pid = emulator_pid()
    cpu0 = cpu_seconds(pid)
    with count_calls() as log:
        c0 = time.process_time()
        t0 = time.perf_counter()
        # A script makes its client once; the same factory labnet uses (same botocore config).
        ec2 = Emulator(url=url).client("ec2", spec.region)
        undo = raw_boto3.build(ec2, spec, stack)
        t1 = time.perf_counter()
        raw_boto3.teardown(undo)
        t2 = time.perf_counter()
        c2 = time.process_time()
    return {"up": t1 - t0, "destroy": t2 - t1, "total": t2 - t0, "log": log, "resources": len(undo),
            "server_cpu": cpu_seconds(pid) - cpu0, "client_cpu": c2 - c0}


def _retrying(fn, *args, attempts: int = 3) -> tuple[dict[str, Any], list[str]]:
    """Run once; a failed run (the emulator's 500s under concurrency) is recorded and retried."""
    failures: list[str] = []
    for _ in range(attempts):
        try:
            return fn(*args), failures
        except Exception as exc:  # noqa: BLE001 recorded and reported
            failures.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
    raise RuntimeError(f"{attempts} failed attempts: {failures}")


def measure(url: str, n: int, reps: int) -> dict[str, Any]:
    spec = spec_for(n)
    lab_runs, raw_runs, failures = [], [], []
    for k in range(reps):
        order = ((lab_runs, _labnet_once), (raw_runs, _raw_once))
        for runs, fn in (order if k % 2 == 0 else order[::-1]):
            result, failed = _retrying(fn, url, spec, f"bench-{n}-{k}")
            failures += failed
            runs.append(result)
    med = {side: {key: statistics.median(r[key] for r in runs) for key in ("up", "destroy", "total", "server_cpu", "client_cpu")}
           for side, runs in (("labnet", lab_runs), ("raw", raw_runs))}
    lab_log: CallLog = lab_runs[-1]["log"]
    raw_log: CallLog = raw_runs[-1]["log"]
    same_calls = lab_log.counts() == raw_log.counts()
    resources = raw_runs[-1]["resources"]
    return {
        "spokes": n, "resources": resources, "reps": reps,
        "labnet_up": med["labnet"]["up"], "labnet_destroy": med["labnet"]["destroy"],
        "labnet": med["labnet"]["total"], "raw_up": med["raw"]["up"], "raw_destroy": med["raw"]["destroy"],
        "raw": med["raw"]["total"], "ratio": med["labnet"]["total"] / med["raw"]["total"],
        "labnet_per_spoke": med["labnet"]["total"] / n, "raw_per_spoke": med["raw"]["total"] / n,
        "labnet_ms_per_resource": 1000 * med["labnet"]["total"] / resources,
        "raw_ms_per_resource": 1000 * med["raw"]["total"] / resources,
        "calls": len(lab_log.calls), "raw_calls": len(raw_log.calls), "same_calls": same_calls,
        "call_diff": {} if same_calls else _diff(lab_log.counts(), raw_log.counts()),
        "peak_in_flight": lab_log.peak, "server_cpu_labnet": med["labnet"]["server_cpu"],
        "server_cpu_raw": med["raw"]["server_cpu"], "client_cpu_labnet": med["labnet"]["client_cpu"],
        "client_cpu_raw": med["raw"]["client_cpu"],
        "cpu_ratio": (med["labnet"]["client_cpu"] + med["labnet"]["server_cpu"])
        / max(1e-9, med["raw"]["client_cpu"] + med["raw"]["server_cpu"]),
        "failures": failures,
        "labnet_runs": [round(r["total"], 3) for r in lab_runs], "raw_runs": [round(r["total"], 3) for r in raw_runs],
    }


def flatness(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Whether labnet's up+destroy time per spoke is flat over FLAT_NS: every figure within ±25 % of
    their median (the target's reading of "flat within ±25 %"); also the spread (max / min)."""
    import statistics

    per = {r["spokes"]: r["labnet_per_spoke"] for r in rows if r["spokes"] in FLAT_NS}
    if len(per) < 2:
        return None
    mid = statistics.median(per.values())
    dev = {n: v / mid - 1 for n, v in per.items()}
    raw = {r["spokes"]: r["raw_per_spoke"] for r in rows if r["spokes"] in FLAT_NS}
    return {"from": min(per), "to": max(per), "min": min(per.values()), "max": max(per.values()),
            "median": mid, "worst": max(dev.values(), key=abs), "met": all(abs(d) <= FLAT_BAND for d in dev.values()),
            "spread": max(per.values()) / min(per.values()), "raw_spread": max(raw.values()) / min(raw.values())}


def _diff(a: dict[str, int], b: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {k: (a.get(k, 0), b.get(k, 0)) for k in sorted(set(a) | set(b)) if a.get(k, 0) != b.get(k, 0)}


def print_rows(rows: list[dict[str, Any]]) -> None:
    print(f"{'N':>3} {'resources':>9} {'EC2 calls':>9} {'labnet s':>9} {'(up+destroy)':>14} {'raw s':>7} "
          f"{'(up+destroy)':>14} {'ratio':>6} {'labnet s/spoke':>14} {'raw s/spoke':>11} {'lab ms/res':>10} "
          f"{'raw ms/res':>10} {'peak':>4} {'CPU s lab/raw (client+moto)':>28} {'CPU ratio':>9}")
    for r in rows:
        print(f"{r['spokes']:>3} {r['resources']:>9} {r['calls']:>9} {r['labnet']:>9.2f} "
              f"{r['labnet_up']:>6.2f}+{r['labnet_destroy']:<6.2f} {r['raw']:>7.2f} "
              f"{r['raw_up']:>6.2f}+{r['raw_destroy']:<6.2f} {r['ratio']:>6.2f} {r['labnet_per_spoke']:>14.3f} "
              f"{r['raw_per_spoke']:>11.3f} {r['labnet_ms_per_resource']:>10.2f} {r['raw_ms_per_resource']:>10.2f} "
              f"{r['peak_in_flight']:>4} {r['client_cpu_labnet']:>6.2f}+{r['server_cpu_labnet']:<5.2f}/"
              f"{r['client_cpu_raw']:>6.2f}+{r['server_cpu_raw']:<7.2f} {r['cpu_ratio']:>9.2f}")
        if not r["same_calls"]:
            print(f"    !! labnet and raw made different EC2 calls (labnet, raw): {r['call_diff']}")
        if r["failures"]:
            print(f"    !! {len(r['failures'])} failed run(s), retried: {r['failures'][0]}")


def run(url: str, ns=DEFAULT_NS, reps: int = 3) -> list[dict[str, Any]]:
    rows = []
    for n in ns:
        rows.append(measure(url, n, reps_for(n, reps)))
        _print_row(rows[-1], header=len(rows) == 1)
    return rows


def _print_row(row: dict[str, Any], header: bool) -> None:
    import io
    import sys

    buf = io.StringIO()
    saved, sys.stdout = sys.stdout, buf
    try:
        print_rows([row])
    finally:
        sys.stdout = saved
    lines = buf.getvalue().splitlines()
    print("\n".join(lines if header else lines[1:]), flush=True)


class _Timers:
    """Wall time spent inside a few labnet functions, by monkeypatching them for one run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, attr: str, label: str | None = None, key=None) -> None:
        import functools
        import threading

        original = getattr(owner, attr)
        lock = threading.Lock()

        @functools.wraps(original)
        def timed(*args, **kwargs):
            name = key(*args, **kwargs) if key else (label or attr)
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t0
                with lock:
                    self.seconds[name] = self.seconds.get(name, 0.0) + dt
                    self.calls[name] = self.calls.get(name, 0) + 1

        setattr(owner, attr, timed)
        self._undo.append((owner, attr, original))

    def restore(self) -> None:
        while self._undo:
            owner, attr, original = self._undo.pop()
            setattr(owner, attr, original)


def breakdown(url: str, n: int = TARGET_N, reps: int = 3) -> dict[str, Any]:
    """Where labnet's time goes in one up + destroy of ``n`` spokes (median of ``reps`` runs).

    Phases are timed by wrapping labnet's own functions (not editing them): boto3 client creation
    (``Target.ec2``), the preview pass ``up`` runs first (``RehearsalEngine._plan``), the create pass
    (``labnet.declare.run`` with ``preview=False``), journal appends (``StackStore.record``), snapshots
    (``StackStore.save``) and the destroy loop.
    """
    import labnet
    from labnet.emulator import targets
    from labnet.engines import rehearsal, state

    spec = spec_for(n)
    runs = []
    for k in range(reps):
        timers = _Timers()
        timers.wrap(targets.Target, "ec2", "boto3 client creation (Target.ec2)")
        timers.wrap(rehearsal.RehearsalEngine, "_plan", "preview pass inside up (RehearsalEngine._plan)")
        timers.wrap(rehearsal, "run", key=lambda *a, **kw: (
            "_program run, preview=True" if kw.get("preview", a[3] if len(a) > 3 else False)
            else "create pass (declare.run, preview=False)"))
        timers.wrap(state.StackStore, "record", "journal appends (StackStore.record)")
        timers.wrap(state.StackStore, "save", "snapshots (StackStore.save)")
        timers.wrap(rehearsal.RehearsalEngine, "destroy", "destroy loop (RehearsalEngine.destroy)")
        try:
            reset(url)
            fresh_home()
            t0 = time.perf_counter()
            lab = labnet.Lab(f"breakdown-{k}", spec, engine="rehearsal", progress=quiet)
            lab.up()
            lab.destroy()
            total = time.perf_counter() - t0
        finally:
            timers.restore()
        runs.append((total, timers))
    total, timers = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    return {"spokes": n, "total": total, "seconds": dict(timers.seconds), "calls": dict(timers.calls)}


def print_breakdown(b: dict[str, Any], raw: dict[str, Any] | None = None) -> None:
    print(f"where labnet's {b['total']:.2f}s go ({b['spokes']} spokes, up + destroy, median run):")
    for name, sec in sorted(b["seconds"].items(), key=lambda kv: -kv[1]):
        if name.startswith("_"):  # counted inside another phase
            continue
        print(f"  {sec:7.3f}s  {b['calls'][name]:>5} call(s)  {name}")
    if raw:
        print(f"  raw boto3 floor for the same calls: up {raw['raw_up']:.2f}s, destroy {raw['raw_destroy']:.2f}s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spokes", type=int, nargs="*", default=list(DEFAULT_NS))
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    with emulator() as url:
        rows = run(url, args.spokes, args.reps)
        if TARGET_N in args.spokes:
            print_breakdown(breakdown(url, TARGET_N), next(r for r in rows if r["spokes"] == TARGET_N))
    flat = flatness(rows)
    if flat:
        print(f"time per spoke from {flat['from']} to {flat['to']} spokes: {flat['min']:.3f}-{flat['max']:.3f} s, "
              f"at most {flat['worst']:+.0%} from their median {flat['median']:.3f} s (flat within ±25 %: "
              f"{'met' if flat['met'] else 'MISSED'}; spread {flat['spread']:.2f}x, raw boto3 {flat['raw_spread']:.2f}x)")
    target = [r for r in rows if r["spokes"] == TARGET_N]
    if target:
        r = target[0]
        verdict = "met" if r["ratio"] <= TARGET_RATIO else "MISSED"
        print(f"target: labnet within {TARGET_RATIO}x of raw boto3 at {TARGET_N} spokes: {r['ratio']:.2f}x ({verdict})")


if __name__ == "__main__":
    main()
