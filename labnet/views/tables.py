"""pandas tables a person reads: preview, outputs, stacks, refresh.

Tidy frames, one row per resource, never one wide row of nested lists. Values that are secret show
as ``[secret]``. :func:`write` saves a table as CSV or JSON for batch jobs downstream.

The outputs and preview tables have a ``region`` column on every row (the region the resource is
in: for a network in one region, that region on every row), so a network across regions reads as
one table that filters by region like any other column.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

SECRET = "[secret]"

OUTPUT_COLUMNS = ["spoke", "region", "resource", "name", "id", "cidr", "az", "az_id", "role"]
OFFERING_COLUMNS = ["instance_type", "az", "az_id", "offered", "offered_by_az_id"]
PREVIEW_COLUMNS = ["action", "resource", "name", "spoke", "region", "cidr", "detail"]


def _short(token: str) -> str:
    return token.rsplit(":", 1)[-1]


def outputs(exports: dict[str, Any]) -> pd.DataFrame:
    """One row per resource a user needs, each with its region: every region's TGW and TGW route
    tables, each TGW peering attachment (a row on each side, with the static route each side holds for
    the other's summary block), and per spoke its VPC, subnets (AZ name and AZ ID), route table,
    attachment, security group, peer prefix list, node launch template and endpoints."""
    rows: list[dict[str, Any]] = []
    if not exports:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    home = exports.get("region", "")
    home = home if isinstance(home, str) else SECRET

    def row(spoke, resource, name, rid, cidr="", az="", role="", az_id="", region=None):
        rows.append({"spoke": spoke, "region": home if region is None else region, "resource": resource,
                     "name": name, "id": rid, "cidr": cidr, "az": az, "az_id": az_id, "role": role})

    # Any export, at any depth, may be a secret: then it arrives as "[secret]" instead of a dict or
    # list, and shows as one "[secret]" row rather than its contents.
    hubs = exports.get("transit_gateways")
    many = isinstance(hubs, dict) and len(hubs) > 1
    # The spec's own region keeps the rows a network in one region always had (from the top-level
    # exports, which stacks saved before regions existed also have); other regions come after it.
    home_hub = hubs.get(home) if many else None
    row("", "transit_gateway", "tgw", exports.get("transit_gateway_id", ""),
        _summary(home_hub) if many else exports.get("supernet", ""),
        role=_asn(home_hub) if many else ("existing (not managed by labnet)"
                                         if exports.get("transit_gateway_existing") is True else ""))
    row("", "transit_gateway_arn", "tgw", exports.get("transit_gateway_arn", ""))
    tgw_tables = exports.get("transit_gateway_route_tables") or {}
    if not isinstance(tgw_tables, dict):
        row("", "tgw_route_table", "", _opaque(tgw_tables))
        tgw_tables = {}
    for name, rid in tgw_tables.items():
        row("", "tgw_route_table", name, rid)
    if hubs is not None and not isinstance(hubs, dict):
        row("", "transit_gateway", "", _opaque(hubs), region="")
    for region, hub in (hubs.items() if many else ()):
        if region == home:
            continue
        if not isinstance(hub, dict):
            row("", "transit_gateway", f"tgw-{region}", _opaque(hub), region=region)
            continue
        row("", "transit_gateway", f"tgw-{region}", hub.get("id", ""), _summary(hub), role=_asn(hub), region=region)
        tables_r = hub.get("route_tables") or {}
        if not isinstance(tables_r, dict):
            row("", "tgw_route_table", "", _opaque(tables_r), region=region)
            tables_r = {}
        for name, rid in tables_r.items():
            row("", "tgw_route_table", name, rid, region=region)
    _peering_rows(exports.get("peerings"), row)
    spokes = exports.get("spokes") or {}
    if not isinstance(spokes, dict):
        row("", "spoke", "", _opaque(spokes))
        spokes = {}
    for spoke, sp in spokes.items():
        if not isinstance(sp, dict):
            row(spoke, "spoke", spoke, _opaque(sp))
            continue
        region = sp.get("region") or home
        region = region if isinstance(region, str) else SECRET

        def srow(*args, **kwargs):
            row(spoke, *args, region=region, **kwargs)

        existing = sp.get("existing") is True
        srow("vpc", sp.get("vpc_id", "") if existing else f"{spoke}-vpc", sp.get("vpc_id", ""), sp.get("cidr", ""),
             role="existing (not managed by labnet)" if existing else "")
        if existing and sp.get("added_cidr"):
            srow("vpc_cidr_block", f"{spoke}-added-cidr", sp.get("vpc_id", ""), sp["added_cidr"],
                 role="secondary block labnet added")
        for rt_id in (sp.get("route_table_ids") or []) if existing else ():
            srow("route_table", rt_id, rt_id, role="existing: labnet adds its routes only")
        subnets = sp.get("subnets", [])
        if not isinstance(subnets, list):
            srow("subnet", "", _opaque(subnets))
            subnets = []
        for sn in subnets:
            if not isinstance(sn, dict):
                srow("subnet", "", _opaque(sn))
                continue
            srow("subnet", sn.get("name", ""), sn.get("id", ""), sn.get("cidr", ""), sn.get("az", ""),
                 sn.get("role", ""), sn.get("az_id", ""))
        srow("route_table", f"{spoke}-rt", sp.get("route_table_id", ""))
        srow("tgw_attachment", f"{spoke}-attachment", sp.get("attachment_id", ""),
             role=f"tgw route table {sp.get('tgw_route_table', '')}")
        srow("security_group", f"{spoke}-training-sg", sp.get("security_group_id", ""))
        if "peer_prefix_list_id" in sp:
            srow("peer_prefix_list", f"{spoke}-peers", sp["peer_prefix_list_id"])
        if "storage_security_group_id" in sp:
            srow("security_group", f"{spoke}-storage-sg", sp["storage_security_group_id"],
                 role=f"storage ({sp.get('storage', '')})")
        if "launch_template_id" in sp:
            lt = sp.get("launch_template") or {}
            lt = lt if isinstance(lt, dict) else {}
            srow("launch_template", f"{spoke}-node-template", sp["launch_template_id"],
                 az=lt.get("az", ""), az_id=lt.get("az_id", ""),
                 role=f"{lt['instance_type']} nodes ({lt.get('interface_mode', '')})" if lt.get("instance_type") else "")
        for key, resource in (("s3_endpoint_id", "s3_endpoint"), ("internet_gateway_id", "internet_gateway"),
                              ("nat_gateway_id", "nat_gateway"), ("public_route_table_id", "public_route_table")):
            if key in sp:
                srow(resource, f"{spoke}-{resource.replace('_', '-')}", sp[key])
    frame = pd.DataFrame(rows, columns=OUTPUT_COLUMNS)
    return frame.map(lambda v: "" if v is None else v)  # missing, not secret: secrets arrive as "[secret]"


def _summary(hub: Any) -> str:
    return _opaque(hub.get("summary", "")) if isinstance(hub, dict) else _opaque(hub) if hub == SECRET else ""


def _asn(hub: Any) -> str:
    asn = hub.get("asn") if isinstance(hub, dict) else hub if hub == SECRET else None
    return f"ASN {int(asn)}" if isinstance(asn, (int, float)) and not isinstance(asn, bool) else _opaque(asn)


def _peering_rows(peerings: Any, row) -> None:
    """Per TGW peering: the attachment on each side (one id, seen from both regions) and the static
    route each side's TGW route tables hold for the other side's summary block via it."""
    if peerings is None:
        return
    if not isinstance(peerings, list):
        row("", "tgw_peering_attachment", "", _opaque(peerings), region="")
        return
    for p in peerings:
        if not isinstance(p, dict):
            row("", "tgw_peering_attachment", "", _opaque(p), region="")
            continue
        a, b = str(p.get("requester", "")), str(p.get("accepter", ""))
        name, rid = f"peering-{a}-{b}", p.get("attachment_id", "")
        routes = p.get("routes") or {}
        routes = routes if isinstance(routes, dict) else {a: _opaque(routes), b: _opaque(routes)}
        for side, other, how in ((a, b, "requester"), (b, a, "accepter")):
            row("", "tgw_peering_attachment", name, rid, role=f"{how}; peer {other}", region=side)
        for side, other in ((a, b), (b, a)):
            row("", "tgw_static_route", f"{name}-route-{side}", rid, routes.get(side, ""),
                role=f"to {other} via the peering, in every TGW route table", region=side)


def offerings(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per AZ: name, AZ ID, and whether EC2 offers the instance type there."""
    return pd.DataFrame(rows, columns=OFFERING_COLUMNS)


def _opaque(value: Any) -> str:
    """A value where a mapping or list was expected: a secret stays "[secret]"."""
    return SECRET if value == SECRET else ("" if value is None else str(value))


def preview(planned: Iterable[Any], spokes: Iterable[str] = (), region: str = "", spec: Any = None) -> pd.DataFrame:
    """One row per resource ``up`` would touch: action, resource type, name, spoke, region, CIDR, detail.

    ``region`` is the network's own region, shown where a planned resource names none. With ``spec``,
    the VPCs and Transit Gateway that exist already come first, with action ``existing``: ``up`` uses
    them and changes nothing of theirs."""
    rows = []
    for sp in (spec.existing_spokes if spec is not None else ()):
        ex = sp.existing
        rows.append({"action": "existing", "resource": "Vpc", "name": ex.vpc_id, "spoke": sp.name,
                     "region": spec.region_of(sp), "cidr": ", ".join(ex.cidrs),
                     "detail": f"{len(ex.subnets)} subnet(s) in {', '.join(dict.fromkeys(s.az for s in ex.subnets))}; "
                               f"labnet adds routes to {', '.join(ex.serving_tables)}"})
    if spec is not None and spec.transit_gateway.existing_id:
        tgw = spec.transit_gateway
        rows.append({"action": "existing", "resource": "TransitGateway", "name": tgw.existing_id, "spoke": "",
                     "region": spec.region, "cidr": "",
                     "detail": f"ASN {tgw.amazon_side_asn}; labnet adds its own route table(s) and attachments"})
    names = sorted(spokes, key=len, reverse=True)
    for p in planned:
        inputs = p.inputs or {}
        tags = inputs.get("tags") or {}
        cidr = inputs.get("cidrBlock") or inputs.get("destinationCidrBlock") or inputs.get("cidrIpv4") or ""
        detail = ""
        if "availabilityZone" in inputs:
            detail = inputs["availabilityZone"]
        elif inputs.get("ipProtocol"):
            proto = inputs["ipProtocol"]
            ports = "" if proto == "-1" else f" {int(inputs.get('fromPort', 0))}-{int(inputs.get('toPort', 0))}"
            ref = inputs.get("referencedSecurityGroupId")
            src = (("itself" if ref == inputs.get("securityGroupId") else "the training group") if ref else
                   "the peer prefix list" if inputs.get("prefixListId") else inputs.get("cidrIpv4", ""))
            detail = f"{'all' if proto == '-1' else proto}{ports} {'from' if 'Ingress' in p.type else 'to'} {src}"
        elif inputs.get("serviceName"):
            detail = inputs["serviceName"]
        elif "amazonSideAsn" in inputs:
            detail = f"ASN {int(inputs['amazonSideAsn'])}"
        elif inputs.get("networkInterfaces"):  # a node launch template
            kinds = [ni.get("interfaceType") or "interface" for ni in inputs["networkInterfaces"]]
            detail = f"{inputs.get('instanceType', '')}: " + ", ".join(
                f"{kinds.count(k)} {k}" for k in dict.fromkeys(kinds))
        elif inputs.get("peerRegion"):  # a TGW peering attachment, requested from this side
            detail = f"peering with {inputs['peerRegion']}"
        elif p.type.endswith(":PeeringAttachmentAccepter"):
            detail = "accepts the peering"
        elif "maxEntries" in inputs:
            entries = [e.get("cidr", "") for e in inputs.get("entries") or []]
            detail = f"max {int(inputs['maxEntries'])} entries: {', '.join(entries)}"
        rows.append({"action": p.action, "resource": _short(p.type), "name": p.name,
                     "spoke": tags.get("spoke") or _spoke_of(p.name, names),
                     "region": getattr(p, "region", "") or region, "cidr": cidr, "detail": detail})
    return pd.DataFrame(rows, columns=PREVIEW_COLUMNS)


def _spoke_of(name: str, spokes: list[str]) -> str:
    return next((s for s in spokes if name.startswith(s + "-")), "")


def stacks(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["stack_name", "state", "engine", "target", "spokes", "resources",
                                       "last_operation", "updated"])


def refresh(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["name", "type", "id", "status"])
    frame["type"] = frame["type"].map(_short)
    return frame


def check_path(path: str | Path, field: str = "path") -> Path:
    """The path a table can be written to: it must end in ``.csv`` or ``.json`` (checked before any work).
    ``field`` names the parameter in the error (a notebook's ``outputs_csv``, say)."""
    from ..errors import InvalidSpecError

    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes) or not str(path).strip():
        raise InvalidSpecError(field, path, "must be a file path ending in .csv or .json", "for example 'outputs.csv'")
    p = Path(path)
    if p.suffix.lower() not in (".csv", ".json"):
        raise InvalidSpecError(field, str(path), "must end in .csv or .json", "for example 'outputs.csv'")
    if p.is_dir():
        raise InvalidSpecError(field, str(path), "is a folder, not a file", "name a file inside it")
    if not p.parent.is_dir():
        raise InvalidSpecError(field, str(path), f"its folder {p.parent} does not exist", "create the folder first")
    return p


def write(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table to ``.csv`` or ``.json`` (records) by the file's extension."""
    if not isinstance(frame, pd.DataFrame):
        from ..errors import InvalidSpecError

        raise InvalidSpecError("frame", type(frame).__name__, "must be a pandas DataFrame",
                               "pass a table labnet returned, such as lab.outputs()")
    p = check_path(path)
    if p.suffix.lower() == ".json":
        frame.to_json(p, orient="records", indent=1)
    else:
        frame.to_csv(p, index=False)
    return p
