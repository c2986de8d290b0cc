"""Shared fixtures: an isolated LABNET_HOME per test, one real moto server on loopback per session,
and an independent boto3 client to inspect it."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import boto3
import pytest

REGION = "us-east-1"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def emulator_url(tmp_path_factory):
    """moto's server on 127.0.0.1 (a free port), started through labnet.emulator in a private home,
    exported as LABNET_EMULATOR_URL so labnet (and papermill kernels) use it; stopped at the end."""
    from labnet import emulator

    saved = {k: os.environ.get(k) for k in ("LABNET_HOME", emulator.ENV_URL)}
    os.environ.pop(emulator.ENV_URL, None)
    emu_home = str(tmp_path_factory.mktemp("emulator-home"))
    os.environ["LABNET_HOME"] = emu_home
    em = emulator.start()
    assert em.url.startswith("http://127.0.0.1:")
    os.environ[emulator.ENV_URL] = em.url
    try:
        yield em.url
    finally:
        os.environ.pop(emulator.ENV_URL, None)
        os.environ["LABNET_HOME"] = emu_home
        emulator.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(autouse=True)
def labnet_home(tmp_path, monkeypatch):
    """Every test gets its own state folder."""
    home = tmp_path / "labnet-home"
    monkeypatch.setenv("LABNET_HOME", str(home))
    return home


@pytest.fixture
def fresh_emulator(emulator_url):
    """The session's emulator with moto's state wiped, so counts start from zero."""
    req = urllib.request.Request(emulator_url + "/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(req, timeout=10).read()
    return emulator_url


@pytest.fixture
def ec2(fresh_emulator):
    """An independent boto3 EC2 client on the emulator (not labnet's)."""
    return boto3.client("ec2", region_name=REGION, endpoint_url=fresh_emulator,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def aws_on_moto_env(fresh_emulator, monkeypatch):
    """``target="aws"`` (plain boto3, the user's credential chain) reaches the moto server:
    AWS_ENDPOINT_URL and test credentials, no profile or session of the machine's. No test reaches
    a real account."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_emulator)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(var, raising=False)
    return fresh_emulator


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
