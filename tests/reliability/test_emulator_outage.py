"""Issue 5, item 2: the emulator stops in the middle of ``up`` and of ``destroy``. labnet raises a clear
error naming the endpoint, keeps the state, and once the emulator is back, rerunning the same command
finishes the job.

What "back" can honestly mean here, two ways:

* **Outage** (SIGSTOP, later SIGCONT): the emulator process freezes, so requests hang until the
  client's read timeout; when it resumes it still holds everything, and it also carries out the
  requests that were queued while it was frozen (a create labnet gave up on may have happened, a
  delete too). This is the case where the rerun has real work to do: adopt what was made without an
  answer, make the rest, or delete what is left. The client read timeout is shortened to 1.5 s
  (``labnet.emulator.READ_TIMEOUT``) so the test does not wait a minute. The rerun starts once the
  emulator has worked through that backlog (what it holds stops changing): a create that lands
  *after* the rerun looked for it would be a second copy no journal names, a race no client can close
  for EC2 calls without an idempotency token (CreateVpc, CreateSubnet, CreateSecurityGroup… have
  none). For the same reason labnet's emulator clients do not retry: a retried create whose first
  attempt did reach the emulator makes exactly such a copy.
* **Restart** (SIGKILL, then a new moto on the same port): moto keeps everything in memory, so the
  emulator comes back empty. Nothing labnet made survives; "finishing the job" means the rerun of
  ``up`` notices that the recorded resources are gone (a refresh of the stack's own resources, made
  only when the previous operation did not succeed) and builds the whole network again, and the rerun
  of ``destroy`` ends with a state that owns nothing, without being stuck on deletes of ids the new
  emulator never heard of.
"""

from __future__ import annotations

import time

import pytest

import labnet
from labnet import emulator
from tests.reliability.conftest import ec2_client
from tests.reliability.util import SMALL_NETWORK, counts, emulator_ids, left_behind, state_ids
from tests.helpers import declared

pytestmark = pytest.mark.e2e


@pytest.fixture
def short_timeouts(monkeypatch):
    monkeypatch.setattr(emulator, "READ_TIMEOUT", 1.5)
    monkeypatch.setattr(emulator, "CONNECT_TIMEOUT", 1.5)


def _after(k: int, action):
    """A progress callback that runs ``action`` once, when the k-th resource is done."""
    done = []

    def progress(event):
        if event.status == "done":
            done.append(event.name)
            if len(done) == k:
                action()
    return progress


def _settle(ec2) -> None:
    """Wait until the emulator has carried out the requests queued while it was frozen."""
    previous = None
    while (now := counts(ec2)) != previous:
        previous = now
        time.sleep(0.3)


def _assert_names_endpoint(err, moto) -> None:
    text = str(err)
    assert moto.url in text and "stopped answering" in text, text


def test_emulator_frozen_mid_up_then_rerun_up_finishes(own_emulator, small_spec, short_timeouts, figures):
    moto, ec2 = own_emulator, ec2_client(own_emulator.url)
    lab = labnet.Lab("outage-up", small_spec, engine="rehearsal", progress=_after(8, moto.freeze))
    with pytest.raises(labnet.DeployError) as err:
        lab.up()
    _assert_names_endpoint(err.value, moto)
    assert "run up() again" in str(err.value)
    st = lab._store.load()
    assert 8 <= len(st.created) < len(declared(small_spec)[0]) and st.last["result"] == "failed"
    assert lab.status() == "up failed"

    moto.thaw()
    _settle(ec2)
    labnet.Lab("outage-up", small_spec, engine="rehearsal").up()  # the same command again
    assert lab.status() == "deployed"
    assert counts(ec2) == SMALL_NETWORK  # what was queued while frozen was adopted, not made twice
    assert emulator_ids(ec2) <= state_ids(lab._store)
    lab.destroy()
    figures.fault("test_emulator_frozen_mid_up", "emulator frozen (SIGSTOP) mid-up", left_behind(ec2))
    assert left_behind(ec2) == 0


def test_emulator_frozen_mid_destroy_then_rerun_destroy_finishes(own_emulator, small_spec, short_timeouts, figures):
    moto, ec2 = own_emulator, ec2_client(own_emulator.url)
    labnet.Lab("outage-destroy", small_spec, engine="rehearsal").up()
    lab = labnet.Lab("outage-destroy", engine="rehearsal", progress=_after(8, moto.freeze))
    with pytest.raises(labnet.TeardownIncompleteError) as err:
        lab.destroy()
    _assert_names_endpoint(err.value, moto)
    assert "destroy()" in str(err.value) and "python -m labnet destroy outage-destroy" in str(err.value)
    remaining = lab._store.load().created
    assert remaining and len(err.value.remaining) == len(remaining)
    assert lab.status() == "destroy failed"

    moto.thaw()
    _settle(ec2)
    labnet.Lab("outage-destroy").destroy()
    assert lab.status() == "destroyed"
    figures.fault("test_emulator_frozen_mid_destroy", "emulator frozen (SIGSTOP) mid-destroy", left_behind(ec2))
    assert left_behind(ec2) == 0


def test_emulator_killed_mid_up_then_restarted_rerun_up_rebuilds(own_emulator, small_spec, figures):
    moto = own_emulator
    lab = labnet.Lab("restart-up", small_spec, engine="rehearsal", progress=_after(8, moto.kill))
    with pytest.raises(labnet.DeployError) as err:
        lab.up()
    _assert_names_endpoint(err.value, moto)
    recorded = state_ids(lab._store)
    assert len(recorded) >= 8

    moto.start()  # same port, empty memory
    ec2 = ec2_client(moto.url)
    assert left_behind(ec2) == 0
    labnet.Lab("restart-up", small_spec, engine="rehearsal").up()
    assert lab.status() == "deployed"
    assert counts(ec2) == SMALL_NETWORK
    assert emulator_ids(ec2) <= state_ids(lab._store)
    assert not recorded & state_ids(lab._store)  # the ids of the lost emulator were forgotten
    lab.destroy()
    figures.fault("test_emulator_killed_mid_up", "emulator killed mid-up, restarted empty", left_behind(ec2))
    assert left_behind(ec2) == 0


def test_emulator_killed_mid_destroy_then_restarted_rerun_destroy_finishes(own_emulator, small_spec, figures):
    moto = own_emulator
    labnet.Lab("restart-destroy", small_spec, engine="rehearsal").up()
    lab = labnet.Lab("restart-destroy", progress=_after(8, moto.kill))
    with pytest.raises(labnet.TeardownIncompleteError) as err:
        lab.destroy()
    _assert_names_endpoint(err.value, moto)
    assert lab._store.load().created

    moto.start()
    ec2 = ec2_client(moto.url)
    labnet.Lab("restart-destroy").destroy()
    assert lab.status() == "destroyed" and not lab._store.load().resources
    figures.fault("test_emulator_killed_mid_destroy", "emulator killed mid-destroy, restarted empty", left_behind(ec2))
    assert left_behind(ec2) == 0


def test_emulator_down_before_up_is_named_and_nothing_is_recorded(own_emulator, small_spec, labnet_home):
    moto = own_emulator
    moto.kill()
    with pytest.raises(labnet.EmulatorError) as err:
        labnet.Lab("down-up", small_spec, engine="rehearsal").up()
    assert moto.url in str(err.value) and "does not answer" in str(err.value)
    assert not (labnet_home / "stacks" / "down-up" / "state.json").exists()
