"""Plain builders shared by tests (no fixtures, no emulator)."""

from __future__ import annotations

from labnet import sizing
from labnet.preflight import RegionFacts

P5 = sizing.InstanceFacts(instance_type="p5.48xlarge", network_cards=32, max_interfaces=64, ipv4_per_interface=50,
                          efa_supported=True, max_efa_interfaces=32, accelerators=8, accelerator_name="NVIDIA H100")
M5 = sizing.InstanceFacts(instance_type="m5.large", network_cards=1, max_interfaces=3, ipv4_per_interface=10,
                          efa_supported=False, max_efa_interfaces=0, accelerators=0)
US_EAST_1 = RegionFacts("us-east-1", tuple(f"us-east-1{c}" for c in "abcdef"))


def plan(**kw):
    args = dict(spokes=3, nodes_per_spoke=16, instance=P5, region=US_EAST_1, azs=2)
    args.update(kw)
    return sizing.plan(**args)


def declared(spec, stack="test"):
    """Run the program under the SDK's mock monitor and return [(type, name, inputs)] in order."""
    from labnet.engines.rehearsal import run_program

    rows = []

    def hook(typ, name, inputs):
        rows.append((typ, name, inputs))
        return f"{name}-id", {**inputs, "arn": f"arn:{name}"}

    exports = run_program(spec, stack, hook, preview=True)
    return rows, exports


def full_mesh(spec):
    """What the full-mesh program (before issue 12) declared for each spoke, as expectations: a route
    via the TGW to every other spoke (by name) and TCP admission from every other spoke's CIDR. The
    summary route and peer prefix lists must reach exactly this; the connectivity matrix (branch
    ``verify``) can be checked against it too."""
    return {sp.name: {"routes_via_tgw": {o.name for o in spec.spokes if o is not sp},
                      "admits_tcp_from": [o.cidr for o in spec.spokes if o is not sp]}
            for sp in spec.spokes}
