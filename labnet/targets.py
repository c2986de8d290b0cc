"""Where a network is built: the embedded emulator (default) or a real AWS account.

A target hands out EC2 clients and the aws provider config the Automation API engine needs. Its
``describe()`` is safe to print: endpoint and region, never credentials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .errors import InvalidSpecError

KINDS = ("emulator", "aws")


@dataclass(frozen=True)
class Target:
    kind: str
    region: str
    endpoint: str | None = None  # the emulator's URL; None for real AWS

    def ec2(self):
        """A boto3 EC2 client for this target."""
        return self.client("ec2")

    def client(self, service: str):
        """A boto3 client for ``service`` on this target (the emulator serves every service moto has)."""
        if self.kind == "emulator":
            from . import emulator

            em = emulator.Emulator(url=self.endpoint) if self.endpoint else emulator.ensure()
            return em.client(service, self.region)
        import boto3

        return boto3.session.Session().client(service, region_name=self.region)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "region": self.region, "endpoint": self.endpoint or "aws"}

    def pulumi_config(self) -> dict[str, tuple[str, bool]]:
        """aws provider config for the Automation API engine: ``{key: (value, secret)}``.

        For the emulator: its endpoints for the services the program uses, its test credentials, and
        the skip flags that stop the provider from validating credentials, looking up the account id,
        probing the instance metadata API or validating the region name.
        """
        config = {"aws:region": (self.region, False)}
        if self.kind == "emulator":
            from .emulator import TEST_CREDENTIALS

            config.update({
                "aws:accessKey": (TEST_CREDENTIALS["aws_access_key_id"], False),
                "aws:secretKey": (TEST_CREDENTIALS["aws_secret_access_key"], True),
                "aws:skipCredentialsValidation": ("true", False),
                "aws:skipRequestingAccountId": ("true", False),
                "aws:skipMetadataApiCheck": ("true", False),
                "aws:skipRegionValidation": ("true", False),
                "aws:s3UsePathStyle": ("true", False),
                "aws:endpoints": (json.dumps([{"ec2": self.endpoint, "sts": self.endpoint,
                                               "s3": self.endpoint, "iam": self.endpoint}]), False),
            })
        return config


def resolve(kind: str, region: str) -> Target:
    """The target for ``kind``; for the emulator this finds or starts it."""
    if kind not in KINDS:
        raise InvalidSpecError("target", kind, f"must be one of {list(KINDS)}", "'emulator' needs no AWS account")
    if kind == "emulator":
        from . import emulator

        return Target("emulator", region, emulator.ensure().url)
    return Target("aws", region)
