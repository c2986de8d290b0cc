"""A network across regions (issue 14): one Transit Gateway per region, peered into one network.

Spec and sizing (pure, property-tested), the program under the SDK's mock monitor, and end to end on a
moto server (one server serves every region), inspected with an independent boto3 client per region.
"""

from __future__ import annotations

import ipaddress

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import labnet
from labnet import preflight, sizing
from labnet.preflight import RegionFacts
from tests.helpers import P5, US_EAST_1, declared, registrations
from tests.inspect_ec2 import inventory, total

US_WEST_2 = RegionFacts("us-west-2", tuple(f"us-west-2{c}" for c in "abcd"))
EU_WEST_1 = RegionFacts("eu-west-1", tuple(f"eu-west-1{c}" for c in "abc"))
FACTS = {f.region: f for f in (US_EAST_1, US_WEST_2, EU_WEST_1)}
TWO = {"us-east-1": 2, "us-west-2": 2}


def plan_regions(regions=TWO, **kw):
    args = dict(regions=regions, nodes_per_spoke=8, instance=P5, region={r: FACTS[r] for r in regions}, azs=2)
    args.update(kw)
    return sizing.plan(**args)


def client(url, region):
    return boto3.client("ec2", region_name=region, endpoint_url=url, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def peering_attachments(ec2):
    return [a for a in ec2.describe_transit_gateway_peering_attachments()["TransitGatewayPeeringAttachments"]
            if a.get("State") not in ("deleted", "deleting") and a["TransitGatewayAttachmentId"].startswith("tgw-attach")
            and (a.get("RequesterTgwInfo") or {}).get("TransitGatewayId")]


# -- spec and sizing --------------------------------------------------------------------------------
def test_spokes_know_their_region_and_each_region_has_a_summary_block():
    spec = plan_regions()
    assert spec.regions == ("us-east-1", "us-west-2") and spec.multi_region and spec.region == "us-east-1"
    assert [spec.region_of(s) for s in spec.spokes] == ["us-east-1"] * 2 + ["us-west-2"] * 2
    blocks = dict(spec.region_blocks)
    for sp in spec.spokes:
        assert ipaddress.ip_network(sp.cidr).subnet_of(ipaddress.ip_network(blocks[spec.region_of(sp)]))
        assert all(sn.az.startswith(spec.region_of(sp)) for sn in sp.subnets)  # placement per region
    assert spec.asn_of("us-east-1") != spec.asn_of("us-west-2")
    assert spec.peerings() == (("us-east-1", "us-west-2"),)
    assert labnet.NetworkSpec.from_dict(spec.to_dict()) == spec
    assert preflight.check(spec, {r: FACTS[r] for r in spec.regions}) == []


def test_a_single_region_spec_stays_exactly_as_simple():
    spec = sizing.plan(spokes=3, nodes_per_spoke=8, instance=P5, region=US_EAST_1, azs=2)
    assert not spec.multi_region and spec.region_blocks == () and spec.transit_gateway.region_asns == ()
    assert {s.region for s in spec.spokes} == {""}
    data = spec.to_dict()
    # A spec saved before regions existed (no region fields anywhere) loads and means the same.
    for sp in data["spokes"]:
        del sp["region"]
    del data["region_blocks"], data["transit_gateway"]["region_asns"]
    assert labnet.NetworkSpec.from_dict(data) == spec


@settings(max_examples=150, deadline=None)
@given(counts=st.lists(st.integers(1, 9), min_size=2, max_size=3), nodes=st.integers(1, 40),
       supernet_prefix=st.integers(8, 14), ena=st.booleans())
def test_allocations_across_regions_never_overlap_and_stay_in_their_summary(counts, nodes, supernet_prefix, ena):
    regions = dict(zip(["us-east-1", "us-west-2", "eu-west-1"], counts))
    supernet = str(ipaddress.ip_network(f"10.0.0.0/{supernet_prefix}"))
    try:
        spec = plan_regions(regions, nodes_per_spoke=nodes, supernet=supernet,
                            interface_mode="ena" if ena else "efa", instance=P5)
    except labnet.SizingError as exc:
        assert exc.field in ("supernet", "nodes_per_spoke")
        return
    nets = [ipaddress.ip_network(s.cidr) for s in spec.spokes]
    blocks = {r: ipaddress.ip_network(c) for r, c in spec.region_blocks}
    assert len(spec.spokes) == sum(counts)
    assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    assert all(not a.overlaps(b) for i, a in enumerate(blocks.values()) for b in list(blocks.values())[i + 1:])
    assert all(b.subnet_of(ipaddress.ip_network(supernet)) for b in blocks.values())
    for sp, net in zip(spec.spokes, nets):
        r = spec.region_of(sp)
        assert net.subnet_of(blocks[r])
        others = [n for o, n in zip(spec.spokes, nets) if spec.region_of(o) != r]
        assert not any(n.overlaps(blocks[r]) for n in others)  # the summary holds its region only
    preflight.check(spec, {r: FACTS[r] for r in spec.regions})


@pytest.mark.parametrize("bad, field", [
    ({"spokes": 2, "regions": TWO}, "spokes"),
    ({"regions": {}}, "regions"),
    ({"regions": {"us-east-1": 0, "us-west-2": 1}}, "regions['us-east-1']"),
    ({"regions": {"mars-1": 1}}, "region"),
    ({"regions": TWO, "azs": ["us-east-1a"]}, "azs"),
    ({"regions": TWO, "compute_az": "us-east-1a"}, "compute_az"),
    ({"regions": TWO, "region": "eu-west-1"}, "region"),
])
def test_bad_region_requests_are_refused_before_any_aws_call(bad, field, monkeypatch):
    monkeypatch.setattr("labnet.emulator.targets.resolve", lambda *a, **k: pytest.fail("reached the target"))
    with pytest.raises(labnet.InvalidSpecError) as err:
        labnet.size(nodes_per_spoke=4, **bad)
    assert err.value.field == field


def test_preflight_refuses_broken_region_blocks_and_warns_on_shared_asns():
    import dataclasses

    spec = plan_regions()
    facts = {r: FACTS[r] for r in spec.regions}
    blocks = dict(spec.region_blocks)

    def with_blocks(b):
        return dataclasses.replace(spec, region_blocks=tuple(b.items()))

    with pytest.raises(labnet.InvalidSpecError, match="needs a summary block per region"):
        preflight.check(with_blocks({"us-east-1": blocks["us-east-1"]}), facts)
    with pytest.raises(labnet.InvalidSpecError, match="overlaps region"):
        preflight.check(with_blocks({"us-east-1": "10.0.0.0/8", "us-west-2": blocks["us-west-2"]}), facts)
    swapped = {"us-east-1": blocks["us-west-2"], "us-west-2": blocks["us-east-1"]}
    with pytest.raises(labnet.InvalidSpecError, match="summary block") as err:
        preflight.check(with_blocks(swapped), facts)
    assert err.value.field.startswith("spokes[")
    same_asn = dataclasses.replace(spec, transit_gateway=dataclasses.replace(
        spec.transit_gateway, region_asns=(("us-west-2", spec.asn_of("us-east-1")),)))
    assert any("share ASN" in w for w in preflight.check(same_asn, facts))
    wrong_az = dataclasses.replace(spec, spokes=(dataclasses.replace(spec.spokes[0], region="us-west-2"),
                                                 *spec.spokes[1:]))
    with pytest.raises(labnet.InvalidSpecError):
        preflight.check(wrong_az, facts)  # us-east-1 AZs in a us-west-2 spoke


# -- the program ------------------------------------------------------------------------------------
def test_program_one_provider_and_tgw_per_region_a_peering_and_static_routes_both_ways():
    spec = plan_regions({"us-east-1": 2, "us-west-2": 1, "eu-west-1": 1})
    rows = registrations(spec, {"kind": "emulator", "endpoint": "http://127.0.0.1:1", "access_key": "testing",
                                "secret_key": "testing"})
    providers = {name: inputs for typ, name, inputs, _ in rows if typ == "pulumi:providers:aws"}
    assert {p["region"] for p in providers.values()} == set(spec.regions)
    assert all("endpoints" in p for p in providers.values())  # the emulator's, in each region's provider

    def region_of(ref):
        return providers[ref.split("::")[-2]]["region"]

    by_type = {}
    for typ, name, inputs, ref in rows:
        if typ.startswith("aws:"):
            by_type.setdefault(typ.rsplit(":", 1)[-1], []).append((name, inputs, region_of(ref)))
    tgws = {r: (name, inputs) for name, inputs, r in by_type["TransitGateway"]}
    assert set(tgws) == set(spec.regions) and tgws["us-east-1"][0] == "tgw"
    assert len({int(i["amazonSideAsn"]) for _, i in tgws.values()}) == 3
    for name, inputs, r in by_type["Vpc"]:
        spoke = next(s for s in spec.spokes if f"{s.name}-vpc" == name)
        assert r == spec.region_of(spoke)
    peerings = by_type["PeeringAttachment"]
    accepters = by_type["PeeringAttachmentAccepter"]
    assert len(peerings) == len(accepters) == 3  # a full mesh of 3 TGWs
    for name, inputs, r in peerings:
        assert inputs["peerRegion"] != r and inputs["transitGatewayId"] == f"{tgws[r][0]}-id"
    routes = by_type["Route"]  # pulumi-aws's ec2 and ec2transitgateway Routes share the name
    tgw_routes = [(n, i, r) for n, i, r in routes if "transitGatewayRouteTableId" in i]
    assert len(tgw_routes) == 3 * 2  # per peering, one static route per TGW route table on each side
    for name, inputs, r in tgw_routes:
        assert inputs["destinationCidrBlock"] != spec.summary_of(r)
        assert inputs["destinationCidrBlock"] in {spec.summary_of(o) for o in spec.regions if o != r}
    endpoints = by_type["VpcEndpoint"]
    assert {i["serviceName"] for _, i, r in endpoints if r == "eu-west-1"} == {"com.amazonaws.eu-west-1.s3"}


def test_single_region_program_declares_no_peering():
    rows, exports = declared(sizing.plan(spokes=2, nodes_per_spoke=4, instance=P5, region=US_EAST_1, azs=1))
    assert not [t for t, _, _ in rows if "eering" in t]
    assert exports["peerings"] == [] and list(exports["transit_gateways"]) == ["us-east-1"]


# -- end to end on the emulator ---------------------------------------------------------------------
@pytest.fixture
def regional(fresh_emulator):
    return {r: client(fresh_emulator, r) for r in ("us-east-1", "us-west-2")}


def _left(regional):
    return {r: total(inventory(c)) + len(peering_attachments(c)) for r, c in regional.items()}


@pytest.mark.e2e
def test_two_regions_up_as_planned_and_destroy_leaves_nothing_in_any_region(regional):
    spec = labnet.size(regions=TWO, nodes_per_spoke=4, azs=1)
    lab = labnet.Lab("two-regions", spec, engine="rehearsal", progress=lambda e: None)
    lab.up()
    ex = lab.exports()
    (peering,) = ex["peerings"]
    for r, ec2 in regional.items():
        mine = [s for s in spec.spokes if spec.region_of(s) == r]
        vpcs = {v["CidrBlock"]: v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")}
        assert set(vpcs) == {s.cidr for s in mine}
        for s in mine:
            got = {x["CidrBlock"]: x["AvailabilityZone"] for x in ec2.describe_subnets(
                Filters=[{"Name": "vpc-id", "Values": [vpcs[s.cidr]]}])["Subnets"]}
            assert got == {sn.cidr: sn.az for sn in s.subnets}
            assert ex["spokes"][s.name]["region"] == r
        (tgw,) = [t for t in ec2.describe_transit_gateways()["TransitGateways"] if t["State"] == "available"]
        assert tgw["TransitGatewayId"] == ex["transit_gateways"][r]["id"]
        assert tgw["Options"]["AmazonSideAsn"] == spec.asn_of(r)
        (att,) = [a for a in peering_attachments(ec2) if a["TransitGatewayAttachmentId"] == peering["attachment_id"]]
        assert att["State"] == "available"
        other = "us-west-2" if r == "us-east-1" else "us-east-1"
        for table in ex["transit_gateways"][r]["route_tables"].values():
            static = ec2.search_transit_gateway_routes(TransitGatewayRouteTableId=table, Filters=[
                {"Name": "type", "Values": ["static"]}])["Routes"]
            assert [(x["DestinationCidrBlock"], [a["TransitGatewayAttachmentId"] for a in x["TransitGatewayAttachments"]])
                    for x in static] == [(spec.summary_of(other), [peering["attachment_id"]])]
            assocs = ec2.get_transit_gateway_route_table_associations(TransitGatewayRouteTableId=table)["Associations"]
            assert peering["attachment_id"] in {a["TransitGatewayAttachmentId"] for a in assocs}
    state = lab._store.load()
    assert {rec.region for rec in state.created} == {"us-east-1", "us-west-2"}
    removed = lab.destroy()
    assert len(removed) == len(state.created)
    assert _left(regional) == {"us-east-1": 0, "us-west-2": 0}


@pytest.mark.e2e
@pytest.mark.parametrize("then", ["resume", "destroy"])
def test_a_deploy_interrupted_between_regions_resumes_or_destroys_cleanly(regional, then):
    spec = labnet.size(regions=TWO, nodes_per_spoke=4, azs=1)

    def stop_at_the_peering(event):
        if event.status == "started" and event.name.startswith("peering-") and event.name.endswith("-accept"):
            raise KeyboardInterrupt

    lab = labnet.Lab(f"cut-{then}", spec, engine="rehearsal", progress=stop_at_the_peering)
    with pytest.raises(labnet.InterruptedByUserError):
        lab.up()
    st_ = lab._store.load()
    assert {rec.region for rec in st_.created} == {"us-east-1", "us-west-2"}  # both regions were started
    # The acceptance (a call in the peer region) was journaled as in flight before it was sent.
    assert [r.name for r in st_.pending if r.name.endswith("-accept")] == ["peering-us-east-1-us-west-2-accept"]
    again = labnet.Lab(f"cut-{then}", progress=lambda e: None)
    if then == "resume":
        again.up(resume=True)
        (peering,) = again.exports()["peerings"]
        for ec2 in regional.values():
            assert [a["State"] for a in peering_attachments(ec2)
                    if a["TransitGatewayAttachmentId"] == peering["attachment_id"]] == ["available"]
        assert len(peering_attachments(regional["us-east-1"])) == 1  # adopted, not requested twice
    again.destroy()
    assert _left(regional) == {"us-east-1": 0, "us-west-2": 0}


def test_the_quota_rows_warn_past_the_peering_quotas():
    """A full mesh of 12 regions: 11 peerings per TGW, more than the 10 that may be pending at once
    (the quota analysis says so; preflight has no quota warnings of its own)."""
    from labnet.analysis import quota_report, quotas
    from labnet.declare import declare

    names = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3",
             "eu-central-1", "eu-north-1", "ap-northeast-1", "ap-southeast-1", "ca-central-1"]
    facts = {r: RegionFacts(r, (f"{r}a", f"{r}b")) for r in names}
    spec = sizing.plan(regions={r: 1 for r in names}, nodes_per_spoke=2, instance=P5, region=facts, azs=1)
    assert len(spec.peerings()) == 12 * 11 // 2
    preflight.check(spec, facts)
    rows = quota_report.rows(spec, quota_report.defaults(spec), declare(spec, "quotas").resources)
    bad = {r.quota for r in rows if not r.fits}
    assert any("ending" in q for q in bad), bad  # pending peering attachments per transit gateway
    assert not any(q.startswith("Peering attachments per") for q in bad), bad
    assert any("applied 10, needs 11" in w for w in quotas.warnings(rows, "emulator"))


@pytest.mark.e2e
def test_preflight_reads_the_facts_of_every_region_before_deploying(regional):
    """A spoke whose compute AZ does not offer the type in *its* region is refused by Lab before any
    call that changes anything, naming that region's offering AZs (read from that region)."""
    import dataclasses

    spec = labnet.size(regions=TWO, nodes_per_spoke=4, azs=1, instance_type="trn1.32xlarge")
    west = [k for k, s in enumerate(spec.spokes) if spec.region_of(s) == "us-west-2"][0]
    moved = dataclasses.replace(spec.spokes[west], subnets=tuple(
        dataclasses.replace(sn, az="us-west-2a", az_id="") for sn in spec.spokes[west].subnets))
    bad = dataclasses.replace(spec, spokes=tuple(moved if k == west else s for k, s in enumerate(spec.spokes)))
    with pytest.raises(labnet.InvalidSpecError) as err:
        labnet.Lab("wrong-az", bad, engine="rehearsal").up()
    assert "us-west-2a" in str(err.value) and "trn1.32xlarge" in str(err.value)
    assert _left(regional) == {"us-east-1": 0, "us-west-2": 0}
