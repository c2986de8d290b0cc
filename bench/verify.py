"""Verify at 8, 32 and 100 spokes: snapshot read calls and seconds, and analysis seconds.

How the network is built: with **raw boto3** in this script, not with the rehearsal engine, and with a
summary route (the supernet via the TGW) and one ingress rule for the supernet per security group
instead of today's full mesh. Deploying 100 spokes with the program's full mesh (O(N²) routes and
rules, ~20,000 EC2 calls) takes many minutes on the emulator and would measure the engine, not
verify; the summary design is O(N) calls (~17 per spoke) and is what branch ``scale`` moves to. The
read is what is measured, and it makes the same calls whatever the routes look like.

The analysis is timed twice: on the snapshot as read, and on a synthetic **full-mesh** snapshot of
the same network (the read snapshot with every spoke's per-spoke routes and per-spoke ingress rules
added in memory), which is the heavier input today's program produces. The target: the analysis of
100 spokes (10,000 ordered pairs × 3 default probes) under one second.

    .venv/bin/python bench/verify.py            # 8, 32, 100 spokes
    .venv/bin/python bench/verify.py 8 32       # a quicker run
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import time
from typing import Any

from _common import count_calls, emulator, loadavg, reset

DEFAULT_NS = (8, 32, 100)
TARGET_S = 1.0  # analysis of 100 spokes
SUPERNET = "10.0.0.0/8"


def _tags(kind: str, stack: str, name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": "stack", "Value": stack}, {"Key": "Name", "Value": name}]}]


def build(ec2, n: int, stack: str = "bench-verify") -> dict[str, Any]:
    """n spokes on one TGW with raw boto3; returns outputs shaped like ``Lab.exports()``."""
    tgw = ec2.create_transit_gateway(Description="bench", Options={
        "DefaultRouteTableAssociation": "disable", "DefaultRouteTablePropagation": "disable"},
        TagSpecifications=_tags("transit-gateway", stack, "tgw"))["TransitGateway"]["TransitGatewayId"]
    trt = ec2.create_transit_gateway_route_table(TransitGatewayId=tgw)["TransitGatewayRouteTable"][
        "TransitGatewayRouteTableId"]
    spokes: dict[str, Any] = {}
    for i in range(n):
        name = f"spoke-{i + 1:03d}"
        cidr = f"10.{i}.0.0/16"
        vpc = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=_tags("vpc", stack, name))["Vpc"]["VpcId"]
        subnets = []
        for role, az, block in (("compute", "us-east-1a", f"10.{i}.0.0/20"),
                                ("attachment", "us-east-1a", f"10.{i}.255.0/28"),
                                ("attachment", "us-east-1b", f"10.{i}.255.16/28")):
            sid = ec2.create_subnet(VpcId=vpc, CidrBlock=block, AvailabilityZone=az)["Subnet"]["SubnetId"]
            subnets.append({"role": role, "az": az, "cidr": block, "id": sid})
        rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        for s in subnets:
            ec2.associate_route_table(SubnetId=s["id"], RouteTableId=rt)
        att = ec2.create_transit_gateway_vpc_attachment(
            TransitGatewayId=tgw, VpcId=vpc, SubnetIds=[s["id"] for s in subnets if s["role"] == "attachment"])[
            "TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
        ec2.associate_transit_gateway_route_table(TransitGatewayRouteTableId=trt, TransitGatewayAttachmentId=att)
        ec2.enable_transit_gateway_route_table_propagation(TransitGatewayRouteTableId=trt,
                                                           TransitGatewayAttachmentId=att)
        ec2.create_route(RouteTableId=rt, DestinationCidrBlock=SUPERNET, TransitGatewayId=tgw)
        sg = ec2.create_security_group(GroupName=f"labnet-{name}-training", Description="bench", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": sg}]},
            {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "IpRanges": [{"CidrIp": SUPERNET}]}])
        ec2.authorize_security_group_egress(GroupId=sg, IpPermissions=[
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": sg}]}])  # 0.0.0.0/0 egress is EC2's default
        spokes[name] = {"vpc_id": vpc, "cidr": cidr, "route_table_id": rt, "attachment_id": att,
                        "security_group_id": sg, "subnets": subnets}
    return {"region": "us-east-1", "supernet": SUPERNET, "transit_gateway_id": tgw,
            "transit_gateway_route_tables": {"spokes": trt}, "spokes": spokes}


def full_mesh(snap):
    """The same snapshot with today's program's full mesh: per-spoke routes and ingress rules."""
    from labnet.analysis.snapshot import Route, SgRule

    by_vpc = {sp.vpc_id: sp for sp in snap.spokes}
    tables = []
    for t in snap.route_tables:
        me = by_vpc.get(t.vpc_id)
        if me is None or t.main:
            tables.append(t)
            continue
        tgw = me.tgw_id
        extra = tuple(Route(o.cidr, "", "transit-gateway", tgw, "active") for o in snap.spokes if o.name != me.name)
        tables.append(dataclasses.replace(t, routes=tuple(r for r in t.routes if r.destination != SUPERNET) + extra))
    groups = []
    for g in snap.security_groups:
        me = by_vpc.get(g.vpc_id)
        if me is None or g.id != me.security_group_id:
            groups.append(g)
            continue
        rules = tuple(r for r in g.rules if r.cidr != SUPERNET) + tuple(
            SgRule(f"sgr-mesh-{o.name}", False, "tcp", 0, 65535, cidr=o.cidr) for o in snap.spokes if o.name != me.name)
        groups.append(dataclasses.replace(g, rules=rules))
    return dataclasses.replace(snap, route_tables=tuple(tables), security_groups=tuple(groups))


def _median_s(fn, reps: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def _median_cpu_s(fn, reps: int) -> float:
    """CPU seconds of this process (the analysis is pure Python: on a shared machine its wall time
    is mostly waiting for a core)."""
    times = []
    for _ in range(reps):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def measure(url: str, n: int, reps: int = 3) -> dict[str, Any]:
    import boto3

    from labnet.analysis import reachability, snapshot

    reset(url)
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=url, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    ec2.describe_availability_zones()  # moto's EC2 backend costs ~1.4 s on its first request: not verify's
    t0 = time.perf_counter()
    exports = build(ec2, n)
    build_s = time.perf_counter() - t0
    with count_calls() as log:
        snapshot.read(ec2, exports, stack="bench-verify", efa=True, emulator=True)
    read_s, snap = _median_s(lambda: snapshot.read(ec2, exports, stack="bench-verify", efa=True, emulator=True), reps)
    def cold(s):  # each run parses its CIDRs afresh: no help from the previous run's cache
        reachability._block.cache_clear()
        reachability._span.cache_clear()
        return reachability.analyse(s)

    analysis_s, verdicts = _median_s(lambda: cold(snap), reps)
    analysis_cpu_s = _median_cpu_s(lambda: cold(snap), reps)
    mesh = full_mesh(snap)
    mesh_s, mesh_verdicts = _median_s(lambda: cold(mesh), reps)
    mesh_cpu_s = _median_cpu_s(lambda: cold(mesh), reps)
    blocked = sum(v.reachable is False for v in verdicts) + sum(v.reachable is False for v in mesh_verdicts)
    reset(url)
    return {"spokes": n, "build_s": build_s, "read_calls": len(log.calls), "calls": log.counts(), "read_s": read_s,
            "analysis_s": analysis_s, "mesh_analysis_s": mesh_s, "analysis_cpu_s": analysis_cpu_s,
            "mesh_analysis_cpu_s": mesh_cpu_s, "load": loadavg(), "rows": len(verdicts), "blocked": blocked,
            "snapshot_kb": len(snap.to_json()) / 1024}


def run(url: str, ns=DEFAULT_NS, reps: int = 3) -> list[dict[str, Any]]:
    out = []
    for n in ns:
        r = measure(url, n, reps)
        print(f"  {n:>3} spokes: read {r['read_calls']} EC2 calls in {r['read_s']:.2f} s "
              f"({r['snapshot_kb']:.0f} KB of JSON); analysis {r['analysis_s']:.3f} s wall / "
              f"{r['analysis_cpu_s']:.3f} s CPU as read, {r['mesh_analysis_s']:.3f} / {r['mesh_analysis_cpu_s']:.3f} s "
              f"full mesh ({r['rows']} rows, {r['blocked']} blocked, load {r['load']}); "
              f"built with raw boto3 in {r['build_s']:.1f} s", flush=True)
        out.append(r)
    return out


def main() -> None:
    ns = tuple(int(a) for a in sys.argv[1:]) or DEFAULT_NS
    with emulator() as url:
        res = run(url, ns)
    print("\n| spokes | read calls | read s | analysis s wall / CPU (as read) | analysis s wall / CPU (full mesh) | rows |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in res:
        print(f"| {r['spokes']} | {r['read_calls']} | {r['read_s']:.2f} | {r['analysis_s']:.3f} / "
              f"{r['analysis_cpu_s']:.3f} | {r['mesh_analysis_s']:.3f} / {r['mesh_analysis_cpu_s']:.3f} | {r['rows']} |")
    calls = {r["read_calls"] for r in res}
    print(f"\nread calls by N: {'constant' if len(calls) == 1 else 'GROW'} ({sorted(calls)}); calls: {res[-1]['calls']}")
    big = [r for r in res if r["spokes"] == 100]
    if big:
        worst = max(big[0]["analysis_s"], big[0]["mesh_analysis_s"])
        print(f"analysis of 100 spokes: {worst:.3f} s (target < {TARGET_S:.0f} s: {'met' if worst < TARGET_S else 'MISSED'})")


if __name__ == "__main__":
    main()
