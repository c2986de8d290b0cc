"""Plain helpers for the reliability tests (no fixtures)."""

from __future__ import annotations

import json

from tests.inspect_ec2 import inventory, total


def default_tgw_route_tables(ec2) -> set[str]:
    """moto gives every TGW a default route table even when default association is disabled (AWS does
    not): emulator furniture, never in labnet's state."""
    return {r["TransitGatewayRouteTableId"]
            for r in ec2.describe_transit_gateway_route_tables()["TransitGatewayRouteTables"]
            if r.get("DefaultAssociationRouteTable") and r.get("State") not in ("deleted", "deleting")}


def emulator_ids(ec2) -> set[str]:
    """Ids of everything the inventory counts, minus moto's default TGW route tables."""
    ids = {i for items in inventory(ec2).values() for i in items}
    return ids - default_tgw_route_tables(ec2)


def counts(ec2) -> dict[str, int]:
    """How many of each kind the inventory holds (moto's default TGW route tables left out)."""
    defaults = default_tgw_route_tables(ec2)
    return {kind: len(set(ids) - defaults) for kind, ids in inventory(ec2).items()}


# What one deploy of the two-spoke, one-AZ network (the ``small_spec`` fixture) leaves on the emulator.
SMALL_NETWORK = {"vpcs": 2, "subnets": 4, "transit_gateways": 1, "attachments": 2, "tgw_route_tables": 1,
                 "security_groups": 2, "route_tables": 2, "endpoints": 2, "launch_templates": 2,
                 "prefix_lists": 0}  # two spokes in one Region admit each other by group reference (issue 19)


def left_behind(ec2) -> int:
    """Resources left on the emulator (the inventory of tests/inspect_ec2.py)."""
    return total(inventory(ec2))


def state_ids(store) -> set[str]:
    st = store.load()
    return {r.id for r in st.resources.values() if r.id}


def spec_json(spec) -> str:
    return json.dumps(spec.to_dict())


def slow_up_code(stack: str, spec, delay: float = 0.04, extra: str = "", op: str = "up",
                 hold_at: int | None = None, release: str | None = None) -> str:
    """Python code for a subprocess that runs ``op`` on ``stack`` slowly (a sleep per progress event),
    so a test can interrupt, kill or race it part-way.

    With ``hold_at``, each worker thread stops at its progress event once ``hold_at`` resources are
    done, until the file ``release`` exists (for ever when ``release`` is None: the test kills it), so
    a test acts while the operation is certainly still running, however loaded the machine is.
    """
    return f"""
import json, os, threading, time, labnet
{extra}
spec = labnet.NetworkSpec.from_dict(json.loads({spec_json(spec)!r}))
done, count_lock = [0], threading.Lock()

def progress(event):
    time.sleep({delay})
    if event.status != "done":
        return
    with count_lock:
        done[0] += 1
        now = done[0]
    if {hold_at!r} is not None and now >= {hold_at!r}:
        while {release!r} is None or not os.path.exists({release!r}):
            time.sleep(0.02)

lab = labnet.Lab({stack!r}, spec if {op!r} == "up" else None, engine="rehearsal", progress=progress)
getattr(lab, {op!r})()
print("finished", lab.status())
"""
