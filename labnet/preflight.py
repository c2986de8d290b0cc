"""Preflight: AWS's rules, checked by labnet before any engine runs (stdlib only).

The embedded emulator (moto) accepts many things AWS rejects (two attachment subnets in one AZ,
overlapping spoke CIDRs behind one TGW, …), so a rehearsal is only worth something if labnet
enforces the rules itself. :func:`check` raises :class:`~labnet.errors.InvalidSpecError` naming the
field, the value, the rule and a fix, and returns the warnings (things AWS allows but that will hurt).

Sources for each rule are listed in README.md ("Preflight rules").
"""

from __future__ import annotations

import functools
import ipaddress
import re
import weakref
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from .errors import InvalidSpecError
from .facts.account import quota_data
from .spec import ADMISSIONS, INTERFACE_MODES, ROLES, NetworkSpec, Security, Tags

VPC_PREFIX_RANGE = (16, 28)  # VPC and subnet IPv4 blocks: /16 (largest) to /28 (smallest)
# The hard limits preflight refuses past come from the one quota source (labnet/facts/quotas.json, with
# its AWS page and date); every adjustable quota a deploy touches is the quota analysis's
# (labnet.quotas, shown by preview and up), not a warning of preflight's own.
_QUOTAS = quota_data()["quotas"]
MAX_TGW_ATTACHMENTS = int(_QUOTAS["attachments_per_transit_gateway"]["default"])
MAX_TGW_ROUTE_TABLES = int(_QUOTAS["route_tables_per_transit_gateway"]["default"])
MAX_TGW_ROUTES = int(_QUOTAS["routes_per_transit_gateway"]["default"])
# A referenced list counts as this many rules: no group could take more.
MAX_PREFIX_LIST_ENTRIES = int(_QUOTAS["entries_per_prefix_list"]["default"])
# Inbound rules per security group (adjustable): sizing admits peers by reference only within it.
DEFAULT_INBOUND_RULES_PER_SG = int(_QUOTAS["inbound_rules_per_security_group"]["default"])
# Network ACLs (AWS VPC quotas): 20 IPv4 rules per direction per ACL by default (adjustable to 40).
DEFAULT_NACL_RULES_PER_DIRECTION = 20
# Security group references across a Transit Gateway are not supported in this AZ (AWS TGW guide,
# "Security group referencing").
NO_GROUP_REFERENCES_AZ_IDS = ("use1-az3",)
# S3 bucket names (S3 user guide, "General purpose bucket naming rules").
BUCKET_NAME_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
S3_ARN_RE = re.compile(r"arn:aws(?:-[a-z]+)*:s3:::([^/]+)(/.*)?")
LOGS_ARN_RE = re.compile(r"arn:aws(?:-[a-z]+)*:logs:[a-z0-9-]+:\d{12}:log-group:[\w./#-]{1,512}(?::\*)?")
ROLE_ARN_RE = re.compile(r"arn:aws(?:-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
MAX_LIFECYCLE_DAYS = 2147483647  # S3 takes any positive whole number of days
PRIVATE_ASN_RANGES = ((64512, 65534), (4200000000, 4294967294))
# Private address space: RFC 1918, and RFC 6598's shared address space, which AWS also accepts for VPCs.
PRIVATE_RANGES = (("10.0.0.0/8", "RFC 1918"), ("172.16.0.0/12", "RFC 1918"), ("192.168.0.0/16", "RFC 1918"),
                  ("100.64.0.0/10", "RFC 6598"))

# Patterns are matched with fullmatch: "$" would also accept a trailing newline ("ml-net\n").
# Stack names follow Pulumi's rule and must also be safe as a folder name under $LABNET_HOME/stacks,
# so the first character is a letter or digit ("..", ".", "-x" are refused).
STACK_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
SPOKE_NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")
ROUTE_TABLE_NAME_RE = SPOKE_NAME_RE
REGION_RE = re.compile(r"[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}")
TAG_CHARS_RE = re.compile(r"[\w .:/=+\-@]*", re.UNICODE)
AZ_ID_RE = re.compile(r"[a-z]{2,}[0-9]{1,2}-az[0-9]{1,2}")  # use1-az6, apne1-az4, usgw1-az1
IMAGE_ID_RE = re.compile(r"ami-(?:[0-9a-f]{8}|[0-9a-f]{17})")


@dataclass(frozen=True)
class RegionFacts:
    """What preflight needs to know about a region, read from EC2 by :mod:`labnet.sizing`.

    ``az_ids`` holds the AZ ID of each name in ``azs`` (same order), from describe_availability_zones;
    ``offerings`` holds, per instance type read, the AZ names EC2 offers it in. Either is empty when it
    was not read: preflight then checks what it can and says nothing about the rest.
    """

    region: str
    azs: tuple[str, ...]
    az_ids: tuple[str, ...] = ()
    offerings: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @functools.cached_property
    def _id_of(self) -> dict[str, str]:
        # Looked up once per subnet by sizing and preflight: build the mapping once.
        return dict(zip(self.azs, self.az_ids)) if len(self.az_ids) == len(self.azs) else {}

    def az_id(self, name: str) -> str:
        """The AZ ID behind AZ name ``name`` in this account ("" when unknown)."""
        return self._id_of.get(name, "")

    def az_name(self, name_or_id: str) -> str | None:
        """The AZ name for an AZ name or AZ ID of this region, or None when it is neither."""
        if name_or_id in self.azs:
            return name_or_id
        return next((n for n, i in self._id_of.items() if i == name_or_id), None)

    def label(self, name: str) -> str:
        """``us-east-1b (use1-az1)``, or the bare name when its ID is unknown."""
        az_id = self.az_id(name)
        return f"{name} ({az_id})" if az_id else name

    def offered(self, instance_type: str) -> tuple[str, ...] | None:
        """AZ names (in the region's order) where EC2 offers ``instance_type``; None if not read."""
        for itype, names in self.offerings:
            if itype == instance_type:
                return tuple(az for az in self.azs if az in names)
        return None

    def offered_text(self, instance_type: str) -> str:
        """Where a type is offered, for messages: ``us-east-1b (use1-az1), us-east-1c (use1-az2)``."""
        offered = self.offered(instance_type) or ()
        return ", ".join(self.label(az) for az in offered) or "no AZ"


# Specs that passed, with their warnings per facts they were checked against: preflight is a pure
# function of (spec, facts), and one deploy meets the same spec three times (size(), Lab(), up()), so
# each operation checks it once and the rest is a look-up. Weak: a spec nobody holds is forgotten.
_passed: "weakref.WeakKeyDictionary[NetworkSpec, dict[Any, tuple[str, ...]]]" = weakref.WeakKeyDictionary()


def _facts_key(facts: RegionFacts | Mapping[str, RegionFacts] | None) -> Any:
    if facts is None or isinstance(facts, RegionFacts):
        return facts
    return tuple(sorted(facts.items()))


def check(spec: NetworkSpec, facts: RegionFacts | Mapping[str, RegionFacts] | None = None) -> list[str]:
    """Raise :class:`InvalidSpecError` for the first broken AWS rule; return warnings otherwise
    (see :func:`_check`). A spec that passed with these facts (or, asked without facts, with any:
    the facts only add rules) is not checked again."""
    try:
        key = _facts_key(facts)
        seen = _passed.get(spec)
    except TypeError:  # unhashable parts in a hand-built spec: just check it
        return _check(spec, facts)
    if seen is not None and (key in seen or (key is None and seen)):
        return list(seen[key] if key in seen else next(iter(seen.values())))
    warnings = _check(spec, facts)
    _passed.setdefault(spec, {})[key] = tuple(warnings)
    return warnings


def _check(spec: NetworkSpec, facts: RegionFacts | Mapping[str, RegionFacts] | None = None) -> list[str]:
    """Raise :class:`InvalidSpecError` for the first broken AWS rule; return warnings otherwise.

    ``facts`` (the region's AZs as EC2 reports them) lets preflight reject unknown AZ names and more
    AZs than the region has, AZ IDs that are not what the AZ name means on this target, and compute
    subnets in AZs where EC2 does not offer the workload's instance type; without it only the AZ name
    and ID formats are checked. A network across regions takes the facts of each region as a dict
    (region → RegionFacts); each spoke is checked against its own region's.
    """
    warnings: list[str] = []
    check_region(spec.region)
    for i, spoke in enumerate(spec.spokes):
        if spoke.region:
            check_region(spoke.region, f"spokes[{i}].region")
    facts_of = _facts_lookup(facts)
    supernet = parse_cidr("supernet", spec.supernet, (8, 28))
    warnings += _check_private(supernet)
    _check_tgw(spec)
    _check_tags(spec)
    _check_security(spec)
    warnings += _check_workload(spec, facts_of(spec.region))

    if not spec.spokes:
        raise InvalidSpecError("spokes", 0, "a hub-and-spoke network needs at least one spoke",
                               "ask for spokes >= 1")
    if len(spec.spokes) > MAX_TGW_ATTACHMENTS:
        raise InvalidSpecError("spokes", len(spec.spokes),
                               f"a Transit Gateway takes at most {MAX_TGW_ATTACHMENTS} attachments",
                               "split the network over several Transit Gateways or use fewer spokes")

    seen_names: set[str] = set()
    vpcs: list[tuple[int, str, ipaddress.IPv4Network, str]] = []  # (spoke index, name, block, VPC id if existing)
    for i, spoke in enumerate(spec.spokes):
        where = f"spokes[{i}]"
        check_spoke_name(f"{where}.name", spoke.name)
        if spoke.name in seen_names:
            raise InvalidSpecError(f"{where}.name", spoke.name, "spoke names must be unique",
                                   "rename one of them")
        seen_names.add(spoke.name)
        vpc = parse_cidr(f"{where}.cidr", spoke.cidr, VPC_PREFIX_RANGE)
        if spoke.route_table not in spec.transit_gateway.route_tables:
            raise InvalidSpecError(f"{where}.route_table", spoke.route_table,
                                   f"is not one of transit_gateway.route_tables "
                                   f"{list(spec.transit_gateway.route_tables)}",
                                   "name a declared TGW route table")
        if spoke.existing is not None:
            blocks = _check_existing_spoke(spec, i, supernet, facts_of(spec.region_of(spoke)))
            vpcs += [(i, spoke.name, net, spoke.existing.vpc_id) for net in blocks]
            continue
        if not vpc.subnet_of(supernet):
            raise InvalidSpecError(f"{where}.cidr", spoke.cidr, f"is outside the supernet {supernet}",
                                   "choose a VPC CIDR inside the supernet or widen the supernet")
        vpcs.append((i, spoke.name, vpc, ""))
        warnings += _check_subnets(spec, i, vpc, facts_of(spec.region_of(spoke)))

    warnings += _check_regions(spec, supernet)
    clash = first_overlap([net for _, _, net, _ in vpcs])
    if clash is not None:
        (_, a_name, a, a_vpc), (kb, b_name, b, b_vpc) = vpcs[clash[0]], vpcs[clash[1]]
        if a_vpc and not b_vpc:  # name the new spoke's field: that is what sizing can move
            (_, a_name, a, a_vpc), (kb, b_name, b, b_vpc) = vpcs[clash[1]], vpcs[clash[0]]
        a_txt = f"{a} ({a_vpc})" if a_vpc else str(a)
        b_txt = f"{b} ({b_vpc})" if b_vpc else str(b)
        raise InvalidSpecError(
            f"spokes[{kb}].cidr", str(b),
            f"spoke {b_name!r} {b_txt} overlaps spoke {a_name!r} {a_txt}: Transit Gateway cannot route "
            "overlapping CIDRs",
            "attach only VPCs whose CIDRs do not overlap (renumber one, or leave it out)" if a_vpc and b_vpc
            else "choose another supernet or fewer spokes (labnet.size() allocates new spokes around existing "
            "VPCs)")
    warnings += _check_existing_network(spec, supernet)

    _check_prefix_list_entries(spec)
    _check_logical_names(spec)
    if len(spec.spokes) * len(spec.transit_gateway.route_tables) > MAX_TGW_ROUTES:
        raise InvalidSpecError("spokes", len(spec.spokes),
                               f"the TGW would hold more than {MAX_TGW_ROUTES} propagated routes",
                               "use fewer spokes or fewer TGW route tables")
    return warnings


def _check_private(supernet: ipaddress.IPv4Network) -> list[str]:
    """AWS lets a VPC use any block, but a public one belongs to someone on the internet: the spokes
    could no longer reach those addresses there, which is rarely what a training network wants."""
    if any(supernet.subnet_of(ipaddress.ip_network(block)) for block, _ in PRIVATE_RANGES):
        return []
    ranges = ", ".join(f"{block} ({rfc})" for block, rfc in PRIVATE_RANGES)
    return [f"supernet {supernet} is not private address space ({ranges}): AWS accepts it, but the spokes could "
            "not reach the internet hosts that own those addresses; choose a supernet inside one of those "
            "ranges (10.0.0.0/8 is the default) unless your organisation owns this block"]


def _check_logical_names(spec: NetworkSpec) -> None:
    """Two resources of one type under one logical name: the real engine stops on the duplicate URN
    half-way through an up, and the rehearsal state would keep only one of them. The program builds
    names from spoke, route-table and region names (:mod:`labnet.program`), so two families can meet:

    - with public subnets, spoke ``a`` declares route table ``a-public-rt``, which is also the private
      route table of a spoke called ``a-public``;
    - across regions, TGW route table ``x`` in region ``r`` is ``tgw-rt-x-r``, which is also route
      table ``x-r`` of the spec's own region.

    (The program refuses any other duplicate too, under the mock monitor, before an engine runs.)"""
    names = {sp.name for sp in spec.spokes}
    if spec.public_subnets:
        for i, sp in enumerate(spec.spokes):
            if sp.name.endswith("-public") and sp.name[:-len("-public")] in names:
                base = sp.name[:-len("-public")]
                raise InvalidSpecError(
                    f"spokes[{i}].name", sp.name,
                    f"with public subnets, spoke {base!r} declares route table '{base}-public-rt', the same logical "
                    f"name as the route table of spoke {sp.name!r} (Pulumi stops on the duplicate)",
                    f"rename spoke {sp.name!r}, for example to '{base}-pub'")
    seen: dict[str, tuple[str, str]] = {}
    for region in spec.regions:
        suffix = "" if region == spec.region else f"-{region}"  # program._suffix
        for table in spec.transit_gateway.route_tables:
            key = f"tgw-rt-{table}{suffix}"
            if key in seen:
                other_table, other_region = seen[key]
                raise InvalidSpecError(
                    "transit_gateway.route_tables", table,
                    f"TGW route table {table!r} in {region} and {other_table!r} in {other_region} both get the "
                    f"logical name {key!r} (tables outside the spec's region {spec.region} add their region's name)",
                    "rename one of them so that no table name is another's plus '-<region>'")
            seen[key] = (table, region)


def _facts_lookup(facts):
    """facts_of(region) → that region's RegionFacts, or None when they were not read."""
    if facts is None:
        return lambda region: None
    if isinstance(facts, RegionFacts):
        return lambda region: facts if facts.region == region else None
    return lambda region: facts.get(region)


def _check_regions(spec: NetworkSpec, supernet: ipaddress.IPv4Network) -> list[str]:
    """A network across regions: one summary block per region (inside the supernet, not overlapping,
    holding exactly its region's spokes), one TGW per region with a private ASN (unique, as AWS
    recommends for peered TGWs), and a full mesh of peering attachments within AWS's quotas.
    Sources: TGW peering attachments and TGW quotas (docs.aws.amazon.com/vpc/latest/tgw/)."""
    warnings: list[str] = []
    regions = spec.regions
    blocks = dict(spec.region_blocks)
    if len(blocks) != len(spec.region_blocks):
        raise InvalidSpecError("region_blocks", [list(p) for p in spec.region_blocks], "names a region twice", "")
    if len(regions) == 1:
        stray = [r for r in blocks if r not in regions]
        if stray:
            raise InvalidSpecError("region_blocks", stray[0], "names a region the network has no spoke in",
                                   "drop it")
        return warnings
    nets = []
    for r in regions:
        if r not in blocks:
            raise InvalidSpecError("region_blocks", r, "a network across regions needs a summary block per region "
                                   "(what the other regions' TGW route tables route to it)",
                                   "labnet.size(regions=...) lays them out")
        net = parse_cidr(f"region_blocks[{r!r}]", blocks[r], (8, 28))
        if not net.subnet_of(supernet):
            raise InvalidSpecError(f"region_blocks[{r!r}]", blocks[r], f"is outside the supernet {supernet}", "")
        nets.append(net)
    for r in blocks:
        if r not in regions:
            raise InvalidSpecError("region_blocks", r, "names a region the network has no spoke in", "drop it")
    clash = first_overlap(nets)
    if clash is not None:
        a, b = regions[clash[0]], regions[clash[1]]
        raise InvalidSpecError(f"region_blocks[{b!r}]", blocks[b],
                               f"overlaps region {a}'s block {blocks[a]}: a static route per remote region must "
                               "cover that region's spokes and nothing else", "give each region its own block")
    for i, spoke in enumerate(spec.spokes):
        r = spec.region_of(spoke)
        if not ipaddress.IPv4Network(spoke.cidr).subnet_of(ipaddress.IPv4Network(blocks[r])):
            raise InvalidSpecError(f"spokes[{i}].cidr", spoke.cidr,
                                   f"is outside region {r}'s summary block {blocks[r]}: the other regions route "
                                   f"only that block to {r}", "choose a CIDR inside the block or widen it")
    asns = {}
    for r in regions:
        asn = spec.asn_of(r)
        if isinstance(asn, bool) or not isinstance(asn, int) or not any(lo <= asn <= hi for lo, hi in PRIVATE_ASN_RANGES):
            raise InvalidSpecError(f"transit_gateway.region_asns[{r!r}]", asn,
                                   "must be a private ASN in 64512-65534 or 4200000000-4294967294", "")
        asns.setdefault(asn, []).append(r)
    for asn, rs in asns.items():
        if len(rs) > 1:
            warnings.append(f"the Transit Gateways of {', '.join(rs)} share ASN {asn}; AWS recommends a unique ASN "
                            "for each peered transit gateway (transit_gateway.region_asns)")
    return warnings


def _check_prefix_list_entries(spec: NetworkSpec) -> None:
    """Each spoke's peer prefix list holds the other spokes' CIDRs collapsed into blocks: at most
    ``MAX_PREFIX_LIST_ENTRIES`` of them (a hard limit; the rules they count as are the quota analysis's)."""
    peers = spec.peer_cidrs()
    for k, spoke in enumerate(spec.spokes):
        blocks = peers[spoke.name]
        if len(blocks) > MAX_PREFIX_LIST_ENTRIES:
            raise InvalidSpecError(
                f"spokes[{k}].cidr", spoke.cidr,
                f"the other spokes' CIDRs collapse into {len(blocks)} blocks, but a prefix list holds at most "
                f"{MAX_PREFIX_LIST_ENTRIES} entries (and counts them all as security group rules)",
                "place the spokes as equal, adjacent blocks from the supernet's base (labnet.size() does), "
                "so that they collapse into a few blocks")


def first_overlap(nets: Sequence[ipaddress.IPv4Network]) -> tuple[int, int] | None:
    """Indices (earlier, later) of two overlapping networks, or None: sort by start address, then a
    block overlaps an earlier one exactly when it starts before the furthest end seen so far.
    O(n log n), so preflight stays fast for thousands of spokes."""
    order = sorted(range(len(nets)), key=lambda k: (int(nets[k].network_address), -nets[k].num_addresses))
    reach, holder = -1, -1
    for k in order:
        start = int(nets[k].network_address)
        if start <= reach:
            return (min(holder, k), max(holder, k))
        end = int(nets[k].broadcast_address)
        if end > reach:
            reach, holder = end, k
    return None


def check_stack_name(name: object) -> str:
    """Pulumi stack names: 1-100 characters from letters, digits, '-', '_' and '.'."""
    if not isinstance(name, str) or not STACK_NAME_RE.fullmatch(name):
        raise InvalidSpecError("stack_name", name,
                               "stack names are 1-100 characters of letters, digits, '-', '_' or '.' "
                               "(Pulumi's rule), starting with a letter or digit", "for example 'ml-net'")
    return name


def check_region(region: object, field: str = "region") -> str:
    if not isinstance(region, str) or not REGION_RE.fullmatch(region):
        raise InvalidSpecError(field, region, "is not an AWS region name", "for example 'us-east-1'")
    return region


def parse_cidr(field: str, value: object, prefix_range: tuple[int, int]) -> ipaddress.IPv4Network:
    """Parse an IPv4 CIDR block strictly (host bits must be zero) and check its prefix length."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidSpecError(field, value, "must be an IPv4 CIDR block", "for example '10.0.0.0/16'")
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        hint = "for example '10.0.0.0/16'"
        try:
            hint = f"did you mean {ipaddress.IPv4Network(value, strict=False)}?"
        except ValueError:
            pass
        raise InvalidSpecError(field, value, f"is not a valid IPv4 CIDR block ({exc})", hint) from None
    if "/" not in value:
        raise InvalidSpecError(field, value, "needs a prefix length", f"for example '{value}/16'")
    lo, hi = prefix_range
    if not lo <= net.prefixlen <= hi:
        raise InvalidSpecError(field, value,
                               f"prefix /{net.prefixlen} is outside /{lo}-/{hi} (AWS's limits for this block)",
                               f"use a prefix between /{lo} and /{hi}")
    return net


def _check_subnets(spec: NetworkSpec, i: int, vpc: ipaddress.IPv4Network,
                   facts: RegionFacts | None) -> list[str]:
    spoke = spec.spokes[i]
    where = f"spokes[{i}]"
    warnings: list[str] = []
    nets: list[tuple[int, ipaddress.IPv4Network]] = []
    attach_azs: dict[str, int] = {}
    for j, sn in enumerate(spoke.subnets):
        sw = f"{where}.subnets[{j}]"
        if sn.role not in ROLES:
            raise InvalidSpecError(f"{sw}.role", sn.role, f"must be one of {list(ROLES)}", "")
        _check_az(f"{sw}.az", sn.az, spec.region_of(spoke), facts)
        _check_az_id(f"{sw}.az_id", sn, facts)
        net = parse_cidr(f"{sw}.cidr", sn.cidr, VPC_PREFIX_RANGE)
        if not net.subnet_of(vpc):
            raise InvalidSpecError(f"{sw}.cidr", sn.cidr, f"is outside its VPC {vpc} (spoke {spoke.name!r})",
                                   "choose a subnet CIDR inside the VPC CIDR")
        nets.append((j, net))
        if sn.ips_needed < 0:
            raise InvalidSpecError(f"{sw}.ips_needed", sn.ips_needed, "must be >= 0", "")
        if sn.ips_needed > sn.usable_ips:
            raise InvalidSpecError(f"{sw}.cidr", sn.cidr,
                                   f"has {sn.usable_ips} usable IPs (AWS reserves 5) but {sn.ips_needed} are needed",
                                   "use a larger subnet")
        if sn.role == "attachment":
            if sn.az in attach_azs:
                raise InvalidSpecError(f"{sw}.az", sn.az,
                                       f"spoke {spoke.name!r} already has an attachment subnet in {sn.az} "
                                       f"(subnets[{attach_azs[sn.az]}]): a TGW VPC attachment takes one "
                                       "subnet per AZ", "keep one attachment subnet per AZ")
            attach_azs[sn.az] = j
            if net.prefixlen != 28:
                warnings.append(f"{sw}: attachment subnet {sn.cidr} is a /{net.prefixlen}; AWS recommends "
                                "a small dedicated /28 per AZ for TGW attachments")

    clash = first_overlap([net for _, net in nets])
    if clash is not None:
        (ka, a), (kb, b) = nets[clash[0]], nets[clash[1]]
        raise InvalidSpecError(f"{where}.subnets[{kb}].cidr", str(b),
                               f"overlaps {where}.subnets[{ka}] {a} in spoke {spoke.name!r}",
                               "subnets of one VPC must not overlap")
    compute = spoke.subnets_by_role("compute")
    if not compute:
        raise InvalidSpecError(f"{where}.subnets", "no compute subnet",
                               f"spoke {spoke.name!r} needs at least one compute subnet for its nodes", "")
    if not attach_azs:
        raise InvalidSpecError(f"{where}.subnets", "no attachment subnet",
                               f"spoke {spoke.name!r} needs an attachment subnet to join the Transit Gateway",
                               "add a /28 attachment subnet in each AZ that has compute subnets")
    for sn in compute:
        if sn.az not in attach_azs:
            raise InvalidSpecError(f"{where}.subnets", sn.az,
                                   f"compute subnet {sn.cidr} is in {sn.az}, which has no attachment subnet: "
                                   "AZs without an attachment subnet cannot reach the Transit Gateway",
                                   f"add a /28 attachment subnet in {sn.az}")
    wl = spec.workload
    offered = facts.offered(wl.instance_type) if (facts is not None and wl is not None) else None
    if offered is not None:
        for j, sn in enumerate(spoke.subnets):
            if sn.role == "compute" and sn.az not in offered:
                raise InvalidSpecError(
                    f"{where}.subnets[{j}].az", sn.az,
                    f"EC2 does not offer {wl.instance_type} in {facts.label(sn.az)} "  # type: ignore[union-attr]
                    f"(describe_instance_type_offerings): nodes in compute subnet {sn.cidr} would never launch",
                    f"{wl.instance_type} is offered in {facts.offered_text(wl.instance_type)}"  # type: ignore[union-attr]
                    if offered else f"{wl.instance_type} is offered in no AZ of {spec.region_of(spoke)}: pick another "
                    "instance type or region")
    if wl is not None and wl.efa:
        azs = list(dict.fromkeys(s.az for s in compute))
        if len(compute) > 1:
            az0 = compute[0].az
            raise InvalidSpecError(
                f"{where}.subnets", [f"{s.az} {s.cidr}" for s in compute],
                f"an EFA cluster ({wl.instance_type}, {wl.interface_mode}) has compute subnets in "
                f"{len(azs)} AZ(s) and {len(compute)} subnets, but EFA traffic does not cross subnets or AZs",
                f"use the single-AZ layout: one compute subnet in {az0} for all "
                f"{wl.nodes_per_spoke} nodes, plus one /28 attachment subnet per AZ "
                "(labnet.size(..., interface_mode='efa') builds it)")
    if spec.public_subnets and not spoke.subnets_by_role("public"):
        raise InvalidSpecError(f"{where}.subnets", "no public subnet",
                               "public_subnets is on but the spoke has no public subnet for its NAT gateway",
                               "add a public subnet or turn public_subnets off")
    if not spec.public_subnets and spoke.subnets_by_role("public"):
        raise InvalidSpecError(f"{where}.subnets", "public subnet",
                               "the spoke has a public subnet but public_subnets is off",
                               "set public_subnets=True or drop the public subnet")
    return warnings


def _check_az(field: str, az: object, region: str, facts: RegionFacts | None) -> None:
    if not isinstance(az, str) or not re.fullmatch(rf"{re.escape(region)}[a-z]", az):
        raise InvalidSpecError(field, az, f"is not an availability zone of {region}",
                               f"AZ names look like '{region}a'")
    if facts is not None and az not in facts.azs:
        raise InvalidSpecError(field, az, f"is not an availability zone of {region}",
                               f"choose from {', '.join(facts.azs)}")


def _check_az_id(field: str, sn, facts: RegionFacts | None) -> None:
    if not sn.az_id:
        return  # specs saved before AZ IDs were recorded
    if not AZ_ID_RE.fullmatch(sn.az_id):
        raise InvalidSpecError(field, sn.az_id, "is not an AZ ID", "AZ IDs look like 'use1-az6'; or leave it empty")
    known = facts.az_id(sn.az) if facts is not None else ""
    if known and known != sn.az_id:
        raise InvalidSpecError(
            field, sn.az_id,
            f"the spec places this subnet in {sn.az} = {sn.az_id}, but on this target {sn.az} is {known}: "
            "AZ names map to different physical AZs in each account, and capacity is bought by AZ ID",
            f"size again on this target (labnet.size(..., azs=['{sn.az_id}']) keeps the physical AZ), "
            f"or set the subnet's az to the name {sn.az_id} has here")


def _check_workload(spec: NetworkSpec, facts: RegionFacts | None) -> list[str]:
    """The facts a node launch template is built from must agree with each other."""
    wl = spec.workload
    if wl is None:
        return []
    check_interface_mode(wl.interface_mode)
    if wl.image_id and not IMAGE_ID_RE.fullmatch(wl.image_id):
        raise InvalidSpecError("workload.image_id", wl.image_id, "is not an AMI id",
                               "AMI ids look like 'ami-0123456789abcdef0'; or leave it empty for none")
    if not wl.facts_recorded:
        if wl.interface_mode == "efa-only":
            return [f"the spec records no network-card facts for {wl.instance_type} (it was saved before labnet "
                    "recorded them): its launch template gets the primary EFA interface only; size it again "
                    "for one EFA-only interface per network card"]
        return []
    cards = wl.efa_cards
    if len(set(cards)) != len(cards) or any(not 0 <= c < wl.network_cards for c in cards):
        raise InvalidSpecError("workload.efa_cards", list(cards),
                               f"must be distinct network card indexes below network_cards={wl.network_cards}",
                               "size the network again (labnet.size records them from describe_instance_types)")
    if len(cards) > wl.max_efa_interfaces:
        raise InvalidSpecError("workload.efa_cards", list(cards),
                               f"{wl.instance_type} takes at most {wl.max_efa_interfaces} EFA interfaces",
                               "size the network again")
    if wl.efa and not cards:
        raise InvalidSpecError("workload.interface_mode", wl.interface_mode,
                               f"{wl.instance_type} has no EFA-capable network card", "use interface_mode='ena'")
    with_ip = sum(1 for i in wl.interfaces if i.carries_ip)
    if wl.ips_per_node != with_ip:
        raise InvalidSpecError("workload.ips_per_node", wl.ips_per_node,
                               f"the {wl.interface_mode} layout of {wl.instance_type} gives each node {with_ip} "
                               "interface(s) with an IP, so the compute subnet must plan that many per node",
                               "size the network again")
    return []


def _check_tgw(spec: NetworkSpec) -> None:
    tgw = spec.transit_gateway
    asn = tgw.amazon_side_asn
    if isinstance(asn, bool) or not isinstance(asn, int) or not any(
            lo <= asn <= hi for lo, hi in PRIVATE_ASN_RANGES):
        raise InvalidSpecError("transit_gateway.amazon_side_asn", asn,
                               "must be a private ASN in 64512-65534 or 4200000000-4294967294",
                               "the default 64512 works unless it clashes with your on-premises BGP")
    tables = tgw.route_tables
    if not tables:
        raise InvalidSpecError("transit_gateway.route_tables", list(tables),
                               "needs at least one TGW route table", "use ['spokes']")
    if len(tables) > MAX_TGW_ROUTE_TABLES:
        raise InvalidSpecError("transit_gateway.route_tables", len(tables),
                               f"a Transit Gateway takes at most {MAX_TGW_ROUTE_TABLES} route tables",
                               "merge route tables")
    for k, name in enumerate(tables):
        if not isinstance(name, str) or not ROUTE_TABLE_NAME_RE.fullmatch(name):
            raise InvalidSpecError(f"transit_gateway.route_tables[{k}]", name,
                                   "route table names are 1-32 lowercase letters, digits or '-'", "")
    if len(set(tables)) != len(tables):
        raise InvalidSpecError("transit_gateway.route_tables", list(tables), "names must be unique", "")
    _check_tag_value("transit_gateway.description", tgw.description, 255)


def _check_security(spec: NetworkSpec) -> None:
    sec = spec.security
    for name in ("self_ingress", "self_egress"):
        value = getattr(sec, name)
        if value is not True:
            way = "inbound" if name == "self_ingress" else "outbound"
            raise InvalidSpecError(
                f"security.{name}", value,
                f"the training security group must allow all {way} traffic {'from' if way == 'inbound' else 'to'} "
                "itself: EFA needs an ingress and an egress rule that reference the group (a CIDR egress rule "
                "such as 0.0.0.0/0 does not carry EFA traffic), and nodes of one spoke reach each other "
                "through them", f"set security.{name} to true (or leave it out)")
    lo, hi = sec.cross_spoke_ports
    if not (0 <= lo <= hi <= 65535):
        raise InvalidSpecError("security.cross_spoke_ports", [lo, hi],
                               "must be a TCP port range 0 <= from <= to <= 65535", "for example [0, 65535]")
    _check_flow_logs(sec)
    for k, bucket in enumerate(sec.s3_buckets):
        check_bucket_name(f"security.s3_buckets[{k}]", bucket,
                          "list bucket names only (my-datasets), not ARNs or s3:// URLs")
    for i, spoke in enumerate(spec.spokes):
        if spoke.admission not in ADMISSIONS:
            raise InvalidSpecError(f"spokes[{i}].admission", spoke.admission, f"must be one of {list(ADMISSIONS)}",
                                   "'reference' admits same-Region peers' training groups by reference, "
                                   "'prefix-list' admits every peer by CIDR")
        if spoke.admission == "reference":
            for j, sn in enumerate(spoke.subnets):
                if sn.az_id in NO_GROUP_REFERENCES_AZ_IDS:
                    raise InvalidSpecError(
                        f"spokes[{i}].subnets[{j}].az_id", sn.az_id,
                        f"security group references across a Transit Gateway are not supported in {sn.az_id} (AWS)",
                        f"set spokes[{i}].admission to 'prefix-list', or move the spoke out of {sn.az_id}")
    for public in (False, True) if spec.public_subnets else (False,):
        rules = spec.nacl_rules(public)
        for egress in (False, True):
            n = sum(r.egress == egress for r in rules)
            if n > DEFAULT_NACL_RULES_PER_DIRECTION:
                raise InvalidSpecError(
                    "regions", len(spec.regions),
                    f"the {'public' if public else 'private'} subnets' network ACL would need {n} "
                    f"{'outbound' if egress else 'inbound'} rules (one per Region's block, plus the return and ICMP "
                    f"rules); AWS allows {DEFAULT_NACL_RULES_PER_DIRECTION} per direction by default",
                    "use fewer Regions, or raise the 'Rules per network ACL' quota and split the network")


def _check_flow_logs(sec: Security) -> None:
    """Flow-log settings against AWS's rules, before any call (issue 19)."""
    if not isinstance(sec.flow_logs, bool):
        raise InvalidSpecError("security.flow_logs", sec.flow_logs, "must be true or false",
                               "flow logs are on by default; set false to turn them off")
    dest = sec.flow_log_destination
    if dest:
        s3 = S3_ARN_RE.fullmatch(dest)
        if s3:
            check_bucket_name("security.flow_log_destination", s3.group(1),
                              "name the bucket in an ARN: arn:aws:s3:::my-logs or arn:aws:s3:::my-logs/prefix")
            if (s3.group(2) or "").rstrip("/").endswith("AWSLogs"):
                raise InvalidSpecError("security.flow_log_destination", dest,
                                       "the prefix must not be AWSLogs: the delivery service adds /AWSLogs itself",
                                       "use another prefix, or none")
        elif LOGS_ARN_RE.fullmatch(dest):
            if not sec.flow_log_role_arn or not ROLE_ARN_RE.fullmatch(sec.flow_log_role_arn):
                raise InvalidSpecError(
                    "security.flow_log_role_arn", sec.flow_log_role_arn,
                    "flow logs to CloudWatch Logs need the ARN of an IAM role the delivery service can assume",
                    "name a role (arn:aws:iam::123456789012:role/flow-logs) that vpc-flow-logs.amazonaws.com may "
                    "assume and that may write to the log group, or send the logs to S3 instead")
        else:
            raise InvalidSpecError("security.flow_log_destination", dest,
                                   "must be an S3 bucket ARN or a CloudWatch Logs group ARN",
                                   "arn:aws:s3:::my-logs, arn:aws:logs:us-east-1:123456789012:log-group:my-flow-logs, "
                                   "or empty for labnet's own bucket")
    if sec.flow_log_role_arn and not ROLE_ARN_RE.fullmatch(sec.flow_log_role_arn):
        raise InvalidSpecError("security.flow_log_role_arn", sec.flow_log_role_arn, "is not an IAM role ARN",
                               "arn:aws:iam::123456789012:role/flow-logs")
    days = sec.flow_log_expiry_days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_LIFECYCLE_DAYS:
        raise InvalidSpecError("security.flow_log_expiry_days", days,
                               "S3 lifecycle expiry is a whole number of days, 1 or more",
                               "for example 365 (a year of flow logs)")


def check_bucket_name(field: str, name: object, fix: str = "") -> str:
    """An S3 general purpose bucket name by S3's rules, or :class:`InvalidSpecError` naming ``field``."""
    rule = ("an S3 bucket name is 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a "
            "letter or digit, not shaped like an IP address, without '..', not starting with 'xn--' or 'sthree-' "
            "and not ending with '-s3alias' or '--ol-s3'")
    if (not isinstance(name, str) or not BUCKET_NAME_RE.fullmatch(name) or ".." in name
            or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name) or name.startswith(("xn--", "sthree-"))
            or name.endswith(("-s3alias", "--ol-s3"))):
        raise InvalidSpecError(field, name, rule, fix)
    return name


def _check_tags(spec: NetworkSpec) -> None:
    check_tags(spec.tags)


def check_tags(t: Tags) -> None:
    """AWS's tag rules for labnet's own tags and the extra ones (no AWS call)."""
    pairs: Iterable[tuple[str, object]] = [("project", t.project), ("owner", t.owner), *t.extra]
    for key, value in pairs:
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or not TAG_CHARS_RE.fullmatch(key) \
                or key.lower().startswith("aws:"):
            raise InvalidSpecError(f"tags.{key}", key,
                                   "AWS tag keys are 1-128 letters, digits, spaces or + - = . _ : / @ and "
                                   "must not start with 'aws:'", "")
        if key in ("stack", "managed-by"):
            raise InvalidSpecError(f"tags.{key}", key, "is set by labnet itself", "drop it from tags")
        _check_tag_value(f"tags.{key}", value, 256)


def _check_tag_value(field: str, value: object, limit: int) -> None:
    if not isinstance(value, str) or len(value) > limit or not TAG_CHARS_RE.fullmatch(value):
        raise InvalidSpecError(field, value,
                               f"AWS tag values are up to {limit} letters, digits, spaces or + - = . _ : / @",
                               "")


def check_interface_mode(mode: object) -> str:
    if mode not in INTERFACE_MODES:
        raise InvalidSpecError("interface_mode", mode, f"must be one of {list(INTERFACE_MODES)}",
                               "'efa' (EFA interfaces with IPs), 'efa-only' (EFA-only interfaces, one IP "
                               "per node) or 'ena' (no EFA)")
    return mode  # type: ignore[return-value]


def check_names(names: Sequence[str]) -> None:
    """Validate a list of spoke names (used by sizing before it builds a spec)."""
    for i, n in enumerate(names):
        check_spoke_name(f"spoke_names[{i}]", n)


def check_spoke_name(field: str, name: object) -> str:
    """The one spoke-name rule: names become AWS tag values and Pulumi resource names."""
    if not isinstance(name, str) or not SPOKE_NAME_RE.fullmatch(name):
        raise InvalidSpecError(field, name,
                               "spoke names are 1-32 lowercase letters, digits or '-', not starting "
                               "or ending with '-' (they become AWS tags and Pulumi resource names)",
                               "for example 'spoke-1'")
    return name


# -- existing VPCs and Transit Gateway (issue 20) ---------------------------------------------------
# Sources: IPv4 CIDR block association restrictions (docs.aws.amazon.com/vpc/latest/userguide/
# vpc-cidr-blocks.html), TGW VPC attachments (docs.aws.amazon.com/vpc/latest/tgw/tgw-vpc-attachments.html).
_RFC1918 = {"10": ipaddress.IPv4Network("10.0.0.0/8"), "172": ipaddress.IPv4Network("172.16.0.0/12"),
            "192": ipaddress.IPv4Network("192.168.0.0/16"), "198": ipaddress.IPv4Network("198.19.0.0/16")}


def secondary_allowed(primary: str, block: str) -> str:
    """Why AWS refuses ``block`` as a secondary IPv4 block of a VPC whose primary block is ``primary``
    ("" when it allows it): a VPC whose primary block is in one of 10.0.0.0/8, 172.16.0.0/12,
    192.168.0.0/16 or 198.19.0.0/16 cannot add a block from another of them; a VPC whose primary
    block is publicly routable or in 100.64.0.0/10 can add none of them."""
    p, b = ipaddress.IPv4Network(primary), ipaddress.IPv4Network(block)
    home = next((k for k, net in _RFC1918.items() if p.subnet_of(net)), None)
    for k, net in _RFC1918.items():
        if b.overlaps(net) and k != home:
            where = f"the {_RFC1918[home]} range" if home else "a publicly routable or 100.64.0.0/10 range"
            return (f"AWS does not associate a block from {net} with a VPC whose primary block {primary} is in "
                    f"{where}")
    return ""


def outside_supernet(spec: NetworkSpec) -> tuple[str, ...]:
    """Blocks of existing spokes that lie outside the supernet: every other spoke's route table needs a
    route for each (the supernet route does not cover them)."""
    supernet = ipaddress.IPv4Network(spec.supernet)
    return tuple(dict.fromkeys(c for sp in spec.existing_spokes for c in sp.cidrs
                               if not ipaddress.IPv4Network(c).subnet_of(supernet)))


def routes_added(spec: NetworkSpec, spoke) -> tuple[str, ...]:
    """The destinations labnet adds to an existing spoke's route tables: the fewest blocks that cover
    exactly the other spokes (its peer blocks), all via the Transit Gateway. Never the supernet: in a
    VPC labnet does not own, a summary route would also catch addresses outside the network that the
    VPC reaches some other way today."""
    return spec.peer_cidrs()[spoke.name]


def route_conflicts(spec: NetworkSpec) -> list[tuple[str, str, str, str]]:
    """(spoke, route table, destination, its current target) for each route an existing route table
    already holds that clashes with one labnet would add: the same destination (AWS refuses a second
    route for it, RouteAlreadyExists, and labnet never replaces a route it does not own), or a more
    specific one inside it (it would keep taking part of the network's traffic elsewhere). A broader
    route (a default route, say) is no conflict: labnet's more specific route wins for the network."""
    out = []
    for sp in spec.existing_spokes:
        want = [ipaddress.IPv4Network(b) for b in routes_added(spec, sp)]
        for table in sp.existing.route_tables:  # type: ignore[union-attr]
            if table.id not in sp.existing.serving_tables:  # type: ignore[union-attr]
                continue
            for route in table.routes:
                if route.target == "local" or "/" not in route.destination or ":" in route.destination:
                    continue
                dest = ipaddress.IPv4Network(route.destination, strict=False)
                if any(dest.subnet_of(w) for w in want):
                    out.append((sp.name, table.id, route.destination, route.target))
    return out


def _check_existing_spoke(spec: NetworkSpec, i: int, supernet: ipaddress.IPv4Network,
                          facts: RegionFacts | None) -> list[ipaddress.IPv4Network]:
    """An existing spoke: its recorded blocks, the attachment subnets labnet adds (one /28 per AZ
    its subnets use, inside its blocks, clear of its subnets), the secondary block labnet adds;
    returns its blocks (for the network-wide overlap check)."""
    spoke = spec.spokes[i]
    ex = spoke.existing
    assert ex is not None
    where = f"spokes[{i}].existing"
    if not ex.cidrs or ex.cidrs[0] != spoke.cidr:
        raise InvalidSpecError(f"{where}.cidrs", list(ex.cidrs), f"must start with the spoke's cidr {spoke.cidr} "
                               "(the VPC's primary block)", "size the network again")
    blocks = [parse_cidr(f"{where}.cidrs[{k}]", c, VPC_PREFIX_RANGE) for k, c in enumerate(ex.cidrs)]
    if ex.added_cidr:
        added = parse_cidr(f"{where}.added_cidr", ex.added_cidr, VPC_PREFIX_RANGE)
        why = secondary_allowed(spoke.cidr, ex.added_cidr)
        if why:
            raise InvalidSpecError(f"{where}.added_cidr", ex.added_cidr, why,
                                   "choose a block from the primary block's range or from 100.64.0.0/10")
        clash = next((b for b in blocks if b.overlaps(added)), None)
        if clash is not None:
            raise InvalidSpecError(f"{where}.added_cidr", ex.added_cidr,
                                   f"overlaps the VPC's block {clash} ({ex.vpc_id})", "choose a free block")
        blocks.append(added)
    for b in blocks:
        if b.overlaps(supernet) and not b.subnet_of(supernet):
            raise InvalidSpecError(f"{where}.cidrs", str(b), f"block {b} of {ex.vpc_id} (spoke {spoke.name!r}) "
                                   f"overlaps the supernet {supernet} without lying inside it: new spokes "
                                   "could not be placed around it", "choose a supernet that holds it or avoids it")
    theirs = [ipaddress.IPv4Network(s.cidr) for s in ex.subnets]
    attach: dict[str, int] = {}
    for j, sn in enumerate(spoke.subnets):
        sw = f"spokes[{i}].subnets[{j}]"
        if sn.role != "attachment":
            raise InvalidSpecError(f"{sw}.role", sn.role, f"labnet adds only attachment subnets to an existing VPC "
                                   f"({ex.vpc_id}): the team's nodes stay in its own subnets", "")
        _check_az(f"{sw}.az", sn.az, spec.region_of(spoke), facts)
        _check_az_id(f"{sw}.az_id", sn, facts)
        net = parse_cidr(f"{sw}.cidr", sn.cidr, VPC_PREFIX_RANGE)
        if not any(net.subnet_of(b) for b in blocks):
            raise InvalidSpecError(f"{sw}.cidr", sn.cidr, f"is outside every block of {ex.vpc_id} "
                                   f"({', '.join(map(str, blocks))})", "size the network again")
        used = next((t for t in theirs if t.overlaps(net)), None)
        if used is not None:
            raise InvalidSpecError(f"{sw}.cidr", sn.cidr, f"overlaps subnet {used} that {ex.vpc_id} already has",
                                   "size the network again: labnet takes attachment subnets from free space")
        if sn.az in attach:
            raise InvalidSpecError(f"{sw}.az", sn.az, f"spoke {spoke.name!r} already has an attachment subnet in "
                                   f"{sn.az}: a TGW VPC attachment takes one subnet per AZ",
                                   "keep one attachment subnet per AZ")
        attach[sn.az] = j
    clash = first_overlap([ipaddress.IPv4Network(sn.cidr) for sn in spoke.subnets])
    if clash is not None:
        raise InvalidSpecError(f"spokes[{i}].subnets[{clash[1]}].cidr", spoke.subnets[clash[1]].cidr,
                               f"overlaps spokes[{i}].subnets[{clash[0]}]", "subnets of one VPC must not overlap")
    for sn in ex.subnets:
        if sn.az not in attach:
            raise InvalidSpecError(f"spokes[{i}].subnets", sn.az,
                                   f"{ex.vpc_id} has subnet {sn.id} ({sn.cidr}) in {sn.az}, which has no attachment "
                                   "subnet: AZs without one cannot reach the Transit Gateway",
                                   f"add a /28 attachment subnet in {sn.az} (labnet.size() does)")
    if not attach:
        raise InvalidSpecError(f"{where}.subnets", [], f"{ex.vpc_id} has no subnets: labnet attaches the AZs "
                               "its subnets are in", "create the VPC's subnets first")
    tgw = spec.transit_gateway.existing_id
    same = [a for a, t in ex.attachments if tgw and t == tgw]
    if same:
        raise InvalidSpecError(f"{where}.vpc_id", ex.vpc_id,
                               f"is already attached to Transit Gateway {tgw} ({same[0]}): a VPC attaches to a "
                               "TGW once, and labnet never takes over an attachment it did not create",
                               "leave this VPC out (it is on that TGW already), or attach it to a new TGW")
    return blocks


def _check_existing_network(spec: NetworkSpec, supernet: ipaddress.IPv4Network) -> list[str]:
    warnings: list[str] = []
    names = {sp.name for sp in spec.spokes}
    from .spec import STORAGE_PORTS

    for k, (name, kind) in enumerate(spec.storage):
        if name not in names:
            raise InvalidSpecError(f"storage[{k}]", [name, kind], f"spoke {name!r} is not a spoke of the network",
                                   f"name one of {sorted(names)}")
        if kind not in STORAGE_PORTS:
            raise InvalidSpecError(f"storage[{k}]", [name, kind], f"kind must be one of {sorted(STORAGE_PORTS)}", "")
    conflicts = route_conflicts(spec)
    if conflicts:
        lines = "; ".join(f"{rt} of spoke {sp!r} already routes {dest} to {target or 'a target'}"
                          for sp, rt, dest, target in conflicts[:5])
        sp, rt, dest, target = conflicts[0]
        raise InvalidSpecError(
            f"existing_vpcs[{sp!r}]", dest,
            f"labnet only adds routes, and a route for the same destination (or a part of it) already points "
            f"elsewhere: {lines}. Nothing was changed",
            "remove or change that route yourself, or size the network again (labnet.size() places new spokes "
            "around the destinations an existing VPC routes elsewhere)")
    for sp in spec.existing_spokes:
        others = [t for _, t in sp.existing.attachments if t != spec.transit_gateway.existing_id]  # type: ignore[union-attr]
        if others:
            warnings.append(f"spoke {sp.name!r} ({sp.existing.vpc_id}) is also attached to {', '.join(others)}: "  # type: ignore[union-attr]
                            "labnet adds routes for the network's blocks only, and never changes that attachment")
    tgw = spec.transit_gateway
    if tgw.existing_id:
        for on, what in ((tgw.default_association, "association"), (tgw.default_propagation, "propagation")):
            if on:
                warnings.append(
                    f"Transit Gateway {tgw.existing_id} has default route table {what} enabled: every new "
                    f"attachment, labnet's included, would be {'associated with' if what == 'association' else 'propagated into'} "
                    "the organisation's default table. labnet turns it off for its own attachments right after "
                    "creating them (as pulumi-aws does), but for a moment they are in that table; ask the network "
                    f"team whether that is acceptable, or to disable default {what} on the TGW")
    return warnings
