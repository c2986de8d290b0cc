"""The embedded AWS emulator: moto's server on 127.0.0.1, started as its own process.

It outlives the notebook kernel that started it, so a network deployed from one notebook can be torn
down from another or from a papermill run in a new process. labnet records its address and pid in
``$LABNET_HOME/emulator.json``, reuses it while it answers, starts it on first need and stops it on
request (``python -m labnet emulator start|status|stop``). ``LABNET_EMULATOR_URL`` points labnet at an
emulator someone else runs (tests, a shared moto, LocalStack) instead.

The emulator always uses fixed test credentials of its own: labnet never hands a user's real AWS
credentials to it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..errors import EmulatorError

ENV_URL = "LABNET_EMULATOR_URL"
TEST_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
START_TIMEOUT = 60.0
# labnet's clients on the emulator. It answers on loopback in milliseconds, so a request that has
# not been answered after READ_TIMEOUT seconds means the emulator is stuck, and labnet says so.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
# Set on every response of an emulator labnet started: its server runs one request at a time
# (labnet/emulator/server.py), so clients need not take turns to keep moto safe.
SERIAL_HEADER = "x-labnet-one-request-at-a-time"


@dataclass(frozen=True)
class Emulator:
    """A running emulator: its URL, and its pid when labnet started it (None when external)."""

    url: str
    pid: int | None = None
    started: float | None = None

    @property
    def external(self) -> bool:
        return self.pid is None

    def client(self, service: str = "ec2", region: str = "us-east-1"):
        """A boto3 client for this emulator, with the emulator's own test credentials."""
        import boto3
        from botocore.config import Config

        # One attempt per call, no retries: a create whose first attempt reached the emulator but
        # timed out would be made again by a retry, and that copy is named by no journal entry (most
        # EC2 creates take no idempotency token). labnet's journal and find() recover the one copy.
        with _SESSION_LOCK:  # botocore sessions do not promise thread-safe client creation
            return _boto3_session().client(
                service, region_name=region, endpoint_url=self.url,
                config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                              connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT),
                **TEST_CREDENTIALS)


_SESSION_LOCK = threading.Lock()
_SESSION = None


_BOTO3 = None


def _boto3_session():
    """One boto3 session over :func:`_botocore_session` (called with _SESSION_LOCK held). A boto3
    session registers its handlers (S3's transfer methods among them) on the botocore session it
    wraps, so a second one over the same botocore session makes every later S3 client fail with
    "Cannot inject class attribute 'upload_file'"."""
    global _BOTO3
    import boto3

    if _BOTO3 is None:
        _BOTO3 = boto3.session.Session(botocore_session=_botocore_session())
    return _BOTO3


def _botocore_session():
    """One botocore session for every emulator client, so the EC2 service model is parsed once per
    process rather than once per client (it costs about 0.2 s). The emulator's clients pass their own
    test credentials, so nothing of the user's credential chain is shared."""
    global _SESSION
    import botocore.session

    if _SESSION is None:  # called with _SESSION_LOCK held
        _SESSION = botocore.session.get_session()
    return _SESSION


def _record() -> Path:
    return paths.home() / "emulator.json"


def healthy(url: str, timeout: float = 2.0) -> bool:
    """True when something answers HTTP at ``url`` (moto answers its dashboard path)."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/moto-api/", timeout=timeout):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (urllib.error.URLError, OSError, ValueError):
        return False


_SERIALIZES: dict[str, bool] = {}


def serializes(url: str, timeout: float = 2.0) -> bool:
    """Whether the emulator at ``url`` runs one request at a time itself (its responses carry
    :data:`SERIAL_HEADER`): labnet's own emulator does; another moto server or LocalStack is not
    known to, and then the rehearsal engine makes one call at a time. Asked once per URL."""
    if url not in _SERIALIZES:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/moto-api/", timeout=timeout) as resp:
                _SERIALIZES[url] = resp.headers.get(SERIAL_HEADER) == "1"
        except urllib.error.HTTPError as exc:
            _SERIALIZES[url] = exc.headers.get(SERIAL_HEADER) == "1"
        except (urllib.error.URLError, OSError, ValueError):
            return False  # not cached: it may be starting
    return _SERIALIZES[url]


def find() -> Emulator | None:
    """The emulator labnet should use, if one is running: ``$LABNET_EMULATOR_URL`` or the recorded one."""
    url = os.environ.get(ENV_URL)
    if url:
        return Emulator(url=url.rstrip("/"))
    try:
        rec = json.loads(_record().read_text())
    except (FileNotFoundError, ValueError):
        return None
    pid = rec.get("pid")
    if isinstance(pid, int) and paths.pid_alive(pid) and healthy(rec["url"]):
        return Emulator(url=rec["url"], pid=pid, started=rec.get("started"))
    return None


def ensure() -> Emulator:
    """The running emulator, starting one if needed. With ``$LABNET_EMULATOR_URL`` set, never starts one."""
    em = find()
    if em is not None:
        if em.external and not healthy(em.url):
            raise EmulatorError(f"the emulator at {em.url} (from ${ENV_URL}) does not answer; start it, "
                                f"or unset {ENV_URL} to let labnet start its own")
        return em
    return start()


def start() -> Emulator:
    """Start moto's server on 127.0.0.1 on a free port, in its own session, and record it."""
    if os.environ.get(ENV_URL):
        raise EmulatorError(f"${ENV_URL} is set: labnet uses that emulator and does not start its own")
    existing = find()
    if existing is not None:
        return existing
    home = paths.home()
    ready = home / f"emulator.ready.{os.getpid()}"
    ready.unlink(missing_ok=True)
    # 0600 like everything in the state folder (open() would take the umask's mode).
    fd = os.open(home / "emulator.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    log = os.fdopen(fd, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "labnet.emulator.server", str(ready)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    )
    log.close()
    deadline = time.monotonic() + START_TIMEOUT
    while not ready.exists():
        if proc.poll() is not None:
            raise EmulatorError(f"the emulator exited with code {proc.returncode} while starting; "
                                f"see {home / 'emulator.log'}")
        if time.monotonic() > deadline:
            proc.kill()
            raise EmulatorError(f"the emulator did not start within {START_TIMEOUT:.0f}s; "
                                f"see {home / 'emulator.log'}")
        time.sleep(0.05)
    info = json.loads(ready.read_text())
    ready.unlink(missing_ok=True)
    em = Emulator(url=f"http://127.0.0.1:{info['port']}", pid=proc.pid, started=time.time())
    paths.write_json(_record(), {"url": em.url, "pid": em.pid, "started": em.started})
    return em


def stop() -> bool:
    """Stop the emulator labnet started (never an external one). True if one was stopped."""
    try:
        rec = json.loads(_record().read_text())
    except (FileNotFoundError, ValueError):
        return False
    pid = rec.get("pid")
    stopped = False
    if isinstance(pid, int) and paths.pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while paths.pid_alive(pid) and time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.05)
        if paths.pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        stopped = True
    _record().unlink(missing_ok=True)
    return stopped


def s3_backend(bucket: str = "labnet-state", region: str = "us-east-1") -> str:
    """A Pulumi state backend on the emulator's own S3, for a team sharing one stack without an AWS
    account: the bucket is created if it is not there, and the URL uses Pulumi's S3 backend options
    (``endpoint``, ``s3ForcePathStyle``, ``region``). Pass it as ``Lab(..., backend=url)``; labnet gives
    the CLI the emulator's test credentials for it (never the user's).

    >>> url = labnet.emulator.s3_backend("team-state")
    >>> labnet.Lab("team-net", spec, engine="pulumi", backend=url).up()
    """
    em = ensure()
    s3 = em.client("s3", region)
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket)
    return f"s3://{bucket}?endpoint={em.url}&s3ForcePathStyle=true&region={region}"


def status() -> dict:
    """Where the emulator is and whether it answers (safe to print: no credentials)."""
    em = find()
    if em is None:
        return {"running": False, "url": None, "pid": None, "external": False}
    return {"running": True, "url": em.url, "pid": em.pid, "external": em.external}
