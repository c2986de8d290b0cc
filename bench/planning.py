"""Planning: sizing + CIDR allocation at scale, and preview time against the number of spokes.

Sizing is ``labnet.sizing.plan`` (pure arithmetic) fed with ``InstanceFacts`` and ``RegionFacts``
read once from the emulator's ``describe_instance_types`` / ``describe_availability_zones``; the
target case is 1,000 spokes × 3 AZs, with 100 and the 5,000-attachment maximum around it to show the
curve, plus preflight on the 1,000-spoke result. Preview is ``Lab.preview()`` with the rehearsal
engine (the program under the SDK's mock monitor, no AWS write), for N = 2, 8, 32 and 100 (target:
100 spokes in under 5 s).

    .venv/bin/python bench/planning.py
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from _common import emulator, fresh_home, median_time, quiet, reset, spec_for

SIZING_NS = (100, 1000, 5000)
PREVIEW_NS = (2, 8, 32, 100)
PREVIEW_TARGET_N, PREVIEW_TARGET_S = 100, 5.0


def sizing_curve(url: str, ns=SIZING_NS, azs: int = 3, reps: int = 5) -> list[dict[str, Any]]:
    from labnet import preflight, sizing
    from labnet.facts import instances
    from labnet.emulator import Emulator

    ec2 = Emulator(url=url).client("ec2", "us-east-1")
    t0 = time.perf_counter()
    instance = instances.InstanceFacts.from_ec2(
        ec2.describe_instance_types(InstanceTypes=["p5.48xlarge"])["InstanceTypes"][0])
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    region = preflight.RegionFacts(region="us-east-1", azs=tuple(sorted(z["ZoneName"] for z in zones)))
    facts_s = time.perf_counter() - t0
    rows = []
    for n in ns:
        for mode in ("efa", "ena"):
            def go():
                return sizing.plan(spokes=n, nodes_per_spoke=16, instance=instance, region=region, azs=azs,
                                   interface_mode=mode)

            med, _ = median_time(go, reps)
            spec = go()
            subnets = sum(len(s.subnets) for s in spec.spokes)
            row = {"spokes": n, "azs": azs, "mode": mode, "plan_s": med, "subnets": subnets,
                   "us_per_spoke": 1e6 * med / n}
            if n == 1000:
                row["preflight_s"], _ = median_time(lambda: preflight.check(spec, region), reps)
            rows.append(row)
            extra = f", preflight {row['preflight_s'] * 1000:.0f} ms" if "preflight_s" in row else ""
            print(f"sizing.plan {n:>5} spokes × {azs} AZs ({mode:>3}): {med * 1000:7.1f} ms "
                  f"({row['us_per_spoke']:.1f} µs/spoke, {subnets} subnets){extra}", flush=True)
    print(f"  (facts read once from the emulator: {facts_s:.2f}s)")
    return rows


def preview_curve(url: str, ns=PREVIEW_NS, reps: int = 3) -> list[dict[str, Any]]:
    import labnet

    rows = []
    for n in ns:
        spec = spec_for(n)
        times, resources = [], 0
        for k in range(reps):
            reset(url)
            fresh_home()
            lab = labnet.Lab(f"preview-{n}-{k}", spec, engine="rehearsal", progress=quiet)
            t0 = time.perf_counter()
            table = lab.preview()
            times.append(time.perf_counter() - t0)
            resources = len(table)
        med = statistics.median(times)
        row = {"spokes": n, "resources": resources, "preview_s": med, "runs": len(times),
               "s_per_spoke": med / n, "ms_per_resource": 1000 * med / resources,
               "resources_per_spoke": resources / n}
        rows.append(row)
        print(f"preview {n:>3} spokes: {med:6.2f}s median of {len(times)} ({resources} resources, "
              f"{row['resources_per_spoke']:.1f} per spoke; {1000 * row['s_per_spoke']:.0f} ms/spoke, "
              f"{row['ms_per_resource']:.2f} ms/resource)", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preview", type=int, nargs="*", default=list(PREVIEW_NS))
    args = ap.parse_args()
    with emulator() as url:
        sizing_curve(url)
        preview_curve(url, args.preview)


if __name__ == "__main__":
    main()
