"""Issue 5, item 8: with recognisable sentinel values as the AWS credentials and the Pulumi passphrase,
those values appear nowhere in what labnet shows, raises or writes: output notebooks, logs, exception
texts and tracebacks, reprs of labnet objects (Lab, spec, engines, Target, Emulator), written CSV/JSON
tables, and every file of the state folder.

Two runs, both in new processes that inherit the sentinels the way a kernel inherits a user's shell:
a script that exercises the API (labnet's own emulator, an up and destroy, every common error, a
Pulumi error that echoes the secrets), and papermill runs of notebook 02 (deploy, form, outputs CSV,
teardown) plus one that fails on a bad parameter, as a notebook with an error is shared."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.conftest import REPO
from tests.reliability.util import left_behind

pytestmark = pytest.mark.e2e

SENTINELS = {
    "AWS_ACCESS_KEY_ID": "LABNETSENTINEL7ACCESS0",  # recognisable, and shaped unlike a real key id
    "AWS_SECRET_ACCESS_KEY": "sentinelSECRETkey/0123456789+ABCDEFabcdefSENT",
    "AWS_SESSION_TOKEN": "SENTINELsessionTOKEN-2f9c1e7a5b3d-FwoGZXIvYXdzEJr",
    "PULUMI_CONFIG_PASSPHRASE": "sentinel-passphrase-correct-horse-battery-staple",
}


def _env(home: Path, **extra) -> dict[str, str]:
    env = {**os.environ, **SENTINELS, "LABNET_HOME": str(home), **extra}
    env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)
    return env


def _hits(texts: dict[str, str]) -> dict[str, int]:
    found = {}
    for where, text in texts.items():
        n = sum(text.count(v) for v in SENTINELS.values())
        if n:
            found[where] = n
    return found


def _files(root: Path) -> dict[str, str]:
    return {str(p): p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file()}


SCRIPT = r'''
import hashlib, json, os, sys, traceback
from pathlib import Path
import labnet
from labnet import emulator, paths, tables
from labnet.emulator import targets
from labnet.engines import automation, handlers
from labnet.redact import redact

out_dir = Path(sys.argv[1])
home = paths.home()
shown, errors = [], []

def show(x):
    shown.append(repr(x))
    shown.append(str(x))

def capture(fn):
    try:
        fn()
    except BaseException as exc:
        errors.append("".join(traceback.format_exception(exc)))
        errors.append(repr(exc))
    else:
        errors.append("no error: " + repr(fn))

em = emulator.start()  # labnet's own emulator: emulator.json and emulator.log in the state folder
try:
    spec = labnet.size(spokes=2, nodes_per_spoke=4, azs=1)
    lab = labnet.Lab("sentinel", spec, engine="rehearsal")  # progress goes to stderr as log lines
    for x in (lab, spec, spec.table(), lab.preview()):
        show(x)
    out = lab.up()
    show(out); show(lab.exports()); show(lab.outputs()); show(labnet.stacks())
    tables.write(out, out_dir / "outputs.csv")
    tables.write(out, out_dir / "outputs.json")
    target = lab._resolve()
    for x in (target, target.describe(), target.pulumi_config(), lab._engine(), em, emulator.status(),
              automation.AutomationEngine(lab._store, target),
              automation.workspace_options(home), automation.workspace_env(home)):
        show(x)
    aws_lab = labnet.Lab("sentinel-aws", spec, target="aws", engine="pulumi")
    show(aws_lab); show(targets.Target("aws", "us-east-1"))

    capture(lambda: labnet.size(spokes=0))
    capture(lambda: labnet.Lab("bad name", spec))
    capture(lambda: labnet.Lab("sentinel-x", spec, target="aws", engine="rehearsal"))
    capture(lambda: aws_lab.destroy())  # no pulumi CLI here: EngineUnavailableError
    with lab._store.lock("up"):
        capture(lambda: lab.up())
    real = handlers.VpcEndpoint.create
    def failing(self, ec2, name, inputs):
        raise RuntimeError("injected failure")
    handlers.VpcEndpoint.create = failing
    failed = labnet.Lab("sentinel-fail", spec, engine="rehearsal")
    capture(lambda: failed.up())
    handlers.VpcEndpoint.create = real
    # A Pulumi CLI error that echoes the secrets, as a misconfigured provider might.
    from pulumi.automation.errors import CommandError
    from pulumi.automation._cmd import CommandResult
    echo = CommandResult(stdout="", code=255, stderr="error: decrypting secret with passphrase "
                         + os.environ["PULUMI_CONFIG_PASSPHRASE"] + " failed; provider used key "
                         + os.environ["AWS_SECRET_ACCESS_KEY"] + " token " + os.environ["AWS_SESSION_TOKEN"]
                         + " id " + os.environ["AWS_ACCESS_KEY_ID"])
    for op in ("up", "destroy"):
        mapped = automation.map_error(CommandError(echo), "sentinel", op, lambda s: redact(s, home))
        errors.append(str(mapped)); errors.append(repr(mapped))
    broken = labnet.engines.state.StackStore("sentinel-broken")
    broken.dir.mkdir(parents=True)
    broken.state_path.write_text("{")
    capture(lambda: labnet.Lab("sentinel-broken", spec))
    failed.destroy()
    lab.destroy()
finally:
    emulator.stop()
proof = {k: hashlib.sha256(os.environ[k].encode()).hexdigest() for k in
         ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "PULUMI_CONFIG_PASSPHRASE")}
print(json.dumps({"shown": shown, "errors": errors, "proof": proof}))
'''


def test_api_run_with_sentinel_secrets_leaks_none(tmp_path, figures):
    home, out_dir = tmp_path / "home", tmp_path / "out"
    out_dir.mkdir()
    env = _env(home)
    env.pop("LABNET_EMULATOR_URL", None)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(out_dir)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    # The sentinels really were in that process's environment.
    assert report["proof"] == {k: hashlib.sha256(v.encode()).hexdigest() for k, v in SENTINELS.items()}
    assert len(report["errors"]) >= 16 and not [e for e in report["errors"] if e.startswith("no error")]
    assert any("[secret]" in e for e in report["errors"])  # the echoed secrets were masked, not dropped silently
    texts = {"stdout": proc.stdout, "stderr (progress log)": proc.stderr, **_files(home), **_files(out_dir)}
    assert any(k.endswith("emulator.log") for k in texts) and any(k.endswith("outputs.csv") for k in texts)
    hits = _hits(texts)
    figures.sentinel_hits("API run: reprs, errors, tracebacks, logs, tables, state folder", sum(hits.values()))
    assert hits == {}


PAPERMILL = r'''
import sys, papermill
params = dict(stack_name=sys.argv[3], spokes=2, nodes_per_spoke=4, azs=1, supernet="10.0.0.0/16",
              engine="rehearsal", outputs_csv=sys.argv[4], teardown=True, show_form=True)
if sys.argv[5] == "bad":
    params["nodes_per_spoke"] = 0
papermill.execute_notebook(sys.argv[1], sys.argv[2], parameters=params, kernel_name="python3", progress_bar=False,
                           log_output=True, execution_timeout=300, cwd=str(__import__("pathlib").Path(sys.argv[2]).parent))
'''


def test_notebooks_run_with_sentinel_secrets_leak_none(ec2, tmp_path, figures):
    notebook = REPO / "notebooks" / "02_deploy_network.ipynb"
    if not notebook.exists():
        pytest.skip("notebooks/02_deploy_network.ipynb is not there yet")
    home = tmp_path / "home"
    texts: dict[str, str] = {}
    for mode in ("good", "bad"):
        out = tmp_path / mode / "02.ipynb"
        out.parent.mkdir()
        csv = tmp_path / mode / "outputs.csv"
        proc = subprocess.run([sys.executable, "-c", PAPERMILL, str(notebook), str(out), f"sentinel-nb-{mode}",
                               str(csv), mode], cwd=REPO, env=_env(home), capture_output=True, text=True, timeout=400)
        assert (proc.returncode == 0) == (mode == "good"), proc.stderr[-3000:]
        texts[f"{mode}: papermill log"] = proc.stdout + proc.stderr
        texts[f"{mode}: output notebook"] = out.read_text()
        if mode == "good":
            assert csv.exists()
            texts["good: outputs.csv"] = csv.read_text()
        else:
            assert "InvalidSpecError" in texts["bad: output notebook"]
    texts.update(_files(home))
    hits = _hits(texts)
    figures.sentinel_hits("papermill: output notebooks (good and failing), logs, CSV, state folder",
                          sum(hits.values()))
    assert hits == {}
    assert left_behind(ec2) == 0
