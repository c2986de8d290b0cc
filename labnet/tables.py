"""pandas tables a person reads: preview, outputs, stacks, refresh.

Tidy frames, one row per resource, never one wide row of nested lists. Values that are secret show
as ``[secret]``. :func:`write` saves a table as CSV or JSON for batch jobs downstream.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

SECRET = "[secret]"

OUTPUT_COLUMNS = ["spoke", "resource", "name", "id", "cidr", "az", "az_id", "role"]
OFFERING_COLUMNS = ["instance_type", "az", "az_id", "offered", "offered_by_az_id"]
PREVIEW_COLUMNS = ["action", "resource", "name", "spoke", "cidr", "detail"]


def _short(token: str) -> str:
    return token.rsplit(":", 1)[-1]


def outputs(exports: dict[str, Any]) -> pd.DataFrame:
    """One row per resource a user needs: TGW, TGW route tables, and per spoke its VPC, subnets (AZ
    name and AZ ID), route table, attachment, security group, peer prefix list, node launch template
    and endpoints."""
    rows: list[dict[str, Any]] = []
    if not exports:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)

    def row(spoke, resource, name, rid, cidr="", az="", role="", az_id=""):
        rows.append({"spoke": spoke, "resource": resource, "name": name, "id": rid, "cidr": cidr,
                     "az": az, "az_id": az_id, "role": role})

    # Any export, at any depth, may be a secret: then it arrives as "[secret]" instead of a dict or
    # list, and shows as one "[secret]" row rather than its contents.
    row("", "transit_gateway", "tgw", exports.get("transit_gateway_id", ""), exports.get("supernet", ""))
    row("", "transit_gateway_arn", "tgw", exports.get("transit_gateway_arn", ""))
    tgw_tables = exports.get("transit_gateway_route_tables") or {}
    if not isinstance(tgw_tables, dict):
        row("", "tgw_route_table", "", _opaque(tgw_tables))
        tgw_tables = {}
    for name, rid in tgw_tables.items():
        row("", "tgw_route_table", name, rid)
    spokes = exports.get("spokes") or {}
    if not isinstance(spokes, dict):
        row("", "spoke", "", _opaque(spokes))
        spokes = {}
    for spoke, sp in spokes.items():
        if not isinstance(sp, dict):
            row(spoke, "spoke", spoke, _opaque(sp))
            continue
        row(spoke, "vpc", f"{spoke}-vpc", sp.get("vpc_id", ""), sp.get("cidr", ""))
        subnets = sp.get("subnets", [])
        if not isinstance(subnets, list):
            row(spoke, "subnet", "", _opaque(subnets))
            subnets = []
        for sn in subnets:
            if not isinstance(sn, dict):
                row(spoke, "subnet", "", _opaque(sn))
                continue
            row(spoke, "subnet", sn.get("name", ""), sn.get("id", ""), sn.get("cidr", ""), sn.get("az", ""),
                sn.get("role", ""), sn.get("az_id", ""))
        row(spoke, "route_table", f"{spoke}-rt", sp.get("route_table_id", ""))
        row(spoke, "tgw_attachment", f"{spoke}-attachment", sp.get("attachment_id", ""),
            role=f"tgw route table {sp.get('tgw_route_table', '')}")
        row(spoke, "security_group", f"{spoke}-training-sg", sp.get("security_group_id", ""))
        if "peer_prefix_list_id" in sp:
            row(spoke, "peer_prefix_list", f"{spoke}-peers", sp["peer_prefix_list_id"])
        if "launch_template_id" in sp:
            lt = sp.get("launch_template") or {}
            lt = lt if isinstance(lt, dict) else {}
            row(spoke, "launch_template", f"{spoke}-node-template", sp["launch_template_id"],
                az=lt.get("az", ""), az_id=lt.get("az_id", ""),
                role=f"{lt['instance_type']} nodes ({lt.get('interface_mode', '')})" if lt.get("instance_type") else "")
        for key, resource in (("s3_endpoint_id", "s3_endpoint"), ("internet_gateway_id", "internet_gateway"),
                              ("nat_gateway_id", "nat_gateway"), ("public_route_table_id", "public_route_table")):
            if key in sp:
                row(spoke, resource, f"{spoke}-{resource.replace('_', '-')}", sp[key])
    frame = pd.DataFrame(rows, columns=OUTPUT_COLUMNS)
    return frame.map(lambda v: "" if v is None else v)  # missing, not secret: secrets arrive as "[secret]"


def offerings(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per AZ: name, AZ ID, and whether EC2 offers the instance type there."""
    return pd.DataFrame(rows, columns=OFFERING_COLUMNS)


def _opaque(value: Any) -> str:
    """A value where a mapping or list was expected: a secret stays "[secret]"."""
    return SECRET if value == SECRET else ("" if value is None else str(value))


def preview(planned: Iterable[Any], spokes: Iterable[str] = ()) -> pd.DataFrame:
    """One row per resource ``up`` would touch: action, resource type, name, spoke, CIDR, detail."""
    rows = []
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
            src = ("itself" if inputs.get("referencedSecurityGroupId") else
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
        elif "maxEntries" in inputs:
            entries = [e.get("cidr", "") for e in inputs.get("entries") or []]
            detail = f"max {int(inputs['maxEntries'])} entries: {', '.join(entries)}"
        rows.append({"action": p.action, "resource": _short(p.type), "name": p.name,
                     "spoke": tags.get("spoke") or _spoke_of(p.name, names), "cidr": cidr, "detail": detail})
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
    from .errors import InvalidSpecError

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
        from .errors import InvalidSpecError

        raise InvalidSpecError("frame", type(frame).__name__, "must be a pandas DataFrame",
                               "pass a table labnet returned, such as lab.outputs()")
    p = check_path(path)
    if p.suffix.lower() == ".json":
        frame.to_json(p, orient="records", indent=1)
    else:
        frame.to_csv(p, index=False)
    return p
