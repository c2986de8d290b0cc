"""Read an account's quota facts from a target: the applied quota values and what the Region holds.

Reading only (AWS calls, no reasoning): :func:`applied_quotas` asks Service Quotas for each quota's
applied value (``get_service_quota``), falls back to AWS's default (``get_aws_default_service_quota``)
and, where Service Quotas has no answer, to the documented default in labnet/facts/quotas.json, saying
which in ``source``. :func:`usage` counts what the Region already holds with paginated describe
calls (the default VPC counts). The comparison lives in :mod:`labnet.analysis.quotas`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import FactsError

QUOTAS_FILE = Path(__file__).resolve().with_name("quotas.json")


@lru_cache(maxsize=1)
def quota_data() -> dict[str, Any]:
    """labnet/facts/quotas.json: the documented defaults, NAU units and AWS-managed prefix-list weights."""
    return json.loads(QUOTAS_FILE.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Applied:
    """One quota's value for the account and where it came from."""

    value: float
    source: str


@dataclass(frozen=True)
class Usage:
    """What the Region holds now (plain data)."""

    vpcs: int
    internet_gateways: int
    elastic_ips: int
    gateway_endpoints: int
    security_groups: int
    transit_gateways: int
    prefix_lists: int
    network_interfaces: int
    nat_gateways_by_az: dict[str, int]


def applied_quotas(sq, keys) -> dict[str, Applied]:
    """The applied value of each quota in ``keys`` (keys of quotas.json), one Service Quotas call
    per distinct code (inbound and outbound rules share one)."""
    from botocore.exceptions import BotoCoreError, ClientError

    data = quota_data()
    out: dict[str, Applied] = {}
    asked: dict[tuple[str, str], Applied] = {}
    for key in keys:
        q = data["quotas"][key]
        documented = f"documented default ({q['source']}, as of {data['as_of']})"
        if not q.get("code"):
            out[key] = Applied(float(q["default"]), documented + "; not in Service Quotas")
            continue
        pair = (q["service"], q["code"])
        if pair not in asked:
            why = ""
            try:
                value = sq.get_service_quota(ServiceCode=pair[0], QuotaCode=pair[1])["Quota"]["Value"]
                asked[pair] = Applied(float(value), "Service Quotas: applied value")
            except (ClientError, BotoCoreError) as exc:
                why = _why(exc)
            if pair not in asked:
                try:
                    value = sq.get_aws_default_service_quota(ServiceCode=pair[0], QuotaCode=pair[1])["Quota"]["Value"]
                    asked[pair] = Applied(float(value), f"Service Quotas: AWS default (no applied value: {why})")
                except (ClientError, BotoCoreError) as exc:
                    asked[pair] = Applied(float(q["default"]),
                                          f"{documented}; Service Quotas gave none ({why}; {_why(exc)})")
        out[key] = asked[pair]
    return out


def _why(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        err = response.get("Error", {})
        code = str(err.get("Code", "?"))
        # An emulator that does not serve the call answers an HTML page; keep the reason short.
        return "not served by this endpoint" if code.isdigit() else code
    return type(exc).__name__


def _all(ec2, method: str, key: str, **kwargs) -> list[dict]:
    if ec2.can_paginate(method):
        items: list[dict] = []
        for page in ec2.get_paginator(method).paginate(**kwargs):
            items.extend(page.get(key, []))
        return items
    return getattr(ec2, method)(**kwargs).get(key, [])


def usage(ec2) -> Usage:
    """Count what the target's Region holds now (read-only describe calls)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        nats = [n for n in _all(ec2, "describe_nat_gateways", "NatGateways")
                if n.get("State") in ("pending", "available", "deleting")]
        nat_subnets = sorted({n["SubnetId"] for n in nats if n.get("SubnetId")})
        az_of = {s["SubnetId"]: s["AvailabilityZone"]
                 for s in (_all(ec2, "describe_subnets", "Subnets", SubnetIds=nat_subnets) if nat_subnets else [])}
        by_az: dict[str, int] = {}
        for n in nats:
            az = az_of.get(n.get("SubnetId", ""), "?")
            by_az[az] = by_az.get(az, 0) + 1
        endpoints = [e for e in _all(ec2, "describe_vpc_endpoints", "VpcEndpoints",
                                     Filters=[{"Name": "vpc-endpoint-type", "Values": ["Gateway"]}])
                     if str(e.get("State", "")).lower() not in ("deleted", "rejected", "failed", "expired")]
        lists = [p for p in _all(ec2, "describe_managed_prefix_lists", "PrefixLists")
                 if p.get("OwnerId") != "AWS" and p.get("State") not in ("delete-complete",)]
        return Usage(
            vpcs=len(_all(ec2, "describe_vpcs", "Vpcs")),
            internet_gateways=len(_all(ec2, "describe_internet_gateways", "InternetGateways")),
            elastic_ips=len(_all(ec2, "describe_addresses", "Addresses",
                                 Filters=[{"Name": "domain", "Values": ["vpc"]}])),
            gateway_endpoints=len(endpoints),
            security_groups=len(_all(ec2, "describe_security_groups", "SecurityGroups")),
            transit_gateways=len([t for t in _all(ec2, "describe_transit_gateways", "TransitGateways")
                                  if t.get("State") != "deleted"]),
            prefix_lists=len(lists),
            network_interfaces=len(_all(ec2, "describe_network_interfaces", "NetworkInterfaces")),
            nat_gateways_by_az=by_az,
        )
    except (ClientError, BotoCoreError) as exc:
        raise FactsError(f"could not count what {ec2.meta.region_name} holds (EC2 describe calls): "
                         f"{_why(exc)}: {str(exc)[:200]}") from exc
