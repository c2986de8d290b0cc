"""Shared plumbing for the benchmarks: one emulator for the whole run, a moto reset before every
measurement, medians of a few repetitions, an EC2 call counter, and a description of the machine.

Every number is wall-clock time (``time.perf_counter``) on a machine that may be shared, so each
benchmark takes the median of a few repetitions and the run records the load average it saw.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# -- the emulator ----------------------------------------------------------------------------------
_STARTED: dict[str, int | None] = {}
_TEMP_DIRS: list[str] = []


@contextlib.contextmanager
def emulator() -> Iterator[str]:
    """moto's server on 127.0.0.1 for the whole run (labnet.emulator in a private LABNET_HOME), or the
    one ``$LABNET_EMULATOR_URL`` names. Yields its URL; stops it afterwards if this run started it."""
    from labnet import emulator as emu

    url = os.environ.get(emu.ENV_URL)
    if url:
        yield url.rstrip("/")
        return
    # The emulator's record lives in its own home: measurements switch LABNET_HOME (fresh_home), and
    # stop() must find the record again at the end.
    emu_home = tempfile.mkdtemp(prefix="labnet-bench-emulator-")
    _TEMP_DIRS.append(emu_home)
    saved = os.environ.get("LABNET_HOME")
    os.environ["LABNET_HOME"] = emu_home
    em = emu.start()
    _STARTED["pid"] = em.pid
    os.environ[emu.ENV_URL] = em.url  # labnet (and papermill kernels) use this one from now on
    try:
        yield em.url
    finally:
        os.environ.pop(emu.ENV_URL, None)
        os.environ["LABNET_HOME"] = emu_home
        emu.stop()
        _STARTED.clear()
        if saved is None:
            os.environ.pop("LABNET_HOME", None)
        else:
            os.environ["LABNET_HOME"] = saved
        while _TEMP_DIRS:
            shutil.rmtree(_TEMP_DIRS.pop(), ignore_errors=True)


def emulator_pid() -> int | None:
    """The emulator's pid when this run started it (to read its CPU time), else None."""
    return _STARTED.get("pid")


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds a process has used so far (from /proc), 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def reset(url: str) -> None:
    """Wipe moto's state so one measurement never pays for the resources of another."""
    req = urllib.request.Request(url + "/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(req, timeout=30).read()


def fresh_home() -> str:
    """A new, empty LABNET_HOME for the next measurement (stack state never carries over)."""
    home = tempfile.mkdtemp(prefix="labnet-bench-home-")
    _TEMP_DIRS.append(home)
    os.environ["LABNET_HOME"] = home
    return home


# -- timing ----------------------------------------------------------------------------------------
def median_time(fn: Callable[[], Any], reps: int, setup: Callable[[], Any] | None = None) -> tuple[float, list[float]]:
    """Median wall time of ``reps`` calls of ``fn`` (``setup`` runs untimed before each)."""
    times = []
    for _ in range(reps):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def loadavg() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


# -- counting EC2 calls ----------------------------------------------------------------------------
@dataclass
class CallLog:
    """Every EC2 API call made through botocore while active, and the peak number in flight."""

    calls: list[str] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.calls:
            out[c] = out.get(c, 0) + 1
        return dict(sorted(out.items()))


@contextlib.contextmanager
def count_calls() -> Iterator[CallLog]:
    """Wrap ``BaseClient._make_api_call`` (costs a lock and an append per call, the same for labnet
    and the raw script), so both sides can be shown to make the same calls."""
    from botocore.client import BaseClient

    log = CallLog()
    original = BaseClient._make_api_call

    def wrapped(self, operation_name, api_params):
        with log.lock:
            log.calls.append(operation_name)
            log.in_flight += 1
            log.peak = max(log.peak, log.in_flight)
        try:
            return original(self, operation_name, api_params)
        finally:
            with log.lock:
                log.in_flight -= 1

    BaseClient._make_api_call = wrapped
    try:
        yield log
    finally:
        BaseClient._make_api_call = original


# -- the machine -----------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform(), "date": time.strftime("%Y-%m-%d %H:%M %Z"),
            "load": loadavg()}


def spec_for(spokes: int, azs: int = 2, nodes: int = 16):
    """The benchmark network: ``spokes`` spokes of ``nodes`` p5.48xlarge over ``azs`` AZs."""
    import labnet

    return labnet.size(spokes=spokes, nodes_per_spoke=nodes, instance_type="p5.48xlarge", azs=azs)


def quiet(_event: Any) -> None:
    """Progress callback that shows nothing (log lines would be timed too)."""
    return None
