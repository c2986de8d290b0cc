"""Independent inspection of the emulator with plain boto3 (no labnet code)."""

from __future__ import annotations


def inventory(ec2, stack: str | None = None) -> dict[str, list[str]]:
    """Ids of everything that is not the emulator's own default furniture.

    With ``stack``, only resources tagged ``stack=<stack>`` (taggable kinds) are listed.
    """
    def tagged(items, key="Tags"):
        if stack is None:
            return items
        return [i for i in items if {"Key": "stack", "Value": stack} in (i.get(key) or [])]

    vpcs = tagged([v for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")])
    vpc_ids = {v["VpcId"] for v in vpcs}
    subnets = [s for s in ec2.describe_subnets()["Subnets"] if s["VpcId"] in vpc_ids]
    tgws = tagged([t for t in ec2.describe_transit_gateways()["TransitGateways"]
                   if t["State"] not in ("deleted", "deleting")])
    atts = tagged([a for a in ec2.describe_transit_gateway_vpc_attachments()["TransitGatewayVpcAttachments"]
                   if a["State"] not in ("deleted", "deleting")])
    live_tgws = {t["TransitGatewayId"] for t in ec2.describe_transit_gateways()["TransitGateways"]
                 if t["State"] not in ("deleted", "deleting")}
    # moto always creates a default route table with a TGW (AWS does not when default association and
    # propagation are disabled, as labnet asks) and leaves it behind when the TGW is deleted: that
    # orphan is the emulator's furniture, not labnet's.
    tgw_rts = tagged([r for r in ec2.describe_transit_gateway_route_tables()["TransitGatewayRouteTables"]
                      if r.get("State") not in ("deleted", "deleting")
                      and not (r.get("DefaultAssociationRouteTable") and r["TransitGatewayId"] not in live_tgws)])
    sgs = [g for g in ec2.describe_security_groups()["SecurityGroups"]
           if g["VpcId"] in vpc_ids and g["GroupName"] != "default"]
    rts = [r for r in ec2.describe_route_tables()["RouteTables"]
           if r["VpcId"] in vpc_ids and not any(a.get("Main") for a in r.get("Associations", []))]
    eps = [e for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]
           if e["VpcId"] in vpc_ids and e.get("State", "").lower() not in ("deleted", "deleting")]
    # Launch templates belong to no VPC: every one counts (the emulator starts with none).
    lts = tagged(ec2.describe_launch_templates()["LaunchTemplates"])
    # Customer-managed prefix lists (the emulator's AWS-managed ones, owner "AWS", are its furniture).
    pls = tagged([p for p in ec2.describe_managed_prefix_lists()["PrefixLists"]
                  if p.get("OwnerId") != "AWS" and not p.get("State", "").startswith("delete")])
    if stack is None:
        all_vpcs = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")}
        sgs = [g for g in ec2.describe_security_groups()["SecurityGroups"]
               if g["VpcId"] in all_vpcs and g["GroupName"] != "default"]
    return {
        "vpcs": sorted(vpc_ids), "subnets": sorted(s["SubnetId"] for s in subnets),
        "transit_gateways": sorted(t["TransitGatewayId"] for t in tgws),
        "attachments": sorted(a["TransitGatewayAttachmentId"] for a in atts),
        "tgw_route_tables": sorted(r["TransitGatewayRouteTableId"] for r in tgw_rts),
        "security_groups": sorted(g["GroupId"] for g in sgs),
        "route_tables": sorted(r["RouteTableId"] for r in rts),
        "endpoints": sorted(e["VpcEndpointId"] for e in eps),
        "launch_templates": sorted(t["LaunchTemplateId"] for t in lts),
        "prefix_lists": sorted(p["PrefixListId"] for p in pls),
    }


def total(inv: dict[str, list[str]]) -> int:
    return sum(len(v) for v in inv.values())


# -- reachability and quota use, read back with plain boto3 ----------------------------------------
def _nets(cidrs):
    import ipaddress

    return list(ipaddress.collapse_addresses(ipaddress.IPv4Network(c) for c in cidrs))


def prefix_list_entries(ec2, pl_id: str) -> list[str]:
    return [e["Cidr"] for e in ec2.get_managed_prefix_list_entries(PrefixListId=pl_id)["Entries"]]


def weight(ec2, pl_id: str) -> int:
    """What one reference to a prefix list counts against a route or rule quota, AWS's way: a
    customer-managed list counts its max entries; an AWS-managed one (the S3 endpoint's) counts one
    here (generous: AWS gives those their own weight)."""
    (pl,) = ec2.describe_managed_prefix_lists(PrefixListIds=[pl_id])["PrefixLists"]
    return 1 if pl.get("OwnerId") == "AWS" else int(pl["MaxEntries"])


def counted_routes(ec2, route_table_id: str) -> int:
    """Routes of a VPC route table counted against the routes-per-table quota (prefix lists by weight)."""
    (rt,) = ec2.describe_route_tables(RouteTableIds=[route_table_id])["RouteTables"]
    return sum(weight(ec2, r["DestinationPrefixListId"]) if r.get("DestinationPrefixListId") else 1
               for r in rt["Routes"])


def counted_inbound_rules(ec2, group_id: str) -> int:
    """Inbound rules of a group counted against the rules-per-group quota (prefix lists by max entries)."""
    (g,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    return sum(len(p.get("IpRanges", [])) + len(p.get("Ipv6Ranges", [])) + len(p.get("UserIdGroupPairs", []))
               + sum(weight(ec2, r["PrefixListId"]) for r in p.get("PrefixListIds", []))
               for p in g["IpPermissions"])


def live_reach(ec2, exports) -> dict[str, dict]:
    """Per spoke, what the emulator holds for cross-spoke traffic, read with plain boto3:

    - ``next_hop``: for every spoke's CIDR (its own included), the target of the most specific route
      of this spoke's route table that covers it ("local", a TGW id, or None when no route does);
    - ``tgw_sources``: the attachments propagated into the TGW route table this spoke is associated
      with (moto does not compute propagated routes, so the propagations are what is read);
    - ``tcp_from``: the addresses the training group admits TCP from on every port of ``ports``,
      prefix lists resolved to their entries, collapsed (so equal address sets compare equal).
    """
    import ipaddress

    spokes = exports["spokes"]
    assoc_of, props_of = {}, {}
    for table in exports["transit_gateway_route_tables"].values():
        for a in ec2.get_transit_gateway_route_table_associations(TransitGatewayRouteTableId=table)["Associations"]:
            assoc_of[a["TransitGatewayAttachmentId"]] = table
        props_of[table] = {p["TransitGatewayAttachmentId"] for p in ec2.get_transit_gateway_route_table_propagations(
            TransitGatewayRouteTableId=table)["TransitGatewayRouteTablePropagations"] if p.get("State") == "enabled"}
    out = {}
    for name, sp in spokes.items():
        (rt,) = ec2.describe_route_tables(RouteTableIds=[sp["route_table_id"]])["RouteTables"]
        routes = []  # (destination network, target)
        for r in rt["Routes"]:
            target = r.get("TransitGatewayId") or r.get("GatewayId") or r.get("NatGatewayId")
            dests = ([r["DestinationCidrBlock"]] if r.get("DestinationCidrBlock")
                     else prefix_list_entries(ec2, r["DestinationPrefixListId"]))
            routes += [(ipaddress.IPv4Network(d), target) for d in dests]
        hops = {}
        for other, osp in spokes.items():
            net = ipaddress.IPv4Network(osp["cidr"])
            assert not [d for d, _ in routes if d.subnet_of(net) and d != net], "a route splits a spoke"
            covering = [(d.prefixlen, t) for d, t in routes if net.subnet_of(d)]
            hops[other] = max(covering)[1] if covering else None
        (g,) = ec2.describe_security_groups(GroupIds=[sp["security_group_id"]])["SecurityGroups"]
        tcp = []
        for p in g["IpPermissions"]:
            if p["IpProtocol"] not in ("tcp", "6", "-1"):
                continue
            tcp += [r["CidrIp"] for r in p.get("IpRanges", [])]
            for r in p.get("PrefixListIds", []):
                tcp += prefix_list_entries(ec2, r["PrefixListId"])
        out[name] = {"next_hop": hops, "tgw_sources": props_of.get(assoc_of.get(sp["attachment_id"]), set()),
                     "tcp_from": _nets(tcp)}
    return out


def assert_reaches_like_the_full_mesh(ec2, spec, exports) -> None:
    """The live network lets exactly the traffic through that the old full mesh (a route and a rule
    per other spoke, ``tests.helpers.full_mesh``) let through: every ordered pair of spokes is routed
    to the TGW, the TGW table carries the destination's propagation, and the destination's group
    admits TCP from exactly the other spokes, nothing more."""
    from tests.helpers import full_mesh

    mesh = full_mesh(spec)
    live = live_reach(ec2, exports)
    tgw = exports["transit_gateway_id"]
    attachment = {n: sp["attachment_id"] for n, sp in exports["spokes"].items()}
    assert set(live) == set(mesh)
    for a, want in mesh.items():
        got = live[a]
        assert got["next_hop"][a] == "local", a
        assert {b for b, hop in got["next_hop"].items() if hop == tgw} == want["routes_via_tgw"], a
        # The TGW table holds the spokes' propagations and nothing else (what is not a spoke is dropped).
        assert got["tgw_sources"] == set(attachment.values()), a
        assert got["tcp_from"] == _nets(want["admits_tcp_from"]), a
