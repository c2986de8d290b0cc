"""The quota preflight: will the account's quotas let this network be built (and its workload run)?

    >>> spec = labnet.size(spokes=8)
    >>> labnet.quotas(spec)                     # target="emulator": AWS's default quotas
    >>> labnet.quotas(spec, target="aws")       # your account's applied quotas and what it holds
    >>> labnet.request_quota_increases(spec)    # files the increases the table asks for (explicit only)

:func:`check` puts together the three parts: the program's declared resources, counted AWS's way
(:mod:`labnet.analysis.declared`), the account's facts read from the target
(:mod:`labnet.facts.account`), and the pure comparison (:mod:`labnet.analysis.quotas`).
``Lab.up()`` calls it before any resource is created: on target ``"aws"`` a deploy that does not fit
is refused with :class:`~labnet.QuotaExceededError`; on the emulator (which enforces no quota) the
same rows come back as warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Iterable

import pandas as pd

from ..facts import instances
from ..emulator import targets
from ..errors import InvalidSpecError, QuotaExceededError, TargetError
from ..spec import NetworkSpec
from ..declare import declare
from ..facts import account
from . import declared, quotas as analysis
from .declared import Resource


def _workload(spec: NetworkSpec, ec2=None) -> analysis.Workload | None:
    """What launching the workload takes from the network. The EFA cards come from what sizing recorded
    in the spec, else (a spec saved before it recorded them) from EC2 through ``ec2``."""
    wl = spec.workload
    if wl is None:
        return None
    cards = 0
    if wl.interface_mode == "efa-only":
        if wl.network_cards and wl.max_efa_interfaces:
            cards = min(wl.network_cards, wl.max_efa_interfaces)
        elif ec2 is not None:
            facts = instances.instance_facts(ec2, wl.instance_type)  # cached; the sizing read it already
            cards = min(facts.network_cards, facts.max_efa_interfaces)
    return analysis.Workload(spokes=len(spec.spokes), nodes_per_spoke=wl.nodes_per_spoke,
                             node=analysis.node_needs(wl.interface_mode, wl.ips_per_node, cards))


@dataclass(frozen=True)
class AccountFacts:
    """What :func:`read` learned from the target: applied quotas, holdings, the workload's needs, for
    the spec's own region (``applied``, ``usage``) and, across regions, for each (``regions``)."""

    applied: dict
    usage: account.Usage
    workload: analysis.Workload | None
    regions: dict = field(default_factory=dict)  # region → (applied, usage), the spec's own first


def read(spec: NetworkSpec, target: targets.Target, ec2=None) -> AccountFacts:
    """Read the account's side (read-only calls): Service Quotas' values and the holdings of every
    region the network has spokes in, each with that region's own clients (quotas are per Region)."""
    ec2 = ec2 if ec2 is not None else target.ec2()
    keys = account.quota_data()["quotas"].keys()
    regions = {}
    for r in spec.regions:
        here = ec2 if r == spec.region else target.ec2(r)
        regions[r] = (account.applied_quotas(target.client("service-quotas", r), keys), account.usage(here))
    applied, usage = regions[spec.region]
    return AccountFacts(applied=applied, usage=usage, workload=_workload(spec, ec2), regions=regions)


def defaults(spec: NetworkSpec) -> AccountFacts:
    """A fresh account, without asking one: every quota at its documented default (quotas.json, with
    its page and date) and nothing held yet (no AWS call). What the quota rows say before a target
    is read; the workload's needs from what sizing recorded in the spec."""
    data = account.quota_data()
    applied = {k: account.Applied(float(q["default"]), f"documented default ({q['source']}, as of {data['as_of']})")
               for k, q in data["quotas"].items()}
    empty = account.Usage(**{f.name: ({} if f.name == "nat_gateways_by_az" else 0) for f in fields(account.Usage)})
    return AccountFacts(applied=applied, usage=empty, workload=_workload(spec),
                        regions={r: (applied, empty) for r in spec.regions})


def counts(spec: NetworkSpec, resources: Iterable[Resource] | None = None, stack: str = "quotas") -> declared.Declared:
    """What the program declares for ``spec``, counted AWS's way (routes to a prefix list count its
    maximum entries, and so on): the counts every quota row is built from."""
    data = account.quota_data()
    found = list(resources) if resources is not None else declare(spec, stack).resources
    return declared.count(found, data["nau_units"], data["aws_prefix_list_weights"]["weights"], ())


def rows(spec: NetworkSpec, facts: AccountFacts, resources: Iterable[Resource],
         existing: Iterable[str] = ()) -> list[analysis.QuotaRow]:
    """The quota rows from facts already read and the declared ``resources`` (no AWS call): one set
    per region, each region's declared resources against its own quotas and holdings."""
    data = account.quota_data()
    counts = declared.count(resources, data["nau_units"], data["aws_prefix_list_weights"]["weights"], existing)
    _add_holdings(spec, counts)
    if not spec.multi_region:
        return analysis.compare(data, facts.applied, facts.usage, counts, spec.region, facts.workload)
    wl = facts.workload
    workloads = {r: None if wl is None else replace(wl, spokes=len(spec.spokes_in(r))) for r in spec.regions}
    return analysis.compare_regions(data, facts.regions or {spec.region: (facts.applied, facts.usage)}, counts,
                                    spec.region, workloads)


def _add_holdings(spec: NetworkSpec, counts: declared.Declared) -> None:
    """What existing networks already hold, added to the per-resource counts (the program declares
    only what labnet adds to them): the routes already in an existing VPC's route tables (labnet adds
    its routes there), the extra blocks an existing VPC propagates into labnet's TGW route tables, and
    an existing TGW's attachments, route tables and routes (its quotas are shared with the
    organisation). labnet adds no rule to an existing group: its groups in an existing VPC are new."""
    tables = len(spec.transit_gateway.route_tables)
    for sp in spec.existing_spokes:
        for t in sp.existing.route_tables:  # type: ignore[union-attr]
            if t.id in counts.routes_per_route_table:
                counts.routes_per_route_table[t.id] += len(t.routes)
    tgw = spec.transit_gateway
    key = tgw.existing_id or next((k for k in counts.routes_per_transit_gateway
                                   if counts.region_of.get(k, "") in ("", spec.region)), None)
    if key is None or key not in counts.routes_per_transit_gateway:
        return
    counts.routes_per_transit_gateway[key] += tables * sum(len(sp.cidrs) - 1 for sp in spec.existing_spokes)
    if tgw.existing_id:
        counts.attachments_per_transit_gateway[key] = counts.attachments_per_transit_gateway.get(key, 0) \
            + tgw.existing_attachments
        counts.route_tables_per_transit_gateway[key] = counts.route_tables_per_transit_gateway.get(key, 0) \
            + tgw.existing_route_tables
        counts.routes_per_transit_gateway[key] += tgw.existing_routes


def check(spec: NetworkSpec, target: targets.Target, *, stack: str = "quotas", existing: Iterable[str] = (),
          resources: Iterable[Resource] | None = None, ec2=None) -> list[analysis.QuotaRow]:
    """The quota rows for deploying ``spec`` to ``target`` (see :func:`quotas`).

    ``existing`` are URNs the stack already holds (they add nothing); ``resources`` are declared
    resources when the caller already ran the program (an engine's plan), else it is run here.
    """
    found = list(resources) if resources is not None else declare(spec, stack).resources
    return rows(spec, read(spec, target, ec2), found, existing)


def _spec(spec: object) -> NetworkSpec:
    if isinstance(spec, dict):
        return NetworkSpec.from_dict(spec)
    if not isinstance(spec, NetworkSpec):
        raise InvalidSpecError("spec", type(spec).__name__, "must be a NetworkSpec or a dict",
                               "pass labnet.size(...)")
    return spec


def quotas(spec: NetworkSpec | dict, target: str = "emulator") -> pd.DataFrame:
    """One row per AWS quota deploying ``spec`` touches, and whether it fits.

    Across regions there is one set of rows per region (``region`` column), each from that region's
    Service Quotas and holdings, plus the peering quotas (peering attachments per transit gateway,
    pending ones, and peerings between two transit gateways).

    Columns: ``quota`` (AWS's name), ``code`` (Service Quotas code), ``scope`` and ``resource`` (the
    Region, AZ, or the fullest route table / group / TGW / VPC), ``applied`` (Service Quotas'
    applied value, else AWS's default, else the documented default of labnet/facts/quotas.json: ``source``
    says which), ``in_use`` (what the Region holds now, default VPC included), ``adds`` (what this
    deploy adds), ``needs`` (``in_use + adds``, or the per-resource figure), ``fits``, ``request``
    (the value to ask for when it does not fit), ``needed_for`` (``deploy``: creating the network needs it;
    ``launch``: launching the workload it is sized for needs it) and ``region``.

    Nothing is created: the program runs under Pulumi's mock monitor and the target gets read-only
    calls. On the emulator the values are AWS's defaults, so the table says what a fresh account
    would allow.

    >>> labnet.quotas(labnet.size(spokes=8)).query("not fits")[["quota", "applied", "needs"]]
    """
    spec = _spec(spec)
    from .. import preflight

    preflight.check(spec)
    return analysis.table(check(spec, targets.resolve(target, spec.region)))


def refuse_if_exceeded(stack: str, rows: list[analysis.QuotaRow]) -> None:
    """Raise :class:`~labnet.QuotaExceededError` when a deploy row does not fit."""
    bad = analysis.refusal(rows)
    if bad:
        raise QuotaExceededError(analysis.refusal_message(stack, rows), [r.as_dict() for r in bad])


def request_quota_increases(spec: NetworkSpec | dict, target: str = "aws") -> pd.DataFrame:
    """File a Service Quotas increase request for every quota ``spec`` does not fit; returns one row
    per quota: ``region`` (where it was filed: each region's own Service Quotas), ``quota``, ``code``,
    ``desired``, ``status`` (Service Quotas' answer, or why nothing was filed) and ``request_id``.

    Only on explicit request: nothing else in labnet files requests. Quotas without a Service Quotas
    code (ask AWS Support) and quotas that already fit are not filed. The emulator is refused: it
    enforces no quota and serves no requests.
    """
    spec = _spec(spec)
    if target != "aws":
        raise TargetError(f"quota increases are requested from a real AWS account (target='aws'), not "
                          f"target={target!r}: the emulator enforces no quota")
    from .. import preflight

    preflight.check(spec)
    tgt = targets.resolve(target, spec.region)
    rows = check(spec, tgt)
    # Quotas are per Region: each region's increases are filed with that region's Service Quotas.
    frames = []
    for region in dict.fromkeys(r.region for r in rows):
        filed = file_requests(tgt.client("service-quotas", region), [r for r in rows if r.region == region])
        filed.insert(0, "region", region)
        frames.append(filed)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["region", "quota", "code", "desired", "status", "request_id"])


def file_requests(sq, rows: list[analysis.QuotaRow]) -> pd.DataFrame:
    """``request_service_quota_increase`` for each quota in ``rows`` that does not fit (one request
    per code, at the largest value any row needs)."""
    from botocore.exceptions import ClientError

    data = account.quota_data()["quotas"]
    by_name = {q["name"]: q for q in data.values()}
    wanted: dict[str, tuple[analysis.QuotaRow, int]] = {}
    out = []
    for r in rows:
        if r.fits:
            continue
        if not r.code:
            out.append({"quota": r.quota, "code": None, "desired": r.needs, "status":
                        "not in Service Quotas: ask AWS Support", "request_id": None})
            continue
        have = wanted.get(r.code)
        if have is None or r.needs > have[1]:
            wanted[r.code] = (r, r.needs)
    for code, (r, desired) in wanted.items():
        service = by_name[r.quota]["service"]
        try:
            answer = sq.request_service_quota_increase(ServiceCode=service, QuotaCode=code,
                                                       DesiredValue=float(desired))["RequestedQuota"]
            status, rid = str(answer.get("Status", "PENDING")), answer.get("Id")
        except ClientError as exc:
            err = exc.response.get("Error", {})
            status, rid = f"not filed: {err.get('Code', '?')}: {err.get('Message', '')}"[:200], None
        out.append({"quota": r.quota, "code": code, "desired": desired, "status": status, "request_id": rid})
    return pd.DataFrame(out, columns=["quota", "code", "desired", "status", "request_id"])
