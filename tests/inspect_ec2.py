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
    }


def total(inv: dict[str, list[str]]) -> int:
    return sum(len(v) for v in inv.values())
