"""What the network itself costs, per hour and per month, as a table a data scientist can check.

One row per line item, each with its quantity, unit, unit price and the page the price came from:

- Transit Gateway attachment-hours: one VPC attachment per spoke, billed every hour it exists.
- Transit Gateway data processed: the stated GB of cross-VPC traffic per month. AWS bills each GB
  once, where it is sent into the TGW from a VPC attachment.
- NAT gateway hours and NAT data processed, when the spec has public subnets (one NAT per spoke).
- S3 gateway endpoints: free, shown at 0 so the table says so.
- Flow-log delivery (issue 19), when the spec's flow logs are on: the stated GB of flow-log records
  per month (``flow_log_gb_per_month``), billed as CloudWatch vended logs per GB delivered, to S3
  (labnet's bucket or yours) or to CloudWatch Logs at that destination's price, in the Region of
  the VPCs and TGWs that log (split by spokes across Regions). Storage of the logs is not included.
- Across regions (a network with spokes in several regions, one TGW per region): every line above
  per region at that region's prices (each spoke's share of the traffic is billed where it is sent);
  Transit Gateway peering attachment-hours, one peering per pair of regions, billed on each TGW it
  connects (so twice per peering: once per side); and inter-Region data transfer per (from, to) pair
  of regions, billed to the sending region. Data processing is not charged again where traffic
  leaves a TGW over a peering attachment.
- A total row.

The GB that cross regions (``inter_region_gb_per_month``) default to the share of the traffic between
spokes that runs between spokes in different regions when every ordered pair of spokes exchanges the
same amount: with ``N`` spokes, ``n_a`` in region ``a`` and ``n_b`` in ``b``, the traffic from ``a``
to ``b`` is ``n_a × n_b / (N × (N − 1))`` of ``cross_vpc_gb_per_month`` (2 regions × 2 spokes: 1/3
each way, 2/3 in all). A ring all-reduce that orders ranks by region crosses much less
(``labnet.traffic.plan`` says how much: pass its ``inter_region_gb`` as a number, or a
``{(from, to): GB}`` mapping for each direction).

Prices are data, never constants in code: ``labnet/analysis/prices.json`` holds them per region with their
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

from .. import sourced
from ..errors import InvalidSpecError
from ..spec import NetworkSpec

if TYPE_CHECKING:  # typing only: pandas loads when an estimate is made
    import pandas as pd

PRICES_FILE = Path(__file__).with_name("prices.json")
# ``region``: where the line item is billed (the sending region for inter-Region data transfer).
COLUMNS = ["item", "region", "quantity", "unit", "unit_price_usd", "per_hour_usd", "per_month_usd", "basis", "source"]
MAX_HOURS_PER_MONTH = 744  # 31 days; 730 (8,760 h / 12) is the average month AWS's examples use
NOT_INCLUDED = ("EC2 instances, EBS, cross-AZ and internet data transfer, S3 storage and requests (the flow logs' "
                "storage included)")


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
                                   "pass prices= with that region's prices (same shape as labnet/analysis/prices.json), "
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
                                   "labnet/analysis/prices.json)")
        return table[source][destination]


def load_prices(source: PriceSet | Mapping[str, Any] | str | Path | None = None) -> PriceSet:
    """The price set to estimate with: labnet's own (``None``), a JSON file, or a dict of the same
    shape as ``labnet/analysis/prices.json`` (``name``, ``currency``, ``as_of``, ``items``, ``regions``, and
    optionally ``region_pairs``)."""
    if isinstance(source, PriceSet):
        return source
    return _parse_prices(sourced.read(source, PRICES_FILE, "prices"))


def estimate(spec: NetworkSpec, cross_vpc_gb_per_month: float = 1000.0, hours_per_month: float = 730.0,
             prices: PriceSet | Mapping[str, Any] | str | Path | None = None, *,
             nat_gb_per_month: float = 100.0, flow_log_gb_per_month: float = 10.0,
             inter_region_gb_per_month: float | Mapping[tuple[str, str], float] | None = None) -> "pd.DataFrame":
    """Estimate the network's own cost: one row per line item plus a total, in USD.

    ``cross_vpc_gb_per_month`` is the traffic between spokes (through the TGW); ``hours_per_month``
    how long the network stays up (730 is an average month); ``nat_gb_per_month`` the traffic through
    NAT gateways (used only when the spec has public subnets; S3 traffic takes the free gateway
    endpoint instead); ``flow_log_gb_per_month`` the flow-log records the network's VPCs and TGWs
    deliver (used only when the spec's flow logs are on). ``prices`` defaults to labnet's price data for the spec's regions.

    Across regions, ``inter_region_gb_per_month`` is the part of ``cross_vpc_gb_per_month`` that runs
    between spokes in different regions: ``None`` derives it (spokes exchanging equal traffic, see the
    module docstring), a number is split over the ordered region pairs in that same proportion, and a
    ``{(from_region, to_region): GB}`` mapping gives each direction.

    Every row shows quantity × unit price, so the arithmetic can be checked by hand; the ``region``
    column says where it is billed, and the ``source`` column and ``frame.attrs`` say which price set,
    region and date were used.

    >>> estimate(spec, cross_vpc_gb_per_month=5000, hours_per_month=24 * 7)
    >>> estimate(two_region_spec, inter_region_gb_per_month={("us-east-1", "us-west-2"): 300})
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
    log_gb = _amount("flow_log_gb_per_month", flow_log_gb_per_month,
                     "GB of flow-log records per month, for example 10")
    regions = list(spec.regions)
    spokes_in = {r: Decimal(len(spec.spokes_in(r))) for r in regions}
    crossing, derived = _inter_region(spec, gb, inter_region_gb_per_month)
    price_set = load_prices(prices)
    if price_set.currency != "USD":
        raise InvalidSpecError("prices.currency", price_set.currency, "the estimate is in USD",
                               "use a price set in USD")
    many = len(regions) > 1
    total_spokes = Decimal(len(spec.spokes))
    rows: list[dict[str, Any]] = []

    def line(key: str, region: str, quantity: Decimal, hourly_quantity: Decimal | None, basis: str,
             unit_price: Decimal | None = None, item: str | None = None) -> None:
        unit_price = price_set.price(region, key) if unit_price is None else unit_price
        info = price_set.items[key]
        per_month = quantity * unit_price
        rows.append({
            "item": item or info["label"], "region": region, "quantity": quantity, "unit": info["unit"],
            "unit_price_usd": unit_price,
            # Traffic is billed per GB, not per hour: its hourly figure is the month's average.
            "per_hour_usd": per_month / hours if hourly_quantity is None else hourly_quantity * unit_price,
            "per_month_usd": per_month, "basis": basis,
            "source": f"{info['source']} ({region}, as of {price_set.as_of})",
        })

    def here(r: str) -> str:
        return f" in {r}" if many else ""

    # Existing VPCs are spokes like any (labnet attaches them), but labnet puts no NAT gateway or
    # endpoint in a VPC it does not own.
    owned_in = {r: Decimal(len([sp for sp in spec.spokes_in(r) if sp.existing is None])) for r in regions}
    for r in regions:
        n = spokes_in[r]
        old = n - owned_in[r]
        line("tgw_attachment_hour", r, n * hours, n,
             f"{_n(n)} VPC attachment(s), one per spoke{here(r)}"
             + (f" ({_n(old)} of them to existing VPCs)" if old else "") + f", × {_n(hours)} h")
    if many:
        for r in regions:
            peers = [o for o in regions if o != r]
            k = Decimal(len(peers))
            line("tgw_peering_attachment_hour", r, k * hours, k,
                 f"{_n(k)} peering attachment(s) on the {r} TGW (to {', '.join(peers)}) × {_n(hours)} h; "
                 "a peering is billed on both TGWs it connects, as an attachment of each")
    for r in regions:
        if not many:
            line("tgw_data_processed_gb", r, gb, None,
                 f"{_n(gb)} GB/month between spokes, billed once where it enters the TGW; per hour is the "
                 "monthly average")
            continue
        n = spokes_in[r]
        sent = gb * n / total_spokes
        line("tgw_data_processed_gb", r, sent, None,
             f"{_q(sent)} GB/month sent by the {_n(n)} spoke(s) in {r} ({_n(n)}/{_n(total_spokes)} of "
             f"{_n(gb)} GB between spokes), billed once where it enters a TGW from a VPC, not again over "
             "a peering; per hour is the monthly average")
    for (a, b), amount in crossing.items():
        how = ("spokes exchanging equal traffic: "
               f"{_n(spokes_in[a])} × {_n(spokes_in[b])} / ({_n(total_spokes)} × {_n(total_spokes - 1)}) of "
               f"{_n(gb)} GB" if derived else "as given")
        line("inter_region_transfer_gb", a, amount, None,
             f"{_q(amount)} GB/month from {a} to {b} over the TGW peering ({how}), billed to the sending "
             "region; per hour is the monthly average",
             unit_price=price_set.pair_price("inter_region_transfer_gb", a, b),
             item=f"{price_set.items['inter_region_transfer_gb']['label']} to {b}")
    if spec.public_subnets:
        for r in regions:
            n = owned_in[r]
            line("nat_gateway_hour", r, n * hours, n,
                 f"{_n(n)} NAT gateway(s), one per spoke{here(r)}, × {_n(hours)} h")
        for r in regions:
            share = nat_gb * spokes_in[r] / total_spokes
            line("nat_data_processed_gb", r, share, None,
                 f"{_q(share)} GB/month through NAT"
                 + (f" ({_n(spokes_in[r])}/{_n(total_spokes)} of {_n(nat_gb)} GB, by spokes)" if many else "")
                 + " (internet data transfer out is billed separately); per hour is the monthly average")
    if spec.s3_endpoint:
        for r in regions:
            n = owned_in[r]
            line("s3_gateway_endpoint", r, n, Decimal(0),
                 f"{_n(n)} gateway endpoint(s), free: S3 traffic skips NAT and the TGW")
    kind = spec.security.flow_log_kind
    if kind != "off":
        key = "flow_log_delivery_cwl_gb" if kind == "cloud-watch-logs" else "flow_log_delivery_s3_gb"
        dest = {"labnet-bucket": "labnet's log bucket", "s3": "your S3 bucket",
                "cloud-watch-logs": "your CloudWatch Logs group"}[kind]
        for r in regions:
            share = log_gb * spokes_in[r] / total_spokes
            line(key, r, share, None,
                 f"{_q(share)} GB/month of flow-log records from {_n(spokes_in[r])} VPC(s) and the TGW"
                 + (f" in {r} ({_n(spokes_in[r])}/{_n(total_spokes)} of {_n(log_gb)} GB, by spokes)" if many else "")
                 + f" delivered to {dest} (vended logs, first 10 TB tier); per hour is the monthly average")
    where = ", ".join(regions)
    rows.append({
        "item": "total", "region": where, "quantity": None, "unit": "", "unit_price_usd": None,
        "per_hour_usd": sum((r["per_hour_usd"] for r in rows), Decimal(0)),
        "per_month_usd": sum((r["per_month_usd"] for r in rows), Decimal(0)),
        "basis": f"the network only; not included: {NOT_INCLUDED}",
        "source": f"price set {price_set.name!r}, {where}, as of {price_set.as_of}: verify before budgeting",
    })
    # Sums are exact in Decimal; the table holds floats so it behaves like any numeric frame.
    for r in rows:
        for col in ("quantity", "unit_price_usd", "per_hour_usd", "per_month_usd"):
            r[col] = math.nan if r[col] is None else float(r[col])
    frame = pd.DataFrame(rows, columns=COLUMNS)
    assumptions: dict[str, Any] = {
        "spokes": len(spec.spokes), "cross_vpc_gb_per_month": float(gb), "hours_per_month": float(hours),
        "nat_gb_per_month": float(nat_gb), "public_subnets": spec.public_subnets, "s3_endpoint": spec.s3_endpoint,
        "flow_log_gb_per_month": float(log_gb) if kind != "off" else 0.0, "flow_logs": kind}
    if many:
        assumptions.update({
            "spokes_per_region": {r: int(n) for r, n in spokes_in.items()},
            "inter_region_gb_per_month": float(sum(crossing.values(), Decimal(0))),
            "inter_region_gb_by_pair": {f"{a}->{b}": float(v) for (a, b), v in crossing.items()},
            "inter_region_gb_derived": derived})
    frame.attrs = {
        "price_set": price_set.name, "region": spec.region, "regions": regions, "currency": price_set.currency,
        "as_of": price_set.as_of, "recorded": price_set.recorded, "note": price_set.note,
        "sources": sorted({price_set.items[k]["source"] for k in price_set.items}),
        "item_notes": {k: v["note"] for k, v in price_set.items.items() if v.get("note")},
        "assumptions": assumptions,
        "not_included": NOT_INCLUDED,
    }
    return frame


def _inter_region(spec: NetworkSpec, gb: Decimal, given: object) -> tuple[dict[tuple[str, str], Decimal], bool]:
    """The GB per month from each region to each other (ordered pairs, in region order), and whether
    they were derived (``given`` is None) rather than given."""
    field = "inter_region_gb_per_month"
    regions = list(spec.regions)
    pairs = [(a, b) for a in regions for b in regions if a != b]
    if not pairs:
        if given is None or (not isinstance(given, Mapping) and _amount(field, given, "leave it out") == 0) \
                or (isinstance(given, Mapping) and not given):
            return {}, given is None
        raise InvalidSpecError(field, given, "the network is in one region: no traffic crosses regions",
                               "leave it out")
    n = {r: Decimal(len(spec.spokes_in(r))) for r in regions}
    total = Decimal(len(spec.spokes))
    weight = {(a, b): n[a] * n[b] / (total * (total - 1)) for a, b in pairs}
    if given is None:
        return {p: gb * w for p, w in weight.items()}, True
    if isinstance(given, Mapping):
        out = {p: Decimal(0) for p in pairs}
        for key, value in given.items():
            if not (isinstance(key, tuple) and len(key) == 2 and key in out):
                raise InvalidSpecError(field, key, "keys must be (from_region, to_region) pairs of two different "
                                       f"regions of the network ({', '.join(regions)})",
                                       f"for example {{({regions[0]!r}, {regions[1]!r}): 300}}")
            out[key] = _amount(f"{field}[{key!r}]", value, "GB per month in that direction, for example 300")
        crossing = out
    else:
        amount = _amount(field, given, "GB per month between spokes in different regions, for example 300")
        share = sum(weight.values(), Decimal(0))
        crossing = {p: amount * w / share for p, w in weight.items()}
    if sum(crossing.values(), Decimal(0)) > gb:
        raise InvalidSpecError(field, given, f"is part of the traffic between spokes, so at most "
                               f"cross_vpc_gb_per_month ({_n(gb)} GB)",
                               "raise cross_vpc_gb_per_month, or lower the traffic that crosses regions")
    return crossing, False


# -- helpers -------------------------------------------------------------------------------------
def _amount(field: str, value: object, fix: str) -> Decimal:
    """A non-negative, finite number as an exact Decimal of what the caller typed."""
    return sourced.number(field, value, "must be a number that is 0 or more", fix)


def _n(value: Decimal) -> str:
    """A quantity as a person writes it: 730, 1,000, 2.5."""
    return f"{value.normalize():,f}"


def _q(value: Decimal) -> str:
    """A derived quantity: exact when it has at most 3 decimals, else rounded to 2 and marked so."""
    if value == value.quantize(Decimal("0.001")):
        return _n(value)
    return f"≈{value.quantize(Decimal('0.01')):,f}"


def _parse_prices(data: Mapping[str, Any]) -> PriceSet:
    def text(key: str, required: bool = True) -> str:
        return sourced.text(data, key, "prices", required, "see labnet/analysis/prices.json for the shape")

    def price(where: str, value: object) -> Decimal:
        return sourced.number(where, value, "must be a price of 0 or more")

    items = data.get("items")
    regions = data.get("regions")
    if not isinstance(items, Mapping) or not isinstance(regions, Mapping) or not regions:
        raise InvalidSpecError("prices", sorted(data) if isinstance(data, Mapping) else data,
                               "needs 'items' (label, unit, source per item) and 'regions' (prices per region)",
                               "see labnet/analysis/prices.json for the shape")
    parsed_items: dict[str, dict[str, str]] = {}
    for key, info in items.items():
        if not isinstance(info, Mapping) or not all(isinstance(info.get(f), str) and info.get(f)
                                                    for f in ("label", "unit", "source")):
            raise InvalidSpecError(f"prices.items.{key}", info, "needs a label, a unit and a source",
                                   "a price without its source cannot be checked")
        parsed_items[key] = {f: info[f] for f in ("label", "unit", "source")}
        if isinstance(info.get("note"), str) and info["note"]:
            parsed_items[key]["note"] = info["note"]
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
