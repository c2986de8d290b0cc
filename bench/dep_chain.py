"""The deployment graph of the declared program, and what it implies for a real AWS deploy.

Pulumi creates a resource as soon as everything it depends on exists, so a real ``pulumi up`` takes
at least as long as the longest dependency chain (each link weighted by how long AWS takes to create
that resource), and at least (total work / parallelism) when there is more work than parallel slots.

This runs ``labnet.program.build`` under the Pulumi SDK's mock monitor (no engine, no AWS call) and
records, for every resource, its inputs and the URNs the SDK says it depends on. Edges come from two
places: ids and ARNs found in a resource's inputs, mapped back to the resource that produced them,
and explicit ``depends_on`` (the SDK's ``dependencies`` field holds both; the script checks the first
is contained in the second). The longest path is then a dynamic programme over registration order,
which is a topological order (the SDK registers a resource only once its inputs are resolved).

    .venv/bin/python bench/dep_chain.py 2 32
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from _common import spec_for

# Typical AWS creation times in seconds: ASSUMPTIONS, not measurements. Transit Gateways and their
# VPC attachments go "pending" → "available" over minutes (the Terraform AWS provider waits up to
# 10 minutes for each: hashicorp/terraform-provider-aws, aws/ec2_transit_gateway.go); TGW route
# tables, associations and propagations take seconds to tens of seconds; VPC-scoped objects (VPC,
# subnet, route table, route, security group and rules) are ready within a few seconds; a gateway
# VPC endpoint within tens of seconds. Change them here to re-run the estimate.
ASSUMED_SECONDS = {
    "TransitGateway": 240.0,
    "VpcAttachment": 120.0,
    "ec2transitgateway/routeTable:RouteTable": 30.0,
    "ec2transitgateway/routeTableAssociation:RouteTableAssociation": 20.0,
    "RouteTablePropagation": 20.0,
    "VpcEndpoint": 20.0,
    "NatGateway": 120.0,
}
DEFAULT_SECONDS = 2.0  # VPC, subnet, route table, association, route, SG, SG rule
# Pulumi's default parallelism is unbounded ("Defaults to unbounded (2147483647)", the Automation API's
# up() docstring in pulumi/automation/_stack.py), so the critical path is the estimate; the work bound
# is shown for a capped run (pulumi up --parallel 16), which is what the quadratic resource count costs.
PARALLEL = 16


def assumed_seconds(token: str) -> float:
    for key, sec in ASSUMED_SECONDS.items():
        if token.endswith(key) or key in token:
            return sec
    return DEFAULT_SECONDS


@dataclass
class Node:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    deps: set[str] = field(default_factory=set)  # URNs the SDK reported
    input_deps: set[str] = field(default_factory=set)  # URNs found through ids/ARNs in inputs


def declared_graph(spec, stack: str = "bench") -> list[Node]:
    """Every resource ``program.build`` declares, in registration order, with its dependencies."""
    from labnet.declare import declare

    resources = declare(spec, stack, dependencies=True).resources
    by_value: dict[str, str] = {}  # id or ARN → URN
    for r in resources:
        by_value[r.id] = r.urn
        by_value[f"arn:{r.name}"] = r.urn
    by_name = {r.name: r.urn for r in resources}
    # The SDK names dependencies by full URN (urn:pulumi:<stack>::labnet::<type>::<name>); labnet's
    # logical names are unique in a stack, so the name says which resource.
    nodes = [Node(r.urn, r.type, r.name, r.inputs, {by_name[d.rsplit("::", 1)[-1]] for d in r.dependencies
                                                      if d.rsplit("::", 1)[-1] in by_name})
             for r in resources]

    def values(v: Any):
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            for x in v.values():
                yield from values(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                yield from values(x)

    for node in nodes:
        node.input_deps = {by_value[v] for v in values(node.inputs) if v in by_value and by_value[v] != node.urn}
    return nodes


def longest_chain(nodes: list[Node], weight=lambda n: 1.0) -> tuple[float, list[Node]]:
    """Heaviest path through the graph (registration order is topological)."""
    index = {n.urn: n for n in nodes}
    best: dict[str, float] = {}
    prev: dict[str, str | None] = {}
    for n in nodes:
        deps = [d for d in n.deps | n.input_deps if d in index]
        missing = [d for d in deps if d not in best]
        if missing:
            raise RuntimeError(f"{n.name} registered before its dependency {missing[0]}")
        parent = max(deps, key=lambda d: best[d], default=None)
        best[n.urn] = weight(n) + (best[parent] if parent else 0.0)
        prev[n.urn] = parent
    end = max(best, key=best.get)
    path: list[Node] = []
    cur: str | None = end
    while cur is not None:
        path.append(index[cur])
        cur = prev[cur]
    return best[end], path[::-1]


def _short(token: str) -> str:
    return token.rsplit(":", 1)[-1]


def analyse(n: int) -> dict[str, Any]:
    spec = spec_for(n)
    nodes = declared_graph(spec)
    links, path = longest_chain(nodes)
    seconds, timed_path = longest_chain(nodes, lambda node: assumed_seconds(node.type))
    work = sum(assumed_seconds(node.type) for node in nodes)
    unexplained = sum(1 for node in nodes if not node.input_deps <= node.deps)
    explicit = sum(len(node.deps - node.input_deps) for node in nodes)
    return {
        "spokes": n, "resources": len(nodes), "edges": sum(len(node.deps | node.input_deps) for node in nodes),
        "explicit_depends_on_edges": explicit, "input_edges_not_in_sdk_deps": unexplained,
        "chain_links": int(links), "chain": [f"{_short(x.type)}:{x.name}" for x in path],
        "critical_path_s": seconds, "timed_chain": [f"{_short(x.type)}:{x.name}" for x in timed_path],
        "work_s": work, "work_bound_s": work / PARALLEL,
        "expected_s": seconds, "expected_capped_s": max(seconds, work / PARALLEL),
    }


def print_rows(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        print(f"{r['spokes']:>3} spokes: {r['resources']} resources, {r['edges']} dependency edges "
              f"({r['explicit_depends_on_edges']} from depends_on); longest chain {r['chain_links']} resources")
        print(f"    chain: {' -> '.join(r['chain'])}")
        print(f"    with assumed AWS times: critical path {r['critical_path_s'] / 60:.1f} min "
              f"({' -> '.join(r['timed_chain'])}); total work {r['work_s'] / 60:.0f} resource-minutes")
        print(f"    expected real-AWS deploy ≈ {r['expected_s'] / 60:.1f} min at Pulumi's default (unbounded) "
              f"parallelism; ≈ {r['expected_capped_s'] / 60:.1f} min with --parallel {PARALLEL}")
        if r["input_edges_not_in_sdk_deps"]:
            print(f"    !! {r['input_edges_not_in_sdk_deps']} resource(s) use ids the SDK did not list as dependencies")


def run(ns=(2, 32)) -> list[dict[str, Any]]:
    rows = [analyse(n) for n in ns]
    print_rows(rows)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spokes", type=int, nargs="*", default=[2, 32])
    args = ap.parse_args()
    from _common import emulator

    with emulator():  # sizing reads instance facts from the emulator
        run(args.spokes)


if __name__ == "__main__":
    main()
