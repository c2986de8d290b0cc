"""Issue 5, item 3: a teardown that fails part-way keeps the stack and its state, says exactly what to
rerun, and never reports success while resources remain."""

from __future__ import annotations

import ipaddress
import re

import pytest
from botocore.exceptions import ClientError

import labnet
from labnet.engines import handlers
from tests.reliability.conftest import python
from tests.reliability.util import emulator_ids, left_behind, state_ids

pytestmark = pytest.mark.e2e


def _free_block(spoke) -> str:
    """A /28 inside the spoke's VPC that none of its subnets uses."""
    used = [ipaddress.ip_network(s.cidr) for s in spoke.subnets]
    return str(next(b for b in ipaddress.ip_network(spoke.cidr).subnets(new_prefix=28)
                    if not any(b.overlaps(u) for u in used)))


def _rerun_command(err) -> str:
    """The shell command the error tells the user to rerun."""
    (command,) = re.findall(r"`(python -m labnet destroy [^`]+)`", str(err))
    return command


def test_foreign_subnet_blocks_vpc_delete_stack_and_state_are_kept(ec2, small_spec, figures):
    """Someone adds a subnet of their own to a spoke VPC: AWS (and moto) refuse to delete the VPC with
    DependencyViolation. labnet must stop, keep what it still owns on record, and say what to do."""
    lab = labnet.Lab("td-foreign", small_spec, engine="rehearsal")
    lab.up()
    spoke = small_spec.spokes[0]
    vpc_id = lab.exports()["spokes"][spoke.name]["vpc_id"]
    foreign = ec2.create_subnet(VpcId=vpc_id, CidrBlock=_free_block(spoke),
                                AvailabilityZone=spoke.subnets[0].az)["Subnet"]["SubnetId"]

    for attempt in range(2):  # and again, before the blocker is removed: same answer, nothing claimed
        with pytest.raises(labnet.TeardownIncompleteError) as err:
            lab.destroy()
        text = str(err.value)
        assert f"{spoke.name}-vpc" in err.value.remaining
        assert "DependencyViolation" in text and vpc_id in text
        assert f"deleting {spoke.name}-vpc ({vpc_id}) failed" in text and "remove that first" in text
        assert "The stack and its state are kept" in text
        assert _rerun_command(err.value) == "python -m labnet destroy td-foreign"
        st = lab._store.load()
        assert {r.name for r in st.created} == set(err.value.remaining)
        assert vpc_id in state_ids(lab._store)
        assert emulator_ids(ec2) - {foreign} <= state_ids(lab._store)  # all that is left is on record
        assert lab.status() == "destroy failed"
        listing = labnet.stacks().set_index("stack_name")
        assert listing.loc["td-foreign", "state"] == "destroy failed"
        assert listing.loc["td-foreign", "resources"] == len(err.value.remaining)

    ec2.delete_subnet(SubnetId=foreign)
    command = _rerun_command(err.value).split()
    assert command[:3] == ["python", "-m", "labnet"]
    out = python(f"import subprocess, sys; sys.exit(subprocess.call([sys.executable, *{command[1:]!r}]))")
    assert "td-foreign" in out.stdout and "destroyed" in out.stdout
    assert lab.status() == "destroyed"
    figures.fault("test_foreign_subnet_blocks_vpc_delete", "DependencyViolation from a foreign subnet in a spoke VPC",
                  left_behind(ec2))
    assert left_behind(ec2) == 0


def test_one_delete_failing_midway_never_reports_success(ec2, small_spec, monkeypatch, figures):
    """The 10th delete of the teardown fails with an error labnet cannot act on (injected)."""
    lab = labnet.Lab("td-inject", small_spec, engine="rehearsal")
    lab.up()
    calls = {"n": 0}
    real_delete = {cls: cls.delete for cls in {type(h) for h in handlers.HANDLERS.values()}}

    def failing(cls):
        def delete(self, client, rid, inputs, outputs):
            calls["n"] += 1
            if calls["n"] == 10:
                raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "injected: not allowed"}},
                                  "DeleteSomething")
            return real_delete[cls](self, client, rid, inputs, outputs)
        return delete

    for cls in real_delete:
        monkeypatch.setattr(cls, "delete", failing(cls))
    # the flow-log bucket and its settings are retained (forgotten, not deleted): never "remaining"
    before = len([r for r in lab._store.load().created if not r.retain])
    with pytest.raises(labnet.TeardownIncompleteError) as err:
        lab.destroy()
    assert "UnauthorizedOperation" in str(err.value) and "injected" in str(err.value)
    assert len(err.value.remaining) == before - 9  # nine deleted, the rest kept on record
    assert len(lab._store.load().created) == before - 9
    assert emulator_ids(ec2) <= state_ids(lab._store)
    assert lab.status() == "destroy failed"

    for cls, delete in real_delete.items():
        monkeypatch.setattr(cls, "delete", delete)
    removed = labnet.Lab("td-inject").destroy()
    assert len(removed) == before - 9
    figures.fault("test_one_delete_failing_midway", "the 10th delete of a teardown fails", left_behind(ec2))
    assert left_behind(ec2) == 0
