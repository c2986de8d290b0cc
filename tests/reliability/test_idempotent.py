"""Issue 5, item 5: ``up`` twice with the same spec; the second changes nothing and makes no AWS call.

Calls are counted with a botocore ``before-call`` event hook on every client labnet creates (the
``api_calls`` fixture), so a call through any client, not only the engine's, would show up."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import labnet
from tests.reliability.conftest import python
from tests.reliability.util import emulator_ids, left_behind, spec_json

pytestmark = pytest.mark.e2e

COUNT_CALLS = """
import json, botocore.session
CALLS = []
real = botocore.session.Session.create_client
def create_client(self, *args, **kwargs):
    client = real(self, *args, **kwargs)
    client.meta.events.register("before-call", lambda model, **_: CALLS.append(model.name))
    return client
botocore.session.Session.create_client = create_client
"""


def test_second_up_makes_no_aws_call_and_changes_nothing(ec2, small_spec, api_calls):
    lab = labnet.Lab("twice", small_spec, engine="rehearsal")
    first = lab.up()
    assert api_calls.mutating()  # the counter sees labnet's calls
    state_bytes = lab._store.state_path.read_bytes()
    before = emulator_ids(ec2)

    api_calls.clear()
    second = lab.up()
    again = labnet.Lab("twice", small_spec, engine="rehearsal").up()  # a new Lab, same process
    preview = labnet.Lab("twice", small_spec, engine="rehearsal").preview()
    assert api_calls == []
    assert set(preview.action) == {"same"}
    pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(first, again)
    assert lab._store.state_path.read_bytes() == state_bytes  # not even rewritten
    assert not lab._store.journal_path.exists()
    assert emulator_ids(ec2) == before

    # A new process (a papermill rerun) reads the region's AZs and where the instance type is offered,
    # once each, for preflight; nothing else.
    out = python(COUNT_CALLS + f"""
import labnet
spec = labnet.NetworkSpec.from_dict(json.loads({spec_json(small_spec)!r}))
labnet.Lab("twice", spec, engine="rehearsal").up()
print(json.dumps(CALLS))
""")
    calls = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(calls) <= {"DescribeAvailabilityZones", "DescribeInstanceTypeOfferings"}, calls
    assert all(calls.count(c) == 1 for c in calls), calls
    assert lab._store.state_path.read_bytes() == state_bytes
    assert emulator_ids(ec2) == before

    lab.destroy()
    assert left_behind(ec2) == 0
