"""The Automation API engine: the parts that need no CLI run everywhere; the live paths run wherever
the `pulumi` CLI is on PATH and skip with that reason where it is not."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from pulumi import automation as auto
from pulumi.automation import errors as perr
from pulumi.automation._cmd import CommandResult
from pulumi.automation.events import EngineEvent

import labnet
from labnet.emulator import targets
from labnet.engines import automation
from tests.helpers import plan, registrations
from tests.inspect_ec2 import inventory, total



def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_workspace_options_default_to_a_private_file_backend_and_generated_passphrase(labnet_home, monkeypatch):
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    opts = automation.workspace_options(labnet_home)
    url = opts.project_settings.backend.url
    assert url.startswith("file://") and url.endswith("/pulumi/backend")
    assert _mode(url[len("file://"):]) == 0o700
    assert opts.secrets_provider == "passphrase"
    pp = opts.env_vars["PULUMI_CONFIG_PASSPHRASE_FILE"]
    assert _mode(pp) == 0o600 and len(open(pp).read()) >= 32
    assert opts.project_settings.name == "labnet" and opts.project_settings.runtime == "python"


def test_user_passphrase_and_backend_url_are_respected(labnet_home, monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "user-brings-their-own")
    opts = automation.workspace_options(labnet_home, backend="s3://team-bucket/labnet")
    assert opts.project_settings.backend.url == "s3://team-bucket/labnet"
    assert "PULUMI_CONFIG_PASSPHRASE_FILE" not in opts.env_vars
    assert not (labnet_home / "pulumi" / "passphrase").exists()


def test_the_emulator_lives_in_an_explicit_provider_not_in_stack_config():
    """Stack config is only the region; the emulator's endpoints, test credentials and skip flags are
    inputs of the program's explicit provider (so they live in the stack's state, beside the
    resources made through it), and every aws resource uses that provider."""
    target = targets.Target("emulator", "us-east-1", "http://127.0.0.1:4566")
    assert target.pulumi_config() == {"aws:region": ("us-east-1", False)}
    rows = registrations(plan(spokes=2), target.program_target())
    (prov,) = [r for r in rows if r[0] == "pulumi:providers:aws"]
    _, name, inputs, _ = prov
    assert name == "aws-us-east-1" and inputs["region"] == "us-east-1"
    endpoints = json.loads(inputs["endpoints"]) if isinstance(inputs["endpoints"], str) else inputs["endpoints"]
    assert endpoints[0]["ec2"] == endpoints[0]["sts"] == "http://127.0.0.1:4566"
    for flag in ("skipCredentialsValidation", "skipRequestingAccountId", "skipMetadataApiCheck",
                 "skipRegionValidation"):
        assert str(inputs[flag]).lower() == "true", flag
    resources = [r for r in rows if r[0].startswith("aws:")]
    assert resources and all(r[3] and r[3].split("::")[-2] == "aws-us-east-1" for r in resources)


def test_a_real_aws_provider_has_no_endpoints_and_no_credentials():
    rows = registrations(plan(spokes=2), targets.Target("aws", "us-east-1").program_target())
    (prov,) = [r for r in rows if r[0] == "pulumi:providers:aws"]
    inputs = prov[2]
    assert inputs["region"] == "us-east-1"
    assert not {"endpoints", "accessKey", "secretKey", "profile", "token"} & set(inputs)
    assert str(inputs.get("skipCredentialsValidation")).lower() != "true"


def test_real_aws_config_carries_no_credentials():
    values = targets.Target("aws", "eu-west-1").pulumi_config()
    assert values == {"aws:region": ("eu-west-1", False)}


def _event(kind: str, op: str, typ: str, name: str) -> EngineEvent:
    md = {"op": op, "urn": f"urn:pulumi:s::labnet::{typ}::{name}", "type": typ, "provider": ""}
    return EngineEvent.from_json({"sequence": 1, "timestamp": 0, kind: {"metadata": md}})


def test_events_become_progress():
    seen = []
    tr = automation.EventTranslator("up", 2, seen.append)
    tr(_event("resourcePreEvent", "create", "pulumi:pulumi:Stack", "labnet-s"))
    tr(_event("resourcePreEvent", "create", "aws:ec2/vpc:Vpc", "a-vpc"))
    tr(_event("resOutputsEvent", "create", "aws:ec2/vpc:Vpc", "a-vpc"))
    tr(_event("resourcePreEvent", "same", "aws:ec2/subnet:Subnet", "a-subnet"))
    tr(_event("resOpFailedEvent", "create", "aws:ec2/subnet:Subnet", "b-subnet"))
    assert [(e.name, e.status, e.done, e.total) for e in seen] == [
        ("a-vpc", "started", 0, 2), ("a-vpc", "done", 1, 2), ("b-subnet", "failed", 1, 2)]
    assert tr.failed == ["b-subnet"]


def test_errors_map_to_labnet_errors_and_are_redacted(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SENTINEL-SECRET-KEY-42")
    from labnet.redact import redact

    locked = perr.ConcurrentUpdateError(CommandResult("", "error: the stack is currently locked by 1 lock(s)", 255))
    err = automation.map_error(locked, "s", "up", redact)
    assert isinstance(err, labnet.StackLockedError) and "locked" in str(err)

    failed = perr.CommandError(CommandResult("", "error: creating VPC: SENTINEL-SECRET-KEY-42 denied", 255))
    err = automation.map_error(failed, "s", "up", redact)
    assert isinstance(err, labnet.DeployError)
    assert "SENTINEL" not in str(err) and "[secret]" in str(err)

    err = automation.map_error(failed, "s", "destroy", redact)
    assert isinstance(err, labnet.TeardownIncompleteError) and "destroy()" in str(err)


def test_secret_outputs_show_as_secret():
    outs = {"tgw": auto.OutputValue("tgw-1", False), "token": auto.OutputValue("s3cr3t", True)}
    assert automation.plain_outputs(outs) == {"tgw": "tgw-1", "token": "[secret]"}


def test_auto_picks_the_engine_by_cli_presence(monkeypatch):
    spec = plan()
    """auto goes by the user's own CLI on PATH; the one `make pulumi` built in .tools/ serves engine='pulumi'
    only (the suite's rehearsal tests stay on the rehearsal engine where it is built)."""
    monkeypatch.setattr(automation, "cli_on_path", lambda: None)
    assert labnet.Lab("pick", spec).engine_name == "rehearsal"
    monkeypatch.setattr(automation, "cli_on_path", lambda: Path("/usr/bin/pulumi"))
    assert labnet.Lab("pick", spec).engine_name == "pulumi"


def test_pulumi_engine_without_cli_says_why(monkeypatch, ec2):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    monkeypatch.setattr(automation, "built_cli", lambda root=None: None)
    lab = labnet.Lab("nocli", labnet.size(spokes=2, nodes_per_spoke=2), engine="pulumi")
    with pytest.raises(labnet.EngineUnavailableError) as err:
        lab.up()
    assert "`pulumi` CLI is not on PATH" in str(err.value)
    assert total(inventory(ec2)) == 0
