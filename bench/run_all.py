"""Every labnet benchmark in one run, side by side, ending with the figures table (Markdown).

One emulator (moto on 127.0.0.1) serves the whole run and is reset before every measurement. The
order puts the cheap, load-sensitive latency probes first and the notebooks last. ``make bench``
runs this; it is meant to finish in well under 10 minutes on 2 cores.

    .venv/bin/python bench/run_all.py                 # the full run
    .venv/bin/python bench/run_all.py --quick         # N up to 8, fewer repetitions (a smoke run)
    .venv/bin/python bench/run_all.py --json out.json # also keep every number
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import counts
import dep_chain
import engine_overhead
import latency
import planning
import regions as regions_bench
import verify as verify_bench
from _common import emulator, loadavg, machine

BUDGET_S = 600


def _fmt_s(x: float) -> str:
    return f"{x:.2f} s" if x < 100 else f"{x:.0f} s"


def summary(res: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(measurement, figure, target, verdict, command) rows."""
    rows = []
    if res.get("counts"):
        c = {r["spokes"]: r for r in res["counts"]["rows"]}
        shown = [n for n in (8, 64, 100, 1000) if n in c]
        rows.append(("0. routes per spoke route table, counted AWS's way (full mesh → now)",
                     ", ".join(f"{n}: {c[n]['routes_mesh']} → {c[n]['routes_summary']}" for n in shown),
                     "≤ 50 (default quota)",
                     "met" if all(r["routes_summary"] <= 50 for r in c.values()) else "missed", "bench/counts.py"))
        rows.append(("0. inbound rules per training group, counted AWS's way (full mesh → now)",
                     ", ".join(f"{n}: {c[n]['rules_mesh']} → {c[n]['rules_pl_collapsed']}" for n in shown),
                     "≤ 60 (default quota)",
                     "met" if all(r["rules_pl_collapsed"] <= 60 for r in c.values()) else "missed", "bench/counts.py"))
        d = {int(n): k for n, k in res["counts"]["declared"].items()}  # int keys again after a JSON round trip
        per = {n: (k - 2) / n for n, k in d.items()}
        rows.append(("0. resources declared per spoke (program under the SDK's mocks)",
                     ", ".join(f"{n}: {per[n]:.0f} ({d[n]} in all)" for n in sorted(d)), "constant",
                     "met" if len(set(per.values())) == 1 else "grows", "bench/counts.py"))
    eng = {r["spokes"]: r for r in res["engine"]}
    for n in (2, 8, 32, 64, 100):
        if n in eng:
            r = eng[n]
            target = f"≤ {engine_overhead.TARGET_RATIO}×" if n == engine_overhead.TARGET_N else ""
            verdict = ("met" if r["ratio"] <= engine_overhead.TARGET_RATIO else "missed") if target else ""
            rows.append((f"1. rehearsal up+destroy vs raw boto3, {n} spokes ({r['resources']} resources, "
                         f"{r['calls']} EC2 calls each{'' if r['same_calls'] else ', CALLS DIFFER'}, "
                         f"{r['reps']} run(s) each, peak {r['peak_in_flight']} in flight)",
                         f"{_fmt_s(r['labnet'])} vs {_fmt_s(r['raw'])} = **{r['ratio']:.2f}×** wall "
                         f"({r['cpu_ratio']:.2f}× CPU)", target, verdict,
                         f"bench/engine_overhead.py {n}"))
    failures = [f for r in res.get("engine", []) for f in r.get("failures", [])]
    if failures:
        rows.append(("1. failed runs (retried; not in the medians)", f"{len(failures)}: {failures[0][:120]}", "0",
                     "missed", "bench/engine_overhead.py"))
    if res.get("breakdown"):
        b = res["breakdown"]
        s = b["seconds"]
        clients = s.get("boto3 client creation (Target.ec2)", 0.0)
        plan = s.get("preview pass inside up (RehearsalEngine._plan)", 0.0)
        rows.append((f"1b. where labnet's time goes, {b['spokes']} spokes",
                     f"create pass {s.get('create pass (declare.run, preview=False)', 0):.2f} s, preview pass "
                     f"inside up {plan:.2f} s, {b['calls'].get('boto3 client creation (Target.ec2)', 0)} boto3 "
                     f"clients {clients:.2f} s, destroy loop {s.get('destroy loop (RehearsalEngine.destroy)', 0):.2f} s, "
                     f"journal {s.get('journal appends (StackStore.record)', 0):.2f} s", "", "",
                     "bench/engine_overhead.py 8"))
    if eng:
        ns = sorted(eng)
        curve = ", ".join(f"{n}: {eng[n]['labnet_per_spoke']:.2f}" for n in ns)
        raw_curve = ", ".join(f"{n}: {eng[n]['raw_per_spoke']:.2f}" for n in ns)
        res_curve = ", ".join(f"{n}: {eng[n]['resources'] / n:.0f}" for n in ns)
        per_res = ", ".join(f"{n}: {eng[n]['labnet_ms_per_resource']:.1f}" for n in ns)
        flat = engine_overhead.flatness(res["engine"])
        verdict = "" if flat is None else (
            f"{'met' if flat['met'] else 'missed'}: at most {flat['worst']:+.0%} from the median "
            f"{flat['median']:.2f} s, {flat['from']} to {flat['to']} spokes (spread {flat['spread']:.2f}×; "
            f"raw boto3 {flat['raw_spread']:.2f}×)")
        rows.append(("2. up+destroy time per spoke (s), labnet", curve, "flat within ±25 % from 8 to 64",
                     verdict, "bench/engine_overhead.py"))
        rows.append(("2. up+destroy time per spoke (s), raw boto3", raw_curve, "", "", "bench/engine_overhead.py"))
        rows.append(("2. resources per spoke / labnet ms per resource", f"{res_curve} / {per_res}", "", "",
                     "bench/engine_overhead.py"))
    if res.get("preview"):
        pv = res["preview"]
        curve = ", ".join(f"{r['spokes']}: {r['s_per_spoke']:.2f}" for r in pv)
        first, last = pv[0], pv[-1]
        mid = next((r for r in pv if r["spokes"] == 8), first)
        growth = last["s_per_spoke"] / mid["s_per_spoke"]
        rows.append(("2. preview time per spoke (s)", curve, "flat",
                     "flat" if growth < 1.25 else f"grows {growth:.1f}× from {mid['spokes']} to {last['spokes']} spokes",
                     "bench/planning.py"))
    for r in res.get("chain", []):
        rows.append((f"3. longest dependency chain, {r['spokes']} spokes ({r['resources']} resources)",
                     f"{r['chain_links']} resources; expected real-AWS deploy ≈ {r['expected_s'] / 60:.1f} min "
                     f"(critical path at assumed AWS times, unbounded parallelism); "
                     f"≈ {r['expected_capped_s'] / 60:.1f} min with --parallel {dep_chain.PARALLEL}",
                     "constant in N", "", f"bench/dep_chain.py {r['spokes']}"))
    if len(res.get("chain", [])) >= 2:
        a, b = res["chain"][0], res["chain"][-1]
        rows[-1] = rows[-1][:3] + ("met (chain length)" if a["chain_links"] == b["chain_links"] else "grows",) + rows[-1][4:]
    lat = res.get("latency", {})
    if lat.get("import"):
        imp = lat["import"]
        rows.append(("4. import labnet (fresh interpreter, median of 7)",
                     f"{imp['import_s'] * 1000:.0f} ms; pulumi_aws loaded: {imp['pulumi_aws_loaded']}",
                     "< 500 ms, no pulumi_aws", "met" if imp["import_s"] < 0.5 and not imp["pulumi_aws_loaded"]
                     else "missed", "bench/latency.py"))
    if lat.get("first_sizing"):
        fs = lat["first_sizing"]
        rows.append(("4. first sizing result, fresh interpreter (import + size + table)",
                     f"{fs['total_s']:.2f} s (size {fs['size_s']:.2f} s)", "", "", "bench/latency.py"))
    for nb in lat.get("notebooks", []):
        if "skipped" in nb:
            rows.append((f"4. papermill {nb['notebook']}", "skipped: notebook missing", "", "", "bench/latency.py"))
        elif "failed" in nb:
            rows.append((f"4. papermill {nb['notebook']}", f"FAILED ({nb['failed']})", "", "", "bench/latency.py"))
        else:
            extra = f"; first sizing result {nb['first_sizing_s']:.1f} s after start" if "first_sizing_s" in nb else ""
            rows.append((f"4. papermill {nb['notebook']}", f"{nb['wall_s']:.1f} s wall{extra}", "", "",
                         "bench/latency.py"))
    for r in res.get("sizing", []):
        if r["spokes"] == 1000:
            rows.append((f"5. sizing.plan 1,000 spokes × {r['azs']} AZs ({r['mode']}, {r['subnets']} subnets)",
                         f"{r['plan_s'] * 1000:.1f} ms (+ preflight {r.get('preflight_s', 0) * 1000:.0f} ms)",
                         "", "", "bench/planning.py"))
    for r in res.get("preview", []):
        if r["spokes"] in (32, planning.PREVIEW_TARGET_N):
            target = r["spokes"] == planning.PREVIEW_TARGET_N
            rows.append((f"5. preview, {r['spokes']} spokes ({r['resources']} resources, median of {r['runs']})",
                         f"{r['preview_s']:.2f} s ({r['ms_per_resource']:.1f} ms per resource)",
                         f"< {planning.PREVIEW_TARGET_S:.0f} s" if target else "",
                         ("met" if r["preview_s"] < planning.PREVIEW_TARGET_S else "missed") if target else "",
                         "bench/planning.py"))
    for r in res.get("verify", []):
        target = f"< {verify_bench.TARGET_S:.0f} s" if r["spokes"] == 100 else ""
        worst = max(r["analysis_s"], r["mesh_analysis_s"])
        rows.append((f"6. verify, {r['spokes']} spokes: snapshot read / analysis ({r['rows']} rows)",
                     f"{r['read_calls']} EC2 calls in {r['read_s']:.2f} s / {r['analysis_s']:.3f} s as read, "
                     f"{r['mesh_analysis_s']:.3f} s full mesh (CPU {r['mesh_analysis_cpu_s']:.3f} s)", target,
                     ("met" if worst < verify_bench.TARGET_S else "missed") if target else "",
                     f"bench/verify.py {r['spokes']}"))
    for r in res.get("regions", []):
        rows.append((f"7. up+destroy across {r['regions']} region(s), {r['spokes']} spokes "
                     f"({r['resources']} resources, {r['peerings']} peering(s))", f"{r['up_destroy_s']:.2f} s",
                     "", "", f"bench/regions.py {r['regions']}"))
    return rows


def markdown(rows) -> str:
    out = ["| measurement | figure | target | verdict | reproduce (`.venv/bin/python …`) |",
           "| --- | --- | --- | --- | --- |"]
    out += [f"| {m} | {f} | {t} | {v} | `{c}` |" for m, f, t, v, c in rows]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="N up to 8 and fewer repetitions")
    ap.add_argument("--json", help="also write every number to this file")
    args = ap.parse_args()
    started = time.perf_counter()
    info = machine()
    print(f"labnet benchmarks · {info['date']} · {info['nproc']} CPU(s): {info['cpu']} · Python {info['python']} · "
          f"load average at start {info['load']}", flush=True)
    res: dict[str, Any] = {"machine": info}
    eng_ns = (2, 4, 8) if args.quick else engine_overhead.DEFAULT_NS
    reps = 2 if args.quick else 3
    preview_ns = (2, 8, 32) if args.quick else planning.PREVIEW_NS

    def section(title: str) -> None:
        print(f"\n== {title} (t+{time.perf_counter() - started:.0f}s, load {loadavg()}) ==", flush=True)

    with emulator() as url:
        section("4. import and first sizing result")
        res["latency"] = {"import": latency.import_time(), "first_sizing": latency.first_sizing()}
        section("5. sizing and CIDR allocation")
        res["sizing"] = planning.sizing_curve(url)
        section("0. routes and rules counted AWS's way; resources per spoke")
        res["counts"] = counts.run()
        section("3. dependency chain of the declared program")
        res["chain"] = dep_chain.run((2, 32))
        section("1+2. rehearsal engine vs raw boto3 (up + destroy)")
        res["engine"] = engine_overhead.run(url, eng_ns, reps)
        if engine_overhead.TARGET_N in eng_ns:
            res["breakdown"] = engine_overhead.breakdown(url, engine_overhead.TARGET_N, reps)
            engine_overhead.print_breakdown(res["breakdown"],
                                            next(r for r in res["engine"] if r["spokes"] == engine_overhead.TARGET_N))
        section("2+5. preview against the number of spokes")
        res["preview"] = planning.preview_curve(url, preview_ns)
        section("6. verify: snapshot read and analysis")
        res["verify"] = verify_bench.run(url, (8, 32) if args.quick else verify_bench.DEFAULT_NS, reps)
        section("7. regions: up + destroy across 1, 2, 3 regions")
        res["regions"] = regions_bench.run(url, (1, 2) if args.quick else (1, 2, 3), reps)
        section("4. notebooks under papermill")
        res["latency"]["notebooks"] = latency.notebooks()
    total = time.perf_counter() - started
    res["total_s"] = total
    res["load_end"] = loadavg()
    rows = summary(res)
    print(f"\n== figures ({info['date']}, {info['nproc']} CPU(s) {info['cpu']}, Python {info['python']}, "
          f"load average start {info['load']} / end {res['load_end']}) ==\n")
    print(markdown(rows))
    print(f"\nwhole run: {total:.0f} s (budget {BUDGET_S} s: {'met' if total < BUDGET_S else 'MISSED'})")
    if args.json:
        for r in res.get("engine", []):
            r.pop("log", None)
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1, default=str)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
