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

from ..outputs import SECRET, HubOutput, StackOutputs, is_secret


OUTPUT_COLUMNS = ["spoke", "region", "resource", "name", "id", "cidr", "az", "az_id", "role"]
OFFERING_COLUMNS = ["instance_type", "az", "az_id", "offered", "offered_by_az_id"]
PREVIEW_COLUMNS = ["action", "resource", "name", "spoke", "region", "cidr", "detail"]


def _short(token: str) -> str:
    return token.rsplit(":", 1)[-1]


def outputs(stack: "StackOutputs | dict[str, Any]") -> pd.DataFrame:
    """One row per resource a user needs, each with its region: every region's TGW and TGW route
    tables, each TGW peering attachment (a row on each side, with the static route each side holds for
    the other's summary block), and per spoke its VPC, subnets (AZ name and AZ ID), route table,
    attachment, security group, peer prefix list, node launch template and endpoints. A secret output
    shows as one ``[secret]`` row in place of what it holds; one not in the outputs as ""."""
    out = StackOutputs.of(stack)
    rows: list[dict[str, Any]] = []
    if out.empty:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    home = out.region or ""

    def row(spoke, resource, name, rid, cidr="", az="", role="", az_id="", region=None):
        rows.append({"spoke": spoke, "region": home if region is None else region, "resource": resource,
                     "name": name, "id": rid, "cidr": cidr, "az": az, "az_id": az_id, "role": role})

    many = not is_secret(out.hubs) and len(out.hubs) > 1
    hub = out.hub(home)
    if is_secret(hub):
        hub = HubOutput(home, SECRET, SECRET, SECRET, SECRET, SECRET)
    hub = hub or HubOutput(home, None)
    # The spec's own region keeps the rows a network in one region always had; other regions after it.
    row("", "transit_gateway", "tgw", hub.id, hub.summary if many else out.supernet,
        role=_asn(hub.asn) if many else "existing (not managed by labnet)" if out.existing_tgw else "")
    row("", "transit_gateway_arn", "tgw", hub.arn)
    _route_table_rows(hub.route_tables, row)
    if is_secret(out.hubs):
        row("", "transit_gateway", "", SECRET, region="")
    for region, other in (out.hubs.items() if many else ()):
        if region == home:
            continue
        row("", "transit_gateway", f"tgw-{region}", other.id, other.summary, role=_asn(other.asn), region=region)
        _route_table_rows(other.route_tables, row, region)
    _peering_rows(out.peerings, row)
    if is_secret(out.spokes):
        row("", "spoke", "", SECRET)
    for spoke, sp in ({} if is_secret(out.spokes) else out.spokes).items():
        if sp.secret:
            row(spoke, "spoke", spoke, SECRET)
            continue
        region = sp.region or home

        def srow(*args, **kwargs):
            row(spoke, *args, region=region, **kwargs)

        srow("vpc", sp.vpc_id if sp.existing else f"{spoke}-vpc", sp.vpc_id, sp.cidr,
             role="existing (not managed by labnet)" if sp.existing else "")
        if sp.added_cidr:
            srow("vpc_cidr_block", f"{spoke}-added-cidr", sp.vpc_id, sp.added_cidr, role="secondary block labnet added")
        for rt_id in sp.route_table_ids:
            srow("route_table", rt_id, rt_id, role="existing: labnet adds its routes only")
        if is_secret(sp.subnets):
            srow("subnet", "", SECRET)
        for sn in () if is_secret(sp.subnets) else sp.subnets:
            srow("subnet", sn.name, sn.id, sn.cidr, sn.az, sn.role, sn.az_id)
        srow("route_table", f"{spoke}-rt", sp.route_table_id)
        srow("tgw_attachment", f"{spoke}-attachment", sp.attachment_id,
             role=f"tgw route table {sp.tgw_route_table or ''}")
        srow("security_group", f"{spoke}-training-sg", sp.security_group_id)
        if sp.peer_prefix_list_id is not None:
            srow("peer_prefix_list", f"{spoke}-peers", sp.peer_prefix_list_id)
        if sp.storage_security_group_id is not None:
            srow("security_group", f"{spoke}-storage-sg", sp.storage_security_group_id, role=f"storage ({sp.storage})")
        if sp.launch_template_id is not None:
            lt = sp.launch_template if isinstance(sp.launch_template, dict) else {}
            srow("launch_template", f"{spoke}-node-template", sp.launch_template_id,
                 az=lt.get("az", ""), az_id=lt.get("az_id", ""),
                 role=f"{lt['instance_type']} nodes ({lt.get('interface_mode', '')})" if lt.get("instance_type") else "")
        for key, rid in sp.endpoints.items():
            resource = key.removesuffix("_id")
            srow(resource, f"{spoke}-{resource.replace('_', '-')}", rid)
    frame = pd.DataFrame(rows, columns=OUTPUT_COLUMNS)
    return frame.map(lambda v: "" if v is None else v)  # not in the outputs; a secret shows as "[secret]"


def _asn(asn: Any) -> str:
    if is_secret(asn):
        return SECRET
    return f"ASN {int(asn)}" if isinstance(asn, int) else ""


def _route_table_rows(tables: Any, row, region: str | None = None) -> None:
    if is_secret(tables):
        row("", "tgw_route_table", "", SECRET, region=region)
        return
    for name, rid in tables.items():
        row("", "tgw_route_table", name, rid, region=region)


def _peering_rows(peerings: Any, row) -> None:
    """Per TGW peering: the attachment on each side (one id, seen from both regions) and the static
    route each side's TGW route tables hold for the other side's summary block via it."""
    if peerings is None:
        return
    if is_secret(peerings):
        row("", "tgw_peering_attachment", "", SECRET, region="")
        return
    for p in peerings:
        if not p.requester and is_secret(p.attachment_id):
            row("", "tgw_peering_attachment", "", SECRET, region="")
            continue
        a, b = p.requester, p.accepter
        name = f"peering-{a}-{b}"
        routes = p.routes if not is_secret(p.routes) else {a: SECRET, b: SECRET}
        for side, other, how in ((a, b, "requester"), (b, a, "accepter")):
            row("", "tgw_peering_attachment", name, p.attachment_id, role=f"{how}; peer {other}", region=side)
        for side, other in ((a, b), (b, a)):
            row("", "tgw_static_route", f"{name}-route-{side}", p.attachment_id, routes.get(side, ""),
                role=f"to {other} via the peering, in every TGW route table", region=side)


def offerings(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per AZ: name, AZ ID, and whether EC2 offers the instance type there."""
    return pd.DataFrame(rows, columns=OFFERING_COLUMNS)


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
