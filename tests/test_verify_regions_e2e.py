"""Verify across regions, end to end: 2 regions × 2 spokes deployed by the rehearsal engine on a real moto
server, read region by region, broken one fault at a time with an independent boto3 client per region,
then restored.

A Transit Gateway is regional: a packet from us-east-1 to us-west-2 leaves its VPC for the east TGW, is
routed by the east TGW route table (a static route for the west region's block, via the peering
attachment), crosses the peering, is routed again by the west TGW route table associated with the
peering attachment (the destination VPC's propagated route) and lands in the destination VPC; the reply
takes the mirror path. So a fault on one side blocks the pairs across the region boundary in the
direction whose packets meet it: on the forward path from one region, on the return path from the
other. The expectations below are written out per fault from that, not computed by labnet.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request

import boto3
import pytest

import labnet
from tests.helpers import verdicts
from labnet.analysis import snapshot as snapshot_mod
from labnet.analysis import verify

pytestmark = pytest.mark.e2e

EAST, WEST = "us-east-1", "us-west-2"
TCP = ("tcp:29500", "tcp:50000")
STACK = "verify-regions"


def _reset(url: str) -> None:
    req = urllib.request.Request(url + "/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(req, timeout=10).read()


def _client(url: str, region: str):
    return boto3.client("ec2", region_name=region, endpoint_url=url, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


class Net:
    """The deployed network and the ids a fault needs, from the outputs; an independent client per region."""

    def __init__(self, lab: labnet.Lab, url: str) -> None:
        self.lab = lab
        self.ec2 = {r: _client(url, r) for r in (EAST, WEST)}
        ex = lab.exports()
        self.sp = ex["spokes"]
        self.region = {name: sp["region"] for name, sp in self.sp.items()}
        self.tgw = {r: t["id"] for r, t in ex["transit_gateways"].items()}
        self.tgw_rt = {r: next(iter(t["route_tables"].values())) for r, t in ex["transit_gateways"].items()}
        self.summary = {r: t["summary"] for r, t in ex["transit_gateways"].items()}
        (peering,) = ex["peerings"]
        self.peering = peering["attachment_id"]
        self.spokes = list(self.sp)

    def in_(self, region):
        return [s for s in self.spokes if self.region[s] == region]


@pytest.fixture(scope="module")
def net(emulator_url, tmp_path_factory):
    _reset(emulator_url)
    saved = os.environ.get("LABNET_HOME")
    os.environ["LABNET_HOME"] = str(tmp_path_factory.mktemp("verify-regions-home"))
    try:
        spec = labnet.size(regions={EAST: 2, WEST: 2}, nodes_per_spoke=4, azs=1)
        lab = labnet.Lab(STACK, spec, engine="rehearsal", progress=lambda e: None)
        lab.up()
        n = Net(lab, emulator_url)
        assert [n.region[s] for s in n.spokes] == [EAST, EAST, WEST, WEST]
        yield n
    finally:
        _reset(emulator_url)  # the last fault deletes the peering: wipe instead of destroy
        if saved is None:
            os.environ.pop("LABNET_HOME", None)
        else:
            os.environ["LABNET_HOME"] = saved


def assert_matrix(n: Net, frame, expected: dict) -> None:
    """Exactly ``expected`` {(src, dst, probe): (code, blocked_at, path)} is blocked; every other TCP
    row and every same-spoke EFA row is reachable (same-region pairs included); cross-spoke EFA rows
    do not apply."""
    got = verdicts(frame)
    assert len(got) == len(n.spokes) ** 2 * 3
    assert not set(expected) - set(got)
    for key, (reachable, reason, at, path) in got.items():
        src, dst, probe = key
        if key in expected:
            assert (reachable, reason, at, path) == (False, *expected[key]), key
        elif probe == "efa" and src != dst:
            assert (reachable, reason) == (None, "NOT_APPLICABLE"), key
        else:
            assert (reachable, reason, at, path) == (True, "", "", ""), key


def pairs(srcs, dsts, code, at, path, probes=TCP):
    return {(s, d, p): (code, at, path) for s in srcs for d in dsts for p in probes}


# -- the healthy network ----------------------------------------------------------------------------
def test_every_pair_is_reachable_on_every_default_probe_across_regions(net):
    frame = net.lab.connectivity()
    assert_matrix(net, frame, {})
    assert frame.reachable.all()
    # each row says where its spokes are
    assert list(frame.columns[-2:]) == ["src_region", "dst_region"]
    assert all(r.src_region == net.region[r.src_spoke] and r.dst_region == net.region[r.dst_spoke]
               for r in frame.itertuples(index=False))
    across = frame[frame.src_region != frame.dst_region]
    assert len(across) == 8 * 3 and set(across.transport) == {"tcp via TGW"}
    text = verify.summary(frame)
    assert text.startswith("16 of 16 spoke pairs reachable") and "across regions 8 of 8" in text
    m = verify.matrix(frame)
    assert list(m.index.names) == ["from region", "from spoke"] and list(m.columns.names) == ["to region", "to spoke"]
    assert m.loc[(EAST, "spoke-01"), (WEST, "spoke-04")] == "ok"
    assert (m == "ok").all().all()


def test_the_snapshot_holds_both_sides_as_each_region_reports_them(net):
    snap = net.lab.snapshot()
    tgws = {t.id: t.region for t in snap.transit_gateways}
    assert tgws == {net.tgw[EAST]: EAST, net.tgw[WEST]: WEST}
    # the peering attachment once per side, each under its own region's TGW, naming the other
    sides = {a.region: a for a in snap.attachments if a.resource_type == "peering"}
    assert set(sides) == {EAST, WEST}
    assert {a.id for a in sides.values()} == {net.peering}
    for here, there in ((EAST, WEST), (WEST, EAST)):
        a = sides[here]
        assert (a.tgw_id, a.peer_tgw_id, a.peer_region, a.state) == (net.tgw[here], net.tgw[there], there,
                                                                      "available")
        # what the region's own client says, independently
        (live,) = net.ec2[here].describe_transit_gateway_peering_attachments(
            Filters=[{"Name": "transit-gateway-attachment-id", "Values": [net.peering]}])[
            "TransitGatewayPeeringAttachments"]
        assert live["State"] == "available"
        (table,) = [t for t in snap.tgw_route_tables if t.region == here]
        assert table.id == net.tgw_rt[here] and net.peering in table.associations
        static = {(r.destination, r.attachment_ids) for r in table.static_routes}
        assert static == {(net.summary[there], (net.peering,))}
        found = net.ec2[here].search_transit_gateway_routes(
            TransitGatewayRouteTableId=table.id, Filters=[{"Name": "type", "Values": ["static"]}])["Routes"]
        assert {r["DestinationCidrBlock"] for r in found} == {net.summary[there]}
        vpcs = {net.sp[s]["vpc_id"] for s in net.in_(here)}
        assert {v.id for v in snap.vpcs if v.region == here} == vpcs
        live_vpcs = net.ec2[here].describe_vpcs(Filters=[{"Name": "vpc-id", "Values": sorted(vpcs)}])["Vpcs"]
        assert {v["VpcId"] for v in live_vpcs} == vpcs
        assert {sp.tgw_id for sp in snap.spokes if sp.region == here} == {net.tgw[here]}
    assert snapshot_mod.Snapshot.from_json(snap.to_json()) == snap


def _calls(n: Net, lab: labnet.Lab):
    """The EC2 operations reading ``lab``'s stack makes in each region, counted by a botocore hook on
    clients of the test's own."""
    url = n.ec2[EAST].meta.endpoint_url
    clients = {r: _client(url, r) for r in (EAST, WEST)}
    seen: dict[str, list[str]] = {r: [] for r in clients}
    for r, c in clients.items():
        c.meta.events.register("before-call.ec2", lambda model, _r=r, **kw: seen[_r].append(model.name))
    snap = snapshot_mod.read(lambda r: clients[r], lab.exports(), stack="x", emulator=True)
    return seen, snap


def test_read_calls_grow_with_the_regions_not_the_spokes(net):
    """A 2 × 1 stack beside the 2 × 2 one: in each region, the same calls (but one prefix-list read per
    referenced list, which EC2 has no batch call for)."""
    spec = labnet.size(regions={EAST: 1, WEST: 1}, nodes_per_spoke=4, azs=1, supernet="10.128.0.0/9")
    small = labnet.Lab("verify-regions-small", spec, engine="rehearsal", progress=lambda e: None)
    small.up()
    try:
        big_calls, big = _calls(net, net.lab)
        small_calls, small_snap = _calls(net, small)
        per_list = "GetManagedPrefixListEntries"
        for r in (EAST, WEST):
            assert sorted(c for c in big_calls[r] if c != per_list) == sorted(c for c in small_calls[r] if c != per_list)
            # one peer list per spoke, and the S3 endpoint's AWS-managed list
            assert big_calls[r].count(per_list) == 2 + 1 and small_calls[r].count(per_list) == 1 + 1
            assert "DescribeTransitGatewayPeeringAttachments" in big_calls[r]
        assert big.read_calls == sum(map(len, big_calls.values()))
        assert len(small_snap.spokes) == 2 and len(big.spokes) == 4
    finally:
        small.destroy()


def test_exposure_spans_both_regions(net):
    # Issue 19: nothing admitted from outside, in either region (the ACLs admit every region's block)
    assert net.lab.exposure().empty
    snap = net.lab.snapshot()
    assert {a.region for a in snap.network_acls} == {EAST, WEST}
    assert all(e.cidr in snap.network_cidrs for a in snap.network_acls for e in a.entries
               if e.allow and e.protocol == "-1")


# -- faults -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("side", [EAST, WEST])
def test_a_missing_static_route_blocks_exactly_the_pairs_across_the_boundary(net, side):
    """The route for the other region's block gone from ``side``'s TGW route table: packets from
    ``side`` to the other region find no route there (forward); packets from the other region reach
    ``side``, but the replies find no route back (return). Same-region pairs are untouched."""
    other = WEST if side == EAST else EAST
    ec2, table = net.ec2[side], net.tgw_rt[side]
    ec2.delete_transit_gateway_route(TransitGatewayRouteTableId=table, DestinationCidrBlock=net.summary[other])
    try:
        frame = net.lab.connectivity()
        expected = {**pairs(net.in_(side), net.in_(other), "TGW_NO_ROUTE", table, "forward"),
                    **pairs(net.in_(other), net.in_(side), "TGW_NO_ROUTE", table, "return")}
        assert_matrix(net, frame, expected)
        for row in verify.blocked(frame).itertuples(index=False):
            assert table in row.detail and net.peering in row.detail and "static route" in row.detail
        assert verify.summary(frame).startswith("8 of 16 spoke pairs reachable")
    finally:
        ec2.create_transit_gateway_route(TransitGatewayRouteTableId=table, DestinationCidrBlock=net.summary[other],
                                         TransitGatewayAttachmentId=net.peering)
    assert_matrix(net, net.lab.connectivity(), {})


@pytest.mark.parametrize("side", [EAST, WEST])
def test_a_peering_not_associated_on_one_side_is_named(net, side):
    """Traffic arriving over the peering is routed by the table associated with it on the arriving side:
    without that association, packets into ``side`` stop at the peering attachment (forward from the
    other region, return from ``side``)."""
    other = WEST if side == EAST else EAST
    ec2, table = net.ec2[side], net.tgw_rt[side]
    ec2.disassociate_transit_gateway_route_table(TransitGatewayRouteTableId=table,
                                                 TransitGatewayAttachmentId=net.peering)
    try:
        frame = net.lab.connectivity()
        expected = {**pairs(net.in_(other), net.in_(side), "TGW_NOT_ASSOCIATED", net.peering, "forward"),
                    **pairs(net.in_(side), net.in_(other), "TGW_NOT_ASSOCIATED", net.peering, "return")}
        assert_matrix(net, frame, expected)
        for row in verify.blocked(frame).itertuples(index=False):
            assert net.peering in row.detail and net.tgw[side] in row.detail
    finally:
        ec2.associate_transit_gateway_route_table(TransitGatewayRouteTableId=table,
                                                  TransitGatewayAttachmentId=net.peering)
    assert_matrix(net, net.lab.connectivity(), {})


def test_cli_verify_spans_regions(net, tmp_path):
    home = str(net.lab._store.root)
    env = {**os.environ, "LABNET_HOME": home}
    out = subprocess.run([sys.executable, "-m", "labnet", "verify", STACK], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert "16 of 16 spoke pairs reachable" in out.stdout and "across regions 8 of 8" in out.stdout
    assert "src_region" in out.stdout and WEST in out.stdout
    ec2, table = net.ec2[WEST], net.tgw_rt[WEST]
    ec2.delete_transit_gateway_route(TransitGatewayRouteTableId=table, DestinationCidrBlock=net.summary[EAST])
    try:
        out = subprocess.run([sys.executable, "-m", "labnet", "verify", STACK, "--blocked"], capture_output=True,
                             text=True, timeout=120, env=env)
        assert out.returncode == 1, out.stderr
        assert "across regions 0 of 8" in out.stdout and "TGW_NO_ROUTE" in out.stdout and table in out.stdout
    finally:
        ec2.create_transit_gateway_route(TransitGatewayRouteTableId=table, DestinationCidrBlock=net.summary[EAST],
                                         TransitGatewayAttachmentId=net.peering)


def test_heatmap_groups_spokes_by_region(net, tmp_path):
    frame = net.lab.connectivity()
    fig = labnet.heatmap.draw(frame)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts.count(EAST) == 2 and texts.count(WEST) == 2  # along the top and the right
    assert "8 of 8 across 2 regions" in fig._suptitle.get_text()
    assert labnet.heatmap.save(frame, tmp_path / "regions.png").stat().st_size > 0


def test_zz_a_deleted_peering_blocks_every_pair_across_regions_and_names_it(net):
    """Last: the network is not restored (the fixture wipes the emulator). Every cross-region packet
    meets the deleted peering at the first TGW it crosses, so both directions stop on the forward path."""
    net.ec2[EAST].delete_transit_gateway_peering_attachment(TransitGatewayAttachmentId=net.peering)
    frame = net.lab.connectivity()
    expected = {**pairs(net.in_(EAST), net.in_(WEST), "ATTACHMENT_NOT_AVAILABLE", net.peering, "forward"),
                **pairs(net.in_(WEST), net.in_(EAST), "ATTACHMENT_NOT_AVAILABLE", net.peering, "forward")}
    assert_matrix(net, frame, expected)
    for row in verify.blocked(frame).itertuples(index=False):
        assert "deleted" in row.detail and net.peering in row.detail
