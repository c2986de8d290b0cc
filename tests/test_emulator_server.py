"""labnet's emulator server runs moto one request at a time (moto is not thread-safe), says so in a
header, and the rehearsal engine keeps several EC2 calls in flight only where it does."""

from __future__ import annotations

import threading
import time

import pytest

import labnet
from labnet import emulator
from labnet.emulator.server import serialized

HEADER = (emulator.SERIAL_HEADER, "1")


def _racing_app():
    """A WSGI app that notes how many requests are inside it at once."""
    inside, most = [0], [0]
    lock = threading.Lock()

    def app(environ, start_response):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.02)
        with lock:
            inside[0] -= 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"one ", b"body"]

    return app, most


def _call(app, n: int) -> list[tuple[str, list, bytes]]:
    answers = []
    go = threading.Barrier(n)

    def one():
        seen = {}

        def start_response(status, headers, exc_info=None):
            seen.update(status=status, headers=headers)

        go.wait()
        body = b"".join(app({}, start_response))
        answers.append((seen["status"], seen["headers"], body))

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_the_wrapper_lets_one_request_in_at_a_time_and_marks_every_answer():
    app, most = _racing_app()
    _call(app, 8)
    assert most[0] > 1  # the bare app is entered concurrently: the check below can fail
    app, most = _racing_app()
    answers = _call(serialized(app, HEADER), 8)
    assert most[0] == 1
    assert all(status == "200 OK" and HEADER in headers and body == b"one body" for status, headers, body in answers)


def test_labnets_emulator_says_it_serializes_and_moto_alone_does_not(emulator_url):
    from moto.server import ThreadedMotoServer

    assert emulator.serializes(emulator_url)
    plain = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    plain.start()
    try:
        host, port = plain.get_host_and_port()
        assert not emulator.serializes(f"http://{host}:{port}")
    finally:
        plain.stop()


def test_the_engine_overlaps_calls_only_on_a_serializing_emulator(ec2, monkeypatch):
    from labnet.engines import rehearsal

    spec = labnet.size(spokes=2, nodes_per_spoke=2, azs=1)
    assert labnet.Lab("serial-probe", spec, engine="rehearsal")._engine()._call is not rehearsal._EC2_CALL
    monkeypatch.setattr(emulator, "serializes", lambda url, timeout=2.0: False)
    assert labnet.Lab("serial-probe", spec, engine="rehearsal")._engine()._call is rehearsal._EC2_CALL


@pytest.mark.e2e
def test_many_calls_in_flight_on_one_route_table_never_fail(emulator_url, ec2):
    """The request mix that made moto answer 500 (concurrent CreateRoute on one route table while
    others walk it); bench/emulator_stress.py shows moto's own server failing it (45 of 2,400 calls)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    try:
        import emulator_stress
    finally:
        sys.path.pop(0)
    result = emulator_stress.hammer(emulator_url, threads=6, rounds=40)
    assert result["calls"] == 6 * 40 * 2
    assert result["failures"] == 0, result["kinds"]


def test_the_quota_check_leaves_no_traceback_in_the_emulator_log(tmp_path, monkeypatch):
    """Service Quotas' GetAWSDefaultServiceQuota (moto does not implement it) is served by labnet's
    emulator: AWS's defaults that moto ships, NoSuchResourceException for the rest. The quota check
    falls back as before, and the emulator's log holds no traceback."""
    import boto3

    monkeypatch.delenv(emulator.ENV_URL, raising=False)
    monkeypatch.setenv("LABNET_HOME", str(tmp_path / "home"))
    em = emulator.start()
    try:
        sq = boto3.client("service-quotas", region_name="us-east-1", endpoint_url=em.url,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        assert sq.get_aws_default_service_quota(ServiceCode="vpc", QuotaCode="L-F678F1CE")["Quota"]["Value"] == 5
        with pytest.raises(sq.exceptions.NoSuchResourceException):
            sq.get_aws_default_service_quota(ServiceCode="ec2", QuotaCode="L-A2478D36")
        frame = labnet.quotas(labnet.size(spokes=2, nodes_per_spoke=4, supernet="10.0.0.0/16"))
        tgws = frame[frame.code == "L-A2478D36"].iloc[0]
        assert tgws.applied == 5 and "NoSuchResourceException" in tgws.source  # the documented default
    finally:
        emulator.stop()
    log = (tmp_path / "home" / "emulator.log").read_text()
    assert "Traceback" not in log and "NotImplementedError" not in log and "Error on request" not in log, log[-2000:]
