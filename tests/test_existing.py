"""Issue 20: existing VPCs and an existing Transit Gateway, on a real moto server on loopback,
inspected with an independent boto3 client (the ``ec2`` fixture), and the refusals before any change."""

from __future__ import annotations

import ipaddress

import pytest

import labnet
from labnet import InvalidSpecError
from labnet.analysis import verify
from labnet.spec import NetworkSpec
from tests.test_pulumi_engine import pulumi_cli, user_home  # noqa: F401 (fixtures of the real-engine tests)

pytestmark = pytest.mark.e2e

SMALL = dict(nodes_per_spoke=4, instance_type="p5.48xlarge", azs=2)


def _strip(value):
    """Describe output without what moves on its own (request metadata, times)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items()
                if k not in ("ResponseMetadata", "CreationTime", "CreateTime", "Version")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def describe(ec2, vpc_id, tgw_id=None):
    """Everything that exists before labnet runs, as the EC2 API describes it."""
    flt = [{"Name": "vpc-id", "Values": [vpc_id]}]
    out = {
        "vpc": ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"],
        "subnets": sorted(ec2.describe_subnets(Filters=flt)["Subnets"], key=lambda s: s["SubnetId"]),
        "route_tables": sorted(ec2.describe_route_tables(Filters=flt)["RouteTables"], key=lambda t: t["RouteTableId"]),
        "groups": sorted(ec2.describe_security_groups(Filters=flt)["SecurityGroups"], key=lambda g: g["GroupId"]),
        "acls": sorted(ec2.describe_network_acls(Filters=flt)["NetworkAcls"], key=lambda a: a["NetworkAclId"]),
        "vpc_attachments": [a for a in ec2.describe_transit_gateway_vpc_attachments(Filters=flt)[
            "TransitGatewayVpcAttachments"] if a["State"] not in ("deleted", "deleting")],
    }
    if tgw_id:
        tflt = [{"Name": "transit-gateway-id", "Values": [tgw_id]}]
        out["tgw"] = ec2.describe_transit_gateways(TransitGatewayIds=[tgw_id])["TransitGateways"]
        out["tgw_attachments"] = sorted((a for a in ec2.describe_transit_gateway_attachments(Filters=tflt)[
            "TransitGatewayAttachments"] if a["State"] not in ("deleted", "deleting")),
            key=lambda a: a["TransitGatewayAttachmentId"])
        # (EC2 lists deleted TGW route tables and attachments for a while after: they are gone)
        tables = [t for t in ec2.describe_transit_gateway_route_tables(Filters=tflt)["TransitGatewayRouteTables"]
                  if t["State"] not in ("deleted", "deleting")]
        out["tgw_route_tables"] = sorted(tables, key=lambda t: t["TransitGatewayRouteTableId"])
        for t in tables:
            tid = t["TransitGatewayRouteTableId"]
            out[f"{tid} associations"] = ec2.get_transit_gateway_route_table_associations(
                TransitGatewayRouteTableId=tid)["Associations"]
            out[f"{tid} propagations"] = ec2.get_transit_gateway_route_table_propagations(
                TransitGatewayRouteTableId=tid)["TransitGatewayRouteTablePropagations"]
            out[f"{tid} routes"] = ec2.search_transit_gateway_routes(
                TransitGatewayRouteTableId=tid, Filters=[{"Name": "type", "Values": ["static"]}])["Routes"]
    return _strip(out)


def team_vpc(ec2, cidr="172.20.0.0/22", azs=("us-east-1a", "us-east-1b"), fill=False):
    """A team's VPC: a subnet per AZ, a route table of its own with a route of its own (to an internet
    gateway) serving one subnet (the other is served by the main table), a group with rules."""
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    net = ipaddress.ip_network(cidr)
    parts = list(net.subnets(new_prefix=net.prefixlen + 1))
    subnets = []
    for k, az in enumerate(azs):
        block = parts[k] if fill else list(parts[k].subnets(new_prefix=net.prefixlen + 2))[0]
        subnets.append(ec2.create_subnet(VpcId=vpc, CidrBlock=str(block), AvailabilityZone=az)["Subnet"]["SubnetId"])
    rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=rt, SubnetId=subnets[0])
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    sg = ec2.create_security_group(GroupName="team-nodes", Description="the team's nodes", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "172.20.0.0/16"}]}])
    return vpc, subnets, rt


def org_tgw(ec2, defaults=True):
    """The organisation's TGW: a foreign VPC attached to it, a route table of its own with a static route."""
    tgw = ec2.create_transit_gateway(Description="org hub", Options={
        "AmazonSideAsn": 64600, "DefaultRouteTableAssociation": "enable" if defaults else "disable",
        "DefaultRouteTablePropagation": "enable" if defaults else "disable"})["TransitGateway"]["TransitGatewayId"]
    other = ec2.create_vpc(CidrBlock="192.168.0.0/24")["Vpc"]["VpcId"]
    sub = ec2.create_subnet(VpcId=other, CidrBlock="192.168.0.0/28", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    att = ec2.create_transit_gateway_vpc_attachment(TransitGatewayId=tgw, VpcId=other, SubnetIds=[sub])[
        "TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    table = ec2.create_transit_gateway_route_table(TransitGatewayId=tgw)["TransitGatewayRouteTable"][
        "TransitGatewayRouteTableId"]
    ec2.create_transit_gateway_route(TransitGatewayRouteTableId=table, DestinationCidrBlock="192.168.0.0/24",
                                     TransitGatewayAttachmentId=att)
    return tgw, other, att


def test_attach_existing_vpc_to_existing_tgw_and_destroy_gives_back_what_was_there(ec2):
    vpc, subnets, rt = team_vpc(ec2)
    tgw, other, foreign = org_tgw(ec2, defaults=True)
    before = describe(ec2, vpc, tgw), describe(ec2, other)

    spec = labnet.size(spokes=2, existing_vpcs={"data": vpc}, transit_gateway_id=tgw,
                       storage={"data": "fsx-lustre"}, **SMALL)
    (data,) = spec.existing_spokes
    assert data.existing.vpc_id == vpc and data.cidr == "172.20.0.0/22"
    # AZ IDs from describe_availability_zones, for the VPC's own subnets and labnet's attachment /28s.
    zones = {z["ZoneName"]: z["ZoneId"] for z in ec2.describe_availability_zones()["AvailabilityZones"]}
    assert {(s.az, s.az_id) for s in data.existing.subnets} == {(az, zones[az]) for az in ("us-east-1a", "us-east-1b")}
    assert [(s.role, s.az, s.cidr, s.az_id) for s in data.subnets] == [
        ("attachment", "us-east-1a", "172.20.3.240/28", zones["us-east-1a"]),
        ("attachment", "us-east-1b", "172.20.3.224/28", zones["us-east-1b"])]
    main = next(t["RouteTableId"] for t in ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"] if any(a.get("Main") for a in t["Associations"]))
    assert set(data.existing.serving_tables) == {rt, main}
    assert spec.transit_gateway.existing_id == tgw and spec.transit_gateway.amazon_side_asn == 64600
    assert any("default route table association" in w for w in labnet.spec_warnings(spec))
    # It shows in the table (its own subnets as "existing") and round-trips.
    table = spec.table()
    assert set(table[table.spoke == "data"].role) == {"attachment", "existing"}
    assert NetworkSpec.from_dict(spec.to_dict()) == spec

    lab = labnet.Lab("byo", spec, engine="rehearsal")
    preview = lab.preview()
    assert {(r.action, r.resource, r.name) for r in preview.itertuples() if r.action == "existing"} == {
        ("existing", "Vpc", vpc), ("existing", "TransitGateway", tgw)}
    assert not ({"Vpc", "TransitGateway"} & set(preview[preview.action == "create"].resource[
        preview.spoke == "data"])), "nothing existing is declared"
    out = lab.up()
    assert out[(out.spoke == "data") & (out.resource == "vpc")].role.item().startswith("existing")

    exports = lab.exports()
    got = exports["spokes"]["data"]
    assert exports["transit_gateway_id"] == tgw
    # Routes only added, in both tables that serve the VPC's subnets: the peer blocks via the TGW.
    for table_id in (rt, main):
        (t,) = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"]
        added = sorted(r["DestinationCidrBlock"] for r in t["Routes"] if r.get("TransitGatewayId") == tgw)
        assert added == sorted(spec.peer_cidrs()["data"])
    (own_rt,) = ec2.describe_route_tables(RouteTableIds=[rt])["RouteTables"]
    assert any(r.get("GatewayId", "").startswith("igw-") for r in own_rt["Routes"]), "the team's route stays"
    # labnet's attachment, taken out of the org's default tables and associated with its own table only.
    dflt = ec2.describe_transit_gateways(TransitGatewayIds=[tgw])["TransitGateways"][0]["Options"][
        "AssociationDefaultRouteTableId"]
    assocs = ec2.get_transit_gateway_route_table_associations(TransitGatewayRouteTableId=dflt)["Associations"]
    props = ec2.get_transit_gateway_route_table_propagations(
        TransitGatewayRouteTableId=dflt)["TransitGatewayRouteTablePropagations"]
    assert got["attachment_id"] not in {a["TransitGatewayAttachmentId"] for a in assocs + props}
    assert foreign in {a["TransitGatewayAttachmentId"] for a in assocs}
    ours = exports["transit_gateway_route_tables"]["spokes"]
    mine = ec2.get_transit_gateway_route_table_associations(TransitGatewayRouteTableId=ours)["Associations"]
    assert foreign not in {a["TransitGatewayAttachmentId"] for a in mine}

    # The matrix is all green, storage probes included; exposure lists the storage rules by design.
    frame = lab.connectivity()
    assert verify.all_reachable(frame), frame[frame.reachable == False]  # noqa: E712
    assert {"storage tcp:988", "storage tcp:1018", "storage tcp:1023"} <= set(frame.probe)
    exposure = lab.exposure()
    storage = exposure[exposure.resource_id == got["storage_security_group_id"]]
    assert len(storage) == 6 and storage.why.str.startswith("by design: storage ports").all()
    # The team's own group admits SSH from 172.20.0.0/16, outside the network: exposure says so too.
    assert "172.20.0.0/16" in set(exposure[exposure.resource == "security_group"].source)
    again = lab.up()  # an up after an up: its own routes are not a conflict, and nothing changes
    assert sorted(map(tuple, again.values.tolist())) == sorted(map(tuple, out.values.tolist()))

    lab.destroy()
    after = describe(ec2, vpc, tgw), describe(ec2, other)
    for k, (b, a) in enumerate(zip(before, after)):
        assert set(a) == set(b)
        for key in b:
            assert a[key] == b[key], (k, key, b[key], a[key])


def test_existing_vpc_beside_a_new_tgw_inside_the_supernet_is_allocated_around(ec2):
    vpc, _, _ = team_vpc(ec2, cidr="10.0.0.0/16")
    before = describe(ec2, vpc)
    spec = labnet.size(spokes=3, existing_vpcs={"data": vpc}, **SMALL)
    new = [sp for sp in spec.spokes if sp.existing is None]
    assert all(not ipaddress.ip_network(sp.cidr).overlaps(ipaddress.ip_network("10.0.0.0/16")) for sp in new)
    lab = labnet.Lab("around", spec, engine="rehearsal")
    lab.up()
    assert verify.all_reachable(lab.connectivity())
    quotas = lab.quotas()
    (routes,) = quotas[quotas.quota.str.startswith("Routes per route table")].itertuples()
    lab.destroy()
    assert describe(ec2, vpc) == before
    assert routes.needs >= 3  # the team's table: local + its own route + labnet's


def test_full_vpc_offers_a_secondary_block_added_only_when_asked(ec2):
    vpc, _, _ = team_vpc(ec2, cidr="10.20.0.0/24", fill=True)
    before = describe(ec2, vpc)
    with pytest.raises(InvalidSpecError) as err:
        labnet.size(spokes=1, existing_vpcs={"data": vpc}, **SMALL)
    assert err.value.field == "existing_vpcs['data']" and err.value.value == vpc
    assert "no free /28" in err.value.rule and "secondary_cidr" in err.value.fix
    assert describe(ec2, vpc) == before
    spec = labnet.size(spokes=1, existing_vpcs={"data": {"vpc_id": vpc, "secondary_cidr": "auto"}}, **SMALL)
    (data,) = spec.existing_spokes
    added = data.existing.added_cidr
    assert added and ipaddress.ip_network(added).prefixlen == 27
    assert all(ipaddress.ip_network(s.cidr).subnet_of(ipaddress.ip_network(added)) for s in data.subnets)
    lab = labnet.Lab("grow", spec, engine="rehearsal")
    lab.up()
    (v,) = ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"]
    assert added in {a["CidrBlock"] for a in v["CidrBlockAssociationSet"] if a["CidrBlockState"]["State"] == "associated"}
    assert verify.all_reachable(lab.connectivity())
    lab.destroy()
    after = describe(ec2, vpc)
    assert [a for a in after["vpc"][0]["CidrBlockAssociationSet"] if a["CidrBlockState"]["State"] == "associated"] == \
        before["vpc"][0]["CidrBlockAssociationSet"]


def _refused(ec2, call, field, *words):
    state = describe_all(ec2)
    with pytest.raises(InvalidSpecError) as err:
        call()
    assert err.value.field == field, str(err.value)
    for w in words:
        assert w in str(err.value), str(err.value)
    assert describe_all(ec2) == state, "refused before any change"
    return err.value


def describe_all(ec2):
    return _strip({"vpcs": ec2.describe_vpcs()["Vpcs"], "subnets": ec2.describe_subnets()["Subnets"],
                   "tables": ec2.describe_route_tables()["RouteTables"],
                   "tgws": ec2.describe_transit_gateways()["TransitGateways"]})


def test_refusals_name_field_value_rule_and_fix(ec2):
    a, _, _ = team_vpc(ec2, cidr="172.20.0.0/22")
    b, _, _ = team_vpc(ec2, cidr="172.20.2.0/24")
    err = _refused(ec2, lambda: labnet.size(spokes=1, existing_vpcs={"a": a, "b": b}, **SMALL),
                   "existing_vpcs['b']", "172.20.2.0/24", "172.20.0.0/22", a, "overlap")
    assert err.value == b
    # an existing VPC whose block straddles the supernet
    c, _, _ = team_vpc(ec2, cidr="10.0.0.0/16")
    _refused(ec2, lambda: labnet.size(spokes=1, supernet="10.0.0.0/20", existing_vpcs={"c": c}, **SMALL),
             "existing_vpcs['c']", "10.0.0.0/16", "supernet")
    # unknown id, and a VPC in another Region
    _refused(ec2, lambda: labnet.size(spokes=1, existing_vpcs={"x": "vpc-0123456789abcdef0"}, **SMALL),
             "existing_vpcs['x']", "no VPC", "us-east-1")
    import boto3

    west = boto3.client("ec2", region_name="us-west-2", endpoint_url=ec2.meta.endpoint_url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")
    w = west.create_vpc(CidrBlock="172.30.0.0/16")["Vpc"]["VpcId"]
    _refused(ec2, lambda: labnet.size(spokes=1, existing_vpcs={"w": w}, **SMALL), "existing_vpcs['w']",
             "us-west-2", "not in us-east-1")
    _refused(ec2, lambda: labnet.size(spokes=1, transit_gateway_id="tgw-0123456789abcdef0", **SMALL),
             "transit_gateway_id", "Transit Gateway")
    # bad shapes: before any AWS call
    _refused(ec2, lambda: labnet.size(existing_vpcs={"data": "vpc-nope"}, **SMALL), "existing_vpcs['data']",
             "VPC id")
    _refused(ec2, lambda: labnet.size(spokes=["data"], existing_vpcs={"data": a}, **SMALL), "existing_vpcs['data']",
             "unique")
    _refused(ec2, lambda: labnet.size(storage={"nope": "fsx-lustre"}, **SMALL), "storage['nope']", "not a spoke")


def test_route_conflict_and_attached_already_are_refused_before_any_change(ec2):
    vpc, _, rt = team_vpc(ec2, cidr="172.20.0.0/22")
    tgw, _, _ = org_tgw(ec2, defaults=False)
    # The team's table already sends what would be labnet's route elsewhere (a peering, say).
    spec = labnet.size(spokes=2, existing_vpcs={"data": vpc}, **SMALL)
    (dest,) = spec.peer_cidrs()["data"]  # the two new spokes, summarised in one block
    igw = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}])[
        "InternetGateways"][0]["InternetGatewayId"]
    ec2.create_route(RouteTableId=rt, DestinationCidrBlock=dest, GatewayId=igw)
    # At sizing time ...
    err = _refused(ec2, lambda: labnet.size(spokes=2, existing_vpcs={"data": vpc}, **SMALL),
                   "existing_vpcs['data']", dest, rt, igw, "only adds routes")
    assert err.fix
    # A route more specific than a new spoke is not a conflict: new spokes are placed around it.
    first = spec.spokes[0].cidr
    ec2.delete_route(RouteTableId=rt, DestinationCidrBlock=dest)
    ec2.create_route(RouteTableId=rt, DestinationCidrBlock=first, GatewayId=igw)
    moved = labnet.size(spokes=2, existing_vpcs={"data": vpc}, **SMALL)
    assert first not in {sp.cidr for sp in moved.spokes}
    # ... and at up time, for a spec sized before the route appeared: nothing is created.
    lab = labnet.Lab("conflict", spec, engine="rehearsal")
    _refused(ec2, lab.up, "existing_vpcs['data']", first, rt)
    assert lab.status() == "empty"
    # A VPC already on the TGW asked for.
    other = ec2.describe_transit_gateway_vpc_attachments(Filters=[{"Name": "transit-gateway-id", "Values": [tgw]}])[
        "TransitGatewayVpcAttachments"][0]["VpcId"]
    _refused(ec2, lambda: labnet.size(spokes=1, existing_vpcs={"org": other}, transit_gateway_id=tgw, **SMALL),
             "spokes[1].existing.vpc_id", "already attached", tgw)


def test_command_line_and_form_take_existing_vpcs(ec2, capsys):
    import json

    from labnet.__main__ import main

    vpc, _, _ = team_vpc(ec2)
    assert main(["spec", "--spokes", "1", "--nodes-per-spoke", "4", "--existing", f"data={vpc}"]) == 0
    spec = NetworkSpec.from_dict(json.loads(capsys.readouterr().out))
    assert [sp.existing.vpc_id for sp in spec.existing_spokes] == [vpc]
    from labnet.widgets import SizingForm

    form = SizingForm(spokes=1, nodes_per_spoke=4, existing_vpcs=f"data={vpc}")
    assert form.error is None and form.spec.existing_spokes[0].existing.vpc_id == vpc
    form.transit_gateway.value = "tgw-nope"
    assert form.error is not None and form.error.field == "transit_gateway_id"


@pytest.mark.pulumi_cli
def test_the_real_engine_attaches_and_gives_back_an_existing_vpc_and_tgw(pulumi_cli, ec2, user_home):
    """The same through the pulumi CLI and labnet's emulator provider: nothing existing is in Pulumi's
    state, so its destroy leaves the describe output of what existed as it was."""
    vpc, _, _ = team_vpc(ec2)
    tgw, other, _ = org_tgw(ec2, defaults=True)
    before = describe(ec2, vpc, tgw), describe(ec2, other)
    spec = labnet.size(spokes=1, existing_vpcs={"data": vpc}, transit_gateway_id=tgw, **SMALL)
    lab = labnet.Lab("byo-real", spec, engine="pulumi")
    lab.up()
    assert verify.all_reachable(lab.connectivity())
    lab.destroy()
    after = describe(ec2, vpc, tgw), describe(ec2, other)
    for b, a in zip(before, after):
        assert set(a) == set(b)
        for key in b:
            assert a[key] == b[key], key
