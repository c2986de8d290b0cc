"""Instance and zone facts, as EC2 reports them: ``describe_instance_types``,
``describe_instance_type_offerings`` and ``describe_availability_zones`` through a boto3 EC2 client
(the emulator by default, real AWS when asked), never a hand-typed table. Cached per endpoint and
region: the answers do not change while a process runs, and sizing asks for them often.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import threading
from dataclasses import dataclass
from typing import Any, Sequence

from ..errors import FactsError, InvalidSpecError
from ..preflight import RegionFacts, check_interface_mode
from ..request import check_instance_type_name
from ..spec import NetworkCard, interface_layout


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
        check_interface_mode(interface_mode)
        if interface_mode in ("efa", "efa-only") and not self.efa_supported:
            raise InvalidSpecError("interface_mode", interface_mode,
                                   f"{self.instance_type} does not support EFA (EC2 reports EfaSupported=false)",
                                   "use interface_mode='ena' or an EFA instance type such as p5.48xlarge")
        return sum(1 for i in interface_layout(interface_mode, self.efa_card_indexes) if i.carries_ip)


_cache: dict[tuple, Any] = {}
_cache_lock = threading.Lock()


def _gbps(value: object) -> float | None:
    """A card's bandwidth figure, or None where EC2 gave none or no usable one (never a guess)."""
    try:
        figure = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return figure if math.isfinite(figure) and figure > 0 else None


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
            raise _unknown_type(ec2, instance_type) from None
        raise FactsError(f"describe_instance_types failed: {code or exc}") from exc
    if not items:
        raise _unknown_type(ec2, instance_type)
    facts = InstanceFacts.from_ec2(items[0])
    with _cache_lock:
        _cache[key] = facts
    return facts


def _unknown_type(ec2, instance_type: str) -> InvalidSpecError:
    """The error for a type EC2 does not know, naming the nearest names EC2 does report (a typo such
    as ``p5.48xlarg``). Costs the paginated list of every type, on this error path only."""
    import difflib

    from botocore.exceptions import BotoCoreError, ClientError

    try:
        names = [f.instance_type for f in all_instance_facts(ec2)]
    except (ClientError, BotoCoreError):
        names = []
    near = difflib.get_close_matches(instance_type, names, n=3, cutoff=0.75)
    fix = (f"did you mean {' or '.join(repr(n) for n in near)}? labnet.instance_types() lists them all" if near
           else "pick one from labnet.instance_types()")
    return InvalidSpecError("instance_type", instance_type,
                            f"EC2 in {ec2.meta.region_name} does not know this instance type", fix)


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


def spec_facts(spec, ec2_for) -> dict[str, RegionFacts]:
    """Preflight's facts for ``spec``: every region it spans, each read through ``ec2_for(region)``
    (its AZs and their IDs, and where the workload's instance type is offered)."""
    types = [spec.workload.instance_type] if spec.workload is not None else []
    return {r: region_facts(ec2_for(r), types) for r in spec.regions}


def offering_rows(ec2, instance_type: str) -> list[dict[str, Any]]:
    """One row per AZ of the region: its name and ID, whether EC2 offers ``instance_type`` there (by
    AZ name, what placement uses) and what the by-AZ-ID offerings say for its ID."""
    zones = zone_facts(ec2)
    by_name = set(offered_azs(ec2, instance_type))
    by_id = set(offered_azs(ec2, instance_type, "availability-zone-id"))
    return [{"instance_type": instance_type, "az": az, "az_id": zones.az_id(az), "offered": az in by_name,
             "offered_by_az_id": zones.az_id(az) in by_id} for az in zones.azs]


# -- arithmetic ----------------------------------------------------------------------------------
