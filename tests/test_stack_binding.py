"""A stack is never operated against a target or engine it was not deployed with (issue 10 item 2),
and the Automation API engine's loose ends (items 3 and 6).

The Automation API engine needs the ``pulumi`` CLI, which this machine cannot have. These tests run
labnet's real bookkeeping (Lab, its state, the AutomationEngine) around a stand-in for Pulumi's
``Stack`` object: the stand-in replaces only what the CLI would do, and records what labnet asked of
it, so the checks are on labnet's behaviour. Target "aws" is pointed at the moto server through
``AWS_ENDPOINT_URL`` (boto3 honours it), so no test reaches a real account.
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from pulumi import automation as auto

import labnet
from labnet.engines import automation
from tests.inspect_ec2 import inventory, total


class FakeWorkspace:
    def __init__(self, plugins=(), install_error=None):
        self.plugins = [types.SimpleNamespace(name=n, kind="resource", version=v) for n, v in plugins]
        self.installed: list[tuple[str, str]] = []
        self.install_error = install_error

    def list_plugins(self):
        return list(self.plugins)

    def install_plugin(self, name, version, kind="resource"):
        if self.install_error:
            raise self.install_error
        self.installed.append((name, version))
        self.plugins.append(types.SimpleNamespace(name=name, kind=kind, version=version))


class FakeBackend:
    """What a Pulumi backend would hold for each stack: config, outputs, resources."""

    def __init__(self):
        self.stacks: dict[str, dict] = {}
        self.calls: list[tuple[str, str]] = []


class FakeStack:
    def __init__(self, backend: FakeBackend, name: str, program, interrupt: str | None = None):
        self.backend, self.name, self.program = backend, name, program
        self.data = backend.stacks.setdefault(name, {"config": {}, "outputs": {}, "resources": 0})
        self.workspace = FakeWorkspace([("aws", automation.aws_plugin_version())])
        self.interrupt = interrupt

    def _op(self, op):
        self.backend.calls.append((self.name, op))
        if self.interrupt == op:
            raise KeyboardInterrupt

    def remove_all_config(self, keys, path=False):
        for k in keys:
            self.data["config"].pop(k, None)

    def set_all_config(self, values, path=False):
        self.data["config"].update({k: v.value for k, v in values.items()})

    def outputs(self):
        return dict(self.data["outputs"])

    def preview(self, on_event=None, **kw):
        self._op("preview")

    def up(self, on_event=None, show_secrets=True, **kw):
        self._op("up")
        self.data["resources"] = 7
        self.data["outputs"] = {"target": auto.OutputValue(self.program_target_kind(), False),
                                "region": auto.OutputValue("us-east-1", False)}
        return types.SimpleNamespace(outputs=self.data["outputs"])

    def program_target_kind(self):
        return self.backend.target_kinds[self.name]

    def refresh(self, on_event=None, **kw):
        self._op("refresh")

    def destroy(self, on_event=None, **kw):
        self._op("destroy")
        self.data["resources"] = 0
        self.data["outputs"] = {}

    def export_stack(self):
        res = [{"urn": f"urn:pulumi:{self.name}::labnet::aws:ec2/vpc:Vpc::r{k}", "type": "aws:ec2/vpc:Vpc"}
               for k in range(self.data["resources"])]
        return types.SimpleNamespace(deployment={"resources": res})


@pytest.fixture
def pulumi_here(monkeypatch):
    """The Automation API engine as if the CLI were installed, on a stand-in backend."""
    backend = FakeBackend()
    backend.target_kinds = {}
    backend.interrupt = None

    def create_or_select_stack(stack_name, project_name, program, opts):
        # What the program will build its provider from is what labnet passed the inline program.
        stack = FakeStack(backend, stack_name, program, interrupt=backend.interrupt)
        return stack

    monkeypatch.setattr(automation, "engine_available", lambda: True)
    monkeypatch.setattr(auto, "create_or_select_stack", create_or_select_stack)
    real_stack = automation.AutomationEngine._stack

    def _stack(self, spec):
        backend.target_kinds[self.stack_name] = self.target.kind
        return real_stack(self, spec)

    monkeypatch.setattr(automation.AutomationEngine, "_stack", _stack)
    return backend


def small():
    return labnet.size(spokes=2, nodes_per_spoke=2, azs=1)


def test_a_stack_deployed_to_aws_is_never_reopened_on_the_emulator(pulumi_here, aws_on_moto_env, ec2):
    spec = small()
    lab = labnet.Lab("real-net", spec, target="aws", engine="pulumi")
    lab.up()
    assert lab.status() == "deployed"
    row = labnet.stacks().set_index("stack_name").loc["real-net"]
    assert (row.state, row.engine, row.target, row.resources) == ("deployed", "pulumi", "aws", 7)
    # The default Lab() target is the emulator: reopening must be refused, not destroy against moto.
    for kwargs in ({}, {"target": "emulator"}, {"target": "emulator", "engine": "pulumi"},
                   {"target": "emulator", "engine": "rehearsal"}):
        with pytest.raises(labnet.TargetError) as err:
            labnet.Lab("real-net", **kwargs)
        assert "belongs to target 'aws'" in str(err.value) and "target='aws'" in str(err.value)
    with pytest.raises(labnet.TargetError):
        labnet.Lab("real-net", target="aws", engine="rehearsal")
    assert ("real-net", "destroy") not in pulumi_here.calls
    # The stack's config never holds emulator endpoints or credentials.
    assert set(pulumi_here.stacks["real-net"]["config"]) == {"aws:region"}
    # Reopened the right way, it is the pulumi engine on aws again (engine="auto" takes the recorded one).
    again = labnet.Lab("real-net", target="aws")
    assert again.engine_name == "pulumi"
    again.destroy()
    assert again.status() == "destroyed"
    assert total(inventory(ec2)) == 0  # nothing ever went to the emulator


def test_a_preview_binds_the_stack_before_anything_is_deployed(pulumi_here, aws_on_moto_env, ec2):
    spec = small()
    labnet.Lab("previewed", spec, engine="rehearsal").preview()  # emulator
    with pytest.raises(labnet.TargetError) as err:
        labnet.Lab("previewed", spec, target="aws", engine="pulumi")
    assert "belongs to target 'emulator'" in str(err.value)
    assert not pulumi_here.calls  # no Pulumi operation was started for the "aws" stack

    labnet.Lab("aws-first", spec, target="aws", engine="pulumi").preview()
    with pytest.raises(labnet.TargetError):
        labnet.Lab("aws-first", spec, engine="rehearsal")
    assert total(inventory(ec2)) == 0


def test_a_destroyed_stack_is_free_again(pulumi_here, aws_on_moto_env, ec2):
    spec = small()
    lab = labnet.Lab("reuse", spec, engine="rehearsal")
    lab.up()
    lab.destroy()
    assert lab._store.load().binding() is None
    other = labnet.Lab("reuse", spec, target="aws", engine="pulumi")
    other.up()
    assert other._store.load().binding() == ("aws", "pulumi")


def test_a_shared_backend_refuses_another_target_without_local_state(pulumi_here, aws_on_moto_env,
                                                                    labnet_home, tmp_path, monkeypatch):
    """A teammate on another machine shares the backend but not labnet's local state: the stack's own
    outputs say where its resources are."""
    spec = small()
    labnet.Lab("team-net", spec, target="aws", engine="pulumi").up()
    monkeypatch.setenv("LABNET_HOME", str(tmp_path / "another-machine"))
    lab = labnet.Lab("team-net", spec, target="emulator", engine="pulumi")
    with pytest.raises(labnet.TargetError) as err:
        lab.destroy()
    assert "holds resources on target 'aws'" in str(err.value)
    assert ("team-net", "destroy") not in pulumi_here.calls


def test_no_binding_is_recorded_when_the_engine_cannot_run(ec2, monkeypatch):
    monkeypatch.setattr(automation, "engine_available", lambda: False)
    lab = labnet.Lab("nocli-bind", small(), engine="pulumi")
    with pytest.raises(labnet.EngineUnavailableError):
        lab.up()
    assert lab._store.load().binding() is None and lab.status() == "empty"
    assert labnet.Lab("nocli-bind", small(), engine="rehearsal").engine_name == "rehearsal"


def test_failed_and_interrupted_pulumi_operations_are_reported_truthfully(pulumi_here, aws_on_moto_env):
    spec = small()
    pulumi_here.interrupt = "up"
    lab = labnet.Lab("ctrl-c", spec, target="aws", engine="pulumi")
    with pytest.raises(labnet.InterruptedByUserError) as err:
        lab.up()
    assert isinstance(err.value, KeyboardInterrupt) and isinstance(err.value, labnet.LabnetError)
    assert "up(resume=True)" in str(err.value)
    assert lab.status() == "interrupted up"
    pulumi_here.interrupt = None
    with pytest.raises(labnet.InterruptedOperationError) as err:
        lab.up()  # not resumed: refused, naming the way on
    assert "did not finish" in str(err.value) and not isinstance(err.value, KeyboardInterrupt)
    calls_before = list(pulumi_here.calls)
    lab.up(resume=True)
    assert pulumi_here.calls[len(calls_before):] == [("ctrl-c", "refresh"), ("ctrl-c", "up")]
    assert lab.status() == "deployed"


def test_up_takes_its_total_from_the_program_not_a_preview(pulumi_here, aws_on_moto_env):
    spec = small()
    labnet.Lab("no-preview", spec, target="aws", engine="pulumi").up()
    assert ("no-preview", "preview") not in pulumi_here.calls
    from tests.helpers import declared

    assert automation.declared_count(spec, "no-preview") == len(declared(spec)[0])


def test_pulumi_home_is_the_users_own(labnet_home, monkeypatch):
    monkeypatch.setenv("PULUMI_HOME", "/somewhere/of/theirs")
    env = automation.workspace_env(labnet_home)
    assert "PULUMI_HOME" not in env  # inherited from the user's environment as it is
    monkeypatch.delenv("PULUMI_HOME")
    assert "PULUMI_HOME" not in automation.workspace_env(labnet_home)  # Pulumi's default ~/.pulumi


def test_the_aws_plugin_matching_pulumi_aws_is_installed_explicitly():
    version = automation.aws_plugin_version()
    assert version.count(".") == 2 and version[0].isdigit()
    ws = FakeWorkspace(plugins=[("aws", "6.0.0")])
    assert automation.ensure_aws_plugin(ws) == version
    assert ws.installed == [("aws", f"v{version}")]
    ws = FakeWorkspace(plugins=[("aws", version)])
    automation.ensure_aws_plugin(ws)
    assert ws.installed == []  # already there: nothing downloaded
    offline = FakeWorkspace(install_error=RuntimeError("error: could not download plugin: dial tcp: no route"))
    with pytest.raises(labnet.EngineUnavailableError) as err:
        automation.ensure_aws_plugin(offline)
    assert f"pulumi plugin install resource aws v{version}" in str(err.value)


def test_live_check_without_the_cli_says_so_with_a_distinct_exit_code(tmp_path):
    import subprocess
    import sys

    env = {k: v for k, v in __import__("os").environ.items() if k != "PATH"}
    env["PATH"] = str(tmp_path)  # no pulumi here, whatever the machine has
    env["LABNET_TOOLS_DIR"] = str(tmp_path)  # nor the one `make pulumi` built
    for args in ([], ["--aws", "us-east-1", "--yes"]):
        proc = subprocess.run([sys.executable, "-m", "labnet", "live-check", *args], capture_output=True,
                              text=True, timeout=120, env=env)
        assert proc.returncode == 3, proc.stderr
        assert "`pulumi` CLI is not on PATH" in proc.stdout and "Nothing was done" in proc.stdout


def test_live_check_always_destroys_and_reports_a_failed_step(pulumi_here, ec2):
    """The stand-in engine creates nothing, so the up step's independent boto3 check fails: the
    report says FAIL, the exit code is 1, and the destroy still ran."""
    from labnet import live_check

    lines: list[str] = []
    code = live_check.run(out=lines.append)
    report = "\n".join(lines)
    assert code == 1, report
    assert "FAIL  up" in report and "PASS  destroy" in report  # the stand-in previews nothing either
    assert "RESULT: FAIL" in report and "pulumi-aws" in report
    ops = [op for _, op in pulumi_here.calls]
    assert ops[-1] == "destroy" and "up" in ops


def test_live_check_on_aws_asks_first_and_does_nothing_without_a_yes(pulumi_here, aws_on_moto_env, ec2):
    from labnet import live_check

    lines: list[str] = []
    code = live_check.run(aws_region="us-east-1", out=lines.append, ask=lambda prompt: "no")
    assert code == 2 and "not confirmed; nothing was created" in "\n".join(lines)
    assert "Expected cost: about $0.10 per hour" in "\n".join(lines)
    assert not pulumi_here.calls and total(inventory(ec2)) == 0
    assert live_check.run(aws_region="mars-north-9", out=lines.append) == 2


def test_live_check_keeps_its_state_folder_when_the_destroy_fails(pulumi_here, ec2):
    """The report tells the user to rerun destroy with the check's LABNET_HOME: that folder must survive."""
    import re
    import shutil as sh

    from labnet import live_check

    pulumi_here.interrupt = "destroy"
    lines: list[str] = []
    assert live_check.run(out=lines.append) == 1
    text = "\n".join(lines)
    assert "FAIL  destroy" in text and "THE NETWORK MAY STILL EXIST" in text
    kept = re.search(r"state folder is kept at (\S+) ", text)
    assert kept, text
    home = Path(kept.group(1))
    try:
        assert (home / "stacks").is_dir() and f"LABNET_HOME={home}" in text
    finally:
        sh.rmtree(home, ignore_errors=True)


def test_live_check_removes_its_state_folder_when_nothing_is_left(pulumi_here, ec2, monkeypatch):
    import tempfile

    from labnet import live_check

    made: list[str] = []
    real = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda **kw: made.append(real(**kw)) or made[-1])
    live_check.run(out=lambda line: None)
    assert made and not Path(made[0]).exists()
