"""Verify end to end: 4 spokes deployed by the rehearsal engine on a real moto server, broken one fault
at a time with an independent boto3 client, then restored.

For each fault, exactly the pairs it affects turn unreachable, with the fault's reason code, the id of
the resource it broke and the right path (forward or return); every other pair stays reachable; after
the restore everything is reachable again. The expectations are written out per fault from what the
fault does to the packets, not computed by labnet.
"""

from __future__ import annotations

import ipaddress

import os
import subprocess
import sys
import tempfile
import urllib.request

import boto3
import pytest

import labnet
from tests.helpers import by_cidr  # the peer prefix list (references: test_security)
from tests.helpers import verdicts
from labnet.analysis import snapshot as snapshot_mod
from labnet.analysis.snapshot import Snapshot

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
TCP = ("tcp:29500", "tcp:50000")
SPOKES = ("spoke-01", "spoke-02", "spoke-03", "spoke-04")
SUPERNET = "10.0.0.0/16"
A, B, C, D = SPOKES


def _reset(url: str) -> None:
    req = urllib.request.Request(url + "/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(req, timeout=10).read()


def _client(url: str):
    return boto3.client("ec2", region_name=REGION, endpoint_url=url, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


class Net:
    """The deployed network and the ids a fault needs, read with plain boto3."""

    def __init__(self, lab: labnet.Lab, ec2) -> None:
        self.lab, self.ec2 = lab, ec2
        ex = lab.exports()
        self.tgw = ex["transit_gateway_id"]
        (self.tgw_rt,) = ex["transit_gateway_route_tables"].values()
        self.sp = ex["spokes"]

    def cidr(self, s):
        return self.sp[s]["cidr"]

    def rt(self, s):
        return self.sp[s]["route_table_id"]

    def att(self, s):
        return self.sp[s]["attachment_id"]

    def sg(self, s):
        return self.sp[s]["security_group_id"]

    def peers(self, s):
        return self.sp[s]["peer_prefix_list_id"]

    def acl(self, s):
        (acl,) = self.ec2.describe_network_acls(
            Filters=[{"Name": "vpc-id", "Values": [self.sp[s]["vpc_id"]]}])["NetworkAcls"]
        return acl["NetworkAclId"]

    def compute_az(self, s):
        return next(x["az"] for x in self.sp[s]["subnets"] if x["role"] == "compute")

    def attachment_subnet(self, s, az):
        return next(x["id"] for x in self.sp[s]["subnets"] if x["role"] == "attachment" and x["az"] == az)

    def rule(self, s, egress, **match):
        rules = self.ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [self.sg(s)]}])["SecurityGroupRules"]
        found = [r for r in rules if r["IsEgress"] == egress and all(
            (r.get("ReferencedGroupInfo") or {}).get("GroupId") == v if k == "group" else r.get(k) == v
            for k, v in match.items())]
        assert len(found) == 1, found
        return found[0]


@pytest.fixture(scope="module")
def net(emulator_url, tmp_path_factory):
    """4 spokes, EFA (one compute subnet in the first AZ, attachment subnets in both)."""
    _reset(emulator_url)
    saved = os.environ.get("LABNET_HOME")
    os.environ["LABNET_HOME"] = str(tmp_path_factory.mktemp("verify-home"))
    try:
        spec = by_cidr(labnet.size(spokes=4, nodes_per_spoke=4, instance_type="p5.48xlarge", azs=2, supernet="10.0.0.0/16"))
        lab = labnet.Lab("verify-e2e", spec, engine="rehearsal", progress=lambda e: None)
        lab.up()
        yield Net(lab, _client(emulator_url))
    finally:
        _reset(emulator_url)  # restores recreate resources the state does not know: wipe instead of destroy
        if saved is None:
            os.environ.pop("LABNET_HOME", None)
        else:
            os.environ["LABNET_HOME"] = saved


def assert_matrix(frame, expected: dict) -> None:
    """Exactly ``expected`` {(src, dst, probe): (code, blocked_at, path)} is blocked; every other TCP
    row and every same-spoke EFA row is reachable; cross-spoke EFA rows do not apply."""
    got = verdicts(frame)
    assert len(got) == len(SPOKES) ** 2 * 3
    for key, (reachable, reason, at, path) in got.items():
        src, dst, probe = key
        if key in expected:
            assert (reachable, reason, at, path) == (False, *expected[key]), key
        elif probe == "efa" and src != dst:
            assert (reachable, reason) == (None, "NOT_APPLICABLE"), key
        else:
            assert (reachable, reason, at, path) == (True, "", "", ""), key
    missing = set(expected) - set(got)
    assert not missing


def pairs(srcs, dsts, code, at, path, probes=TCP):
    return {(s, d, p): (code, at, path) for s in srcs for d in dsts if s != d for p in probes}


def others(s):
    return [x for x in SPOKES if x != s]


# -- faults: each breaks one thing, returns (expected, restore) -------------------------------------
def delete_vpc_route(n: Net):
    """A's one summary route for the supernet: without it A reaches no other spoke, and the others'
    replies to A have no way back."""
    n.ec2.delete_route(RouteTableId=n.rt(A), DestinationCidrBlock=SUPERNET)
    expected = {**pairs([A], others(A), "NO_VPC_ROUTE", n.rt(A), "forward"),
                **pairs(others(A), [A], "NO_VPC_ROUTE", n.rt(A), "return")}
    return expected, lambda: n.ec2.create_route(RouteTableId=n.rt(A), DestinationCidrBlock=SUPERNET,
                                                TransitGatewayId=n.tgw)


def remove_attachment_subnet_in_compute_az(n: Net):
    sub = n.attachment_subnet(A, n.compute_az(A))
    n.ec2.modify_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=n.att(A), RemoveSubnetIds=[sub])
    expected = {**pairs([A], others(A), "NO_ATTACHMENT_IN_AZ", n.att(A), "forward"),
                **pairs(others(A), [A], "NO_ATTACHMENT_IN_AZ", n.att(A), "return")}
    return expected, lambda: n.ec2.modify_transit_gateway_vpc_attachment(
        TransitGatewayAttachmentId=n.att(A), AddSubnetIds=[sub])


def remove_attachment_subnet_elsewhere(n: Net):
    """The AZ without compute: no training node is there, so nothing changes."""
    other_az = next(x["az"] for x in n.sp[A]["subnets"] if x["az"] != n.compute_az(A))
    sub = n.attachment_subnet(A, other_az)
    n.ec2.modify_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=n.att(A), RemoveSubnetIds=[sub])
    return {}, lambda: n.ec2.modify_transit_gateway_vpc_attachment(
        TransitGatewayAttachmentId=n.att(A), AddSubnetIds=[sub])


def delete_attachment(n: Net):
    old = n.att(A)
    subnets = [x["id"] for x in n.sp[A]["subnets"] if x["role"] == "attachment"]
    n.ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=old)
    expected = {**pairs([A], others(A), "ATTACHMENT_NOT_AVAILABLE", old, "forward"),
                **pairs(others(A), [A], "ATTACHMENT_NOT_AVAILABLE", old, "forward")}

    def restore():
        new = n.ec2.create_transit_gateway_vpc_attachment(
            TransitGatewayId=n.tgw, VpcId=n.sp[A]["vpc_id"], SubnetIds=subnets)["TransitGatewayVpcAttachment"]
        aid = new["TransitGatewayAttachmentId"]
        n.ec2.associate_transit_gateway_route_table(TransitGatewayRouteTableId=n.tgw_rt, TransitGatewayAttachmentId=aid)
        n.ec2.enable_transit_gateway_route_table_propagation(TransitGatewayRouteTableId=n.tgw_rt,
                                                             TransitGatewayAttachmentId=aid)
    return expected, restore


def disable_propagation(n: Net):
    n.ec2.disable_transit_gateway_route_table_propagation(TransitGatewayRouteTableId=n.tgw_rt,
                                                          TransitGatewayAttachmentId=n.att(C))
    expected = {**pairs(others(C), [C], "TGW_NO_ROUTE", n.tgw_rt, "forward"),
                **pairs([C], others(C), "TGW_NO_ROUTE", n.tgw_rt, "return")}
    return expected, lambda: n.ec2.enable_transit_gateway_route_table_propagation(
        TransitGatewayRouteTableId=n.tgw_rt, TransitGatewayAttachmentId=n.att(C))


def disassociate(n: Net):
    n.ec2.disassociate_transit_gateway_route_table(TransitGatewayRouteTableId=n.tgw_rt,
                                                   TransitGatewayAttachmentId=n.att(A))
    expected = {**pairs([A], others(A), "TGW_NOT_ASSOCIATED", n.att(A), "forward"),
                **pairs(others(A), [A], "TGW_NOT_ASSOCIATED", n.att(A), "return")}
    return expected, lambda: n.ec2.associate_transit_gateway_route_table(
        TransitGatewayRouteTableId=n.tgw_rt, TransitGatewayAttachmentId=n.att(A))


def blackhole(n: Net):
    n.ec2.create_transit_gateway_route(TransitGatewayRouteTableId=n.tgw_rt, DestinationCidrBlock=n.cidr(C),
                                       Blackhole=True)
    expected = {**pairs(others(C), [C], "TGW_BLACKHOLE", n.tgw_rt, "forward"),
                **pairs([C], others(C), "TGW_BLACKHOLE", n.tgw_rt, "return")}
    return expected, lambda: n.ec2.delete_transit_gateway_route(TransitGatewayRouteTableId=n.tgw_rt,
                                                                DestinationCidrBlock=n.cidr(C))


def revoke_cidr_egress(n: Net):
    """The 0.0.0.0/0 egress rule carries TCP to the other spokes; within the spoke the self rule does."""
    rule = n.rule(A, True, CidrIpv4="0.0.0.0/0")
    n.ec2.revoke_security_group_egress(GroupId=n.sg(A), SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    expected = pairs([A], others(A), "SG_EGRESS", n.sg(A), "forward")
    return expected, lambda: n.ec2.authorize_security_group_egress(
        GroupId=n.sg(A), IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])


def revoke_self_egress(n: Net):
    """EFA needs the egress rule to the group itself: 0.0.0.0/0 does not carry it, TCP still flows."""
    rule = n.rule(A, True, group=n.sg(A))
    n.ec2.revoke_security_group_egress(GroupId=n.sg(A), SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    expected = {(A, A, "efa"): ("SG_EGRESS", n.sg(A), "forward")}
    return expected, lambda: n.ec2.authorize_security_group_egress(
        GroupId=n.sg(A), IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": n.sg(A)}]}])


def _peer_permission(n: Net, s, lo=0, hi=65535):
    return {"IpProtocol": "tcp", "FromPort": lo, "ToPort": hi, "PrefixListIds": [{"PrefixListId": n.peers(s)}]}


def revoke_peer_ingress(n: Net):
    """A's one cross-spoke rule (TCP from its peer prefix list): without it no other spoke gets in."""
    rule = n.rule(A, False, PrefixListId=n.peers(A))
    n.ec2.revoke_security_group_ingress(GroupId=n.sg(A), SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    expected = pairs(others(A), [A], "SG_INGRESS", n.sg(A), "forward")
    return expected, lambda: n.ec2.authorize_security_group_ingress(GroupId=n.sg(A),
                                                                    IpPermissions=[_peer_permission(n, A)])


def remove_peer_list_entry(n: Net):
    """The entry of A's peer list that covers C (a collapsed block: it may cover D too): exactly the
    spokes inside it lose admission into A."""
    pl = n.ec2.describe_managed_prefix_lists(PrefixListIds=[n.peers(A)])["PrefixLists"][0]
    entries = n.ec2.get_managed_prefix_list_entries(PrefixListId=n.peers(A))["Entries"]
    (entry,) = [e for e in entries if ipaddress.ip_network(n.cidr(C)).subnet_of(ipaddress.ip_network(e["Cidr"]))]
    covered = [s for s in SPOKES if ipaddress.ip_network(n.cidr(s)).subnet_of(ipaddress.ip_network(entry["Cidr"]))]
    assert A not in covered and C in covered
    n.ec2.modify_managed_prefix_list(PrefixListId=n.peers(A), CurrentVersion=pl["Version"],
                                     RemoveEntries=[{"Cidr": entry["Cidr"]}])
    expected = pairs(covered, [A], "SG_INGRESS", n.sg(A), "forward")

    def restore():
        version = n.ec2.describe_managed_prefix_lists(PrefixListIds=[n.peers(A)])["PrefixLists"][0]["Version"]
        n.ec2.modify_managed_prefix_list(PrefixListId=n.peers(A), CurrentVersion=version,
                                         AddEntries=[{"Cidr": entry["Cidr"], "Description": entry.get("Description", "")}])
    return expected, restore


def narrow_ingress_to_one_port(n: Net):
    """Replace A's cross-spoke rule by TCP 29500 only: the rendezvous passes, NCCL's sockets do not."""
    rule = n.rule(A, False, PrefixListId=n.peers(A))
    n.ec2.revoke_security_group_ingress(GroupId=n.sg(A), SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    added = n.ec2.authorize_security_group_ingress(GroupId=n.sg(A), IpPermissions=[_peer_permission(n, A, 29500, 29500)])
    expected = pairs(others(A), [A], "SG_INGRESS", n.sg(A), "forward", probes=("tcp:50000",))

    def restore():
        n.ec2.revoke_security_group_ingress(GroupId=n.sg(A), SecurityGroupRuleIds=[
            added["SecurityGroupRules"][0]["SecurityGroupRuleId"]])
        n.ec2.authorize_security_group_ingress(GroupId=n.sg(A), IpPermissions=[_peer_permission(n, A)])
    return expected, restore


def revoke_self_ingress(n: Net):
    """Within a spoke everything (TCP and EFA) rides on the group's rule for itself."""
    rule = n.rule(A, False, group=n.sg(A))
    n.ec2.revoke_security_group_ingress(GroupId=n.sg(A), SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    expected = {(A, A, p): ("SG_INGRESS", n.sg(A), "forward") for p in (*TCP, "efa")}
    return expected, lambda: n.ec2.authorize_security_group_ingress(
        GroupId=n.sg(A), IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": n.sg(A)}]}])


def nacl_deny_egress_to_spoke(n: Net):
    acl = n.acl(A)
    n.ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=50, Protocol="-1", RuleAction="deny", Egress=True,
                                   CidrBlock=n.cidr(C))
    expected = {**pairs([A], [C], "NACL_EGRESS", acl, "forward"), **pairs([C], [A], "NACL_EGRESS", acl, "return")}
    return expected, lambda: n.ec2.delete_network_acl_entry(NetworkAclId=acl, RuleNumber=50, Egress=True)


def nacl_deny_ingress_from_spoke(n: Net):
    acl = n.acl(A)
    n.ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=50, Protocol="-1", RuleAction="deny", Egress=False,
                                   CidrBlock=n.cidr(C))
    expected = {**pairs([C], [A], "NACL_INGRESS", acl, "forward"), **pairs([A], [C], "NACL_INGRESS", acl, "return")}
    return expected, lambda: n.ec2.delete_network_acl_entry(NetworkAclId=acl, RuleNumber=50, Egress=False)


def nacl_deny_egress_port(n: Net):
    """Deny outbound TCP 29500 anywhere on A's ACL (all A's subnets share it). Stateless: replies to A's
    connections come back to an ephemeral port, which may be 29500, through A's attachment subnet
    (whose outbound rules see traffic from the TGW to A's nodes), and A's replies go out to one."""
    acl = n.acl(A)
    n.ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=50, Protocol="6", RuleAction="deny", Egress=True,
                                   CidrBlock="0.0.0.0/0", PortRange={"From": 29500, "To": 29500})
    expected = {**pairs([A], others(A), "NACL_EGRESS", acl, "forward", probes=("tcp:29500",)),
                **pairs([A], others(A), "NACL_EGRESS", acl, "return", probes=("tcp:50000",)),
                **pairs(others(A), [A], "NACL_EGRESS", acl, "forward", probes=("tcp:29500",)),
                **pairs(others(A), [A], "NACL_EGRESS", acl, "return", probes=("tcp:50000",))}
    return expected, lambda: n.ec2.delete_network_acl_entry(NetworkAclId=acl, RuleNumber=50, Egress=True)


def prefix_list_route(n: Net):
    """A's summary route replaced by a route to a customer-managed prefix list of the other spokes:
    reachable while the list holds C's CIDR; then the entry is removed, which is the fault."""
    pl = n.ec2.create_managed_prefix_list(PrefixListName="verify-spokes", MaxEntries=5, AddressFamily="IPv4",
                                          Entries=[{"Cidr": n.cidr(s)} for s in others(A)])["PrefixList"]["PrefixListId"]
    n.ec2.delete_route(RouteTableId=n.rt(A), DestinationCidrBlock=SUPERNET)
    n.ec2.create_route(RouteTableId=n.rt(A), DestinationPrefixListId=pl, TransitGatewayId=n.tgw)
    assert_matrix(n.lab.connectivity(), {})  # the same network, routed through the list
    version = n.ec2.describe_managed_prefix_lists(PrefixListIds=[pl])["PrefixLists"][0]["Version"]
    n.ec2.modify_managed_prefix_list(PrefixListId=pl, CurrentVersion=version, RemoveEntries=[{"Cidr": n.cidr(C)}])
    expected = {**pairs([A], [C], "NO_VPC_ROUTE", n.rt(A), "forward"),
                **pairs([C], [A], "NO_VPC_ROUTE", n.rt(A), "return")}

    def restore():
        n.ec2.delete_route(RouteTableId=n.rt(A), DestinationPrefixListId=pl)
        n.ec2.create_route(RouteTableId=n.rt(A), DestinationCidrBlock=SUPERNET, TransitGatewayId=n.tgw)
        n.ec2.delete_managed_prefix_list(PrefixListId=pl)
    return expected, restore


FAULTS = [delete_vpc_route, remove_attachment_subnet_in_compute_az, remove_attachment_subnet_elsewhere,
          disable_propagation, disassociate, blackhole, revoke_cidr_egress, revoke_self_egress, revoke_peer_ingress,
          remove_peer_list_entry, narrow_ingress_to_one_port, revoke_self_ingress, nacl_deny_egress_to_spoke,
          nacl_deny_ingress_from_spoke, nacl_deny_egress_port, prefix_list_route, delete_attachment]


def test_the_linear_design_reaches_exactly_what_the_full_mesh_reached(net):
    """Issue 12's proof, by the oracle: turn the deployed network back into the full mesh (a route and
    a TCP rule per other spoke, nothing summarised) with an independent client, and the connectivity
    matrix is the same, row for row; then back again. Checked healthy and with a fault in place."""
    def to_full_mesh():
        undo = []
        for s in SPOKES:
            n = net
            n.ec2.delete_route(RouteTableId=n.rt(s), DestinationCidrBlock=SUPERNET)
            rule = n.rule(s, False, PrefixListId=n.peers(s))
            n.ec2.revoke_security_group_ingress(GroupId=n.sg(s), SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
            for o in others(s):
                n.ec2.create_route(RouteTableId=n.rt(s), DestinationCidrBlock=n.cidr(o), TransitGatewayId=n.tgw)
                n.ec2.authorize_security_group_ingress(GroupId=n.sg(s), IpPermissions=[
                    {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "IpRanges": [{"CidrIp": n.cidr(o)}]}])
            undo.append(s)

        def back():
            for s in undo:
                for o in others(s):
                    net.ec2.delete_route(RouteTableId=net.rt(s), DestinationCidrBlock=net.cidr(o))
                    r = net.rule(s, False, CidrIpv4=net.cidr(o))
                    net.ec2.revoke_security_group_ingress(GroupId=net.sg(s), SecurityGroupRuleIds=[r["SecurityGroupRuleId"]])
                net.ec2.create_route(RouteTableId=net.rt(s), DestinationCidrBlock=SUPERNET, TransitGatewayId=net.tgw)
                net.ec2.authorize_security_group_ingress(GroupId=net.sg(s), IpPermissions=[_peer_permission(net, s)])
        return back

    for fault in (None, blackhole):
        expected, restore = fault(net) if fault else ({}, lambda: None)
        try:
            linear = verdicts(net.lab.connectivity())
            back = to_full_mesh()
            try:
                mesh = verdicts(net.lab.connectivity())
            finally:
                back()
            assert mesh == linear
            assert_matrix(net.lab.connectivity(), expected)
        finally:
            restore()
    assert_matrix(net.lab.connectivity(), {})


def test_healthy_network_every_pair_reachable_on_every_default_probe(net):
    frame = net.lab.connectivity()
    assert list(frame.columns[:11]) == ["src_spoke", "dst_spoke", "probe", "protocol", "port", "transport",
                                        "reachable", "reason", "blocked_at", "path", "detail"]
    assert_matrix(frame, {})
    assert frame.reachable.all()  # rows that do not apply (EFA between spokes) are <NA>, not False
    same = frame[frame.src_spoke == frame.dst_spoke]
    assert set(same.transport) == {"efa"}
    assert set(frame[frame.src_spoke != frame.dst_spoke].transport) == {"tcp via TGW"}


@pytest.mark.parametrize("fault", FAULTS, ids=[f.__name__ for f in FAULTS])
def test_fault_blocks_exactly_the_affected_pairs_then_restore_is_green(net, fault):
    expected, restore = fault(net)
    try:
        frame = net.lab.connectivity()
        assert_matrix(frame, expected)
        for row in frame[frame.reachable == False].itertuples():  # noqa: E712
            assert row.detail and row.blocked_at in row.detail
    finally:
        restore()
    assert_matrix(net.lab.connectivity(), {})


def test_custom_probes_and_a_probe_the_rules_do_not_allow(net):
    """UDP is allowed by nothing between spokes (the group admits TCP only); within a spoke the self
    rule admits everything."""
    frame = net.lab.connectivity(probes=["udp:4791", labnet.Probe("tcp", 22)])
    assert set(frame.probe) == {"udp:4791", "tcp:22"}
    udp = frame[frame.probe == "udp:4791"]
    cross = udp[udp.src_spoke != udp.dst_spoke]
    assert (cross.reason == "SG_INGRESS").all() and not cross.reachable.any()
    assert udp[udp.src_spoke == udp.dst_spoke].reachable.all()
    assert frame[frame.probe == "tcp:22"].reachable.all()


def test_bad_probe_is_refused_before_any_call(net, monkeypatch):
    monkeypatch.setattr(snapshot_mod, "read", lambda *a, **k: pytest.fail("read the target"))
    for bad in (["icmp:0"], ["tcp:70000"], ["tcp"], [], ["efa:1"], ["tcp:1", "tcp:1"]):
        with pytest.raises(labnet.InvalidSpecError):
            net.lab.connectivity(probes=bad)


def test_snapshot_round_trips_through_json_and_analyses_offline(net, tmp_path):
    snap = net.lab.snapshot()
    again = Snapshot.from_json(snap.to_json())
    assert again == snap
    assert verdicts(net.lab.connectivity(snapshot=again)) == verdicts(net.lab.connectivity(snapshot=snap))
    # The snapshot holds what boto3 sees: every VPC, subnet and attachment of the stack, nothing else.
    vpcs = {s["vpc_id"] for s in net.sp.values()}
    assert {v.id for v in snap.vpcs} == vpcs
    live = {s["SubnetId"] for s in net.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": list(vpcs)}])["Subnets"]}
    assert {s.id for s in snap.subnets} == live
    attached = net.ec2.describe_transit_gateway_attachments(
        Filters=[{"Name": "transit-gateway-id", "Values": [net.tgw]}])["TransitGatewayAttachments"]
    assert {a.id for a in snap.attachments} == {a["TransitGatewayAttachmentId"] for a in attached}
    assert all(a.resource_type == "vpc" and a.region == REGION for a in snap.attachments)


def test_exposure_lists_rules_open_to_outside_and_nothing_else(net):
    frame = net.lab.exposure()
    # The default network ACLs admit everything (rule 100, 0.0.0.0/0); the groups admit only spokes.
    assert set(frame.resource) == {"network_acl"} and set(frame.source) == {"0.0.0.0/0"}
    assert len(frame) == len(SPOKES)
    net.ec2.authorize_security_group_ingress(GroupId=net.sg(B), IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "203.0.113.0/24"}]},
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}])
    # (moto answers a two-permission authorize with one rule id: ask for the ids instead)
    added = [net.rule(B, False, CidrIpv4="203.0.113.0/24"), net.rule(B, False, CidrIpv6="::/0")]
    try:
        sg = net.lab.exposure().query("resource == 'security_group'")
        assert set(sg.source) == {"203.0.113.0/24", "::/0"}
        assert set(sg.spoke) == {B} and set(sg.resource_id) == {net.sg(B)}
        assert set(sg.ports) == {"22", "443"}
        assert set(sg.rule) == {r["SecurityGroupRuleId"] for r in added}
    finally:
        net.ec2.revoke_security_group_ingress(GroupId=net.sg(B), SecurityGroupRuleIds=[
            r["SecurityGroupRuleId"] for r in added])
    assert len(net.lab.exposure()) == len(SPOKES)


def _count(ec2, lab, exports):
    calls = []
    ec2.meta.events.register("before-call.ec2", lambda **kw: calls.append(kw["model"].name))
    snap = snapshot_mod.read(ec2, exports, stack="x", emulator=True)
    return calls, snap


def test_read_calls_do_not_grow_with_the_number_of_spokes(net, emulator_url, tmp_path):
    """A 2-spoke stack beside the 4-spoke one: the same calls, counted by an independent botocore hook."""
    spec = labnet.size(spokes=2, nodes_per_spoke=4, azs=2, supernet="10.1.0.0/16")
    small = labnet.Lab("verify-small", spec, engine="rehearsal", progress=lambda e: None)
    small.up()
    big_calls, big = _count(_client(emulator_url), net.lab, net.lab.exports())
    small_calls, small_snap = _count(_client(emulator_url), small, small.exports())
    # EC2 has no batch call for prefix-list entries: one GetManagedPrefixListEntries per referenced
    # list (one peer list per spoke). Every other call is the same whatever the number of spokes.
    per_list = "GetManagedPrefixListEntries"
    assert sorted(c for c in big_calls if c != per_list) == sorted(c for c in small_calls if c != per_list)
    # (the S3 endpoint's AWS-managed list is read too, once, like any referenced list)
    assert big_calls.count(per_list) == len(big.prefix_lists) == 4 + 1
    assert small_calls.count(per_list) == len(small_snap.prefix_lists) == 2 + 1
    assert len(big_calls) == big.read_calls and len(small_calls) == small_snap.read_calls
    assert len(big.vpcs) == 4 and len(small_snap.vpcs) == 2
    # one call per resource type, plus three per TGW route table (associations, propagations, routes)
    assert len(big_calls) - big_calls.count(per_list) <= 16, big_calls
    small.destroy()


def test_cli_verify_exit_codes(net, monkeypatch, capsys, tmp_path):
    from labnet.__main__ import main

    home = str(net.lab._store.root)
    monkeypatch.setenv("LABNET_HOME", home)
    out = subprocess.run([sys.executable, "-m", "labnet", "verify", "verify-e2e"], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "LABNET_HOME": home})
    assert out.returncode == 0, out.stderr
    assert "16 of 16 spoke pairs reachable" in out.stdout
    saved = tmp_path / "snap.json"
    n = net
    n.ec2.create_transit_gateway_route(TransitGatewayRouteTableId=n.tgw_rt, DestinationCidrBlock=n.cidr(C),
                                       Blackhole=True)
    try:
        assert main(["verify", "verify-e2e", "--blocked", "--save-snapshot", str(saved)]) == 1
        text = capsys.readouterr().out
        assert "TGW_BLACKHOLE" in text and n.tgw_rt in text and "spoke-03" in text
        assert oct(saved.stat().st_mode & 0o777) == "0o600"
    finally:
        n.ec2.delete_transit_gateway_route(TransitGatewayRouteTableId=n.tgw_rt, DestinationCidrBlock=n.cidr(C))
    # the saved snapshot still says what was there when it was taken, with no target at all
    assert main(["verify", "verify-e2e", "--snapshot", str(saved)]) == 1
    assert main(["verify", "verify-e2e"]) == 0
    capsys.readouterr()
    assert main(["verify", "no-such-stack"]) == 2
    assert main(["verify", "verify-e2e", "--probe", "icmp:1"]) == 2
    assert main(["verify", "verify-e2e", "--snapshot", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert "InvalidSpecError" in err


def test_a_stack_that_was_never_deployed_has_nothing_to_verify(net, monkeypatch):
    monkeypatch.setattr(snapshot_mod, "read", lambda *a, **k: pytest.fail("read the target"))
    lab = labnet.Lab("verify-never-up", net.lab.spec, engine="rehearsal")
    with pytest.raises(labnet.StateError, match="deploy it first"):
        lab.connectivity()
    with pytest.raises(labnet.InvalidSpecError):
        net.lab.connectivity(snapshot={"spokes": []})
