"""End to end: the rehearsal engine against a real moto server on loopback, inspected with an
independent boto3 client."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

import labnet
from tests.helpers import by_cidr  # the peer prefix list (references: test_security)
from labnet.engines import handlers
from tests.inspect_ec2 import assert_reaches_like_the_full_mesh, inventory, total

pytestmark = pytest.mark.e2e


@pytest.fixture
def spec3(ec2):
    return by_cidr(labnet.size(spokes=3, nodes_per_spoke=8, instance_type="p5.48xlarge", azs=2))


def test_up_three_spokes_matches_what_boto3_sees_and_destroy_leaves_nothing(ec2, spec3):
    assert total(inventory(ec2)) == 0
    lab = labnet.Lab("e2e-three", spec3, engine="rehearsal")
    out = lab.up()

    # Transit Gateway with explicit route tables, no default association/propagation.
    (tgw,) = [t for t in ec2.describe_transit_gateways()["TransitGateways"] if t["State"] == "available"]
    assert tgw["Options"]["DefaultRouteTableAssociation"] == "disable"
    assert tgw["Options"]["DefaultRouteTablePropagation"] == "disable"
    assert tgw["Options"]["AmazonSideAsn"] == 64512
    assert out[out.resource == "transit_gateway"].id.item() == tgw["TransitGatewayId"]

    vpcs = {v["CidrBlock"]: v for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")}
    assert set(vpcs) == {s.cidr for s in spec3.spokes}
    exports = lab.exports()
    (tgw_rt,) = exports["transit_gateway_route_tables"].values()
    assocs = ec2.get_transit_gateway_route_table_associations(TransitGatewayRouteTableId=tgw_rt)["Associations"]
    props = ec2.get_transit_gateway_route_table_propagations(
        TransitGatewayRouteTableId=tgw_rt)["TransitGatewayRouteTablePropagations"]

    for sp in spec3.spokes:
        vpc = vpcs[sp.cidr]
        got = exports["spokes"][sp.name]
        assert got["vpc_id"] == vpc["VpcId"]
        # Subnets with the planned CIDRs and AZs.
        subnets = {s["CidrBlock"]: s for s in ec2.describe_subnets(
            Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]}
        assert {c: s["AvailabilityZone"] for c, s in subnets.items()} == {s.cidr: s.az for s in sp.subnets}
        # One available attachment using exactly the per-AZ attachment subnets.
        (att,) = ec2.describe_transit_gateway_vpc_attachments(
            Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["TransitGatewayVpcAttachments"]
        assert att["State"] == "available" and att["TransitGatewayId"] == tgw["TransitGatewayId"]
        want = {subnets[s.cidr]["SubnetId"] for s in sp.subnets_by_role("attachment")}
        assert set(att["SubnetIds"]) == want
        assert att["TransitGatewayAttachmentId"] == got["attachment_id"]
        assert any(a["TransitGatewayAttachmentId"] == got["attachment_id"] for a in assocs)
        assert any(p["TransitGatewayAttachmentId"] == got["attachment_id"] for p in props)
        # One summary route for the supernet via the TGW, in the route table every subnet uses.
        (rt,) = ec2.describe_route_tables(RouteTableIds=[got["route_table_id"]])["RouteTables"]
        via_tgw = [r["DestinationCidrBlock"] for r in rt["Routes"] if r.get("TransitGatewayId") == tgw["TransitGatewayId"]]
        assert via_tgw == [spec3.supernet]
        assert {a["SubnetId"] for a in rt["Associations"] if a.get("SubnetId")} == set(s["SubnetId"] for s in subnets.values())
        # Security group: all traffic from itself, TCP from the other spokes, nothing open.
        (sg,) = ec2.describe_security_groups(GroupIds=[got["security_group_id"]])["SecurityGroups"]
        self_rules = [p for p in sg["IpPermissions"] if p["IpProtocol"] == "-1"
                      and any(g["GroupId"] == sg["GroupId"] for g in p.get("UserIdGroupPairs", []))]
        assert self_rules
        self_egress = [p for p in sg["IpPermissionsEgress"] if p["IpProtocol"] == "-1"
                       and any(g["GroupId"] == sg["GroupId"] for g in p.get("UserIdGroupPairs", []))]
        assert self_egress, "EFA needs an egress rule to the group itself"
        assert sg["GroupName"].startswith(f"labnet-{sp.name}-training-")
        (tcp,) = [p for p in sg["IpPermissions"] if p["IpProtocol"] == "tcp"]
        assert not tcp["IpRanges"] and [r["PrefixListId"] for r in tcp["PrefixListIds"]] == [got["peer_prefix_list_id"]]
        (pl,) = ec2.describe_managed_prefix_lists(PrefixListIds=[got["peer_prefix_list_id"]])["PrefixLists"]
        entries = [e["Cidr"] for e in ec2.get_managed_prefix_list_entries(PrefixListId=pl["PrefixListId"])["Entries"]]
        assert sorted(entries) == sorted(spec3.peer_cidrs()[sp.name]) and pl["MaxEntries"] == len(entries)
        assert pl["PrefixListName"] == f"labnet-e2e-three-{sp.name}-peers" and pl["OwnerId"] != "AWS"
        assert not [r for p in sg["IpPermissions"] for r in p.get("IpRanges", []) if r["CidrIp"] == "0.0.0.0/0"]
        assert not [r for p in sg["IpPermissions"] for r in p.get("Ipv6Ranges", []) if r["CidrIpv6"] == "::/0"]
        # S3 gateway endpoint on the spoke's route table.
        (ep,) = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["VpcEndpoints"]
        assert ep["ServiceName"] == "com.amazonaws.us-east-1.s3" and ep["VpcEndpointType"] == "Gateway"
        assert got["route_table_id"] in ep["RouteTableIds"]
        assert ep["VpcEndpointId"] == got["s3_endpoint_id"]

    assert_reaches_like_the_full_mesh(ec2, spec3, exports)

    # The outputs table agrees with boto3, row by row.
    sub_rows = out[out.resource == "subnet"]
    live = {s["SubnetId"]: s["CidrBlock"] for s in ec2.describe_subnets()["Subnets"]}
    assert all(live[r.id] == r.cidr for r in sub_rows.itertuples())
    assert len(sub_rows) == sum(len(s.subnets) for s in spec3.spokes)
    pl_rows = out[out.resource == "peer_prefix_list"]
    assert dict(zip(pl_rows.spoke, pl_rows.id)) == {n: sp["peer_prefix_list_id"] for n, sp in exports["spokes"].items()}

    removed = lab.destroy()
    assert len(removed) > 50
    assert inventory(ec2) == {k: [] for k in inventory(ec2)}
    assert lab.status() == "destroyed"


def test_preview_creates_nothing_and_lists_every_resource(ec2, spec3):
    lab = labnet.Lab("e2e-preview", spec3, engine="rehearsal")
    plan = lab.preview()
    assert set(plan.action) == {"create"}
    assert (plan.resource == "Vpc").sum() == 3 and (plan.resource == "TransitGateway").sum() == 1
    assert set(plan[plan.resource == "Vpc"].spoke) == {s.name for s in spec3.spokes}
    lists = plan[plan.resource == "ManagedPrefixList"]
    assert list(lists.detail) == [f"max {len(b)} entries: {', '.join(b)}"
                                  for b in (spec3.peer_cidrs()[sp] for sp in lists.spoke)]
    (rule,) = plan[plan.name == f"{spec3.spokes[0].name}-sg-from-spokes"].detail
    assert rule == "tcp 0-65535 from the peer prefix list"
    assert total(inventory(ec2)) == 0


def test_deploy_in_one_process_destroy_in_another(ec2, spec3, labnet_home):
    spec_json = json.dumps(spec3.to_dict())
    code = textwrap.dedent(f"""
        import json, labnet
        spec = labnet.NetworkSpec.from_dict(json.loads({spec_json!r}))
        labnet.Lab("e2e-two-procs", spec, engine="rehearsal").up()
    """)
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=120)
    assert len(inventory(ec2)["vpcs"]) == 3
    code = 'import labnet; print(len(labnet.Lab("e2e-two-procs").destroy()))'
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120)
    assert int(out.stdout.strip()) > 50
    assert total(inventory(ec2)) == 0


def test_failed_deploy_after_k_resources_is_fully_destroyable(ec2, spec3, monkeypatch):
    real_create = handlers.VpcEndpoint.create
    calls = {"n": 0}

    def failing(self, client, name, inputs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("injected failure on the second S3 endpoint")
        return real_create(self, client, name, inputs)

    monkeypatch.setattr(handlers.VpcEndpoint, "create", failing)
    lab = labnet.Lab("e2e-fail", spec3, engine="rehearsal")
    with pytest.raises(labnet.DeployError) as err:
        lab.up()
    assert "injected failure" in str(err.value) and "destroy()" in str(err.value)
    created = total(inventory(ec2))
    assert created > 0
    monkeypatch.setattr(handlers.VpcEndpoint, "create", real_create)
    removed = lab.destroy()
    assert len(removed) >= created
    assert total(inventory(ec2)) == 0


def test_two_concurrent_ups_one_is_refused_naming_the_holder(ec2, spec3):
    spec_json = json.dumps(spec3.to_dict())
    slow = textwrap.dedent(f"""
        import json, time, labnet
        spec = labnet.NetworkSpec.from_dict(json.loads({spec_json!r}))
        labnet.Lab("e2e-lock", spec, engine="rehearsal", progress=lambda e: time.sleep(0.03)).up()
    """)
    proc = subprocess.Popen([sys.executable, "-c", slow], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        lab = labnet.Lab("e2e-lock", spec3, engine="rehearsal")
        deadline = time.monotonic() + 60
        while lab._store.holder() is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(labnet.StackLockedError) as err:
            lab.up()
        assert f"pid {proc.pid}" in str(err.value) and "up" in str(err.value)
    finally:
        assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()[-2000:]
    # Nothing corrupted: the first up finished, a second up changes nothing, destroy removes all.
    assert lab.status() == "deployed"
    before = inventory(ec2)
    lab.up()
    assert inventory(ec2) == before
    lab.destroy()
    assert total(inventory(ec2)) == 0


def test_resources_labnet_did_not_create_survive_destroy(ec2, spec3):
    tags = [{"Key": "stack", "Value": "e2e-foreign"}, {"Key": "managed-by", "Value": "labnet"},
            {"Key": "Name", "Value": "e2e-foreign-spoke-01-vpc"}]
    foreign = ec2.create_vpc(CidrBlock="10.0.0.0/16",
                             TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}])["Vpc"]["VpcId"]
    lab = labnet.Lab("e2e-foreign", spec3, engine="rehearsal")
    lab.up()
    lab.destroy()
    left = inventory(ec2)
    assert left["vpcs"] == [foreign]
    assert total(left) == 1


def test_up_twice_changes_nothing_and_adding_a_spoke_only_adds(ec2):
    spec = by_cidr(labnet.size(spokes=2, nodes_per_spoke=8, azs=2))
    events = []
    lab = labnet.Lab("e2e-idem", spec, engine="rehearsal", progress=events.append)
    first = lab.up()
    before = inventory(ec2)
    events.clear()
    second = lab.up()
    assert events == [] and inventory(ec2) == before
    pd.testing.assert_frame_equal(first, second)

    bigger = by_cidr(labnet.size(spokes=3, nodes_per_spoke=8, azs=2))
    lab3 = labnet.Lab("e2e-idem", bigger, engine="rehearsal", progress=events.append)
    plan = lab3.preview()
    assert set(plan.action) == {"same", "create", "update"}
    assert set(plan[plan.action == "update"].resource) == {"ManagedPrefixList"}  # the peer lists
    lab3.up()
    after = inventory(ec2)
    assert set(before["vpcs"]) < set(after["vpcs"]) and len(after["vpcs"]) == 3
    assert set(before["prefix_lists"]) < set(after["prefix_lists"])  # updated in place, one added
    assert {e.action for e in events} == {"create", "update"}

    # A change the rehearsal engine cannot make in place stops before any AWS call.
    changed = by_cidr(labnet.size(spokes=3, nodes_per_spoke=200, azs=2))
    with pytest.raises(labnet.SpecChangedError) as err:
        labnet.Lab("e2e-idem", changed, engine="rehearsal").up()
    assert "destroy()" in str(err.value)
    assert inventory(ec2) == after
    lab3.destroy()
    assert total(inventory(ec2)) == 0


def test_refresh_forgets_what_disappeared(ec2):
    spec = labnet.size(spokes=2, nodes_per_spoke=4, azs=1)
    lab = labnet.Lab("e2e-refresh", spec, engine="rehearsal")
    lab.up()
    ep = lab.exports()["spokes"][spec.spokes[0].name]["s3_endpoint_id"]
    ec2.delete_vpc_endpoints(VpcEndpointIds=[ep])
    table = lab.refresh()
    missing = table[table.status != "present"]
    assert list(missing.id) == [ep]
    lab.destroy()
    assert total(inventory(ec2)) == 0


def test_outputs_written_to_csv_and_json(ec2, tmp_path):
    from labnet import tables

    lab = labnet.Lab("e2e-csv", labnet.size(spokes=2, nodes_per_spoke=4), engine="rehearsal")
    out = lab.up()
    csv = pd.read_csv(tables.write(out, tmp_path / "o.csv")).fillna("")
    assert list(csv.id) == list(out.id)
    js = pd.read_json(tables.write(out, tmp_path / "o.json"))
    assert list(js.id) == list(out.id)
    with pytest.raises(labnet.InvalidSpecError):
        tables.write(out, tmp_path / "o.xlsx")
    lab.destroy()


def test_stacks_lists_known_stacks_and_state(ec2):
    lab = labnet.Lab("e2e-list", labnet.size(spokes=2, nodes_per_spoke=4), engine="rehearsal")
    lab.up()
    listing = labnet.stacks()
    row = listing[listing.stack_name == "e2e-list"].iloc[0]
    assert row.state == "deployed" and row.spokes == 2 and row.resources > 10 and row.engine == "rehearsal"
    lab.destroy()
    assert labnet.stacks().set_index("stack_name").loc["e2e-list", "state"] == "destroyed"


def test_rehearsal_never_targets_real_aws():
    spec = labnet.NetworkSpec.from_dict(__import__("tests.helpers").helpers.plan().to_dict())
    with pytest.raises(labnet.TargetError) as err:
        labnet.Lab("never-aws", spec, target="aws", engine="rehearsal")
    assert "never touches a real AWS account" in str(err.value)


def test_lab_repr_is_safe(ec2, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SENTINEL-SECRET-123456")
    lab = labnet.Lab("e2e-repr", labnet.size(spokes=2, nodes_per_spoke=4), engine="rehearsal")
    text = repr(lab)
    assert "SENTINEL" not in text and "testing" not in text
    assert text.startswith("Lab(stack='e2e-repr'")


def test_security_group_rules_are_really_revoked(ec2):
    """Each rule handler's delete removes exactly its rule on the emulator (not only with its group)."""
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    by_type = handlers.HANDLERS
    sg, _ = by_type["aws:ec2/securityGroup:SecurityGroup"].create(
        ec2, "t-sg", {"vpcId": vpc, "description": "t", "tags": {"Name": "t-sg"}})
    ingress = by_type["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"]
    self_rule = {"securityGroupId": sg, "ipProtocol": "-1", "referencedSecurityGroupId": sg,
                 "description": "all traffic from the group itself"}
    tcp_rule = {"securityGroupId": sg, "ipProtocol": "tcp", "fromPort": 0.0, "toPort": 65535.0,
                "cidrIpv4": "10.8.0.0/16", "description": "TCP from spoke b"}
    ids = [ingress.create(ec2, n, r)[0] for n, r in (("self", self_rule), ("tcp", tcp_rule))]
    assert len(ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]["IpPermissions"]) == 2
    for rid, rule in zip(ids, (self_rule, tcp_rule)):
        ingress.delete(ec2, rid, rule, {})
        assert not ingress.find_by_id(ec2, rid, rule)
    assert ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]["IpPermissions"] == []
    # A rule recovered after a killed run has no EC2 id: it is revoked by its shape.
    ingress.create(ec2, "self", self_rule)
    ingress.delete(ec2, ingress.find(ec2, self_rule), self_rule, {})
    assert ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]["IpPermissions"] == []
