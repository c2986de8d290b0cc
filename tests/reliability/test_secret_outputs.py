"""Issue 5, item 9: secret stack outputs appear as ``[secret]`` in every table.

Two ways a secret output reaches labnet's tables:

* the Automation API engine: ``stack.up().outputs`` holds ``pulumi.automation.OutputValue`` objects;
  ``engines.automation.plain_outputs`` turns secret ones into ``[secret]`` before anything else sees
  them. Tested with real OutputValue objects (no CLI needed), each export made secret in turn.
* the rehearsal engine: the program exports a ``pulumi.Output.secret`` (or a value built from one);
  the engine keeps ``[secret]`` in its place, in the returned exports and in its state file (it has
  no encrypted state to keep the value in). Tested with the real program plus one secret export.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from pulumi.automation import OutputValue

import labnet
from labnet import program, tables
from labnet.engines.automation import plain_outputs
from labnet.outputs import SECRET
from tests.reliability.util import left_behind

SENTINEL = "SENTINEL-SECRET-OUTPUT-4b1d"


def _realistic_exports() -> dict:
    """The shape program.build exports for two spokes, every value carrying the sentinel."""
    def spoke(n):
        return {"vpc_id": f"vpc-{SENTINEL}-{n}", "cidr": f"10.{n}.0.0/24", "route_table_id": f"rtb-{SENTINEL}-{n}",
                "attachment_id": f"tgw-attach-{SENTINEL}-{n}", "security_group_id": f"sg-{SENTINEL}-{n}",
                "tgw_route_table": "spokes", "s3_endpoint_id": f"vpce-{SENTINEL}-{n}",
                "subnets": [{"name": f"spoke-0{n}-compute-a", "role": "compute", "az": "us-east-1a",
                             "cidr": f"10.{n}.0.0/26", "id": f"subnet-{SENTINEL}-{n}"}]}
    return {"region": "us-east-1", "supernet": "10.0.0.0/8", "transit_gateway_id": f"tgw-{SENTINEL}",
            "transit_gateway_arn": f"arn:aws:ec2:us-east-1:123456789012:transit-gateway/{SENTINEL}",
            "transit_gateway_route_tables": {"spokes": f"tgw-rtb-{SENTINEL}"},
            "spokes": {"spoke-01": spoke(1), "spoke-02": spoke(2)}}


def _leaks(frame: pd.DataFrame, tmp_path) -> list[str]:
    """Where the sentinel shows: the frame's cells, its HTML and text, and the CSV/JSON files."""
    found = []
    if SENTINEL in frame.to_string() or SENTINEL in frame.to_html():
        found.append("frame")
    for suffix in (".csv", ".json"):
        path = tables.write(frame, tmp_path / f"outputs{suffix}")
        if SENTINEL in path.read_text():
            found.append(suffix)
    return found


@pytest.mark.parametrize("secret_key", ["transit_gateway_id", "transit_gateway_arn", "transit_gateway_route_tables",
                                        "spokes", "supernet", "every"])
def test_automation_api_secret_outputs_show_as_secret(secret_key, tmp_path, figures):
    exports = _realistic_exports()
    secret = set(exports) if secret_key == "every" else {secret_key}
    raw = {k: OutputValue(v, secret=k in secret) for k, v in exports.items()}
    plain = plain_outputs(raw)
    assert all(plain[k] == SECRET for k in secret)
    frame = tables.outputs(plain)
    shown = json.dumps(frame.to_dict("records"))
    # Values of the non-secret exports still show; the secret ones never do.
    for key in secret:
        for value in _leaf_values(exports[key]):
            if isinstance(value, str) and len(value) > 12:
                assert value not in shown, (key, value)
    assert SECRET in set(frame.id) | set(frame.cidr)
    hits = 0 if secret_key != "every" else len(_leaks(frame, tmp_path))
    assert hits == 0
    if secret_key == "every":
        figures.sentinel_hits("secret outputs (Automation API tables, CSV, JSON)", hits)


def _leaf_values(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaf_values(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaf_values(v)
    else:
        yield value


def test_secret_nested_in_a_spoke_hides_that_spoke(tmp_path):
    exports = _realistic_exports()
    exports["spokes"]["spoke-01"] = SECRET
    exports["spokes"]["spoke-02"]["subnets"] = SECRET
    frame = tables.outputs(exports)
    assert SENTINEL + "-1" not in frame.to_string()
    assert list(frame[(frame.spoke == "spoke-01")].id) == [SECRET]
    assert list(frame[(frame.spoke == "spoke-02") & (frame.resource == "subnet")].id) == [SECRET]
    assert not _leaks(frame[frame.spoke == "spoke-01"], tmp_path)


@pytest.mark.e2e
def test_rehearsal_secret_exports_show_as_secret_everywhere(ec2, small_spec, monkeypatch, labnet_home, tmp_path,
                                                            figures):
    import pulumi

    real_build = program.build

    def build_with_secrets(spec, stack=None, target=None):
        exports = real_build(spec, stack, target)
        exports["transit_gateway_arn"] = pulumi.Output.secret(exports["transit_gateway_arn"])
        exports["admin_token"] = pulumi.Output.secret(SENTINEL)
        exports["token_url"] = pulumi.Output.secret(SENTINEL).apply(lambda t: f"https://x/?t={t}")
        return exports

    monkeypatch.setattr(program, "build", build_with_secrets)
    lab = labnet.Lab("secret-out", small_spec, engine="rehearsal")
    out = lab.up()
    exports = lab.exports()
    assert exports["admin_token"] == SECRET and exports["token_url"] == SECRET
    assert exports["transit_gateway_arn"] == SECRET
    assert exports["transit_gateway_id"].startswith("tgw-")  # the rest is shown as before
    for frame in (out, lab.outputs()):
        assert list(frame[frame.resource == "transit_gateway_arn"].id) == [SECRET]
    hits = len(_leaks(lab.outputs(), tmp_path))
    hits += sum(SENTINEL.encode() in p.read_bytes() for p in labnet_home.rglob("*") if p.is_file())
    hits += SENTINEL in repr(lab) + repr(exports) + labnet.stacks().to_string()
    figures.sentinel_hits("secret outputs (rehearsal tables, CSV, JSON, state folder)", hits)
    assert hits == 0
    lab.destroy()
    assert left_behind(ec2) == 0
