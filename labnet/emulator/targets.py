"""Where a network is built: the embedded emulator (default) or a real AWS account.

A target hands out EC2 clients and the aws provider config the Automation API engine needs. Its
``describe()`` is safe to print: endpoint and region, never credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidSpecError

KINDS = ("emulator", "aws")


@dataclass(frozen=True)
class Target:
    kind: str
    region: str
    endpoint: str | None = None  # the emulator's URL; None for real AWS

    def ec2(self, region: str | None = None):
        """A boto3 EC2 client for this target, in its region or in ``region`` (a network across
        regions; the emulator serves every region on one port)."""
        return self.client("ec2", region)

    def client(self, service: str, region: str | None = None):
        """A boto3 client for ``service`` on this target (the emulator serves every service moto has)."""
        region = region or self.region
        if self.kind == "emulator":
            from .. import emulator

            em = emulator.Emulator(url=self.endpoint) if self.endpoint else emulator.ensure()
            return em.client(service, region)
        import boto3

        return boto3.session.Session().client(service, region_name=region)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "region": self.region, "endpoint": self.endpoint or "aws"}

    def pulumi_config(self) -> dict[str, tuple[str, bool]]:
        """Stack config for the Automation API engine: ``{key: (value, secret)}``.

        Only the region: where resources go is decided by the explicit aws provider the program builds
        from :meth:`program_target`, and that provider's settings live in the stack's state. So a stack
        never carries an emulator's endpoints in its config, and a destroy goes where the resources
        were created (Pulumi deletes through the provider recorded in the state).
        """
        return {"aws:region": (self.region, False)}

    def program_target(self) -> dict[str, Any]:
        """What the program needs to build its aws provider (plain data, see :func:`labnet.program.build`).

        For the emulator: its endpoint, its fixed test credentials (never the user's) and the skip
        flags that stop the provider from validating credentials, looking up the account id, probing
        the instance metadata API or validating the region name. For AWS: nothing but the kind; the
        provider takes the user's credential chain, as the pulumi CLI would.
        """
        if self.kind == "emulator":
            from . import TEST_CREDENTIALS

            return {"kind": "emulator", "endpoint": self.endpoint,
                    "access_key": TEST_CREDENTIALS["aws_access_key_id"],
                    "secret_key": TEST_CREDENTIALS["aws_secret_access_key"]}
        return {"kind": self.kind}


def resolve(kind: str, region: str) -> Target:
    """The target for ``kind``; for the emulator this finds or starts it."""
    if kind not in KINDS:
        raise InvalidSpecError("target", kind, f"must be one of {list(KINDS)}", "'emulator' needs no AWS account")
    if kind == "emulator":
        from .. import emulator

        return Target("emulator", region, emulator.ensure().url)
    return Target("aws", region)
