"""The Pulumi program under the SDK's own mock monitor: assert on what was declared."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.helpers import M5, by_cidr, declared, plan, registrations

TGW = "aws:ec2transitgateway/transitGateway:TransitGateway"
ROUTE = "aws:ec2/route:Route"
SUBNET = "aws:ec2/subnet:Subnet"
ATTACH = "aws:ec2transitgateway/vpcAttachment:VpcAttachment"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
UNTAGGABLE = {ROUTE, "aws:ec2/routeTableAssociation:RouteTableAssociation",
              # a bucket's settings are not resources of their own on AWS: the bucket carries the tags
              "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
              "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
              "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
              "aws:s3/bucketVersioning:BucketVersioning",
              "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "aws:s3/bucketPolicy:BucketPolicy",
              "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation",
              "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation"}


@pytest.fixture(scope="module")
def three():
    spec = by_cidr(plan(spokes=3, azs=2))  # the prefix-list admission (references: tests/test_security.py)
    rows, exports = declared(spec, stack="prog")
    return spec, rows, exports


def by_type(rows, typ):
    return [(name, inputs) for t, name, inputs in rows if t == typ]


def addresses(cidrs):
    """A set of CIDRs as the fewest blocks covering the same addresses (equal sets compare equal)."""
    import ipaddress

    return list(ipaddress.collapse_addresses(ipaddress.IPv4Network(c) for c in cidrs))


def test_resource_counts_per_spoke(three):
    spec, rows, _ = three
    counts = Counter(t.rsplit(":", 1)[-1] for t, _, _ in rows)
    n = len(spec.spokes)
    subnets = sum(len(s.subnets) for s in spec.spokes)
    assert counts["TransitGateway"] == 1
    assert counts["Vpc"] == n
    assert counts["Subnet"] == subnets
    assert counts["VpcAttachment"] == n
    assert counts["SecurityGroup"] == n
    assert counts["VpcEndpoint"] == n
    assert counts["Route"] == n  # one summary route per spoke, not one per other spoke
    assert counts["ManagedPrefixList"] == n
    assert counts["SecurityGroupIngressRule"] == 2 * n  # self + one rule for the peer prefix list
    assert counts["SecurityGroupEgressRule"] == 2 * n  # to itself (EFA) + open
    assert counts["LaunchTemplate"] == n  # one node template per spoke


@pytest.mark.parametrize("azs", [1, 3])
def test_resources_per_spoke_are_constant_in_n(azs):
    """The full mesh declared 2N(N-1) routes and rules; now every spoke adds the same resources."""
    sizes = (2, 3, 9)
    totals = [len(declared(by_cidr(plan(spokes=n, azs=azs, instance=M5, interface_mode="ena")))[0]) for n in sizes]
    per_spoke = {(tb - ta) / (b - a) for a, b, ta, tb in zip(sizes, sizes[1:], totals, totals[1:])}
    assert len(per_spoke) == 1, (sizes, totals)


def test_every_spoke_routes_the_supernet_to_the_tgw_and_nothing_else(three):
    """One summary route per spoke table: the VPC's local route stays more specific, and the TGW
    tables hold only the spokes' propagated CIDRs, so this reaches exactly the other spokes."""
    spec, rows, _ = three
    routes = by_type(rows, ROUTE)
    tables = {name.rsplit("-rt", 1)[0]: f"{name}-id" for t, name, _ in rows if t == "aws:ec2/routeTable:RouteTable"}
    for sp in spec.spokes:
        mine = [i for _, i in routes if i["routeTableId"] == tables[sp.name]]
        assert [(i["destinationCidrBlock"], i.get("transitGatewayId")) for i in mine] == [(spec.supernet, "tgw-id")]


def test_a_single_spoke_has_no_cross_spoke_route_list_or_rule():
    rows, _ = declared(plan(spokes=1))
    assert not by_type(rows, ROUTE) and not by_type(rows, PREFIX_LIST)
    assert [i["ipProtocol"] for _, i in by_type(rows, INGRESS)] == ["-1"]


def test_peer_prefix_lists_cover_exactly_the_other_spokes(three):
    spec, rows, _ = three
    lists = dict(by_type(rows, PREFIX_LIST))
    for sp in spec.spokes:
        pl = lists[f"{sp.name}-peers"]
        assert pl["addressFamily"] == "IPv4" and pl["tags"]["spoke"] == sp.name
        cidrs = [e["cidr"] for e in pl["entries"]]
        assert int(pl["maxEntries"]) == len(cidrs) == len(spec.peer_cidrs()[sp.name])
        assert addresses(cidrs) == addresses(o.cidr for o in spec.spokes if o.name != sp.name)
        assert all(e["description"].startswith(("spoke ", "2 spokes")) for e in pl["entries"])
        assert pl["name"] == f"labnet-prog-{sp.name}-peers"  # never "com.amazonaws…" (AWS's own lists)


def test_attachment_uses_exactly_one_subnet_per_az(three):
    spec, rows, _ = three
    subnets = {f"{name}-id": i for name, i in by_type(rows, SUBNET)}
    for (name, att), sp in zip(by_type(rows, ATTACH), spec.spokes):
        used = [subnets[s] for s in att["subnetIds"]]
        assert all(u["tags"]["role"] == "attachment" for u in used)
        azs = [u["availabilityZone"] for u in used]
        assert len(azs) == len(set(azs)) == len(sp.azs)
        assert att["transitGatewayDefaultRouteTableAssociation"] is False
        assert att["transitGatewayDefaultRouteTablePropagation"] is False


def test_tgw_uses_explicit_route_tables(three):
    spec, rows, _ = three
    (_, tgw), = by_type(rows, TGW)
    assert tgw["defaultRouteTableAssociation"] == "disable"
    assert tgw["defaultRouteTablePropagation"] == "disable"
    assert tgw["amazonSideAsn"] == 64512
    assoc = by_type(rows, "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation")
    prop = by_type(rows, "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation")
    assert len(assoc) == len(spec.spokes) and len(prop) == len(spec.spokes)
    assert {i["transitGatewayAttachmentId"] for _, i in assoc} == {f"{s.name}-attachment-id" for s in spec.spokes}


def test_self_referencing_all_traffic_rule_and_tcp_from_the_peer_list(three):
    spec, rows, _ = three
    rules = by_type(rows, INGRESS)
    lo, hi = spec.security.cross_spoke_ports
    for sp in spec.spokes:
        sg = f"{sp.name}-training-sg-id"
        mine = [i for _, i in rules if i["securityGroupId"] == sg]
        self_rules = [i for i in mine if i.get("referencedSecurityGroupId") == sg]
        assert len(self_rules) == 1 and self_rules[0]["ipProtocol"] == "-1"
        (tcp,) = [i for i in mine if i["ipProtocol"] == "tcp"]
        assert tcp["prefixListId"] == f"{sp.name}-peers-id" and not tcp.get("cidrIpv4")
        assert (int(tcp["fromPort"]), int(tcp["toPort"])) == (lo, hi)
        assert all(i["ipProtocol"] in ("-1", "tcp") for i in mine)


def test_no_open_ingress_anywhere(three):
    _, rows, _ = three
    for _, i in by_type(rows, INGRESS):
        assert i.get("cidrIpv4") not in ("0.0.0.0/0",) and i.get("cidrIpv6") not in ("::/0",)
        assert i.get("cidrIpv4") or i.get("referencedSecurityGroupId") or i.get("prefixListId")
    egress = by_type(rows, EGRESS)
    assert all(i.get("cidrIpv4") == "0.0.0.0/0" or i.get("referencedSecurityGroupId") == i["securityGroupId"]
               for _, i in egress)  # egress open, plus the group itself


def test_efa_needs_ingress_and_egress_rules_that_reference_the_group_itself(three):
    """AWS's EFA guide: all inbound AND all outbound traffic to and from the group itself. The open
    0.0.0.0/0 egress does not carry EFA (SRD is not addressed by IPv4)."""
    spec, rows, _ = three
    for sp in spec.spokes:
        sg = f"{sp.name}-training-sg-id"
        for typ in (INGRESS, EGRESS):
            self_rules = [i for _, i in by_type(rows, typ)
                          if i["securityGroupId"] == sg and i.get("referencedSecurityGroupId") == sg]
            assert [r["ipProtocol"] for r in self_rules] == ["-1"], (sp.name, typ)


def test_propagations_wait_for_the_association():
    """EC2 answers a propagation on an attachment that is still associating with IncorrectState,
    and the provider does not retry it: the program chains them (the mock monitor registers a
    resource only once its dependencies are registered, so the order is observable)."""
    spec = plan(spokes=3, azs=2)
    rows, _ = declared(spec, stack="order")
    order = [name for _, name, _ in rows]
    for sp in spec.spokes:
        props = [k for k, n in enumerate(order) if n.startswith(f"{sp.name}-tgw-prop-")]
        assert props and min(props) > order.index(f"{sp.name}-tgw-assoc")


def test_security_groups_get_a_name_prefix_of_labnets_own():
    """A group named after a spoke 'sg-1' would start with 'sg-', which CreateSecurityGroup rejects."""
    spec = plan(spokes=["sg-1", "b"], azs=1)
    rows, _ = declared(spec, stack="names")
    groups = [i for t, _, i in rows if t == "aws:ec2/securityGroup:SecurityGroup"]
    assert sorted(g["namePrefix"] for g in groups) == ["labnet-b-training-", "labnet-sg-1-training-"]
    assert not any(g.get("name") for g in groups)


def test_every_taggable_resource_is_tagged_with_its_stack(three):
    _, rows, _ = three
    for typ, name, inputs in rows:
        if typ in UNTAGGABLE:
            continue
        tags = inputs.get("tags") or {}
        assert tags.get("stack") == "prog", name
        assert tags.get("managed-by") == "labnet" and tags.get("project") and tags.get("owner"), name


def test_vpcs_have_dns_and_s3_gateway_endpoint(three):
    spec, rows, _ = three
    for _, vpc in by_type(rows, "aws:ec2/vpc:Vpc"):
        assert vpc["enableDnsHostnames"] is True and vpc["enableDnsSupport"] is True
    eps = by_type(rows, "aws:ec2/vpcEndpoint:VpcEndpoint")
    assert {i["serviceName"] for _, i in eps} == {"com.amazonaws.us-east-1.s3"}
    assert all(i["vpcEndpointType"] == "Gateway" and i["routeTableIds"] for _, i in eps)


def test_exports_carry_ids_and_cidrs(three):
    spec, _, exports = three
    assert exports["transit_gateway_id"] == "tgw-id"
    assert exports["transit_gateway_arn"] == "arn:tgw"
    for sp in spec.spokes:
        out = exports["spokes"][sp.name]
        assert out["vpc_id"] == f"{sp.name}-vpc-id" and out["cidr"] == sp.cidr
        assert {s["cidr"] for s in out["subnets"]} == {s.cidr for s in sp.subnets}
        assert out["attachment_id"] and out["security_group_id"] and out["route_table_id"]
        assert out["peer_prefix_list_id"] == f"{sp.name}-peers-id"


def test_public_subnets_add_igw_and_nat_only_when_asked():
    spec = plan(spokes=2, instance=M5, interface_mode="ena", public_subnets=True)
    rows, exports = declared(spec)
    counts = Counter(t.rsplit(":", 1)[-1] for t, _, _ in rows)
    assert counts["InternetGateway"] == 2 and counts["NatGateway"] == 2 and counts["Eip"] == 2
    defaults = [i for _, i in by_type(rows, ROUTE) if i["destinationCidrBlock"] == "0.0.0.0/0"]
    assert len(defaults) == 4  # public → IGW and private → NAT, per spoke
    off, _ = declared(plan(spokes=2))
    assert not [t for t, _, _ in off if "NatGateway" in t or "InternetGateway" in t]


def test_program_runs_many_times_in_one_process():
    for n in (2, 3, 2):
        rows, exports = declared(plan(spokes=n))
        assert len(exports["spokes"]) == n
        assert len(by_type(rows, "aws:ec2/vpc:Vpc")) == n


def test_no_module_shadows_pulumi():
    import pulumi

    assert "site-packages" in pulumi.__file__


def _deploy_main(spec, monkeypatch):
    import json
    import runpy
    from pathlib import Path

    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"labnet:spec": json.dumps(spec.to_dict())}))
    root = Path(__file__).resolve().parent.parent
    assert "main: deploy/" in (root / "Pulumi.yaml").read_text()
    return registrations(stack="cli", main=lambda: runpy.run_path(str(root / "deploy" / "__main__.py"),
                                                                  run_name="__main__"))


def test_pulumi_yaml_entry_point_reads_the_spec_from_config(monkeypatch, aws_on_moto_env):
    """`pulumi up` at the repo root runs deploy/__main__.py: same program, spec from stack config,
    preflighted with the account's facts (boto3 with the deploying credentials: here, moto's)."""
    import labnet

    spec = labnet.size(spokes=2, nodes_per_spoke=4, azs=2, target="aws")
    names = [name for _, name, _, _ in _deploy_main(spec, monkeypatch)]
    assert "tgw" in names and f"{spec.spokes[0].name}-vpc" in names


def test_pulumi_yaml_entry_point_refuses_a_spec_the_account_contradicts(monkeypatch, aws_on_moto_env):
    """An AZ ID recorded at sizing that this account maps to another AZ stops `pulumi up` before the
    engine creates anything."""
    import labnet

    spec = labnet.size(spokes=2, nodes_per_spoke=4, azs=1, target="aws").to_dict()
    for spoke in spec["spokes"]:
        for subnet in spoke["subnets"]:
            subnet["az_id"] = "use1-az99"
    with pytest.raises(labnet.InvalidSpecError) as err:
        _deploy_main(labnet.NetworkSpec.from_dict(spec), monkeypatch)
    assert "use1-az99" in str(err.value)


def test_the_rehearsal_engine_names_resources_the_way_pulumi_does():
    """Explicit name as given; a name prefix plus Terraform's 26-character unique suffix; otherwise the
    logical name plus Pulumi's random 7-hex suffix. Never a friendlier name that would hide AWS's rules."""
    import re

    from labnet.engines.handlers import physical_name

    assert physical_name("a-sg", {"name": "exact"}) == "exact"
    named = physical_name("a-sg", {"namePrefix": "labnet-a-training-"})
    assert re.fullmatch(r"labnet-a-training-\d{16}[0-9a-f]{8}", named)
    assert re.fullmatch(r"sg-1-training-sg-[0-9a-f]{7}", physical_name("sg-1-training-sg", {}))
    assert physical_name("x", {"namePrefix": "p-"}) != physical_name("x", {"namePrefix": "p-"})


def test_the_spec_command_sizes_against_the_target_it_is_given(aws_on_moto_env, capsys):
    """`python -m labnet spec --target aws` (what Pulumi.yaml tells `pulumi up` users to run) reads
    the account's facts through boto3, not the emulator's."""
    import json

    from labnet.__main__ import main

    assert main(["spec", "--target", "aws", "--region", "us-east-1", "--spokes", "2", "--nodes-per-spoke", "2",
                 "--azs", "1"]) == 0
    spec = json.loads(capsys.readouterr().out)
    assert spec["region"] == "us-east-1" and len(spec["spokes"]) == 2
