"""Plain builders shared by tests (no fixtures, no emulator)."""

from __future__ import annotations

from labnet import sizing
from labnet.facts import instances
from labnet.preflight import RegionFacts

P5 = instances.InstanceFacts(instance_type="p5.48xlarge", network_cards=32, max_interfaces=64, ipv4_per_interface=50,
                          efa_supported=True, max_efa_interfaces=32, accelerators=8, accelerator_name="NVIDIA H100")
M5 = instances.InstanceFacts(instance_type="m5.large", network_cards=1, max_interfaces=3, ipv4_per_interface=10,
                          efa_supported=False, max_efa_interfaces=0, accelerators=0)
US_EAST_1 = RegionFacts("us-east-1", tuple(f"us-east-1{c}" for c in "abcdef"))


def ec2_facts(instance_type: str) -> instances.InstanceFacts:
    """An instance type's facts parsed from the describe_instance_types data the emulator serves (moto
    ships AWS's own instance data), without starting a server: test_sizing checks that the reader
    gets the same facts over the wire."""
    return instances.InstanceFacts.from_ec2(_ec2_instance_types()[instance_type])


def _ec2_instance_types() -> dict:
    global _TYPES
    if _TYPES is None:
        import gzip
        import importlib.util
        import json
        from pathlib import Path

        # The data file only: importing moto itself is slow and not needed to read it.
        root = Path(importlib.util.find_spec("moto").origin).parent
        _TYPES = json.loads(gzip.decompress((root / "ec2" / "resources" / "instance_types.json.gz").read_bytes()))
    return _TYPES


_TYPES = None


def by_cidr(spec):
    """``spec`` with every spoke admitting its peers by CIDR (the peer prefix list), as before issue 19's
    group references: what the prefix-list tests are about."""
    import dataclasses

    return dataclasses.replace(spec, spokes=tuple(dataclasses.replace(sp, admission="prefix-list")
                                                  for sp in spec.spokes))


def plan(**kw):
    args = dict(spokes=3, nodes_per_spoke=16, instance=P5, region=US_EAST_1, azs=2)
    args.update(kw)
    return sizing.plan(**args)


def declared(spec, stack="test"):
    """The program under the SDK's mock monitor: ([(type, name, inputs)] in order, exports); ids are
    ``<name>-id``, ARNs ``arn:<name>`` (:func:`labnet.declare.declare`)."""
    from labnet.declare import declare

    found = declare(spec, stack)
    return [(r.type, r.name, r.inputs) for r in found.resources], found.exports


def registrations(spec=None, target=None, stack="test", main=None):
    """Every registration a program makes under the SDK's own mock monitor, providers included:
    [(type, name, inputs, provider reference)]. By default the program is ``labnet.program.build(spec,
    stack, target)``; ``main`` runs another entry point instead (``deploy/__main__.py``, say)."""
    from labnet.declare import declare

    return [(r.type, r.name, r.inputs, r.provider)
            for r in declare(spec, stack, target, providers=True, main=main).resources]


def full_mesh(spec):
    """What the full-mesh program (before issue 12) declared for each spoke, as expectations: a route
    via the TGW to every other spoke (by name) and TCP admission from every other spoke's CIDR. The
    summary route and peer prefix lists must reach exactly this; the connectivity matrix (branch
    ``verify``) can be checked against it too."""
    return {sp.name: {"routes_via_tgw": {o.name for o in spec.spokes if o is not sp},
                      "admits_tcp_from": [o.cidr for o in spec.spokes if o is not sp]}
            for sp in spec.spokes}


def verdicts(frame):
    """A connectivity frame as {(src, dst, probe): (reachable, reason, blocked_at, path)}"""
    import pandas as pd

    return {(r.src_spoke, r.dst_spoke, r.probe): (None if pd.isna(r.reachable) else bool(r.reachable), r.reason,
                                                 r.blocked_at, r.path)
            for r in frame.itertuples(index=False)}


def record_api_calls(monkeypatch, calls) -> None:
    """From now on every botocore client created appends the name of each API call it makes to
    ``calls`` (clients made before are not counted)."""
    import botocore.session

    real = botocore.session.Session.create_client

    def create_client(self, *args, **kwargs):
        client = real(self, *args, **kwargs)
        client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
