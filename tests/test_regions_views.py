"""What users see of a network across regions (issue 14 item 4): the outputs and preview tables with a
region column and rows for every region's TGW, route tables and peering, and the quota table per
region. Against a real moto server: a 2 regions × 2 spokes network deployed with the rehearsal
engine, every id in the tables found by an independent boto3 client of the region the row names."""

from __future__ import annotations

import boto3
import pytest

import labnet
from labnet import tables

pytestmark = pytest.mark.e2e

REGIONS = {"us-east-1": 2, "us-west-2": 2}


def client(url: str, region: str):
    return boto3.client("ec2", region_name=region, endpoint_url=url, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


@pytest.fixture
def clients(fresh_emulator):
    """An independent EC2 client per region (not labnet's)."""
    return {r: client(fresh_emulator, r) for r in REGIONS}


def two_regions():
    return labnet.size(regions=REGIONS, nodes_per_spoke=4, azs=1)


def test_tables_name_the_region_of_every_row_and_the_region_holds_it(clients):
    spec = two_regions()
    lab = labnet.Lab("regions-views", spec, engine="rehearsal")
    planned = lab.preview()
    assert list(planned.columns) == tables.PREVIEW_COLUMNS
    for spoke in spec.spokes:  # every resource of a spoke is planned in the spoke's region
        assert set(planned[planned.spoke == spoke.name].region) == {spec.region_of(spoke)}
    peering = planned[planned.resource == "PeeringAttachment"].iloc[0]
    assert (peering.region, peering.detail) == ("us-east-1", "peering with us-west-2")
    assert planned[planned.resource == "PeeringAttachmentAccepter"].iloc[0].region == "us-west-2"
    routes = planned[planned.name.str.contains("-route-")]
    assert set(zip(routes.region, routes.cidr)) == {("us-east-1", spec.summary_of("us-west-2")),
                                                   ("us-west-2", spec.summary_of("us-east-1"))}
    lab.up(check_quotas=False)
    try:
        out = lab.outputs()
        assert list(out.columns) == tables.OUTPUT_COLUMNS
        assert (out.region != "").all()

        def held(region, kind, **kw):
            ec2 = clients[region]
            if kind == "vpc":
                return {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
            if kind == "subnet":
                return {s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]}
            if kind == "transit_gateway":
                return {t["TransitGatewayId"] for t in ec2.describe_transit_gateways()["TransitGateways"]
                        if t["State"] != "deleted"}
            if kind == "tgw_route_table":
                return {t["TransitGatewayRouteTableId"]
                        for t in ec2.describe_transit_gateway_route_tables()["TransitGatewayRouteTables"]}
            if kind == "tgw_attachment":
                return {a["TransitGatewayAttachmentId"]
                        for a in ec2.describe_transit_gateway_vpc_attachments()["TransitGatewayVpcAttachments"]}
            if kind == "tgw_peering_attachment":
                return {a["TransitGatewayAttachmentId"] for a in
                        ec2.describe_transit_gateway_peering_attachments()["TransitGatewayPeeringAttachments"]
                        if a["State"] == "available"}
            raise AssertionError(kind)

        kinds = ["vpc", "subnet", "transit_gateway", "tgw_route_table", "tgw_attachment", "tgw_peering_attachment"]
        for kind in kinds:
            rows = out[out.resource == kind]
            assert len(rows), kind
            for region, ids in rows.groupby("region").id:
                here = held(region, kind)
                assert set(ids) <= here, (kind, region)
                other = next(r for r in REGIONS if r != region)
                if kind != "tgw_peering_attachment":  # a peering attachment is seen from both sides
                    assert not set(ids) & held(other, kind), (kind, region)
        hubs = out[out.resource == "transit_gateway"]
        assert dict(zip(hubs.region, hubs.cidr)) == {r: spec.summary_of(r) for r in REGIONS}
        assert dict(zip(hubs.region, hubs.role)) == {r: f"ASN {spec.asn_of(r)}" for r in REGIONS}
        peer = out[out.resource == "tgw_peering_attachment"]
        assert sorted(peer.region) == sorted(REGIONS) and peer.id.nunique() == 1
        assert set(peer.role) == {"requester; peer us-west-2", "accepter; peer us-east-1"}
        # The static route rows are what each region's TGW route tables hold for the other's summary.
        for r in out[out.resource == "tgw_static_route"].itertuples():
            tables_here = out[(out.resource == "tgw_route_table") & (out.region == r.region)].id
            for table in tables_here:
                found = clients[r.region].search_transit_gateway_routes(
                    TransitGatewayRouteTableId=table,
                    Filters=[{"Name": "route-search.exact-match", "Values": [r.cidr]}])["Routes"]
                assert [a["TransitGatewayAttachmentId"] for route in found
                        for a in route.get("TransitGatewayAttachments", [])] == [r.id], (r.region, table)
        # Every spoke's rows say its region; its VPC holds the planned CIDR there.
        for spoke in spec.spokes:
            rows = out[out.spoke == spoke.name]
            region = spec.region_of(spoke)
            assert set(rows.region) == {region}
            vpc = rows[rows.resource == "vpc"].iloc[0]
            cidr = clients[region].describe_vpcs(VpcIds=[vpc.id])["Vpcs"][0]["CidrBlock"]
            assert cidr == spoke.cidr == vpc.cidr

        # Quotas of the deployed stack: each region counts its own holdings, the stack's as in use.
        q = lab.quotas()
        vpcs = q[q.quota == "VPCs per Region"].set_index("region")
        for region, ec2 in clients.items():
            assert vpcs.loc[region, "in_use"] == len(ec2.describe_vpcs()["Vpcs"]) == 1 + REGIONS[region]
            assert vpcs.loc[region, "adds"] == 0
        # Per-resource counts: each region's fullest route table is the one the emulator holds there.
        routes = q[q.quota == "Routes per route table"].set_index("region")
        attachments = q[q.quota == "Attachments per transit gateway"].set_index("region")
        for region, ec2 in clients.items():
            ours = {v for v in out[(out.resource == "vpc") & (out.region == region)].id}
            held_routes = [len(t["Routes"]) for t in ec2.describe_route_tables()["RouteTables"]
                           if t["VpcId"] in ours and not any(a.get("Main") for a in t.get("Associations", []))]
            assert routes.loc[region, "needs"] == max(held_routes)
            assert attachments.loc[region, "needs"] == len(
                ec2.describe_transit_gateway_attachments()["TransitGatewayAttachments"]) == REGIONS[region] + 1
        peerings = q[q.quota == "Peering attachments per transit gateway"]
        assert sorted(peerings.region) == sorted(REGIONS) and set(peerings.needs) == {1}
    finally:
        lab.destroy()
    for region, ec2 in clients.items():
        assert held(region, "tgw_peering_attachment") == set()


def test_quota_rows_per_region_follow_what_an_independent_client_creates_there(clients):
    spec = two_regions()
    before = labnet.quotas(spec)
    west = clients["us-west-2"]
    west.create_vpc(CidrBlock="172.16.0.0/16")
    west.create_vpc(CidrBlock="172.17.0.0/16")
    west.create_transit_gateway(Description="someone else's")
    west.allocate_address(Domain="vpc")
    after = labnet.quotas(spec)

    def cell(frame, quota, region, column):
        got = frame[(frame.quota == quota) & (frame.region == region)]
        assert len(got) == 1, (quota, region, got)
        return got.iloc[0][column]

    assert set(after.region) == set(REGIONS)
    for quota, more in [("VPCs per Region", 2), ("Transit gateways per account", 1),
                        ("VPC security groups per Region", 2)]:
        assert cell(after, quota, "us-west-2", "in_use") == cell(before, quota, "us-west-2", "in_use") + more
        assert cell(after, quota, "us-east-1", "in_use") == cell(before, quota, "us-east-1", "in_use")
        for region in REGIONS:
            assert cell(after, quota, region, "adds") == cell(before, quota, region, "adds")
    assert cell(after, "VPCs per Region", "us-west-2", "adds") == REGIONS["us-west-2"]
    # the peering rows, from the quotas page (the emulator's Service Quotas serves no ec2 codes)
    for region in REGIONS:
        row = after[(after.quota == "Peering attachments per transit gateway") & (after.region == region)].iloc[0]
        assert (row.code, row.applied, row.needs, row.fits) == ("L-A1B5A36F", 50, 1, True)
        assert row.source.startswith("documented default (https://docs.aws.amazon.com/vpc/latest/tgw/")
        pending = after[(after.quota == "Pending peering attachments per transit gateway") & (after.region == region)]
        assert (pending.iloc[0].code, pending.iloc[0].applied) == ("L-62499967", 10)
    between = after[after.quota == "Peering attachments between two transit gateways"]
    assert len(between) == 1 and between.iloc[0].region == "us-east-1" and between.iloc[0].code == ""
    assert (between.iloc[0].applied, between.iloc[0].needs) == (1, 1)
    # and the whole network still fits a fresh account in both regions
    assert after.fits.all(), after[~after.fits]
