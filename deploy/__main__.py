"""Entry point for `pulumi up` at the repository root (see Pulumi.yaml).

The folder is called ``deploy`` (not ``pulumi``) so nothing shadows the ``pulumi`` package.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import boto3  # noqa: E402

from labnet import preflight, program  # noqa: E402
from labnet.facts import instances  # noqa: E402

spec = program.spec_from_config()
# AWS's rules with this account's own facts (its AZs and their IDs, where the instance type is
# offered), read with the credentials `pulumi up` deploys with, before the engine creates anything.
# A spec sized against the emulator (`python -m labnet spec` without --target aws) stops here.
preflight.check(spec, instances.spec_facts(spec, lambda region: boto3.client("ec2", region_name=region)))
program.pulumi_program(spec)
