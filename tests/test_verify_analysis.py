"""The pure analysis (labnet.analysis.reachability) without any AWS: random snapshots held against an
independent naive hop-by-hop walk (tests/naive_walk.py), and hand-built networks for the rules the
emulator cannot show (TGW peering across regions, static routes to attachments, static over
propagated routes)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labnet.analysis import reachability
from labnet.analysis.reachability import DEFAULT_PROBES, Probe, analyse, exposure
from labnet.analysis.snapshot import (NaclEntry, NetworkAcl, PrefixList, Route, RouteTable, SecurityGroup, SgRule,
                                      Snapshot, Spoke, Subnet, TgwAttachment, TgwRoute, TgwRouteTable, TransitGateway,
                                      Vpc)
from tests.naive_walk import Walk

PROBES = (*DEFAULT_PROBES, Probe("udp", 4791))
ALL_OPEN = (NaclEntry(100, True, "-1", True, "0.0.0.0/0"), NaclEntry(32767, True, "-1", False, "0.0.0.0/0"),
            NaclEntry(100, False, "-1", True, "0.0.0.0/0"), NaclEntry(32767, False, "-1", False, "0.0.0.0/0"))


def rows(snap, probes=PROBES):
    return {(v.src_spoke, v.dst_spoke, v.probe): (v.reachable, v.reason, v.blocked_at, v.path)
            for v in analyse(snap, probes)}


# -- random snapshots -----------------------------------------------------------------------------
@st.composite
def snapshots(draw):
    n = draw(st.integers(2, 4))
    two_tgws = n >= 3 and draw(st.booleans())
    tgw_of = {i: ("tgw-2" if two_tgws and i % 2 else "tgw-1") for i in range(n)}
    region_of = {i: ("r2" if tgw_of[i] == "tgw-2" else "r1") for i in range(n)}
    cidr = {i: f"10.{i}.0.0/16" for i in range(n)}
    vpcs, subnets, rts, atts, sgs, acls, pls, spokes = [], [], [], [], [], [], [], []
    pl_cidrs = draw(st.lists(st.sampled_from([cidr[i] for i in range(n)] + ["10.0.0.0/8", "192.168.0.0/16"]),
                             max_size=3, unique=True))
    pls.append(PrefixList("pl-spokes", "r1", "spokes", "111122223333", tuple(pl_cidrs)))
    state = st.sampled_from(["available"] * 10 + ["pending", "deleted"])
    for i in range(n):
        r, az = region_of[i], (f"{region_of[i]}a", f"{region_of[i]}b")
        vpcs.append(Vpc(f"vpc-{i}", r, (cidr[i],)))
        compute = [Subnet(f"subnet-{i}-ca", r, f"vpc-{i}", az[0], f"10.{i}.0.0/24")]
        if draw(st.integers(0, 3)) == 0:
            compute.append(Subnet(f"subnet-{i}-cb", r, f"vpc-{i}", az[1], f"10.{i}.1.0/24"))
        attach = [Subnet(f"subnet-{i}-a{k}", r, f"vpc-{i}", az[k], f"10.{i}.255.{16 * k}/28")
                  for k in range(2) if draw(st.integers(0, 5)) > 0]
        subnets += compute + attach
        tgw = tgw_of[i]
        routes = [Route(cidr[i], "", "local", "local", "active")]
        for j in range(n):
            if j == i:
                continue
            kind = draw(st.sampled_from(["tgw"] * 10 + ["none", "blackhole", "igw"]))
            if kind == "tgw":
                routes.append(Route(cidr[j], "", "transit-gateway", tgw, "active"))
            elif kind == "blackhole":
                routes.append(Route(cidr[j], "", "transit-gateway", tgw, "blackhole"))
            elif kind == "igw":
                routes.append(Route(cidr[j], "", "gateway", f"igw-{i}", "active"))
        if draw(st.integers(0, 3)) == 0:
            routes.append(Route("10.0.0.0/8", "", "transit-gateway", tgw, "active"))
        if draw(st.integers(0, 3)) == 0:
            routes.append(Route("", "pl-spokes", "transit-gateway", tgw, "active"))
        if draw(st.integers(0, 5)) == 0:  # a route more specific than the local one, elsewhere
            routes.append(Route(f"10.{i}.0.0/24", "", "network-interface", f"eni-{i}", "active"))
        separate = draw(st.booleans())
        main_for_all = draw(st.integers(0, 4)) == 0
        rts.append(RouteTable(f"rtb-{i}", r, f"vpc-{i}", main_for_all,
                              () if main_for_all else tuple(s.id for s in compute + ([] if separate else attach)),
                              tuple(routes)))
        if separate and not main_for_all:
            rts.append(RouteTable(f"rtb-{i}-att", r, f"vpc-{i}", False, tuple(s.id for s in attach),
                                  (Route(cidr[i], "", "local", "local", "active"),)))
        if not main_for_all:
            rts.append(RouteTable(f"rtb-{i}-main", r, f"vpc-{i}", True, (), (Route(cidr[i], "", "local", "local",
                                                                                   "active"),)))
        att_subnets = tuple(s.id for s in attach) + (
            (compute[0].id,) if draw(st.integers(0, 6)) == 0 else ())
        atts.append(TgwAttachment(f"tgw-attach-{i}", r, tgw, "vpc", f"vpc-{i}", draw(state), att_subnets,
                                  sg_referencing=draw(st.sampled_from(["enable"] * 3 + ["disable"]))))
        g = f"sg-{i}"
        rules = []
        if draw(st.integers(0, 6)):
            rules.append(SgRule(f"sgr-{i}-si", False, "-1", -1, -1, group_id=g))
        if draw(st.integers(0, 6)):
            rules.append(SgRule(f"sgr-{i}-se", True, "-1", -1, -1, group_id=g))
        if draw(st.integers(0, 8)):
            rules.append(SgRule(f"sgr-{i}-eo", True, "-1", -1, -1, cidr="0.0.0.0/0"))
        for j in range(n):
            if j == i:
                continue
            kind = draw(st.sampled_from(["all-tcp"] * 4 + ["none", "one-port", "udp", "any", "half", "ref", "ref",
                                                          "ref-out"]))
            if kind == "ref":  # the peer's group by reference across the TGW (issue 19)
                rules.append(SgRule(f"sgr-{i}-{j}", False, "tcp", 0, 65535, group_id=f"sg-{j}"))
            elif kind == "ref-out":  # an outbound reference: never carried across a TGW
                rules.append(SgRule(f"sgr-{i}-{j}", True, "tcp", 0, 65535, group_id=f"sg-{j}"))
            elif kind == "all-tcp":
                rules.append(SgRule(f"sgr-{i}-{j}", False, "tcp", 0, 65535, cidr=cidr[j]))
            elif kind == "one-port":
                rules.append(SgRule(f"sgr-{i}-{j}", False, "tcp", 29500, 29500, cidr=cidr[j]))
            elif kind == "udp":
                rules.append(SgRule(f"sgr-{i}-{j}", False, "udp", 0, 65535, cidr=cidr[j]))
            elif kind == "any":
                rules.append(SgRule(f"sgr-{i}-{j}", False, "-1", -1, -1, cidr=cidr[j]))
            elif kind == "half":  # covers only half of the spoke's compute subnet
                rules.append(SgRule(f"sgr-{i}-{j}", False, "tcp", 0, 65535, cidr=f"10.{j}.0.0/25"))
        if draw(st.integers(0, 3)) == 0:
            rules.append(SgRule(f"sgr-{i}-pl", False, "tcp", 0, 65535, prefix_list_id="pl-spokes"))
        sgs.append(SecurityGroup(g, r, f"vpc-{i}", f"training-{i}", tuple(rules)))
        extra = []
        for k in range(draw(st.integers(0, 3))):
            p = draw(st.sampled_from(["-1", "6", "17"]))
            lo, hi = draw(st.sampled_from([(29500, 29500), (1024, 65535), (0, 1023), (50000, 50010), (-1, -1)]))
            if p == "-1":
                lo, hi = -1, -1
            extra.append(NaclEntry(draw(st.sampled_from([10, 50, 99, 150])) + k, draw(st.booleans()), p,
                                   draw(st.booleans()),
                                   draw(st.sampled_from([cidr[(i + 1) % n], f"10.{i}.0.0/24", "0.0.0.0/0",
                                                         "10.0.0.0/8", f"10.{(i + 1) % n}.0.0/25"])), "", lo, hi))
        custom_acl = draw(st.integers(0, 4)) == 0
        acls.append(NetworkAcl(f"acl-{i}", r, f"vpc-{i}", True,  # one ACL per subnet, as on AWS
                               tuple(s.id for s in compute[custom_acl:] + attach), tuple(extra) + ALL_OPEN))
        if custom_acl:  # a custom ACL on the compute subnet: only what it lists passes
            custom = tuple(NaclEntry(k + 1, eg, "-1", True, c) for k, (eg, c) in enumerate(
                draw(st.lists(st.tuples(st.booleans(), st.sampled_from(["10.0.0.0/8", cidr[(i + 1) % n],
                                                                        "0.0.0.0/0"])), max_size=3))))
            acls.append(NetworkAcl(f"acl-{i}-c", r, f"vpc-{i}", False, (compute[0].id,),
                                   custom + (NaclEntry(32767, True, "-1", False, "0.0.0.0/0"),
                                             NaclEntry(32767, False, "-1", False, "0.0.0.0/0"))))
        spokes.append(Spoke(f"s{i}", r, f"vpc-{i}", cidr[i], tuple(s.id for s in compute), g, f"tgw-attach-{i}", tgw,
                            draw(st.sampled_from([True, None, False]))))
    refs = st.sampled_from(["enable"] * 3 + ["disable"])
    tgws = [TransitGateway("tgw-1", "r1", "available", draw(refs))]
    if two_tgws:
        tgws.append(TransitGateway("tgw-2", "r2", "available", draw(refs)))
        atts.append(TgwAttachment("tgw-attach-p", "r1", "tgw-1", "peering", "tgw-2", draw(state), (), "tgw-2", "r2"))
        atts.append(TgwAttachment("tgw-attach-p", "r2", "tgw-2", "peering", "tgw-1", draw(state), (), "tgw-1", "r1"))
    tables = []
    for t in tgws:
        ids = [f"tgw-rtb-{t.id}-{k}" for k in range(draw(st.integers(1, 2)))]
        mine = [a for a in atts if a.tgw_id == t.id]
        assoc = {tid: [] for tid in ids}
        for a in mine:
            pick = None if draw(st.integers(0, 5)) == 0 else draw(st.sampled_from(ids))
            if pick:
                assoc[pick].append(a.id)
        for tid in ids:
            props = tuple(a.id for a in mine if a.resource_type == "vpc" and draw(st.integers(0, 6)) > 0)
            static = []
            for i in range(n):
                kind = draw(st.sampled_from(["none"] * 5 + ["blackhole", "peering", "empty", "vpc"]))
                if kind == "blackhole":
                    static.append(TgwRoute(cidr[i], (), "blackhole"))
                elif kind == "peering" and two_tgws:
                    static.append(TgwRoute(cidr[i], ("tgw-attach-p",), "active"))
                elif kind == "empty":
                    static.append(TgwRoute(cidr[i], (), "active"))
                elif kind == "vpc":
                    static.append(TgwRoute(cidr[i], (f"tgw-attach-{draw(st.integers(0, n - 1))}",), "active"))
            if two_tgws:  # the usual inter-region design: the remote spokes' CIDRs via the peering
                for i in range(n):
                    if tgw_of[i] != t.id and draw(st.integers(0, 4)) > 0:
                        static.append(TgwRoute(cidr[i], ("tgw-attach-p",), "active"))
            dedup = {}
            for x in static:
                dedup.setdefault(x.destination, x)  # one static route per prefix, as on AWS
            tables.append(TgwRouteTable(tid, t.region, t.id, tuple(assoc[tid]), props, tuple(dedup.values())))
    return Snapshot("prop", "2026-01-01T00:00:00Z", tuple(spokes), tuple(vpcs), tuple(subnets), tuple(rts),
                    tuple(tgws), tuple(atts), tuple(tables), tuple(sgs), tuple(acls), tuple(pls))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots())
def test_analysis_agrees_with_a_naive_hop_by_hop_walk(snap):
    assert rows(snap) == Walk(snap).matrix(PROBES)


@st.composite
def region_snapshots(draw):
    """Networks across 2-3 regions laid out as labnet lays them out (one TGW per region, a peering per
    pair of regions, each region's spokes inside its /16 block, VPC routes for the supernet), then
    broken at random: peering states drawn per side (or one side not read at all), peerings
    unassociated, static routes for a region's block missing, blackholed, sent down the wrong peering
    (through a third region, or back and forth) or to a VPC attachment, per-spoke static routes,
    propagations off, VPC routes and security group rules missing, network ACL denies."""
    k = draw(st.integers(2, 3))
    regions = [f"r{i}" for i in range(k)]
    per = {r: draw(st.integers(1, 3)) for r in regions}
    block = {r: f"10.{i}.0.0/16" for i, r in enumerate(regions)}
    # Each choice is healthy most of the time, so that most networks are broken in a place or two.
    healthy = draw(st.sampled_from([8, 30, 100]))
    state = st.sampled_from(["available"] * healthy + ["pendingAcceptance", "deleted", "failed"])
    parts, spokes_of = [], {}
    for i, r in enumerate(regions):
        tgw = f"tgw-{r}"
        spokes_of[r] = []
        for j in range(per[r]):
            n = 10 * i + j
            cidr = f"10.{i}.{16 * j}.0/20"
            route = draw(st.sampled_from(["supernet"] * healthy + ["regions"] * 3 + ["none", "blackhole"]))
            routes = [Route(cidr, "", "local", "local", "active")]
            if route == "supernet":
                routes.append(Route("10.0.0.0/8", "", "transit-gateway", tgw, "active"))
            elif route == "regions":  # one route per region block: the own block too (local wins)
                routes += [Route(b, "", "transit-gateway", tgw, "active") for b in block.values()]
            elif route == "blackhole":
                routes.append(Route("10.0.0.0/8", "", "transit-gateway", tgw, "blackhole"))
            vpc = Vpc(f"vpc-{n}", r, (cidr,))
            compute = Subnet(f"subnet-{n}-c", r, vpc.id, f"{r}a", f"10.{i}.{16 * j}.0/24")
            attach = Subnet(f"subnet-{n}-a", r, vpc.id, f"{r}a", f"10.{i}.{16 * j + 15}.240/28")
            rules = [SgRule(f"sgr-{n}-si", False, "-1", -1, -1, group_id=f"sg-{n}"),
                     SgRule(f"sgr-{n}-se", True, "-1", -1, -1, group_id=f"sg-{n}"),
                     SgRule(f"sgr-{n}-eo", True, "-1", -1, -1, cidr="0.0.0.0/0")]
            admit = draw(st.sampled_from(["supernet"] * healthy + ["own-region", "none", "one-port"]))
            if admit == "supernet":
                rules.append(SgRule(f"sgr-{n}-in", False, "tcp", 0, 65535, cidr="10.0.0.0/8"))
            elif admit == "own-region":
                rules.append(SgRule(f"sgr-{n}-in", False, "tcp", 0, 65535, cidr=block[r]))
            elif admit == "one-port":
                rules.append(SgRule(f"sgr-{n}-in", False, "tcp", 29500, 29500, cidr="10.0.0.0/8"))
            entries = ALL_OPEN
            if draw(st.integers(0, healthy)) == 0:
                other = draw(st.sampled_from([b for b in block.values() if b != block[r]]))
                entries = (NaclEntry(50, draw(st.booleans()), "-1", False, other),) + ALL_OPEN
            att = TgwAttachment(f"tgw-attach-{n}", r, tgw, "vpc", vpc.id,
                                "available" if draw(st.integers(0, healthy)) else "deleted", (attach.id,))
            parts.append(dict(
                spokes=[Spoke(f"s{n}", r, vpc.id, cidr, (compute.id,), f"sg-{n}", att.id, tgw, True)],
                vpcs=[vpc], subnets=[compute, attach],
                route_tables=[RouteTable(f"rtb-{n}", r, vpc.id, True, (), tuple(routes))],
                security_groups=[SecurityGroup(f"sg-{n}", r, vpc.id, f"g{n}", tuple(rules))],
                network_acls=[NetworkAcl(f"acl-{n}", r, vpc.id, True, (), entries)], attachments=[att]))
            spokes_of[r].append(att.id)
    peering = {}
    atts = []
    for a in range(k):
        for b in range(a + 1, k):
            ra, rb = regions[a], regions[b]
            pid = f"tgw-attach-p{a}{b}"
            peering[(ra, rb)] = peering[(rb, ra)] = pid
            seen = draw(st.sampled_from(["both"] * healthy + ["requester only", "accepter only"]))
            for here, there in ((ra, rb), (rb, ra)):
                if seen == "both" or (seen == "requester only") == (here == ra):
                    atts.append(TgwAttachment(pid, here, f"tgw-{here}", "peering", f"tgw-{there}", draw(state), (),
                                              f"tgw-{there}", there))
    tables = []
    for r in regions:
        tgw = f"tgw-{r}"
        ids = [f"tgw-rtb-{r}-{t}" for t in range(draw(st.integers(1, 2)))]
        assoc = {t: [] for t in ids}
        mine = spokes_of[r] + [peering[(r, o)] for o in regions if o != r]
        for aid in mine:
            if draw(st.integers(0, healthy)):
                assoc[ids[0] if draw(st.integers(0, 3)) else draw(st.sampled_from(ids))].append(aid)
        for t in ids:
            props = tuple(aid for aid in spokes_of[r] if draw(st.integers(0, healthy)))
            static = []
            for o in regions:
                if o == r:
                    continue
                kind = draw(st.sampled_from(["peering"] * healthy + ["none", "blackhole", "wrong", "vpc", "spoke"]))
                if kind == "peering":
                    static.append(TgwRoute(block[o], (peering[(r, o)],), "active"))
                elif kind == "blackhole":
                    static.append(TgwRoute(block[o], (), "blackhole"))
                elif kind == "wrong":  # down another peering: through a third region, or back and forth
                    via = draw(st.sampled_from([x for x in regions if x != r]))
                    static.append(TgwRoute(block[o], (peering[(r, via)],), "active"))
                elif kind == "vpc":
                    static.append(TgwRoute(block[o], (draw(st.sampled_from(spokes_of[r])),), "active"))
                elif kind == "spoke":  # one more specific route, for the first spoke there only
                    static.append(TgwRoute(block[o], (peering[(r, o)],), "active"))
                    static.append(TgwRoute(f"10.{regions.index(o)}.0.0/20", (), "blackhole"))
            tables.append(TgwRouteTable(t, r, tgw, tuple(assoc[t]), props, tuple(static)))
    return build(parts + [{"attachments": atts}], [TransitGateway(f"tgw-{r}", r, "available") for r in regions],
                 tables)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(region_snapshots())
def test_analysis_agrees_with_the_naive_walk_across_regions(snap):
    assert rows(snap) == Walk(snap).matrix(PROBES)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(region_snapshots())
def test_across_regions_every_blocked_row_names_a_resource_of_the_snapshot(snap):
    ids = {x.id for part in (snap.vpcs, snap.subnets, snap.route_tables, snap.attachments, snap.tgw_route_tables,
                             snap.security_groups, snap.network_acls, snap.transit_gateways) for x in part}
    region = {sp.name: sp.region for sp in snap.spokes}
    for v in analyse(snap, PROBES):
        assert (v.src_region, v.dst_region) == (region[v.src_spoke], region[v.dst_spoke])
        if v.reachable is False:
            assert v.blocked_at in ids and v.path in ("forward", "return") and v.detail


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots())
def test_snapshot_round_trips_through_json(snap):
    again = Snapshot.from_json(snap.to_json())
    assert again == snap
    assert json.loads(again.to_json()) == json.loads(snap.to_json())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshots())
def test_every_blocked_row_names_a_code_a_resource_of_the_snapshot_and_a_path(snap):
    ids = {x.id for part in (snap.vpcs, snap.subnets, snap.route_tables, snap.attachments, snap.tgw_route_tables,
                             snap.security_groups, snap.network_acls, snap.transit_gateways) for x in part}
    ids |= {sp.attachment_id for sp in snap.spokes}
    for v in analyse(snap, PROBES):
        if v.reachable is False:
            assert v.reason in reachability.CODES and v.reason != "NOT_APPLICABLE"
            assert v.blocked_at in ids and v.path in ("forward", "return") and v.detail
        elif v.reachable is None:
            assert v.reason == "NOT_APPLICABLE" and v.probe == "efa"
        else:
            assert (v.reason, v.blocked_at, v.path, v.detail) == ("", "", "", "")


# -- hand-built networks --------------------------------------------------------------------------
def spoke_net(i, region, tgw, routes_to=(), sg_from=(), az=None):
    """One spoke: VPC 10.i.0.0/16, compute 10.i.0.0/24 and attachment 10.i.255.0/28 in one AZ."""
    az = az or f"{region}a"
    vpc = Vpc(f"vpc-{i}", region, (f"10.{i}.0.0/16",))
    subnets = (Subnet(f"subnet-{i}-c", region, vpc.id, az, f"10.{i}.0.0/24"),
               Subnet(f"subnet-{i}-a", region, vpc.id, az, f"10.{i}.255.0/28"))
    routes = (Route(f"10.{i}.0.0/16", "", "local", "local", "active"),
              *(Route(c, "", "transit-gateway", tgw, "active") for c in routes_to))
    rt = RouteTable(f"rtb-{i}", region, vpc.id, True, (), routes)
    sg = SecurityGroup(f"sg-{i}", region, vpc.id, f"g{i}", (
        SgRule("self-in", False, "-1", -1, -1, group_id=f"sg-{i}"), SgRule("self-out", True, "-1", -1, -1, group_id=f"sg-{i}"),
        SgRule("out", True, "-1", -1, -1, cidr="0.0.0.0/0"),
        *(SgRule(f"in-{c}", False, "tcp", 0, 65535, cidr=c) for c in sg_from)))
    acl = NetworkAcl(f"acl-{i}", region, vpc.id, True, (), ALL_OPEN)
    att = TgwAttachment(f"tgw-attach-{i}", region, tgw, "vpc", vpc.id, "available", (subnets[1].id,))
    spoke = Spoke(f"s{i}", region, vpc.id, vpc.cidrs[0], (subnets[0].id,), sg.id, att.id, tgw, True)
    return dict(spokes=[spoke], vpcs=[vpc], subnets=list(subnets), route_tables=[rt], security_groups=[sg],
                network_acls=[acl], attachments=[att])


def build(parts, tgws, tables):
    merged: dict[str, list] = {}
    for p in parts:
        for k, v in p.items():
            merged.setdefault(k, []).extend(v)
    return Snapshot("hand", "2026-01-01T00:00:00Z", **{k: tuple(v) for k, v in merged.items()},
                    transit_gateways=tuple(tgws), tgw_route_tables=tuple(tables))


def two_regions(peer_state="available", static_in_2=True, assoc_peering_2=True):
    """s0 in r1 on tgw-1, s1 in r2 on tgw-2, peered; each side routes the other's CIDR to the peering."""
    a = spoke_net(0, "r1", "tgw-1", routes_to=["10.1.0.0/16"], sg_from=["10.1.0.0/16"])
    b = spoke_net(1, "r2", "tgw-2", routes_to=["10.0.0.0/16"], sg_from=["10.0.0.0/16"])
    peer = [TgwAttachment("tgw-attach-p", "r1", "tgw-1", "peering", "tgw-2", peer_state, (), "tgw-2", "r2"),
            TgwAttachment("tgw-attach-p", "r2", "tgw-2", "peering", "tgw-1", peer_state, (), "tgw-1", "r1")]
    t1 = TgwRouteTable("tgw-rtb-1", "r1", "tgw-1", ("tgw-attach-0", "tgw-attach-p"), ("tgw-attach-0",),
                       (TgwRoute("10.1.0.0/16", ("tgw-attach-p",), "active"),))
    t2 = TgwRouteTable("tgw-rtb-2", "r2", "tgw-2", ("tgw-attach-1",) + (("tgw-attach-p",) if assoc_peering_2 else ()),
                       ("tgw-attach-1",),
                       (TgwRoute("10.0.0.0/16", ("tgw-attach-p",), "active"),) if static_in_2 else ())
    return build([a, b, {"attachments": peer}], [TransitGateway("tgw-1", "r1", "available"),
                                                 TransitGateway("tgw-2", "r2", "available")], [t1, t2])


def test_peered_regions_are_reachable_through_the_peering_attachment():
    got = rows(two_regions(), DEFAULT_PROBES)
    assert all(r[0] in (True, None) for r in got.values()), got
    assert got[("s0", "s1", "tcp:29500")] == (True, "", "", "")


def test_a_missing_static_route_in_the_peer_region_is_named():
    got = rows(two_regions(static_in_2=False))
    # s0 -> s1 arrives in r2 over the peering, and tgw-rtb-2 has nothing back to 10.0.0.0/16
    assert got[("s0", "s1", "tcp:29500")] == (False, "TGW_NO_ROUTE", "tgw-rtb-2", "return")
    assert got[("s1", "s0", "tcp:29500")] == (False, "TGW_NO_ROUTE", "tgw-rtb-2", "forward")


def test_a_peering_attachment_down_or_unassociated_is_named():
    got = rows(two_regions(peer_state="pendingAcceptance"))
    assert got[("s0", "s1", "tcp:29500")] == (False, "ATTACHMENT_NOT_AVAILABLE", "tgw-attach-p", "forward")
    got = rows(two_regions(assoc_peering_2=False))
    assert got[("s0", "s1", "tcp:29500")] == (False, "TGW_NOT_ASSOCIATED", "tgw-attach-p", "forward")


def test_a_missing_route_to_a_remote_spoke_names_the_peering_to_route_it_through():
    (v,) = [v for v in analyse(two_regions(static_in_2=False), DEFAULT_PROBES[:1])
            if (v.src_spoke, v.dst_spoke) == ("s1", "s0")]
    assert (v.reason, v.blocked_at, v.src_region, v.dst_region) == ("TGW_NO_ROUTE", "tgw-rtb-2", "r2", "r1")
    assert "peering attachment tgw-attach-p" in v.detail and "static route" in v.detail and "tgw-1 (r1)" in v.detail


def test_a_peering_the_other_side_does_not_report_is_not_associated_there():
    snap = two_regions()
    snap = Snapshot(**{**snap.__dict__, "attachments": tuple(a for a in snap.attachments if a.region != "r2"
                                                             or a.resource_type != "peering"),
                       "tgw_route_tables": tuple(
                           TgwRouteTable(t.id, t.region, t.tgw_id, tuple(x for x in t.associations if x != "tgw-attach-p")
                                         if t.region == "r2" else t.associations, t.propagations, t.static_routes)
                           for t in snap.tgw_route_tables)})
    got = rows(snap, DEFAULT_PROBES[:1])
    assert got[("s0", "s1", "tcp:29500")] == (False, "TGW_NOT_ASSOCIATED", "tgw-attach-p", "forward")
    # r2 -> r1: r2's table sends the block to an attachment r2 does not have
    assert got[("s1", "s0", "tcp:29500")] == (False, "ATTACHMENT_NOT_AVAILABLE", "tgw-attach-p", "forward")


def test_three_regions_a_route_through_a_middle_region_is_followed():
    """r1 -> r3 via r2 (two peerings, static routes at each TGW), and the way back likewise."""
    a = spoke_net(0, "r1", "tgw-1", routes_to=["10.0.0.0/8"], sg_from=["10.0.0.0/8"])
    b = spoke_net(1, "r2", "tgw-2", routes_to=["10.0.0.0/8"], sg_from=["10.0.0.0/8"])
    c = spoke_net(2, "r3", "tgw-3", routes_to=["10.0.0.0/8"], sg_from=["10.0.0.0/8"])
    peer = [TgwAttachment("tgw-attach-p12", "r1", "tgw-1", "peering", "tgw-2", "available", (), "tgw-2", "r2"),
            TgwAttachment("tgw-attach-p12", "r2", "tgw-2", "peering", "tgw-1", "available", (), "tgw-1", "r1"),
            TgwAttachment("tgw-attach-p23", "r2", "tgw-2", "peering", "tgw-3", "available", (), "tgw-3", "r3"),
            TgwAttachment("tgw-attach-p23", "r3", "tgw-3", "peering", "tgw-2", "available", (), "tgw-2", "r2")]
    t1 = TgwRouteTable("tgw-rtb-1", "r1", "tgw-1", ("tgw-attach-0", "tgw-attach-p12"), ("tgw-attach-0",),
                       (TgwRoute("10.0.0.0/8", ("tgw-attach-p12",), "active"),))
    t2 = TgwRouteTable("tgw-rtb-2", "r2", "tgw-2", ("tgw-attach-1", "tgw-attach-p12", "tgw-attach-p23"),
                       ("tgw-attach-1",), (TgwRoute("10.0.0.0/16", ("tgw-attach-p12",), "active"),
                                           TgwRoute("10.2.0.0/16", ("tgw-attach-p23",), "active")))
    t3 = TgwRouteTable("tgw-rtb-3", "r3", "tgw-3", ("tgw-attach-2", "tgw-attach-p23"), ("tgw-attach-2",),
                       (TgwRoute("10.0.0.0/8", ("tgw-attach-p23",), "active"),))
    tgws = [TransitGateway(f"tgw-{i}", f"r{i}", "available") for i in (1, 2, 3)]
    got = rows(build([a, b, c, {"attachments": peer}], tgws, [t1, t2, t3]), DEFAULT_PROBES[:1])
    assert all(v[0] for v in got.values()), got
    # without r2's route onward to r3, r1 -> r3 stops in r2's table; r3 -> r1 gets there but not back
    t2_cut = TgwRouteTable(t2.id, t2.region, t2.tgw_id, t2.associations, t2.propagations, t2.static_routes[:1])
    got = rows(build([a, b, c, {"attachments": peer}], tgws, [t1, t2_cut, t3]), DEFAULT_PROBES[:1])
    assert got[("s0", "s2", "tcp:29500")] == (False, "TGW_NO_ROUTE", "tgw-rtb-2", "forward")
    assert got[("s2", "s0", "tcp:29500")] == (False, "TGW_NO_ROUTE", "tgw-rtb-2", "return")
    assert got[("s0", "s1", "tcp:29500")][0] and got[("s1", "s2", "tcp:29500")][0] is False


def one_region(static=(), props=("tgw-attach-0", "tgw-attach-1")):
    a = spoke_net(0, "r1", "tgw-1", routes_to=["10.1.0.0/16"], sg_from=["10.1.0.0/16"])
    b = spoke_net(1, "r1", "tgw-1", routes_to=["10.0.0.0/16"], sg_from=["10.0.0.0/16"])
    t = TgwRouteTable("tgw-rtb-1", "r1", "tgw-1", ("tgw-attach-0", "tgw-attach-1"), props, tuple(static))
    return build([a, b], [TransitGateway("tgw-1", "r1", "available")], [t])


def test_static_wins_over_propagated_for_the_same_prefix_and_longest_prefix_wins_overall():
    assert rows(one_region())[("s0", "s1", "tcp:29500")][0] is True
    # same prefix as s1's propagated route: the static blackhole wins
    got = rows(one_region(static=[TgwRoute("10.1.0.0/16", (), "blackhole")]))
    assert got[("s0", "s1", "tcp:29500")] == (False, "TGW_BLACKHOLE", "tgw-rtb-1", "forward")
    # a shorter static blackhole loses to the longer propagated route
    assert rows(one_region(static=[TgwRoute("10.0.0.0/8", (), "blackhole")]))[("s0", "s1", "tcp:29500")][0] is True
    # a static route to the right attachment stands in for a disabled propagation
    got = rows(one_region(static=[TgwRoute("10.1.0.0/16", ("tgw-attach-1",), "active")], props=("tgw-attach-0",)))
    assert got[("s0", "s1", "tcp:29500")] == (True, "", "", "")
    # a static route to the wrong VPC's attachment
    got = rows(one_region(static=[TgwRoute("10.1.0.0/16", ("tgw-attach-0",), "active")]))
    assert got[("s0", "s1", "tcp:29500")] == (False, "TGW_NO_ROUTE", "tgw-rtb-1", "forward")


def test_efa_needs_both_self_rules_and_stays_inside_a_spoke():
    snap = one_region()
    got = rows(snap)
    assert got[("s0", "s0", "efa")] == (True, "", "", "")
    assert got[("s0", "s1", "efa")][:2] == (None, "NOT_APPLICABLE")
    sg = snap.security_groups[0]
    no_self_out = SecurityGroup(sg.id, sg.region, sg.vpc_id, sg.name, tuple(r for r in sg.rules if r.id != "self-out"))
    snap2 = Snapshot(**{**snap.__dict__, "security_groups": (no_self_out, *snap.security_groups[1:])})
    got = rows(snap2)
    assert got[("s0", "s0", "efa")] == (False, "SG_EGRESS", "sg-0", "forward")
    assert got[("s0", "s0", "tcp:29500")] == (True, "", "", "")  # 0.0.0.0/0 still carries TCP, not EFA
    ena = Snapshot(**{**snap.__dict__, "spokes": tuple(
        Spoke(**{**sp.__dict__, "efa": False}) for sp in snap.spokes)})
    assert rows(ena)[("s0", "s0", "efa")][:2] == (None, "NOT_APPLICABLE")
    assert {v.transport for v in analyse(ena) if v.src_spoke == v.dst_spoke} == {"tcp"}


def test_exposure_finds_outside_sources_only():
    snap = one_region()
    sg = snap.security_groups[0]
    extra = (SgRule("world", False, "tcp", 22, 22, cidr="0.0.0.0/0"), SgRule("v6", False, "-1", -1, -1, cidr_v6="::/0"),
             SgRule("foreign", False, "tcp", 443, 443, cidr="172.16.0.0/12"),
             SgRule("inside", False, "tcp", 1, 2, cidr="10.1.0.0/24"),
             SgRule("plist", False, "tcp", 0, 65535, prefix_list_id="pl-mixed"),
             SgRule("pl-unknown", False, "tcp", 0, 65535, prefix_list_id="pl-gone"),
             SgRule("other-group", False, "-1", -1, -1, group_id="sg-elsewhere"),
             SgRule("wide-out", True, "-1", -1, -1, cidr="0.0.0.0/0"))
    snap = Snapshot(**{**snap.__dict__, "security_groups": (
        SecurityGroup(sg.id, sg.region, sg.vpc_id, sg.name, sg.rules + extra), *snap.security_groups[1:]),
        "prefix_lists": (PrefixList("pl-mixed", "r1", "mixed", "1", ("10.0.0.0/16", "198.51.100.0/24")),)})
    found = {(f.resource_id, f.rule): f for f in exposure(snap)}
    sg_rules = {rule for (rid, rule) in found if rid == "sg-0"}
    assert sg_rules == {"world", "v6", "foreign", "plist", "pl-unknown", "other-group"}
    assert found[("sg-0", "world")].why == "the whole internet" and found[("sg-0", "world")].ports == "22"
    assert "198.51.100.0/24" in found[("sg-0", "plist")].why
    assert {rid for (rid, rule) in found if rule == "100"} == {"acl-0", "acl-1"}  # default ACLs admit all


def test_probes_are_checked_and_parsed():
    assert reachability.check_probes(["tcp:22", "efa", Probe("udp", 53)]) == (
        Probe("tcp", 22), Probe("efa"), Probe("udp", 53))
    for bad in ("tcp", "tcp:x", "icmp:1", "efa:3", "tcp:-1", 22, Probe("tcp", True), Probe("sctp", 1)):
        with pytest.raises(reachability.InvalidSpecError):
            reachability.check_probes([bad])


def test_the_analysis_loads_neither_boto3_nor_pandas():
    code = ("import sys; import labnet.analysis.reachability, labnet.analysis.snapshot; "
            "print(sorted(m for m in ('boto3', 'pandas', 'pulumi', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the tables and the picture -------------------------------------------------------------------
def test_frames_matrix_summary_and_heatmap(tmp_path):
    import labnet
    from labnet.analysis import verify

    snap = one_region(static=[TgwRoute("10.1.0.0/16", (), "blackhole")])
    frame = verify.connectivity(analyse(snap))
    assert list(frame.columns) == verify.COLUMNS
    assert str(frame.reachable.dtype) == "boolean" and frame.reachable.isna().sum() == 2  # EFA across spokes
    assert not verify.all_reachable(frame)
    assert set(verify.blocked(frame).reason) == {"TGW_BLACKHOLE"}
    m = verify.matrix(frame)
    assert m.loc["s0", "s0"] == "ok" and m.loc["s0", "s1"] == "TGW_BLACKHOLE (tcp:29500, tcp:50000)"
    assert verify.summary(frame).startswith("2 of 4 spoke pairs reachable")
    fig = labnet.heatmap.draw(frame)
    assert fig._repr_png_().startswith(b"\x89PNG")
    assert labnet.heatmap.save(frame, tmp_path / "m.svg", probe="tcp:29500").read_text().startswith("<?xml")
    for bad in (lambda: labnet.heatmap.save(frame, tmp_path / "m.gif"), lambda: labnet.heatmap.draw("frame"),
                lambda: labnet.heatmap.draw(frame, probe="tcp:1"), lambda: labnet.heatmap.draw(frame.iloc[0:0])):
        with pytest.raises(labnet.InvalidSpecError):
            bad()
    healthy = verify.connectivity(analyse(one_region()))
    assert verify.all_reachable(healthy) and healthy.reachable.all()


def test_heatmap_of_many_spokes_draws_without_labels():
    import labnet
    from labnet.analysis import verify

    n = 40
    parts = [spoke_net(i, "r1", "tgw-1", routes_to=[f"10.{j}.0.0/16" for j in range(n) if j != i],
                       sg_from=[f"10.{j}.0.0/16" for j in range(n) if j != i]) for i in range(n)]
    table = TgwRouteTable("tgw-rtb-1", "r1", "tgw-1", tuple(f"tgw-attach-{i}" for i in range(n)),
                          tuple(f"tgw-attach-{i}" for i in range(n)), ())
    frame = verify.connectivity(analyse(build(parts, [TransitGateway("tgw-1", "r1", "available")], [table])))
    assert len(frame) == n * n * 3 and verify.all_reachable(frame)
    assert labnet.heatmap.draw(frame)._repr_png_().startswith(b"\x89PNG")
