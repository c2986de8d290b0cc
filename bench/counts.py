"""Routes and rules counted AWS's way, and resources declared, against the number of spokes: the full
mesh labnet declared before issue 12 next to the design it declares now, and the alternatives that
were weighed (program.py's docstring says why the current one was chosen).

Counted AWS's way: a reference to a customer-managed prefix list counts as its max entries, against
the 50 routes per route table and the 60 inbound rules per security group (default quotas). Routes
count the VPC's local route and the S3 endpoint's route as one each. Pure arithmetic over sized
specs (``labnet.sizing.plan`` with the p5.48xlarge facts), plus one count of the declared program
under the SDK's mocks per N; no emulator.

    .venv/bin/python bench/counts.py
    .venv/bin/python bench/counts.py 8 64 100 1000
"""

from __future__ import annotations

import argparse
from typing import Any

import _common  # noqa: F401 puts the repository root on sys.path

NS = (2, 8, 16, 32, 50, 60, 64, 100, 1000)
DECLARED_NS = (8, 64)  # the program under mocks costs ~3 ms per resource: two Ns prove "constant"


def _spec(n: int):
    from labnet import sizing
    from tests.helpers import P5, US_EAST_1

    return sizing.plan(spokes=n, nodes_per_spoke=16, instance=P5, region=US_EAST_1, azs=2)


def declared(n: int) -> tuple[int, int, int]:
    """Resources the program declares for ``n`` spokes, and the fullest route table and training group
    as the quota analysis counts them from those resources (labnet's one quota source)."""
    from labnet.analysis import quota_report
    from labnet.declare import declare

    resources = declare(_spec(n), "counts").resources
    got = quota_report.counts(_spec(n), resources)
    return (len(resources), max(got.routes_per_route_table.values()),
            max(got.inbound_rules_per_security_group.values()))


def row(n: int) -> dict[str, Any]:
    spec = _spec(n)
    peers = spec.peer_cidrs()
    blocks = max((len(v) for v in peers.values()), default=0)
    fixed = 2  # the local route and the S3 endpoint's route
    return {
        "spokes": n,
        # routes per spoke route table
        "routes_mesh": fixed + (n - 1),  # one route per other spoke
        "routes_pl_exact": fixed + (n - 1),  # a route to a prefix list of the other spokes' CIDRs
        "routes_pl_collapsed": fixed + blocks,  # ... of the collapsed blocks
        "routes_summary": fixed + (n > 1),  # chosen: one supernet route (declared() checks it)
        # inbound rules per training group
        "rules_mesh": 1 + (n - 1),
        "rules_pl_exact": 1 + (n - 1),
        "rules_pl_collapsed": 1 + blocks,  # chosen (declared() checks it)
        "rules_supernet": 2,  # not least privilege: admits the spoke's own VPC
        "prefix_lists": n if n > 1 else 0,  # one peer list per spoke
        "peer_blocks_max": blocks,
    }


def run(ns=NS, declared_ns=DECLARED_NS) -> dict[str, Any]:
    rows = [row(n) for n in ns]
    print(f"{'N':>5} | routes/table: {'mesh':>5} {'PL exact':>8} {'PL coll.':>8} {'summary*':>8} | "
          f"rules/group: {'mesh':>5} {'PL exact':>8} {'PL coll.*':>9} {'supernet':>8} | {'prefix lists':>12}")
    for r in rows:
        print(f"{r['spokes']:>5} | {'':13} {r['routes_mesh']:>5} {r['routes_pl_exact']:>8} {r['routes_pl_collapsed']:>8} "
              f"{r['routes_summary']:>8} | {'':12} {r['rules_mesh']:>5} {r['rules_pl_exact']:>8} "
              f"{r['rules_pl_collapsed']:>9} {r['rules_supernet']:>8} | {r['prefix_lists']:>12}")
    print("  * = what labnet declares now; default quotas: 50 routes per route table, 60 inbound rules per group,"
          " 100 prefix lists per Region")
    resources = {}
    by_n = {r["spokes"]: r for r in rows}
    for n in declared_ns:
        resources[n], routes, rules = declared(n)
        print(f"declared resources, {n} spokes: {resources[n]} ({(resources[n] - 2) / n:.1f} per spoke + TGW and its "
              f"route table; the full mesh declared {2 + n * (2 * (n - 1) + 19 - 3)}); counted by the quota "
              f"analysis: {routes} routes in the fullest table, {rules} inbound rules in the fullest group", flush=True)
        if n in by_n:  # the arithmetic above is what the program declares
            assert (routes, rules) == (by_n[n]["routes_summary"], by_n[n]["rules_pl_collapsed"]), (n, routes, rules)
    return {"rows": rows, "declared": resources}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spokes", type=int, nargs="*", default=list(NS))
    args = ap.parse_args()
    run(args.spokes)


if __name__ == "__main__":
    main()
