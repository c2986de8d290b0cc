"""Quota preflight (issue 12 item 2): counting what the program declares AWS's way, reading the
account's quotas and holdings from the target, and refusing a deploy to AWS that does not fit.

Counting is checked two ways: against hand-made resource lists whose AWS counts are known (prefix
lists at their maxEntries, the local route, gateway-endpoint routes, IPv4/IPv6 apart, what a stack
already holds), and against what the emulator holds after a real deploy, counted by an independent
boto3 client, so the counting follows the program whatever shape its routes and rules take.
Target "aws" is exercised without an account by pointing boto3 at the moto server through
``AWS_ENDPOINT_URL``; a botocore ``before-call`` hook on every client records each API call made.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

import labnet
from labnet.analysis import declared, quota_report
from labnet.facts import account
from labnet.analysis import quotas as analysis
from labnet.analysis.declared import Resource
from labnet.declare import declare
from tests.helpers import plan, record_api_calls

DATA = account.quota_data()
UNITS = DATA["nau_units"]
WEIGHTS = DATA["aws_prefix_list_weights"]["weights"]
MUTATING = ("Create", "Delete", "Modify", "Associate", "Enable", "Authorize", "Attach", "Allocate", "Accept",
            "Replace", "Request", "Run")


def count(rows, existing=()):
    return declared.count(rows, UNITS, WEIGHTS, existing)


def R(typ, name, **inputs):
    return Resource(typ, name, f"<{name}>", inputs)


# -- the sourced data ------------------------------------------------------------------------------
def test_every_quota_has_a_name_default_scope_and_aws_source():
    assert DATA["as_of"]
    for key, q in DATA["quotas"].items():
        assert q["name"] and q["default"] > 0 and q["scope"] and q["needed_for"] in ("deploy", "launch"), key
        assert q["source"].startswith("https://docs.aws.amazon.com/"), key
        assert q["code"] is None or (q["code"].startswith("L-") and q["service"] in ("vpc", "ec2")), key


def test_codes_served_by_the_emulator_match_its_service_quotas_data():
    """moto's Service Quotas carries AWS's VPC quotas; every vpc code labnet names is one of them,
    with the same default."""
    from moto.servicequotas.resources.default_quotas.vpc import VPC_DEFAULT_QUOTAS

    moto = {q["QuotaCode"]: q["Value"] for q in VPC_DEFAULT_QUOTAS}
    for key, q in DATA["quotas"].items():
        if q["service"] == "vpc" and q["code"]:
            assert moto[q["code"]] == q["default"], key


# -- counting, AWS's way (pure) --------------------------------------------------------------------
def test_routes_count_the_local_route_prefix_lists_at_max_entries_and_endpoint_routes():
    rows = [
        R(declared.VPC, "v", cidrBlock="10.0.0.0/16"),
        R(declared.ROUTE_TABLE, "rt", vpcId="<v>"),
        R(declared.PREFIX_LIST, "others", maxEntries=20.0, addressFamily="IPv4"),
        R(declared.ROUTE, "to-others", routeTableId="<rt>", destinationPrefixListId="<others>"),
        R(declared.ROUTE, "summary", routeTableId="<rt>", destinationCidrBlock="10.0.0.0/8"),
        R(declared.ENDPOINT, "s3", vpcId="<v>", vpcEndpointType="Gateway", serviceName="com.amazonaws.us-east-1.s3",
          routeTableIds=["<rt>"]),
    ]
    got = count(rows)
    assert got.routes_per_route_table == {"rt": 1 + 20 + 1 + 1}
    assert got.entries_per_prefix_list == {"others": 20}
    assert got.region["prefix_lists"] == 1 and got.region["gateway_endpoints"] == 1


def test_ipv6_routes_and_rules_are_limited_apart():
    rows = [R(declared.ROUTE_TABLE, "rt"),
            *[R(declared.ROUTE, f"v6-{k}", routeTableId="<rt>", destinationIpv6CidrBlock=f"2600:{k}::/56")
              for k in range(3)],
            R(declared.SG, "g"),
            R(declared.INGRESS, "a", securityGroupId="<g>", cidrIpv4="10.0.0.0/16"),
            *[R(declared.INGRESS, f"b{k}", securityGroupId="<g>", cidrIpv6=f"2600:{k}::/56") for k in range(2)]]
    got = count(rows)
    assert got.routes_per_route_table == {"rt": 3}  # 3 IPv6 routes > 1 IPv4 (the local route)
    assert got.inbound_rules_per_security_group == {"g": 2}


def test_rules_count_each_cidr_group_and_prefix_list_entry():
    rows = [R(declared.SG, "g", ingress=[{"cidrBlocks": ["10.1.0.0/16", "10.2.0.0/16"], "self": True}]),
            R(declared.PREFIX_LIST, "pl", maxEntries=7.0),
            R(declared.INGRESS, "from-pl", securityGroupId="<g>", prefixListId="<pl>"),
            R(declared.SG_RULE, "legacy", type="ingress", securityGroupId="<g>", cidrBlocks=["10.3.0.0/16"]),
            R(declared.EGRESS, "out", securityGroupId="<g>", cidrIpv4="0.0.0.0/0")]
    got = count(rows)
    assert got.inbound_rules_per_security_group == {"g": 2 + 1 + 7 + 1}
    assert got.outbound_rules_per_security_group == {"g": 1}


def test_what_the_stack_holds_adds_nothing_but_still_fills_its_tables():
    rows = [R(declared.VPC, "a"), R(declared.ROUTE_TABLE, "rt", vpcId="<a>"),
            R(declared.ROUTE, "r", routeTableId="<rt>", destinationCidrBlock="10.9.0.0/16"), R(declared.VPC, "b")]
    got = count(rows, existing={rows[0].urn, rows[1].urn, rows[2].urn})
    assert got.region["vpcs"] == 1 and got.region["security_groups"] == 1
    assert got.routes_per_route_table == {"rt": 2}


def test_nat_gateways_are_counted_in_the_az_of_their_subnet():
    rows = [R(declared.VPC, "v"), R(declared.SUBNET, "pub-b", vpcId="<v>", availabilityZone="us-east-1b"),
            R(declared.EIP, "eip"), R(declared.NAT, "nat", subnetId="<pub-b>", allocationId="<eip>")]
    got = count(rows)
    assert got.nat_gateways_by_az == {"us-east-1b": 1} and got.region["elastic_ips"] == 1
    assert got.nau_per_vpc["v"] == UNITS["nat_gateway"]


def test_tgw_routes_come_from_propagations_static_routes_and_prefix_list_references():
    rows = [R(declared.TGW, "tgw"), R(declared.TGW_ROUTE_TABLE, "t1", transitGatewayId="<tgw>"),
            R(declared.TGW_ROUTE_TABLE, "t2", transitGatewayId="<tgw>"),
            R(declared.VPC, "v"), R(declared.TGW_ATTACHMENT, "att", transitGatewayId="<tgw>", vpcId="<v>",
                                    subnetIds=["<s1>", "<s2>"]),
            R(declared.TGW_PROPAGATION, "p1", transitGatewayAttachmentId="<att>", transitGatewayRouteTableId="<t1>"),
            R(declared.TGW_PROPAGATION, "p2", transitGatewayAttachmentId="<att>", transitGatewayRouteTableId="<t2>"),
            R(declared.TGW_ROUTE, "blackhole", transitGatewayRouteTableId="<t1>", blackhole=True),
            R(declared.PREFIX_LIST, "pl", maxEntries=4.0),
            R(declared.TGW_PL_REFERENCE, "ref", transitGatewayRouteTableId="<t2>", prefixListId="<pl>")]
    got = count(rows)
    assert got.routes_per_transit_gateway == {"tgw": 2 + 1 + 4}
    assert got.route_tables_per_transit_gateway == {"tgw": 2}
    assert got.attachments_per_transit_gateway == {"tgw": 1}
    assert got.region["network_interfaces"] == 2  # one per attachment subnet
    assert got.nau_per_vpc == {"v": UNITS["transit_gateway_attachment"]}


# Types the quota count leaves out on purpose: associations and templates; and issue 19's flow logs, the
# VPC's own default group and ACL (adopted, not created), the public subnets' ACL (one per VPC, of 200),
# the log bucket (one per Region, of an account's 10,000) and its settings.
QUOTA_FREE = {"aws:ec2/routeTableAssociation:RouteTableAssociation",
              "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation",
              "aws:ec2/launchTemplate:LaunchTemplate",
              "aws:ec2/flowLog:FlowLog", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
              "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl", "aws:ec2/networkAcl:NetworkAcl", "aws:s3/bucket:Bucket",
              "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
              "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
              "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
              "aws:s3/bucketVersioning:BucketVersioning",
              "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "aws:s3/bucketPolicy:BucketPolicy"}


def test_every_resource_the_program_declares_is_counted_by_some_rule():
    """A type the counter does not know would silently count nothing; the program's types are all known."""
    spec = plan(spokes=3, public_subnets=True)
    known = {v for k, v in vars(declared).items() if k.isupper() and isinstance(v, str) and v.startswith("aws:")}
    known |= QUOTA_FREE
    types = {r.type for r in declare(spec, "count-test").resources}
    assert types <= known, types - known


def RR(region, typ, name, **inputs):
    return Resource(typ, name, f"<{name}>", inputs, region)


def three_tgw_mesh():
    """Three regions' TGWs in a full mesh (as the program declares it), a VPC with a NAT in each."""
    regions = ["us-east-1", "us-west-2", "eu-west-1"]
    home = regions[0]
    names = {r: "tgw" if r == home else f"tgw-{r}" for r in regions}
    rows = []
    for r in regions:
        rows += [RR(r, declared.TGW, names[r]), RR(r, declared.TGW_ROUTE_TABLE, f"rt-{r}", transitGatewayId=f"<{names[r]}>"),
                 RR(r, declared.VPC, f"v-{r}"), RR(r, declared.SUBNET, f"s-{r}", vpcId=f"<v-{r}>",
                                                   availabilityZone=f"{r}a"),
                 RR(r, declared.EIP, f"eip-{r}"), RR(r, declared.NAT, f"nat-{r}", subnetId=f"<s-{r}>"),
                 RR(r, declared.TGW_ATTACHMENT, f"att-{r}", transitGatewayId=f"<{names[r]}>", vpcId=f"<v-{r}>",
                    subnetIds=[f"<s-{r}>"])]
    for i, a in enumerate(regions):
        for b in regions[i + 1:]:
            key = f"peering-{a}-{b}"
            rows += [RR(a, declared.TGW_PEERING, key, transitGatewayId=f"<{names[a]}>",
                        peerTransitGatewayId=f"<{names[b]}>", peerRegion=b),
                     RR(b, declared.TGW_PEERING_ACCEPTER, f"{key}-accept", transitGatewayAttachmentId=f"<{key}>"),
                     RR(a, declared.TGW_ROUTE, f"{key}-route-{a}", transitGatewayRouteTableId=f"<rt-{a}>",
                        transitGatewayAttachmentId=f"<{key}>", destinationCidrBlock="10.1.0.0/16"),
                     RR(b, declared.TGW_ROUTE, f"{key}-route-{b}", transitGatewayRouteTableId=f"<rt-{b}>",
                        transitGatewayAttachmentId=f"<{key}-accept>", destinationCidrBlock="10.0.0.0/16")]
    return regions, rows


def test_peerings_count_on_both_transit_gateways_and_per_pair():
    regions, rows = three_tgw_mesh()
    got = count(rows)
    # a full mesh of 3: every TGW holds 2 peering attachments, which are attachments too (plus its VPC's)
    assert got.peering_attachments_per_transit_gateway == {"tgw": 2, "tgw-us-west-2": 2, "tgw-eu-west-1": 2}
    assert got.attachments_per_transit_gateway == {"tgw": 3, "tgw-us-west-2": 3, "tgw-eu-west-1": 3}
    assert got.peering_attachments_between_transit_gateways == {
        "tgw <-> tgw-us-west-2": 1, "tgw <-> tgw-eu-west-1": 1, "tgw-us-west-2 <-> tgw-eu-west-1": 1}
    assert got.routes_per_transit_gateway == {"tgw": 2, "tgw-us-west-2": 2, "tgw-eu-west-1": 2}  # static routes
    assert got.region["transit_gateways"] == 3  # the whole network; each region has its own below
    assert {r: c["transit_gateways"] for r, c in got.regions.items()} == {r: 1 for r in regions}


def test_each_region_gets_its_own_share_of_the_counts():
    regions, rows = three_tgw_mesh()
    got = count(rows)
    west = got.in_region("us-west-2", "us-east-1")
    assert west.region["vpcs"] == 1 and west.region["elastic_ips"] == 1 and west.region["transit_gateways"] == 1
    assert west.nat_gateways_by_az == {"us-west-2a": 1}
    assert west.attachments_per_transit_gateway == {"tgw-us-west-2": 3}
    assert west.peering_attachments_between_transit_gateways == {"tgw-us-west-2 <-> tgw-eu-west-1": 1}
    assert west.vpc_names == ("v-us-west-2",)
    # resources recorded without a region are in the network's own region
    plain = count([R(declared.VPC, "a"), RR("us-west-2", declared.VPC, "b")])
    assert plain.in_region("us-east-1", "us-east-1").region["vpcs"] == 1
    assert plain.in_region("us-west-2", "us-east-1").vpc_names == ("b",)


def test_each_region_is_compared_with_its_own_quotas_and_holdings():
    regions, rows = three_tgw_mesh()
    got = count(rows)
    keys = DATA["quotas"].keys()
    default = {k: account.Applied(float(DATA["quotas"][k]["default"]), "documented") for k in keys}
    tight = dict(default, elastic_ips_per_region=account.Applied(1.0, "Service Quotas: applied value"),
                 peering_attachments_per_transit_gateway=account.Applied(1.0, "Service Quotas: applied value"))
    empty = account.Usage(vpcs=1, internet_gateways=0, elastic_ips=0, gateway_endpoints=0, security_groups=1,
                          transit_gateways=0, prefix_lists=0, network_interfaces=0, nat_gateways_by_az={})
    held = account.Usage(vpcs=4, internet_gateways=0, elastic_ips=1, gateway_endpoints=0, security_groups=4,
                         transit_gateways=4, prefix_lists=0, network_interfaces=3, nat_gateways_by_az={"eu-west-1a": 5})
    facts = {"us-east-1": (default, empty), "us-west-2": (tight, empty), "eu-west-1": (default, held)}
    out = analysis.compare_regions(DATA, facts, got, "us-east-1")
    assert [r.region for r in out] == sorted([r.region for r in out], key=regions.index)
    by = {(r.region, r.quota): r for r in out}
    assert (by["us-west-2", "EC2-VPC Elastic IPs"].needs, by["us-west-2", "EC2-VPC Elastic IPs"].fits) == (1, True)
    west_peering = by["us-west-2", "Peering attachments per transit gateway"]
    assert (west_peering.applied, west_peering.needs, west_peering.fits, west_peering.request) == (1, 2, False, 2)
    assert west_peering.resource.startswith("tgw-us-west-2 ")
    assert by["us-east-1", "Peering attachments per transit gateway"].fits
    # eu-west-1 already holds 4 TGWs (a 5th still fits) and 5 NAT gateways in its AZ a (a 6th does not)
    assert (by["eu-west-1", "Transit gateways per account"].needs, by["eu-west-1", "Transit gateways per account"].fits) \
        == (5, True)
    nat = by["eu-west-1", "NAT gateways per Availability Zone"]
    assert (nat.resource, nat.in_use, nat.adds, nat.fits) == ("eu-west-1a", 5, 1, False)
    assert by["eu-west-1", "VPCs per Region"].needs == 5
    between = [r for r in out if r.quota == "Peering attachments between two transit gateways"]
    assert {r.region for r in between} == {"us-east-1", "us-west-2"}  # the requester's region names the pair
    assert all(r.applied == 1 and r.needs == 1 and r.code is None for r in between)
    message = analysis.refusal_message("net", analysis.refusal(out))
    assert "in us-west-2 and eu-west-1" in message


def test_one_region_has_no_peering_rows():
    spec = plan(spokes=3)
    got = count(declare(spec, "one-region").resources)
    assert got.peering_attachments_per_transit_gateway == {} and got.peering_attachments_between_transit_gateways == {}
    assert set(got.regions) == {"us-east-1"}


def test_the_program_across_regions_is_counted_per_region():
    from labnet.preflight import RegionFacts

    facts = {r: RegionFacts(r, (f"{r}a", f"{r}b")) for r in ("us-east-1", "us-west-2", "eu-west-1")}
    spec = plan(spokes=None, regions={"us-east-1": 2, "us-west-2": 1, "eu-west-1": 1}, region=facts, azs=1)
    resources = declare(spec, "three-regions").resources
    assert {r.region for r in resources} == set(facts)
    known = {v for k, v in vars(declared).items() if k.isupper() and isinstance(v, str) and v.startswith("aws:")}
    known |= QUOTA_FREE
    assert {r.type for r in resources} <= known
    got = count(resources)
    assert {r: c["vpcs"] for r, c in got.regions.items()} == {"us-east-1": 2, "us-west-2": 1, "eu-west-1": 1}
    assert got.peering_attachments_per_transit_gateway == {"tgw": 2, "tgw-us-west-2": 2, "tgw-eu-west-1": 2}
    assert set(got.peering_attachments_between_transit_gateways.values()) == {1}
    assert len(got.peering_attachments_between_transit_gateways) == 3
    # each TGW route table: its region's propagated spokes + one static route per remote region
    assert got.routes_per_transit_gateway == {"tgw": 2 + 2, "tgw-us-west-2": 1 + 2, "tgw-eu-west-1": 1 + 2}
    east = got.in_region("us-east-1", "us-east-1")
    assert east.attachments_per_transit_gateway == {"tgw": 2 + 2} and len(east.vpc_names) == 2


# -- NAU per node ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode,ips,cards,nau,enis", [("efa", 32, 32, 64, 32), ("efa-only", 1, 32, 33, 33),
                                                     ("ena", 1, 0, 1, 1), ("efa", 4, 4, 8, 4)])
def test_nau_units_per_node(mode, ips, cards, nau, enis):
    node = analysis.node_needs(mode, ips, cards)
    assert node.nau(UNITS) == nau and node.interfaces == enis


# -- against the emulator's Service Quotas and EC2 ---------------------------------------------------
def row(frame, quota):
    got = frame[frame.quota == quota]
    assert len(got) == 1, (quota, list(frame.quota))
    return got.iloc[0]


@pytest.mark.e2e
def test_eight_spokes_do_not_fit_vpcs_per_region_on_default_quotas(ec2):
    spec = labnet.size(spokes=8, nodes_per_spoke=4)
    frame = labnet.quotas(spec)
    vpcs = row(frame, "VPCs per Region")
    assert (vpcs.code, vpcs.applied, vpcs.in_use, vpcs.adds, vpcs.needs) == ("L-F678F1CE", 5, 1, 8, 9)
    assert not vpcs.fits and vpcs.request == 9 and vpcs.needed_for == "deploy"
    assert vpcs.source == "Service Quotas: applied value"
    assert row(frame, "Transit gateways per account").source.startswith("documented default (https://docs.aws")
    assert set(frame.columns) >= {"quota", "code", "applied", "in_use", "adds", "needs", "fits", "source"}
    small = labnet.quotas(labnet.size(spokes=3, nodes_per_spoke=4))
    assert small.fits.all(), small[~small.fits]


@pytest.mark.e2e
def test_in_use_follows_what_an_independent_client_creates(ec2):
    spec = labnet.size(spokes=2, nodes_per_spoke=4, public_subnets=True)
    before = labnet.quotas(spec)
    vpc = ec2.create_vpc(CidrBlock="172.16.0.0/16")["Vpc"]["VpcId"]
    ec2.create_vpc(CidrBlock="172.17.0.0/16")
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ec2.allocate_address(Domain="vpc")
    ec2.create_transit_gateway(Description="someone else's")
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="172.16.0.0/24", AvailabilityZone=spec.spokes[0].subnets[0].az)
    alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.create_nat_gateway(SubnetId=subnet["Subnet"]["SubnetId"], AllocationId=alloc)
    after = labnet.quotas(spec)
    for quota, more in [("VPCs per Region", 2), ("Internet gateways per Region", 1), ("EC2-VPC Elastic IPs", 2),
                        ("Transit gateways per account", 1), ("VPC security groups per Region", 2)]:
        assert row(after, quota).in_use == row(before, quota).in_use + more, quota
        assert row(after, quota).adds == row(before, quota).adds, quota
    az = spec.spokes[0].subnets[0].az
    nat = after[(after.quota == "NAT gateways per Availability Zone") & (after.resource == az)]
    if len(nat):  # a row for this AZ exists when the spec puts a NAT gateway there
        assert nat.iloc[0].in_use == 1
    assert row(after, "Network interfaces per Region").in_use >= 1  # the NAT gateway's interface


@pytest.mark.e2e
def test_per_resource_counts_match_what_the_emulator_holds_after_a_deploy(ec2):
    """The predicted routes per table and rules per group are what an independent client finds once
    the network exists (prefix lists at their MaxEntries, AWS-managed ones at weight 1)."""
    spec = labnet.size(spokes=4, nodes_per_spoke=4, public_subnets=True)
    lab = labnet.Lab("quota-count", spec, engine="rehearsal")
    predicted = count(declare(spec, "quota-count").resources)
    lab.up(check_quotas=False)
    try:
        lists = {p["PrefixListId"]: (p["OwnerId"] == "AWS", p.get("MaxEntries", 1))
                 for p in ec2.describe_managed_prefix_lists()["PrefixLists"]}

        def weight(pl):
            aws_managed, max_entries = lists.get(pl, (True, 1))
            return 1 if aws_managed else max_entries

        ours = {v["VpcId"] for v in ec2.describe_vpcs(Filters=[{"Name": "tag:stack", "Values": ["quota-count"]}])["Vpcs"]}
        tables = [t for t in ec2.describe_route_tables()["RouteTables"] if t["VpcId"] in ours
                  and not any(a.get("Main") for a in t.get("Associations", []))]
        held_routes = {t["RouteTableId"]: sum(weight(r["DestinationPrefixListId"]) if r.get("DestinationPrefixListId")
                                              else 1 for r in t["Routes"]) for t in tables}
        groups = [g for g in ec2.describe_security_groups()["SecurityGroups"]
                  if g["VpcId"] in ours and g["GroupName"] != "default"]
        rules = ec2.describe_security_group_rules()["SecurityGroupRules"]

        def held(group, egress):
            return sum(weight(r["PrefixListId"]) if r.get("PrefixListId") else 1
                       for r in rules if r["GroupId"] == group and r["IsEgress"] == egress)

        assert sorted(held_routes.values()) == sorted(predicted.routes_per_route_table.values())
        assert sorted(held(g["GroupId"], False) for g in groups) == \
            sorted(predicted.inbound_rules_per_security_group.values())
        assert sorted(held(g["GroupId"], True) for g in groups) == \
            sorted(predicted.outbound_rules_per_security_group.values())
        # The stack's own resources now count as in use, not as added.
        again = lab.quotas()
        vpcs = row(again, "VPCs per Region")
        assert (vpcs.in_use, vpcs.adds) == (1 + 4, 0)
        fresh = row(labnet.quotas(spec), "VPCs per Region")
        assert (fresh.in_use, fresh.adds, fresh.needs, fresh.fits) == (5, 4, 9, False)
    finally:
        lab.destroy()


@pytest.mark.e2e
def test_emulator_up_and_preview_warn_what_real_aws_would_refuse(ec2, capsys):
    spec = labnet.size(spokes=5, nodes_per_spoke=4, azs=1)
    lab = labnet.Lab("quota-warn", spec, engine="rehearsal")
    lab.preview()
    assert lab.quota_warnings and "real AWS with default quotas would refuse this" in lab.quota_warnings[0]
    assert "VPCs per Region (L-F678F1CE)" in lab.quota_warnings[0] and "request 6" in lab.quota_warnings[0]
    preview_rows = [r.as_dict() for r in lab.quota_rows]
    assert preview_rows == [r.as_dict() for r in quota_report.check(spec, lab._resolve(), stack="quota-warn")]
    lab.up()  # the emulator enforces nothing: the deploy goes on, warned
    assert "VPCs per Region (L-F678F1CE)" in capsys.readouterr().err
    # counted from what the engine recorded, the rows are the ones the preview predicted
    assert [r.as_dict() for r in lab.quota_rows] == preview_rows
    try:
        assert len([v for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]) == 5
        lab.up()  # unchanged: nothing to add, nothing to warn about
        assert lab.quota_warnings == []
    finally:
        lab.destroy()


# -- target "aws", without an account: boto3 pointed at the moto server ----------------------------
@pytest.fixture
def aws_on_moto(aws_on_moto_env, monkeypatch):
    """``target="aws"`` reaches the moto server; every client created from here on records its API
    calls."""
    calls: list[str] = []
    record_api_calls(monkeypatch, calls)
    return calls


@pytest.mark.e2e
def test_aws_deploy_that_does_not_fit_is_refused_before_any_create_call(ec2, aws_on_moto):
    spec = labnet.size(spokes=8, nodes_per_spoke=4, target="aws")
    aws_on_moto.clear()
    lab = labnet.Lab("too-big", spec, target="aws", engine="pulumi")
    with pytest.raises(labnet.QuotaExceededError) as err:
        lab.up()
    text = str(err.value)
    assert "VPCs per Region (L-F678F1CE)" in text and "applied 5, needs 9 = 1 in use + 8 added" in text
    assert "request 9" in text and "nothing was created" in text
    (vpcs,) = [r for r in err.value.rows if r["code"] == "L-F678F1CE"]
    assert (vpcs["applied"], vpcs["in_use"], vpcs["adds"], vpcs["needs"], vpcs["request"]) == (5, 1, 8, 9, 9)
    # It read the account (quotas and holdings) and created nothing.
    assert {"GetServiceQuota", "DescribeVpcs", "DescribeTransitGateways"} <= set(aws_on_moto)
    assert [c for c in aws_on_moto if c.startswith(MUTATING)] == []
    assert [v for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")] == []
    assert lab.status() == "empty"


@pytest.mark.e2e
def test_aws_deploy_that_fits_passes_the_quota_check(ec2, aws_on_moto, monkeypatch):
    from labnet.engines import automation

    # Without the CLI the up stops at the engine, just past the quota check (with it, it would deploy).
    monkeypatch.setattr(automation, "engine_available", lambda: False)
    spec = labnet.size(spokes=2, nodes_per_spoke=4, target="aws")
    lab = labnet.Lab("fits", spec, target="aws", engine="pulumi")
    with pytest.raises(labnet.EngineUnavailableError):  # past the quota check, at the engine
        lab.up()
    assert lab.quota_rows and all(r.fits for r in lab.quota_rows if r.needed_for == "deploy")
    assert [c for c in aws_on_moto if c.startswith(MUTATING)] == []


# -- filing increases: only on explicit request ------------------------------------------------------
@pytest.mark.e2e
def test_request_quota_increases_files_one_request_per_code(ec2):
    spec = labnet.size(spokes=8, nodes_per_spoke=4)
    rows = quota_report.check(spec, labnet.Lab("req", spec)._resolve())
    sq = boto3.client("service-quotas", region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    failing = {r.code: r for r in rows if not r.fits}
    with Stubber(sq) as stub:  # botocore validates every request against the real service model
        for code, r in failing.items():
            service = {q["code"]: q["service"] for q in DATA["quotas"].values()}[code]
            stub.add_response("request_service_quota_increase",
                              {"RequestedQuota": {"Id": f"req-{code}", "Status": "PENDING", "QuotaCode": code}},
                              {"ServiceCode": service, "QuotaCode": code, "DesiredValue": float(r.needs)})
        filed = quota_report.file_requests(sq, rows)
        stub.assert_no_pending_responses()
    assert set(filed.code) == set(failing) and set(filed.status) == {"PENDING"}
    assert "L-F678F1CE" in set(filed.code)


def test_request_quota_increases_refuses_the_emulator():
    with pytest.raises(labnet.TargetError):
        labnet.request_quota_increases(plan(spokes=2), target="emulator")


def test_quotas_is_the_function_and_bad_specs_are_refused_before_any_call():
    assert callable(labnet.quotas) and labnet.quotas.__name__ == "quotas"
    with pytest.raises(labnet.InvalidSpecError):
        labnet.quotas("not a spec")


@pytest.mark.e2e
def test_command_line_prints_the_table_and_fails_when_a_quota_does_not_fit(ec2, capsys):
    from labnet.__main__ import main

    assert main(["quotas", "--spokes", "2", "--nodes-per-spoke", "4"]) == 0
    assert "VPCs per Region" in capsys.readouterr().out
    assert main(["quotas", "--spokes", "8", "--nodes-per-spoke", "4"]) == 1
    out = capsys.readouterr().out
    assert "does not fit: VPCs per Region (L-F678F1CE): applied 5, needs 9" in out
