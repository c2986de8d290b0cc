"""Fixtures for the reliability suite (issue 5): emulators the tests may freeze, kill and restart,
a count of every AWS API call labnet makes, subprocess helpers, and the figures the closing note
quotes (faults injected, bad inputs tried, resources left behind, sentinel hits).

Everything listens on 127.0.0.1 only, and every test stops what it started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

# -- figures for the closing note ------------------------------------------------------------------
FIGURES: dict[str, Any] = {"faults": [], "bad_inputs": Counter(), "sentinel_hits": {}}


class Figures:
    """What the suite measured; written to test-artifacts/reliability-figures.json at the end."""

    def fault(self, test: str, fault: str, left_behind: int) -> None:
        FIGURES["faults"].append({"test": test, "fault": fault, "left_behind": left_behind})

    def bad_inputs(self, group: str, n: int = 1) -> None:
        FIGURES["bad_inputs"][group] += n

    def sentinel_hits(self, where: str, hits: int) -> None:
        FIGURES["sentinel_hits"][where] = FIGURES["sentinel_hits"].get(where, 0) + hits


@pytest.fixture(scope="session")
def figures() -> Figures:
    return Figures()


def _summary() -> dict[str, Any]:
    faults = FIGURES["faults"]
    return {
        "faults_injected": len(faults),
        "resources_left_behind_total": sum(f["left_behind"] for f in faults),
        "faults": faults,
        "bad_inputs_tried": sum(FIGURES["bad_inputs"].values()),
        "bad_inputs_by_group": dict(sorted(FIGURES["bad_inputs"].items())),
        "sentinel_hits_total": sum(FIGURES["sentinel_hits"].values()),
        "sentinel_hits": FIGURES["sentinel_hits"],
    }


def pytest_sessionfinish(session, exitstatus):
    if FIGURES["faults"] or FIGURES["bad_inputs"] or FIGURES["sentinel_hits"]:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "reliability-figures.json").write_text(json.dumps(_summary(), indent=1))


def pytest_terminal_summary(terminalreporter):
    if not (FIGURES["faults"] or FIGURES["bad_inputs"] or FIGURES["sentinel_hits"]):
        return
    s = _summary()
    terminalreporter.write_sep("-", "reliability figures")
    terminalreporter.write_line(
        f"faults injected: {s['faults_injected']}; resources left behind after fault tests: "
        f"{s['resources_left_behind_total']}; bad inputs tried: {s['bad_inputs_tried']}; "
        f"sentinel hits in outputs: {s['sentinel_hits_total']}")


# -- emulators the tests control -------------------------------------------------------------------
class MotoProcess:
    """A moto server process on 127.0.0.1 that a test may freeze (SIGSTOP), kill and restart."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.frozen = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> "MotoProcess":
        ready = self.workdir / f"moto-ready-{time.monotonic_ns()}"
        log = open(self.workdir / "moto.log", "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "labnet.emulator.server", str(ready), str(self.port), "--warm-before-ready"],
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=env)
        log.close()
        deadline = time.monotonic() + 60
        while not ready.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto exited with {self.proc.returncode}: "
                                   f"{(self.workdir / 'moto.log').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("moto did not start within 60s")
            time.sleep(0.05)
        self.port = json.loads(ready.read_text())["port"]
        return self

    def freeze(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        os.kill(self.pid, signal.SIGCONT)
        self.frozen = False

    def kill(self) -> None:
        """SIGKILL: the emulator vanishes mid-request, with everything it held in memory."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.frozen = False

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        if self.frozen:
            self.thaw()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def own_emulator(tmp_path, monkeypatch):
    """A private moto server for this test (labnet uses it through LABNET_EMULATOR_URL)."""
    moto = MotoProcess(tmp_path).start()
    monkeypatch.setenv("LABNET_EMULATOR_URL", moto.url)
    try:
        yield moto
    finally:
        moto.stop()


def ec2_client(url: str):
    """An independent boto3 EC2 client (not labnet's) for inspection."""
    import boto3

    return boto3.client("ec2", region_name="us-east-1", endpoint_url=url, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


# -- every AWS API call labnet makes -----------------------------------------------------------------
class ApiCalls(list):
    """Operation names of every AWS API call made by clients created after the fixture started,
    recorded by a botocore ``before-call`` event hook registered on each new client."""

    MUTATING_PREFIXES = ("Create", "Delete", "Modify", "Associate", "Disassociate", "Enable", "Disable",
                         "Authorize", "Revoke", "Attach", "Detach", "Allocate", "Release", "Replace", "Accept",
                         "Reject", "Run", "Terminate")

    def mutating(self) -> list[str]:
        return [name for name in self if name.startswith(self.MUTATING_PREFIXES)]


@pytest.fixture
def api_calls(monkeypatch, ec2):
    """Counts labnet's AWS calls. Depends on ``ec2`` so the inspection client exists first and is
    not counted."""
    from tests.helpers import record_api_calls

    calls = ApiCalls()
    record_api_calls(monkeypatch, calls)
    return calls


# -- processes -------------------------------------------------------------------------------------
def python(code: str, timeout: float = 180, check: bool = True, env: dict | None = None,
           **kw) -> subprocess.CompletedProcess:
    """Run ``code`` in a new Python process (repository root as cwd, this process's environment)."""
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"subprocess failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def spawn(code: str, env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kw)


def wait_for(predicate: Callable[[], Any], timeout: float = 60, what: str = "condition",
             proc: subprocess.Popen | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended ({proc.returncode}) before {what}:\n{proc.stderr.read()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def journal_events(journal: Path, event: str) -> int:
    """How many ``event`` lines the stack's journal holds right now."""
    try:
        raw = journal.read_bytes()
    except FileNotFoundError:
        return 0
    return raw.count(f'"event":"{event}"'.encode())


@pytest.fixture
def small_spec(ec2):
    """Two spokes, one AZ: the smallest network that exercises every resource kind
    the default program declares (TGW, route tables, attachments, routes, SG rules, endpoints)."""
    import labnet

    return labnet.size(spokes=2, nodes_per_spoke=4, azs=1)
