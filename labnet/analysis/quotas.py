"""Quota reasoning: plain facts in, one row per quota a deploy touches out (no AWS calls).

The facts are the account's applied quota values (:class:`~labnet.facts.account.Applied`), what
the Region already holds (:class:`~labnet.facts.account.Usage`), what the program declares
(:class:`~labnet.analysis.declared.Declared`) and the workload the spec was sized for. :func:`compare`
turns them into :class:`QuotaRow` s (:func:`compare_regions` for a network across regions: every
region against its own quotas and holdings, since AWS's quotas are per Region); :func:`warnings` and
:func:`refusal` say what they mean.

Two kinds of row: ``needed_for="deploy"`` rows are what creating the network needs (a real deploy that does
not fit fails part-way, so labnet refuses it up front), ``needed_for="launch"`` rows are what launching the
workload the spec was sized for needs (Network Address Usage, network interfaces): the network
deploys, and the launch would fail at ``RunInstances``.

Network Address Usage (NAU), what is counted per VPC (AWS's units, labnet/facts/quotas.json ``nau_units``):
6 per TGW attachment, 6 per NAT gateway, 6 per interface endpoint per AZ (gateway endpoints have no
interface and count nothing), and per node: 1 per private IP and 1 per EFA or EFA-only interface
(the primary included) or other additional interface. A p5.48xlarge with ``efa`` interfaces is
32 IPs + 32 EFA interfaces = 64 units; with ``efa-only`` 1 IP + 32 EFA-only interfaces = 33; with
``ena`` 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

from ..facts.account import Applied, Usage
from .declared import Declared

COLUMNS = ["quota", "code", "scope", "resource", "applied", "in_use", "adds", "needs", "fits", "request", "needed_for",
           "region", "source", "note"]


@dataclass(frozen=True)
class NodeNeeds:
    """What one training node takes from the network, from the spec's workload and EC2's facts."""

    ips: int
    efa_interfaces: int
    other_interfaces: int  # network interfaces that are not EFA (the primary ENA one included)

    @property
    def interfaces(self) -> int:
        return self.efa_interfaces + self.other_interfaces

    def nau(self, units: Mapping[str, int]) -> int:
        """NAU units of one node: every IP, every EFA interface, every non-EFA interface but the primary."""
        additional_plain = max(0, self.other_interfaces - 1)
        return (self.ips * units["ip_address"] + self.efa_interfaces * units["efa_interface"]
                + additional_plain * units["additional_network_interface"])


def node_needs(interface_mode: str, ips_per_node: int, efa_cards: int) -> NodeNeeds:
    """Interfaces and IPs of one node in ``interface_mode`` (labnet's sizing rules, labnet/sizing.py).

    ``efa``: one EFA interface with an IP per network card (``ips_per_node`` of them, the primary among
    them). ``efa-only``: a primary ENA interface with the node's IP plus one EFA-only interface (no IP)
    per EFA-capable network card (``efa_cards``). ``ena``: one interface, one IP.
    """
    if interface_mode == "efa":
        return NodeNeeds(ips=ips_per_node, efa_interfaces=ips_per_node, other_interfaces=0)
    if interface_mode == "efa-only":
        return NodeNeeds(ips=ips_per_node, efa_interfaces=max(1, efa_cards), other_interfaces=1)
    return NodeNeeds(ips=ips_per_node, efa_interfaces=0, other_interfaces=1)


@dataclass(frozen=True)
class Workload:
    """The workload the spec was sized for: how many spokes, nodes per spoke, and one node's needs."""

    spokes: int
    nodes_per_spoke: int
    node: NodeNeeds


@dataclass(frozen=True)
class QuotaRow:
    """One quota the deploy touches. ``needs`` is ``in_use + adds`` for account/Region/AZ quotas and
    the fullest resource's figure (``resource`` names it) for per-resource quotas; ``request`` is the
    value to ask for when it does not fit."""

    quota: str
    code: str | None
    scope: str
    resource: str
    applied: int
    in_use: int | None
    adds: int | None
    needs: int
    fits: bool
    request: int | None
    needed_for: str
    region: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare(data: Mapping[str, Any], applied: Mapping[str, Applied], usage: Usage, declared: Declared,
            region: str, workload: Workload | None = None) -> list[QuotaRow]:
    """One :class:`QuotaRow` per quota the deploy touches (pure: plain facts in, rows out).

    Quotas the deploy adds nothing to are left out (no NAT gateways: no NAT or Elastic IP rows),
    except VPCs and security groups per Region, which every deploy touches.
    """
    quotas = data["quotas"]
    units = data["nau_units"]
    rows: list[QuotaRow] = []

    def row(key: str, scope: str, resource: str, in_use: int | None, adds: int | None, needs: int) -> None:
        q, a = quotas[key], applied[key]
        limit = int(a.value)
        fits = needs <= limit
        rows.append(QuotaRow(quota=q["name"], code=q.get("code"), scope=scope, resource=resource, applied=limit,
                             in_use=in_use, adds=adds, needs=needs, fits=fits, request=None if fits else needs,
                             needed_for=q["needed_for"], region=region, source=a.source))

    def region_row(key: str, held: int, adds: int, always: bool = False) -> None:
        if adds or always:
            row(key, quotas[key]["scope"], region, held, adds, held + adds)

    def worst_row(key: str, counts: Mapping[str, int], what: str) -> None:
        if counts:
            name, needs = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
            row(key, quotas[key]["scope"], f"{name} (fullest of {len(counts)} {what})", None, None, needs)

    d = declared.region
    region_row("vpcs_per_region", usage.vpcs, d["vpcs"], always=True)
    region_row("internet_gateways_per_region", usage.internet_gateways, d["internet_gateways"])
    for az in sorted(declared.nat_gateways_by_az):
        held = usage.nat_gateways_by_az.get(az, 0)
        adds = declared.nat_gateways_by_az[az]
        row("nat_gateways_per_az", "az", az, held, adds, held + adds)
    region_row("elastic_ips_per_region", usage.elastic_ips, d["elastic_ips"])
    region_row("gateway_endpoints_per_region", usage.gateway_endpoints, d["gateway_endpoints"])
    region_row("security_groups_per_region", usage.security_groups, d["security_groups"], always=True)
    region_row("prefix_lists_per_region", usage.prefix_lists, d["prefix_lists"])
    region_row("transit_gateways_per_account", usage.transit_gateways, d["transit_gateways"])
    worst_row("routes_per_route_table", declared.routes_per_route_table, "route tables")
    worst_row("inbound_rules_per_security_group", declared.inbound_rules_per_security_group, "security groups")
    worst_row("outbound_rules_per_security_group", declared.outbound_rules_per_security_group, "security groups")
    worst_row("entries_per_prefix_list", declared.entries_per_prefix_list, "prefix lists")
    worst_row("attachments_per_transit_gateway", declared.attachments_per_transit_gateway, "transit gateways")
    worst_row("route_tables_per_transit_gateway", declared.route_tables_per_transit_gateway, "transit gateways")
    worst_row("routes_per_transit_gateway", declared.routes_per_transit_gateway, "transit gateways")
    # Across regions only (no peering, no rows): each TGW's peerings, all of which a deploy may have
    # pending acceptance at once, and the peerings between any two TGWs (AWS allows one).
    peerings = declared.peering_attachments_per_transit_gateway
    worst_row("peering_attachments_per_transit_gateway", peerings, "transit gateways")
    worst_row("pending_peering_attachments_per_transit_gateway", peerings, "transit gateways")
    worst_row("peering_attachments_between_two_transit_gateways",
              declared.peering_attachments_between_transit_gateways, "transit gateway pairs")
    per_node = workload.node.nau(units) if workload else 0
    nodes = workload.nodes_per_spoke if workload else 0
    nau = {vpc: declared.nau_per_vpc.get(vpc, 0) + nodes * per_node for vpc in declared.vpc_names}
    worst_row("network_address_usage_per_vpc", nau, "VPCs")
    enis = d["network_interfaces"] + (workload.spokes * workload.nodes_per_spoke * workload.node.interfaces
                                      if workload else 0)
    region_row("network_interfaces_per_region", usage.network_interfaces, enis)
    return rows


def compare_regions(data: Mapping[str, Any], facts: Mapping[str, tuple[Mapping[str, Applied], Usage]],
                    declared: Declared, home: str,
                    workloads: Mapping[str, Workload | None] | None = None) -> list[QuotaRow]:
    """:func:`compare` for every region of a network (``facts``: region → its applied quotas and
    holdings, the network's own region ``home`` first): each region's rows compare what is declared
    in that region (:meth:`Declared.in_region`) with that region's quotas; ``workloads`` gives each
    region's share of the workload (its spokes). Region by region, in ``facts``' order."""
    rows: list[QuotaRow] = []
    for region, (applied, usage) in facts.items():
        rows += compare(data, applied, usage, declared.in_region(region, home), region,
                        (workloads or {}).get(region))
    return rows


def _line(r: QuotaRow) -> str:
    code = f" ({r.code})" if r.code else " (not in Service Quotas: ask AWS Support)"
    where = r.resource
    held = "" if r.in_use is None else f" = {r.in_use:,} in use + {r.adds:,} added"
    return f"{r.quota}{code} in {where}: applied {r.applied:,}, needs {r.needs:,}{held} → request {r.needs:,}"


def refusal(rows: list[QuotaRow]) -> list[QuotaRow]:
    """The deploy rows that do not fit: what stops a real deploy part-way."""
    return [r for r in rows if not r.fits and r.needed_for == "deploy"]


def warnings(rows: list[QuotaRow], target_kind: str) -> list[str]:
    """What the rows mean for the user, one sentence per problem; empty when everything fits.

    On the emulator the deploy rows are warnings (the emulator enforces no quota; its values are AWS's
    defaults); on AWS they are the refusal (:func:`refusal`), so only launch rows warn.
    """
    out = []
    deploy = refusal(rows)
    if deploy and target_kind == "emulator":
        out.append("real AWS with default quotas would refuse this; request these increases first: "
                   + "; ".join(_line(r) for r in deploy))
    elif deploy:
        out.append("this deploy does not fit the account's quotas, so up() will refuse it before creating "
                   "anything; request these increases first: " + "; ".join(_line(r) for r in deploy))
    launch = [r for r in rows if not r.fits and r.needed_for == "launch"]
    if launch:
        out.append("the network fits, but launching the workload it is sized for would fail: "
                   + "; ".join(_line(r) for r in launch) + " (request it before launching the nodes)")
    return out


def refusal_message(stack: str, rows: list[QuotaRow]) -> str:
    """The sentence :class:`~labnet.QuotaExceededError` carries."""
    bad = refusal(rows)
    region = " and ".join(dict.fromkeys(r.region for r in bad))
    return (f"stack {stack!r} would exceed {len(bad)} AWS quota(s) in {region}, so nothing was created: "
            + "; ".join(_line(r) for r in bad)
            + ". Request the increases (labnet.request_quota_increases(spec, target='aws') files them in "
              "Service Quotas) and deploy again once they are granted")


def note(r: QuotaRow) -> str:
    """Why a row's cells are blank, in words: a per-resource quota has no Region count (``needs`` is
    the fullest resource's own figure), a quota that fits has nothing to request, and a quota without
    a Service Quotas code is raised by AWS Support."""
    parts = []
    if r.in_use is None:
        parts.append(f"in_use/adds blank: a quota per {r.scope}, so needs is the fullest {r.scope}'s own count")
    if r.request is None:
        parts.append("request blank: it fits")
    else:
        parts.append(f"request {r.request:,}: " + ("labnet.request_quota_increases(spec, target='aws') files it"
                                                   if r.code else "not in Service Quotas: ask AWS Support"))
    if not r.code and r.request is None:
        parts.append("code blank: not in Service Quotas (AWS Support raises it)")
    return "; ".join(parts)


def table(rows: list[QuotaRow]):
    """The rows as a pandas DataFrame (counts as nullable integers: blank where not applicable; a
    quota without a Service Quotas code has a blank ``code``); ``note`` says why a cell is blank and
    how a quota that does not fit is raised."""
    import pandas as pd

    frame = pd.DataFrame([{**r.as_dict(), "note": note(r)} for r in rows], columns=COLUMNS)
    for col in ("applied", "in_use", "adds", "needs", "request"):
        frame[col] = frame[col].astype("Int64")
    frame["fits"] = frame["fits"].astype(bool)
    frame["code"] = frame["code"].fillna("")  # no Service Quotas code: blank, not NaN
    return frame
