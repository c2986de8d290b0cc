"""Entry point for `pulumi up` at the repository root (see Pulumi.yaml).

The folder is called ``deploy`` (not ``pulumi``) so nothing shadows the ``pulumi`` package.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from labnet import preflight, program  # noqa: E402

spec = program.spec_from_config()
preflight.check(spec)  # AWS's rules, before the engine creates anything
program.pulumi_program(spec)
