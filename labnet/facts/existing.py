"""Facts about networks that exist already: a VPC a team has (``labnet.size(existing_vpcs=...)``) and
a Transit Gateway an organisation runs (``transit_gateway_id=...``), read with describe calls only.

Why the facts are read before the program runs, not as data-source invokes inside it: the program
stays one pure function of the spec (the same under the rehearsal engine's mock monitor, the real
CLI and ``pulumi up``), preflight needs the facts before any change is made (route conflicts,
overlaps, a VPC attached to the TGW already), and the spec records what was read, as it records AZ
IDs, so a teammate who opens the stack sees what it was built against. :func:`labnet.Lab.up` reads
them again before anything is created and refuses a spec whose facts no longer hold.

Nothing here creates, modifies or deletes anything. AZ IDs come from ``describe_availability_zones``
(:func:`labnet.facts.instances.zone_facts`), the one mapping of AZ names to IDs labnet uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..errors import FactsError, InvalidSpecError
from ..spec import ExistingRoute, ExistingRouteTable, ExistingSubnet, ExistingVpc

_ROUTE_TARGETS = ("TransitGatewayId", "NatGatewayId", "VpcPeeringConnectionId", "NetworkInterfaceId",
                  "GatewayId", "InstanceId", "CarrierGatewayId", "LocalGatewayId", "EgressOnlyInternetGatewayId",
                  "CoreNetworkArn")


@dataclass(frozen=True)
class ExistingAttachment:
    """A TGW attachment as read: its id, TGW, resource (a VPC id for a VPC attachment), state and the
    ``stack`` / ``managed-by`` tags labnet puts on its own (so a re-read tells labnet's from others)."""

    id: str
    tgw_id: str
    resource_type: str
    resource_id: str
    state: str
    stack: str = ""
    managed_by: str = ""


@dataclass(frozen=True)
class ExistingTgw:
    """An existing Transit Gateway as read: what preflight checks and the spec records."""

    id: str
    region: str
    state: str
    arn: str
    owner_id: str
    asn: int
    dns_support: bool
    default_association: bool
    default_propagation: bool
    association_table: str
    propagation_table: str
    attachments: tuple[ExistingAttachment, ...]
    route_tables: tuple[str, ...]
    routes: int  # routes its route tables hold (what the 10,000 combined routes quota counts)
    sg_referencing: bool = False  # security group references across the TGW (its option; labnet never sets it)


def _code(exc: BaseException) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


def _all(ec2, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
    if ec2.can_paginate(operation):
        return [i for page in ec2.get_paginator(operation).paginate(**params) for i in page.get(key, [])]
    return list(getattr(ec2, operation)(**params).get(key, []))


def _tags(item: dict[str, Any]) -> dict[str, str]:
    return {t.get("Key", ""): t.get("Value", "") for t in item.get("Tags") or []}


def find_vpc(ec2, vpc_id: str) -> dict[str, Any] | None:
    """``describe_vpcs`` for one id in the client's region; None when the region has no such VPC."""
    from botocore.exceptions import ClientError

    try:
        vpcs = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    except ClientError as exc:
        if _code(exc).startswith("InvalidVpcID"):
            return None
        raise FactsError(f"describe_vpcs({vpc_id}) failed: {_code(exc) or exc}") from exc
    return vpcs[0] if vpcs else None


def locate_vpc(ec2_for: Callable[[str], Any], vpc_id: str, regions: Iterable[str]) -> str | None:
    """The first of ``regions`` that holds ``vpc_id`` (None: none does). Used only after the VPC was
    not found where the spec says it is, to tell a VPC in another Region from an unknown id."""
    for region in regions:
        try:
            if find_vpc(ec2_for(region), vpc_id) is not None:
                return region
        except Exception:  # noqa: BLE001 a Region this account cannot reach (opt-in) holds nothing for us
            continue
    return None


def read_vpc(ec2, vpc_id: str, az_ids: Callable[[str], str]) -> ExistingVpc | None:
    """What labnet needs of VPC ``vpc_id`` in the client's region, or None when it is not there: its
    IPv4 blocks (primary first, then every other associated one), its subnets with their AZ names, AZ
    IDs (``az_ids``: name → ID, from describe_availability_zones) and the route table that serves
    each, the route tables that serve its subnets with their routes, and its TGW attachments."""
    vpc = find_vpc(ec2, vpc_id)
    if vpc is None:
        return None
    blocks = [a["CidrBlock"] for a in vpc.get("CidrBlockAssociationSet", [])
              if a.get("CidrBlockState", {}).get("State", "associated") in ("associated", "associating")]
    cidrs = tuple(dict.fromkeys([vpc["CidrBlock"], *blocks]))
    flt = [{"Name": "vpc-id", "Values": [vpc_id]}]
    tables = _all(ec2, "describe_route_tables", "RouteTables", Filters=flt)
    main = next((t["RouteTableId"] for t in tables for a in t.get("Associations", []) if a.get("Main")), "")
    explicit = {a["SubnetId"]: t["RouteTableId"] for t in tables for a in t.get("Associations", [])
                if a.get("SubnetId") and a.get("AssociationState", {}).get("State", "associated") == "associated"}
    subnets = tuple(sorted(
        (ExistingSubnet(id=s["SubnetId"], az=s["AvailabilityZone"], az_id=az_ids(s["AvailabilityZone"]),
                        cidr=s["CidrBlock"], route_table_id=explicit.get(s["SubnetId"], main))
         for s in _all(ec2, "describe_subnets", "Subnets", Filters=flt)),
        key=lambda s: (s.az, _sort_key(s.cidr))))
    serving = {s.route_table_id for s in subnets}
    route_tables = tuple(
        ExistingRouteTable(id=t["RouteTableId"], main=t["RouteTableId"] == main,
                           subnet_ids=tuple(sorted(k for k, v in explicit.items() if v == t["RouteTableId"])),
                           routes=tuple(_route(r) for r in t.get("Routes", [])))
        for t in sorted(tables, key=lambda t: t["RouteTableId"]) if t["RouteTableId"] in serving)
    attachments = tuple(sorted((a["TransitGatewayAttachmentId"], a["TransitGatewayId"])
                               for a in vpc_attachments(ec2, vpc_id)))
    return ExistingVpc(vpc_id=vpc_id, cidrs=cidrs, subnets=subnets, route_tables=route_tables,
                       attachments=attachments)


def vpc_attachments(ec2, vpc_id: str) -> list[dict[str, Any]]:
    """The VPC's TGW attachments that are not deleted (any TGW, any owner)."""
    items = _all(ec2, "describe_transit_gateway_vpc_attachments", "TransitGatewayVpcAttachments",
                 Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    return [a for a in items if a.get("State") not in ("deleted", "deleting", "failed", "rejected")]


def attachments_of(ec2, vpc_id: str) -> tuple[ExistingAttachment, ...]:
    """The VPC's live TGW attachments with labnet's tags (to tell a stack's own attachment apart)."""
    out = []
    for a in vpc_attachments(ec2, vpc_id):
        tags = _tags(a)
        out.append(ExistingAttachment(a["TransitGatewayAttachmentId"], a["TransitGatewayId"], "vpc", vpc_id,
                                      a.get("State", ""), tags.get("stack", ""), tags.get("managed-by", "")))
    return tuple(out)


def _route(r: dict[str, Any]) -> ExistingRoute:
    dest = r.get("DestinationCidrBlock") or r.get("DestinationPrefixListId") or r.get("DestinationIpv6CidrBlock", "")
    target = next((str(r[k]) for k in _ROUTE_TARGETS if r.get(k)), "")
    if r.get("State") == "blackhole":
        target = f"blackhole ({target})" if target else "blackhole"
    return ExistingRoute(destination=dest, target=target)


def _sort_key(cidr: str) -> tuple[int, ...]:
    addr, _, plen = cidr.partition("/")
    return (*(int(x) for x in addr.split(".")), int(plen or 0))


def read_tgw(ec2, tgw_id: str) -> ExistingTgw | None:
    """An existing Transit Gateway in the client's region (None when the region has none by that id):
    its state, ARN, owner, ASN, options, attachments, route tables and the routes they hold."""
    from botocore.exceptions import ClientError

    try:
        items = ec2.describe_transit_gateways(TransitGatewayIds=[tgw_id])["TransitGateways"]
    except ClientError as exc:
        if _code(exc).startswith("InvalidTransitGatewayID"):
            return None
        raise FactsError(f"describe_transit_gateways({tgw_id}) failed: {_code(exc) or exc}") from exc
    items = [t for t in items if t.get("State") not in ("deleted", "deleting")]
    if not items:
        return None
    t = items[0]
    opts = t.get("Options", {})
    flt = [{"Name": "transit-gateway-id", "Values": [tgw_id]}]
    attachments = tuple(
        ExistingAttachment(a["TransitGatewayAttachmentId"], tgw_id, a.get("ResourceType", ""),
                           a.get("ResourceId", ""), a.get("State", ""), _tags(a).get("stack", ""),
                           _tags(a).get("managed-by", ""))
        for a in _all(ec2, "describe_transit_gateway_attachments", "TransitGatewayAttachments", Filters=flt)
        if a.get("State") not in ("deleted", "deleting", "failed", "rejected"))
    tables = [x["TransitGatewayRouteTableId"] for x in _all(
        ec2, "describe_transit_gateway_route_tables", "TransitGatewayRouteTables", Filters=flt)
        if x.get("State") not in ("deleted", "deleting")]
    routes = 0
    for table in tables:
        found = ec2.search_transit_gateway_routes(
            TransitGatewayRouteTableId=table, Filters=[{"Name": "state", "Values": ["active", "blackhole"]}])
        routes += len(found.get("Routes", []))
    return ExistingTgw(
        id=tgw_id, region=ec2.meta.region_name, state=t.get("State", ""), arn=t.get("TransitGatewayArn", ""),
        owner_id=t.get("OwnerId", ""), asn=int(opts.get("AmazonSideAsn") or 0),
        dns_support=opts.get("DnsSupport", "enable") == "enable",
        default_association=opts.get("DefaultRouteTableAssociation") == "enable",
        default_propagation=opts.get("DefaultRouteTablePropagation") == "enable",
        association_table=opts.get("AssociationDefaultRouteTableId", "") or "",
        propagation_table=opts.get("PropagationDefaultRouteTableId", "") or "",
        attachments=attachments, route_tables=tuple(tables), routes=routes,
        sg_referencing=opts.get("SecurityGroupReferencingSupport") == "enable")


def unknown(field: str, value: str, kind: str, region: str, elsewhere: str | None) -> InvalidSpecError:
    """The error for an id that is not where the spec says: in another Region, or nowhere."""
    if elsewhere:
        return InvalidSpecError(field, value, f"{kind} {value} is in {elsewhere}, not in {region} (the Region "
                                f"the spec puts it in): a TGW attaches VPCs of its own Region only",
                                f"size the network in {elsewhere}, or name a {kind} of {region}")
    return InvalidSpecError(field, value, f"{region} has no {kind} {value} (describe calls on the target found "
                            "it in no Region)", f"check the id; list the Region's with `aws ec2 describe-"
                            f"{'vpcs' if kind == 'VPC' else 'transit-gateways'} --region {region}`")


def read_all(ec2, zones, vpcs: dict[str, str], tgw_id: str | None,
             ec2_for: Callable[[str], Any] | None = None) -> tuple[dict[str, ExistingVpc], ExistingTgw | None]:
    """Every existing VPC (spoke name → VPC id) and the existing TGW of a sizing request, read in the
    client's region; an id the region does not hold is refused, saying which other Region holds it
    when ``ec2_for`` (region → client) lets labnet look (only then: the lookup runs on failure only)."""
    from .instances import known_regions

    region = ec2.meta.region_name
    elsewhere = [r for r in known_regions() if r != region]
    out: dict[str, ExistingVpc] = {}
    for name, vpc_id in vpcs.items():
        found = read_vpc(ec2, vpc_id, zones.az_id)
        if found is None:
            where = locate_vpc(ec2_for, vpc_id, elsewhere) if ec2_for is not None else None
            raise unknown(f"existing_vpcs[{name!r}]", vpc_id, "VPC", region, where)
        out[name] = found
    tgw = None
    if tgw_id:
        tgw = read_tgw(ec2, tgw_id)
        if tgw is None:
            where = None
            if ec2_for is not None:
                where = next((r for r in elsewhere if _safe(lambda r=r: read_tgw(ec2_for(r), tgw_id))), None)
            raise unknown("transit_gateway_id", tgw_id, "Transit Gateway", region, where)
    return out, tgw


def _safe(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception:  # noqa: BLE001 a Region this account cannot reach holds nothing for us
        return None


def current(spec, ec2, stack: str, own_tgw: str = ""):
    """``spec`` with its existing VPCs' and TGW's facts read again now (before a preview or an up), so
    preflight judges what the target holds, not what it held at sizing: the routes and attachments
    there now, minus what this stack itself made (its subnets, its route table, its routes via its
    TGW ``own_tgw``, attachments tagged with its name). A VPC or TGW that is gone, or whose blocks or
    subnets changed since sizing, is refused: size the network again."""
    import dataclasses

    from ..preflight import routes_added

    region = spec.region
    spokes = []
    for k, sp in enumerate(spec.spokes):
        ex = sp.existing
        if ex is None:
            spokes.append(sp)
            continue
        field = f"existing_vpcs[{sp.name!r}]"
        fresh = read_vpc(ec2, ex.vpc_id, lambda az: "")
        if fresh is None:
            raise InvalidSpecError(field, ex.vpc_id, f"{region} no longer has this VPC (it was there when the "
                                   "network was sized)", "size the network again without it")
        mine = {sn.cidr for sn in sp.subnets}
        cidrs = tuple(c for c in fresh.cidrs if c != ex.added_cidr)
        theirs = {(s.id, s.cidr) for s in fresh.subnets if s.cidr not in mine}
        if cidrs != ex.cidrs or theirs != {(s.id, s.cidr) for s in ex.subnets}:
            raise InvalidSpecError(field, ex.vpc_id, "its CIDR blocks or subnets changed since the network was sized "
                                   f"(now {', '.join(cidrs)}; {len(theirs)} subnet(s))",
                                   "size the network again (labnet.size(..., existing_vpcs=...)) and deploy that spec")
        own = set(routes_added(spec, sp)) if own_tgw else set()
        tables = {t.id: t for t in fresh.route_tables}
        routes = tuple(
            dataclasses.replace(t, routes=tuple(r for r in tables[t.id].routes
                                                if not (r.destination in own and r.target == own_tgw)))
            if t.id in tables else t for t in ex.route_tables)
        attachments = tuple(sorted((a.id, a.tgw_id) for a in attachments_of(ec2, ex.vpc_id)
                                   if not (a.stack == stack and a.managed_by == "labnet")))
        spokes.append(dataclasses.replace(sp, existing=dataclasses.replace(ex, route_tables=routes,
                                                                           attachments=attachments)))
    tgw = spec.transit_gateway
    if tgw.existing_id:
        found = read_tgw(ec2, tgw.existing_id)
        if found is None or found.state != "available":
            raise InvalidSpecError("transit_gateway_id", tgw.existing_id,
                                   f"{region} has no available Transit Gateway by this id any more",
                                   "size the network again with a TGW that exists")
        if found.asn != tgw.amazon_side_asn:
            raise InvalidSpecError("transit_gateway_id", tgw.existing_id,
                                   f"its ASN is {found.asn} now, not {tgw.amazon_side_asn} as when sized",
                                   "size the network again")
        tgw = dataclasses.replace(tgw, default_association=found.default_association,
                                  default_propagation=found.default_propagation)
    return dataclasses.replace(spec, spokes=tuple(spokes), transit_gateway=tgw)
