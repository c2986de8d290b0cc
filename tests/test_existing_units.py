"""Issue 20, the pure parts: free space for attachment subnets, AWS's secondary-block rules, peer blocks
of spokes with several blocks, route conflicts, the program under the SDK's mocks (nothing existing is
declared), the command line's and the form's way to say existing VPCs."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labnet import InvalidSpecError, preflight, request, sizing
from labnet.spec import (ExistingRoute, ExistingRouteTable, ExistingSubnet, ExistingVpc, NetworkSpec,
                         TransitGateway)
from tests.helpers import US_EAST_1, declared, plan

DATA = ExistingVpc(
    vpc_id="vpc-0123456789abcdef0", cidrs=("172.20.0.0/22", "172.21.0.0/24"),
    subnets=(ExistingSubnet("subnet-a", "us-east-1a", "use1-az6", "172.20.0.0/24", "rtb-team"),
             ExistingSubnet("subnet-b", "us-east-1b", "use1-az1", "172.20.1.0/24", "rtb-main")),
    route_tables=(ExistingRouteTable("rtb-main", True, (), (ExistingRoute("172.20.0.0/22", "local"),)),
                  ExistingRouteTable("rtb-team", False, ("subnet-a",),
                                     (ExistingRoute("172.20.0.0/22", "local"), ExistingRoute("0.0.0.0/0", "igw-1")))))


def with_data(existing=DATA, **kw):
    return plan(spokes=2, existing={"data": existing}, **kw)


def test_free_blocks_from_the_top_clear_of_subnets():
    assert sizing.free_blocks(["10.9.0.0/24"], ["10.9.0.0/25"], 28, 2) == ["10.9.0.240/28", "10.9.0.224/28"]
    assert sizing.free_blocks(["10.9.0.0/24"], ["10.9.0.128/25"], 28, 1) == ["10.9.0.112/28"]
    assert sizing.free_blocks(["10.9.0.0/28"], ["10.9.0.0/28"], 28, 1) == []
    # the second block when the first is full
    assert sizing.free_blocks(["10.9.0.0/28", "10.10.0.0/27"], ["10.9.0.0/28"], 28, 1) == ["10.10.0.16/28"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 15), unique=True, max_size=16), st.integers(1, 4))
def test_free_blocks_never_overlap_what_is_used(used_slots, n):
    used = [f"10.0.0.{16 * k}/28" for k in used_slots]
    free = sizing.free_blocks(["10.0.0.0/24"], used, 28, n)
    assert len(free) == min(n, 16 - len(used_slots))
    nets = [ipaddress.ip_network(c) for c in free]
    assert not any(a.overlaps(ipaddress.ip_network(u)) for a in nets for u in used)
    assert len(set(free)) == len(free)


def test_secondary_block_rules():
    assert preflight.secondary_allowed("10.0.0.0/16", "10.255.0.0/27") == ""
    assert preflight.secondary_allowed("10.0.0.0/16", "100.64.0.0/28") == ""
    assert "172.16.0.0/12" in preflight.secondary_allowed("10.0.0.0/16", "172.16.0.0/28")
    assert "10.0.0.0/8" in preflight.secondary_allowed("172.31.0.0/16", "10.0.0.0/28")
    assert preflight.secondary_allowed("100.64.0.0/16", "192.168.0.0/28")


def test_existing_spoke_is_placed_and_attached_from_free_space():
    spec = with_data()
    data = spec.spokes[-1]
    assert data.existing.vpc_id == DATA.vpc_id and data.cidr == "172.20.0.0/22"
    assert [(s.role, s.az, s.cidr) for s in data.subnets] == [
        ("attachment", "us-east-1a", "172.20.3.240/28"), ("attachment", "us-east-1b", "172.20.3.224/28")]
    assert data.cidrs == ("172.20.0.0/22", "172.21.0.0/24")
    # Every other spoke admits (and routes) both of its blocks; it admits exactly the new spokes.
    peers = spec.peer_cidrs()
    for sp in spec.spokes[:-1]:
        assert {"172.20.0.0/22", "172.21.0.0/24"} <= set(peers[sp.name])
    new = [ipaddress.ip_network(sp.cidr) for sp in spec.spokes[:-1]]
    assert sorted(ipaddress.collapse_addresses(map(ipaddress.ip_network, peers["data"]))) == \
        sorted(ipaddress.collapse_addresses(new))
    assert preflight.check(spec) == []
    assert NetworkSpec.from_dict(spec.to_dict()) == spec


def test_new_spokes_go_around_existing_blocks_inside_the_supernet():
    inside = ExistingVpc("vpc-0123456789abcdef0", ("10.0.0.0/16",),
                         (ExistingSubnet("subnet-a", "us-east-1a", "", "10.0.0.0/20", "rtb-main"),),
                         (ExistingRouteTable("rtb-main", True, (), (ExistingRoute("10.1.0.0/24", "pcx-1"),)),))
    spec = with_data(inside)
    blocks = [ipaddress.ip_network(c) for c in ("10.0.0.0/16", "10.1.0.0/24")]
    for sp in spec.spokes[:-1]:
        assert not any(ipaddress.ip_network(sp.cidr).overlaps(b) for b in blocks), sp.cidr
    preflight.check(spec)


def test_no_free_slash_28_offers_a_secondary_block():
    full = ExistingVpc("vpc-0123456789abcdef0", ("10.20.0.0/24",),
                       (ExistingSubnet("subnet-a", "us-east-1a", "", "10.20.0.0/25", "rtb-main"),
                        ExistingSubnet("subnet-b", "us-east-1b", "", "10.20.0.128/25", "rtb-main")),
                       (ExistingRouteTable("rtb-main", True, ()),))
    with pytest.raises(InvalidSpecError) as err:
        with_data(full)
    assert err.value.field == "existing_vpcs['data']" and "no free /28" in err.value.rule
    assert "'secondary_cidr': '10.255.255.224/27'" in err.value.fix
    spec = plan(spokes=2, existing={"data": full}, secondary={"data": "10.255.255.224/27"})
    assert spec.spokes[-1].existing.added_cidr == "10.255.255.224/27"
    with pytest.raises(InvalidSpecError, match="172.16.0.0/12"):
        plan(spokes=2, existing={"data": full}, secondary={"data": "172.16.0.0/27"})
    with pytest.raises(InvalidSpecError, match="need a /27"):
        plan(spokes=2, existing={"data": full}, secondary={"data": "10.255.255.240/28"})


def test_route_conflicts_same_or_more_specific_only():
    spec = with_data()
    (dest,) = spec.peer_cidrs()["data"]
    half = str(next(ipaddress.ip_network(dest).subnets()))
    for route, clash in ((dest, True), (half, True), ("10.0.0.0/8", False), ("0.0.0.0/0", False)):
        tables = tuple(t if t.id != "rtb-team" else ExistingRouteTable(
            t.id, t.main, t.subnet_ids, t.routes + (ExistingRoute(route, "pcx-1"),)) for t in DATA.route_tables)
        bad = with_data().spokes[-1]
        import dataclasses

        bad_spec = dataclasses.replace(spec, spokes=spec.spokes[:-1] + (dataclasses.replace(
            bad, existing=dataclasses.replace(DATA, route_tables=tables)),))
        if clash:
            with pytest.raises(InvalidSpecError) as err:
                preflight.check(bad_spec)
            assert err.value.field == "existing_vpcs['data']" and "rtb-team" in str(err.value)
        else:
            preflight.check(bad_spec)


def test_the_program_never_declares_what_exists():
    tgw = TransitGateway(existing_id="tgw-0123456789abcdef0", amazon_side_asn=64600)
    spec = with_data(transit_gateway=tgw)
    import dataclasses

    spec = dataclasses.replace(spec, storage=(("data", "fsx-lustre"),))
    resources, exports = declared(spec)
    types = [t for t, _, _ in resources]
    assert types.count("aws:ec2/vpc:Vpc") == 2, "only the new spokes' VPCs"
    assert "aws:ec2transitgateway/transitGateway:TransitGateway" not in types
    by_name = {n: i for _, n, i in resources}
    assert by_name["tgw-rt-spokes"]["transitGatewayId"] == tgw.existing_id
    # In the existing VPC: its subnets stay; labnet adds attachment subnets, routes to the peers in both
    # tables that serve its subnets, its groups; no endpoint, NAT or launch template.
    routes = {(i["routeTableId"], i["destinationCidrBlock"]) for t, _, i in resources if t == "aws:ec2/route:Route"}
    (peer,) = spec.peer_cidrs()["data"]
    assert {("rtb-team", peer), ("rtb-main", peer)} <= routes
    data = [n for _, n, _ in resources if n.startswith("data-")]
    assert not any(n.endswith(("-s3", "-nat", "-node-template", "-vpc")) for n in data)
    assert {"data-training-sg", "data-storage-sg", "data-attachment"} <= set(data)
    # New spokes route the existing VPC's blocks outside the supernet.
    assert ("spoke-01-rt-id", "172.21.0.0/24") in routes
    assert exports["transit_gateway_id"] == tgw.existing_id and exports["transit_gateway_existing"] is True
    assert exports["spokes"]["data"]["existing"] is True


def test_command_line_and_form_text():
    assert request.parse_pairs("existing_vpcs", ["data=vpc-0123456789abcdef0", "lake=vpc-0123456789abcdef1"],
                               "x") == {"data": "vpc-0123456789abcdef0", "lake": "vpc-0123456789abcdef1"}
    assert request.parse_pairs("existing_vpcs", "", "x") is None
    with pytest.raises(InvalidSpecError, match="NAME=VALUE"):
        request.parse_pairs("existing_vpcs", "vpc-0123456789abcdef0", "data=vpc-…")
    with pytest.raises(InvalidSpecError) as err:
        request.check_request(instance_type="p5.48xlarge", transit_gateway_id="tgw-x")
    assert err.value.field == "transit_gateway_id"
    with pytest.raises(InvalidSpecError) as err:
        request.check_request(instance_type="p5.48xlarge", existing_vpcs={"data": "vpc-0123456789abcdef0"},
                              regions={"us-east-1": 1, "us-west-2": 1})
    assert err.value.field == "existing_vpcs"
    request.check_request(instance_type="p5.48xlarge", spokes=0, existing_vpcs={"data": "vpc-0123456789abcdef0"})
    with pytest.raises(InvalidSpecError):
        request.check_request(instance_type="p5.48xlarge", spokes=0)


def test_a_network_of_existing_vpcs_only():
    other = ExistingVpc("vpc-0123456789abcdef1", ("192.168.0.0/24",),
                        (ExistingSubnet("subnet-c", "us-east-1a", "", "192.168.0.0/25", "rtb-o"),),
                        (ExistingRouteTable("rtb-o", True, ()),))
    spec = plan(spokes=0, existing={"data": DATA, "other": other})
    assert [sp.name for sp in spec.spokes] == ["data", "other"]
    assert spec.peer_cidrs()["other"] == ("172.20.0.0/22", "172.21.0.0/24")
    preflight.check(spec, US_EAST_1)


def test_diagram_and_cost_show_the_existing_spoke(tmp_path):
    from labnet.analysis import cost
    from labnet.views import diagram

    spec = with_data(transit_gateway=TransitGateway(existing_id="tgw-0123456789abcdef0"))
    layout = diagram._Layout.of(spec, None)
    box = layout.boxes[-1]
    assert "existing vpc-0123456789abcdef0" in box.title
    assert [role for role, _, _ in box.rows][0] == "existing" and "existing" in layout._roles()
    assert layout.hub_lines[0] == "Transit Gateway (existing)"
    assert diagram.save(spec, tmp_path / "byo.png").stat().st_size > 0
    est = cost.estimate(spec)
    att = est[est["item"].str.contains("attachment")].iloc[0]
    assert att.quantity == 3 * 730 and "1 of them to existing VPCs" in att.basis
    endpoints = est[est["item"].str.contains("endpoint", case=False)]
    assert endpoints.quantity.sum() == 2  # the new spokes only
