"""Issue 5, item 10: labnet's state folder is 0700 and the passphrase, state, journal and lock files 0600
after first use, whatever the umask.

Each run is a new process with the umask set first (000: everything world-writable unless labnet says
otherwise; 077: the careful user's), starting from an empty LABNET_HOME, and uses everything that
writes there: labnet's own emulator (emulator.json, emulator.log), a rehearsal up (state, journal
and lock, looked at while they exist), the Automation API workspace (backend and work folders,
the generated passphrase file) and a damaged state file's kept copy."""

from __future__ import annotations

import json
import os

import pytest

from tests.reliability.conftest import python

pytestmark = pytest.mark.e2e

RUN = """
import json, os
os.umask({umask})
import labnet
from labnet import emulator, paths
from labnet.engines import automation
from labnet.engines.state import StackStore

home = paths.home()
em = emulator.start()  # labnet's own emulator, recorded in the state folder
try:
    stack_dir = home / "stacks" / "perm"
    seen = {{}}

    def watch(event):  # the lock and the journal exist only while an operation runs
        for name in ("lock", "journal.jsonl", "state.json"):
            p = stack_dir / name
            if p.exists():
                seen.setdefault(name, p.stat().st_mode & 0o777)

    spec = labnet.size(spokes=2, nodes_per_spoke=4, azs=1)
    lab = labnet.Lab("perm", spec, engine="rehearsal", progress=watch)
    lab.up()
    automation.workspace_options(home)  # backend/work folders and the generated passphrase file (PULUMI_HOME is the user's own)
    # A damaged state file: labnet keeps a copy aside.
    other = StackStore("perm-damaged")
    other.dir.mkdir(mode=0o700, parents=True)
    fd = os.open(other.state_path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"{{truncated")
    os.close(fd)
    try:
        other.load()
    except labnet.StateCorruptError:
        pass
    modes = {{str(p.relative_to(home)) or ".": (p.is_dir(), p.stat().st_mode & 0o777)
             for p in [home, *home.rglob("*")]}}
    lab.destroy()
finally:
    emulator.stop()
print(json.dumps({{"during": seen, "modes": modes}}))
"""


@pytest.mark.parametrize("umask", [0o000, 0o077, 0o022])
def test_state_folder_is_private_whatever_the_umask(umask, tmp_path):
    home = tmp_path / f"home-{umask:03o}"
    env = {k: v for k, v in os.environ.items() if k not in ("LABNET_EMULATOR_URL",)}
    env["LABNET_HOME"] = str(home)
    out = python(RUN.format(umask=oct(umask)), env=env, timeout=240)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["during"] == {"lock": 0o600, "journal.jsonl": 0o600, "state.json": 0o600}
    modes = report["modes"]
    for must in ("stacks/perm/state.json", "emulator.json", "emulator.log", "pulumi/passphrase",
                 "pulumi/backend", "pulumi/work"):
        assert must in modes, sorted(modes)
    assert any(".damaged-" in name for name in modes)
    wrong = {name: oct(mode) for name, (is_dir, mode) in modes.items() if mode != (0o700 if is_dir else 0o600)}
    assert wrong == {}, wrong
