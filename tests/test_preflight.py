"""Every preflight rule gets its bad value and a check of the message (field, value, rule, fix)."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import labnet
from labnet import preflight
from labnet.spec import NetworkSpec, Subnet, Tags, TransitGateway, Workload
from tests.helpers import US_EAST_1, by_cidr, plan


def _with_spoke(spec: NetworkSpec, i: int, **changes) -> NetworkSpec:
    spokes = list(spec.spokes)
    spokes[i] = dataclasses.replace(spokes[i], **changes)
    return dataclasses.replace(spec, spokes=tuple(spokes))


def _with_subnet(spec: NetworkSpec, i: int, j: int, **changes) -> NetworkSpec:
    subnets = list(spec.spokes[i].subnets)
    subnets[j] = dataclasses.replace(subnets[j], **changes)
    return _with_spoke(spec, i, subnets=tuple(subnets))


def _raises(spec, *fragments, facts=US_EAST_1, field=None):
    with pytest.raises(labnet.InvalidSpecError) as err:
        preflight.check(spec, facts)
    msg = str(err.value)
    for f in fragments:
        assert f in msg, msg
    if field is not None:
        assert err.value.field == field
    assert isinstance(err.value, labnet.LabnetError)
    return err.value


def test_valid_spec_passes_with_no_warnings():
    assert preflight.check(plan(), US_EAST_1) == []


@pytest.mark.parametrize("cidr, rule", [("10.0.0.0/15", "/15 is outside /16-/28"),
                                        ("10.0.0.0/29", "/29 is outside /16-/28")])
def test_vpc_prefix_outside_16_28(cidr, rule):
    spec = _with_spoke(plan(), 0, cidr=cidr)
    _raises(spec, rule, cidr, "use a prefix between /16 and /28", field="spokes[0].cidr")


def test_subnet_prefix_outside_16_28():
    spec = _with_subnet(plan(), 0, 1, cidr="10.0.4.0/29")
    _raises(spec, "/29 is outside /16-/28", field="spokes[0].subnets[1].cidr")


def test_subnet_outside_its_vpc():
    spec = _with_subnet(plan(), 0, 1, cidr="10.200.0.0/28")
    _raises(spec, "outside its VPC", "10.200.0.0/28", field="spokes[0].subnets[1].cidr")


def test_overlapping_subnets():
    spec = plan()
    first = spec.spokes[0].subnets[1].cidr
    spec = _with_subnet(spec, 0, 2, cidr=first)
    _raises(spec, "overlaps", first, "must not overlap")


def test_overlapping_spokes_cannot_be_routed_by_a_tgw():
    spec = plan()
    spec = _with_spoke(spec, 1, cidr=spec.spokes[0].cidr,
                       subnets=spec.spokes[0].subnets)
    err = _raises(spec, "overlaps spoke", "Transit Gateway cannot route overlapping CIDRs",
                  "choose another supernet or fewer spokes")
    assert err.field == "spokes[1].cidr"


def test_spoke_outside_supernet():
    spec = dataclasses.replace(plan(), supernet="192.168.0.0/16")
    _raises(spec, "outside the supernet")


def test_unknown_az_name():
    spec = _with_subnet(plan(), 0, 0, az="us-east-1z")
    _raises(spec, "us-east-1z", "not an availability zone of us-east-1", "choose from us-east-1a")


def test_az_of_another_region():
    spec = _with_subnet(plan(), 0, 0, az="eu-west-1a")
    _raises(spec, "eu-west-1a", "not an availability zone of us-east-1", facts=None)


def test_more_azs_than_the_region_has():
    small = preflight.RegionFacts("us-east-1", ("us-east-1a",))
    err = _raises(plan(azs=2), "is not an availability zone", facts=small)  # the region has one AZ
    assert "us-east-1b" in str(err)


def test_more_azs_than_the_region_has_when_sizing():
    with pytest.raises(labnet.InvalidSpecError) as err:
        plan(azs=7)
    assert err.value.field == "azs"
    assert "us-east-1 has 6 AZs" in str(err.value)


def test_two_attachment_subnets_in_one_az():
    spec = plan()
    att = [j for j, s in enumerate(spec.spokes[0].subnets) if s.role == "attachment"]
    spec = _with_subnet(spec, 0, att[1], az=spec.spokes[0].subnets[att[0]].az)
    _raises(spec, "already has an attachment subnet in us-east-1a", "one subnet per AZ")


def test_az_with_compute_but_no_attachment_subnet():
    from tests.helpers import M5

    spec = plan(instance=M5, interface_mode="ena", azs=2)
    att = [j for j, s in enumerate(spec.spokes[0].subnets) if s.role == "attachment"]
    subnets = tuple(s for j, s in enumerate(spec.spokes[0].subnets) if j != att[1])
    spec = _with_spoke(spec, 0, subnets=subnets)
    _raises(spec, "cannot reach the Transit Gateway", "add a /28 attachment subnet in us-east-1b")


def test_efa_compute_spread_over_azs_shows_single_az_layout():
    spec = plan(azs=2)
    sp = spec.spokes[0]
    extra = Subnet("compute", "us-east-1b", "10.0.6.0/24", 0)
    spec = _with_spoke(spec, 0, subnets=sp.subnets + (extra,))
    err = _raises(spec, "EFA traffic does not cross subnets or AZs", "single-AZ layout",
                  "one compute subnet in us-east-1a")
    assert err.field == "spokes[0].subnets"


@pytest.mark.parametrize("asn", [1, 64511, 65535, 4199999999, 4294967295, -5])
def test_asn_outside_private_ranges(asn):
    spec = dataclasses.replace(plan(), transit_gateway=TransitGateway(amazon_side_asn=asn))
    _raises(spec, "64512-65534 or 4200000000-4294967294", str(asn), field="transit_gateway.amazon_side_asn")


@pytest.mark.parametrize("asn", [64512, 65534, 4200000000, 4294967294])
def test_asn_inside_private_ranges(asn):
    spec = dataclasses.replace(plan(), transit_gateway=TransitGateway(amazon_side_asn=asn))
    preflight.check(spec, US_EAST_1)


def test_more_spokes_than_a_tgw_takes():
    spec = plan(spokes=2)
    many = tuple(dataclasses.replace(spec.spokes[0], name=f"s{i}") for i in range(5001))
    spec = dataclasses.replace(spec, spokes=many)
    _raises(spec, "at most 5000 attachments", field="spokes")


def test_more_than_20_tgw_route_tables():
    spec = dataclasses.replace(plan(), transit_gateway=TransitGateway(
        route_tables=tuple(f"rt-{i}" for i in range(21))))
    _raises(spec, "at most 20 route tables", field="transit_gateway.route_tables")


def test_spoke_on_undeclared_route_table():
    spec = _with_spoke(plan(), 0, route_table="prod")
    _raises(spec, "is not one of transit_gateway.route_tables", field="spokes[0].route_table")


@pytest.mark.parametrize("name", ["Bad Name", "a/b", "é", "-lead", "x" * 33, ""])
def test_spoke_names_aws_tags_and_pulumi_reject(name):
    spec = _with_spoke(plan(), 0, name=name)
    _raises(spec, "spoke names are 1-32 lowercase", field="spokes[0].name")


def test_duplicate_spoke_names():
    spec = _with_spoke(plan(), 1, name=plan().spokes[0].name)
    _raises(spec, "must be unique")


@pytest.mark.parametrize("key, value, fragment", [
    ("aws:owner", "x", "must not start with 'aws:'"),
    ("team", "a" * 257, "up to 256"),
    ("team", "semi;colon", "tag values"),
    ("k" * 129, "v", "1-128"),
    ("stack", "x", "set by labnet itself"),
])
def test_tags_aws_rejects(key, value, fragment):
    spec = dataclasses.replace(plan(), tags=Tags(extra=((key, value),)))
    _raises(spec, fragment)


@pytest.mark.parametrize("name", ["has space", "a/b", "ü", "x" * 101, "", None, 12])
def test_stack_names_pulumi_rejects(name):
    with pytest.raises(labnet.InvalidSpecError) as err:
        preflight.check_stack_name(name)
    assert err.value.field == "stack_name"
    assert "Pulumi's rule" in str(err.value)


@pytest.mark.parametrize("region", ["us-east", "US-EAST-1", "", "mars-north-1x"])
def test_region_names(region):
    with pytest.raises(labnet.InvalidSpecError) as err:
        preflight.check_region(region)
    assert err.value.field == "region"


@pytest.mark.parametrize("cidr, hint", [("10.0.0.1/16", "did you mean 10.0.0.0/16"), ("10.0.0.0/33", ""),
                                        ("not-a-cidr", ""), ("10.0.0.0", "needs a prefix")])
def test_malformed_cidrs(cidr, hint):
    with pytest.raises(labnet.InvalidSpecError) as err:
        preflight.parse_cidr("supernet", cidr, (8, 28))
    assert hint in str(err.value)
    assert err.value.field == "supernet"


def test_compute_subnet_too_small_for_the_workload():
    spec = plan(nodes_per_spoke=16)
    compute = next(j for j, s in enumerate(spec.spokes[0].subnets) if s.role == "compute")
    spec = _with_subnet(spec, 0, compute, ips_needed=100_000)
    _raises(spec, "usable IPs (AWS reserves 5)", "use a larger subnet")


def test_cross_spoke_ports_range():
    from labnet.spec import Security

    spec = dataclasses.replace(plan(), security=Security(cross_spoke_ports=(10, 5)))
    _raises(spec, "TCP port range", field="security.cross_spoke_ports")


@pytest.mark.parametrize("option", ["self_ingress", "self_egress"])
def test_a_spec_that_drops_either_efa_self_rule_is_refused(option):
    """Hand-built or loaded: a training group without the rule to or from itself breaks EFA."""
    data = plan().to_dict()
    data["security"][option] = False
    spec = labnet.NetworkSpec.from_dict(data)
    with pytest.raises(labnet.InvalidSpecError) as err:
        preflight.check(spec, US_EAST_1)
    assert err.value.field == f"security.{option}" and err.value.value is False
    assert "EFA" in str(err.value) and "reference the group" in str(err.value)
    assert plan().to_dict()["security"] == {"cross_spoke_ports": [0, 65535], "self_ingress": True,
                                            "self_egress": True, "flow_logs": True, "flow_log_destination": "",
                                            "flow_log_expiry_days": 365, "flow_log_role_arn": "", "s3_buckets": []}


def _fresh_account_rows(spec):
    """The quota rows (the one quota source, labnet.analysis) against a fresh account's defaults."""
    from labnet.analysis import quota_report
    from labnet.declare import declare

    return quota_report.rows(spec, quota_report.defaults(spec), declare(spec, "quotas").resources)


@pytest.mark.parametrize("n", [2, 52, 61, 100])
def test_sized_networks_stay_within_the_default_route_and_rule_quotas(n):
    """Counted AWS's way, from the declared program: the peer prefix list counts its max entries as rules."""
    from labnet.analysis import quota_report

    spec = by_cidr(plan(spokes=n, nodes_per_spoke=1))  # the peer prefix list (references: test_security)
    rows = {r.quota: r for r in _fresh_account_rows(spec)}
    for quota in ("Routes per route table", "Inbound rules per security group"):
        assert rows[quota].fits, rows[quota]
    assert rows["Prefix lists per Region"].needs == n
    got = quota_report.counts(spec)
    assert set(got.routes_per_route_table.values()) == {3}  # local, the supernet to the TGW, the S3 endpoint
    peers = spec.peer_cidrs()
    assert got.inbound_rules_per_security_group == {f"{k}-training-sg": 1 + len(v) for k, v in peers.items()}
    assert max(got.inbound_rules_per_security_group.values()) <= 1 + 2 * math.ceil(math.log2(n))  # self + O(log N)


def test_route_count_is_constant_and_counts_nat_and_endpoint():
    from labnet.analysis import quota_report
    from tests.helpers import M5

    assert set(quota_report.counts(plan(spokes=1, s3_endpoint=False)).routes_per_route_table.values()) == {1}
    public = quota_report.counts(plan(spokes=40, nodes_per_spoke=1, instance=M5, interface_mode="ena",
                                      public_subnets=True)).routes_per_route_table
    assert {v for k, v in public.items() if not k.endswith("-public-rt")} == {4}  # + the NAT default route


def test_scattered_spokes_pass_the_inbound_rule_quota_in_the_quota_rows():
    """A hand-built spec whose spokes do not collapse: every other /21 of 140, so 69 blocks of peers.
    Preflight has no quota warnings of its own: the quota rows say it."""
    from labnet.analysis import quotas

    spaced = plan(spokes=140, nodes_per_spoke=1)
    spec = dataclasses.replace(spaced, spokes=spaced.spokes[::2])
    assert not [w for w in preflight.check(spec, US_EAST_1) if "quota" in w]
    (rule,) = [r for r in _fresh_account_rows(spec) if r.quota == "Inbound rules per security group"]
    assert (rule.applied, rule.needs, rule.fits, rule.request) == (60, 70, False, 70)  # self + 69 blocks
    (warning,) = quotas.warnings([rule], "emulator")
    assert "Inbound rules per security group" in warning and "applied 60, needs 70" in warning


def test_past_the_default_prefix_lists_per_region_in_the_quota_rows():
    (row,) = [r for r in _fresh_account_rows(plan(spokes=101, nodes_per_spoke=1)) if r.quota == "Prefix lists per Region"]
    assert (row.applied, row.needs, row.fits) == (100, 101, False)


def test_peers_that_need_more_than_1000_prefix_list_entries_are_refused():
    spaced = plan(spokes=2004, nodes_per_spoke=1, supernet="10.0.0.0/8")
    spec = dataclasses.replace(spaced, spokes=spaced.spokes[::2])
    _raises(spec, "collapse into 1001 blocks", "at most 1000 entries", "adjacent blocks", field="spokes[0].cidr")


def test_workload_efa_mode_on_non_efa_instance():
    from tests.helpers import M5

    with pytest.raises(labnet.InvalidSpecError) as err:
        plan(instance=M5, interface_mode="efa")
    assert "does not support EFA" in str(err.value)


def test_unknown_interface_mode():
    with pytest.raises(labnet.InvalidSpecError) as err:
        plan(interface_mode="fast")
    assert err.value.field == "interface_mode"


def test_workload_dataclass_efa_flag():
    assert Workload("p5.48xlarge", 1, "efa-only", 1).efa
    assert not Workload("m5.large", 1, "ena", 1).efa


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 255), st.integers(16, 28)), min_size=0, max_size=12))
def test_first_overlap_agrees_with_brute_force(blocks):
    import ipaddress

    nets = [ipaddress.ip_network((int(ipaddress.ip_address("10.0.0.0")) + (i << 12), p), strict=False)
            for i, p in blocks]
    brute = any(nets[a].overlaps(nets[b]) for a in range(len(nets)) for b in range(a + 1, len(nets)))
    found = preflight.first_overlap(nets)
    assert (found is not None) == brute
    if found:
        a, b = found
        assert a < b and nets[a].overlaps(nets[b])


def _with_workload(spec: NetworkSpec, **changes) -> NetworkSpec:
    return dataclasses.replace(spec, workload=dataclasses.replace(spec.workload, **changes))


@pytest.mark.parametrize("changes, field, fragment", [
    ({"image_id": "ubuntu-22.04"}, "workload.image_id", "is not an AMI id"),
    ({"efa_cards": (0, 0, 1)}, "workload.efa_cards", "distinct network card indexes"),
    ({"efa_cards": (0, 32)}, "workload.efa_cards", "below network_cards=32"),
    ({"max_efa_interfaces": 4}, "workload.efa_cards", "at most 4 EFA interfaces"),
    ({"ips_per_node": 1}, "workload.ips_per_node", "gives each node 32 interface(s) with an IP"),
    ({"interface_mode": "rdma"}, "interface_mode", "must be one of"),
])
def test_workload_facts_must_agree_with_each_other(changes, field, fragment):
    spec = plan(spokes=1, nodes_per_spoke=1, headroom=0)
    spec = _with_workload(spec, network_cards=32, max_efa_interfaces=32, efa_cards=tuple(range(32)))
    preflight.check(spec, US_EAST_1)
    _raises(_with_workload(spec, **changes), fragment, field=field)


def test_offerings_and_az_ids_in_region_facts():
    facts = preflight.RegionFacts("us-east-1", ("us-east-1a", "us-east-1b"), ("use1-az6", "use1-az1"),
                                  (("trn1.32xlarge", ("us-east-1b",)),))
    assert facts.az_name("use1-az1") == "us-east-1b" and facts.az_name("us-east-1a") == "us-east-1a"
    assert facts.az_name("use1-az9") is None and facts.label("us-east-1b") == "us-east-1b (use1-az1)"
    assert facts.offered("trn1.32xlarge") == ("us-east-1b",) and facts.offered("p5.48xlarge") is None
    spec = plan(spokes=1, region=facts, azs=1)  # p5 offerings not read: every AZ counts as offered
    assert spec.spokes[0].subnets[0].az_id == "use1-az6"
    no_ids = preflight.RegionFacts("us-east-1", ("us-east-1a",))
    assert no_ids.az_id("us-east-1a") == "" and no_ids.label("us-east-1a") == "us-east-1a"


# -- logical names that would collide (issue 23) ---------------------------------------------------
def _with(spec, **changes):
    import dataclasses

    return dataclasses.replace(spec, **changes)


def test_a_spoke_named_like_anothers_public_route_table_is_refused():
    """With public subnets, spoke 'a' declares 'a-public-rt', the private route table of spoke 'a-public'."""
    spec = plan(spokes=["a", "a-public"], public_subnets=True)
    with pytest.raises(labnet.InvalidSpecError) as err:
        preflight.check(spec)
    assert err.value.field == "spokes[1].name" and "'a-public-rt'" in str(err.value)
    preflight.check(plan(spokes=["a", "a-public"], public_subnets=False))  # no public route tables: fine


def test_tgw_route_table_names_that_meet_across_regions_are_refused():
    from tests.test_regions import plan_regions

    spec = plan_regions()
    tables = ("spokes", "spokes-us-west-2")
    bad = _with(spec, transit_gateway=_with(spec.transit_gateway, route_tables=tables))
    with pytest.raises(labnet.InvalidSpecError) as err:
        preflight.check(bad)
    assert err.value.field == "transit_gateway.route_tables" and "'tgw-rt-spokes-us-west-2'" in str(err.value)


def test_preflight_predicts_the_tgw_route_table_names_the_program_declares():
    """The names preflight checks are the names the program gives (one rule, checked both ways)."""
    from labnet.declare import declare
    from tests.test_regions import plan_regions

    spec = plan_regions()
    spec = _with(spec, transit_gateway=_with(spec.transit_gateway, route_tables=("spokes", "shared")))
    declared = {r.name for r in declare(spec).resources if r.type == "aws:ec2transitgateway/routeTable:RouteTable"}
    predicted = {f"tgw-rt-{t}{'' if r == spec.region else '-' + r}" for r in spec.regions
                 for t in spec.transit_gateway.route_tables}
    assert declared == predicted


def test_the_program_refuses_any_duplicate_logical_name_before_registering_it():
    """The program's own guard (run here without preflight): the duplicate never reaches an engine."""
    from labnet.declare import declare

    spec = plan(spokes=["b", "b-public"], public_subnets=True)
    with pytest.raises(labnet.InvalidSpecError) as err:
        declare(spec)
    assert "b-public-rt" in str(err.value) and "RouteTable" in str(err.value)
