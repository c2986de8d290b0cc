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
from labnet.sizing import InstanceFacts, plan

P5 = InstanceFacts("p5.48xlarge", network_cards=32, max_interfaces=64, ipv4_per_interface=50,
                   efa_supported=True, max_efa_interfaces=32, accelerators=8, accelerator_name="NVIDIA H100")


def make_spec(spokes: int = 3, public: bool = False, region: str = "us-east-1",
              s3_endpoint: bool = True) -> labnet.NetworkSpec:
    facts = RegionFacts(region, (f"{region}a", f"{region}b"))
    return plan(spokes=spokes, nodes_per_spoke=16, instance=P5, region=facts, azs=2,
                public_subnets=public, s3_endpoint=s3_endpoint)


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
