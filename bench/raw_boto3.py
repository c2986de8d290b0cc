"""The floor: a plain boto3 script that builds and tears down the same network labnet does.

It makes the EC2 calls the rehearsal engine's handlers make (labnet/engines/handlers.py), with the
same parameters and tags, one resource after another in the order labnet's program declares them
(a valid dependency order), and deletes in exactly the reverse order. No Pulumi, no state file, no
journal, no preview pass: what is left is boto3 and the emulator. ``bench/engine_overhead.py``
checks that both sides make the same multiset of EC2 calls.

Run on its own (against ``$LABNET_EMULATOR_URL`` or a fresh emulator)::

    .venv/bin/python bench/raw_boto3.py 8
"""

from __future__ import annotations

import secrets
import sys
import time
from typing import Any, Callable

from _common import emulator, reset, spec_for

Undo = Callable[[], None]


def _tags(resource_type: str, tags: dict[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": str(v)} for k, v in tags.items()]}]


def _wait(describe: Callable[[], str], want: str) -> None:
    delay = 0.05
    while describe() != want:
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def _peer_descriptions(spec, blocks) -> dict[str, str]:
    """The entries' descriptions labnet's program writes: the spokes each block covers."""
    import ipaddress

    nets = [(ipaddress.IPv4Network(sp.cidr), sp.name) for sp in spec.spokes]
    out = {}
    for block in set(blocks):
        inside = sorted((n for n in nets if n[0].subnet_of(ipaddress.IPv4Network(block))),
                        key=lambda n: int(n[0].network_address))
        names = [name for _, name in inside]
        out[block] = (f"spoke {names[0]}" if len(names) == 1 else f"{len(names)} spokes, {names[0]} to {names[-1]}")[:255]
    return out


def build(ec2, spec, stack: str) -> list[Undo]:
    """Create everything; return the teardown steps, oldest first."""
    undo: list[Undo] = []
    base = spec.tags.for_stack(stack)

    def tags(name: str, **extra: str) -> dict[str, str]:
        return {**base, "Name": f"{stack}-{name}", **extra}

    # Transit Gateway, then wait for it to be available.
    t = spec.transit_gateway
    tgw = ec2.create_transit_gateway(
        Description=t.description,
        Options={"AmazonSideAsn": t.amazon_side_asn, "DnsSupport": "enable" if t.dns_support else "disable",
                 "VpnEcmpSupport": "enable", "DefaultRouteTableAssociation": "disable",
                 "DefaultRouteTablePropagation": "disable", "AutoAcceptSharedAttachments": "disable"},
        TagSpecifications=_tags("transit-gateway", tags("tgw")))["TransitGateway"]["TransitGatewayId"]

    def tgw_state(tid=tgw):
        items = ec2.describe_transit_gateways(TransitGatewayIds=[tid])["TransitGateways"]
        return items[0]["State"] if items else "deleted"

    _wait(tgw_state, "available")

    def del_tgw():
        ec2.delete_transit_gateway(TransitGatewayId=tgw)
        _wait(tgw_state, "deleted")

    undo.append(del_tgw)

    tgw_tables: dict[str, str] = {}
    for name in t.route_tables:
        rtid = ec2.create_transit_gateway_route_table(
            TransitGatewayId=tgw, TagSpecifications=_tags("transit-gateway-route-table", tags(f"tgw-rt-{name}"))
        )["TransitGatewayRouteTable"]["TransitGatewayRouteTableId"]
        tgw_tables[name] = rtid
        undo.append(lambda rtid=rtid: ec2.delete_transit_gateway_route_table(TransitGatewayRouteTableId=rtid))

    lo, hi = spec.security.cross_spoke_ports
    peers = spec.peer_cidrs()
    described = _peer_descriptions(spec, [b for blocks in peers.values() for b in blocks])
    for spoke in spec.spokes:
        s = spoke.name
        vpc = ec2.create_vpc(CidrBlock=spoke.cidr, TagSpecifications=_tags("vpc", tags(f"{s}-vpc", spoke=s)))["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        undo.append(lambda vpc=vpc: ec2.delete_vpc(VpcId=vpc))

        rt = ec2.create_route_table(VpcId=vpc, TagSpecifications=_tags("route-table", tags(f"{s}-rt", spoke=s)))
        rt = rt["RouteTable"]["RouteTableId"]
        undo.append(lambda rt=rt: ec2.delete_route_table(RouteTableId=rt))

        attach_subnets = []
        for k, sn in enumerate(spoke.subnets):
            key = f"{s}-{sn.role}-{sn.az[-1]}"
            sid = ec2.create_subnet(VpcId=vpc, CidrBlock=sn.cidr, AvailabilityZone=sn.az,
                                    TagSpecifications=_tags("subnet", tags(key, spoke=s, role=sn.role)))["Subnet"]["SubnetId"]
            undo.append(lambda sid=sid: ec2.delete_subnet(SubnetId=sid))
            assoc = ec2.associate_route_table(SubnetId=sid, RouteTableId=rt)["AssociationId"]
            undo.append(lambda assoc=assoc: ec2.disassociate_route_table(AssociationId=assoc))
            if sn.role == "attachment":
                attach_subnets.append(sid)

        att = ec2.create_transit_gateway_vpc_attachment(
            TransitGatewayId=tgw, VpcId=vpc, SubnetIds=attach_subnets, Options={"DnsSupport": "enable"},
            TagSpecifications=_tags("transit-gateway-attachment", tags(f"{s}-attachment", spoke=s)),
        )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]

        def att_state(aid=att):
            items = ec2.describe_transit_gateway_vpc_attachments(
                TransitGatewayAttachmentIds=[aid])["TransitGatewayVpcAttachments"]
            return items[0]["State"] if items else "deleted"

        _wait(att_state, "available")

        def del_att(aid=att, state=att_state):
            ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=aid)
            _wait(state, "deleted")

        undo.append(del_att)

        assoc_rt = tgw_tables[spoke.route_table]
        ec2.associate_transit_gateway_route_table(TransitGatewayRouteTableId=assoc_rt, TransitGatewayAttachmentId=att)
        undo.append(lambda r=assoc_rt, a=att: ec2.disassociate_transit_gateway_route_table(
            TransitGatewayRouteTableId=r, TransitGatewayAttachmentId=a))
        for table in tgw_tables.values():
            ec2.enable_transit_gateway_route_table_propagation(TransitGatewayRouteTableId=table,
                                                               TransitGatewayAttachmentId=att)
            undo.append(lambda r=table, a=att: ec2.disable_transit_gateway_route_table_propagation(
                TransitGatewayRouteTableId=r, TransitGatewayAttachmentId=a))

        # The same kind of name labnet's engine gives the group (its name_prefix plus a unique suffix).
        sg_name = f"labnet-{s}-training-{time.strftime('%Y%m%d%H%M%S')}{secrets.token_hex(4)}"
        sg = ec2.create_security_group(
            GroupName=sg_name, VpcId=vpc,
            Description="labnet training nodes: all traffic within the group (EFA), TCP from other spokes",
            TagSpecifications=_tags("security-group", tags(f"{s}-training-sg", spoke=s)))["GroupId"]
        ec2.revoke_security_group_egress(GroupId=sg, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        undo.append(lambda sg=sg: ec2.delete_security_group(GroupId=sg))

        def rule(direction: str, name: str, perm: dict[str, Any], description: str, sg=sg) -> None:
            with_desc = {k: ([{**v[0], "Description": description}] if isinstance(v, list) else v) for k, v in perm.items()}
            resp = getattr(ec2, f"authorize_security_group_{direction}")(
                GroupId=sg, IpPermissions=[with_desc], TagSpecifications=_tags("security-group-rule", tags(name, spoke=s)))
            rid = resp["SecurityGroupRules"][0]["SecurityGroupRuleId"]
            # Revoked by the id EC2 gave the rule, as labnet does.
            undo.append(lambda: getattr(ec2, f"revoke_security_group_{direction}")(GroupId=sg, SecurityGroupRuleIds=[rid]))

        self_pair = {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": sg}]}
        rule("ingress", f"{s}-sg-self", self_pair, "all traffic from the group itself (EFA requirement)")
        rule("egress", f"{s}-sg-self-egress", self_pair, "all traffic to the group itself (EFA requirement)")
        rule("egress", f"{s}-sg-egress", {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, "all outbound")
        blocks = peers[s]
        if blocks:
            # One summary route for the supernet, one peer prefix list, one rule that references it.
            ec2.create_route(RouteTableId=rt, DestinationCidrBlock=spec.supernet, TransitGatewayId=tgw)
            undo.append(lambda rt=rt: ec2.delete_route(RouteTableId=rt, DestinationCidrBlock=spec.supernet))
            pl = ec2.create_managed_prefix_list(
                PrefixListName=f"labnet-{stack}-{s}-peers", AddressFamily="IPv4", MaxEntries=len(blocks),
                Entries=[{"Cidr": b, "Description": described[b]} for b in blocks],
                TagSpecifications=_tags("prefix-list", tags(f"{s}-peers", spoke=s)))["PrefixList"]["PrefixListId"]

            def pl_state(pl=pl):
                items = ec2.describe_managed_prefix_lists(PrefixListIds=[pl])["PrefixLists"]
                return items[0]["State"] if items else "delete-complete"

            _wait(pl_state, "create-complete")

            def del_pl(pl=pl, state=pl_state):
                ec2.delete_managed_prefix_list(PrefixListId=pl)
                _wait(state, "delete-complete")

            undo.append(del_pl)
            rule("ingress", f"{s}-sg-from-spokes",
                 {"IpProtocol": "tcp", "FromPort": lo, "ToPort": hi, "PrefixListIds": [{"PrefixListId": pl}]},
                 "TCP from the other spokes (NCCL/Gloo across the TGW)")

        if spec.s3_endpoint:
            ep = ec2.create_vpc_endpoint(VpcEndpointType="Gateway", VpcId=vpc,
                                         ServiceName=f"com.amazonaws.{spec.region}.s3", RouteTableIds=[rt],
                                         TagSpecifications=_tags("vpc-endpoint", tags(f"{s}-s3", spoke=s)))
            ep = ep["VpcEndpoint"]["VpcEndpointId"]
            undo.append(lambda ep=ep: ec2.delete_vpc_endpoints(VpcEndpointIds=[ep]))
    if spec.public_subnets:
        raise NotImplementedError("the raw baseline covers the benchmark network (no public subnets)")
    return undo


def teardown(undo: list[Undo]) -> None:
    """Delete in exactly the reverse order of creation."""
    for step in reversed(undo):
        step()


def up_and_destroy(ec2, spec, stack: str) -> None:
    teardown(build(ec2, spec, stack))


if __name__ == "__main__":
    from labnet.emulator import Emulator

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    with emulator() as url:
        spec = spec_for(n)
        reset(url)
        ec2 = Emulator(url=url).client("ec2", spec.region)
        t0 = time.perf_counter()
        undo = build(ec2, spec, "raw")
        t1 = time.perf_counter()
        teardown(undo)
        t2 = time.perf_counter()
        print(f"raw boto3, {n} spokes: {len(undo)} resources, up {t1 - t0:.2f}s, destroy {t2 - t1:.2f}s")
