"""Sizing: instance network facts from EC2, IP arithmetic, and CIDR allocation inside a supernet.

Instance facts come from EC2's own ``describe_instance_types`` (the emulator by default, real AWS when
asked), never from a hand-typed table. :func:`plan` is pure arithmetic over those facts, so it can be
property-tested; :func:`size` reads the facts through an EC2 client and then plans.

Worked example: 128 × p5.48xlarge with EFA interfaces that carry IPs need 32 IPs per node, 4,096 in
all; a /20 has 4,091 usable (AWS reserves 5), so the compute subnet is a /19.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import math
import re
import threading
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from . import preflight
from .errors import FactsError, InvalidSpecError, SizingError
from .preflight import RegionFacts
from .spec import (RESERVED_PER_SUBNET, NetworkCard, NetworkSpec, Spoke, Subnet, Tags, TransitGateway, Workload,
                   interface_layout)

ATTACHMENT_PREFIX = 28  # a small dedicated /28 per AZ for the TGW attachment
PUBLIC_PREFIX = 26  # room for a NAT gateway and a few load balancers per AZ
MAX_NODES_PER_SPOKE = 100_000
MAX_SPOKES = preflight.MAX_TGW_ATTACHMENTS
MAX_AZS = 26  # AZ names end in one letter; the region's real count comes from EC2
INSTANCE_TYPE_RE = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9-]+")  # family.size: p5.48xlarge, c7i.metal-24xl


@dataclass(frozen=True)
class InstanceFacts:
    """Network facts of one instance type, as EC2 reports them."""

    instance_type: str
    network_cards: int
    max_interfaces: int
    ipv4_per_interface: int
    efa_supported: bool
    max_efa_interfaces: int
    accelerators: int  # GPUs + Inferentia/Trainium chips, 0 for CPU types
    accelerator_name: str = ""
    # Network cards that take an EFA interface (their InterfaceTypes list "efa"), at most
    # max_efa_interfaces of them; () when EC2 did not list them (see efa_card_indexes).
    efa_cards: tuple[int, ...] = ()
    # What the traffic planner needs: VCpuInfo.DefaultVCpus (0 when EC2 gave none), the instance's
    # NetworkPerformance and each card's BaselineBandwidthInGbps / PeakBandwidthInGbps.
    vcpus: int = 0
    network_performance: str = ""
    network_card_bandwidth: tuple[NetworkCard, ...] = ()

    @property
    def efa_card_indexes(self) -> tuple[int, ...]:
        """The EFA-capable cards; without a per-card list, cards 0..n-1 up to the EFA maximum."""
        if not self.efa_supported:
            return ()
        return self.efa_cards or tuple(range(min(self.network_cards, self.max_efa_interfaces)))

    @classmethod
    def from_ec2(cls, item: dict[str, Any]) -> "InstanceFacts":
        net = item.get("NetworkInfo", {})
        max_efa = int(net.get("EfaInfo", {}).get("MaximumEfaInterfaces", 0))
        cards = net.get("NetworkCards") or []
        efa_cards: tuple[int, ...] = ()
        if net.get("EfaSupported") and any("InterfaceTypes" in c for c in cards):
            # p6-b300.48xlarge: card 0 is ENA only, cards 1-16 take EFA.
            efa_cards = tuple(sorted(int(c["NetworkCardIndex"]) for c in cards
                                     if "efa" in (c.get("InterfaceTypes") or [])))[:max_efa]
        gpus = item.get("GpuInfo", {}).get("Gpus", [])
        neuron = (item.get("NeuronInfo") or item.get("InferenceAcceleratorInfo") or {})
        chips = neuron.get("NeuronDevices") or neuron.get("Accelerators") or []
        accel = sum(g.get("Count", 0) for g in gpus) + sum(c.get("Count", 0) for c in chips)
        name = ", ".join(f"{g.get('Manufacturer', '')} {g.get('Name', '')}".strip() for g in gpus) or \
            ", ".join(str(c.get("Name", "")) for c in chips)
        return cls(
            instance_type=item["InstanceType"],
            network_cards=int(net.get("MaximumNetworkCards") or len(net.get("NetworkCards", [])) or 1),
            max_interfaces=int(net.get("MaximumNetworkInterfaces", 1)),
            ipv4_per_interface=int(net.get("Ipv4AddressesPerInterface", 1)),
            efa_supported=bool(net.get("EfaSupported", False)),
            max_efa_interfaces=max_efa,
            accelerators=int(accel),
            accelerator_name=name,
            efa_cards=efa_cards,
            vcpus=int(item.get("VCpuInfo", {}).get("DefaultVCpus") or 0),
            network_performance=str(net.get("NetworkPerformance") or ""),
            network_card_bandwidth=tuple(
                NetworkCard(int(c.get("NetworkCardIndex", k)), _gbps(c.get("BaselineBandwidthInGbps")),
                            _gbps(c.get("PeakBandwidthInGbps"))) for k, c in enumerate(cards)),
        )

    def ips_per_node(self, interface_mode: str) -> int:
        """Private IPs one node takes in its compute subnet.

        One per interface of the node's layout that carries an IP (:func:`labnet.spec.interface_layout`,
        the same rule the launch template is built from):
        ``efa``: one EFA interface per EFA-capable network card, each carrying an IP (p5.48xlarge: 32;
        p6-b300.48xlarge: its ENA primary plus 16 EFA interfaces, 17).
        ``efa-only``: the primary interface carries the node's IP; EFA-only interfaces carry none.
        ``ena``: no EFA, one IP on the primary interface.
        """
        preflight.check_interface_mode(interface_mode)
        if interface_mode in ("efa", "efa-only") and not self.efa_supported:
            raise InvalidSpecError("interface_mode", interface_mode,
                                   f"{self.instance_type} does not support EFA (EC2 reports EfaSupported=false)",
                                   "use interface_mode='ena' or an EFA instance type such as p5.48xlarge")
        return sum(1 for i in interface_layout(interface_mode, self.efa_card_indexes) if i.carries_ip)


def _gbps(value: object) -> float | None:
    """A card's bandwidth figure, or None where EC2 gave none or no usable one (never a guess)."""
    try:
        figure = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return figure if math.isfinite(figure) and figure > 0 else None


# -- facts from EC2 ------------------------------------------------------------------------------
_cache: dict[tuple, Any] = {}
_cache_lock = threading.Lock()


def _cache_key(ec2, *parts) -> tuple:
    return (ec2.meta.endpoint_url, ec2.meta.region_name, *parts)


@functools.lru_cache(maxsize=1)
def known_regions() -> tuple[str, ...]:
    """Regions botocore knows EC2 in (local data, no AWS call).

    Cached: the answer is botocore's packaged endpoint data, fixed for the life of the process, and
    building it (a new Session, eight partitions) costs 0.07-0.2 s on every ``labnet.size`` call.
    """
    import boto3

    session = boto3.session.Session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ec2", partition_name=partition))
    return tuple(sorted(regions))


def check_known_region(region: object) -> str:
    preflight.check_region(region)
    regions = known_regions()
    if region not in regions:
        raise InvalidSpecError("region", region, "is not a region EC2 is offered in",
                               "for example 'us-east-1' or 'eu-west-1'")
    return region  # type: ignore[return-value]


def instance_facts(ec2, instance_type: str) -> InstanceFacts:
    """``describe_instance_types`` for one type (cached per endpoint and region)."""
    check_instance_type_name(instance_type)
    key = _cache_key(ec2, "type", instance_type)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    from botocore.exceptions import ClientError

    try:
        items = ec2.describe_instance_types(InstanceTypes=[instance_type])["InstanceTypes"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if "InvalidInstanceType" in code or "InvalidParameterValue" in code:
            raise InvalidSpecError("instance_type", instance_type,
                                   f"EC2 in {ec2.meta.region_name} does not know this instance type",
                                   "pick one from labnet.instance_types()") from None
        raise FactsError(f"describe_instance_types failed: {code or exc}") from exc
    if not items:
        raise InvalidSpecError("instance_type", instance_type,
                               f"EC2 in {ec2.meta.region_name} does not know this instance type",
                               "pick one from labnet.instance_types()")
    facts = InstanceFacts.from_ec2(items[0])
    with _cache_lock:
        _cache[key] = facts
    return facts


def all_instance_facts(ec2) -> tuple[InstanceFacts, ...]:
    """Every instance type EC2 reports, accelerated types first (GPU/Trainium), then by name."""
    key = _cache_key(ec2, "all")
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    items: list[InstanceFacts] = []
    for page in ec2.get_paginator("describe_instance_types").paginate():
        items += [InstanceFacts.from_ec2(it) for it in page["InstanceTypes"]]
    ordered = tuple(sorted(items, key=lambda f: (f.accelerators == 0, not f.efa_supported, f.instance_type)))
    with _cache_lock:
        _cache[key] = ordered
        for f in ordered:
            _cache[_cache_key(ec2, "type", f.instance_type)] = f
    return ordered


def zone_facts(ec2) -> RegionFacts:
    """The region's available AZs and the AZ ID behind each name, from ``describe_availability_zones``
    (cached per endpoint and region). AZ names map to different physical AZs in each account; the
    IDs (``use1-az6``) are the same for everyone, and capacity is bought by them."""
    key = _cache_key(ec2, "azs")
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    resp = ec2.describe_availability_zones(
        Filters=[{"Name": "zone-type", "Values": ["availability-zone"]}])
    zones = sorted((z["ZoneName"], z.get("ZoneId", "")) for z in resp["AvailabilityZones"]
                   if z.get("State", "available") == "available")
    ids = tuple(i for _, i in zones)
    facts = RegionFacts(region=ec2.meta.region_name, azs=tuple(n for n, _ in zones),
                        az_ids=ids if all(ids) else ())
    with _cache_lock:
        _cache[key] = facts
    return facts


def offered_azs(ec2, instance_type: str, location_type: str = "availability-zone") -> tuple[str, ...]:
    """Where EC2 offers ``instance_type`` in the client's region, from ``describe_instance_type_offerings``
    (cached per endpoint and region): AZ names for ``availability-zone``, AZ IDs for
    ``availability-zone-id``. Placement uses the names. (The emulator serves its by-ID offerings from
    another account's data, so they disagree with its own name-to-ID mapping; on AWS they agree.)"""
    check_instance_type_name(instance_type)
    key = _cache_key(ec2, "offered", location_type, instance_type)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    from botocore.exceptions import ClientError

    try:
        locations: set[str] = set()
        for page in ec2.get_paginator("describe_instance_type_offerings").paginate(
                LocationType=location_type, Filters=[{"Name": "instance-type", "Values": [instance_type]}]):
            locations.update(o["Location"] for o in page["InstanceTypeOfferings"])
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise FactsError(f"describe_instance_type_offerings failed: {code or exc}") from exc
    found = tuple(sorted(locations))
    with _cache_lock:
        _cache[key] = found
    return found


def region_facts(ec2, instance_types: Sequence[str] = ()) -> RegionFacts:
    """The region's AZs with their IDs, and where each of ``instance_types`` is offered (by AZ name)."""
    zones = zone_facts(ec2)
    if not instance_types:
        return zones
    offerings = tuple((t, offered_azs(ec2, t)) for t in dict.fromkeys(instance_types))
    return dataclasses.replace(zones, offerings=offerings)


def offering_rows(ec2, instance_type: str) -> list[dict[str, Any]]:
    """One row per AZ of the region: its name and ID, whether EC2 offers ``instance_type`` there (by
    AZ name, what placement uses) and what the by-AZ-ID offerings say for its ID."""
    zones = zone_facts(ec2)
    by_name = set(offered_azs(ec2, instance_type))
    by_id = set(offered_azs(ec2, instance_type, "availability-zone-id"))
    return [{"instance_type": instance_type, "az": az, "az_id": zones.az_id(az), "offered": az in by_name,
             "offered_by_az_id": zones.az_id(az) in by_id} for az in zones.azs]


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


def check_instance_type_name(instance_type: object) -> str:
    """The shape of an instance type name (no AWS call); whether EC2 offers it needs EC2."""
    if not isinstance(instance_type, str) or len(instance_type) > 64 or not INSTANCE_TYPE_RE.fullmatch(instance_type):
        raise InvalidSpecError("instance_type", instance_type,
                               "must be an EC2 instance type name: lowercase family.size",
                               "for example 'p5.48xlarge'; labnet.instance_types() lists them")
    return instance_type


def check_arguments(*, spokes: object = 3, nodes_per_spoke: object = 64, azs: object = 2,
                    supernet: object = "10.0.0.0/8", interface_mode: object = "efa", headroom: object = 0.25,
                    public_subnets: object = False, s3_endpoint: object = True, compute_az: object = None,
                    image_id: object = None, **_: object) -> None:
    """Every check of :func:`plan`'s arguments that needs no facts from EC2, so that bad input is
    refused before any AWS call. What only EC2 knows (whether it offers an instance type, and where;
    how many AZs a region has, their names and IDs) is checked once the facts are read."""
    if spokes is not None:
        _spoke_names(spokes)
    _validate_int("nodes_per_spoke", nodes_per_spoke, 1, MAX_NODES_PER_SPOKE)
    _check_azs_shape(azs)
    preflight.parse_cidr("supernet", supernet, (8, 28))
    preflight.check_interface_mode(interface_mode)
    _check_headroom(headroom)
    for name, value in (("public_subnets", public_subnets), ("s3_endpoint", s3_endpoint)):
        if not isinstance(value, bool):
            raise InvalidSpecError(name, value, "must be True or False", "")
    if compute_az is not None:
        if not isinstance(compute_az, str) or not compute_az:
            raise InvalidSpecError("compute_az", compute_az, "must be an AZ name or AZ ID, or None",
                                   "for example 'us-east-1b' or 'use1-az1'")
        if interface_mode not in ("efa", "efa-only"):
            raise InvalidSpecError("compute_az", compute_az,
                                   "only an EFA cluster has one compute AZ; a spread (ena) workload puts compute "
                                   "in every AZ it spans", "list those AZs in azs= instead")
    if image_id is not None and (not isinstance(image_id, str) or not preflight.IMAGE_ID_RE.fullmatch(image_id)):
        raise InvalidSpecError("image_id", image_id, "must be an AMI id or None",
                               "AMI ids look like 'ami-0123456789abcdef0'; None leaves the AMI to the launcher")


def _check_headroom(headroom: object) -> None:
    if isinstance(headroom, bool) or not isinstance(headroom, (int, float)) or math.isnan(headroom) \
            or not 0 <= headroom <= 10:
        raise InvalidSpecError("headroom", headroom, "must be a fraction between 0 and 10",
                               "0.25 keeps a quarter spare for replacements and scale-up")


def _check_azs_shape(azs: object) -> None:
    if isinstance(azs, (int, float)) and not isinstance(azs, bool):
        _validate_int("azs", azs, 1, MAX_AZS)
        return
    if isinstance(azs, (str, bytes, bytearray)) or not isinstance(azs, Sequence) or not azs:
        raise InvalidSpecError("azs", azs, "must be a number of AZs or a list of AZ names or AZ IDs",
                               "for example 2, ['us-east-1a', 'us-east-1b'] or ['use1-az6', 'use1-az1']")
    for k, az in enumerate(azs):
        if not isinstance(az, str):
            raise InvalidSpecError(f"azs[{k}]", az, "must be an AZ name or AZ ID",
                                   "for example 'us-east-1a' or 'use1-az6'")
    if len(set(azs)) != len(azs):
        raise InvalidSpecError("azs", list(azs), "AZs must be distinct", "")


def _validate_int(field: str, value: object, lo: int, hi: int, fix: str = "") -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSpecError(field, value, "must be a whole number", fix)
    if not lo <= value <= hi:
        raise InvalidSpecError(field, value, f"must be between {lo} and {hi}", fix)
    return value


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
    check_arguments(spokes=3 if spokes is None else spokes, nodes_per_spoke=nodes_per_spoke,
                    azs=azs if not isinstance(azs, Mapping) else 1, supernet=supernet,
                    interface_mode=interface_mode, headroom=headroom, public_subnets=public_subnets,
                    s3_endpoint=s3_endpoint, compute_az=compute_az if not isinstance(compute_az, Mapping) else None,
                    image_id=image_id)
    facts = _facts_by_region(region, regions)
    per_region = _names_by_region(spokes, regions, next(iter(facts)))
    nodes = _validate_int("nodes_per_spoke", nodes_per_spoke, 1, MAX_NODES_PER_SPOKE)
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
    starts, blocks = _allocate(per_region, vpc_prefix, net, supernet)
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
    tgw = transit_gateway or TransitGateway()
    if multi:
        home_asn = tgw.amazon_side_asn
        asns = tuple((r, _region_asn(home_asn, k)) for k, r in enumerate(per_region) if k > 0)
        tgw = dataclasses.replace(tgw, region_asns=tgw.region_asns or asns)
    return NetworkSpec(
        region=next(iter(per_region)), supernet=str(net), spokes=tuple(built),
        transit_gateway=tgw, workload=workload, s3_endpoint=s3_endpoint, public_subnets=public_subnets,
        tags=tags or Tags(), region_blocks=blocks if multi else (),
    )


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


def check_regions(regions: object, azs: object = 2, compute_az: object = None) -> dict[str, Any]:
    """``regions={"us-east-1": 2, "us-west-2": 2}``: region → number of spokes (or their names), and
    the per-region options that go with it. Checked without any AWS call; the first region is the
    spec's own."""
    if not isinstance(regions, Mapping) or not regions:
        raise InvalidSpecError("regions", regions, "must map each region to its number of spokes",
                               "for example {'us-east-1': 2, 'us-west-2': 2}")
    for r, count in regions.items():
        check_known_region(r)
        if isinstance(count, (int, float)) and not isinstance(count, bool):
            _validate_int(f"regions[{r!r}]", count, 1, MAX_SPOKES)
        else:
            _spoke_names(count)
    names = [n for names in _names_by_region(None, regions, next(iter(regions))).values() for n in names]
    if len(set(names)) != len(names):
        raise InvalidSpecError("regions", dict(regions), "spoke names must be unique across regions", "")
    if len(names) > MAX_SPOKES:
        raise InvalidSpecError("regions", len(names), f"a network takes at most {MAX_SPOKES} spokes", "")
    multi = len(regions) > 1
    for r in regions:
        _per_region("azs", azs, r, multi)
        _per_region("compute_az", compute_az, r, multi)
    return dict(regions)


def parse_regions(text: object) -> dict[str, int] | None:
    """``"us-east-1:2, us-west-2:2"`` (a form's or a command line's way to say regions=) as a dict;
    an empty text means one region (None)."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if not isinstance(text, str):
        raise InvalidSpecError("regions", text, "must be text like 'us-east-1:2, us-west-2:2'", "")
    out: dict[str, int] = {}
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        region, sep, count = part.partition(":")
        if not sep or not count.strip().isdigit():
            raise InvalidSpecError("regions", text, f"{part!r} is not REGION:SPOKES",
                                   "for example 'us-east-1:2, us-west-2:2'")
        if region.strip() in out:
            raise InvalidSpecError("regions", text, f"names {region.strip()} twice", "")
        out[region.strip()] = int(count)
    return check_regions(out) if out else None


def _names_by_region(spokes, regions, home: str) -> dict[str, list[str]]:
    if regions is None:
        return {home: _spoke_names(3 if spokes is None else spokes)}
    if spokes is not None:
        raise InvalidSpecError("spokes", spokes, "give either spokes= or regions= (region → number of spokes), "
                               "not both", "for example regions={'us-east-1': 2, 'us-west-2': 2}")
    counts = {r: c for r, c in regions.items()}
    numbered = [r for r, c in counts.items() if isinstance(c, (int, float)) and not isinstance(c, bool)]
    total = sum(int(counts[r]) for r in numbered)
    width = max(2, len(str(total)))
    out: dict[str, list[str]] = {}
    k = 0
    for r, c in counts.items():
        if r in numbered:
            out[r] = [f"spoke-{k + i + 1:0{width}d}" for i in range(int(c))]
            k += int(c)
        else:
            out[r] = _spoke_names(c)
    return out


def _per_region(field: str, value: Any, region: str, multi: bool) -> Any:
    """A per-region option: the same for every region, or a dict region → value."""
    if isinstance(value, Mapping):
        if region not in value:
            raise InvalidSpecError(field, dict(value), f"names no value for region {region}",
                                   f"give {field} for every region, or one value for all")
        return value[region]
    if multi and isinstance(value, str):
        raise InvalidSpecError(field, value, "an AZ belongs to one region; a network across regions needs "
                               f"{field} per region", f"pass a dict, for example {{'us-east-1': 'use1-az6'}}")
    if multi and field == "azs" and not isinstance(value, (int, float)):
        raise InvalidSpecError(field, value, "AZ names belong to one region; a network across regions takes a "
                               "number of AZs or a dict region → AZs", "for example azs=2")
    return value


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
              supernet: str) -> tuple[dict[str, list[int]], tuple[tuple[str, str], ...]]:
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
        return {r: [base + i * vpc_size for i in range(len(names))]}, ()
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
                  regions: bool = False) -> None:
    fits = 0 if vpc_prefix < net.prefixlen else 2 ** (vpc_prefix - net.prefixlen)
    wanted = 32 - math.ceil(math.log2(needed))
    nearest = (f"a /{wanted} supernet such as "
               f"{ipaddress.ip_network((int(net.network_address) & ~((1 << (32 - wanted)) - 1), wanted))}"
               if wanted >= 8 else "fewer nodes per spoke")
    per = " (each region's spokes in one aligned block)" if regions else ""
    raise SizingError("supernet", supernet,
                      f"{count} spoke(s) of /{vpc_prefix}{per} do not fit: {supernet} holds {fits}",
                      f"the nearest layout that fits is {nearest}, or {fits} spoke(s)")


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


def _spoke_names(spokes: int | Sequence[str]) -> list[str]:
    if isinstance(spokes, (int, float)) and not isinstance(spokes, bool):
        n = _validate_int("spokes", spokes, 1, MAX_SPOKES,
                          f"a Transit Gateway takes at most {MAX_SPOKES} attachments")
        width = max(2, len(str(n)))
        return [f"spoke-{i + 1:0{width}d}" for i in range(n)]
    if isinstance(spokes, (str, bytes, bytearray)) or not isinstance(spokes, Sequence):
        raise InvalidSpecError("spokes", spokes, "must be a number of spokes or a list of spoke names",
                               "for example 3 or ['a', 'b', 'c']")
    names = list(spokes)
    if not names:
        raise InvalidSpecError("spokes", names, "a hub-and-spoke network needs at least one spoke", "")
    if len(names) > MAX_SPOKES:
        raise InvalidSpecError("spokes", len(names), f"a Transit Gateway takes at most {MAX_SPOKES} attachments", "")
    preflight.check_names(names)
    if len(set(names)) != len(names):
        raise InvalidSpecError("spokes", names, "spoke names must be unique", "")
    return names


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


def size(ec2, **kwargs: Any) -> tuple[NetworkSpec, list[str]]:
    """Read facts through ``ec2`` (a boto3 EC2 client), plan, and preflight the result.

    Returns the spec and preflight's warnings. See :func:`plan` for the keyword arguments
    (``instance_type`` replaces ``instance``; region facts are read from the client's region). Across
    regions (``regions=``), ``ec2`` is a function that gives the EC2 client of a region.
    """
    instance_type = kwargs.pop("instance_type")
    regions = kwargs.get("regions")
    # Cheap argument checks first, so bad input never costs an AWS call.
    check_instance_type_name(instance_type)
    check_arguments(**{k: v for k, v in kwargs.items() if not isinstance(v, Mapping)})
    if regions is not None:
        check_regions(regions, kwargs.get("azs", 2), kwargs.get("compute_az"))
    if kwargs.get("tags") is not None:
        preflight.check_tags(kwargs["tags"])
    clients = {r: ec2(r) for r in regions} if regions is not None else {ec2.meta.region_name: ec2}
    facts = instance_facts(next(iter(clients.values())), instance_type)
    by_region = {r: region_facts(c, [instance_type]) for r, c in clients.items()}
    spec = plan(instance=facts, region=by_region if regions is not None else next(iter(by_region.values())),
                **kwargs)
    warnings = preflight.check(spec, by_region if regions is not None else by_region[spec.region])
    return spec, warnings
