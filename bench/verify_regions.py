"""Verify across regions: snapshot read calls per region and seconds, analysis seconds and the matrix,
for a network of 1, 2 and 3 regions (the same spokes per region each time), deployed on the emulator by
the rehearsal engine.

What it shows: the reader makes the same calls in every region (one paginated describe per resource
type, three per TGW route table, one peering describe where a TGW has peerings, one entries read per
referenced prefix list), so its calls grow with the regions and the prefix lists only; and the
analysis of the whole matrix across regions (every pair through the peerings) stays a fraction of a
second. The network is deployed once per size; deploy time is printed but is not what is measured.

    .venv/bin/python bench/verify_regions.py           # 1, 2, 3 regions x 2 spokes
    .venv/bin/python bench/verify_regions.py 1 2 -s 4  # 1 and 2 regions x 4 spokes
"""

from __future__ import annotations

import argparse
import collections
import os
import time
from typing import Any

from _common import emulator, fresh_home, loadavg, median_time, quiet, reset

REGIONS = ("us-east-1", "us-west-2", "us-east-2")  # p5.48xlarge is offered in each (on the emulator)
PER_LIST = "GetManagedPrefixListEntries"


def measure(url: str, k: int, spokes: int, reps: int = 3) -> dict[str, Any]:
    import boto3

    import labnet
    from labnet.analysis import reachability, snapshot, verify

    reset(url)
    os.environ["LABNET_HOME"] = fresh_home()
    spec = labnet.size(regions={r: spokes for r in REGIONS[:k]}, nodes_per_spoke=4, azs=1)
    lab = labnet.Lab(f"bench-regions-{k}", spec, engine="rehearsal", progress=quiet)
    t0 = time.perf_counter()
    lab.up()
    up_s = time.perf_counter() - t0
    exports = lab.exports()
    clients = {r: boto3.client("ec2", region_name=r, endpoint_url=url, aws_access_key_id="testing",
                               aws_secret_access_key="testing") for r in REGIONS[:k]}
    calls: dict[str, list[str]] = {r: [] for r in clients}
    hooks = []
    for r, c in clients.items():
        def hook(model, _r=r, **_kw):
            calls[_r].append(model.name)
        c.meta.events.register("before-call.ec2", hook)
        hooks.append((c, hook))
    snap = snapshot.read(lambda r: clients[r], exports, stack=lab.stack_name, efa=True, emulator=True)
    for c, hook in hooks:
        c.meta.events.unregister("before-call.ec2", hook)
    read_s, _ = median_time(lambda: snapshot.read(lambda r: clients[r], exports, stack=lab.stack_name, efa=True,
                                                  emulator=True), reps)
    analysis_s, _ = median_time(lambda: reachability.analyse(snap), reps)
    frame = verify.connectivity(reachability.analyse(snap))
    reset(url)  # rather than destroy: destroy is not what is measured here
    return {"regions": k, "spokes": len(spec.spokes), "up_s": up_s, "read_s": read_s, "analysis_s": analysis_s,
            "calls": {r: len(v) for r, v in calls.items()},
            "without_lists": {r: len([c for c in v if c != PER_LIST]) for r, v in calls.items()},
            "ops": {r: collections.Counter(v) for r, v in calls.items()},
            "summary": verify.summary(frame), "load": loadavg()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("regions", nargs="*", type=int, default=[1, 2, 3])
    p.add_argument("-s", "--spokes", type=int, default=2, help="spokes per region (default 2)")
    p.add_argument("-r", "--reps", type=int, default=3)
    args = p.parse_args()
    res = []
    with emulator() as url:
        for k in args.regions:
            r = measure(url, k, args.spokes, args.reps)
            print(f"  {k} region(s), {r['spokes']} spokes: up {r['up_s']:.1f} s; read {sum(r['calls'].values())} calls "
                  f"({', '.join(f'{x} {n}' for x, n in r['calls'].items())}) in {r['read_s']:.2f} s; analysis "
                  f"{r['analysis_s']:.3f} s; {r['summary']} (load {r['load']})", flush=True)
            res.append(r)
    print("\n| regions | spokes | read calls (total) | per region, without prefix-list entries | read s | analysis s | matrix |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in res:
        print(f"| {r['regions']} | {r['spokes']} | {sum(r['calls'].values())} | "
              f"{', '.join(str(n) for n in r['without_lists'].values())} | {r['read_s']:.2f} | "
              f"{r['analysis_s']:.3f} | {r['summary'].split(';')[0]} |")
    per_region = {n for r in res for n in r["without_lists"].values()}
    print(f"\ncalls per region (prefix-list entries aside): {sorted(per_region)} "
          f"({'the same in every region and size' if len(per_region) <= 2 else 'VARY'}: one region has no "
          "peering describe)")


if __name__ == "__main__":
    main()
