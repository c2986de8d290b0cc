"""Issue 5, items 11 and 12.

11. No security group labnet declares allows ingress from 0.0.0.0/0 or ::/0; the training group allows
    all traffic only from itself, TCP only from the other spokes' CIDRs (one rule referencing the
    spoke's own peer prefix list, whose entries cover exactly those CIDRs), and can reach itself (EFA
    needs all traffic to and from the group). Checked on the declared program (the SDK's mocks) and on
    what the emulator holds after ``up``. Outbound is open by design (``labnet.spec.Security``: "egress
    open"); the test pins exactly that one egress rule so a change to it is a decision, not an accident.
12. ``destroy`` removes only what the stack's state owns, never a sweep by tags: other stacks on the same
    emulator, and a foreign VPC wearing the stack's own tags, are untouched; every delete call names an
    id from the state.
"""

from __future__ import annotations

import dataclasses

import pytest

import labnet
from labnet.spec import Security
from tests.helpers import by_cidr, declared, plan
from tests.inspect_ec2 import inventory
from tests.reliability.util import default_tgw_route_tables, emulator_ids, left_behind, state_ids

SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
OPEN = {"0.0.0.0/0", "::/0"}


def _addresses(cidrs):
    import ipaddress

    return list(ipaddress.collapse_addresses(ipaddress.IPv4Network(c) for c in cidrs))


@pytest.mark.parametrize("variant", ["default", "public-subnets", "narrow-ports", "ten-spokes"])
def test_declared_security_groups_are_closed(variant):
    # Admission by CIDR, what this test walks (references across the TGW: tests/test_security.py).
    spec = by_cidr({"default": lambda: plan(spokes=3, azs=2),
                    "public-subnets": lambda: plan(spokes=2, azs=2, public_subnets=True),
                    "narrow-ports": lambda: dataclasses.replace(plan(spokes=3), security=Security((29500, 29600))),
                    "ten-spokes": lambda: plan(spokes=10, azs=1)}[variant]())
    rows, _ = declared(spec, stack="sg")
    groups = {name: inputs for t, name, inputs in rows if t == SG}
    assert set(groups) == {f"{s.name}-training-sg" for s in spec.spokes}
    for inputs in groups.values():  # no inline rules: every rule is a resource checked below
        assert not inputs.get("ingress") and not inputs.get("egress")
    ingress = [i for t, _, i in rows if t == INGRESS]
    egress = [i for t, _, i in rows if t == EGRESS]
    lists = {f"{name}-id": i for t, name, i in rows if t == PREFIX_LIST}
    assert not [i for i in ingress if i.get("cidrIpv4") in OPEN or i.get("cidrIpv6") in OPEN
                or (i.get("prefixListId") and i["prefixListId"] not in lists)]  # only labnet's own lists
    lo, hi = spec.security.cross_spoke_ports
    for spoke in spec.spokes:
        sg_id = f"{spoke.name}-training-sg-id"  # the mock's id for the group
        mine = [i for i in ingress if i["securityGroupId"] == sg_id]
        everything = [i for i in mine if i["ipProtocol"] == "-1"]
        assert everything and all(i.get("referencedSecurityGroupId") == sg_id and not i.get("cidrIpv4")
                                  for i in everything)  # all traffic: only from itself
        tcp = [i for i in mine if i["ipProtocol"] != "-1"]
        assert all(i["ipProtocol"] == "tcp" and (int(i["fromPort"]), int(i["toPort"])) == (lo, hi) for i in tcp)
        (rule,) = tcp
        admitted = [e["cidr"] for e in lists[rule["prefixListId"]]["entries"]]
        assert _addresses(admitted) == _addresses(o.cidr for o in spec.spokes if o.name != spoke.name)
        out = [i for i in egress if i["securityGroupId"] == sg_id]
        # Open egress, and all traffic to the group itself (EFA: a CIDR rule does not carry it).
        assert sorted((i["ipProtocol"], i.get("cidrIpv4") or i.get("referencedSecurityGroupId")) for i in out) \
            == [("-1", "0.0.0.0/0"), ("-1", sg_id)]


def _permissions_from(perms):
    for p in perms:
        for r in p.get("IpRanges", []):
            yield p, "cidr", r["CidrIp"]
        for r in p.get("Ipv6Ranges", []):
            yield p, "cidr", r["CidrIpv6"]
        for r in p.get("PrefixListIds", []):
            yield p, "prefix-list", r["PrefixListId"]
        for r in p.get("UserIdGroupPairs", []):
            yield p, "group", r["GroupId"]


@pytest.mark.e2e
def test_security_groups_on_the_emulator_are_closed(ec2):
    spec = by_cidr(labnet.size(spokes=3, nodes_per_spoke=4, azs=1))
    lab = labnet.Lab("sg-live", spec, engine="rehearsal")
    lab.up()
    spokes = lab.exports()["spokes"]
    vpcs = [sp["vpc_id"] for sp in spokes.values()]
    every = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": vpcs}])["SecurityGroups"]
    own_lists = {sp["peer_prefix_list_id"] for sp in spokes.values()}
    # Every group in labnet's VPCs (moto's per-VPC default group included): nothing open to the world,
    # and no prefix list but labnet's own peer lists (whose entries are checked below).
    assert not [(g["GroupId"], src) for g in every for _, kind, src in _permissions_from(g["IpPermissions"])
                if (kind == "prefix-list" and src not in own_lists) or src in OPEN]
    for sp_name, sp in spokes.items():
        (g,) = ec2.describe_security_groups(GroupIds=[sp["security_group_id"]])["SecurityGroups"]
        rules = list(_permissions_from(g["IpPermissions"]))
        everything = [(kind, src) for p, kind, src in rules if p["IpProtocol"] == "-1"]
        assert everything == [("group", g["GroupId"])]
        tcp = [(p["IpProtocol"], p["FromPort"], p["ToPort"], kind, src) for p, kind, src in rules if p["IpProtocol"] != "-1"]
        assert tcp == [("tcp", 0, 65535, "prefix-list", sp["peer_prefix_list_id"])]
        entries = [e["Cidr"] for e in ec2.get_managed_prefix_list_entries(
            PrefixListId=sp["peer_prefix_list_id"])["Entries"]]
        assert not set(entries) & OPEN
        assert _addresses(entries) == _addresses(o["cidr"] for n, o in spokes.items() if n != sp_name)
        assert sorted((p["IpProtocol"], src) for p, _, src in _permissions_from(g["IpPermissionsEgress"])) \
            == [("-1", "0.0.0.0/0"), ("-1", g["GroupId"])]  # open, and to itself (EFA)
    lab.destroy()
    assert left_behind(ec2) == 0


@pytest.mark.e2e
def test_destroy_removes_only_what_the_state_owns(ec2, small_spec, api_calls, figures):
    a = labnet.Lab("owner-a", small_spec, engine="rehearsal")
    b = labnet.Lab("owner-b", labnet.size(spokes=2, nodes_per_spoke=4, azs=1, supernet="10.64.0.0/10"),
                   engine="rehearsal")
    a.up()
    b.up()
    # A look-alike nobody recorded: a VPC wearing stack A's own tags and Name.
    lookalike = ec2.create_vpc(CidrBlock="10.200.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": [
        {"Key": "stack", "Value": "owner-a"}, {"Key": "managed-by", "Value": "labnet"},
        {"Key": "Name", "Value": "owner-a-spoke-01-vpc"}]}])["Vpc"]["VpcId"]
    owned_by_a = state_ids(a._store)
    b_before = inventory(ec2, stack="owner-b")
    not_a = (emulator_ids(ec2) | default_tgw_route_tables(ec2)) - owned_by_a

    deleted: list[dict] = []

    def record_deletes(model, params, **_):
        if model.name.startswith(("Delete", "Disassociate", "Revoke", "Disable", "Release", "Detach")):
            deleted.append({"op": model.name, **params})

    import botocore.session

    real = botocore.session.Session.create_client

    def create_client(self, *args, **kwargs):
        client = real(self, *args, **kwargs)
        client.meta.events.register("before-parameter-build", record_deletes)
        return client

    botocore.session.Session.create_client = create_client
    try:
        a.destroy()
    finally:
        botocore.session.Session.create_client = real

    ids_named = {v for call in deleted for k, v in call.items() if k.endswith("Id") and isinstance(v, str)}
    assert ids_named <= owned_by_a, ids_named - owned_by_a  # every delete names something A's state owns
    assert not [c for c in deleted if "Filters" in c]
    assert inventory(ec2, stack="owner-b") == b_before
    assert not_a <= emulator_ids(ec2) | default_tgw_route_tables(ec2)  # nothing A does not own was touched
    assert inventory(ec2, stack="owner-a")["vpcs"] == [lookalike]
    assert b.status() == "deployed"

    b.destroy()  # the other stack's own destroy still works
    ec2.delete_vpc(VpcId=lookalike)
    figures.fault("test_destroy_removes_only_what_the_state_owns", "destroy next to another stack and a "
                  "look-alike VPC", left_behind(ec2))
    assert left_behind(ec2) == 0


@pytest.mark.e2e
def test_an_interrupted_create_never_adopts_another_stacks_resource(ec2, small_spec, figures):
    """Stack A is interrupted just before its TGW route table's create call (journaled as pending,
    never sent). Its destroy looks the pending table up by its tags; the emulator ignores tag filters
    for TGW route tables, so without labnet's own tag check it would 'find' stack B's table (or moto's
    default one) and delete it."""
    b = labnet.Lab("victim-b", labnet.size(spokes=2, nodes_per_spoke=4, azs=1, supernet="10.64.0.0/10"),
                   engine="rehearsal")
    b.up()
    b_before = inventory(ec2, stack="victim-b")
    everything_before = emulator_ids(ec2) | default_tgw_route_tables(ec2)  # B's, and moto's furniture

    def stop_before_tgw_route_table(event):
        if event.status == "started" and event.name.startswith("tgw-rt-"):
            raise KeyboardInterrupt

    a = labnet.Lab("victim-a", small_spec, engine="rehearsal", progress=stop_before_tgw_route_table)
    with pytest.raises(labnet.InterruptedOperationError):
        a.up()
    assert "tgw-rt-spokes" in {r.name for r in a._store.load().pending}
    labnet.Lab("victim-a").destroy()
    assert everything_before <= emulator_ids(ec2) | default_tgw_route_tables(ec2)
    assert inventory(ec2, stack="victim-b") == b_before
    assert inventory(ec2, stack="victim-a") == {k: [] for k in b_before}
    b.destroy()
    figures.fault("test_an_interrupted_create_never_adopts_another_stacks_resource",
                  "KeyboardInterrupt before a TGW route table's create, next to another stack", left_behind(ec2))
    assert left_behind(ec2) == 0
