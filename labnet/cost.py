"""What the network itself costs, per hour and per month, as a table a data scientist can check.

One row per line item, each with its quantity, unit, unit price and the page the price came from:

- Transit Gateway attachment-hours: one VPC attachment per spoke, billed every hour it exists.
- Transit Gateway data processed: the stated GB of cross-VPC traffic per month. AWS bills each GB
  once, where it is sent into the TGW from a VPC attachment.
- NAT gateway hours and NAT data processed, when the spec has public subnets (one NAT per spoke).
- S3 gateway endpoints: free, shown at 0 so the table says so.
- A total row.

Prices are data, never constants in code: ``labnet/prices.json`` holds them per region with their
source pages and the date they are as of; pass ``prices=`` for your own (a dict or JSON file of the
same shape). The table's rows name the region and date used, and ``frame.attrs`` carries the whole
provenance. Instances, EBS, cross-AZ and internet data transfer are not part of the estimate.

    >>> labnet.cost.estimate(spec, cross_vpc_gb_per_month=5000)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from . import sourced
from .errors import InvalidSpecError
from .spec import NetworkSpec

if TYPE_CHECKING:  # typing only: pandas loads when an estimate is made
    import pandas as pd

PRICES_FILE = Path(__file__).with_name("prices.json")
COLUMNS = ["item", "quantity", "unit", "unit_price_usd", "per_hour_usd", "per_month_usd", "basis", "source"]
MAX_HOURS_PER_MONTH = 744  # 31 days; 730 (8,760 h / 12) is the average month AWS's examples use
NOT_INCLUDED = ("EC2 instances, EBS, cross-AZ and internet data transfer, S3 storage and requests")


@dataclass(frozen=True)
class PriceSet:
    """A set of list prices: per region, per item, with the source page of each item and the date
    the prices are as of. Amounts are :class:`~decimal.Decimal` so hand-checkable sums come out exact."""

    name: str
    currency: str
    as_of: str
    recorded: str
    note: str
    items: Mapping[str, Mapping[str, str]]  # item key -> label, unit, source
    regions: Mapping[str, Mapping[str, Decimal]]  # region -> item key -> price per unit
    # item key -> sending region -> receiving region -> price per unit, for prices that depend on
    # both ends (inter-Region data transfer).
    region_pairs: Mapping[str, Mapping[str, Mapping[str, Decimal]]] = field(default_factory=dict)

    def price(self, region: str, item: str) -> Decimal:
        """The price of one unit of ``item`` in ``region``; a clear error if the set lacks it."""
        if region not in self.regions:
            raise InvalidSpecError("region", region, f"the price set {self.name!r} has no prices for this region "
                                   f"(it has {', '.join(sorted(self.regions))})",
                                   "pass prices= with that region's prices (same shape as labnet/prices.json), "
                                   "or estimate a listed region and say so")
        if item not in self.regions[region] or item not in self.items:
            raise InvalidSpecError(f"prices.regions.{region}.{item}", None,
                                   f"the price set {self.name!r} has no price and source for this item",
                                   "add it to the price data")
        return self.regions[region][item]

    def pair_price(self, item: str, source: str, destination: str) -> Decimal:
        """The price of one unit of ``item`` sent from ``source`` to ``destination`` (another region)."""
        table = self.region_pairs.get(item, {})
        if item not in self.items or destination not in table.get(source, {}):
            raise InvalidSpecError(f"prices.region_pairs.{item}.{source}.{destination}", None,
                                   f"the price set {self.name!r} has no price for traffic from {source} to "
                                   f"{destination}", "pass prices= with that pair's price (same shape as "
                                   "labnet/prices.json)")
        return table[source][destination]


def load_prices(source: PriceSet | Mapping[str, Any] | str | Path | None = None) -> PriceSet:
    """The price set to estimate with: labnet's own (``None``), a JSON file, or a dict of the same
    shape as ``labnet/prices.json`` (``name``, ``currency``, ``as_of``, ``items``, ``regions``, and
    optionally ``region_pairs``)."""
    if isinstance(source, PriceSet):
        return source
    return _parse_prices(sourced.read(source, PRICES_FILE, "prices"))


def estimate(spec: NetworkSpec, cross_vpc_gb_per_month: float = 1000.0, hours_per_month: float = 730.0,
             prices: PriceSet | Mapping[str, Any] | str | Path | None = None, *,
             nat_gb_per_month: float = 100.0) -> "pd.DataFrame":
    """Estimate the network's own cost: one row per line item plus a total, in USD.

    ``cross_vpc_gb_per_month`` is the traffic between spokes (through the TGW); ``hours_per_month``
    how long the network stays up (730 is an average month); ``nat_gb_per_month`` the traffic through
    NAT gateways (used only when the spec has public subnets; S3 traffic takes the free gateway
    endpoint instead). ``prices`` defaults to labnet's price data for the spec's region.

    Every row shows quantity × unit price, so the arithmetic can be checked by hand; the ``source``
    column and ``frame.attrs`` say which price set, region and date were used.

    >>> estimate(spec, cross_vpc_gb_per_month=5000, hours_per_month=24 * 7)
    """
    import pandas as pd

    if not isinstance(spec, NetworkSpec):
        raise InvalidSpecError("spec", type(spec).__name__, "must be a NetworkSpec", "pass labnet.size(...)")
    gb = _amount("cross_vpc_gb_per_month", cross_vpc_gb_per_month, "GB of traffic between spokes per month, "
                 "for example 1000")
    hours = _amount("hours_per_month", hours_per_month, "730 is an average month (8,760 hours / 12)")
    if not 0 < hours <= MAX_HOURS_PER_MONTH:
        raise InvalidSpecError("hours_per_month", hours_per_month,
                               f"must be more than 0 and at most {MAX_HOURS_PER_MONTH} (a 31-day month)",
                               "730 is an average month (8,760 hours / 12)")
    nat_gb = _amount("nat_gb_per_month", nat_gb_per_month, "GB through NAT per month, for example 100")
    price_set = load_prices(prices)
    if price_set.currency != "USD":
        raise InvalidSpecError("prices.currency", price_set.currency, "the estimate is in USD",
                               "use a price set in USD")
    region = spec.region
    spokes = Decimal(len(spec.spokes))
    rows: list[dict[str, Any]] = []

    def line(key: str, quantity: Decimal, hourly_quantity: Decimal | None, basis: str) -> None:
        unit_price = price_set.price(region, key)
        info = price_set.items[key]
        per_month = quantity * unit_price
        rows.append({
            "item": info["label"], "quantity": quantity, "unit": info["unit"], "unit_price_usd": unit_price,
            # Traffic is billed per GB, not per hour: its hourly figure is the month's average.
            "per_hour_usd": per_month / hours if hourly_quantity is None else hourly_quantity * unit_price,
            "per_month_usd": per_month, "basis": basis,
            "source": f"{info['source']} ({region}, as of {price_set.as_of})",
        })

    line("tgw_attachment_hour", spokes * hours, spokes,
         f"{_n(spokes)} VPC attachment(s), one per spoke, × {_n(hours)} h")
    line("tgw_data_processed_gb", gb, None,
         f"{_n(gb)} GB/month between spokes, billed once where it enters the TGW; per hour is the monthly average")
    if spec.public_subnets:
        line("nat_gateway_hour", spokes * hours, spokes,
             f"{_n(spokes)} NAT gateway(s), one per spoke, × {_n(hours)} h")
        line("nat_data_processed_gb", nat_gb, None,
             f"{_n(nat_gb)} GB/month through NAT (internet data transfer out is billed separately); "
             "per hour is the monthly average")
    if spec.s3_endpoint:
        line("s3_gateway_endpoint", spokes, Decimal(0),
             f"{_n(spokes)} gateway endpoint(s), free: S3 traffic skips NAT and the TGW")
    rows.append({
        "item": "total", "quantity": None, "unit": "", "unit_price_usd": None,
        "per_hour_usd": sum((r["per_hour_usd"] for r in rows), Decimal(0)),
        "per_month_usd": sum((r["per_month_usd"] for r in rows), Decimal(0)),
        "basis": f"the network only; not included: {NOT_INCLUDED}",
        "source": f"price set {price_set.name!r}, {region}, as of {price_set.as_of}: verify before budgeting",
    })
    # Sums are exact in Decimal; the table holds floats so it behaves like any numeric frame.
    for r in rows:
        for col in ("quantity", "unit_price_usd", "per_hour_usd", "per_month_usd"):
            r[col] = math.nan if r[col] is None else float(r[col])
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame.attrs = {
        "price_set": price_set.name, "region": region, "currency": price_set.currency,
        "as_of": price_set.as_of, "recorded": price_set.recorded, "note": price_set.note,
        "sources": sorted({price_set.items[k]["source"] for k in price_set.items}),
        "assumptions": {"spokes": len(spec.spokes), "cross_vpc_gb_per_month": float(gb),
                        "hours_per_month": float(hours), "nat_gb_per_month": float(nat_gb),
                        "public_subnets": spec.public_subnets, "s3_endpoint": spec.s3_endpoint},
        "not_included": NOT_INCLUDED,
    }
    return frame


# -- helpers -------------------------------------------------------------------------------------
def _amount(field: str, value: object, fix: str) -> Decimal:
    """A non-negative, finite number as an exact Decimal of what the caller typed."""
    return sourced.number(field, value, "must be a number that is 0 or more", fix)


def _n(value: Decimal) -> str:
    """A quantity as a person writes it: 730, 1,000, 2.5."""
    return f"{value.normalize():,f}"


def _parse_prices(data: Mapping[str, Any]) -> PriceSet:
    def text(key: str, required: bool = True) -> str:
        return sourced.text(data, key, "prices", required, "see labnet/prices.json for the shape")

    def price(where: str, value: object) -> Decimal:
        return sourced.number(where, value, "must be a price of 0 or more")

    items = data.get("items")
    regions = data.get("regions")
    if not isinstance(items, Mapping) or not isinstance(regions, Mapping) or not regions:
        raise InvalidSpecError("prices", sorted(data) if isinstance(data, Mapping) else data,
                               "needs 'items' (label, unit, source per item) and 'regions' (prices per region)",
                               "see labnet/prices.json for the shape")
    parsed_items: dict[str, dict[str, str]] = {}
    for key, info in items.items():
        if not isinstance(info, Mapping) or not all(isinstance(info.get(f), str) and info.get(f)
                                                    for f in ("label", "unit", "source")):
            raise InvalidSpecError(f"prices.items.{key}", info, "needs a label, a unit and a source",
                                   "a price without its source cannot be checked")
        parsed_items[key] = {f: info[f] for f in ("label", "unit", "source")}
    parsed_regions: dict[str, dict[str, Decimal]] = {}
    for region, table in regions.items():
        if not isinstance(table, Mapping):
            raise InvalidSpecError(f"prices.regions.{region}", table, "must map items to prices", "")
        parsed_regions[region] = {key: price(f"prices.regions.{region}.{key}", value)
                                  for key, value in table.items()}
    pairs = data.get("region_pairs", {})
    if not isinstance(pairs, Mapping):
        raise InvalidSpecError("prices.region_pairs", pairs, "must map items to {from: {to: price}}", "")
    parsed_pairs: dict[str, dict[str, dict[str, Decimal]]] = {}
    for key, by_source in pairs.items():
        where = f"prices.region_pairs.{key}"
        if key not in parsed_items:
            raise InvalidSpecError(where, None, "has no entry in 'items' (label, unit, source)",
                                   "a price without its source cannot be checked")
        if not isinstance(by_source, Mapping) or not all(isinstance(t, Mapping) for t in by_source.values()):
            raise InvalidSpecError(where, by_source, "must map sending regions to {receiving region: price}", "")
        parsed_pairs[key] = {src: {dst: price(f"{where}.{src}.{dst}", value) for dst, value in table.items()}
                             for src, table in by_source.items()}
    return PriceSet(name=text("name"), currency=text("currency"), as_of=text("as_of"),
                    recorded=text("recorded", required=False), note=text("note", required=False),
                    items=parsed_items, regions=parsed_regions, region_pairs=parsed_pairs)
