"""Keep secrets out of anything labnet prints, raises or writes.

:func:`redact` replaces the current values of the AWS credential variables, the Pulumi passphrase
(from the environment or labnet's passphrase file) with ``[secret]``.
"""

from __future__ import annotations

import os
from pathlib import Path

from .outputs import SECRET

SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "PULUMI_CONFIG_PASSPHRASE",
              "PULUMI_ACCESS_TOKEN")
MASK = SECRET  # the one secret marker (labnet.outputs): a secret value and a credential read the same


def secret_values(home: Path | None = None) -> list[str]:
    values = [os.environ.get(k, "") for k in SECRET_ENV]
    files = [os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE", "")]
    if home is not None:
        files.append(str(home / "pulumi" / "passphrase"))
    for f in files:
        if f:
            try:
                values.append(Path(f).read_text().strip())
            except OSError:
                pass
    # Short values would mask ordinary words; real secrets are long.
    return sorted({v for v in values if len(v) >= 8}, key=len, reverse=True)


def redact(text: str, home: Path | None = None) -> str:
    for value in secret_values(home):
        text = text.replace(value, MASK)
    return text
