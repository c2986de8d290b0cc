"""Issue 5, item 4: two operations on one stack (two processes; two clicks in one form): exactly one
proceeds, the other is refused with the holder named. A lock left by a dead process is reported with
its pid, host and age and is broken only on an explicit request."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest

import labnet
from labnet.engines.state import StackStore
from tests.reliability.conftest import python, spawn, wait_for
from tests.reliability.util import SMALL_NETWORK, counts, left_behind, slow_up_code

pytestmark = pytest.mark.e2e


def _wait_until_held(store: StackStore, proc, operation: str) -> dict:
    return wait_for(lambda: (h := store.holder()) and h.get("operation") == operation and h,
                    proc=proc, what=f"{operation} to take the lock")


def _finish(proc) -> str:
    try:
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    return out


def test_destroy_while_another_process_runs_up_is_refused(ec2, small_spec, tmp_path, figures):
    store = StackStore("race-up")
    release = tmp_path / "release"
    proc = spawn(slow_up_code("race-up", small_spec, hold_at=4, release=str(release)))
    try:
        _wait_until_held(store, proc, "up")
        for op in ("destroy", "up", "refresh"):
            with pytest.raises(labnet.StackLockedError) as err:
                getattr(labnet.Lab("race-up", small_spec, engine="rehearsal"), op)()
            text = str(err.value)
            assert f"locked by up in pid {proc.pid} on {socket.gethostname()}" in text
            assert "process alive" in text and "wait for it to finish" in text
            assert err.value.holder["alive"] is True
    finally:
        release.touch()
        out = _finish(proc)
    assert "finished deployed" in out  # the holder was not disturbed
    assert counts(ec2) == SMALL_NETWORK
    labnet.Lab("race-up").destroy()
    figures.fault("test_destroy_while_another_process_runs_up", "destroy, up and refresh racing an up in "
                  "another process", left_behind(ec2))
    assert left_behind(ec2) == 0


def test_up_while_another_process_runs_destroy_is_refused(ec2, small_spec, tmp_path, figures):
    labnet.Lab("race-destroy", small_spec, engine="rehearsal").up()
    store = StackStore("race-destroy")
    release = tmp_path / "release"
    proc = spawn(slow_up_code("race-destroy", small_spec, op="destroy", hold_at=4, release=str(release)))
    try:
        _wait_until_held(store, proc, "destroy")
        with pytest.raises(labnet.StackLockedError) as err:
            labnet.Lab("race-destroy", small_spec, engine="rehearsal").up()
        assert f"locked by destroy in pid {proc.pid}" in str(err.value)
    finally:
        release.touch()
        out = _finish(proc)
    assert "finished destroyed" in out
    figures.fault("test_up_while_another_process_runs_destroy", "up racing a destroy in another process",
                  left_behind(ec2))
    assert left_behind(ec2) == 0


def started_wait(event, thread, timeout=60) -> bool:
    """Wait until ``event`` is set (the first operation has made its first resource)."""
    deadline = time.monotonic() + timeout
    while not event.is_set() and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    return event.is_set()


def test_two_clicks_on_deploy_in_one_form(ec2, small_spec, figures):
    """The deploy form's handler called from two threads, the second while the first runs."""
    from labnet.widgets import DeployForm

    form = DeployForm("two-clicks", small_spec, engine="rehearsal")
    started, second_done = threading.Event(), threading.Event()
    shown = form.on_progress

    def held(event):  # the first deploy goes on only once the second click has been answered
        started.set()
        shown(event)
        second_done.wait(60)

    def second_click():
        try:
            form.on_deploy()
        finally:
            second_done.set()

    form.on_progress = held
    a = threading.Thread(target=form.on_deploy)
    a.start()
    assert started_wait(started, a)
    b = threading.Thread(target=second_click)
    b.start()
    b.join(120)
    a.join(180)

    results = [(kind, text) for kind, text in form.history if kind in ("ok", "refused", "error")]
    deployed = [t for k, t in results if k == "ok" and t.startswith("deployed two-clicks")]
    refused = [t for k, t in results if k == "refused"]
    assert len(deployed) == 1 and len(refused) == 1, results
    assert f"locked by up in pid {os.getpid()} on {socket.gethostname()}" in refused[0]
    assert not [t for k, t in results if k == "error"]
    assert counts(ec2) == SMALL_NETWORK  # one network, not two
    labnet.Lab("two-clicks").destroy()
    figures.fault("test_two_clicks_on_deploy_in_one_form", "two deploy clicks in one form", left_behind(ec2))
    assert left_behind(ec2) == 0


def test_two_threads_calling_up_exactly_one_proceeds(ec2, small_spec, figures):
    started, second_done = threading.Event(), threading.Event()
    outcomes: list = []

    def held(event):  # the first up goes on only once the second has been answered
        started.set()
        second_done.wait(60)

    def up(progress):
        try:
            labnet.Lab("two-threads", small_spec, engine="rehearsal", progress=progress).up()
            outcomes.append("deployed")
        except labnet.StackLockedError as exc:
            outcomes.append(exc)
        finally:
            if progress is None:
                second_done.set()

    a = threading.Thread(target=up, args=(held,))
    a.start()
    assert started_wait(started, a)
    b = threading.Thread(target=up, args=(None,))
    b.start()
    b.join(120)
    a.join(180)
    assert outcomes[0] != "deployed" and outcomes[1] == "deployed"  # the second refused at once
    assert isinstance(outcomes[0], labnet.StackLockedError) and outcomes[0].holder["pid"] == os.getpid()
    assert counts(ec2) == SMALL_NETWORK
    labnet.Lab("two-threads").destroy()
    figures.fault("test_two_threads_calling_up", "two threads calling up at once", left_behind(ec2))
    assert left_behind(ec2) == 0


HOLD_LOCK = """
import sys, time
from labnet.engines.state import StackStore
with StackStore({stack!r}).lock("up"):
    print("holding", flush=True)
    time.sleep(600)
"""


def test_lock_of_a_dead_process_is_reported_and_broken_only_on_request(ec2, small_spec, figures):
    store = StackStore("dead-holder")
    proc = spawn(HOLD_LOCK.format(stack="dead-holder"))
    try:
        wait_for(store.holder, proc=proc, what="the lock")
        # While the holder lives, even an explicit unlock is refused: it would let two operations run.
        with pytest.raises(labnet.StackLockedError):
            labnet.Lab("dead-holder", small_spec, engine="rehearsal").break_lock()
        refused = python("import labnet.__main__ as m, sys; sys.exit(m.main(['unlock', 'dead-holder']))", check=False)
        assert refused.returncode == 2 and f"pid {proc.pid}" in refused.stderr and "process alive" in refused.stderr
        assert store.holder() is not None
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    time.sleep(1.1)

    lab = labnet.Lab("dead-holder", small_spec, engine="rehearsal")
    for _ in range(3):  # reported every time; nothing breaks it implicitly
        with pytest.raises(labnet.StackLockedError) as err:
            lab.up()
        h = err.value.holder
        assert (h["pid"], h["host"], h["alive"]) == (proc.pid, socket.gethostname(), False)
        assert h["age_seconds"] >= 1
        text = str(err.value)
        assert f"pid {proc.pid} on {socket.gethostname()}, " in text and "s ago" in text and "stale lock" in text
        assert "`python -m labnet unlock dead-holder`" in text
    assert left_behind(ec2) == 0  # refused before any AWS call

    out = python("import subprocess, sys; sys.exit(subprocess.call([sys.executable, '-m', 'labnet', 'unlock', "
                 "'dead-holder']))")
    assert f"'pid': {proc.pid}" in out.stdout and "lock removed" in out.stdout
    assert store.holder() is None
    lab.up()
    assert counts(ec2) == SMALL_NETWORK
    lab.destroy()
    figures.fault("test_lock_of_a_dead_process", "SIGKILL of a process holding the stack lock", left_behind(ec2))
    assert left_behind(ec2) == 0


def test_unreadable_lock_file_is_reported_with_its_age(ec2, small_spec):
    """A process killed between creating the lock file and writing it leaves it empty."""
    store = StackStore("empty-lock")
    store.dir.mkdir(parents=True)
    store.lock_path.write_text("")
    old = time.time() - 120
    os.utime(store.lock_path, (old, old))
    lab = labnet.Lab("empty-lock", small_spec, engine="rehearsal")
    with pytest.raises(labnet.StackLockedError) as err:
        lab.up()
    assert "unreadable lock file" in str(err.value) and err.value.holder["age_seconds"] >= 119
    assert "if you are sure nothing runs" in str(err.value)
    assert lab.break_lock()["operation"].startswith("unknown")
    assert store.holder() is None and left_behind(ec2) == 0

