"""Issue 5, item 1: an operation interrupted part-way (KeyboardInterrupt, SIGINT, SIGKILL) leaves state
from which ``destroy`` removes everything that was created, and the next ``up`` reports the interrupted
operation and offers a safe way on (``up(resume=True)`` or ``destroy()``)."""

from __future__ import annotations

import json
import os
import signal
import socket

import pytest

import labnet
from labnet.engines.state import StackStore
from tests.reliability.conftest import journal_events, spawn, wait_for
from tests.reliability.util import SMALL_NETWORK, counts, emulator_ids, left_behind, slow_up_code, state_ids
from tests.helpers import declared, plan

pytestmark = pytest.mark.e2e

# Resources of the two-spoke, one-AZ network (small_spec), counted from what the program declares.
NETWORK = len(declared(plan(spokes=2, nodes_per_spoke=4, azs=1))[0])


def _refused_up_names_interruption(lab: labnet.Lab) -> str:
    with pytest.raises(labnet.InterruptedOperationError) as err:
        lab.up()
    text = str(err.value)
    assert "did not finish" in text and "up(resume=True)" in text and "destroy()" in text
    return text


def test_keyboard_interrupt_mid_up_then_destroy_removes_everything(ec2, small_spec, figures):
    """KeyboardInterrupt raised from the progress callback (the kernel's interrupt, delivered while
    labnet is inside a resource hook) after 7 resources."""
    done = []

    def interrupt_after_7(event):
        if event.status == "done":
            done.append(event.name)
            if len(done) == 7:
                raise KeyboardInterrupt

    lab = labnet.Lab("ki-up", small_spec, engine="rehearsal", progress=interrupt_after_7)
    with pytest.raises(labnet.InterruptedOperationError) as err:
        lab.up()
    assert isinstance(err.value.__cause__, KeyboardInterrupt)
    assert "was interrupted" in str(err.value)
    # Ctrl-C stays an interrupt for code that handles interrupts, and a labnet error for the rest.
    assert isinstance(err.value, KeyboardInterrupt) and isinstance(err.value, labnet.LabnetError)

    # up returned only after the EC2 calls already in flight had finished and were journaled:
    # the state names every resource the emulator holds, and none is left "in flight".
    st = lab._store.load()
    assert st.operation and st.operation["kind"] == "up"
    assert not st.pending
    assert 7 <= len(st.created) < NETWORK
    assert emulator_ids(ec2) <= state_ids(lab._store)
    assert lab._store.holder() is None  # the lock went with the operation

    before = emulator_ids(ec2)
    _refused_up_names_interruption(labnet.Lab("ki-up", small_spec, engine="rehearsal"))
    assert emulator_ids(ec2) == before  # refusing touched nothing

    removed = labnet.Lab("ki-up").destroy()
    assert len(removed) == len(st.created)
    figures.fault("test_keyboard_interrupt_mid_up", "KeyboardInterrupt in the progress callback", left_behind(ec2))
    assert left_behind(ec2) == 0


def test_sigint_to_a_process_running_up_then_resume_finishes_it(ec2, small_spec, tmp_path, figures):
    """SIGINT (Ctrl-C, the kernel's interrupt button) to another process while its up runs."""
    store = StackStore("sigint-up")
    release = tmp_path / "release"
    proc = spawn(slow_up_code("sigint-up", small_spec, hold_at=6, release=str(release)))
    try:
        wait_for(lambda: journal_events(store.journal_path, "created") >= 6, proc=proc, what="6 resources")
        proc.send_signal(signal.SIGINT)
        release.touch()  # the worker threads finish what they hold; no new create starts
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read()
    assert proc.returncode != 0
    assert "InterruptedByUserError" in stderr and "was interrupted" in stderr
    assert store.holder() is None
    st = store.load()
    assert not st.pending and 6 <= len(st.created) < NETWORK
    assert emulator_ids(ec2) <= state_ids(store)

    lab = labnet.Lab("sigint-up", small_spec, engine="rehearsal")
    _refused_up_names_interruption(lab)
    lab.up(resume=True)
    assert lab.status() == "deployed"
    assert len(lab._store.load().created) == NETWORK
    assert counts(ec2) == SMALL_NETWORK  # nothing made twice
    assert emulator_ids(ec2) <= state_ids(lab._store)  # nothing untracked

    lab.destroy()
    figures.fault("test_sigint_to_a_process_running_up", "SIGINT to a process mid-up", left_behind(ec2))
    assert left_behind(ec2) == 0


def _stale_lock_is_reported_then_broken(lab: labnet.Lab, pid: int) -> None:
    for _ in range(2):  # reported every time, never broken implicitly
        with pytest.raises(labnet.StackLockedError) as err:
            lab.up()
        holder = err.value.holder
        assert holder["pid"] == pid and holder["host"] == socket.gethostname()
        assert holder["alive"] is False and holder["age_seconds"] >= 0
        text = str(err.value)
        assert f"pid {pid}" in text and socket.gethostname() in text and "s ago" in text
        assert "stale lock" in text and "break_lock()" in text and "python -m labnet unlock" in text
    held = lab.break_lock()
    assert held["pid"] == pid
    assert lab._store.holder() is None


def test_sigkill_mid_up_then_destroy_removes_everything(ec2, small_spec, figures):
    """kill -9 once the journal holds 6 "created" lines: no handler runs, the lock stays behind."""
    store = StackStore("kill-up")
    proc = spawn(slow_up_code("kill-up", small_spec, hold_at=6))
    try:
        wait_for(lambda: journal_events(store.journal_path, "created") >= 6, proc=proc, what="6 resources")
        proc.kill()
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    assert emulator_ids(ec2)  # resources exist that only the journal knows about

    lab = labnet.Lab("kill-up", small_spec, engine="rehearsal")
    _stale_lock_is_reported_then_broken(lab, proc.pid)
    before = emulator_ids(ec2)
    _refused_up_names_interruption(lab)
    assert emulator_ids(ec2) == before

    lab.destroy()
    figures.fault("test_sigkill_mid_up", "SIGKILL mid-up", left_behind(ec2))
    assert left_behind(ec2) == 0
    assert lab.status() == "destroyed"


# The process hangs on the first EC2 call named OP, which a handler makes right after its create call
# returned (CreateVpc -> ModifyVpcAttribute, CreateSecurityGroup -> RevokeSecurityGroupEgress), and is
# killed there: the resource exists, but the journal's last word on it is "pending", with no id.
HANG_ON_CALL = """
import json, time, botocore.session
real = botocore.session.Session.create_client
def create_client(self, *args, **kwargs):
    client = real(self, *args, **kwargs)
    def hang(model, params, **_):
        if model.name == {op!r}:
            open({marker!r}, "w").write(json.dumps(params, default=str))
            time.sleep(600)
    client.meta.events.register("before-parameter-build", hang)
    return client
botocore.session.Session.create_client = create_client
"""


def _kill_between_calls(tmp_path, stack, spec, op):
    marker = tmp_path / f"hung-on-{op}"
    proc = spawn(slow_up_code(stack, spec, delay=0, extra=HANG_ON_CALL.format(op=op, marker=str(marker))))
    try:
        params = wait_for(lambda: marker.exists() and marker.read_text(), proc=proc, what=f"a {op} call")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    return proc.pid, json.loads(params)


def test_sigkill_with_a_create_in_flight_destroy_removes_the_unrecorded_resource(ec2, small_spec, tmp_path, figures):
    pid, params = _kill_between_calls(tmp_path, "kill-pending", small_spec, "ModifyVpcAttribute")
    vpc_id = params["VpcId"]
    (vpc,) = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    name = {t["Key"]: t["Value"] for t in vpc["Tags"]}["Name"].removeprefix("kill-pending-")
    pending = {r.name: r for r in StackStore("kill-pending").load().pending}
    assert name in pending and pending[name].id is None  # created, never recorded

    lab = labnet.Lab("kill-pending")
    _stale_lock_is_reported_then_broken(lab, pid)
    _refused_up_names_interruption(lab)
    removed = lab.destroy()
    assert name in list(removed.resource)
    assert vpc_id not in {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
    figures.fault("test_sigkill_with_a_create_in_flight", "SIGKILL between a VPC's create call and its journal line",
                  left_behind(ec2))
    assert left_behind(ec2) == 0


def test_sigkill_with_a_create_in_flight_resume_adopts_and_finishes_it(ec2, small_spec, tmp_path, figures):
    """The security group was created but its default allow-all egress not yet revoked when the process
    died: resuming must adopt that group and finish it (revoke, then the declared rules), not make a
    second group and not trip over the leftover default rule."""
    pid, params = _kill_between_calls(tmp_path, "kill-resume", small_spec, "RevokeSecurityGroupEgress")
    group_id = params["GroupId"]
    lab = labnet.Lab("kill-resume", small_spec, engine="rehearsal")
    _stale_lock_is_reported_then_broken(lab, pid)
    _refused_up_names_interruption(lab)
    lab.up(resume=True)
    assert lab.status() == "deployed"
    spokes = lab.exports()["spokes"]
    assert group_id in {sp["security_group_id"] for sp in spokes.values()}  # adopted, not made again
    assert counts(ec2) == SMALL_NETWORK
    assert emulator_ids(ec2) <= state_ids(lab._store)
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    egress = sorted((p["IpProtocol"], r.get("CidrIp") or r.get("GroupId"))
                    for p in group["IpPermissionsEgress"] for key in ("IpRanges", "UserIdGroupPairs")
                    for r in p.get(key, []))
    assert egress == [("-1", "0.0.0.0/0"), ("-1", group_id)]  # exactly the declared egress rules
    lab.destroy()
    figures.fault("test_sigkill_with_a_create_in_flight_resume", "SIGKILL between a security group's create call "
                  "and its journal line, then resume", left_behind(ec2))
    assert left_behind(ec2) == 0
