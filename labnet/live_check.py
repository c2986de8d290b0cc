"""The live check: the Automation API engine end to end, on a machine that has the ``pulumi`` CLI.

    python -m labnet live-check                          # against the embedded emulator
    python -m labnet live-check --aws us-east-1 --yes    # against your own AWS account (costs a little)

It sizes two small spokes and runs, through the real Pulumi engine: preview, up, the outputs (checked
against what an independent boto3 client finds), an up with no change (it must change nothing), and
destroy (nothing may be left). It prints a report to paste into a bug report: versions, each step
with its result and time. The destroy always runs once an up was tried, also after a failure.

Exit codes: 0 every step passed, 1 a step failed, 2 the check was refused or could not start (bad
arguments, no confirmation for AWS), 3 the ``pulumi`` CLI is not on PATH (this machine cannot run the
check; nothing was done). The state of the check's stack lives in a temporary ``LABNET_HOME``, removed
at the end unless the stack could not be destroyed (then it is kept and its path printed, for the
destroy to rerun); the user's Pulumi plugins (``PULUMI_HOME``) are used as they are.
"""

from __future__ import annotations

import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable

NO_CLI = 3
REFUSED = 2
FAILED = 1
PASSED = 0
INSTANCE_TYPE = "m5.large"  # two small ENA spokes: the check proves the path, not the sizing
SPOKES = 2


@dataclass
class Report:
    """What the check did, as lines a person pastes into a bug report."""

    target: str
    lines: list[str] = field(default_factory=list)
    failed: bool = False

    def step(self, name: str, ok: bool, seconds: float, detail: str = "") -> None:
        self.failed |= not ok
        self.lines.append(f"{'PASS' if ok else 'FAIL'}  {name:<28} {seconds:6.1f}s  {detail}".rstrip())

    def text(self) -> str:
        head = [f"labnet live-check ({self.target})", *versions()]
        verdict = "RESULT: FAIL" if self.failed else "RESULT: PASS"
        return "\n".join(["-" * 72, *head, *self.lines, verdict, "-" * 72])


def versions() -> list[str]:
    """Versions that matter for a bug report (no credentials, no paths of the user's)."""
    from importlib import metadata

    def pkg(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    from .engines import automation

    cli = "not found"
    exe = automation.cli_path()
    if exe:
        try:
            cli = subprocess.run([exe, "version"], capture_output=True, text=True, timeout=60).stdout.strip()
        except (OSError, subprocess.SubprocessError) as exc:
            cli = f"unknown ({type(exc).__name__})"
    from . import __version__

    return [f"labnet {__version__}; python {platform.python_version()} on {platform.system()} {platform.machine()}",
            f"pulumi CLI {cli}; pulumi SDK {pkg('pulumi')}; pulumi-aws {pkg('pulumi-aws')}; boto3 {pkg('boto3')}; "
            f"moto {pkg('moto')}"]


def run(aws_region: str | None = None, yes: bool = False, out: Callable[[str], None] = print,
        ask: Callable[[str], str] = input) -> int:
    """Run the live check; returns the exit code (see the module docstring)."""
    from .engines import automation

    target = f"aws {aws_region}" if aws_region else "embedded emulator"
    if not automation.engine_available():
        out(f"labnet live-check ({target}): {automation.unavailable_reason()}.")
        out("Nothing was done. Install the pulumi CLI (https://www.pulumi.com/docs/install/) and run it again; "
            "the rehearsal engine (make demo) runs everything else without it.")
        return NO_CLI
    if aws_region is not None:
        from . import request
        from .errors import InvalidSpecError

        try:
            request.check_known_region(aws_region)
        except InvalidSpecError as exc:
            out(f"labnet live-check: {exc}")
            return REFUSED
    old_home = os.environ.get("LABNET_HOME")
    home = tempfile.mkdtemp(prefix="labnet-live-check-")
    os.environ["LABNET_HOME"] = home
    try:
        return _run(aws_region, yes, out, ask, target)
    finally:
        left = _anything_left()  # read while LABNET_HOME is still the check's
        if old_home is None:
            os.environ.pop("LABNET_HOME", None)
        else:
            os.environ["LABNET_HOME"] = old_home
        if left:
            # The state is what a rerun of destroy needs: deleting it would strand the network.
            out(f"labnet live-check: the check's state folder is kept at {home} (the stack there was not "
                f"destroyed); finish with `LABNET_HOME={home} python -m labnet destroy <stack> --target ...`, "
                "then delete the folder")
        else:
            shutil.rmtree(home, ignore_errors=True)


def _anything_left() -> bool:
    """Whether a stack in the check's state folder may still own resources (not destroyed, not empty)."""
    import labnet

    try:
        states = list(labnet.stacks().state)
    except Exception:  # noqa: BLE001 unreadable state: keep it
        return True
    return any(state not in ("destroyed", "empty") for state in states)


def _run(aws_region: str | None, yes: bool, out, ask, target_text: str) -> int:
    import labnet
    from . import emulator

    report = Report(target_text)
    region = aws_region or "us-east-1"
    kind = "aws" if aws_region else "emulator"
    stack = f"live-check-{secrets.token_hex(3)}"
    started_emulator = False
    if kind == "emulator":
        started_emulator = emulator.find() is None
    t = time.monotonic()
    try:
        spec = labnet.size(spokes=SPOKES, nodes_per_spoke=2, instance_type=INSTANCE_TYPE, azs=2,
                           interface_mode="ena", region=region, target=kind)
    except labnet.LabnetError as exc:
        out(f"labnet live-check: sizing failed: {exc}")
        return REFUSED
    report.step("size", True, time.monotonic() - t, spec.summary())
    if kind == "aws":
        # Per hour of existence: the check sends no traffic, so the volume-priced items (TGW data,
        # NAT data, flow-log delivery) are nil; their monthly defaults divided by one hour are not a rate.
        est = labnet.cost.estimate(spec, cross_vpc_gb_per_month=0, hours_per_month=1, nat_gb_per_month=0,
                                   flow_log_gb_per_month=0)
        hourly = float(est[est.item == "total"].per_hour_usd.iloc[0])
        out(f"The live check creates {SPOKES} small spokes (VPCs, subnets, one Transit Gateway, attachments) in "
            f"your AWS account, region {region}, as stack {stack!r}, and destroys them again (about 10-15 minutes). "
            f"Expected cost: about ${hourly:.2f} per hour the network exists (AWS bills a started hour), "
            "list prices as labnet/analysis/prices.json records them.")
        if not yes:
            answer = ask(f"Type the region ({region}) to go ahead: ") if sys.stdin.isatty() else ""
            if answer.strip() != region:
                out("labnet live-check: not confirmed; nothing was created (pass --yes to skip the question).")
                return REFUSED
    lab = labnet.Lab(stack, spec, target=kind, engine="pulumi", progress=lambda e: None)
    report.lines.append(f"      stack {stack!r} in backend {lab.backend}; aws provider: "
                        + ("labnet's emulator provider" if kind == "emulator" else "pulumi-aws"))
    ec2 = lab._ec2()
    tried_up = False
    try:
        t = time.monotonic()
        plan = lab.preview()
        creates = int((plan.action == "create").sum())
        report.step("preview", creates == len(plan) and creates > 0, time.monotonic() - t,
                    f"{creates} resource(s) to create")
        t = time.monotonic()
        tried_up = True
        outputs = lab.up()
        vpc_ids = set(outputs[outputs.resource == "vpc"].id)
        found = {v["VpcId"] for v in ec2.describe_vpcs(VpcIds=sorted(vpc_ids))["Vpcs"]} if vpc_ids else set()
        report.step("up", len(vpc_ids) == SPOKES and found == vpc_ids, time.monotonic() - t,
                    f"{len(outputs)} output row(s); {len(found)} of {SPOKES} VPCs found by boto3")
        changes: list[str] = []
        t = time.monotonic()
        labnet.Lab(stack, target=kind, engine="pulumi",
                   progress=lambda e: changes.append(e.name) if e.status == "started" else None).up()
        report.step("up again (no change)", not changes, time.monotonic() - t,
                    f"{len(changes)} resource(s) changed" + (f": {', '.join(changes[:5])}" if changes else ""))
    except labnet.LabnetError as exc:
        report.step("error", False, 0.0, f"{type(exc).__name__}: {str(exc)[:400]}")
    finally:
        if tried_up:
            t = time.monotonic()
            try:
                removed = lab.destroy(delete_logs=True)  # a check leaves nothing, its flow-log bucket included
                left = _left(ec2, stack)
                report.step("destroy", not left, time.monotonic() - t,
                            f"{len(removed)} removed; left on the target: {left or 'nothing'}")
            except labnet.LabnetError as exc:
                report.step("destroy", False, time.monotonic() - t, f"{type(exc).__name__}: {str(exc)[:400]}")
                out(f"THE NETWORK MAY STILL EXIST: run `python -m labnet destroy {stack} --target {kind}` with "
                    f"LABNET_HOME={os.environ.get('LABNET_HOME')} or delete resources tagged stack={stack}")
        if started_emulator:
            emulator.stop()
    out(report.text())
    return FAILED if report.failed else PASSED


def _left(ec2, stack: str) -> list[str]:
    """Resources tagged with the check's stack that the target still holds (an independent look)."""
    flt = [{"Name": "tag:stack", "Values": [stack]}]
    left = [v["VpcId"] for v in ec2.describe_vpcs(Filters=flt)["Vpcs"]]
    left += [t["TransitGatewayId"] for t in ec2.describe_transit_gateways(Filters=flt)["TransitGateways"]
             if t["State"] not in ("deleted", "deleting")]
    return left
