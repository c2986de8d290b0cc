"""labnet's own state folder (``$LABNET_HOME``, default ``~/.labnet``), private to the user.

Folders are created 0700 and files 0600 whatever the umask, because the folder holds stack state
and the Pulumi passphrase.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def home() -> Path:
    """The state folder, created 0700 on first use."""
    root = Path(os.environ.get("LABNET_HOME") or Path.home() / ".labnet").expanduser()
    return private_dir(root)


def private_dir(path: Path) -> Path:
    """``path`` and every folder created on the way to it, 0700 whatever the umask."""
    missing = []
    parent = path
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    # mkdir(parents=True) would make the intermediate folders (``stacks`` under the home, say) with
    # the umask's mode, world-writable under umask 000; mkdir's own mode is masked too, chmod is not.
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
    os.chmod(path, 0o700)
    return path


def write_private(path: Path, data: str | bytes) -> None:
    """Write atomically (temp file + rename) with mode 0600."""
    private_dir(path.parent)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json(path: Path, value: Any) -> None:
    write_private(path, json.dumps(value, indent=1, sort_keys=True, default=str))


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` runs on this machine (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True
