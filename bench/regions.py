"""Up + destroy of a network across 1, 2 and 3 regions on the emulator (issue 14).

Each network has 2 spokes per region (`labnet.size(regions=…, nodes_per_spoke=16, azs=2)`), so the
figures show what a region adds: a TGW and its route tables, a peering attachment to every other
region, its acceptance and associations, and static routes. One moto server serves every region.
Each figure is the median of a few repetitions on a reset emulator and a fresh LABNET_HOME.

    .venv/bin/python bench/regions.py           # 1, 2, 3 regions
"""

from __future__ import annotations

import sys

from _common import emulator, fresh_home, loadavg, median_time, quiet, reset

REGIONS = ("us-east-1", "us-west-2", "us-east-2")  # all three offer p5.48xlarge
SPOKES_PER_REGION = 2


def run(url: str, counts=(1, 2, 3), reps: int = 3) -> list[dict]:
    import labnet

    rows = []
    for n in counts:
        regions = {r: SPOKES_PER_REGION for r in REGIONS[:n]}
        spec = labnet.size(regions=regions, nodes_per_spoke=16, azs=2) if n > 1 else labnet.size(
            spokes=SPOKES_PER_REGION, nodes_per_spoke=16, azs=2)
        seen = {}

        def once():
            lab = labnet.Lab(f"bench-regions-{n}", spec, engine="rehearsal", progress=quiet)
            lab.up()
            seen["resources"] = len(lab._store.load().created)
            lab.destroy()

        def setup():
            reset(url)
            fresh_home()

        med, times = median_time(once, reps, setup)
        rows.append({"regions": n, "spokes": len(spec.spokes), "resources": seen["resources"],
                     "peerings": len(spec.peerings()), "up_destroy_s": med, "times": times})
        print(f"{n} region(s), {len(spec.spokes)} spokes, {seen['resources']} resources, "
              f"{len(spec.peerings())} peering(s): up+destroy {med:.2f} s (runs {', '.join(f'{t:.2f}' for t in times)}; "
              f"load {loadavg()})", flush=True)
    return rows


if __name__ == "__main__":
    counts = tuple(int(a) for a in sys.argv[1:]) or (1, 2, 3)
    with emulator() as url:
        run(url, counts)
