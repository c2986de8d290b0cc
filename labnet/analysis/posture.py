"""The security posture of a deployed network: one row per control per resource (issue 19).

A pure function of the :class:`~labnet.analysis.snapshot.Snapshot` that verify already takes (no
reader of its own): flow logs on every spoke VPC and TGW, the log bucket's protections, the default
security groups and network ACLs, the S3 endpoints' policies, the TGW's options and the group
references across it. Each row says the control, the resource, ``pass`` / ``fail`` / ``by design``
/ ``off`` (turned off in the spec, on purpose), the evidence read, and the AWS or CIS reference.

    >>> rows = check(lab.snapshot())
    >>> [r for r in rows if r.status == "fail"]       # empty on a healthy network
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .reachability import _Model, _proto
from .snapshot import NetworkAcl, Snapshot

COLUMNS = ["control", "resource_id", "spoke", "region", "status", "evidence", "reference"]
NACL_RULES_PER_DIRECTION = 20  # AWS's default quota (preflight enforces it before a deploy)
ADMIN_PORTS = (22, 3389)

REFERENCES = {
    "vpc-flow-logs": "CIS AWS Foundations 3.7; AWS Security Hub EC2.6",
    "tgw-flow-logs": "AWS TGW guide: Transit Gateway Flow Logs",
    "log-bucket-encrypted": "AWS Security Hub S3.4 (server-side encryption)",
    "log-bucket-public-access-blocked": "AWS Security Hub S3.8; CIS AWS Foundations 2.1.4",
    "log-bucket-policy-source-account": "AWS VPC guide: flow logs to S3, bucket policy (aws:SourceAccount)",
    "log-bucket-tls-only": "AWS Security Hub S3.5; CIS AWS Foundations 2.1.1",
    "log-bucket-expiry": "AWS Security Hub S3.13 (lifecycle configuration)",
    "default-sg-no-rules": "CIS AWS Foundations 5.4; AWS Security Hub EC2.2",
    "nacl-no-admin-ports": "CIS AWS Foundations 5.1; AWS Security Hub EC2.21",
    "nacl-ingress-scoped": "AWS VPC guide: network ACLs (ephemeral ports); TGW guide: path-MTU discovery",
    "nacl-rule-quota": "AWS VPC quotas: rules per network ACL (20 per direction)",
    "s3-endpoint-policy-scoped": "AWS PrivateLink guide: endpoint policies; AWS Security Hub EC2.x trust boundaries",
    "tgw-auto-accept-off": "AWS Security Hub EC2.23",
    "tgw-group-references": "AWS TGW guide: security group referencing (same Region, inbound, TGW and attachments)",
}


@dataclass(frozen=True)
class Row:
    control: str
    resource_id: str
    spoke: str
    region: str
    status: str  # pass | fail | by design | off
    evidence: str
    reference: str = ""


def check(snapshot: Snapshot, flow_logs: bool = True) -> tuple[Row, ...]:
    """Every control on every resource of ``snapshot`` it applies to. ``flow_logs=False`` (the spec
    turned them off) makes the flow-log rows ``off`` instead of ``fail``."""
    rows: list[Row] = []
    spoke_of = {sp.vpc_id: sp.name for sp in snapshot.spokes}

    def add(control: str, rid: str, spoke: str, region: str, ok: bool | str, evidence: str) -> None:
        status = ok if isinstance(ok, str) else ("pass" if ok else "fail")
        rows.append(Row(control, rid, spoke, region, status, evidence, REFERENCES.get(control, "")))

    logged = {}
    for f in snapshot.flow_logs:
        logged.setdefault(f.resource_id, []).append(f)
    missing = "off" if not flow_logs else False
    for sp in snapshot.spokes:
        found = logged.get(sp.vpc_id, [])
        add("vpc-flow-logs", sp.vpc_id, sp.name, sp.region, bool(found) or missing,
            _flow_evidence(found) if found else "no flow log" + ("" if flow_logs else " (turned off in the spec)"))
    for t in snapshot.transit_gateways:
        found = logged.get(t.id, [])
        add("tgw-flow-logs", t.id, "", t.region, bool(found) or missing,
            _flow_evidence(found) if found else "no flow log" + ("" if flow_logs else " (turned off in the spec)"))
    for b in snapshot.log_buckets:
        if not b.exists:
            add("log-bucket-encrypted", b.name, "", b.region, False, "the bucket does not exist")
            continue
        if not b.owned:
            continue  # the user's own bucket: its settings are the user's
        policy = _policy(b.policy)
        statements = policy.get("Statement", []) if isinstance(policy, dict) else []
        writes = [s for s in statements if s.get("Effect") == "Allow"]
        scoped = bool(writes) and all("aws:SourceAccount" in json.dumps(s.get("Condition", {})) for s in writes)
        tls = any(s.get("Effect") == "Deny" and "aws:SecureTransport" in json.dumps(s.get("Condition", {}))
                  for s in statements)
        add("log-bucket-encrypted", b.name, "", b.region, bool(b.encryption), f"SSE {b.encryption or 'none'}")
        add("log-bucket-public-access-blocked", b.name, "", b.region, b.public_access_blocked,
            "all four public access block settings on" if b.public_access_blocked else "public access not fully blocked")
        add("log-bucket-policy-source-account", b.name, "", b.region, scoped,
            f"{len(writes)} allow statement(s), each conditioned on aws:SourceAccount" if scoped
            else "an allow statement without aws:SourceAccount (or no policy)")
        add("log-bucket-tls-only", b.name, "", b.region, tls,
            "requests without TLS denied" if tls else "no aws:SecureTransport deny")
        add("log-bucket-expiry", b.name, "", b.region, b.expiry_days > 0,
            f"objects expire after {b.expiry_days} days; versioning {b.versioning or 'off'}" if b.expiry_days
            else "no lifecycle expiry")
    vpcs = set(spoke_of)
    for g in snapshot.security_groups:
        if g.vpc_id in vpcs and g.name == "default":
            add("default-sg-no-rules", g.id, spoke_of[g.vpc_id], g.region, not g.rules,
                "no inbound or outbound rule" if not g.rules else f"{len(g.rules)} rule(s)")
    network = snapshot.network_cidrs or tuple(c for v in snapshot.vpcs if v.id in vpcs for c in v.cidrs)
    for a in snapshot.network_acls:
        if a.vpc_id not in vpcs:
            continue
        spoke = spoke_of[a.vpc_id]
        admin = _admin_open(a)
        reply = [e for e in admin if _reply_only(e)]
        add("nacl-no-admin-ports", a.id, spoke, a.region,
            "by design" if admin and len(reply) == len(admin) else not admin,
            "no entry admits 22 or 3389 from 0.0.0.0/0" if not admin else
            "; ".join(f"rule {e.rule_number} admits TCP {e.from_port}-{e.to_port} from {e.cidr}"
                      + (" (replies to the NAT gateway's ports)" if _reply_only(e) else "") for e in admin))
        wide = [e for e in a.entries if not e.egress and e.allow and not _reply_only(e)
                and not (e.cidr and e.cidr in network)]
        add("nacl-ingress-scoped", a.id, spoke, a.region, not wide,
            "inbound: the network's own blocks, reply ports and ICMP 3/4 only; the rest denied" if not wide else
            "; ".join(f"rule {e.rule_number}: {_proto(e.protocol)} from {e.cidr or e.cidr_v6}" for e in wide[:4]))
        counts = [sum(1 for e in a.entries if e.egress == eg and e.rule_number < 32767) for eg in (False, True)]
        add("nacl-rule-quota", a.id, spoke, a.region, max(counts) <= NACL_RULES_PER_DIRECTION,
            f"{counts[0]} inbound and {counts[1]} outbound rules of {NACL_RULES_PER_DIRECTION}")
    for e in snapshot.endpoints:
        if e.vpc_id not in vpcs or not e.service.endswith(".s3"):
            continue
        ok, why = _endpoint_scoped(e.policy)
        add("s3-endpoint-policy-scoped", e.id, spoke_of[e.vpc_id], e.region, ok, why)
    for t in snapshot.transit_gateways:
        add("tgw-auto-accept-off", t.id, "", t.region, t.auto_accept_shared_attachments != "enable",
            f"AutoAcceptSharedAttachments {t.auto_accept_shared_attachments}")
    model = _Model(snapshot)
    groups = {g.id: g for g in snapshot.security_groups}
    for sp in snapshot.spokes:
        g = groups.get(sp.security_group_id)
        if g is None:
            continue
        across = [r for r in g.rules if r.group_id and r.group_id in groups and groups[r.group_id].vpc_id != g.vpc_id]
        for r in across:
            peer = groups[r.group_id]
            ok = not r.egress and model.references_across(g.vpc_id, peer.vpc_id)
            add("tgw-group-references", r.id or g.id, sp.name, sp.region, ok,
                f"{'inbound' if not r.egress else 'outbound'} from {spoke_of.get(peer.vpc_id, peer.vpc_id)}'s group "
                + ("through a TGW with references enabled on it and both attachments" if ok else
                   "not carried: references need one Region, one TGW, enabled on it and both attachments, inbound"))
    return tuple(rows)


def frame(rows) -> Any:
    """The posture table (pandas), failures first."""
    import pandas as pd

    table = pd.DataFrame([r.__dict__ for r in rows], columns=COLUMNS)
    order = {"fail": 0, "by design": 1, "off": 2, "pass": 3}
    return table.sort_values(["status", "control", "spoke"], key=lambda c: c.map(order) if c.name == "status" else c,
                             ignore_index=True)


def summary(rows) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    return ", ".join(f"{counts.get(k, 0)} {k}" for k in ("pass", "fail", "by design", "off") if counts.get(k) or k == "fail")


def _flow_evidence(found) -> str:
    f = found[0]
    return f"{f.id} ({f.traffic_type or 'all packets'}) to {f.destination_type} {f.destination}; delivery {f.status or '?'}"


def _policy(text: str) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def _reply_only(e) -> bool:
    p = _proto(e.protocol)
    if p in ("6", "17"):
        return e.from_port >= 1024
    return p == "1" and e.icmp_type == 3


def _admin_open(a: NetworkAcl) -> list:
    """Allow entries that, in rule order, admit TCP 22 or 3389 from 0.0.0.0/0 (what CIS 5.1 looks at)."""
    out = []
    for port in ADMIN_PORTS:
        for e in sorted((x for x in a.entries if not x.egress and x.cidr == "0.0.0.0/0"), key=lambda x: x.rule_number):
            p = _proto(e.protocol)
            if p == "-1" or (p == "6" and (e.from_port < 0 or e.from_port <= port <= e.to_port)):
                if e.allow and e not in out:
                    out.append(e)
                break
    return out


def _endpoint_scoped(text: str) -> tuple[bool, str]:
    policy = _policy(text)
    if not policy:
        return False, "no policy document (the default allows any principal, any bucket)"
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    loose = []
    for s in statements:
        if s.get("Effect") != "Allow":
            continue
        cond = json.dumps(s.get("Condition", {}))
        principal = s.get("Principal")
        if principal in ("*", {"AWS": "*"}) and "aws:PrincipalAccount" not in cond:
            loose.append(s.get("Sid", "?") + ": any principal")
        elif s.get("Resource") in ("*", ["*"]) and "s3:ResourceAccount" not in cond:
            loose.append(s.get("Sid", "?") + ": any bucket")
    if loose:
        return False, "; ".join(loose)
    return True, (f"{len(statements)} statement(s): the account's principals only, the account's buckets"
                  + (" and listed buckets" if len(statements) > 1 else ""))
