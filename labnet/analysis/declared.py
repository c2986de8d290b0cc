"""What the program declares, counted the way AWS counts it against its quotas.

The program (labnet/program.py) is the one description of the network, so the quota preflight never
re-derives its shape by hand: :func:`labnet.declare.declare` runs it under the Pulumi SDK's mock monitor
(creating nothing) and records every resource, and :func:`count` (pure, plain data in and out) counts:

- per Region: VPCs, internet gateways, Elastic IPs, gateway endpoints, security groups (each new
  VPC brings a default group), transit gateways, customer-managed prefix lists, network interfaces;
- per Availability Zone: NAT gateways;
- per route table: its routes, AWS's way. The local route counts (it is a route of the table, and
  counting it can only make the check stricter by one); a route to a customer-managed prefix list
  counts as the list's ``maxEntries``; a gateway endpoint puts one route to its service's
  AWS-managed list in every table it is associated with, counted at that list's weight;
- per security group: inbound and outbound rules apart, each CIDR, referenced group or prefix list
  entry one rule (a prefix list at its ``maxEntries``), IPv4 and IPv6 apart as AWS enforces them;
- per transit gateway: attachments (VPC and peering), route tables, routes (each propagation brings
  one route per CIDR of the attached VPC, static routes one each, a prefix-list reference its
  ``maxEntries``), and peering attachments (each counts on both TGWs it connects), and per pair of
  transit gateways the peering attachments between them;
- per VPC: the network's own Network Address Usage units (a TGW attachment, a NAT gateway, an
  interface endpoint per AZ); the workload's units are added by :mod:`labnet.analysis.quotas`.

Resources already created by the stack (``existing`` URNs) add nothing to the Region counts, but
they still shape the per-resource counts: a route table is judged by every route it will hold.

Across regions every count is kept per region (``Declared.regions``, each resource's region in
``Declared.region_of``; ``""`` is the network's own region), and :meth:`Declared.in_region` gives
one region's share, so each region is compared with its own quotas and holdings.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ..declare import Resource

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
IGW = "aws:ec2/internetGateway:InternetGateway"
EIP = "aws:ec2/eip:Eip"
NAT = "aws:ec2/natGateway:NatGateway"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
ENDPOINT_RT = "aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
PREFIX_LIST_ENTRY = "aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry"
TGW = "aws:ec2transitgateway/transitGateway:TransitGateway"
TGW_ATTACHMENT = "aws:ec2transitgateway/vpcAttachment:VpcAttachment"
TGW_ROUTE_TABLE = "aws:ec2transitgateway/routeTable:RouteTable"
TGW_PROPAGATION = "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation"
TGW_ROUTE = "aws:ec2transitgateway/route:Route"
TGW_PL_REFERENCE = "aws:ec2transitgateway/prefixListReference:PrefixListReference"
TGW_PEERING = "aws:ec2transitgateway/peeringAttachment:PeeringAttachment"
TGW_PEERING_ACCEPTER = "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter"


@dataclass(frozen=True)
class Declared:
    """The counts (plain data). Per-resource maps are keyed by logical name."""

    # vpcs, internet_gateways, elastic_ips, gateway_endpoints, …: what the deploy adds (for a network
    # across regions, the sum over its regions; ``regions`` has each region's own)
    region: dict[str, int]
    nat_gateways_by_az: dict[str, int]  # new NAT gateways per AZ
    routes_per_route_table: dict[str, int]
    inbound_rules_per_security_group: dict[str, int]
    outbound_rules_per_security_group: dict[str, int]
    entries_per_prefix_list: dict[str, int]
    attachments_per_transit_gateway: dict[str, int]
    route_tables_per_transit_gateway: dict[str, int]
    routes_per_transit_gateway: dict[str, int]
    nau_per_vpc: dict[str, int]  # the network's own NAU units, by VPC logical name
    vpc_names: tuple[str, ...] = field(default=())
    peering_attachments_per_transit_gateway: dict[str, int] = field(default_factory=dict)
    # "<tgw> <-> <peer tgw>" (the requester first): the peering attachments between the two
    peering_attachments_between_transit_gateways: dict[str, int] = field(default_factory=dict)
    regions: dict[str, dict[str, int]] = field(default_factory=dict)  # region → what it adds ("" = own)
    region_of: dict[str, str] = field(default_factory=dict)  # logical name → its region ("" = own)
    az_region: dict[str, str] = field(default_factory=dict)  # AZ of a new NAT gateway → its region

    def in_region(self, region: str, home: str) -> "Declared":
        """The share of ``region`` (``home`` is the network's own region, which resources recorded
        without a region are in): its counts, and the per-resource counts of its resources only."""
        def ours(name: str) -> bool:
            return (self.region_of.get(name, "") or home) == region

        def only(counts: dict[str, int]) -> dict[str, int]:
            return {k: v for k, v in counts.items() if ours(k)}

        own = Counter({k: 0 for k in REGION_KEYS})
        for r, counts in self.regions.items():
            if (r or home) == region:
                own.update(counts)
        return Declared(
            region=dict(own),
            nat_gateways_by_az={az: n for az, n in self.nat_gateways_by_az.items()
                                if (self.az_region.get(az, "") or home) == region},
            routes_per_route_table=only(self.routes_per_route_table),
            inbound_rules_per_security_group=only(self.inbound_rules_per_security_group),
            outbound_rules_per_security_group=only(self.outbound_rules_per_security_group),
            entries_per_prefix_list=only(self.entries_per_prefix_list),
            attachments_per_transit_gateway=only(self.attachments_per_transit_gateway),
            route_tables_per_transit_gateway=only(self.route_tables_per_transit_gateway),
            routes_per_transit_gateway=only(self.routes_per_transit_gateway),
            nau_per_vpc=only(self.nau_per_vpc),
            vpc_names=tuple(v for v in self.vpc_names if ours(v)),
            peering_attachments_per_transit_gateway=only(self.peering_attachments_per_transit_gateway),
            peering_attachments_between_transit_gateways={
                k: v for k, v in self.peering_attachments_between_transit_gateways.items()
                if ours(k.split(PAIR, 1)[0])},
            regions={region: dict(own)}, region_of={k: v for k, v in self.region_of.items() if ours(k)},
            az_region={k: v for k, v in self.az_region.items() if (v or home) == region})


PAIR = " <-> "


REGION_KEYS = ("vpcs", "internet_gateways", "elastic_ips", "gateway_endpoints", "security_groups",
               "transit_gateways", "prefix_lists", "network_interfaces")


def _n(value: Any) -> int:
    return int(value or 0)  # the mock monitor delivers numbers as floats


def _service_suffix(service_name: str) -> str:
    """``com.amazonaws.us-east-1.s3`` → ``s3`` (the AWS-managed prefix list a gateway endpoint uses)."""
    return str(service_name).rsplit(".", 1)[-1]


def count(resources: Iterable[Resource], nau_units: Mapping[str, int], aws_list_weights: Mapping[str, int],
          existing: Iterable[str] = ()) -> Declared:
    """Count ``resources`` (from :func:`labnet.declare.declare`, or an engine's plan) against AWS's quotas.

    ``nau_units`` and ``aws_list_weights`` are the sourced data of labnet/facts/quotas.json. A reference
    to a prefix list the program does not declare (an AWS-managed one looked up by id) counts 1.
    """
    resources = list(resources)
    old = set(existing)
    by_id = {r.id: r for r in resources}

    def ref(rid: Any) -> Resource | None:
        return by_id.get(rid) if isinstance(rid, str) else None

    def name_of(rid: Any) -> str:
        r = ref(rid)
        return r.name if r is not None else str(rid)

    def list_weight(rid: Any) -> int:
        r = ref(rid)
        return _n(r.inputs.get("maxEntries")) if r is not None and r.type == PREFIX_LIST else 1

    by_region: dict[str, Counter[str]] = {}
    region_of: dict[str, str] = {}
    az_region: dict[str, str] = {}
    peerings: Counter[str] = Counter()
    between: Counter[str] = Counter()
    nat_by_az: Counter[str] = Counter()
    routes: dict[str, Counter[str]] = {}  # route table → {"ipv4": n, "ipv6": n}
    rules: dict[str, dict[str, Counter[str]]] = {"ingress": {}, "egress": {}}
    lists: dict[str, int] = {}
    tgw_attach: Counter[str] = Counter()
    tgw_tables: Counter[str] = Counter()
    tgw_routes: Counter[str] = Counter()
    nau: Counter[str] = Counter()
    vpcs: list[str] = []

    def add_route(table_id: Any, family: str, n: int) -> None:
        routes.setdefault(name_of(table_id), Counter())[family] += n

    def add_rule(direction: str, group_id: Any, family: str, n: int) -> None:
        rules[direction].setdefault(name_of(group_id), Counter())[family] += n

    def subnet_vpc(subnet_id: Any) -> str:
        s = ref(subnet_id)
        return name_of(s.inputs.get("vpcId")) if s is not None else ""

    for r in resources:
        new = r.urn not in old
        i = r.inputs
        region_of[r.name] = r.region
        region = by_region.setdefault(r.region, Counter({k: 0 for k in REGION_KEYS}))
        if r.type == VPC:
            vpcs.append(r.name)
            nau[r.name] += 0
            region["vpcs"] += new
            region["security_groups"] += new  # its default security group
        elif r.type == ROUTE_TABLE:
            add_route(r.id, "ipv4", 1)  # the local route
            for inline in i.get("routes") or []:
                fam = "ipv6" if inline.get("ipv6CidrBlock") else "ipv4"
                add_route(r.id, fam, list_weight(inline["destinationPrefixListId"])
                          if inline.get("destinationPrefixListId") else 1)
        elif r.type == ROUTE:
            if i.get("destinationPrefixListId"):
                add_route(i.get("routeTableId"), "ipv4", list_weight(i["destinationPrefixListId"]))
            else:
                add_route(i.get("routeTableId"), "ipv6" if i.get("destinationIpv6CidrBlock") else "ipv4", 1)
        elif r.type == IGW:
            region["internet_gateways"] += new
        elif r.type == EIP:
            region["elastic_ips"] += new
        elif r.type == NAT:
            subnet = ref(i.get("subnetId"))
            if new:
                az = subnet.inputs.get("availabilityZone", "?") if subnet is not None else "?"
                nat_by_az[az] += 1
                az_region[az] = r.region
                region["network_interfaces"] += 1
            nau[subnet_vpc(i.get("subnetId"))] += nau_units["nat_gateway"]
        elif r.type == ENDPOINT:
            kind = str(i.get("vpcEndpointType") or "Gateway")
            if kind == "Gateway":
                region["gateway_endpoints"] += new
                weight = aws_list_weights.get(_service_suffix(i.get("serviceName", "")), 1)
                for table_id in i.get("routeTableIds") or []:
                    add_route(table_id, "ipv4", weight)
            else:  # interface / Gateway Load Balancer endpoints: an interface (and 6 NAU units) per subnet
                subnets = i.get("subnetIds") or []
                region["network_interfaces"] += len(subnets) if new else 0
                nau[name_of(i.get("vpcId"))] += nau_units["vpc_endpoint_per_az"] * len(subnets)
        elif r.type == ENDPOINT_RT:
            endpoint = ref(i.get("vpcEndpointId"))
            service = endpoint.inputs.get("serviceName", "") if endpoint is not None else ""
            add_route(i.get("routeTableId"), "ipv4", aws_list_weights.get(_service_suffix(service), 1))
        elif r.type == SG:
            region["security_groups"] += new
            rules["ingress"].setdefault(r.name, Counter())
            rules["egress"].setdefault(r.name, Counter())
            for direction in ("ingress", "egress"):
                for inline in i.get(direction) or []:
                    for fam, n in _permission_rules(inline, list_weight).items():
                        add_rule(direction, r.id, fam, n)
        elif r.type in (INGRESS, EGRESS):
            direction = "ingress" if r.type == INGRESS else "egress"
            fam = "ipv6" if i.get("cidrIpv6") else "ipv4"
            add_rule(direction, i.get("securityGroupId"), fam,
                     list_weight(i["prefixListId"]) if i.get("prefixListId") else 1)
        elif r.type == SG_RULE:
            direction = "ingress" if i.get("type") == "ingress" else "egress"
            for fam, n in _permission_rules(i, list_weight).items():
                add_rule(direction, i.get("securityGroupId"), fam, n)
        elif r.type == PREFIX_LIST:
            region["prefix_lists"] += new
            lists[r.name] = _n(i.get("maxEntries"))
        elif r.type == TGW:
            region["transit_gateways"] += new
            tgw_attach[r.name] += 0
            tgw_tables[r.name] += 0
            tgw_routes[r.name] += 0
        elif r.type == TGW_ATTACHMENT:
            tgw_attach[name_of(i.get("transitGatewayId"))] += 1
            region["network_interfaces"] += len(i.get("subnetIds") or []) if new else 0
            nau[name_of(i.get("vpcId"))] += nau_units["transit_gateway_attachment"]
        elif r.type == TGW_PEERING:
            # One attachment, on both transit gateways: each counts it among its attachments and
            # its peering attachments (the accepter resource is the same attachment, accepted).
            a, b = name_of(i.get("transitGatewayId")), name_of(i.get("peerTransitGatewayId"))
            for tgw in (a, b):
                tgw_attach[tgw] += 1
                peerings[tgw] += 1
            between[f"{a}{PAIR}{b}"] += 1
            region_of.setdefault(f"{a}{PAIR}{b}", r.region)
        elif r.type == TGW_ROUTE_TABLE:
            tgw_tables[name_of(i.get("transitGatewayId"))] += 1
        elif r.type in (TGW_PROPAGATION, TGW_ROUTE, TGW_PL_REFERENCE):
            table = ref(i.get("transitGatewayRouteTableId"))
            tgw = name_of(table.inputs.get("transitGatewayId")) if table is not None else "?"
            if r.type == TGW_PROPAGATION:
                attachment = ref(i.get("transitGatewayAttachmentId"))
                vpc = ref(attachment.inputs.get("vpcId")) if attachment is not None else None
                # An existing VPC (referenced by id, not declared) brings its primary block at least;
                # quota_report adds its other blocks from the spec.
                tgw_routes[tgw] += _vpc_cidrs(vpc) if vpc is not None or attachment is None else 1
            elif r.type == TGW_ROUTE:
                tgw_routes[tgw] += 1
            else:
                tgw_routes[tgw] += list_weight(i.get("prefixListId"))

    def worst(counts: dict[str, Counter[str]]) -> dict[str, int]:
        # AWS enforces the IPv4 and IPv6 limits apart: a table or group is as full as its fuller family.
        return {k: max(c.values(), default=0) for k, c in counts.items()}

    total: Counter[str] = Counter({k: 0 for k in REGION_KEYS})
    for counts in by_region.values():
        total.update(counts)
    return Declared(
        region=dict(total), nat_gateways_by_az=dict(nat_by_az),
        routes_per_route_table=worst(routes),
        inbound_rules_per_security_group=worst(rules["ingress"]),
        outbound_rules_per_security_group=worst(rules["egress"]),
        entries_per_prefix_list=lists,
        attachments_per_transit_gateway=dict(tgw_attach), route_tables_per_transit_gateway=dict(tgw_tables),
        routes_per_transit_gateway=dict(tgw_routes), nau_per_vpc=dict(nau), vpc_names=tuple(vpcs),
        peering_attachments_per_transit_gateway=dict(peerings),
        peering_attachments_between_transit_gateways=dict(between),
        regions={k: dict(v) for k, v in by_region.items()}, region_of=region_of, az_region=az_region)


def _permission_rules(perm: Mapping[str, Any], list_weight) -> Counter[str]:
    """Rules one permission (an inline rule or a SecurityGroupRule) counts for: each CIDR, group and
    prefix-list entry is a rule of its own in AWS's count."""
    c: Counter[str] = Counter()
    c["ipv4"] += len(perm.get("cidrBlocks") or [])
    c["ipv6"] += len(perm.get("ipv6CidrBlocks") or [])
    c["ipv4"] += len(perm.get("securityGroups") or [])
    c["ipv4"] += 1 if perm.get("self") or perm.get("sourceSecurityGroupId") else 0
    c["ipv4"] += sum(list_weight(p) for p in perm.get("prefixListIds") or [])
    return c


def _vpc_cidrs(vpc: Resource | None) -> int:
    """CIDR blocks a VPC brings to a TGW route table it propagates into (its primary block; labnet
    declares no secondary blocks)."""
    return 1 if vpc is not None else 0
