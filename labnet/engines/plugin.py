"""labnet's emulator provider installed as the ``aws`` plugin in a PULUMI_HOME of labnet's own.

The real engine looks for the aws provider at ``$PULUMI_HOME/plugins/resource-aws-v<version>/
pulumi-resource-aws`` (the version pulumi_aws asks for). For the emulator target that is labnet's
provider (:mod:`labnet.engines.provider`), under ``$LABNET_HOME/pulumi/emulator-home``: a PULUMI_HOME
used only for the emulator, so the user's own ``~/.pulumi`` (their real pulumi-aws, their Pulumi
Cloud login) is never touched, and a stack on real AWS never meets this provider. Nothing is
downloaded: the plugin is a two-line script that runs this Python with labnet on its path.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from .. import paths

EXECUTABLE = "pulumi-resource-aws"


def pulumi_home(home: Path) -> Path:
    """labnet's PULUMI_HOME for the emulator target (0700), under labnet's state folder ``home``."""
    return paths.private_dir(home / "pulumi" / "emulator-home")


def plugin_dir(home: Path, version: str) -> Path:
    """Where Pulumi looks for the aws resource plugin ``version`` in labnet's emulator PULUMI_HOME."""
    return pulumi_home(home) / "plugins" / f"resource-aws-v{version}"


def script() -> str:
    """The plugin executable: this interpreter running the provider module, labnet on its path."""
    import labnet

    source = Path(labnet.__file__).resolve().parent.parent
    return ("#!/bin/sh\n"
            "# labnet's emulator provider, standing in for pulumi-aws on the embedded emulator\n"
            "# (written by labnet.engines.plugin; rewritten when labnet or its Python move).\n"
            f"PYTHONPATH={shlex.quote(str(source))}${{PYTHONPATH:+:$PYTHONPATH}} "
            f"exec {shlex.quote(sys.executable)} -m labnet.engines.provider \"$@\"\n")


def install(home: Path, version: str | None = None) -> Path:
    """Install (or refresh) the provider as the aws plugin ``version`` (default: pulumi_aws's) in
    labnet's emulator PULUMI_HOME; return that PULUMI_HOME, for the Automation API's ``PULUMI_HOME``."""
    from .automation import aws_plugin_version

    version = version or aws_plugin_version()
    folder = paths.private_dir(plugin_dir(home, version))
    exe = folder / EXECUTABLE
    text = script()
    if not exe.exists() or exe.read_text() != text:
        paths.write_private(exe, text)
    os.chmod(exe, 0o700)
    # A folder Pulumi left half-installed carries a marker that makes it ignore the plugin.
    partial = folder.parent / f"resource-aws-v{version}.partial"
    if partial.exists():
        partial.unlink()
    return pulumi_home(home)
