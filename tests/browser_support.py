"""Helpers for the browser test: the deploy form served by Voilà on loopback, and Debian's Chromium
driven by Playwright, with every request the page makes written down.

Nothing here downloads a browser: Playwright launches the system Chromium (`make test` installs
Debian's ``chromium`` when it is missing). A missing browser fails the test; it is never skipped.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
APP_NOTEBOOK = REPO / "app" / "deploy_form.ipynb"
APP_JUPYTER_PATH = REPO / "app" / "share" / "jupyter"  # holds the "labnet" Voilà template
APP_CONFIG = REPO / "app" / "config"  # voila.py: the app's Voilà configuration, as `make app` uses it
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
    "--disable-sync", "--no-first-run", "--no-default-browser-check", "--metrics-recording-only",
    # Belt and braces: any name but 127.0.0.1 fails to resolve, so a stray request cannot leave the
    # machine. The test still sees (and rejects) the attempt in its request log.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
VOILA_START_TIMEOUT = 60.0


def require_chromium() -> str:
    """The system Chromium's path, or a loud failure saying how to install it (never a skip)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Debian's chromium is not installed at {CHROMIUM}: the browser test needs it. "
                    "`make test` installs it (as root: apt-get update && apt-get install -y "
                    "--no-install-recommends chromium). Playwright's own browser download is not used.",
                    pytrace=False)
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Voilà's kernels run in sessions of their own, so not in its group)."""
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


@dataclass
class VoilaServer:
    """Voilà serving app/deploy_form.ipynb with the "labnet" template on 127.0.0.1:<port>."""

    port: int
    proc: subprocess.Popen
    log: Path
    kernels: set[int] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def note_kernels(self) -> None:
        self.kernels.update(_children(self.proc.pid))

    def stop(self) -> None:
        """SIGTERM lets Voilà shut its kernels down; any kernel still alive after that is killed by pid."""
        self.note_kernels()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(k) for k in self.kernels) and time.monotonic() < deadline:
            time.sleep(0.1)
        for k in self.kernels:
            if _alive(k):
                os.kill(k, signal.SIGKILL)


def start_voila(env_extra: dict[str, str], log_dir: Path) -> VoilaServer:
    """Start Voilà on a free loopback port, inheriting this process's environment (so LABNET_HOME and
    LABNET_EMULATOR_URL point at the test's state folder and emulator) plus ``env_extra``."""
    port = free_port()
    config_dir = log_dir / "jupyter-config"  # no user config can change what is served
    config_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "JUPYTER_PATH": str(APP_JUPYTER_PATH), "JUPYTER_CONFIG_DIR": str(config_dir),
           "PYTHONUNBUFFERED": "1", **env_extra}
    log = log_dir / "voila.log"
    cmd = [sys.executable, "-m", "voila", str(APP_NOTEBOOK), "--no-browser", "--Voila.ip=127.0.0.1",
           f"--port={port}", "--Voila.port_retries=0", "--template=labnet", "--theme=light",
           "--show_tracebacks=True", f"--Voila.config_file_paths={APP_CONFIG}"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)
    server = VoilaServer(port=port, proc=proc, log=log)
    # A static file of the labnet template: answers once Voilà is up, and proves the template is found.
    probe = f"{server.url}voila/templates/labnet/static/index.css"
    deadline = time.monotonic() + VOILA_START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"Voilà exited with code {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(probe, timeout=2) as resp:
                if resp.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"Voilà did not answer within {VOILA_START_TIMEOUT:.0f}s:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def is_local(url: str) -> bool:
    """True for URLs served by this machine's loopback (blob: URLs carry their origin inside)."""
    if url.startswith("blob:"):
        url = url[len("blob:"):]
    if url.startswith(("data:", "about:")):
        return True
    return urlsplit(url).hostname == "127.0.0.1"


@dataclass
class RequestLog:
    """Every request and WebSocket a browser context opens, in order."""

    entries: list[str] = field(default_factory=list)

    def attach(self, context) -> None:
        context.on("request", lambda r: self.entries.append(f"{r.method} {r.url}"))
        context.on("page", lambda p: p.on("websocket", lambda ws: self.entries.append(f"WS {ws.url}")))

    def outside(self) -> list[str]:
        return [e for e in self.entries if not is_local(e.split(" ", 1)[1])]

    def save(self, path: Path) -> None:
        path.write_text("\n".join(self.entries) + "\n")


def save_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")
