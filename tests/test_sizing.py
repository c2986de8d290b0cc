import ipaddress
import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import labnet
from labnet import preflight, sizing
from labnet.facts import instances
from tests.helpers import M5, P5, US_EAST_1, plan


def test_worked_example_128_p5_needs_a_slash_19():
    assert P5.ips_per_node("efa") == 32
    assert sizing.usable(20) == 4091
    spec = plan(spokes=1, nodes_per_spoke=128, headroom=0)
    compute = spec.spokes[0].subnets_by_role("compute")
    assert len(compute) == 1 and compute[0].cidr.endswith("/19")
    assert compute[0].ips_needed == 4096


def test_efa_only_interfaces_take_one_ip_per_node():
    assert P5.ips_per_node("efa-only") == 1
    spec = plan(spokes=1, nodes_per_spoke=128, interface_mode="efa-only", headroom=0)
    assert spec.spokes[0].subnets_by_role("compute")[0].cidr.endswith("/24")  # 128 <= 251


def test_efa_layout_is_single_az_with_attachment_per_az():
    spec = plan(azs=3)
    for sp in spec.spokes:
        assert [s.az for s in sp.subnets_by_role("compute")] == ["us-east-1a"]
        att = sp.subnets_by_role("attachment")
        assert sorted(s.az for s in att) == ["us-east-1a", "us-east-1b", "us-east-1c"]
        assert all(s.cidr.endswith("/28") for s in att)


def test_non_efa_nodes_spread_over_azs():
    spec = plan(instance=M5, interface_mode="ena", nodes_per_spoke=100, azs=2, headroom=0)
    compute = spec.spokes[0].subnets_by_role("compute")
    assert [s.az for s in compute] == ["us-east-1a", "us-east-1b"]
    assert sum(s.ips_needed for s in compute) == 100


def test_supernet_too_small_names_the_nearest_layout():
    with pytest.raises(labnet.SizingError) as err:
        plan(spokes=8, nodes_per_spoke=128, supernet="10.0.0.0/16")
    msg = str(err.value)
    assert err.value.field == "supernet"
    assert "8 spoke(s) of /18" in msg and "nearest layout that fits is a /15 supernet" in msg


def test_more_than_a_slash_16_of_compute_in_one_subnet():
    with pytest.raises(labnet.SizingError) as err:
        plan(spokes=1, nodes_per_spoke=5000)
    assert "nearest layout" in str(err.value) or "/16" in str(err.value)


def test_vpc_larger_than_16_reports_max_nodes():
    with pytest.raises(labnet.SizingError) as err:
        plan(spokes=1, nodes_per_spoke=1900, headroom=0)  # 60,800 IPs: subnet fits a /16, VPC does not
    assert "nodes per spoke" in str(err.value)
    n = int(str(err.value).split("is ")[-1].split(" nodes")[0])
    plan(spokes=1, nodes_per_spoke=n, headroom=0)  # the suggested layout really fits


@pytest.mark.parametrize("kw, field", [
    ({"spokes": 0}, "spokes"), ({"spokes": 10_000}, "spokes"), ({"spokes": "3"}, "spokes"),
    ({"nodes_per_spoke": 0}, "nodes_per_spoke"), ({"nodes_per_spoke": 10**6}, "nodes_per_spoke"),
    ({"nodes_per_spoke": 2.5}, "nodes_per_spoke"), ({"headroom": -1}, "headroom"),
    ({"headroom": float("nan")}, "headroom"), ({"azs": 0}, "azs"), ({"azs": ["us-east-1z"]}, "azs[0]"),
    ({"supernet": "10.0.0.0/33"}, "supernet"), ({"spokes": ["a", "a"]}, "spokes"),
    ({"spokes": ["Bad Name"]}, "spoke_names[0]"),
])
def test_bad_arguments_name_the_field(kw, field):
    with pytest.raises(labnet.InvalidSpecError) as err:
        plan(**kw)
    assert err.value.field == field


def _fits(spokes, nodes, per_node, headroom, azs, efa, public, prefix) -> bool:
    """Independent statement of the layout rule: compute blocks (one for EFA, one per AZ otherwise),
    a /28 per AZ for attachments, a /26 per AZ if public; the VPC is the next power of two (<= /16),
    and all spokes must fit in the supernet."""
    need = math.ceil(nodes * per_node * (1 + headroom))
    blocks = [need] if efa else [math.ceil(need / azs)] * azs
    sizes = []
    for ips in blocks:
        size = next((2 ** (32 - p) for p in range(28, 15, -1) if 2 ** (32 - p) - 5 >= ips), None)
        if size is None:
            return False
        sizes.append(size)
    total = sum(sizes) + azs * 16 + (azs * 64 if public else 0)
    vpc = max(16, 2 ** math.ceil(math.log2(total)))
    return vpc <= 2 ** 16 and spokes * vpc <= 2 ** (32 - prefix)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spokes=st.integers(1, 64), nodes=st.integers(1, 600), azs=st.integers(1, 4),
       mode=st.sampled_from(["efa", "efa-only", "ena"]), headroom=st.floats(0, 2),
       prefix=st.integers(8, 20), public=st.booleans())
def test_allocation_properties(spokes, nodes, azs, mode, headroom, prefix, public):
    """Every valid request fits, never overlaps, stays inside the supernet and respects /16-/28;
    every request that cannot fit raises before anything is built."""
    inst = M5 if mode == "ena" else P5
    supernet = str(ipaddress.ip_network(f"10.0.0.0/{prefix}"))
    fits = _fits(spokes, nodes, inst.ips_per_node(mode), headroom, azs, mode != "ena", public, prefix)
    if not fits:
        with pytest.raises(labnet.SizingError) as err:
            plan(spokes=spokes, nodes_per_spoke=nodes, instance=inst, azs=azs, interface_mode=mode,
                 headroom=headroom, supernet=supernet, public_subnets=public)
        assert "nearest layout" in str(err.value)
        return
    spec = plan(spokes=spokes, nodes_per_spoke=nodes, instance=inst, azs=azs, interface_mode=mode,
                headroom=headroom, supernet=supernet, public_subnets=public)
    assert preflight.check(spec, US_EAST_1) is not None
    net = ipaddress.ip_network(supernet)
    vpcs = [ipaddress.ip_network(s.cidr) for s in spec.spokes]
    assert all(v.subnet_of(net) for v in vpcs)
    assert all(16 <= v.prefixlen <= 28 for v in vpcs)
    for a in range(len(vpcs)):
        for b in range(a + 1, len(vpcs)):
            assert not vpcs[a].overlaps(vpcs[b])
    for sp, vpc in zip(spec.spokes, vpcs):
        nets = [ipaddress.ip_network(s.cidr) for s in sp.subnets]
        assert all(n.subnet_of(vpc) and 16 <= n.prefixlen <= 28 for n in nets)
        for a in range(len(nets)):
            for b in range(a + 1, len(nets)):
                assert not nets[a].overlaps(nets[b])
        assert sum(s.ips_needed for s in sp.subnets_by_role("compute")) >= nodes * inst.ips_per_node(mode)


@settings(max_examples=60, deadline=None)
@given(cidr=st.text(max_size=20))
def test_random_text_supernets_raise_cleanly(cidr):
    assume(not cidr.strip().startswith("10."))
    try:
        plan(supernet=cidr)
    except labnet.InvalidSpecError as err:
        assert err.field == "supernet"


def test_instance_facts_from_the_emulator(ec2):
    """Real describe_instance_types against a moto server on loopback."""
    facts = instances.instance_facts(ec2, "p5.48xlarge")
    assert facts.network_cards == 32 and facts.efa_supported and facts.max_efa_interfaces == 32
    assert facts.accelerators == 8
    region = instances.region_facts(ec2)
    assert region.region == "us-east-1" and "us-east-1a" in region.azs
    with pytest.raises(labnet.InvalidSpecError) as err:
        instances.instance_facts(ec2, "p99.mega")
    assert err.value.field == "instance_type"


def test_bandwidth_facts_from_the_emulator(ec2):
    """describe_instance_types over the wire carries the cards' baseline and peak, NetworkPerformance
    and vCPUs (moto serves AWS's own data); the reader parses them exactly as the test helper does."""
    from labnet.spec import NetworkCard
    from tests.helpers import ec2_facts

    g5 = instances.instance_facts(ec2, "g5.xlarge")
    assert (g5.vcpus, g5.network_performance, g5.network_card_bandwidth) == \
        (4, "Up to 10 Gigabit", (NetworkCard(0, 2.5, 10.0),))
    p5 = instances.instance_facts(ec2, "p5.48xlarge")
    assert p5.vcpus == 192 and p5.network_performance == "3200 Gigabit"
    assert p5.network_card_bandwidth == tuple(NetworkCard(i, 100.0, 100.0) for i in range(32))
    for facts in (g5, p5, instances.instance_facts(ec2, "m5.large")):
        assert facts == ec2_facts(facts.instance_type)


def test_size_through_the_public_api(ec2):
    spec = labnet.size(spokes=2, nodes_per_spoke=128, instance_type="p5.48xlarge", azs=2, headroom=0)
    assert spec.spokes[0].subnets_by_role("compute")[0].cidr.endswith("/19")
    types = labnet.instance_types()
    assert types.iloc[0].accelerators > 0  # accelerated types first
    g5 = types.set_index("instance_type").loc["g5.xlarge"]
    assert (g5.vcpus, g5.baseline_gbps, g5.peak_gbps) == (4, 2.5, 10.0) and "network_card_bandwidth" not in types


def test_unknown_region_is_refused_before_any_call():
    with pytest.raises(labnet.InvalidSpecError) as err:
        labnet.size(region="mars-east-1")
    assert err.value.field == "region"
