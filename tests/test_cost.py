"""The cost estimate: arithmetic against hand-computed numbers, which line items appear when, price
provenance (source, region, date), and clear errors for bad input. Specs come from sizing.plan."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest

import labnet
from labnet import cost
from labnet.errors import InvalidSpecError
from labnet.preflight import RegionFacts
from labnet.facts.instances import InstanceFacts
from labnet.sizing import plan

P5 = InstanceFacts("p5.48xlarge", network_cards=32, max_interfaces=64, ipv4_per_interface=50,
                   efa_supported=True, max_efa_interfaces=32, accelerators=8, accelerator_name="NVIDIA H100")


def make_spec(spokes: int = 3, public: bool = False, region: str = "us-east-1",
              s3_endpoint: bool = True) -> labnet.NetworkSpec:
    facts = RegionFacts(region, (f"{region}a", f"{region}b"))
    return _no_flow_logs(plan(spokes=spokes, nodes_per_spoke=16, instance=P5, region=facts, azs=2,
                              public_subnets=public, s3_endpoint=s3_endpoint))


def _no_flow_logs(spec):
    """The hand-checked figures below are the network's lines without flow-log delivery (issue 19's
    line is checked in tests/test_security.py)."""
    import dataclasses

    return dataclasses.replace(spec, security=dataclasses.replace(spec.security, flow_logs=False))


def row(frame, item: str) -> dict:
    rows = frame[frame["item"] == item].to_dict("records")
    assert len(rows) == 1, f"expected one {item!r} row, got {len(rows)}"
    return rows[0]


# -- arithmetic, by hand -------------------------------------------------------------------------
def test_three_spokes_default_assumptions_by_hand():
    frame = cost.estimate(make_spec(3))
    assert list(frame.columns) == cost.COLUMNS
    assert list(frame["item"]) == ["Transit Gateway VPC attachment", "Transit Gateway data processed",
                                   "S3 gateway endpoint", "total"]
    att = row(frame, "Transit Gateway VPC attachment")
    # 3 attachments × 730 h = 2,190 attachment-hours × $0.05 = $109.50/month, $0.15/hour
    assert (att["quantity"], att["unit"], att["unit_price_usd"]) == (2190, "attachment-hour", 0.05)
    assert att["per_month_usd"] == 109.5 and att["per_hour_usd"] == 0.15
    data = row(frame, "Transit Gateway data processed")
    # 1,000 GB × $0.02 = $20.00/month; averaged over 730 h
    assert (data["quantity"], data["unit"], data["unit_price_usd"]) == (1000, "GB", 0.02)
    assert data["per_month_usd"] == 20.0
    assert data["per_hour_usd"] == pytest.approx(20 / 730)
    s3 = row(frame, "S3 gateway endpoint")
    assert (s3["quantity"], s3["unit_price_usd"], s3["per_hour_usd"], s3["per_month_usd"]) == (3, 0, 0, 0)
    assert "free" in s3["basis"]
    total = row(frame, "total")
    assert total["per_month_usd"] == 129.5
    assert total["per_hour_usd"] == pytest.approx(0.15 + 20 / 730)
    assert math.isnan(total["quantity"]) and math.isnan(total["unit_price_usd"])


def test_stated_traffic_and_hours_by_hand():
    frame = cost.estimate(make_spec(3), cross_vpc_gb_per_month=2500, hours_per_month=100)
    # 3 × 100 h × $0.05 = $15.00; 2,500 GB × $0.02 = $50.00
    assert row(frame, "Transit Gateway VPC attachment")["per_month_usd"] == 15.0
    assert row(frame, "Transit Gateway data processed")["per_month_usd"] == 50.0
    assert row(frame, "Transit Gateway data processed")["per_hour_usd"] == 0.5
    assert row(frame, "total")["per_month_usd"] == 65.0
    assert "2,500 GB/month" in row(frame, "Transit Gateway data processed")["basis"]
    assert "3 VPC attachment(s)" in row(frame, "Transit Gateway VPC attachment")["basis"]


def test_nat_rows_appear_only_with_public_subnets():
    assert not frame_has_nat(cost.estimate(make_spec(3, public=False)))
    frame = cost.estimate(make_spec(3, public=True), nat_gb_per_month=200)
    nat = row(frame, "NAT gateway")
    # one NAT per spoke: 3 × 730 h = 2,190 h × $0.045 = $98.55/month, $0.135/hour
    assert (nat["quantity"], nat["unit_price_usd"], nat["per_month_usd"]) == (2190, 0.045, 98.55)
    assert nat["per_hour_usd"] == 0.135
    nat_data = row(frame, "NAT gateway data processed")
    assert (nat_data["quantity"], nat_data["per_month_usd"]) == (200, 9.0)  # 200 GB × $0.045
    # 109.50 + 20.00 + 98.55 + 9.00 + 0
    assert row(frame, "total")["per_month_usd"] == 237.05


def frame_has_nat(frame) -> bool:
    return frame["item"].str.contains("NAT").any()


def test_no_endpoint_row_without_the_endpoint():
    frame = cost.estimate(make_spec(2, s3_endpoint=False))
    assert "S3 gateway endpoint" not in set(frame["item"])


def test_region_prices_differ_where_aws_says_they_do():
    frame = cost.estimate(make_spec(2, public=True, region="eu-west-1"), nat_gb_per_month=0)
    assert row(frame, "Transit Gateway VPC attachment")["unit_price_usd"] == 0.05
    assert row(frame, "NAT gateway")["unit_price_usd"] == 0.048
    assert frame.attrs["region"] == "eu-west-1"


# -- provenance ----------------------------------------------------------------------------------
def test_table_says_which_prices_it_used():
    frame = cost.estimate(make_spec(3, public=True))
    attrs = frame.attrs
    assert attrs["price_set"] == "aws-public-list-prices"
    assert attrs["region"] == "us-east-1" and attrs["currency"] == "USD"
    assert attrs["as_of"] == json.loads(cost.PRICES_FILE.read_text())["as_of"]
    assert all(url.startswith("https://") for url in attrs["sources"])
    assert "Verify before budgeting" in attrs["note"]
    for r in frame.to_dict("records")[:-1]:
        assert r["source"].startswith("https://") and f"(us-east-1, as of {attrs['as_of']})" in r["source"]
    total = row(frame, "total")
    assert "verify before budgeting" in total["source"] and attrs["as_of"] in total["source"]
    assert "EC2 instances" in total["basis"]  # says what the estimate leaves out


def test_shipped_price_data_is_complete_and_sourced():
    data = json.loads(cost.PRICES_FILE.read_text())
    prices = cost.load_prices()
    assert set(prices.regions) >= {"us-east-1", "us-west-2", "eu-west-1"}
    per_pair = set(data.get("region_pairs", {}))  # priced per (from, to) region pair, not per region
    for region, table in data["regions"].items():
        assert set(table) == set(data["items"]) - per_pair, region
        assert table["tgw_attachment_hour"] == 0.05 and table["tgw_data_processed_gb"] == 0.02
        assert table["s3_gateway_endpoint"] == 0
    for info in data["items"].values():
        assert info["source"].startswith("https://") and info["unit"] and info["label"]
    assert data["as_of"] and data["recorded"]
    assert prices.regions["us-east-1"]["nat_gateway_hour"] == Decimal("0.045")


def test_own_prices_for_a_region_labnet_does_not_list(tmp_path):
    data = json.loads(cost.PRICES_FILE.read_text())
    data["name"] = "team-negotiated"
    data["regions"] = {"ap-south-1": dict(data["regions"]["us-east-1"], tgw_attachment_hour=0.07)}
    frame = cost.estimate(make_spec(2, region="ap-south-1"), prices=data)
    assert row(frame, "Transit Gateway VPC attachment")["per_month_usd"] == pytest.approx(2 * 730 * 0.07)
    assert frame.attrs["price_set"] == "team-negotiated"
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(data))
    assert cost.estimate(make_spec(2, region="ap-south-1"), prices=str(path)).equals(frame)


# -- bad input -----------------------------------------------------------------------------------
def test_region_without_prices_is_a_clear_error():
    with pytest.raises(InvalidSpecError) as err:
        cost.estimate(make_spec(2, region="ap-south-1"))
    assert err.value.field == "region" and err.value.value == "ap-south-1"
    assert "us-east-1" in err.value.rule and "prices=" in err.value.fix


@pytest.mark.parametrize("field,value", [
    ("cross_vpc_gb_per_month", -1), ("cross_vpc_gb_per_month", "1000"), ("cross_vpc_gb_per_month", None),
    ("cross_vpc_gb_per_month", float("nan")), ("cross_vpc_gb_per_month", float("inf")),
    ("cross_vpc_gb_per_month", True),
    ("hours_per_month", -5), ("hours_per_month", 0), ("hours_per_month", 745), ("hours_per_month", "730"),
    ("nat_gb_per_month", -0.5), ("nat_gb_per_month", [100]),
])
def test_bad_amounts_are_refused(field, value):
    with pytest.raises(InvalidSpecError) as err:
        cost.estimate(make_spec(2, public=True), **{field: value})
    assert err.value.field == field
    assert err.value.fix  # says what to type instead


def test_numpy_numbers_are_numbers():
    np = pytest.importorskip("numpy")
    frame = cost.estimate(make_spec(3), cross_vpc_gb_per_month=np.float64(1000), hours_per_month=np.int64(730))
    assert row(frame, "total")["per_month_usd"] == 129.5


def test_rejects_what_is_not_a_spec():
    with pytest.raises(InvalidSpecError) as err:
        cost.estimate(make_spec(2).to_dict())
    assert err.value.field == "spec"


@pytest.mark.parametrize("mutate,field", [
    (lambda d: d.pop("regions"), "prices"),
    (lambda d: d["items"]["tgw_attachment_hour"].pop("source"), "prices.items.tgw_attachment_hour"),
    (lambda d: d["regions"]["us-east-1"].update(tgw_attachment_hour=-0.05),
     "prices.regions.us-east-1.tgw_attachment_hour"),
    (lambda d: d["regions"]["us-east-1"].pop("tgw_data_processed_gb"),
     "prices.regions.us-east-1.tgw_data_processed_gb"),
    (lambda d: d.update(as_of=""), "prices.as_of"),
])
def test_malformed_price_data_is_a_clear_error(mutate, field):
    data = json.loads(cost.PRICES_FILE.read_text())
    mutate(data)
    with pytest.raises(InvalidSpecError) as err:
        cost.estimate(make_spec(2), prices=data)
    assert err.value.field == field


def test_unreadable_price_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "prices.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidSpecError) as err:
        cost.estimate(make_spec(2), prices=bad)
    assert err.value.field == "prices"


# -- across regions ------------------------------------------------------------------------------
def make_regions_spec(counts: dict, public: bool = False) -> labnet.NetworkSpec:
    facts = {r: RegionFacts(r, (f"{r}a", f"{r}b")) for r in counts}
    return _no_flow_logs(plan(regions=counts, nodes_per_spoke=16, instance=P5, region=facts, azs=1,
                              public_subnets=public))


def rows_of(frame, item: str) -> dict:
    """The rows of one item, by region."""
    got = frame[frame["item"] == item].to_dict("records")
    out = {r["region"]: r for r in got}
    assert len(out) == len(got), f"{item!r} has two rows in one region"
    return out


def test_single_region_rows_say_their_region():
    # The one deliberate change to a one-region estimate: a region column (every row, the spec's region).
    frame = cost.estimate(make_spec(3, region="eu-west-1"))
    assert list(frame.columns) == cost.COLUMNS and "region" in cost.COLUMNS
    assert set(frame["region"]) == {"eu-west-1"}
    assert not frame["item"].str.contains("peering|Inter-Region").any()


def test_two_regions_by_hand():
    spec = make_regions_spec({"us-east-1": 2, "us-west-2": 2})
    frame = cost.estimate(spec)
    vpc = rows_of(frame, "Transit Gateway VPC attachment")
    # 2 attachments × 730 h = 1,460 attachment-hours × $0.05 = $73.00 in each region
    assert {r: (v["quantity"], v["per_month_usd"], v["per_hour_usd"]) for r, v in vpc.items()} == \
        {"us-east-1": (1460, 73.0, 0.1), "us-west-2": (1460, 73.0, 0.1)}
    peering = rows_of(frame, "Transit Gateway peering attachment")
    # one peering, billed on both TGWs: 1 × 730 h × $0.05 = $36.50 per side, $73.00 in all
    assert {r: (v["quantity"], v["unit"], v["unit_price_usd"], v["per_month_usd"]) for r, v in peering.items()} == \
        {"us-east-1": (730, "attachment-hour", 0.05, 36.5), "us-west-2": (730, "attachment-hour", 0.05, 36.5)}
    assert "billed on both TGWs" in peering["us-east-1"]["basis"]
    data = rows_of(frame, "Transit Gateway data processed")
    # each region's 2 of 4 spokes send half of the 1,000 GB: 500 GB × $0.02 = $10.00, billed once
    assert {r: (v["quantity"], v["per_month_usd"]) for r, v in data.items()} == \
        {"us-east-1": (500, 10.0), "us-west-2": (500, 10.0)}
    east = row(frame, "Inter-Region data transfer (TGW peering) to us-west-2")
    west = row(frame, "Inter-Region data transfer (TGW peering) to us-east-1")
    # equal traffic between the 4 × 3 ordered spoke pairs: 2 × 2 / 12 = 1/3 of 1,000 GB each way,
    # at the (from, to) pair's price $0.02: $6.67 each way
    assert (east["region"], west["region"]) == ("us-east-1", "us-west-2")
    assert east["quantity"] == pytest.approx(1000 / 3) and east["unit_price_usd"] == 0.02
    assert round(east["per_month_usd"], 2) == 6.67 and round(west["per_month_usd"], 2) == 6.67
    assert "2 × 2 / (4 × 3) of 1,000 GB" in east["basis"] and "billed to the sending region" in east["basis"]
    s3 = rows_of(frame, "S3 gateway endpoint")
    assert {r: v["per_month_usd"] for r, v in s3.items()} == {"us-east-1": 0, "us-west-2": 0}
    # 73 + 73 + 36.50 + 36.50 + 10 + 10 + 20/3 + 20/3 = 252.33
    total = row(frame, "total")
    assert round(total["per_month_usd"], 2) == 252.33
    assert total["region"] == "us-east-1, us-west-2"
    assert frame.attrs["regions"] == ["us-east-1", "us-west-2"]
    assert frame.attrs["assumptions"]["inter_region_gb_derived"] is True
    assert frame.attrs["assumptions"]["inter_region_gb_per_month"] == pytest.approx(2000 / 3)
    assert "both transit gateways" in frame.attrs["item_notes"]["tgw_peering_attachment_hour"]


def test_three_uneven_regions_by_hand_with_region_prices():
    spec = make_regions_spec({"us-east-1": 2, "us-east-2": 1, "eu-west-1": 1}, public=True)
    frame = cost.estimate(spec, cross_vpc_gb_per_month=1200, hours_per_month=100, nat_gb_per_month=400)
    peering = rows_of(frame, "Transit Gateway peering attachment")
    # a full mesh of 3 TGWs: every TGW holds 2 peering attachments: 2 × 100 h × $0.05 = $10.00 each
    assert {r: v["per_month_usd"] for r, v in peering.items()} == \
        {"us-east-1": 10.0, "us-east-2": 10.0, "eu-west-1": 10.0}
    pair = {(r["region"], r["item"].rsplit(" ", 1)[-1]): r for r in frame.to_dict("records")
            if r["item"].startswith("Inter-Region")}
    # 4 spokes, 12 ordered pairs; from us-east-1 (2 spokes) to us-east-2 (1 spoke): 2 × 1 / 12 of
    # 1,200 GB = 200 GB at $0.01 (the cheaper Ohio pair) = $2.00; us-east-2 → eu-west-1: 1 × 1 / 12 =
    # 100 GB at $0.02 = $2.00
    assert pair[("us-east-1", "us-east-2")]["quantity"] == 200
    assert pair[("us-east-1", "us-east-2")]["per_month_usd"] == 2.0
    assert pair[("us-east-2", "us-east-1")]["unit_price_usd"] == 0.01
    assert pair[("us-east-2", "eu-west-1")]["quantity"] == 100
    assert pair[("us-east-2", "eu-west-1")]["per_month_usd"] == 2.0
    assert len(pair) == 6
    # crossing: (2+2+2+1+2+1)/12 = 10/12 of 1,200 = 1,000 GB: 200+200+200+100+200+100
    assert sum(r["quantity"] for r in pair.values()) == 1000
    # NAT per region at its own price: eu-west-1 $0.048/h; 400 GB split by spokes: 100 GB there at $0.048
    nat = rows_of(frame, "NAT gateway")
    assert nat["eu-west-1"]["per_month_usd"] == pytest.approx(4.8) and nat["us-east-1"]["quantity"] == 200
    assert rows_of(frame, "NAT gateway data processed")["eu-west-1"]["per_month_usd"] == pytest.approx(4.8)
    data = rows_of(frame, "Transit Gateway data processed")
    assert {r: v["quantity"] for r, v in data.items()} == {"us-east-1": 600, "us-east-2": 300, "eu-west-1": 300}
    # by hand: VPC attachments 4 × 100 × 0.05 = 20; peering 30; data 1,200 × 0.02 = 24;
    # inter-Region 200×0.01 + 200×0.02 + 200×0.01 + 100×0.02 + 200×0.02 + 100×0.02 = 16;
    # NAT 2×100×0.045 + 100×0.045 + 100×0.048 = 18.3; NAT data 200×0.045 + 100×0.045 + 100×0.048 = 18.3
    assert row(frame, "total")["per_month_usd"] == pytest.approx(126.6)


def test_stated_inter_region_traffic_as_a_total_or_per_direction():
    spec = make_regions_spec({"us-east-1": 2, "us-west-2": 2})
    total = cost.estimate(spec, inter_region_gb_per_month=300)
    east = row(total, "Inter-Region data transfer (TGW peering) to us-west-2")
    assert east["quantity"] == 150 and east["per_month_usd"] == 3.0  # 300 GB split evenly: 150 × $0.02
    assert "as given" in east["basis"]
    given = cost.estimate(spec, inter_region_gb_per_month={("us-east-1", "us-west-2"): 250})
    assert row(given, "Inter-Region data transfer (TGW peering) to us-west-2")["per_month_usd"] == 5.0
    assert row(given, "Inter-Region data transfer (TGW peering) to us-east-1")["quantity"] == 0
    none = cost.estimate(spec, inter_region_gb_per_month=0)
    assert none[none["item"].str.startswith("Inter-Region")]["per_month_usd"].sum() == 0


@pytest.mark.parametrize("value,rule", [
    (-1, "0 or more"), ("300", "0 or more"), (2000, "at most cross_vpc_gb_per_month"),
    ({("us-east-1", "eu-west-1"): 10}, "pairs of two different regions"),
    ({"us-east-1->us-west-2": 10}, "pairs of two different regions"),
    ({("us-east-1", "us-west-2"): -3}, "0 or more"),
])
def test_bad_inter_region_traffic_is_refused(value, rule):
    spec = make_regions_spec({"us-east-1": 2, "us-west-2": 2})
    with pytest.raises(InvalidSpecError) as err:
        cost.estimate(spec, inter_region_gb_per_month=value)
    assert err.value.field.startswith("inter_region_gb_per_month") and rule in err.value.rule


def test_inter_region_traffic_in_one_region_is_refused():
    assert cost.estimate(make_spec(2), inter_region_gb_per_month=0).equals(cost.estimate(make_spec(2)))
    with pytest.raises(InvalidSpecError) as err:
        cost.estimate(make_spec(2), inter_region_gb_per_month=100)
    assert "one region" in err.value.rule


def test_a_region_pair_without_a_price_is_a_clear_error():
    data = json.loads(cost.PRICES_FILE.read_text())
    del data["region_pairs"]["inter_region_transfer_gb"]["us-west-2"]["us-east-1"]
    with pytest.raises(InvalidSpecError) as err:
        cost.estimate(make_regions_spec({"us-east-1": 1, "us-west-2": 1}), prices=data)
    assert err.value.field == "prices.region_pairs.inter_region_transfer_gb.us-west-2.us-east-1"


def test_inter_region_price_has_one_source_with_the_traffic_planner():
    """labnet.traffic and labnet.cost read the same (from, to) price: change it in the price data and
    both follow; for the same GB they charge the same."""
    from labnet import traffic

    spec = make_regions_spec({"us-east-1": 2, "us-west-2": 2})
    data = json.loads(cost.PRICES_FILE.read_text())
    pairs = data["region_pairs"]["inter_region_transfer_gb"]
    pairs["us-east-1"]["us-west-2"] = pairs["us-west-2"]["us-east-1"] = 0.05
    run = traffic.plan(spec, model_params=1e9, steps=1000, strategies="hierarchical", prices=data).iloc[0]
    frame = cost.estimate(spec, cross_vpc_gb_per_month=run.gb_processed,
                          inter_region_gb_per_month=run.inter_region_gb, prices=data)
    crossing = frame[frame["item"].str.startswith("Inter-Region")]
    assert set(crossing["unit_price_usd"]) == {0.05}
    assert crossing["per_month_usd"].sum() == pytest.approx(run.inter_region_usd)
    assert rows_of(frame, "Transit Gateway data processed")["us-east-1"]["per_month_usd"] + \
        rows_of(frame, "Transit Gateway data processed")["us-west-2"]["per_month_usd"] == \
        pytest.approx(run.data_processing_usd)
