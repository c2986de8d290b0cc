"""The outside auditor: Prowler's network, EC2 and S3 checks run against a deployed stack.

labnet's own posture table (:meth:`labnet.Lab.posture`) says what labnet believes it built; Prowler
(the open-source AWS auditor, PyPI ``prowler``) is a second opinion written by someone else. It runs
in a virtualenv of its own (``make audit-venv``: its pinned dependencies conflict with labnet's) and
is pointed at the stack's target: the embedded emulator through ``AWS_ENDPOINT_URL`` with the
emulator's test credentials, or real AWS with the caller's own credential chain.

Prowler audits everything in the account's Regions; :func:`classify` keeps what belongs to the stack
(every id the stack's snapshot and outputs name, each with its role: ``vpc``, ``default-sg``,
``public-nacl``, ``log-bucket`` …) and sorts each finding into

- ``fail``: a failed check on one of the stack's resources that labnet should not have;
- ``by design``: a failed check :data:`BY_DESIGN` lists for that role, with the reason (README's
  "Security" section lists the same table; a test keeps them equal);
- ``pass``; and ``outside``: findings on resources the stack does not own or on account-wide
  settings (the default VPC, EBS encryption by default), reported but never counted.

    >>> result = labnet.audit.run(lab)          # needs make audit-venv (or LABNET_PROWLER)
    >>> result.failures                         # empty on a healthy stack
    >>> result.counts()                         # per check: fail / by design / pass
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import LabnetError

PROWLER_VERSION = "5.46.0"  # the version requirements-audit.txt pins, and the one the README's figures come from
SERVICES = ("ec2", "vpc", "s3")
ENV_PROWLER = "LABNET_PROWLER"
REPO = Path(__file__).resolve().parent.parent
AUDIT_VENV = REPO / ".venv-audit"
# Prowler's own exit codes: 0 no failed finding, 3 some failed finding; anything else is an error.
PROWLER_OK = (0, 3)


class AuditError(LabnetError):
    """Prowler could not be found or did not finish its scan."""


@dataclass(frozen=True)
class ByDesign:
    """A Prowler check that fails on purpose on one role of labnet's resources, and why."""

    check: str
    role: str
    reason: str
    when: str = ""  # "" always; "private" only for a stack without public subnets


BY_DESIGN: tuple[ByDesign, ...] = (
    ByDesign("vpc_endpoint_for_ec2_enabled", "vpc",
             "an EC2 interface endpoint costs about $7.30 a month per AZ per spoke and carries only EC2 API "
             "calls, which training nodes do not make on the data path; the S3 gateway endpoint (free) carries "
             "the training data"),
    ByDesign("vpc_subnet_separate_private_public", "vpc",
             "spokes are private by design: public subnets (NAT) are off unless asked for", when="private"),
    ByDesign("ec2_networkacl_allow_ingress_tcp_port_3389", "public-nacl",
             "the NAT gateway's subnet must admit replies on 1024-65535, the ports a NAT gateway uses (AWS), and "
             "3389 is one of them; a NAT gateway accepts no connection from outside, and nothing else of labnet's "
             "is in that subnet"),
    ByDesign("s3_bucket_kms_encryption", "log-bucket",
             "flow logs are encrypted with SSE-S3 (AES-256): SSE-KMS would need a customer key whose policy admits "
             "the log delivery service, and costs per request"),
    ByDesign("s3_bucket_no_mfa_delete", "log-bucket",
             "MFA delete can only be turned on by the account's root user with an MFA device, never by a program"),
    ByDesign("s3_bucket_object_lock", "log-bucket",
             "Object Lock would stop the lifecycle expiry and destroy(delete_logs=True) from removing logs before "
             "their lock ends; versioning keeps overwritten or deleted logs instead"),
    ByDesign("s3_bucket_server_access_logging_enabled", "log-bucket",
             "access logs of the log bucket would need a second bucket (logging a bucket into itself loops)"),
    ByDesign("s3_bucket_cross_region_replication", "log-bucket",
             "one bucket per stack and Region, next to what it logs; replicate it yourself if your policy asks"),
    ByDesign("s3_bucket_event_notifications_enabled", "log-bucket",
             "nothing consumes events of the log bucket"),
)


# -- which resources are the stack's ----------------------------------------------------------------
def owned(snapshot: Any, outputs: Any) -> dict[str, str]:
    """{resource id: role} of everything the stack owns, from the snapshot verify reads and the stack's
    parsed outputs (:class:`labnet.outputs.StackOutputs`; no call of its own). Roles: ``vpc``,
    ``subnet:<role>``, ``route-table``, ``training-sg``, ``default-sg``, ``default-nacl``,
    ``public-nacl``, ``nacl``, ``tgw``, ``tgw-attachment``, ``tgw-route-table``, ``prefix-list``,
    ``s3-endpoint``, ``launch-template``, ``flow-log``, ``log-bucket``."""
    from .outputs import StackOutputs, is_secret

    outputs = StackOutputs.of(outputs)
    roles: dict[str, str] = {}
    vpcs = {sp.vpc_id for sp in snapshot.spokes}
    for v in snapshot.vpcs:
        roles[v.id] = "vpc"
    subnet_role: dict[str, str] = {}
    for sp in () if is_secret(outputs.spokes) else outputs.spokes.values():
        if sp.secret:
            continue
        for sn in () if is_secret(sp.subnets) else sp.subnets:
            if sn.id and not is_secret(sn.id):
                subnet_role[sn.id] = sn.role
        for key, role in (("s3_endpoint_id", "s3-endpoint"), ("launch_template_id", "launch-template"),
                          ("flow_log_id", "flow-log")):
            value = sp.raw.get(key)
            if value and not is_secret(value):
                roles[str(value)] = role
    for s in snapshot.subnets:
        roles[s.id] = f"subnet:{subnet_role.get(s.id, '')}".rstrip(":")
    for t in snapshot.route_tables:
        roles[t.id] = "route-table"
    training = {sp.security_group_id for sp in snapshot.spokes}
    for g in snapshot.security_groups:
        if g.vpc_id in vpcs:
            roles[g.id] = "training-sg" if g.id in training else "default-sg" if g.name == "default" else "security-group"
    public = {sid for sid, role in subnet_role.items() if role == "public"}
    for a in snapshot.network_acls:
        if a.vpc_id in vpcs:
            roles[a.id] = ("public-nacl" if public & set(a.subnet_ids) else
                           "default-nacl" if a.default else "nacl")
    for t in snapshot.transit_gateways:
        roles[t.id] = "tgw"
    for a in snapshot.attachments:
        roles[a.id] = "tgw-attachment"
    for t in snapshot.tgw_route_tables:
        roles[t.id] = "tgw-route-table"
    for p in snapshot.prefix_lists:
        if p.name.startswith("labnet-"):
            roles[p.id] = "prefix-list"
    for f in getattr(snapshot, "flow_logs", ()):
        roles[f.id] = "flow-log"
    for b in getattr(snapshot, "log_buckets", ()):
        if b.owned:
            roles[b.name] = "log-bucket"
    for bucket in outputs.log_buckets().values():
        roles[bucket] = "log-bucket"
    return roles


def resource_id(uid: str) -> str:
    """The resource id in a Prowler finding's ARN: ``…:network-acl/acl-1`` → ``acl-1``, ``arn:aws:s3:::b``
    → ``b``; "" for an account-wide finding (``arn:aws:ec2:us-east-1:123456789012:vpc``)."""
    if uid.startswith("arn:aws:s3:::"):
        return uid[len("arn:aws:s3:::"):].split("/", 1)[0]
    if uid.startswith("arn:"):
        tail = uid.split(":", 5)[-1]
        return tail.rsplit("/", 1)[-1] if "/" in tail else ""
    return uid


@dataclass(frozen=True)
class Finding:
    """One Prowler finding, classified for the stack."""

    check: str
    status: str  # PASS | FAIL | MANUAL
    verdict: str  # fail | by design | pass | outside
    severity: str
    region: str
    resource_id: str
    role: str
    message: str
    reason: str = ""


def classify(findings: Iterable[Mapping[str, Any]], roles: Mapping[str, str], public_subnets: bool = False
             ) -> tuple[Finding, ...]:
    """Prowler's OCSF findings (``json-ocsf`` output), each sorted into fail / by design / pass /
    outside for a stack whose resources are ``roles`` (:func:`owned`)."""
    exceptions = {(b.check, b.role): b for b in BY_DESIGN if not (b.when == "private" and public_subnets)}
    out = []
    for f in findings:
        check = str(f.get("metadata", {}).get("event_code", ""))
        status = str(f.get("status_code", ""))
        res = (f.get("resources") or [{}])[0]
        rid = resource_id(str(res.get("uid", "")))
        role = roles.get(rid, "")
        reason = ""
        if not role:
            verdict = "outside"
        elif status != "FAIL":
            verdict = "pass"
        else:
            base = role.split(":", 1)[0]
            hit = exceptions.get((check, role)) or exceptions.get((check, base))
            verdict, reason = ("by design", hit.reason) if hit else ("fail", "")
        out.append(Finding(check, status, verdict, str(f.get("severity", "")), str(res.get("region", "")), rid, role,
                           str(f.get("status_detail") or f.get("message") or ""), reason))
    return tuple(out)


@dataclass(frozen=True)
class Audit:
    """A Prowler run against one stack: every finding classified, and how it ran."""

    stack: str
    target: str
    regions: tuple[str, ...]
    prowler_version: str
    findings: tuple[Finding, ...]
    seconds: float
    output: str = ""  # the OCSF file Prowler wrote
    skipped: tuple[str, ...] = field(default_factory=tuple)  # Prowler's own errors (API calls it could not make)

    def frame(self):
        """One row per finding (pandas)."""
        import pandas as pd

        return pd.DataFrame([f.__dict__ for f in self.findings],
                            columns=list(Finding.__dataclass_fields__))

    @property
    def failures(self) -> tuple[Finding, ...]:
        """Failed checks on the stack's own resources that are not by design."""
        return tuple(f for f in self.findings if f.verdict == "fail")

    def counts(self):
        """Per check on the stack's resources: how many fail, fail by design, and pass (pandas)."""
        import pandas as pd

        frame = self.frame()
        mine = frame[frame.verdict != "outside"]
        if mine.empty:
            return pd.DataFrame(columns=["check", "fail", "by design", "pass"])
        table = mine.groupby(["check", "verdict"]).size().unstack(fill_value=0)
        for col in ("fail", "by design", "pass"):
            if col not in table.columns:
                table[col] = 0
        table = table[["fail", "by design", "pass"]].reset_index()
        return table.sort_values(["fail", "by design", "check"], ascending=[False, False, True], ignore_index=True)

    def summary(self) -> str:
        mine = [f for f in self.findings if f.verdict != "outside"]
        by_design = sum(f.verdict == "by design" for f in mine)
        return (f"Prowler {self.prowler_version} on {self.stack} ({self.target}, {', '.join(self.regions)}): "
                f"{len(mine)} findings on the stack's resources, {len(self.failures)} failed, {by_design} by design; "
                f"{len(self.findings) - len(mine)} outside the stack; {self.seconds:.0f} s")


# -- running Prowler --------------------------------------------------------------------------------
def prowler_path() -> str:
    """The Prowler executable: ``$LABNET_PROWLER``, else ``.venv-audit/bin/prowler`` (``make audit-venv``),
    else ``prowler`` on PATH."""
    if os.environ.get(ENV_PROWLER):
        return os.environ[ENV_PROWLER]
    local = AUDIT_VENV / "bin" / "prowler"
    if local.exists():
        return str(local)
    found = shutil.which("prowler")
    if found:
        return found
    raise AuditError("Prowler is not installed: run `make audit-venv` (a virtualenv of its own in .venv-audit, "
                     f"prowler=={PROWLER_VERSION}), or set ${ENV_PROWLER} to a prowler executable")


def command(target: Mapping[str, Any], regions: Iterable[str], out_dir: Path, prowler: str,
            services: Iterable[str] = SERVICES) -> tuple[list[str], dict[str, str]]:
    """Prowler's argv and environment for a stack on ``target`` (``Target.describe()``)."""
    regions = list(regions)
    argv = [prowler, "aws", "--service", *services, "--region", *regions, "--scan-unused-services",
            "--output-formats", "json-ocsf", "--output-directory", str(out_dir), "--output-filename", "labnet",
            "--no-banner", "--log-level", "ERROR", "--log-file", str(out_dir / "prowler.log")]
    if target.get("kind") == "emulator":
        from .emulator import TEST_CREDENTIALS

        # Only what Prowler needs: never a user's AWS settings next to the emulator's test credentials.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ENDPOINT_URL": str(target["endpoint"]),
                    "AWS_ACCESS_KEY_ID": TEST_CREDENTIALS["aws_access_key_id"],
                    "AWS_SECRET_ACCESS_KEY": TEST_CREDENTIALS["aws_secret_access_key"],
                    "AWS_DEFAULT_REGION": regions[0], "AWS_EC2_METADATA_DISABLED": "true",
                    "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    else:
        env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    # Prowler writes a config cache under HOME: keep it out of the user's own.
    env["HOME"] = str(out_dir)
    return argv, env


def run(lab: Any, out_dir: str | Path | None = None, prowler: str | None = None,
        services: Iterable[str] = SERVICES) -> Audit:
    """Run Prowler against ``lab``'s deployed stack (its target, its Regions) and classify every finding.
    ``out_dir`` keeps Prowler's output (a temporary folder by default, removed afterwards)."""
    snap = lab.snapshot()  # what verify reads: the stack's resources, each with its role
    roles = owned(snap, lab.stack_outputs())
    prowler = prowler or prowler_path()
    keep = out_dir is not None
    folder = Path(out_dir) if keep else Path(tempfile.mkdtemp(prefix="labnet-audit-"))
    folder.mkdir(parents=True, exist_ok=True)
    target = lab._resolve().describe()
    try:
        argv, env = command(target, lab.spec.regions, folder, prowler, services)
        # Prowler appends to a report it finds: a kept folder run twice would hold two reports in one file.
        (folder / "labnet.ocsf.json").unlink(missing_ok=True)
        started = time.monotonic()
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, check=False)
        seconds = time.monotonic() - started
        output = folder / "labnet.ocsf.json"
        if proc.returncode not in PROWLER_OK or not output.exists():
            tail = "\n".join(proc.stdout.strip().splitlines()[-15:])
            raise AuditError(f"Prowler exited with code {proc.returncode} without its report:\n{tail}")
        findings = json.loads(output.read_text() or "[]")
        errors = _errors(folder / "prowler.log")
        version = str((findings[0].get("metadata", {}).get("product", {}) if findings else {}).get("version", ""))
        return Audit(lab.stack_name, target.get("kind", ""), tuple(lab.spec.regions), version or "?",
                     classify(findings, roles, public_subnets=lab.spec.public_subnets), round(seconds, 1),
                     str(output) if keep else "", errors)
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def _errors(log: Path) -> tuple[str, ...]:
    """The API calls Prowler could not make (its ERROR log lines, one per JSON record; a record whose
    message holds a response body spans several lines), shortened and without duplicates."""
    out: list[str] = []
    try:
        text = log.read_text()
    except OSError:
        return ()
    for module, message in re.findall(r'"module": "([^"]*)", "message": "([^\n]*)', text):
        message = message.rstrip("}").rstrip("\"")
        line = f"{module}: {message[:200]}"
        if line not in out:
            out.append(line)
    return tuple(out)
