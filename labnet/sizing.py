"""Sizing: IP arithmetic, placement and CIDR allocation inside a supernet, over EC2's facts.

The facts (instance network facts, offerings, AZ ids) come from :mod:`labnet.facts.instances`; the
request's arguments are checked by :mod:`labnet.request` before any of them is read. :func:`plan` is
pure arithmetic over the facts, so it can be property-tested; :func:`size` reads the facts through an
EC2 client, plans and preflights.

Worked example: 128 × p5.48xlarge with EFA interfaces that carry IPs need 32 IPs per node, 4,096 in
all; a /20 has 4,091 usable (AWS reserves 5), so the compute subnet is a /19.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
from typing import Any, Mapping, Sequence

from . import preflight
from .errors import FactsError, InvalidSpecError, SizingError
from .facts.instances import InstanceFacts, instance_facts, region_facts
from .preflight import RegionFacts
from .request import (MAX_NODES_PER_SPOKE, _check_azs_shape, _names_by_region, _per_region, _validate_int,
                      check_arguments, check_existing, check_request)
from .facts import existing as existing_facts
from .facts.existing import ExistingTgw
from .spec import (RESERVED_PER_SUBNET, ExistingVpc, NetworkSpec, Spoke, Subnet, Tags, TransitGateway,
                   Workload)

ATTACHMENT_PREFIX = 28  # a small dedicated /28 per AZ for the TGW attachment
PUBLIC_PREFIX = 26  # room for a NAT gateway and a few load balancers per AZ


# -- arithmetic ----------------------------------------------------------------------------------
def usable(prefix: int) -> int:
    return 2 ** (32 - prefix) - RESERVED_PER_SUBNET


def smallest_prefix(ips: int, field: str = "ips") -> int:
    """Smallest subnet (largest prefix, /16-/28) with at least ``ips`` usable addresses."""
    for prefix in range(28, 15, -1):
        if usable(prefix) >= ips:
            return prefix
    raise SizingError(field, ips, f"needs more than a /16 ({usable(16)} usable IPs) in one subnet, "
                      "AWS's largest subnet", "use fewer nodes per spoke or more spokes")












def plan(
    *,
    spokes: int | Sequence[str] | None = None,
    nodes_per_spoke: int,
    instance: InstanceFacts,
    region: RegionFacts | Mapping[str, RegionFacts],
    azs: int | Sequence[str] | Mapping[str, int | Sequence[str]] = 2,
    supernet: str = "10.0.0.0/8",
    interface_mode: str = "efa",
    headroom: float = 0.25,
    public_subnets: bool = False,
    s3_endpoint: bool = True,
    tags: Tags | None = None,
    transit_gateway: TransitGateway | None = None,
    compute_az: str | Mapping[str, str] | None = None,
    image_id: str | None = None,
    regions: Mapping[str, int | Sequence[str]] | None = None,
    existing: Mapping[str, ExistingVpc] | None = None,
    secondary: Mapping[str, str] | None = None,
    existing_tgw: ExistingTgw | None = None,
    storage: Mapping[str, str] | None = None,
) -> NetworkSpec:
    """Build a :class:`NetworkSpec` from a workload and facts; pure arithmetic, no AWS calls.

    EFA clusters get one compute subnet in one AZ (EFA does not cross subnets or AZs) and an
    attachment /28 in every AZ; non-EFA clusters spread their nodes over one compute subnet per AZ.
    Compute goes only where EC2 offers the instance type (``region.offerings``; see :func:`place`).
    ``azs`` and ``compute_az`` take AZ names or AZ IDs; the spec records both. ``image_id`` is the AMI
    the node launch template names (None: the launcher gives one).

    Across regions: ``regions`` maps each region to its number of spokes (or their names), the first
    being the spec's own region, and ``region`` maps each region to its facts. Placement (AZs,
    offerings) applies per region; ``azs`` and ``compute_az`` may then be given per region as dicts.
    Every spoke is the same size; each region's spokes are packed into one aligned summary block of
    the supernet (``NetworkSpec.region_blocks``), so another region's TGW needs one static route for
    it; each region's TGW gets its own ASN (the spec's ``amazon_side_asn`` plus the region's index).
    """
    check_arguments(spokes=3 if spokes is None else (None if existing and spokes == 0 else spokes),
                    nodes_per_spoke=nodes_per_spoke,
                    azs=azs if not isinstance(azs, Mapping) else 1, supernet=supernet,
                    interface_mode=interface_mode, headroom=headroom, public_subnets=public_subnets,
                    s3_endpoint=s3_endpoint, compute_az=compute_az if not isinstance(compute_az, Mapping) else None,
                    image_id=image_id)
    return _plan(spokes=spokes, nodes_per_spoke=nodes_per_spoke, instance=instance, region=region, azs=azs,
                 supernet=supernet, interface_mode=interface_mode, headroom=headroom, public_subnets=public_subnets,
                 s3_endpoint=s3_endpoint, tags=tags, transit_gateway=transit_gateway, compute_az=compute_az,
                 image_id=image_id, regions=regions, existing=existing, secondary=secondary,
                 existing_tgw=existing_tgw, storage=storage)


def _plan(*, spokes, nodes_per_spoke, instance: InstanceFacts, region, azs, supernet: str, interface_mode: str,
          headroom: float, public_subnets: bool, s3_endpoint: bool, tags: Tags | None,
          transit_gateway: TransitGateway | None, compute_az, image_id: str | None, regions,
          existing: Mapping[str, ExistingVpc] | None = None, secondary: Mapping[str, str] | None = None,
          existing_tgw: ExistingTgw | None = None, storage: Mapping[str, str] | None = None) -> NetworkSpec:
    """:func:`plan` for arguments already checked (:func:`labnet.request.check_arguments`)."""
    facts = _facts_by_region(region, regions)
    existing = dict(existing or {})
    if existing and spokes == 0:
        per_region = {next(iter(facts)): []}  # a network of existing VPCs only
    else:
        per_region = _names_by_region(spokes, regions, next(iter(facts)))
    nodes = int(nodes_per_spoke)  # checked to be whole; papermill hands numbers over as floats
    net = preflight.parse_cidr("supernet", supernet, (8, 28))
    per_node = instance.ips_per_node(interface_mode)
    workload = Workload(instance.instance_type, nodes, interface_mode, per_node, float(headroom),
                        network_cards=instance.network_cards, max_efa_interfaces=instance.max_efa_interfaces,
                        efa_cards=instance.efa_card_indexes, image_id=image_id or "", vcpus=instance.vcpus,
                        network_performance=instance.network_performance,
                        network_card_bandwidth=instance.network_card_bandwidth)
    need = math.ceil(nodes * per_node * (1 + headroom))
    multi = len(per_region) > 1
    layouts = {r: _layout(need, facts[r], instance, workload.efa, public_subnets,
                          _per_region("azs", azs, r, multi), _per_region("compute_az", compute_az, r, multi))
               for r in per_region}
    vpc_prefix = min(_vpc_prefix(layout) for layout in layouts.values())  # every spoke the same size
    if vpc_prefix < 16:
        az_count = max(len({az for _, az, _, _ in layout}) for layout in layouts.values())
        max_nodes = _max_nodes_in_slash16(per_node, headroom, az_count, workload.efa, public_subnets)
        raise SizingError("nodes_per_spoke", nodes,
                          f"{nodes} × {instance.instance_type} ({per_node} IP/node, {headroom:.0%} headroom) "
                          f"need a VPC larger than /16, AWS's largest VPC",
                          f"the nearest layout that fits is {max_nodes} nodes per spoke "
                          f"(or spread the nodes over more spokes)")
    vpc_prefix = min(vpc_prefix, 28)
    home = next(iter(per_region))
    old_spokes, avoid = _existing_spokes(existing, dict(secondary or {}), facts[home], net, vpc_prefix)
    starts, blocks = _allocate(per_region, vpc_prefix, net, supernet, avoid)
    built: list[Spoke] = []
    for r, names in per_region.items():
        layout = layouts[r]
        order = sorted(range(len(layout)), key=lambda k: layout[k][2])  # largest blocks first
        for name, vpc_start in zip(names, starts[r]):
            cursor = vpc_start
            subnets: list[Subnet | None] = [None] * len(layout)
            for k in order:
                role, az, prefix, ips = layout[k]
                subnets[k] = Subnet(role, az, str(ipaddress.IPv4Network((cursor, prefix))), ips, facts[r].az_id(az))
                cursor += 2 ** (32 - prefix)
            built.append(Spoke(name=name, cidr=str(ipaddress.IPv4Network((vpc_start, vpc_prefix))),
                               subnets=tuple(s for s in subnets if s is not None), region=r if multi else ""))
    built = _admissions(built + old_spokes, len(per_region))
    if existing_tgw is not None and not existing_tgw.sg_referencing:
        # References across a TGW need the option on the TGW itself, which labnet does not change on a
        # TGW it does not own: every spoke admits the others by CIDR (the peer prefix list) instead.
        built = [dataclasses.replace(sp, admission="prefix-list") for sp in built]
    tgw = transit_gateway or TransitGateway()
    if existing_tgw is not None:
        tgw = _existing_tgw(tgw, existing_tgw)
    if multi:
        home_asn = tgw.amazon_side_asn
        asns = tuple((r, _region_asn(home_asn, k)) for k, r in enumerate(per_region) if k > 0)
        tgw = dataclasses.replace(tgw, region_asns=tgw.region_asns or asns)
    return NetworkSpec(
        region=next(iter(per_region)), supernet=str(net), spokes=tuple(built),
        transit_gateway=tgw, workload=workload, s3_endpoint=s3_endpoint, public_subnets=public_subnets,
        tags=tags or Tags(), region_blocks=blocks if multi else (),
        storage=tuple((str(k), str(v)) for k, v in (storage or {}).items()),
    )


def _admissions(spokes: list[Spoke], regions: int) -> list[Spoke]:
    """Each spoke's admission (issue 19): ``reference`` (its same-Region peers' training groups by
    reference across the TGW) wherever AWS allows it, else ``prefix-list``. AWS's rules: references
    are inbound only (labnet's cross-spoke rules are), same Region only (the other Regions stay in the
    prefix list), not in use1-az3, and each reference is one inbound rule, so a spoke whose
    same-Region peers would pass the inbound-rules quota (the self rule and one prefix-list entry per
    other Region counted too) keeps the prefix list: its size is about 2·log2(N), not N."""
    per_region: dict[str, int] = {}
    for sp in spokes:
        per_region[sp.region] = per_region.get(sp.region, 0) + 1
    budget = preflight.DEFAULT_INBOUND_RULES_PER_SG - 1 - (regions - 1)
    out = []
    for sp in spokes:
        peers = per_region[sp.region] - 1
        # (an existing VPC's own subnets count: its nodes are there)
        zones = [sn.az_id for sn in sp.subnets] + [sn.az_id for sn in (sp.existing.subnets if sp.existing else ())]
        ok = 0 < peers <= budget and not any(z in preflight.NO_GROUP_REFERENCES_AZ_IDS for z in zones)
        out.append(dataclasses.replace(sp, admission="reference" if ok else "prefix-list"))
    return out


def _facts_by_region(region: RegionFacts | Mapping[str, RegionFacts],
                     regions: Mapping[str, Any] | None) -> dict[str, RegionFacts]:
    if isinstance(region, RegionFacts):
        facts = {region.region: region}
    else:
        facts = dict(region)
    if regions is not None:
        missing = [r for r in regions if r not in facts]
        if missing:
            raise FactsError(f"no EC2 facts were read for region(s) {', '.join(missing)}")
        facts = {r: facts[r] for r in regions}
    return facts










def _layout(need: int, facts: RegionFacts, instance: InstanceFacts, efa: bool, public_subnets: bool,
            azs: Any, compute_az: Any) -> list[tuple[str, str, int, int]]:
    """One spoke's subnets in a region, as (role, az, prefix, ips_needed)."""
    if azs is not None and not isinstance(azs, (int, float)):
        _check_azs_shape(azs)
    compute_azs, az_list = place(azs, facts, instance.instance_type, efa, compute_az)
    layout: list[tuple[str, str, int, int]] = []
    if efa:
        layout.append(("compute", compute_azs[0], smallest_prefix(need, "nodes_per_spoke"), need))
    else:
        per_az = math.ceil(need / len(compute_azs))
        for az in compute_azs:
            layout.append(("compute", az, smallest_prefix(per_az, "nodes_per_spoke"), per_az))
    for az in az_list:
        layout.append(("attachment", az, ATTACHMENT_PREFIX, 1))
    if public_subnets:
        for k, az in enumerate(az_list):
            layout.append(("public", az, PUBLIC_PREFIX, 1 if k == 0 else 0))
    return layout


def _vpc_prefix(layout: list[tuple[str, str, int, int]]) -> int:
    """Subnets are packed largest first, so each is aligned and the VPC is exactly the next power of
    two above their sum."""
    total = sum(2 ** (32 - p) for _, _, p, _ in layout)
    return 32 - math.ceil(math.log2(total))


def _allocate(per_region: dict[str, list[str]], vpc_prefix: int, net: ipaddress.IPv4Network,
              supernet: str, avoid: Sequence[tuple[int, int]] = ()) -> tuple[dict[str, list[int]], tuple[tuple[str, str], ...]]:
    """Each spoke's VPC start address, and each region's summary block (one region: the spokes packed
    from the supernet's base, as always). Region blocks are aligned powers of two, placed largest
    first, so none overlaps another and each holds exactly its region's spokes."""
    vpc_size = 2 ** (32 - vpc_prefix)
    base, end = int(net.network_address), int(net.broadcast_address) + 1
    total = sum(len(n) for n in per_region.values())
    if len(per_region) == 1:
        if vpc_prefix < net.prefixlen or total > 2 ** (vpc_prefix - net.prefixlen):
            _does_not_fit(total, vpc_prefix, net, supernet, total * vpc_size)
        (r, names), = per_region.items()
        if not avoid:
            return {r: [base + i * vpc_size for i in range(len(names))]}, ()
        # Around existing VPCs: the aligned blocks from the base that touch none of them.
        starts, cursor, spans = [], base, sorted(avoid)
        while len(starts) < len(names):
            if cursor + vpc_size > end:
                _does_not_fit(total, vpc_prefix, net, supernet, total * vpc_size, existing=len(spans))
            hit = next((hi for lo, hi in spans if lo < cursor + vpc_size and hi >= cursor), None)
            if hit is None:
                starts.append(cursor)
                cursor += vpc_size
            else:  # jump past the block in the way, to the next aligned start
                cursor = ((hit + 1 - base + vpc_size - 1) // vpc_size) * vpc_size + base
        return {r: starts}, ()
    sizes = {r: vpc_size * 2 ** math.ceil(math.log2(len(n))) for r, n in per_region.items()}
    cursor = base
    starts: dict[str, list[int]] = {}
    blocks: dict[str, str] = {}
    for r in sorted(per_region, key=lambda r: -sizes[r]):  # stable: regions of one size keep their order
        size = sizes[r]
        if cursor + size > end:
            _does_not_fit(total, vpc_prefix, net, supernet, sum(sizes.values()), regions=True)
        blocks[r] = str(ipaddress.IPv4Network((cursor, 32 - int(math.log2(size)))))
        starts[r] = [cursor + i * vpc_size for i in range(len(per_region[r]))]
        cursor += size
    return starts, tuple((r, blocks[r]) for r in per_region)


def _does_not_fit(count: int, vpc_prefix: int, net: ipaddress.IPv4Network, supernet: str, needed: int,
                  regions: bool = False, existing: int = 0) -> None:
    if existing:
        raise SizingError("supernet", supernet,
                          f"{count} new spoke(s) of /{vpc_prefix} do not fit in {supernet} around the "
                          f"{existing} block(s) existing VPCs use or route elsewhere",
                          "choose a larger supernet, or one that the existing VPCs do not use")
    fits = 0 if vpc_prefix < net.prefixlen else 2 ** (vpc_prefix - net.prefixlen)
    wanted = 32 - math.ceil(math.log2(needed))
    nearest = (f"a /{wanted} supernet such as "
               f"{ipaddress.ip_network((int(net.network_address) & ~((1 << (32 - wanted)) - 1), wanted))}"
               if wanted >= 8 else "fewer nodes per spoke")
    per = " (each region's spokes in one aligned block)" if regions else ""
    if fits == 0:  # not even one spoke: fewer spokes is no way out, so it is not offered
        raise SizingError("supernet", supernet,
                          f"one spoke needs a /{vpc_prefix} and {supernet} is a /{net.prefixlen}: no spoke fits",
                          f"the nearest layout that fits is {nearest}")
    fewer = "fewer spokes per region" if regions else f"{fits} spoke(s)"
    raise SizingError("supernet", supernet,
                      f"{count} spoke(s) of /{vpc_prefix}{per} do not fit: {supernet} holds {fits}",
                      f"the nearest layout that fits is {nearest}, or {fewer}")


def free_blocks(blocks: Sequence[str], used: Sequence[str], prefix: int, n: int) -> list[str]:
    """Up to ``n`` aligned /``prefix`` blocks inside ``blocks`` (in order) that overlap none of
    ``used``, each block searched from its top down: a team that numbers its subnets from the bottom
    of its VPC keeps its room to grow. Pure arithmetic.

    >>> free_blocks(["10.9.0.0/24"], ["10.9.0.0/25"], 28, 2)
    ['10.9.0.240/28', '10.9.0.224/28']
    """
    import bisect

    spans = sorted((int(ipaddress.IPv4Network(u).network_address), int(ipaddress.IPv4Network(u).broadcast_address))
                   for u in used)
    starts = [lo for lo, _ in spans]
    size = 2 ** (32 - prefix)
    out: list[str] = []
    for block in blocks:
        b = ipaddress.IPv4Network(block)
        if b.prefixlen > prefix:
            continue
        cursor = int(b.broadcast_address) + 1 - size
        while cursor >= int(b.network_address) and len(out) < n:
            k = bisect.bisect_right(starts, cursor + size - 1)  # spans starting at or below our end
            clash = next((spans[j] for j in range(k - 1, -1, -1) if spans[j][1] >= cursor), None)
            if clash is None:
                out.append(str(ipaddress.IPv4Network((cursor, prefix))))
                cursor -= size
            else:  # below the used span, aligned
                cursor = ((clash[0] - size) // size) * size if clash[0] >= size else -1
        if len(out) >= n:
            break
    return out


def pick_secondary(primary: str, prefix: int, supernet: ipaddress.IPv4Network, taken: Sequence[str]) -> str:
    """A block labnet would offer as a VPC's secondary block for its attachment subnets: the highest
    free /``prefix`` of the supernet that AWS allows next to ``primary``
    (:func:`labnet.preflight.secondary_allowed`), else of 100.64.0.0/10."""
    for space in (supernet, ipaddress.IPv4Network("100.64.0.0/10")):
        for block in free_blocks([str(space)], list(taken), prefix, 64):
            if not preflight.secondary_allowed(primary, block):
                return block
    return ""


def _existing_spokes(existing: Mapping[str, ExistingVpc], secondary: Mapping[str, str], zones: RegionFacts,
                     supernet: ipaddress.IPv4Network, vpc_prefix: int) -> tuple[list[Spoke], list[tuple[int, int]]]:
    """The existing VPCs as spokes (their attachment /28 per AZ from free space, or from the secondary
    block asked for), and the address spans new spokes must avoid: every block of theirs, and every
    destination their route tables send elsewhere that a new spoke could fall inside."""
    taken: list[str] = [c for ex in existing.values() for c in ex.cidrs]
    _refuse_overlaps(existing, supernet)
    avoid = [str(c) for c in taken]
    for ex in existing.values():
        for table in ex.route_tables:
            for r in table.routes:
                if r.target == "local" or "/" not in r.destination:
                    continue
                d = ipaddress.IPv4Network(r.destination)
                if d.prefixlen >= vpc_prefix and d.overlaps(supernet):
                    avoid.append(str(d))
    out = []
    for name, ex in existing.items():
        field = f"existing_vpcs[{name!r}]"
        azs = sorted({s.az for s in ex.subnets})
        if not azs:
            raise InvalidSpecError(field, ex.vpc_id, "has no subnets: labnet attaches the AZs the VPC's subnets "
                                   "are in (a TGW attachment subnet per AZ)", "create the VPC's subnets first")
        free = free_blocks(ex.cidrs, [s.cidr for s in ex.subnets], ATTACHMENT_PREFIX, len(azs))
        asked = secondary.get(name, "")
        added = ""
        if len(free) < len(azs) or asked:
            prefix = ATTACHMENT_PREFIX - math.ceil(math.log2(len(azs)))
            offer = pick_secondary(ex.cidrs[0], prefix, supernet, taken)
            if not asked:
                raise SizingError(
                    field, ex.vpc_id,
                    f"has no free /28 for a TGW attachment subnet in each AZ its subnets use "
                    f"({', '.join(zones.label(a) for a in azs)}): its blocks {', '.join(ex.cidrs)} hold "
                    f"{len(free)} free /28 of the {len(azs)} needed (a TGW attachment takes one subnet per AZ)",
                    f"let labnet add a secondary CIDR block for them: existing_vpcs={{{name!r}: {{'vpc_id': "
                    f"{ex.vpc_id!r}, 'secondary_cidr': {offer or 'a free /' + str(prefix)!r}}}}} ('auto' picks that "
                    "block; labnet associates it with the VPC and destroy removes it again), or free a /28 in "
                    "each of those AZs")
            added = offer if asked == "auto" else asked
            net = ipaddress.IPv4Network(added)
            if net.prefixlen > prefix:
                raise InvalidSpecError(f"{field}.secondary_cidr", asked, f"holds {2 ** (28 - net.prefixlen)} /28, "
                                       f"but {len(azs)} attachment subnets (one per AZ) need a /{prefix}",
                                       f"for example {offer}" if offer else "")
            why = preflight.secondary_allowed(ex.cidrs[0], added)
            clash = next((t for t in taken if ipaddress.IPv4Network(t).overlaps(net)), None)
            if why or clash:
                raise InvalidSpecError(f"{field}.secondary_cidr", asked,
                                       why or f"overlaps {clash}, a block an existing VPC uses",
                                       f"for example {offer}" if offer else "choose another block")
            free = free_blocks([added], [], ATTACHMENT_PREFIX, len(azs))
            taken.append(added)
            avoid.append(added)
        subnets = tuple(Subnet("attachment", az, free[k], 1, zones.az_id(az)) for k, az in enumerate(azs))
        out.append(Spoke(name=name, cidr=ex.cidrs[0], subnets=subnets,
                         existing=dataclasses.replace(ex, added_cidr=added)))
    spans = [(int(n.network_address), int(n.broadcast_address)) for n in map(ipaddress.IPv4Network, avoid)]
    return out, spans


def _refuse_overlaps(existing: Mapping[str, ExistingVpc], supernet: ipaddress.IPv4Network) -> None:
    """Two existing VPCs that overlap (naming both blocks and VPC ids), or a block that overlaps the
    supernet without lying inside it (new spokes could not be placed around it)."""
    blocks = [(name, ex.vpc_id, ipaddress.IPv4Network(c)) for name, ex in existing.items() for c in ex.cidrs]
    clash = preflight.first_overlap([b for _, _, b in blocks])
    if clash is not None:
        (an, av, a), (bn, bv, b) = blocks[clash[0]], blocks[clash[1]]
        raise InvalidSpecError(f"existing_vpcs[{bn!r}]", bv,
                               f"its block {b} overlaps {a} of {av} (spoke {an!r}): a Transit Gateway cannot "
                               "route overlapping CIDRs", "attach only one of the two, or renumber one")
    for name, vpc_id, b in blocks:
        if b.overlaps(supernet) and not b.subnet_of(supernet):
            raise InvalidSpecError(f"existing_vpcs[{name!r}]", vpc_id,
                                   f"its block {b} overlaps the supernet {supernet} without lying inside it: new "
                                   "spokes could not be placed around it",
                                   "choose a supernet that holds the VPC's blocks or one clear of them")


def _existing_tgw(tgw: TransitGateway, found: ExistingTgw) -> TransitGateway:
    """The spec's TGW options for an existing TGW: its own ASN and DNS option as read, and the facts
    preflight and the quota table need."""
    if found.state != "available":
        raise InvalidSpecError("transit_gateway_id", found.id, f"is {found.state!r}, not available",
                               "wait until it is available, or ask its owner")
    return dataclasses.replace(
        tgw, amazon_side_asn=found.asn, dns_support=found.dns_support, existing_id=found.id,
        existing_arn=found.arn, existing_owner=found.owner_id, default_association=found.default_association,
        default_propagation=found.default_propagation, existing_attachments=len(found.attachments),
        existing_route_tables=len(found.route_tables), existing_routes=found.routes,
        description=f"existing Transit Gateway {found.id}")


def _region_asn(home: int, k: int) -> int:
    """The k-th other region's TGW ASN: the next private ASN after the spec's own (unique, as AWS
    recommends for peered TGWs), wrapping inside the same private range."""
    for lo, hi in preflight.PRIVATE_ASN_RANGES:
        if lo <= home <= hi:
            return lo + (home - lo + k) % (hi - lo + 1)
    return home + k


def _max_nodes_in_slash16(per_node: int, headroom: float, n_azs: int, efa: bool, public: bool) -> int:
    lo, hi = 0, MAX_NODES_PER_SPOKE
    while lo < hi:
        mid = (lo + hi + 1) // 2
        need = math.ceil(mid * per_node * (1 + headroom))
        try:
            if efa:
                blocks = [smallest_prefix(need)]
            else:
                blocks = [smallest_prefix(math.ceil(need / n_azs))] * n_azs
        except SizingError:
            hi = mid - 1
            continue
        total = sum(2 ** (32 - p) for p in blocks) + n_azs * 16 + (n_azs * 64 if public else 0)
        if total <= 2 ** 16:
            lo = mid
        else:
            hi = mid - 1
    return lo




def _resolve_az(field: str, value: str, region: RegionFacts) -> str:
    """An AZ name for an AZ name or AZ ID of the region, or an error listing both."""
    name = region.az_name(value)
    if name is None:
        kind = "an AZ name or AZ ID" if region.az_ids else "an availability zone"
        raise InvalidSpecError(field, value, f"is not {kind} of {region.region}",
                               f"choose from {', '.join(region.label(az) for az in region.azs)}")
    return name


def place(azs: int | Sequence[str], region: RegionFacts, instance_type: str, efa: bool,
          compute_az: str | None = None) -> tuple[list[str], list[str]]:
    """Where a spoke's compute and attachment subnets go: ``(compute AZs, attachment AZs)``, as names.

    Compute goes only where EC2 offers ``instance_type`` (``region.offered``; every AZ when the
    offerings were not read). The rule, deterministic for a given target:

    - EFA (one compute AZ): ``compute_az`` if given; else the first AZ of an ``azs`` list; else, for a
      count, the first AZ in name order that offers the type. Attachment subnets go in the compute AZ
      plus the other AZs asked for (for a count: the next offering AZs in name order, then the rest),
      which need not offer the type: they carry only the TGW attachment.
    - spread (ena): one compute subnet in each AZ of an ``azs`` list, or in the first ``azs`` offering
      AZs in name order; every one of them must offer the type.

    A requested AZ where the type is not offered is refused, naming the AZs where it is.
    """
    offered_read = region.offered(instance_type)
    offered = list(offered_read if offered_read is not None else region.azs)
    if not offered:
        raise InvalidSpecError("instance_type", instance_type,
                               f"EC2 offers it in no AZ of {region.region} (describe_instance_type_offerings)",
                               "pick another instance type or region; labnet.offerings() lists where it is offered")
    where = f"it is offered in {', '.join(region.label(az) for az in offered)}"

    def refuse(field: str, value: object, az: str, extra: str = "") -> InvalidSpecError:
        return InvalidSpecError(field, value, f"EC2 does not offer {instance_type} in {region.label(az)}",
                                where + extra)

    chosen = None
    if compute_az is not None:
        chosen = _resolve_az("compute_az", compute_az, region)
        if chosen not in offered:
            raise refuse("compute_az", compute_az, chosen)
    if isinstance(azs, (int, float)) and not isinstance(azs, bool):
        n = _validate_int("azs", azs, 1, max(1, len(region.azs)),
                          f"{region.region} has {len(region.azs)} AZs: "
                          f"{', '.join(region.label(az) for az in region.azs)}")
        if efa:
            first = chosen or offered[0]
            rest = [az for az in offered if az != first] + [az for az in region.azs if az not in offered]
            return [first], [first, *rest[:n - 1]]
        if n > len(offered):
            raise InvalidSpecError("azs", n, f"EC2 offers {instance_type} in {len(offered)} AZ(s) of "
                                   f"{region.region}, and a spread workload puts compute in every AZ",
                                   f"ask for azs={len(offered)} or fewer; {where}")
        return offered[:n], offered[:n]
    if isinstance(azs, str) or not isinstance(azs, Sequence) or not azs:
        raise InvalidSpecError("azs", azs, "must be a number of AZs or a list of AZ names or AZ IDs",
                               f"for example 2 or ['{region.region}a', '{region.region}b']")
    listed = [_resolve_az(f"azs[{k}]", az, region) for k, az in enumerate(azs)]
    if len(set(listed)) != len(listed):
        raise InvalidSpecError("azs", list(azs), "AZs must be distinct (an AZ name and its AZ ID are one AZ)", "")
    if efa:
        first = chosen or listed[0]
        if first not in offered:
            raise refuse("azs[0]", azs[0], first, "; list one of them first (an EFA cluster's compute goes in "
                         "the first AZ) or pass compute_az=")
        return [first], [first, *(az for az in listed if az != first)]
    for k, az in enumerate(listed):
        if az not in offered:
            raise refuse(f"azs[{k}]", azs[k], az)
    return listed, listed


def size(ec2, *, instance_type: str, region: str = "us-east-1", **kwargs: Any) -> tuple[NetworkSpec, list[str]]:
    """Check the request, read the facts it needs, plan, and preflight the result.

    Returns the spec and preflight's warnings. See :func:`plan` for the keyword arguments
    (``instance_type`` replaces ``instance``; region facts are read from the target). ``ec2`` is a
    boto3 EC2 client, or a function region → EC2 client, called only once the request's arguments
    are checked (:func:`labnet.request.check_request`), so that bad input never reaches a target.
    Across regions (``regions=``), ``ec2`` must be such a function.
    """
    check_request(instance_type=instance_type, region=region, **kwargs)  # the one check, before any call
    regions = kwargs.get("regions")
    if regions is not None:
        clients = {r: ec2(r) for r in regions}
    elif callable(ec2) and not hasattr(ec2, "meta"):
        clients = {region: ec2(region)}
    else:
        clients = {ec2.meta.region_name: ec2}
    facts = instance_facts(next(iter(clients.values())), instance_type)
    by_region = {r: region_facts(c, [instance_type]) for r, c in clients.items()}
    existing_vpcs, tgw_id = kwargs.pop("existing_vpcs", None), kwargs.pop("transit_gateway_id", None)
    asked = check_existing(existing_vpcs, tgw_id, None, (), regions)
    home, client = next(iter(clients.items()))
    finder = ec2 if callable(ec2) and not hasattr(ec2, "meta") else None
    read, tgw = existing_facts.read_all(client, by_region[home], {k: v["vpc_id"] for k, v in asked.items()},
                                        tgw_id, finder)
    spec = _plan(instance=facts, region=by_region if regions is not None else next(iter(by_region.values())),
                 **{**_PLAN_DEFAULTS, **kwargs, "existing": read, "existing_tgw": tgw,
                    "secondary": {k: v["secondary_cidr"] for k, v in asked.items()}})
    warnings = preflight.check(spec, by_region if regions is not None else by_region[spec.region])
    return spec, warnings


_PLAN_DEFAULTS: dict[str, Any] = {
    "spokes": None, "azs": 2, "supernet": "10.0.0.0/8", "interface_mode": "efa", "headroom": 0.25,
    "public_subnets": False, "s3_endpoint": True, "tags": None, "transit_gateway": None, "compute_az": None,
    "image_id": None, "regions": None, "storage": None}
