"""The training-traffic planner: hand-computed cases per strategy (to the byte and the cent), the nodes'
own bandwidth and EC2's inter-Region cap (issue 21), property tests, the planned run's cost against
labnet.cost.estimate, spokes in several regions, the sourced limits data, and bad input refused by name
before anything is computed. Specs come from sizing.plan (pure, no emulator) over instance facts parsed
from the describe_instance_types data the emulator serves: the planner makes no AWS call."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import dataclass
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labnet
from labnet.analysis import cost
from labnet.analysis import traffic
from labnet.errors import InvalidSpecError
from labnet.preflight import RegionFacts
from labnet.spec import NetworkCard, Spoke
from tests.helpers import M5, US_EAST_1, ec2_facts
from tests.helpers import plan as sized

P5 = ec2_facts("p5.48xlarge")  # 192 vCPUs, 32 network cards of 100 Gbps baseline and peak
G5 = ec2_facts("g5.xlarge")  # 4 vCPUs, one card: 2.5 Gbps baseline, 10 Gbps peak
US_WEST_2 = RegionFacts("us-west-2", tuple(f"us-west-2{c}" for c in "abcd"))

B7 = 7_000_000_000  # a 7-billion-parameter model
PAYLOAD = 8500 - 52  # data bytes in a full TGW packet: MTU minus IPv4, TCP and timestamp headers


def rows(frame) -> dict[str, dict]:
    return {r["strategy"]: r for r in frame.to_dict("records")}


def make_spec(**kw):
    """A network sized for p5.48xlarge nodes (EC2's facts) unless told otherwise."""
    return sized(**{"instance": P5, **kw})


def two_regions(instance=G5, nodes_per_spoke=4, **kw):
    """2 spokes in us-east-1 and 2 in us-west-2 (the issue 21 case with g5.xlarge)."""
    kw = {"interface_mode": "ena" if not instance.efa_supported else "efa", **kw}
    return sized(spokes=None, regions={"us-east-1": 2, "us-west-2": 2}, nodes_per_spoke=nodes_per_spoke,
                 instance=instance, region={"us-east-1": US_EAST_1, "us-west-2": US_WEST_2}, **kw)


# -- hand-computed: 7e9 parameters in bf16 across 4 spokes of 16 p5.48xlarge -------------------------
def test_hierarchical_by_hand():
    spec = make_spec(spokes=4, nodes_per_spoke=16)
    r = rows(traffic.plan(spec, model_params=7e9, steps=1000, step_seconds=1.0))["hierarchical"]
    # G = 7e9 × 2 = 14e9 bytes; each attachment sends 2(4−1)/4 × G = 21e9; the TGW processes 4 × 21e9
    assert (r["gradient_bytes"], r["bytes_per_attachment"], r["bytes_total"]) == (14 * 10**9, 21 * 10**9, 84 * 10**9)
    # the spoke's share leaves from all 16 nodes, 1/16 each, each over its own connection
    assert r["ring_members"] == 4 and r["connections_per_attachment"] == r["sending_nodes"] == 16
    assert r["bytes_per_node"] == 21 * 10**9 // 16 == 1_312_500_000
    assert r["packets_per_attachment"] == math.ceil(21 * 10**9 / PAYLOAD) == 2_485_796
    # 21e9 B × 8 / 100 Gbps = 1.68 s; packets: 2,485,796 / 7.5 Mpps = 0.33 s; the nodes (32 cards × 100 Gbps):
    # 1.3125e9 × 8 / 3,200 Gbps = 0.0033 s; the attachment binds, at baseline and at burst alike
    assert r["sync_seconds_min"] == 1.68 and r["binding_limit"] == "attachment_bandwidth"
    assert (r["sync_seconds_burst"], r["binding_limit_burst"]) == (1.68, "attachment_bandwidth")
    assert (r["node_gbps"], r["node_gbps_burst"], r["inter_region_gbps"]) == (3200, 3200, None)
    assert r["attachment_gbps"] == 100 and r["streams_needed"] == 20
    # 20 streams over 16 connections: ⌈20 / 16⌉ = 2 sockets each (1 thread × 2), 32 streams
    assert (r["nccl_socket_nthreads"], r["nccl_nsocks_perthread"], r["streams"]) == (1, 2, 32)
    # one sync per step of 1 s: 1.68 s of network per 1 s of compute
    assert r["network_bound"] is True and r["sync_share_of_step"] == 1.68
    # 1,000 syncs × 84 GB = 84,000 GB × $0.02 = $1,680.00
    assert (r["syncs"], r["gb_processed"], r["cost_usd"]) == (1000, 84000.0, 1680.0)
    assert r["data_processing_usd"] == 1680.0 and r["inter_region_usd"] == 0 and r["inter_region_gb"] == 0
    # at least 1.68 s per step instead of 1 s: 1,000 steps take 1,680 s
    assert r["run_hours_min"] == pytest.approx(1680 / 3600)
    assert "sync_every=2" in r["advice"] and "NCCL_SOCKET" not in r["advice"]  # 16 × NCCL's 2 × 8 is plenty
    assert "fewer spokes (2 spokes: 1.12 s" in r["advice"] and "wire_bytes_per_param ≤ 1.19" in r["advice"]
    assert "burst" not in r["advice"] and "nodes' limit" not in r["advice"]


def test_hierarchical_leader_by_hand():
    spec = make_spec(spokes=4, nodes_per_spoke=16)
    r = rows(traffic.plan(spec, model_params=7e9, step_seconds=2.0))["hierarchical_leader"]
    # the same 21e9 bytes per attachment, all from one leader node over one connection
    assert (r["bytes_per_attachment"], r["sending_nodes"], r["bytes_per_node"]) == (21 * 10**9, 1, 21 * 10**9)
    # the leader's 3,200 Gbps: 21e9 × 8 / 3.2e12 = 0.0525 s; the attachment binds at 1.68 s
    assert (r["sync_seconds_min"], r["binding_limit"]) == (1.68, "attachment_bandwidth")
    # one connection needs all 20 streams: 4 threads × 5 sockets
    assert (r["nccl_socket_nthreads"], r["nccl_nsocks_perthread"], r["streams"]) == (4, 5, 20)
    assert "NCCL_SOCKET_NTHREADS=4 NCCL_NSOCKS_PERTHREAD=5" in r["advice"]
    assert r["network_bound"] is False and "compute-bound: 84%" in r["advice"]


def test_flat_rings_by_hand():
    spec = make_spec(spokes=4, nodes_per_spoke=16)
    by = rows(traffic.plan(spec, model_params=7e9, steps=1000))
    flat, mixed = by["flat_ring"], by["flat_ring_interleaved"]
    # 64 ranks: each ring edge carries 2 × 63/64 × 14e9 = 27,562,500,000 bytes
    assert flat["ring_members"] == 64 and flat["connections_per_attachment"] == flat["sending_nodes"] == 1
    assert (flat["bytes_per_attachment"], flat["bytes_total"]) == (27_562_500_000, 110_250_000_000)
    assert flat["sync_seconds_min"] == 2.205 and flat["binding_limit"] == "attachment_bandwidth"
    assert flat["cost_usd"] == 2205.0  # 110,250 GB × $0.02
    # ranks dealt round-robin: all 64 edges cross, 16 leave each spoke
    assert mixed["connections_per_attachment"] == mixed["sending_nodes"] == 16
    assert mixed["bytes_per_node"] == 27_562_500_000  # every node's ring edge leaves the spoke
    assert (mixed["bytes_per_attachment"], mixed["bytes_total"]) == (441 * 10**9, 1764 * 10**9)
    assert mixed["sync_seconds_min"] == 35.28 and mixed["cost_usd"] == 35280.0
    # 20 streams over 16 connections: 2 sockets each (1 thread × 2), 32 streams
    assert (mixed["nccl_socket_nthreads"], mixed["nccl_nsocks_perthread"], mixed["streams"]) == (1, 2, 32)
    assert "network_bound" not in flat and "give step_seconds" in flat["advice"]


def test_three_spokes_round_up_to_whole_bytes():
    r = rows(traffic.plan(make_spec(spokes=3), model_params=7e9, strategies="hierarchical", steps=10))["hierarchical"]
    # 2 × 2/3 × 14e9 = 18,666,666,666.67 → each attachment sends 18,666,666,667 whole bytes
    assert (r["bytes_per_attachment"], r["bytes_total"]) == (18_666_666_667, 56_000_000_001)
    assert r["sync_seconds_min"] == float(Fraction(18_666_666_667 * 8, 10**11))
    assert r["gb_processed"] == 560.00000001 and round(r["cost_usd"], 2) == 11.20


def test_periodic_sync_and_compression_by_hand():
    spec = make_spec(spokes=4)
    r = rows(traffic.plan(spec, model_params=7e9, steps=1001, step_seconds=1.0, sync_every=4,
                          wire_bytes_per_param=1, strategies=["hierarchical"]))["hierarchical"]
    # 1 byte per parameter on the wire: G = 7e9, 10.5e9 per attachment, 0.84 s per sync
    assert (r["gradient_bytes"], r["bytes_per_attachment"], r["sync_seconds_min"]) == (7 * 10**9, 10_500_000_000, 0.84)
    # ⌈1001 / 4⌉ = 251 syncs × 42 GB = 10,542 GB × $0.02 = $210.84
    assert (r["syncs"], r["gb_processed"], r["cost_usd"]) == (251, 10542.0, 210.84)
    assert r["network_bound"] is False and r["sync_share_of_step"] == 0.21 and r["sync_seconds_per_step"] == 0.21
    assert "compute-bound: 21%" in r["advice"]


def test_packet_rate_binds_at_a_small_mtu():
    spec = make_spec(spokes=4)
    r = rows(traffic.plan(spec, model_params=7e9, strategies="hierarchical", limits={"tgw_mtu_bytes": 1500}))
    r = r["hierarchical"]
    # 1,448 data bytes per packet: ⌈21e9 / 1448⌉ = 14,502,763 packets / 7.5 Mpps = 1.934 s > 1.68 s
    assert r["packets_per_attachment"] == 14_502_763
    assert r["sync_seconds_min"] == float(Fraction(14_502_763, 7_500_000))
    assert r["binding_limit"] == "packet_rate"


def test_too_few_streams_bind_and_the_advice_says_what_to_set():
    spec = make_spec(spokes=4)
    r = rows(traffic.plan(spec, model_params=7e9, strategies="hierarchical_leader", nccl_socket_nthreads=2,
                          nccl_nsocks_perthread=8))["hierarchical_leader"]
    # NCCL's AWS default: 16 streams × 5 Gbps = 80 Gbps: 21e9 × 8 / 80e9 = 2.1 s
    assert (r["streams"], r["sync_seconds_min"], r["binding_limit"]) == (16, 2.1, "tcp_streams")
    assert "NCCL_SOCKET_NTHREADS=4 NCCL_NSOCKS_PERTHREAD=5 would open enough streams" in r["advice"]


def test_cluster_placement_group_needs_half_the_streams():
    r = rows(traffic.plan(make_spec(spokes=4), model_params=7e9, strategies="hierarchical_leader",
                          cluster_placement_group=True))["hierarchical_leader"]
    # 100 Gbps / 10 Gbps per flow = 10 streams: 3 threads × 4 sockets (balanced), 12 streams
    assert (r["streams_needed"], r["nccl_socket_nthreads"], r["nccl_nsocks_perthread"], r["streams"]) == (10, 3, 4, 12)
    assert r["sync_seconds_min"] == 1.68


def test_spread_compute_uses_each_az_of_the_attachment():
    # ena nodes spread over 2 AZs: 16 connections from nodes in both AZs reach 2 × 100 Gbps. M5 is
    # hand-built without EC2's bandwidth figures, so the nodes' terms are left out and the advice says so.
    spec = make_spec(spokes=2, nodes_per_spoke=16, instance=M5, interface_mode="ena")
    by = rows(traffic.plan(spec, model_params=1e9, bytes_per_param=4))
    mixed = by["flat_ring_interleaved"]
    assert mixed["attachment_gbps"] == 200 and mixed["streams_needed"] == 40
    assert (mixed["nccl_socket_nthreads"], mixed["nccl_nsocks_perthread"]) == (2, 2)  # ⌈40 / 16⌉ = 3 → 2 × 2
    # 32 ranks, G = 4e9: 16 × 2 × 31/32 × 4e9 = 124e9 bytes over 200 Gbps = 4.96 s
    assert mixed["bytes_per_attachment"] == 124 * 10**9 and mixed["sync_seconds_min"] == 4.96
    # one leader's connection leaves from one node in one AZ: 100 Gbps, whatever the spoke's AZs;
    # hierarchical's 16 nodes send from both AZs
    assert by["hierarchical_leader"]["attachment_gbps"] == 100
    assert by["hierarchical"]["attachment_gbps"] == 200 and by["hierarchical"]["bytes_per_attachment"] == 4 * 10**9
    assert mixed["node_gbps"] is None and mixed["sync_seconds_burst"] is None
    assert "records no network-card bandwidth for m5.large" in mixed["advice"]
    assert "not applied" in mixed["advice"] and "labnet.size" in mixed["advice"]


def test_one_spoke_sends_nothing_through_the_tgw():
    r = rows(traffic.plan(make_spec(spokes=1), model_params=7e9, steps=100, step_seconds=1.0))
    for row in r.values():
        assert (row["bytes_total"], row["sync_seconds_min"], row["cost_usd"], row["binding_limit"]) == (0, 0, 0, "none")
        assert row["network_bound"] is False and "nothing crosses the TGW" in row["advice"]


def test_columns_rows_and_provenance():
    frame = traffic.plan(make_spec(spokes=4), model_params=7e9)
    assert list(frame["strategy"]) == list(traffic.STRATEGIES)  # hierarchical, the default, first
    assert list(frame.columns) == traffic.COLUMNS + ["advice"]
    attrs = frame.attrs
    assert set(attrs["constants"]) == set(traffic.LIMIT_KEYS)
    assert all(c["source"].startswith("https://") and c["states"] for c in attrs["constants"].values())
    assert attrs["limits_as_of"] and attrs["limits_recorded"] and "without re-reading" in attrs["limits_note"]
    assert attrs["constants"]["tgw_attachment_gbps_per_az"]["read"] == "2026-12-05"
    # which nodes carry the cross-spoke share, per strategy, and where their figures come from
    assert set(attrs["assumptions"]["sending_nodes"]) == set(traffic.STRATEGIES)
    nodes = attrs["assumptions"]["nodes"]
    assert (nodes["instance_type"], nodes["vcpus"], nodes["network_performance"]) == \
        ("p5.48xlarge", 192, "3200 Gigabit")
    assert nodes["ip_network_cards"] == list(range(32)) and nodes["gbps_baseline"] == 3200
    assert nodes["inter_region_gbps"] == 1600 and "describe_instance_types" in nodes["source"]
    assert "baseline" in nodes["bound_uses"] and nodes["not_known"] == []
    assert attrs["price_sources"] == {"tgw_data_processed_gb": "https://aws.amazon.com/transit-gateway/pricing/"}
    assert attrs["assumptions"]["gradient_bytes"] == 14 * 10**9 and attrs["formulas"]["hierarchical"]
    frame = traffic.plan(make_spec(spokes=4), model_params=7e9, steps=10, step_seconds=1)
    assert list(frame.columns) == (traffic.COLUMNS + traffic.STEP_COLUMNS + traffic.RUN_COLUMNS
                                   + traffic.RUN_TIME_COLUMNS + ["advice"])
    assert labnet.traffic is traffic and labnet.traffic.plan is traffic.plan


# -- the run's cost is what labnet.cost.estimate charges for the planned GB --------------------------
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spokes=st.integers(1, 6), params=st.integers(1, 10**11), bpp=st.sampled_from([1, 2, 4]),
       steps=st.integers(1, 10**5), every=st.integers(1, 64), region=st.sampled_from(["us-east-1", "eu-west-1"]),
       strategy=st.sampled_from(traffic.STRATEGIES))
def test_run_cost_equals_the_estimate_of_its_gb(spokes, params, bpp, steps, every, region, strategy):
    from labnet.preflight import RegionFacts

    spec = make_spec(spokes=spokes, nodes_per_spoke=4, region=RegionFacts(region, (f"{region}a", f"{region}b")))
    r = traffic.plan(spec, model_params=params, bytes_per_param=bpp, steps=steps, sync_every=every,
                     strategies=strategy).iloc[0]
    estimate = cost.estimate(spec, cross_vpc_gb_per_month=r["gb_processed"])
    data = estimate[estimate["item"] == "Transit Gateway data processed"].iloc[0]
    assert data["quantity"] == r["gb_processed"]
    assert round(data["per_month_usd"], 2) == round(r["cost_usd"], 2)
    assert r["gb_processed"] == r["bytes_total"] * r["syncs"] / 1e9


# -- properties ----------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=st.integers(1, 10**12), bpp=st.sampled_from([0.5, 1, 2, 4]), nodes=st.integers(1, 32),
       strategy=st.sampled_from(traffic.STRATEGIES))
def test_more_spokes_never_lower_total_bytes(params, bpp, nodes, strategy):
    totals = [traffic.plan(make_spec(spokes=s, nodes_per_spoke=nodes), model_params=params, bytes_per_param=bpp,
                           strategies=strategy).iloc[0]["bytes_total"] for s in range(1, 7)]
    assert totals == sorted(totals) and totals[0] == 0


@settings(max_examples=40, deadline=None)
@given(params=st.integers(1, 10**12), spokes=st.integers(2, 6), every=st.integers(1, 100),
       intervals=st.integers(1, 1000), step=st.floats(0.01, 100))
def test_periodic_sync_divides_by_h(params, spokes, every, intervals, step):
    spec = make_spec(spokes=spokes)
    one = traffic.plan(spec, model_params=params, steps=every * intervals, step_seconds=step).set_index("strategy")
    h = traffic.plan(spec, model_params=params, steps=every * intervals, step_seconds=step,
                     sync_every=every).set_index("strategy")
    assert (h["bytes_total"] == one["bytes_total"]).all()  # each synchronisation is the same size
    assert (h["syncs"] * every == one["syncs"]).all()
    assert list(h["gb_processed"] * every) == pytest.approx(list(one["gb_processed"]))
    assert list(h["sync_seconds_per_step"] * every) == pytest.approx(list(one["sync_seconds_per_step"]))


@given(streams=st.integers(1, 10_000))
def test_nccl_pair_respects_nccls_bounds_and_gives_the_streams(streams):
    threads, socks = traffic.nccl_pair(streams)
    assert 1 <= threads <= 16 and socks >= 1 and threads * socks <= 64
    assert threads * socks >= min(streams, 64)


@settings(max_examples=30, deadline=None)
@given(params=st.integers(10**6, 10**12), spokes=st.integers(2, 6), nodes=st.integers(1, 32),
       flow=st.sampled_from([1, 2.5, 5, 10, 25]), gbps=st.sampled_from([10, 50, 100, 200]),
       placement=st.booleans())
def test_planned_nccl_pair_is_within_bounds_and_opens_the_streams_needed(params, spokes, nodes, flow, gbps,
                                                                         placement):
    frame = traffic.plan(make_spec(spokes=spokes, nodes_per_spoke=nodes), model_params=params,
                         cluster_placement_group=placement,
                         limits={"ec2_flow_gbps": flow, "tgw_attachment_gbps_per_az": gbps})
    for r in frame.to_dict("records"):
        t, s = r["nccl_socket_nthreads"], r["nccl_nsocks_perthread"]
        assert 1 <= t <= 16 and s >= 1 and t * s <= 64
        per_connection = -(-r["streams_needed"] // r["connections_per_attachment"])
        assert t * s >= min(per_connection, 64)
        assert r["streams"] == r["connections_per_attachment"] * t * s
        if t * s >= per_connection:  # enough streams: the attachment or its packet rate binds, never streams
            assert r["binding_limit"] != "tcp_streams"


# -- spokes in several regions (issue 14 adds Spoke.region; the planner asks NetworkSpec.region_of) ---
@dataclass(frozen=True)
class RegionalSpoke(Spoke):
    region: str = ""


def regional_spec(regions: list[str]):
    spec = make_spec(spokes=len(regions))
    from dataclasses import replace

    return replace(spec, spokes=tuple(RegionalSpoke(sp.name, sp.cidr, sp.subnets, sp.route_table, region=r)
                                      for sp, r in zip(spec.spokes, regions)))


def test_spokes_in_several_regions_pay_inter_region_transfer_per_pair():
    spec = regional_spec(["us-east-1", "us-west-2", "", "us-east-2"])  # "" is the spec's region
    assert [spec.region_of(sp) for sp in spec.spokes] == ["us-east-1", "us-west-2", "us-east-1", "us-east-2"]
    frame = traffic.plan(spec, model_params=7e9, steps=1000, strategies="hierarchical_leader",
                         cluster_placement_group=True)
    r = frame.iloc[0]
    # ring grouped by region: spoke-a → spoke-c (same region), c → b (us-east-1 → us-west-2),
    # b → d (us-west-2 → us-east-2), d → a (us-east-2 → us-east-1)
    names = [sp.name for sp in spec.spokes]
    assert frame.attrs["assumptions"]["ring_order"] == [names[0], names[2], names[1], names[3]]
    # data processing: 4 × 21 GB × 1,000 = 84,000 GB × $0.02 = $1,680
    # inter-Region: 21,000 GB × ($0.02 + $0.02 + $0.01) = $1,050
    assert (r["gb_processed"], r["inter_region_gb"]) == (84000.0, 63000.0)
    assert (r["data_processing_usd"], r["inter_region_usd"], r["cost_usd"]) == (1680.0, 1050.0, 2730.0)
    # a cluster placement group never spans Regions: the spokes sending to another region need 20 streams
    assert r["streams_needed"] == 20 and (r["nccl_socket_nthreads"], r["nccl_nsocks_perthread"]) == (4, 5)
    assert frame.attrs["price_sources"]["inter_region_transfer_gb"].startswith("https://aws.amazon.com/ec2/pricing")


def test_a_region_pair_without_a_price_is_refused_by_name():
    prices = json.loads(cost.PRICES_FILE.read_text())
    del prices["region_pairs"]["inter_region_transfer_gb"]["us-east-1"]["us-west-2"]
    with pytest.raises(InvalidSpecError) as err:
        traffic.plan(regional_spec(["us-east-1", "us-west-2"]), model_params=7e9, prices=prices)
    assert err.value.field == "prices.region_pairs.inter_region_transfer_gb.us-east-1.us-west-2"


def test_shipped_pair_prices_cover_every_listed_region_pair():
    prices = cost.load_prices()
    pairs = prices.region_pairs["inter_region_transfer_gb"]
    for a in prices.regions:
        assert set(pairs[a]) == set(prices.regions) - {a}, a
    assert pairs["us-east-1"]["us-east-2"] == pairs["us-east-2"]["us-east-1"] == cost.Decimal("0.01")
    assert prices.items["inter_region_transfer_gb"]["source"].startswith("https://")


@pytest.mark.parametrize("mutate,field", [
    (lambda d: d["region_pairs"].update(nope={}), "prices.region_pairs.nope"),
    (lambda d: d["region_pairs"]["inter_region_transfer_gb"]["us-east-1"].update({"us-west-2": -1}),
     "prices.region_pairs.inter_region_transfer_gb.us-east-1.us-west-2"),
    (lambda d: d["region_pairs"].update(inter_region_transfer_gb=[1]), "prices.region_pairs.inter_region_transfer_gb"),
])
def test_malformed_pair_prices_are_refused(mutate, field):
    data = json.loads(cost.PRICES_FILE.read_text())
    mutate(data)
    with pytest.raises(InvalidSpecError) as err:
        cost.load_prices(data)
    assert err.value.field == field


# -- the limits data -----------------------------------------------------------------------------------
def test_shipped_limits_are_complete_and_sourced():
    data = json.loads(traffic.LIMITS_FILE.read_text())
    assert data["as_of"] and data["recorded"] and data["note"]
    assert set(data["items"]) == set(traffic.LIMIT_KEYS)
    for key, item in data["items"].items():
        assert item["source"].startswith("https://") and item["states"] and item["unit"] and item["label"], key
    lim = traffic.load_limits()
    documented = {"tgw_attachment_gbps_per_az": 100, "tgw_attachment_pps_per_az": 7_500_000,
                  "tgw_peering_gbps_per_az": 100, "tgw_peering_pps_per_az": 7_500_000, "tgw_mtu_bytes": 8500,
                  "ec2_flow_gbps": 5, "ec2_flow_gbps_cluster_placement_group": 10, "ec2_inter_region_share": 0.5,
                  "ec2_inter_region_min_vcpus": 32, "ec2_inter_region_gbps_below_min_vcpus": 5,
                  "nccl_socket_nthreads_min": 1, "nccl_socket_nthreads_max": 16, "nccl_sockets_per_connection_max": 64}
    assert {k: lim.value(k) for k in documented} == documented
    # the figures re-read for issue 21 say which page and when
    for key in ("tgw_attachment_gbps_per_az", "tgw_attachment_pps_per_az", "tgw_peering_gbps_per_az",
                "ec2_inter_region_share", "ec2_inter_region_gbps_below_min_vcpus"):
        assert data["items"][key]["read"] == "2026-12-05", key
    assert data["items"]["tgw_peering_gbps_per_az"]["source"].endswith("transit-gateway-quotas.html#bandwidth-quotas")
    assert "each direction" in data["items"]["tgw_attachment_gbps_per_az"]["states"]
    table = lim.table()
    assert list(table["key"]) == list(data["items"]) and table["source"].str.startswith("https://").all()
    assert table.set_index("key").loc["ec2_inter_region_share", "read"] == "2026-12-05"


def test_overridden_limits_say_they_are_the_callers(tmp_path):
    frame = traffic.plan(make_spec(spokes=4), model_params=7e9, strategies="hierarchical",
                         limits={"tgw_attachment_gbps_per_az": 50})
    assert frame.iloc[0]["sync_seconds_min"] == 3.36  # 21e9 × 8 / 50 Gbps
    const = frame.attrs["constants"]["tgw_attachment_gbps_per_az"]
    assert const["source"] == traffic.USER and "replaces 100 Gbps" in const["states"]
    data = json.loads(traffic.LIMITS_FILE.read_text())
    data["name"] = "my-measured-limits"
    data["items"]["ec2_flow_gbps"]["value"] = 4
    path = tmp_path / "limits.json"
    path.write_text(json.dumps(data))
    frame = traffic.plan(make_spec(spokes=4), model_params=7e9, strategies="hierarchical", limits=str(path))
    assert frame.attrs["limits"] == "my-measured-limits" and frame.iloc[0]["streams_needed"] == 25


@pytest.mark.parametrize("limits,field", [
    ({"ec2_flow_gbps": 0}, "limits.ec2_flow_gbps"),
    ({"nope": 1}, "limits.nope"),
    ({"nccl_socket_nthreads_max": 2.5}, "limits.nccl_socket_nthreads_max"),
    ({"tcp_ip_header_bytes": 9000}, "limits.tcp_ip_header_bytes"),
    ({"nccl_socket_nthreads_max": 100}, "limits.nccl_socket_nthreads_max"),
    ({"ec2_inter_region_share": 1.5}, "limits.ec2_inter_region_share"),
    ({"ec2_inter_region_min_vcpus": 31.5}, "limits.ec2_inter_region_min_vcpus"),
    ({"items": {"ec2_flow_gbps": {"label": "x", "unit": "Gbps", "value": 5, "states": "x"}}},
     "limits.items.ec2_flow_gbps.source"),
    ({"items": {}}, "limits.items"),
    (42, "limits"),
])
def test_bad_limits_are_refused_by_name(limits, field):
    with pytest.raises(InvalidSpecError) as err:
        traffic.plan(make_spec(spokes=2), model_params=7e9, limits=limits)
    assert err.value.field == field


def test_a_whole_limit_set_missing_a_limit_is_refused():
    data = json.loads(traffic.LIMITS_FILE.read_text())
    del data["items"]["tgw_mtu_bytes"]
    with pytest.raises(InvalidSpecError) as err:
        traffic.load_limits(data)
    assert err.value.field == "limits.items.tgw_mtu_bytes"


# -- bad input: refused by name before anything is computed -------------------------------------------
@pytest.mark.parametrize("kwargs,field", [
    ({"model_params": 0}, "model_params"), ({"model_params": -7e9}, "model_params"),
    ({"model_params": 1.5}, "model_params"), ({"model_params": "7e9"}, "model_params"),
    ({"model_params": None}, "model_params"), ({"model_params": True}, "model_params"),
    ({"model_params": float("nan")}, "model_params"),
    ({"bytes_per_param": 0}, "bytes_per_param"), ({"bytes_per_param": -2}, "bytes_per_param"),
    ({"wire_bytes_per_param": 0}, "wire_bytes_per_param"), ({"wire_bytes_per_param": 3}, "wire_bytes_per_param"),
    ({"steps": 0}, "steps"), ({"steps": 10.5}, "steps"), ({"steps": "100"}, "steps"),
    ({"step_seconds": 0}, "step_seconds"), ({"step_seconds": -1}, "step_seconds"),
    ({"step_seconds": float("inf")}, "step_seconds"),
    ({"sync_every": 0}, "sync_every"), ({"sync_every": 2.5}, "sync_every"),
    ({"strategies": "ring"}, "strategies"), ({"strategies": ["hierarchical", "tree"]}, "strategies"),
    ({"strategies": []}, "strategies"), ({"strategies": 3}, "strategies"),
    ({"nodes_per_spoke": 0}, "nodes_per_spoke"), ({"cluster_placement_group": "yes"}, "cluster_placement_group"),
    ({"nccl_socket_nthreads": 17, "nccl_nsocks_perthread": 1}, "nccl_socket_nthreads"),
    ({"nccl_socket_nthreads": 0, "nccl_nsocks_perthread": 1}, "nccl_socket_nthreads"),
    ({"nccl_socket_nthreads": 8, "nccl_nsocks_perthread": 9}, "nccl_nsocks_perthread"),
    ({"nccl_socket_nthreads": 2}, "nccl_nsocks_perthread"),
    ({"prices": {"name": "x"}}, "prices"),
])
def test_bad_input_is_refused_before_anything_is_computed(kwargs, field, monkeypatch):
    def must_not_run(*a, **k):
        raise AssertionError("the plan was computed before its inputs were checked")

    monkeypatch.setattr(traffic, "_senders", must_not_run)
    args = {"model_params": 7e9, "steps": 100, "step_seconds": 1.0, **kwargs}
    with pytest.raises(InvalidSpecError) as err:
        traffic.plan(make_spec(spokes=3), **args)
    assert err.value.field == field
    assert err.value.rule and str(err.value).startswith(f"{field}=")


def test_a_spec_that_is_not_a_spec_and_a_region_without_prices_are_refused(monkeypatch):
    from labnet.preflight import RegionFacts

    monkeypatch.setattr(traffic, "_senders", lambda *a, **k: pytest.fail("computed before checking"))
    with pytest.raises(InvalidSpecError) as err:
        traffic.plan(make_spec(spokes=2).to_dict(), model_params=7e9)
    assert err.value.field == "spec"
    with pytest.raises(InvalidSpecError) as err:
        traffic.plan(make_spec(spokes=2, region=RegionFacts("ap-south-1", ("ap-south-1a", "ap-south-1b"))),
                     model_params=7e9)
    assert err.value.field == "region" and err.value.value == "ap-south-1"


def test_strategies_that_spread_over_the_nodes_need_the_nodes_per_spoke():
    from dataclasses import replace

    spec = replace(make_spec(spokes=2), workload=None)
    for strategies in (None, "hierarchical", "flat_ring"):
        with pytest.raises(InvalidSpecError) as err:
            traffic.plan(spec, model_params=7e9, strategies=strategies)
        assert err.value.field == "nodes_per_spoke"
    leader = traffic.plan(spec, model_params=7e9, strategies="hierarchical_leader").iloc[0]
    assert leader["bytes_total"] == 28 * 10**9 and leader["node_gbps"] is None
    assert "the spec has no workload" in leader["advice"]
    assert traffic.plan(spec, model_params=7e9, nodes_per_spoke=8).iloc[2]["ring_members"] == 16


def test_planning_loads_nothing_heavy_but_pandas():
    # the planner is pure arithmetic: planning imports neither Pulumi, moto, boto3 nor matplotlib
    code = ("import sys, labnet; from tests.helpers import plan; "
            "labnet.traffic.plan(plan(spokes=2), model_params=1e9); "
            "print([m for m in ('pulumi', 'pulumi_aws', 'moto', 'boto3', 'matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(traffic.LIMITS_FILE.parents[2]))
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# -- issue 21: what the nodes themselves can send -------------------------------------------------------
# EC2's facts (describe_instance_types, as the emulator serves AWS's data): g5.xlarge has 4 vCPUs and one
# card of 2.5 Gbps baseline, 10 Gbps peak; below 32 vCPUs EC2 caps traffic to another Region at 5 Gbps.
def test_small_nodes_across_regions_are_bound_by_their_bandwidth_and_the_inter_region_cap():
    spec = two_regions()  # 2 spokes in us-east-1, 2 in us-west-2, 4 g5.xlarge each (ena: 2 AZs)
    by = rows(traffic.plan(spec, model_params=7e9, steps=10_000, step_seconds=2.0))
    r = by["hierarchical"]
    # each attachment sends 2 × 3/4 × 14e9 = 21e9, from its 4 nodes in parallel: 5.25e9 each
    assert (r["bytes_per_attachment"], r["sending_nodes"], r["bytes_per_node"]) == (21 * 10**9, 4, 5_250_000_000)
    assert (r["node_gbps"], r["node_gbps_burst"], r["inter_region_gbps"]) == (2.5, 10, 5)
    # baseline: 5.25e9 × 8 / 2.5 Gbps = 16.8 s (the nodes); the inter-Region cap: 5.25e9 × 8 / 5 Gbps = 8.4 s;
    # the attachment (nodes in 2 AZs: 200 Gbps): 21e9 × 8 / 200 Gbps = 0.84 s
    assert (r["sync_seconds_min"], r["binding_limit"]) == (16.8, "node_bandwidth")
    # burst: 5.25e9 × 8 / 10 Gbps = 4.2 s, so the inter-Region cap's 8.4 s binds
    assert (r["sync_seconds_burst"], r["binding_limit_burst"]) == (8.4, "inter_region_cap")
    assert r["attachment_gbps"] == 200
    # 16.8 s of network per 2 s step: network-bound
    assert r["network_bound"] is True and r["sync_share_of_step"] == 8.4
    advice = r["advice"]
    assert "bound by the nodes: 4 nodes per spoke send 5.25 GB each at 2.5 Gbps" in advice
    assert "at burst bandwidth (10 Gbps per node) 8.4 s (inter_region_cap)" in advice and "outlasts" in advice
    # 200 Gbps / 2.5 Gbps = 80 nodes; each of 4 nodes would need 50 Gbps across Regions: 100 Gbps and 32 vCPUs
    assert "80 or more nodes per spoke" in advice
    assert "bigger instances (at least 100 Gbps baseline and 32 or more vCPUs per node" in advice
    assert "sync_every=9" in advice and "wire_bytes_per_param ≤ 0.238" in advice
    # one leader sends the spoke's whole share: 21e9 × 8 / 2.5 Gbps = 67.2 s; burst: 21e9 × 8 / 5 Gbps = 33.6 s
    lead = by["hierarchical_leader"]
    assert (lead["sync_seconds_min"], lead["binding_limit"]) == (67.2, "node_bandwidth")
    assert (lead["sync_seconds_burst"], lead["binding_limit_burst"]) == (33.6, "inter_region_cap")
    assert "strategy 'hierarchical' (16.8 s: the spoke's share spreads over its 4 nodes)" in lead["advice"]
    # flat ring: one node per spoke sends 2 × 15/16 × 14e9 = 26.25e9: 84 s; burst 42 s
    flat = by["flat_ring"]
    assert (flat["bytes_per_node"], flat["sync_seconds_min"], flat["sync_seconds_burst"]) == (26_250_000_000, 84, 42)
    # the bill is the bytes' (the nodes change the time, not the bytes): 84 GB × 10,000 × $0.02, plus the
    # 2 crossing spokes' 21 GB × 10,000 at $0.02 inter-Region
    assert (r["gb_processed"], r["cost_usd"], r["inter_region_gb"], r["inter_region_usd"]) == \
        (840_000, 25_200, 420_000, 8_400)


def test_without_the_nodes_facts_the_plan_is_what_issue_21_measured():
    from dataclasses import replace

    spec = two_regions()
    before = replace(spec, workload=replace(spec.workload, network_card_bandwidth=(), vcpus=0))
    r = rows(traffic.plan(before, model_params=7e9, step_seconds=2.0, strategies="hierarchical_leader"))
    r = r["hierarchical_leader"]
    # the old answer: 1.68 s, bound by the attachment, compute-bound at 2 s steps
    assert (r["sync_seconds_min"], r["binding_limit"], r["network_bound"]) == (1.68, "attachment_bandwidth", False)
    assert "not applied" in r["advice"] and r["node_gbps"] is None and r["inter_region_gbps"] is None


def test_small_nodes_in_one_region_are_bound_by_their_bandwidth():
    spec = make_spec(spokes=4, nodes_per_spoke=4, instance=G5, interface_mode="ena")
    frame = traffic.plan(spec, model_params=7e9, step_seconds=2.0)
    r = rows(frame)["hierarchical"]
    assert r["inter_region_gbps"] is None and "peering_attachment" not in str(frame["binding_limit_burst"].tolist())
    assert (r["sync_seconds_min"], r["binding_limit"]) == (16.8, "node_bandwidth")
    # burst: 5.25e9 × 8 / 10 Gbps = 4.2 s, still the nodes (the attachment: 0.84 s)
    assert (r["sync_seconds_burst"], r["binding_limit_burst"]) == (4.2, "node_bandwidth")
    # 200 Gbps over 4 nodes: 50 Gbps each, and no vCPU condition in one Region
    assert "bigger instances (at least 50 Gbps baseline per node" in r["advice"]
    assert "fewer Regions" not in r["advice"]


def test_big_nodes_leave_the_attachment_binding_in_one_region_and_across_regions():
    # p5.48xlarge, 4 spokes × 16: 21e9 B per attachment, 1.68 s, as before issue 21
    one = rows(traffic.plan(make_spec(spokes=4, nodes_per_spoke=16), model_params=7e9))["hierarchical"]
    assert (one["bytes_per_attachment"], one["sync_seconds_min"], one["binding_limit"]) == \
        (21 * 10**9, 1.68, "attachment_bandwidth")
    two = rows(traffic.plan(two_regions(instance=P5, nodes_per_spoke=16), model_params=7e9))["hierarchical"]
    # 192 vCPUs: half of 3,200 Gbps may cross Regions, 1,600 Gbps per node; the attachment still binds
    assert (two["inter_region_gbps"], two["sync_seconds_min"], two["binding_limit"]) == \
        (1600, 1.68, "attachment_bandwidth")


def test_efa_only_nodes_send_over_card_0_alone():
    # efa-only: only the primary interface carries an IP, so TCP leaves over card 0's 100 Gbps; one leader
    # then needs 21e9 × 8 / 100 Gbps = 1.68 s, a tie with the attachment, which is named (the earlier limit)
    spec = make_spec(spokes=4, nodes_per_spoke=16, interface_mode="efa-only")
    r = rows(traffic.plan(spec, model_params=7e9, strategies="hierarchical_leader"))["hierarchical_leader"]
    assert (r["node_gbps"], r["sync_seconds_min"], r["binding_limit"]) == (100, 1.68, "attachment_bandwidth")
    r = rows(traffic.plan(spec, model_params=7e9, strategies="hierarchical_leader",
                          limits={"tgw_attachment_gbps_per_az": 200}))["hierarchical_leader"]
    assert (r["sync_seconds_min"], r["binding_limit"]) == (1.68, "node_bandwidth")


def test_a_figure_ec2_does_not_report_is_said_and_never_guessed():
    import copy

    from labnet.facts import instances
    from tests.helpers import _ec2_instance_types

    item = copy.deepcopy(_ec2_instance_types()["g5.xlarge"])
    del item["VCpuInfo"]
    del item["NetworkInfo"]["NetworkCards"][0]["BaselineBandwidthInGbps"]
    facts = instances.InstanceFacts.from_ec2(item)
    assert facts.vcpus == 0 and facts.network_card_bandwidth == (NetworkCard(0, None, 10.0),)
    r = rows(traffic.plan(two_regions(instance=facts), model_params=7e9))["hierarchical"]
    # no baseline: the peak bounds it from above, so 5.25e9 × 8 / 10 Gbps = 4.2 s is still a lower bound;
    # no vCPUs: the inter-Region cap (50 % or 5 Gbps) cannot be chosen and is left out
    assert r["node_gbps"] is None and r["node_gbps_burst"] == 10 and r["inter_region_gbps"] is None
    assert (r["sync_seconds_min"], r["binding_limit"]) == (4.2, "node_bandwidth")
    assert "EC2 reports no baseline bandwidth" in r["advice"] and "the bound uses its peak (10 Gbps)" in r["advice"]
    assert "EC2 reports no vCPU count for g5.xlarge" in r["advice"]
    del item["NetworkInfo"]["NetworkCards"][0]["PeakBandwidthInGbps"]
    r = rows(traffic.plan(two_regions(instance=instances.InstanceFacts.from_ec2(item)), model_params=7e9))
    r = r["hierarchical"]
    assert r["node_gbps_burst"] is None and r["sync_seconds_burst"] is None
    assert r["binding_limit"] == "attachment_bandwidth" and "no burst figure" in r["advice"]


def test_bad_recorded_card_figures_are_refused_before_anything_is_computed(monkeypatch):
    from dataclasses import replace

    monkeypatch.setattr(traffic, "_senders", lambda *a, **k: pytest.fail("computed before checking"))
    spec = make_spec(spokes=2, instance=G5, interface_mode="ena")
    bad = replace(spec, workload=replace(spec.workload, network_card_bandwidth=(NetworkCard(0, -2.5, 10.0),)))
    with pytest.raises(InvalidSpecError) as err:
        traffic.plan(bad, model_params=7e9)
    assert err.value.field == "workload.network_card_bandwidth[0].baseline_gbps" and err.value.value == -2.5


# -- issue 21: properties ------------------------------------------------------------------------------
TYPES = ["g5.xlarge", "g5.12xlarge", "m5.large", "c7i.large", "c5n.18xlarge", "p4d.24xlarge", "p5.48xlarge",
         "p6-b300.48xlarge"]


def any_spec(kind: str, spokes: int, nodes: int, regions: int, mode: str):
    facts = ec2_facts(kind)
    mode = mode if facts.efa_supported else "ena"
    if regions == 1:
        return make_spec(spokes=spokes, nodes_per_spoke=nodes, instance=facts, interface_mode=mode)
    return sized(spokes=None, regions={"us-east-1": spokes - spokes // 2, "us-west-2": spokes // 2},
                 nodes_per_spoke=nodes, instance=facts, interface_mode=mode,
                 region={"us-east-1": US_EAST_1, "us-west-2": US_WEST_2})


def limits_of(r: dict, flow: float = 5) -> dict[str, Fraction]:
    """Each limit's own lower bound, recomputed from the row's figures alone."""
    azs = Fraction(r["attachment_gbps"]) / 100
    bits = Fraction(r["bytes_per_attachment"] * 8)
    out = {"attachment": bits / (Fraction(r["attachment_gbps"]) * 10**9),
           "packets": Fraction(r["packets_per_attachment"]) / (azs * 7_500_000),
           "streams": bits / (r["streams"] * Fraction(flow) * 10**9)}
    if r["node_gbps"] is not None:
        out["node"] = Fraction(r["bytes_per_node"] * 8) / (Fraction(r["node_gbps"]) * 10**9)
    if r["inter_region_gbps"] is not None:
        out["inter_region"] = Fraction(r["bytes_per_node"] * 8) / (Fraction(r["inter_region_gbps"]) * 10**9)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(TYPES), spokes=st.integers(2, 6), nodes=st.integers(1, 24), regions=st.sampled_from([1, 2]),
       mode=st.sampled_from(["efa", "efa-only", "ena"]), params=st.integers(10**6, 10**11))
def test_the_bound_never_beats_any_single_limit(kind, spokes, nodes, regions, mode, params):
    frame = traffic.plan(any_spec(kind, spokes, nodes, regions, mode), model_params=params)
    for r in frame.to_dict("records"):
        for name, seconds in limits_of(r).items():
            # the row's figures are floats of exact fractions: compare within float rounding
            assert r["sync_seconds_min"] >= float(seconds) * (1 - 1e-12), (r["strategy"], name)
        if r["sync_seconds_burst"] is not None:  # burst is never slower than the baseline
            assert r["sync_seconds_burst"] <= r["sync_seconds_min"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(TYPES), spokes=st.integers(2, 5), regions=st.sampled_from([1, 2]),
       mode=st.sampled_from(["efa", "ena"]), params=st.integers(10**6, 10**11))
def test_more_nodes_per_spoke_never_slow_a_hierarchical_sync(kind, spokes, regions, mode, params):
    spec = any_spec(kind, spokes, 4, regions, mode)
    for strategy in ("hierarchical", "hierarchical_leader"):
        times = [traffic.plan(spec, model_params=params, strategies=strategy, nodes_per_spoke=n).iloc[0]
                 for n in (1, 2, 3, 4, 8, 16, 40, 100)]
        baseline = [t["sync_seconds_min"] for t in times]
        burst = [t["sync_seconds_burst"] for t in times]
        assert baseline == sorted(baseline, reverse=True), (strategy, baseline)
        assert burst == sorted(burst, reverse=True), (strategy, burst)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(TYPES), spokes=st.integers(2, 5), nodes=st.integers(1, 16), regions=st.sampled_from([1, 2]),
       params=st.integers(10**6, 10**11))
def test_doubling_the_nodes_bandwidth_never_slows_a_sync(kind, spokes, nodes, regions, params):
    from dataclasses import replace

    spec = any_spec(kind, spokes, nodes, regions, "efa")
    wl = replace(spec.workload, network_performance="")  # no instance-level cap to clip the doubled cards
    doubled = replace(wl, network_card_bandwidth=tuple(
        NetworkCard(c.index, c.baseline_gbps * 2, c.peak_gbps * 2) for c in wl.network_card_bandwidth))
    base = traffic.plan(replace(spec, workload=wl), model_params=params)
    fast = traffic.plan(replace(spec, workload=doubled), model_params=params)
    assert list(fast["node_gbps"]) == [2 * g for g in base["node_gbps"]]
    assert (fast["sync_seconds_min"] <= base["sync_seconds_min"]).all()
    assert (fast["sync_seconds_burst"] <= base["sync_seconds_burst"]).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(TYPES), spokes=st.integers(1, 6), nodes=st.integers(1, 16),
       region=st.sampled_from(["us-east-1", "eu-west-1"]), params=st.integers(10**6, 10**11))
def test_a_network_in_one_region_has_no_inter_region_term(kind, spokes, nodes, region, params):
    facts = ec2_facts(kind)
    spec = make_spec(spokes=spokes, nodes_per_spoke=nodes, instance=facts,
                     interface_mode="efa" if facts.efa_supported else "ena",
                     region=RegionFacts(region, (f"{region}a", f"{region}b")))
    frame = traffic.plan(spec, model_params=params, steps=10)
    assert frame["inter_region_gbps"].isna().all() and (frame["inter_region_gb"] == 0).all()
    crossing = {"inter_region_cap", "peering_attachment"}
    assert not crossing & set(frame["binding_limit"]) and not crossing & set(frame["binding_limit_burst"])
    assert "inter_region_transfer_gb" not in frame.attrs["price_sources"]
