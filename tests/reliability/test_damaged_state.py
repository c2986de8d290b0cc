"""Issue 5, item 6: a damaged state folder (truncated JSON, a missing file, garbage in the journal)
gives a clear StateCorruptError, keeps the damaged file aside with its original bytes, and is never
treated as an empty stack that then redeploys over the resources that exist."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import labnet
from labnet.engines.state import StackStore
from tests.reliability.conftest import journal_events, python, spawn, wait_for
from tests.reliability.util import emulator_ids, left_behind, slow_up_code

pytestmark = pytest.mark.e2e


def _refused_everywhere(stack: str, spec, damaged: Path, ec2, expected_reason: str) -> Path:
    """Every way in is refused with StateCorruptError, the inventory is untouched, and the kept copy
    holds the damaged file's bytes. Returns the kept copy."""
    raw = damaged.read_bytes() if damaged.exists() else None
    before = emulator_ids(ec2)
    kept = None
    copies = []
    for attempt in range(2):  # the second attempt must not find an "empty" stack either
        with pytest.raises(labnet.StateCorruptError) as err:
            labnet.Lab(stack, spec, engine="rehearsal").up()
        assert expected_reason in str(err.value) and "will not treat the stack as empty" in str(err.value)
        kept = Path(err.value.kept_at)
        assert kept.exists() and kept.stat().st_mode & 0o777 == 0o600
        if raw is not None:
            assert kept.read_bytes() == raw
        with pytest.raises(labnet.StateCorruptError):
            labnet.Lab(stack).destroy()
        assert emulator_ids(ec2) == before  # nothing deployed over, nothing deleted
        copies.append(sorted(kept.parent.glob("*.damaged-*")))
    assert copies[0] == copies[1]  # one copy of the damage, not one per attempt
    cli = subprocess.run([sys.executable, "-m", "labnet", "destroy", stack], capture_output=True, text=True)
    assert cli.returncode == 2 and "StateCorruptError" in cli.stderr
    listing = labnet.stacks().set_index("stack_name")
    assert listing.loc[stack, "state"].startswith("damaged")
    assert emulator_ids(ec2) == before
    return kept


@pytest.mark.parametrize("damage, reason", [
    (lambda raw: raw[: len(raw) // 2], "JSONDecodeError"),
    (lambda raw: b"", "JSONDecodeError"),
    (lambda raw: b"[]", "TypeError"),
    (lambda raw: raw.replace(b'"stack": "dmg-snapshot"', b'"stack": "someone-else"'), "belongs to stack"),
    (lambda raw: b"\x00\xff" * 50, "Error"),
], ids=["truncated", "empty", "not-an-object", "other-stack", "binary"])
def test_damaged_snapshot(ec2, small_spec, damage, reason, figures):
    lab = labnet.Lab("dmg-snapshot", small_spec, engine="rehearsal")
    lab.up()
    path = lab._store.state_path
    good = path.read_bytes()
    path.write_bytes(damage(good))

    _refused_everywhere("dmg-snapshot", small_spec, path, ec2, reason)

    path.write_bytes(good)  # what the message says: restore a good copy
    labnet.Lab("dmg-snapshot").destroy()
    figures.fault(f"test_damaged_snapshot[{reason}]", "damaged state.json", left_behind(ec2))
    assert left_behind(ec2) == 0


def test_damaged_journal_and_missing_snapshot_after_a_killed_up(ec2, small_spec, figures):
    """A killed up leaves a snapshot plus a journal of every resource since; damage each in turn."""
    store = StackStore("dmg-journal")
    proc = spawn(slow_up_code("dmg-journal", small_spec, hold_at=8))
    try:
        wait_for(lambda: journal_events(store.journal_path, "created") >= 8, proc=proc, what="8 resources")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    assert store.break_lock()["pid"] == proc.pid
    snapshot, journal = store.state_path.read_bytes(), store.journal_path.read_bytes()
    lines = journal.splitlines(keepends=True)
    assert len(lines) > 10

    # Garbage in the middle of the journal (not a cut last line, which a kill can leave).
    store.journal_path.write_bytes(b"".join(lines[:5] + [b'{"event": "crea\x00 garbage\n'] + lines[5:]))
    _refused_everywhere("dmg-journal", small_spec, store.journal_path, ec2, "journal.jsonl")
    store.journal_path.write_bytes(journal)

    # The snapshot is gone but the journal is there: not a new stack.
    store.state_path.unlink()
    kept = _refused_everywhere("dmg-journal", small_spec, store.state_path, ec2, "the snapshot is missing")
    assert kept.read_bytes() == journal and store.journal_path.read_bytes() == journal
    store.state_path.write_bytes(snapshot)

    # A cut last line is what a kill mid-write leaves: tolerated, the resource is still "pending".
    store.journal_path.write_bytes(journal + b'{"event":"created","urn":"aws:ec2/vp')
    labnet.Lab("dmg-journal").destroy()
    figures.fault("test_damaged_journal", "garbage mid-journal, missing snapshot, cut last line", left_behind(ec2))
    assert left_behind(ec2) == 0


def test_stack_folder_without_state_is_new_only_when_it_holds_nothing(tmp_path):
    """The one case that is an empty stack: a folder with neither snapshot nor journal."""
    store = StackStore("never-used")
    store.dir.mkdir(parents=True)
    assert store.load().resources == {}
    store.journal_path.write_text(json.dumps({"event": "operation", "operation": {"kind": "up"}}) + "\n")
    with pytest.raises(labnet.StateCorruptError):
        store.load()


def test_python_m_labnet_stacks_shows_the_damage(ec2, small_spec):
    lab = labnet.Lab("dmg-list", small_spec, engine="rehearsal")
    lab.up()
    good = lab._store.state_path.read_bytes()
    lab._store.state_path.write_bytes(good[:10])
    out = python("import labnet.__main__ as m; m.main(['stacks'])")
    assert "damaged" in out.stdout
    lab._store.state_path.write_bytes(good)
    lab.destroy()
    assert left_behind(ec2) == 0
