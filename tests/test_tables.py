"""The outputs and preview tables (pure: exports and planned resources shaped like the program's): a
region column on every row, rows for every region's TGW and route tables and each peering, and a
network in one region shown as it always was, plus that column."""

from __future__ import annotations

import pytest

from labnet import tables
from labnet.engines.contract import PlannedResource

from labnet.outputs import SECRET  # noqa: E402 the one marker


def one_region() -> dict:
    return {
        "region": "us-east-1", "supernet": "10.0.0.0/8", "transit_gateway_id": "tgw-1",
        "transit_gateway_arn": "arn:aws:ec2:us-east-1:123456789012:transit-gateway/tgw-1",
        "transit_gateway_route_tables": {"spokes": "tgw-rtb-1"},
        "transit_gateways": {"us-east-1": {"id": "tgw-1", "asn": 64512.0, "summary": "10.0.0.0/8",
                                           "route_tables": {"spokes": "tgw-rtb-1"}}},
        "peerings": [],
        "spokes": {"spoke-01": {"vpc_id": "vpc-1", "cidr": "10.0.0.0/23", "route_table_id": "rtb-1",
                                "attachment_id": "tgw-attach-1", "security_group_id": "sg-1",
                                "tgw_route_table": "spokes", "region": "us-east-1",
                                "subnets": [{"name": "spoke-01-compute-a", "role": "compute", "az": "us-east-1a",
                                             "az_id": "use1-az6", "cidr": "10.0.0.0/24", "id": "subnet-1"}]}},
    }


def two_regions() -> dict:
    e = one_region()
    e["transit_gateways"] = {
        "us-east-1": {"id": "tgw-1", "asn": 64512.0, "summary": "10.0.0.0/22", "route_tables": {"spokes": "tgw-rtb-1"}},
        "us-west-2": {"id": "tgw-2", "asn": 64513.0, "summary": "10.0.4.0/22", "route_tables": {"spokes": "tgw-rtb-2"}}}
    e["peerings"] = [{"requester": "us-east-1", "accepter": "us-west-2", "attachment_id": "tgw-attach-p",
                      "routes": {"us-east-1": "10.0.4.0/22", "us-west-2": "10.0.0.0/22"}}]
    e["spokes"]["spoke-02"] = dict(e["spokes"]["spoke-01"], vpc_id="vpc-2", cidr="10.0.4.0/23", region="us-west-2",
                                   subnets=[])
    return e


def test_one_region_is_shown_as_before_with_its_region_on_every_row():
    frame = tables.outputs(one_region())
    assert list(frame.columns) == tables.OUTPUT_COLUMNS
    assert set(frame.region) == {"us-east-1"}
    assert list(frame.resource) == ["transit_gateway", "transit_gateway_arn", "tgw_route_table", "vpc", "subnet",
                                    "route_table", "tgw_attachment", "security_group"]
    tgw = frame.iloc[0]
    assert (tgw["name"], tgw.id, tgw.cidr, tgw.role) == ("tgw", "tgw-1", "10.0.0.0/8", "")
    # stacks saved before regions existed have no per-region exports, and read the same
    old = one_region()
    for key in ("transit_gateways", "peerings"):
        del old[key]
    del old["spokes"]["spoke-01"]["region"]
    assert tables.outputs(old).equals(frame)


def test_two_regions_have_a_hub_each_and_the_peering_on_both_sides():
    frame = tables.outputs(two_regions())
    hubs = frame[frame.resource == "transit_gateway"]
    assert list(zip(hubs.region, hubs["name"], hubs.id, hubs.cidr, hubs.role)) == [
        ("us-east-1", "tgw", "tgw-1", "10.0.0.0/22", "ASN 64512"),
        ("us-west-2", "tgw-us-west-2", "tgw-2", "10.0.4.0/22", "ASN 64513")]
    rts = frame[frame.resource == "tgw_route_table"]
    assert list(zip(rts.region, rts.id)) == [("us-east-1", "tgw-rtb-1"), ("us-west-2", "tgw-rtb-2")]
    peer = frame[frame.resource == "tgw_peering_attachment"]
    assert list(zip(peer.region, peer.id, peer.role)) == [("us-east-1", "tgw-attach-p", "requester; peer us-west-2"),
                                                          ("us-west-2", "tgw-attach-p", "accepter; peer us-east-1")]
    routes = frame[frame.resource == "tgw_static_route"]
    assert list(zip(routes.region, routes.cidr, routes.id)) == [("us-east-1", "10.0.4.0/22", "tgw-attach-p"),
                                                                ("us-west-2", "10.0.0.0/22", "tgw-attach-p")]
    assert set(frame[frame.spoke == "spoke-02"].region) == {"us-west-2"}
    assert set(frame[frame.spoke == "spoke-01"].region) == {"us-east-1"}


def test_a_secret_home_hub_shows_as_secret():
    exports = two_regions()
    exports["transit_gateways"]["us-east-1"] = SECRET
    tgw = tables.outputs(exports).iloc[0]
    assert (tgw.resource, tgw.cidr, tgw.role) == ("transit_gateway", SECRET, SECRET)


@pytest.mark.parametrize("secret", ["transit_gateways", "peerings", "hub", "routes", "region"])
def test_secret_region_exports_show_as_secret(secret):
    exports = two_regions()
    if secret == "hub":
        exports["transit_gateways"]["us-west-2"] = SECRET
    elif secret == "routes":
        exports["peerings"][0]["routes"] = SECRET
    elif secret == "region":
        exports["spokes"]["spoke-02"]["region"] = SECRET
    else:
        exports[secret] = SECRET
    frame = tables.outputs(exports)
    assert SECRET in set(frame.id) | set(frame.cidr) | set(frame.region)
    text = frame.to_string()
    hidden = {"transit_gateways": "tgw-2", "peerings": "tgw-attach-p", "hub": "tgw-2", "routes": "10.0.4.0/22  ",
              "region": "us-west-2"}[secret]
    if secret == "routes":
        assert set(frame[frame.resource == "tgw_static_route"].cidr) == {SECRET}
    elif secret == "region":
        assert set(frame[frame.spoke == "spoke-02"].region) == {SECRET}
    else:
        assert hidden not in text


def test_preview_names_each_planned_resources_region():
    planned = [PlannedResource("create", "aws:ec2/vpc:Vpc", "spoke-02-vpc", {"cidrBlock": "10.0.4.0/23",
                                                                           "tags": {"spoke": "spoke-02"}},
                               region="us-west-2"),
               PlannedResource("create", "aws:ec2transitgateway/peeringAttachment:PeeringAttachment",
                               "peering-us-east-1-us-west-2", {"peerRegion": "us-west-2"}, region="us-east-1"),
               PlannedResource("create", "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter",
                               "peering-us-east-1-us-west-2-accept", {}, region="us-west-2"),
               PlannedResource("delete", "aws:ec2/vpc:Vpc", "old-vpc", {})]  # recorded before regions existed
    frame = tables.preview(planned, ["spoke-02"], "us-east-1")
    assert list(frame.columns) == tables.PREVIEW_COLUMNS
    assert list(frame.region) == ["us-west-2", "us-east-1", "us-west-2", "us-east-1"]
    assert list(frame.detail[1:3]) == ["peering with us-west-2", "accepts the peering"]
    assert frame.spoke[0] == "spoke-02"
