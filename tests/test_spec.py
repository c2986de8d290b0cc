import dataclasses
import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import labnet
from labnet.spec import NetworkCard, NetworkSpec, card_bandwidth
from tests.helpers import ec2_facts, plan


def test_round_trip_through_plain_dicts_and_json():
    spec = plan(spokes=4, public_subnets=True)
    data = spec.to_dict()
    assert json.loads(json.dumps(data)) == data  # plain JSON types only
    again = NetworkSpec.from_dict(json.loads(json.dumps(data)))
    assert again == spec
    assert again.to_dict() == data


def test_the_nodes_bandwidth_facts_round_trip_and_old_specs_still_load():
    spec = plan(spokes=2, instance=ec2_facts("g5.xlarge"), interface_mode="ena")
    wl = spec.workload
    assert (wl.vcpus, wl.network_performance, wl.network_card_bandwidth) == \
        (4, "Up to 10 Gigabit", (NetworkCard(0, 2.5, 10.0),))
    data = json.loads(json.dumps(spec.to_dict()))
    assert data["workload"]["network_card_bandwidth"] == [{"index": 0, "baseline_gbps": 2.5, "peak_gbps": 10.0}]
    assert NetworkSpec.from_dict(data) == spec
    for key in ("vcpus", "network_performance", "network_card_bandwidth"):  # a spec saved before issue 21
        del data["workload"][key]
    old = NetworkSpec.from_dict(data).workload
    assert (old.vcpus, old.network_card_bandwidth, old.node_gbps()) == (0, (), (None, None))


def test_card_bandwidth_sums_the_cards_used_and_keeps_to_the_instance_figure():
    from decimal import Decimal

    p5 = ec2_facts("p5.48xlarge")  # 32 cards of 100 Gbps, "3200 Gigabit"
    assert card_bandwidth(p5.network_card_bandwidth, p5.network_performance) == (Decimal(3200), Decimal(3200))
    assert card_bandwidth(p5.network_card_bandwidth, p5.network_performance, (0,)) == (Decimal(100), Decimal(100))
    # c6in.32xlarge: two cards of 200 Gbps, but EC2 says 200 Gigabit for the instance
    c6in = ec2_facts("c6in.32xlarge")
    assert card_bandwidth(c6in.network_card_bandwidth, c6in.network_performance) == (Decimal(200), Decimal(200))
    # p6-b300.48xlarge: 350 + 16 × 400 = 6,750 over its cards, 6,400 for the instance
    b300 = ec2_facts("p6-b300.48xlarge")
    assert card_bandwidth(b300.network_card_bandwidth, b300.network_performance) == (Decimal(6400), Decimal(6400))
    # "4x 100 Gigabit" and "Up to 12.5 Gigabit" state figures; "Moderate" states none (the cards decide)
    p4d = ec2_facts("p4d.24xlarge")
    assert card_bandwidth(p4d.network_card_bandwidth, p4d.network_performance) == (Decimal(400), Decimal(400))
    assert card_bandwidth((NetworkCard(0, 0.781, 12.5),), "Up to 12.5 Gigabit") == (Decimal("0.781"), Decimal("12.5"))
    assert card_bandwidth((NetworkCard(0, 0.45, 1.2),), "Moderate") == (Decimal("0.45"), Decimal("1.2"))
    # a figure EC2 did not give is unknown, not zero
    assert card_bandwidth((NetworkCard(0, None, 10.0), NetworkCard(1, 5.0, 10.0)), "") == (None, Decimal(20))
    assert card_bandwidth((), "100 Gigabit") == (None, None)


@pytest.mark.parametrize("card, field", [
    ({"index": 0, "baseline_gbps": -1, "peak_gbps": 10}, "workload.network_card_bandwidth[0].baseline_gbps"),
    ({"index": 0, "baseline_gbps": 2.5, "peak_gbps": "10"}, "workload.network_card_bandwidth[0].peak_gbps"),
    ({"baseline_gbps": 2.5}, "workload.network_card_bandwidth[0].index"),
    ("2.5", "workload.network_card_bandwidth[0]"),
])
def test_bad_card_figures_name_their_field(card, field):
    data = plan(spokes=2, instance=ec2_facts("g5.xlarge"), interface_mode="ena").to_dict()
    data["workload"]["network_card_bandwidth"] = [card]
    with pytest.raises(labnet.InvalidSpecError) as err:
        NetworkSpec.from_dict(data)
    assert err.value.field == field


def test_spec_is_immutable():
    spec = plan()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.region = "eu-west-1"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.spokes[0].cidr = "10.9.0.0/16"  # type: ignore[misc]


def test_from_dict_accepts_float_integers_from_papermill():
    data = plan().to_dict()
    data["transit_gateway"]["amazon_side_asn"] = 64512.0
    data["workload"]["nodes_per_spoke"] = 16.0
    spec = NetworkSpec.from_dict(data)
    assert spec.transit_gateway.amazon_side_asn == 64512
    assert isinstance(spec.workload.nodes_per_spoke, int)


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.pop("region"), "spec.region"),
    (lambda d: d.__setitem__("spokes", "a,b"), "spec.spokes"),
    (lambda d: d["spokes"][0].__setitem__("cidr", 10), "spokes[0].cidr"),
    (lambda d: d["transit_gateway"].__setitem__("amazon_side_asn", True), "transit_gateway.amazon_side_asn"),
    (lambda d: d["security"].__setitem__("cross_spoke_ports", [1]), "security.cross_spoke_ports"),
])
def test_from_dict_names_the_bad_field(mutate, field):
    data = plan().to_dict()
    mutate(data)
    with pytest.raises(labnet.InvalidSpecError) as err:
        NetworkSpec.from_dict(data)
    assert err.value.field == field
    assert field in str(err.value)


def test_table_has_one_row_per_subnet_with_headroom():
    spec = plan(spokes=2, nodes_per_spoke=16, azs=2)
    table = spec.table()
    assert list(table.columns) == ["spoke", "region", "admission", "vpc_cidr", "role", "az", "az_id", "cidr", "usable_ips", "ips_needed",
                                   "headroom"]
    assert len(table) == sum(len(s.subnets) for s in spec.spokes)
    compute = table[table.role == "compute"].iloc[0]
    assert compute.ips_needed == 16 * 32 * 1.25
    assert compute.headroom == compute.usable_ips - compute.ips_needed


def test_import_labnet_is_light():
    code = ("import sys, time; t=time.perf_counter(); import labnet; dt=time.perf_counter()-t; "
            "heavy=[m for m in ('pulumi_aws','pulumi','pandas','boto3','moto') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_repr_is_short_and_safe():
    spec = plan(spokes=40)
    assert len(repr(spec)) < 200
    assert "40 spoke(s)" in repr(spec)


# -- peer CIDRs: what each spoke's training group admits cross-spoke TCP from ------------------------
def _spokes_at(cidrs):
    from labnet.spec import Spoke

    base = plan(spokes=1)
    return dataclasses.replace(base, supernet="10.0.0.0/8", spokes=tuple(
        Spoke(name=f"s{k}", cidr=c, subnets=()) for k, c in enumerate(cidrs)))


def _addresses(cidrs):
    import ipaddress

    return list(ipaddress.collapse_addresses(ipaddress.IPv4Network(c) for c in cidrs))


def test_peer_cidrs_of_sized_specs_collapse_to_a_few_blocks():
    import math

    for n in (2, 3, 8, 60, 64, 100, 1000):
        spec = plan(spokes=n, nodes_per_spoke=1, azs=1)
        peers = spec.peer_cidrs()
        assert list(peers) == [s.name for s in spec.spokes]
        worst = max(len(v) for v in peers.values())
        assert worst <= 2 * math.ceil(math.log2(n)), (n, worst)
        for sp in spec.spokes[:: max(1, n // 7)]:
            assert _addresses(peers[sp.name]) == _addresses(o.cidr for o in spec.spokes if o is not sp)


def test_peer_cidrs_of_scattered_hand_built_spokes_stay_exact():
    spec = _spokes_at(["10.0.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "10.9.0.0/24", "10.1.0.0/16"])
    peers = spec.peer_cidrs()
    assert peers["s0"] == ("10.1.0.0/16", "10.2.0.0/15", "10.9.0.0/24")
    assert peers["s4"] == ("10.0.0.0/16", "10.2.0.0/15", "10.9.0.0/24")
    assert peers["s3"] == ("10.0.0.0/14",)
    assert _spokes_at(["10.0.0.0/16"]).peer_cidrs() == {"s0": ()}


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(0, 63), min_size=1, max_size=40), st.integers(18, 24))
def test_peer_cidrs_cover_exactly_the_other_spokes_with_the_fewest_blocks(slots, prefix):
    import ipaddress

    # Non-overlapping spokes of one size at arbitrary slots (contiguous or not), in arbitrary order.
    size = 2 ** (32 - prefix)
    cidrs = [str(ipaddress.IPv4Network((int(ipaddress.IPv4Address("10.0.0.0")) + k * size, prefix)))
             for k in sorted(slots, key=lambda k: (k * 37) % 64)]
    spec = _spokes_at(cidrs)
    for sp in spec.spokes:
        blocks = [ipaddress.IPv4Network(b) for b in spec.peer_cidrs()[sp.name]]
        others = _addresses(o.cidr for o in spec.spokes if o is not sp)
        assert _addresses(map(str, blocks)) == others  # exactly the others' addresses
        assert not any(b.overlaps(ipaddress.IPv4Network(sp.cidr)) for b in blocks)  # never itself
        assert len(blocks) == len(others)  # the fewest blocks (collapse_addresses is minimal)
