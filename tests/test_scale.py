"""Issue 12 item 1 on the emulator: routing and admission that grow linearly in N, within AWS's
default quotas counted AWS's way, and spokes added and removed by updating prefix lists in place.

Everything is checked with an independent boto3 client (tests/inspect_ec2.py); the EC2 requests
labnet sends are watched on the wire with a botocore event hook, not through labnet's own code.
"""

from __future__ import annotations

import contextlib
import dataclasses

import pytest

import labnet
from tests.helpers import by_cidr  # the peer prefix list (references: test_security)
from labnet.analysis import quota_report
from labnet.engines import handlers
from tests.inspect_ec2 import (assert_reaches_like_the_full_mesh, counted_inbound_rules, counted_routes, inventory,
                               prefix_list_entries, total)

pytestmark = pytest.mark.e2e


@contextlib.contextmanager
def wire(*clients):
    """Every EC2 request sent meanwhile by ``clients`` and by any botocore client created meanwhile:
    [(operation, params)]."""
    import botocore.session

    sent: list[tuple[str, dict]] = []

    def record(model, params, **_):
        sent.append((model.name, dict(params)))

    real = botocore.session.Session.create_client

    def create_client(self, *args, **kwargs):
        client = real(self, *args, **kwargs)
        client.meta.events.register("before-parameter-build.ec2", record)
        return client

    for client in clients:
        client.meta.events.register("before-parameter-build.ec2", record)
    botocore.session.Session.create_client = create_client
    try:
        yield sent
    finally:
        botocore.session.Session.create_client = real
        for client in clients:
            client.meta.events.unregister("before-parameter-build.ec2", record)


def _ids(lab) -> dict[str, str]:
    return {r.urn: r.id for r in lab._store.load().created}


def test_sixty_spokes_fit_the_default_route_and_rule_quotas_counted_awss_way(ec2):
    spec = labnet.size(spokes=60, nodes_per_spoke=2, azs=1)
    lab = labnet.Lab("scale-60", spec, engine="rehearsal")
    lab.up()
    assert not [w for w in lab.quota_warnings if "routes" in w or "inbound rules" in w.lower()]
    exports = lab.exports()
    routes, rules = {}, {}
    for name, sp in exports["spokes"].items():
        routes[name] = counted_routes(ec2, sp["route_table_id"])
        rules[name] = counted_inbound_rules(ec2, sp["security_group_id"])
    defaults = quota_report.defaults(spec).applied
    assert max(routes.values()) <= defaults["routes_per_route_table"].value == 50
    assert max(rules.values()) <= defaults["inbound_rules_per_security_group"].value == 60
    # The quota analysis's count (from the declared program) agrees with what the emulator holds, table
    # by table and group by group.
    counted = quota_report.counts(spec)
    assert set(routes.values()) == set(counted.routes_per_route_table.values()) == {3}
    assert {f"{k}-training-sg": v for k, v in rules.items()} == counted.inbound_rules_per_security_group
    assert_reaches_like_the_full_mesh(ec2, spec, exports)
    lab.destroy()
    assert total(inventory(ec2)) == 0


def test_adding_and_removing_spokes_updates_the_lists_and_rebuilds_nothing(ec2):
    three = by_cidr(labnet.size(spokes=3, nodes_per_spoke=2, azs=2))
    with wire() as sent:
        lab = labnet.Lab("scale-grow", three, engine="rehearsal")
        lab.up()
        assert_reaches_like_the_full_mesh(ec2, three, lab.exports())
        before = _ids(lab)

        # Add two spokes: the existing lists are modified in place, nothing existing is replaced.
        five = by_cidr(labnet.size(spokes=5, nodes_per_spoke=2, azs=2))
        lab = labnet.Lab("scale-grow", five, engine="rehearsal")
        plan = lab.preview()
        assert set(plan[plan.action == "update"].name) == {f"{s.name}-peers" for s in three.spokes}
        assert not len(plan[plan.action.isin(["replace", "delete"])])
        start = len(sent)
        lab.up()
        after = _ids(lab)
        assert {u: i for u, i in after.items() if u in before} == before  # same ids: nothing rebuilt
        assert not [op for op, _ in sent[start:] if op.startswith(("Delete", "Disassociate", "Disable"))]
        old_groups = {sp["security_group_id"] for sp in lab.exports()["spokes"].values()} & set(before.values())
        # The only revokes: each new group's default allow-all egress (what the provider does too).
        assert not [p for op, p in sent[start:] if op.startswith("Revoke") and p["GroupId"] in old_groups]
        _check_lists(ec2, five, lab.exports(), sent)
        assert_reaches_like_the_full_mesh(ec2, five, lab.exports())

        # Remove a middle spoke (the rest are no longer contiguous) and the last one.
        four = dataclasses.replace(five, spokes=tuple(s for s in five.spokes
                                                      if s.name not in ("spoke-02", "spoke-05")))
        lab = labnet.Lab("scale-grow", four, engine="rehearsal")
        lab.up()
        kept = _ids(lab)
        assert {u: i for u, i in kept.items() if u in after} == kept  # the survivors are the same resources
        assert len(inventory(ec2)["vpcs"]) == 3
        _check_lists(ec2, four, lab.exports(), sent)
        assert_reaches_like_the_full_mesh(ec2, four, lab.exports())
    lab.destroy()
    assert total(inventory(ec2)) == 0


def _check_lists(ec2, spec, exports, sent) -> None:
    """Each spoke's peer list holds exactly its peer blocks, and the last size EC2 was asked for is
    their number. (moto 5.2.5 accepts MaxEntries on ModifyManagedPrefixList and ignores it, so what
    was asked for is read on the wire; the entries are read back from the emulator.)"""
    resized = {p["PrefixListId"]: p["MaxEntries"] for op, p in sent
               if op == "ModifyManagedPrefixList" and "MaxEntries" in p}
    created = {p["PrefixListName"]: p["MaxEntries"] for op, p in sent if op == "CreateManagedPrefixList"}
    for name, sp in exports["spokes"].items():
        pl_id = sp["peer_prefix_list_id"]
        assert sorted(prefix_list_entries(ec2, pl_id)) == sorted(spec.peer_cidrs()[name])
        (pl,) = ec2.describe_managed_prefix_lists(PrefixListIds=[pl_id])["PrefixLists"]
        asked = resized.get(pl_id, created.get(pl["PrefixListName"], pl["MaxEntries"]))
        assert asked == len(spec.peer_cidrs()[name]), name


def test_an_update_interrupted_midway_is_finished_by_the_next_up(ec2, monkeypatch):
    """Killed between a prefix list's resize and its entries: the journal says which update was in
    flight, and the next up makes it again from what the list holds by then."""
    three = by_cidr(labnet.size(spokes=3, nodes_per_spoke=2, azs=1))
    labnet.Lab("scale-cut", three, engine="rehearsal").up()
    four = by_cidr(labnet.size(spokes=4, nodes_per_spoke=2, azs=1))
    real = handlers.ManagedPrefixList._modify

    def cut(self, client, pl, add, remove):
        raise KeyboardInterrupt  # after the resize (made first when a list grows), before any entry

    monkeypatch.setattr(handlers.ManagedPrefixList, "_modify", cut)
    with wire() as sent:
        lab = labnet.Lab("scale-cut", four, engine="rehearsal")
        with pytest.raises(labnet.InterruptedOperationError):
            lab.up()
        state = lab._store.load()
        midway = [r for r in state.created if r.updating is not None]
        assert midway and all(r.type == handlers.ManagedPrefixList.token for r in midway)
        for r in midway:  # recorded: the old inputs, and the update it was making
            assert r.updating["entries"] != r.inputs["entries"]

        monkeypatch.setattr(handlers.ManagedPrefixList, "_modify", real)
        with pytest.raises(labnet.InterruptedOperationError):
            labnet.Lab("scale-cut", four, engine="rehearsal").up()  # refused without resume=True
        # Even back on the old spec, what was in flight is an update (the list may hold anything).
        back = labnet.Lab("scale-cut", three, engine="rehearsal").preview()
        assert set(back[back.action == "update"].name) == {r.name for r in midway}
        lab = labnet.Lab("scale-cut", four, engine="rehearsal")
        lab.up(resume=True)
    assert not [r for r in lab._store.load().created if r.updating is not None]
    _check_lists(ec2, four, lab.exports(), sent)
    assert_reaches_like_the_full_mesh(ec2, four, lab.exports())
    lab.destroy()
    assert total(inventory(ec2)) == 0


def test_any_other_change_is_still_refused_before_any_call(ec2):
    lab = labnet.Lab("scale-refuse", labnet.size(spokes=2, nodes_per_spoke=2, azs=1), engine="rehearsal")
    lab.up()
    before = inventory(ec2)
    moved = labnet.size(spokes=2, nodes_per_spoke=2, azs=1, supernet="10.64.0.0/10")  # every CIDR moves
    with wire() as sent, pytest.raises(labnet.SpecChangedError) as err:
        labnet.Lab("scale-refuse", moved, engine="rehearsal").up()
    assert "cannot update in place" in str(err.value)
    assert not [op for op, _ in sent if not op.startswith(("Describe", "Get"))]
    assert inventory(ec2) == before
    lab.destroy()


# -- the handlers behind it, one by one ---------------------------------------------------------
def test_prefix_list_handler_updates_entries_size_and_descriptions(ec2):
    handler = handlers.HANDLERS[handlers.ManagedPrefixList.token]
    many = [f"10.{k // 256}.{k % 256}.0/24" for k in range(230)]  # more than one request's 100 entries

    def inputs(cidrs, note="peer"):
        return {"addressFamily": "IPv4", "maxEntries": float(len(cidrs)), "tags": {"Name": "t-peers", "stack": "t"},
                "entries": [{"cidr": c, "description": f"{note} {c}"} for c in cidrs]}

    with wire(ec2) as sent:
        rid, out = handler.create(ec2, "t-peers", inputs(many))
    assert out["name"].startswith("t-peers-") and sorted(prefix_list_entries(ec2, rid)) == sorted(many)
    assert max(len(p.get("Entries", p.get("AddEntries", []))) for op, p in sent
               if op in ("CreateManagedPrefixList", "ModifyManagedPrefixList")) <= 100
    assert handler.find(ec2, inputs(many)) == rid

    fewer = many[:3] + ["10.200.0.0/16"]
    with wire(ec2) as sent:
        out = handler.update(ec2, rid, inputs(fewer, note="renamed"), out)
    assert sorted(prefix_list_entries(ec2, rid)) == sorted(fewer)
    got = {e["Cidr"]: e["Description"] for e in ec2.get_managed_prefix_list_entries(PrefixListId=rid)["Entries"]}
    assert got == {c: f"renamed {c}" for c in fewer}  # a description-only change is applied too
    mods = [p for op, p in sent if op == "ModifyManagedPrefixList"]
    assert mods[-1] == {"PrefixListId": rid, "PrefixListName": out["name"], "MaxEntries": 4}  # shrunk last
    assert all("CurrentVersion" in p for p in mods if "AddEntries" in p or "RemoveEntries" in p)
    assert not [p for p in mods if {e["Cidr"] for e in p.get("AddEntries", [])}
                & {e["Cidr"] for e in p.get("RemoveEntries", [])}]  # EC2 refuses a CIDR in both

    with wire(ec2) as sent:  # idempotent: a second run finds nothing left to do but the (re)size
        handler.update(ec2, rid, inputs(fewer, note="renamed"), out)
    assert not [p for op, p in sent if op == "ModifyManagedPrefixList" and ("AddEntries" in p or "RemoveEntries" in p)]

    handler.delete(ec2, rid, {}, out)
    assert not handler.find_by_id(ec2, rid, {})
    with pytest.raises(ValueError, match="com.amazonaws"):
        handler.create(ec2, "x", {**inputs(fewer), "name": "com.amazonaws.mine"})


def test_routes_and_rules_that_reference_a_prefix_list(ec2):
    by_type = handlers.HANDLERS
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    tgw = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    pl = ec2.create_managed_prefix_list(PrefixListName="t", AddressFamily="IPv4", MaxEntries=1,
                                        Entries=[{"Cidr": "10.8.0.0/16"}])["PrefixList"]["PrefixListId"]
    route = by_type["aws:ec2/route:Route"]
    to_list = {"routeTableId": rt, "destinationPrefixListId": pl, "transitGatewayId": tgw}
    to_net = {"routeTableId": rt, "destinationCidrBlock": "10.0.0.0/8", "transitGatewayId": tgw}
    ids = [route.create(ec2, n, i)[0] for n, i in (("l", to_list), ("n", to_net))]
    assert ids == [f"r-{rt}_{pl}", f"r-{rt}_10.0.0.0/8"]
    assert route.find(ec2, to_list) == ids[0] and route.find_by_id(ec2, ids[1], to_net)
    route.delete(ec2, ids[0], to_list, {})
    assert not route.find_by_id(ec2, ids[0], to_list) and route.find_by_id(ec2, ids[1], to_net)

    sg, _ = by_type["aws:ec2/securityGroup:SecurityGroup"].create(
        ec2, "t-sg", {"vpcId": vpc, "description": "t", "tags": {"Name": "t-sg"}})
    ingress = by_type["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"]
    rule = {"securityGroupId": sg, "ipProtocol": "tcp", "fromPort": 0.0, "toPort": 65535.0, "prefixListId": pl,
            "description": "TCP from the other spokes"}
    rid, _ = ingress.create(ec2, "from-peers", rule)
    (perm,) = ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]["IpPermissions"]
    assert [r["PrefixListId"] for r in perm["PrefixListIds"]] == [pl] and not perm["IpRanges"]
    assert ingress.find_by_id(ec2, rid, rule) and ingress.find(ec2, rule)
    ingress.delete(ec2, rid, rule, {})
    assert ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]["IpPermissions"] == []
