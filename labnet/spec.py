"""The network description: plain, typed, immutable data (stdlib only).

A :class:`NetworkSpec` is everything labnet needs to build a hub-and-spoke network: a region, a
supernet, spokes (one VPC each, with subnets by role per availability zone), Transit Gateway options,
security options, endpoints and tags. It round-trips through plain dicts (``to_dict``/``from_dict``)
so papermill parameters, JSON and YAML can carry it. Validation against AWS's rules lives in
:mod:`labnet.preflight`; sizing (which builds specs from a workload) lives in :mod:`labnet.sizing`.

Example::

    >>> spec = NetworkSpec.from_dict(spec_dict)
    >>> spec.to_dict() == spec_dict
    True
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

from .errors import InvalidSpecError

ROLES = ("compute", "attachment", "public")
# TCP port ranges a storage kind's clients need (``NetworkSpec.storage``). FSx for Lustre: 988 and
# 1018-1023 (FSx for Lustre user guide, "File system access control with Amazon VPC").
STORAGE_PORTS: dict[str, tuple[tuple[int, int], ...]] = {"fsx-lustre": ((988, 988), (1018, 1023))}
INTERFACE_MODES = ("efa", "efa-only", "ena")
# How a spoke's training group admits the other spokes' training nodes (issue 19):
# "reference": the same-Region peers' training groups by reference across the TGW (only nodes that carry
# a peer's training group get in), the other Regions' spokes by the peer prefix list (TGW peering carries
# no references); "prefix-list": every other spoke by CIDR, in the peer prefix list.
ADMISSIONS = ("reference", "prefix-list")
RESERVED_PER_SUBNET = 5  # AWS reserves the first four and the last address of every subnet.


@dataclass(frozen=True)
class Subnet:
    """One subnet of a spoke.

    ``role`` is ``compute`` (training nodes), ``attachment`` (the dedicated /28 the Transit Gateway
    attachment uses in this AZ) or ``public`` (NAT gateway and load balancers, off by default).
    ``ips_needed`` is what sizing planned to place there (0 when unknown).
    """

    role: str
    az: str
    cidr: str
    ips_needed: int = 0
    # The physical AZ behind ``az`` in the account sizing read it from (describe_availability_zones):
    # AZ names map to different physical AZs in each account, and capacity is sold by AZ ID.
    # Empty in specs saved before labnet recorded it.
    az_id: str = ""

    @property
    def usable_ips(self) -> int:
        """Addresses left for use after AWS's five reserved ones."""
        return ipaddress.ip_network(self.cidr, strict=False).num_addresses - RESERVED_PER_SUBNET


@dataclass(frozen=True)
class ExistingRoute:
    """One route an existing route table already holds, as EC2 reported it when labnet read it:
    its destination (a CIDR, or a prefix list id) and its target (``local``, ``tgw-…``, ``igw-…``,
    ``pcx-…``, …)."""

    destination: str
    target: str


@dataclass(frozen=True)
class ExistingRouteTable:
    """A route table of an existing VPC that serves at least one of its subnets: ``main`` (it
    serves every subnet without an explicit association), the subnets explicitly associated, and
    the routes it holds (which labnet never changes: it only adds routes of its own)."""

    id: str
    main: bool
    subnet_ids: tuple[str, ...]
    routes: tuple[ExistingRoute, ...] = ()


@dataclass(frozen=True)
class ExistingSubnet:
    """A subnet of an existing VPC as read (labnet never changes it): where the team's nodes are."""

    id: str
    az: str
    az_id: str
    cidr: str
    route_table_id: str  # the table that serves it: its explicit association, else the VPC's main table


@dataclass(frozen=True)
class ExistingVpc:
    """What labnet read about a VPC that exists already (``labnet.size(existing_vpcs=...)``), recorded in
    the spec like the AZ IDs are: the program declares resources inside it by these ids and never
    declares the VPC, its subnets, route tables or groups themselves, so no engine can modify or delete
    them. ``cidrs`` are every associated IPv4 block, primary first; ``added_cidr`` is a secondary block
    labnet associates for its attachment subnets (only when asked; removed again by destroy);
    ``attachments`` are the TGW attachments the VPC already has, as (attachment id, TGW id)."""

    vpc_id: str
    cidrs: tuple[str, ...]
    subnets: tuple[ExistingSubnet, ...] = ()
    route_tables: tuple[ExistingRouteTable, ...] = ()
    attachments: tuple[tuple[str, str], ...] = ()
    added_cidr: str = ""

    @property
    def serving_tables(self) -> tuple[str, ...]:
        """The route tables that serve the VPC's subnets (where labnet adds its routes), in order."""
        return tuple(dict.fromkeys(s.route_table_id for s in self.subnets if s.route_table_id))


@dataclass(frozen=True)
class Spoke:
    """One VPC of the hub-and-spoke network. ``route_table`` names the TGW route table it uses;
    ``region`` the region its VPC is in ("" means the spec's own region, as every spoke of a
    single-region network: such specs look exactly as they did before regions existed)."""

    name: str
    cidr: str
    subnets: tuple[Subnet, ...]
    route_table: str = "spokes"
    region: str = ""
    # See ADMISSIONS. Sizing chooses "reference" where AWS allows it; specs saved before issue 19 (and
    # hand-built ones that say nothing) keep admitting by CIDR, as they did.
    admission: str = "prefix-list"
    # A VPC that exists already (its id and what labnet read of it): ``subnets`` then hold only what
    # labnet adds inside it (its attachment subnets), and ``cidr`` is the VPC's primary block.
    existing: ExistingVpc | None = None

    @property
    def cidrs(self) -> tuple[str, ...]:
        """Every IPv4 block of the spoke's VPC: ``cidr``, and for an existing VPC its other blocks and
        the block labnet adds. What the TGW routes to it and the other spokes admit from it."""
        if self.existing is None:
            return (self.cidr,)
        extra = [c for c in self.existing.cidrs if c != self.cidr]
        if self.existing.added_cidr:
            extra.append(self.existing.added_cidr)
        return (self.cidr, *dict.fromkeys(extra))

    @property
    def azs(self) -> tuple[str, ...]:
        """AZs this spoke has subnets in, in first-seen order."""
        return tuple(dict.fromkeys(s.az for s in self.subnets))

    def subnets_by_role(self, role: str) -> tuple[Subnet, ...]:
        return tuple(s for s in self.subnets if s.role == role)


@dataclass(frozen=True)
class TransitGateway:
    """Transit Gateway options. labnet never relies on the TGW's default route table: it declares
    ``route_tables`` explicitly, associates each spoke with its own, and propagates every spoke into
    every table so that all spokes reach each other."""

    amazon_side_asn: int = 64512
    dns_support: bool = True
    route_tables: tuple[str, ...] = ("spokes",)
    description: str = "labnet hub for distributed ML training"
    # A network across regions has one TGW per region: the spec's region uses ``amazon_side_asn``,
    # every other region the ASN given here (AWS recommends a unique ASN per peered TGW).
    region_asns: tuple[tuple[str, int], ...] = ()
    # A Transit Gateway that exists already (``labnet.size(transit_gateway_id=...)``): labnet attaches
    # the spokes to it with route tables of its own and never declares the TGW itself. The fields below
    # are what labnet read of it (``amazon_side_asn`` and ``dns_support`` above are its own, as read):
    # its ARN and owner, whether it associates/propagates new attachments to its default route tables,
    # and what it already holds (for the quota table).
    existing_id: str = ""
    existing_arn: str = ""
    existing_owner: str = ""
    default_association: bool = False
    default_propagation: bool = False
    existing_attachments: int = 0
    existing_route_tables: int = 0
    existing_routes: int = 0


@dataclass(frozen=True)
class Security:
    """The training security group: all traffic to and from itself (ingress and egress rules that
    reference the group: what EFA requires), TCP from the other spokes' CIDRs on
    ``cross_spoke_ports`` (NCCL/Gloo across the TGW), egress to 0.0.0.0/0 open.
    There is deliberately no way to express 0.0.0.0/0 ingress."""

    cross_spoke_ports: tuple[int, int] = (0, 65535)
    # AWS's EFA guide: the group must allow all inbound and all outbound traffic to and from itself.
    # Kept as fields so a hand-built or loaded spec that turns either off is refused by preflight
    # (by name) instead of being silently ignored; labnet never builds a group without them.
    self_ingress: bool = True
    self_egress: bool = True
    # Flow logs (issue 19) for every spoke VPC and every Transit Gateway: on unless turned off here.
    # Where they go: "" is one S3 bucket per stack and Region that labnet creates (SSE, public access
    # blocked, only log delivery from this account may write, objects expire after
    # ``flow_log_expiry_days``; destroy() keeps it unless asked); else an S3 bucket ARN
    # (``arn:aws:s3:::bucket`` or ``arn:aws:s3:::bucket/prefix``) or a CloudWatch Logs group ARN
    # (``arn:aws:logs:REGION:ACCOUNT:log-group:NAME``) of your own, with ``flow_log_role_arn`` (the IAM
    # role that lets the delivery service write to the group; CloudWatch Logs needs one, S3 does not).
    flow_logs: bool = True
    flow_log_destination: str = ""
    flow_log_expiry_days: int = 365
    flow_log_role_arn: str = ""
    # The S3 gateway endpoint's policy admits principals of the account and the account's own buckets;
    # these bucket names too (a public dataset, a partner's bucket).
    s3_buckets: tuple[str, ...] = ()

    @property
    def flow_log_kind(self) -> str:
        """``labnet-bucket`` | ``s3`` | ``cloud-watch-logs`` | ``off``."""
        if not self.flow_logs:
            return "off"
        if not self.flow_log_destination:
            return "labnet-bucket"
        return "cloud-watch-logs" if self.flow_log_destination.startswith("arn:aws:logs:") else "s3"


@dataclass(frozen=True)
class NetworkInterface:
    """One network interface of a node's launch template."""

    network_card: int
    device_index: int
    interface_type: str  # EC2's InterfaceType: interface (ENA) | efa (EFA with ENA) | efa-only

    @property
    def carries_ip(self) -> bool:
        """EFA-only interfaces have no IP address; the others take one from the compute subnet."""
        return self.interface_type != "efa-only"


def interface_layout(interface_mode: str, efa_cards: tuple[int, ...]) -> tuple[NetworkInterface, ...]:
    """The network interfaces one node gets, from the EFA-capable network cards EC2 reports.

    AWS's rules (EC2 user guide, "Maximize network bandwidth on instances with multiple network
    cards"): the primary interface is network card 0, device index 0, and is never EFA-only; every
    other EFA interface goes on the next network card, device index 1. So

    - ``efa``: one EFA interface (with an IP) per EFA-capable card;
    - ``efa-only``: the primary interface carries the node's IP (an EFA interface when card 0 supports
      EFA), every other EFA-capable card gets an EFA-only interface (no IP);
    - ``ena``: one ENA interface.

    A type whose card 0 has no EFA (p6-b300.48xlarge) gets an ENA primary plus its EFA cards.
    """
    if interface_mode == "ena":
        return (NetworkInterface(0, 0, "interface"),)
    others = "efa" if interface_mode == "efa" else "efa-only"
    layout = [NetworkInterface(0, 0, "efa" if 0 in efa_cards else "interface")]
    layout += [NetworkInterface(card, 1, others) for card in efa_cards if card != 0]
    return tuple(layout)


@dataclass(frozen=True)
class NaclRule:
    """One network ACL entry labnet declares. ``protocol`` as EC2 takes it: ``-1`` (all), ``6`` (TCP),
    ``1`` (ICMP); ports for TCP; ``icmp_type``/``icmp_code`` for ICMP. Every entry is an allow: what
    no entry admits meets the ACL's final deny-all (``*``) entry, which AWS adds itself."""

    rule_number: int
    egress: bool
    protocol: str
    cidr: str
    from_port: int = 0
    to_port: int = 0
    icmp_type: int = -1
    icmp_code: int = -1
    why: str = ""


# The return ports of connections a node opens (Linux's ephemeral range is 32768-60999, Windows'
# 49152-65535). Above every well-known service port, so no rule that admits them opens SSH or RDP.
NODE_EPHEMERAL = (32768, 65535)
# A NAT gateway's own source ports for the connections it translates (AWS: "NAT gateways use ports
# 1024-65535"): the return traffic its subnet must admit.
NAT_EPHEMERAL = (1024, 65535)


@dataclass(frozen=True)
class NetworkCard:
    """One network card's bandwidth as EC2's ``describe_instance_types`` reports it
    (``NetworkInfo.NetworkCards[]``); ``None`` where EC2 gave no figure."""

    index: int
    baseline_gbps: float | None = None
    peak_gbps: float | None = None


# EC2's instance-level NetworkPerformance: "100 Gigabit", "Up to 10 Gigabit", "4x 100 Gigabit". Older
# types say "High" or "Moderate", which state no figure.
_PERFORMANCE_RE = re.compile(r"(?:Up to )?(?:(\d+)x )?(\d+(?:\.\d+)?) Gigabit")


def card_bandwidth(cards: tuple[NetworkCard, ...], network_performance: str = "",
                   use: tuple[int, ...] | None = None) -> tuple[Decimal | None, Decimal | None]:
    """``(baseline, peak)`` Gbps of the network cards ``use`` (every card when ``None``), exactly as
    EC2 states them: the cards' own figures summed (EC2 gives bandwidth per card, and an instance with
    several cards sends over each), capped at the instance's ``NetworkPerformance`` when that states a
    figure (c6in.32xlarge lists two 200 Gbps cards but 200 Gbps for the instance). ``None`` for a
    figure EC2 did not give for one of the cards (or no cards at all): it is unknown, never guessed.

    >>> card_bandwidth((NetworkCard(0, 2.5, 10.0),), "Up to 10 Gigabit")
    (Decimal('2.5'), Decimal('10.0'))
    """
    chosen = [c for c in cards if use is None or c.index in use]
    cap = None
    match = _PERFORMANCE_RE.fullmatch(network_performance.strip())
    if match:
        cap = Decimal(match.group(1) or 1) * Decimal(match.group(2))

    def total(values: list[float | None]) -> Decimal | None:
        if not values or any(v is None for v in values):
            return None
        # str() keeps the figure EC2 sent (0.781 stays 0.781), so the arithmetic stays exact.
        summed = sum((Decimal(str(v)) for v in values), Decimal(0))
        return summed if cap is None else min(summed, cap)

    return total([c.baseline_gbps for c in chosen]), total([c.peak_gbps for c in chosen])


@dataclass(frozen=True)
class Workload:
    """What the network was sized for (kept so tables can show IPs needed and headroom), and the
    instance facts the node launch template needs, recorded by sizing so the program stays pure."""

    instance_type: str
    nodes_per_spoke: int
    interface_mode: str  # efa | efa-only | ena
    ips_per_node: int
    headroom: float = 0.25
    # From describe_instance_types. 0 / () in specs saved before labnet recorded them.
    network_cards: int = 0
    max_efa_interfaces: int = 0
    efa_cards: tuple[int, ...] = ()  # indexes of the cards that take an EFA interface, at most max_efa_interfaces
    image_id: str = ""  # the AMI nodes start from; empty: the launch template names none
    # From describe_instance_types, for the traffic planner. 0 / "" / () in specs saved before labnet
    # recorded them, or where EC2 reported none.
    vcpus: int = 0
    network_performance: str = ""
    network_card_bandwidth: tuple[NetworkCard, ...] = ()

    @property
    def efa(self) -> bool:
        return self.interface_mode in ("efa", "efa-only")

    @property
    def facts_recorded(self) -> bool:
        """Whether sizing recorded the network-card facts (specs saved before it did have none)."""
        return self.network_cards > 0

    def node_gbps(self) -> tuple[Decimal | None, Decimal | None]:
        """``(baseline, peak)`` Gbps one node can send over IP: the cards that carry an IP interface in
        its layout (:attr:`interfaces`), see :func:`card_bandwidth`. ``(None, None)`` when sizing
        recorded no bandwidth."""
        cards = tuple(i.network_card for i in self.interfaces if i.carries_ip)
        return card_bandwidth(self.network_card_bandwidth, self.network_performance, cards)

    def instance_gbps(self) -> tuple[Decimal | None, Decimal | None]:
        """``(baseline, peak)`` Gbps of the whole instance, every card (see :func:`card_bandwidth`)."""
        return card_bandwidth(self.network_card_bandwidth, self.network_performance)

    @property
    def interfaces(self) -> tuple[NetworkInterface, ...]:
        """The launch template's interface layout (see :func:`interface_layout`).

        A spec saved before the card facts were recorded falls back on what it does record: in
        ``efa`` mode one EFA interface per IP it planned (the old sizing rule, cards 0..n-1); in
        ``efa-only`` mode the primary interface only (preflight warns: size again for the full layout).
        """
        cards = self.efa_cards
        if not self.facts_recorded:
            cards = tuple(range(self.ips_per_node)) if self.interface_mode == "efa" else (0,)
        return interface_layout(self.interface_mode, cards)


@dataclass(frozen=True)
class Tags:
    """Tags put on every taggable resource; labnet adds ``stack`` and ``managed-by`` itself."""

    project: str = "labnet"
    owner: str = "data-science"
    extra: tuple[tuple[str, str], ...] = ()

    def for_stack(self, stack: str) -> dict[str, str]:
        tags = {"project": self.project, "owner": self.owner, "stack": stack, "managed-by": "labnet"}
        tags.update(dict(self.extra))
        return tags


@dataclass(frozen=True)
class NetworkSpec:
    """The whole network. Build one with :func:`labnet.size` or ``NetworkSpec.from_dict``."""

    region: str
    supernet: str
    spokes: tuple[Spoke, ...]
    transit_gateway: TransitGateway = field(default_factory=TransitGateway)
    security: Security = field(default_factory=Security)
    workload: Workload | None = None
    s3_endpoint: bool = True
    public_subnets: bool = False  # IGW + NAT per spoke; off by default
    tags: Tags = field(default_factory=Tags)
    # Across regions: each region's summary block (inside the supernet, holding exactly that region's
    # spokes), so every TGW route table needs one static route per remote region. Empty for one region.
    region_blocks: tuple[tuple[str, str], ...] = ()
    # Storage the training groups reach across the TGW: (spoke, kind) pairs, kind a key of
    # STORAGE_PORTS. labnet adds a storage security group in that spoke (for the file system's
    # interfaces) admitting the network's training groups on the kind's ports.
    storage: tuple[tuple[str, str], ...] = ()

    @property
    def existing_spokes(self) -> tuple[Spoke, ...]:
        return tuple(sp for sp in self.spokes if sp.existing is not None)

    # -- dict round trip -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain dict of lists, strings, numbers and bools (JSON/YAML/papermill safe)."""
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "NetworkSpec":
        """Build a spec from a plain dict, naming the field of any value of the wrong shape."""
        if not isinstance(data, Mapping):
            raise InvalidSpecError("spec", data, "must be a mapping", "pass spec.to_dict() output")
        d = dict(data)
        spokes_raw = _get(d, "spokes", list, "spec")
        spokes = []
        for i, sp in enumerate(spokes_raw):
            where = f"spokes[{i}]"
            sp = _mapping(sp, where)
            subnets = []
            for j, raw in enumerate(_get(sp, "subnets", list, where)):
                at = f"{where}.subnets[{j}]"
                sn = _mapping(raw, at)
                subnets.append(Subnet(role=_get(sn, "role", str, at), az=_get(sn, "az", str, at),
                                      cidr=_get(sn, "cidr", str, at),
                                      ips_needed=_get(sn, "ips_needed", int, at, 0),
                                      az_id=_get(sn, "az_id", str, at, "")))
            spokes.append(
                Spoke(
                    name=_get(sp, "name", str, where),
                    cidr=_get(sp, "cidr", str, where),
                    subnets=tuple(subnets),
                    route_table=_get(sp, "route_table", str, where, "spokes"),
                    region=_get(sp, "region", str, where, ""),
                    admission=_get(sp, "admission", str, where, "prefix-list"),
                    existing=_existing(sp.get("existing"), f"{where}.existing"),
                )
            )
        tgw = _mapping(d.get("transit_gateway", {}), "transit_gateway")
        sec = _mapping(d.get("security", {}), "security")
        tags = _mapping(d.get("tags", {}), "tags")
        wl = d.get("workload")
        workload = None
        if wl is not None:
            wl = _mapping(wl, "workload")
            cards = _get(wl, "efa_cards", (list, tuple), "workload", ())
            for k, card in enumerate(cards):
                if isinstance(card, bool) or not (isinstance(card, int) or (isinstance(card, float) and card.is_integer())):
                    raise InvalidSpecError(f"workload.efa_cards[{k}]", card, "must be a network card index",
                                           "for example [0, 1, 2, 3]")
            workload = Workload(
                instance_type=_get(wl, "instance_type", str, "workload"),
                nodes_per_spoke=_get(wl, "nodes_per_spoke", int, "workload"),
                interface_mode=_get(wl, "interface_mode", str, "workload"),
                ips_per_node=_get(wl, "ips_per_node", int, "workload"),
                headroom=float(_get(wl, "headroom", (int, float), "workload", 0.25)),
                network_cards=_get(wl, "network_cards", int, "workload", 0),
                max_efa_interfaces=_get(wl, "max_efa_interfaces", int, "workload", 0),
                efa_cards=tuple(int(c) for c in cards),
                image_id=_get(wl, "image_id", str, "workload", ""),
                vcpus=_get(wl, "vcpus", int, "workload", 0),
                network_performance=_get(wl, "network_performance", str, "workload", ""),
                network_card_bandwidth=_cards(_get(wl, "network_card_bandwidth", (list, tuple), "workload", ())),
            )
        ports = _get(sec, "cross_spoke_ports", (list, tuple), "security", [0, 65535])
        if len(ports) != 2 or not all(isinstance(p, int) and not isinstance(p, bool) for p in ports):
            raise InvalidSpecError("security.cross_spoke_ports", ports, "must be two integers [from, to]",
                                   "for example [0, 65535]")
        extra = _get(tags, "extra", (list, tuple, dict), "tags", ())
        if isinstance(extra, dict):
            extra_pairs = tuple(extra.items())
        else:
            for k, pair in enumerate(extra):
                if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                    raise InvalidSpecError(f"tags.extra[{k}]", pair, "must be a [key, value] pair",
                                           "for example ['team', 'vision']")
            extra_pairs = tuple(tuple(p) for p in extra)
        return cls(
            region=_get(d, "region", str, "spec"),
            supernet=_get(d, "supernet", str, "spec"),
            spokes=tuple(spokes),
            transit_gateway=TransitGateway(
                amazon_side_asn=_get(tgw, "amazon_side_asn", int, "transit_gateway", 64512),
                dns_support=_get(tgw, "dns_support", bool, "transit_gateway", True),
                route_tables=tuple(_get(tgw, "route_tables", (list, tuple), "transit_gateway", ["spokes"])),
                description=_get(tgw, "description", str, "transit_gateway",
                                 TransitGateway.description),
                region_asns=_pairs(_get(tgw, "region_asns", (list, tuple, dict), "transit_gateway", ()),
                                   "transit_gateway.region_asns", int),
                existing_id=_get(tgw, "existing_id", str, "transit_gateway", ""),
                existing_arn=_get(tgw, "existing_arn", str, "transit_gateway", ""),
                existing_owner=_get(tgw, "existing_owner", str, "transit_gateway", ""),
                default_association=_get(tgw, "default_association", bool, "transit_gateway", False),
                default_propagation=_get(tgw, "default_propagation", bool, "transit_gateway", False),
                existing_attachments=_get(tgw, "existing_attachments", int, "transit_gateway", 0),
                existing_route_tables=_get(tgw, "existing_route_tables", int, "transit_gateway", 0),
                existing_routes=_get(tgw, "existing_routes", int, "transit_gateway", 0),
            ),
            security=Security(cross_spoke_ports=(ports[0], ports[1]),
                              self_ingress=_get(sec, "self_ingress", bool, "security", True),
                              self_egress=_get(sec, "self_egress", bool, "security", True),
                              flow_logs=_get(sec, "flow_logs", bool, "security", True),
                              flow_log_destination=_get(sec, "flow_log_destination", str, "security", ""),
                              flow_log_expiry_days=_get(sec, "flow_log_expiry_days", int, "security", 365),
                              flow_log_role_arn=_get(sec, "flow_log_role_arn", str, "security", ""),
                              s3_buckets=tuple(_get(sec, "s3_buckets", (list, tuple), "security", ()))),
            workload=workload,
            s3_endpoint=_get(d, "s3_endpoint", bool, "spec", True),
            public_subnets=_get(d, "public_subnets", bool, "spec", False),
            tags=Tags(
                project=_get(tags, "project", str, "tags", "labnet"),
                owner=_get(tags, "owner", str, "tags", "data-science"),
                extra=extra_pairs,
            ),
            region_blocks=_pairs(_get(d, "region_blocks", (list, tuple, dict), "spec", ()), "region_blocks", str),
            storage=_pairs(_get(d, "storage", (list, tuple, dict), "spec", ()), "storage", str),
        )

    # -- views -----------------------------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        """One plain dict per subnet: spoke, role, AZ name and ID, CIDR, usable IPs, IPs needed, headroom."""
        out = []
        for spoke in self.spokes:
            vpc_cidr = ", ".join(spoke.cidrs) if spoke.existing is not None else spoke.cidr
            for sn in spoke.subnets:
                usable = sn.usable_ips
                out.append(
                    {
                        "spoke": spoke.name,
                        "region": self.region_of(spoke),
                        "admission": self.admission_text(spoke),
                        "vpc_cidr": vpc_cidr,
                        "role": sn.role,
                        "az": sn.az,
                        "az_id": sn.az_id,
                        "cidr": sn.cidr,
                        "usable_ips": usable,
                        "ips_needed": sn.ips_needed,
                        "headroom": usable - sn.ips_needed,
                    }
                )
            # An existing VPC's own subnets, as read: role "existing" (labnet neither made nor sized them).
            for ex in (spoke.existing.subnets if spoke.existing is not None else ()):
                usable = ipaddress.ip_network(ex.cidr, strict=False).num_addresses - RESERVED_PER_SUBNET
                out.append({"spoke": spoke.name, "region": self.region_of(spoke),
                            "admission": self.admission_text(spoke), "vpc_cidr": vpc_cidr, "role": "existing", "az": ex.az, "az_id": ex.az_id, "cidr": ex.cidr,
                            "usable_ips": usable, "ips_needed": 0, "headroom": usable})
        return out

    def table(self):
        """pandas DataFrame, one row per subnet (pandas is imported only when this is called)."""
        import pandas as pd

        return pd.DataFrame(self.rows(), columns=[
            "spoke", "region", "admission", "vpc_cidr", "role", "az", "az_id", "cidr", "usable_ips", "ips_needed", "headroom"])

    @property
    def azs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(az for sp in self.spokes for az in sp.azs))

    def region_of(self, spoke: Spoke) -> str:
        """The region ``spoke`` is in (its own, or the spec's when it names none)."""
        return spoke.region or self.region

    @property
    def regions(self) -> tuple[str, ...]:
        """Every region the network has spokes in, the spec's own region first."""
        return tuple(dict.fromkeys([self.region, *(self.region_of(sp) for sp in self.spokes)]))

    @property
    def multi_region(self) -> bool:
        return len(self.regions) > 1

    def spokes_in(self, region: str) -> tuple[Spoke, ...]:
        return tuple(sp for sp in self.spokes if self.region_of(sp) == region)

    def summary_of(self, region: str) -> str:
        """The CIDR block that holds ``region``'s spokes and nothing of another region's: what the
        other regions' TGW route tables route to it. One region: the supernet."""
        blocks = dict(self.region_blocks)
        if region in blocks:
            return blocks[region]
        return self.supernet

    def asn_of(self, region: str) -> int:
        """The Amazon-side ASN of ``region``'s Transit Gateway."""
        tgw = self.transit_gateway
        if region == self.region:
            return tgw.amazon_side_asn
        return dict(tgw.region_asns).get(region, tgw.amazon_side_asn)

    def peerings(self) -> tuple[tuple[str, str], ...]:
        """The TGW peering attachments a network across regions needs: one per pair of regions (a full
        mesh of TGWs: peering is not transitive), as (requester region, accepter region)."""
        regions = self.regions
        return tuple((a, b) for i, a in enumerate(regions) for b in regions[i + 1:])

    def az_id(self, az: str) -> str:
        """The AZ ID the spec records for AZ name ``az`` ("" when it records none)."""
        found = next((sn.az_id for sp in self.spokes for sn in sp.subnets if sn.az == az and sn.az_id), "")
        return found or next((sn.az_id for sp in self.existing_spokes for sn in sp.existing.subnets  # type: ignore[union-attr]
                              if sn.az == az and sn.az_id), "")

    def az_label(self, az: str) -> str:
        """``us-east-1b (use1-az1)``: the name a person reads, with the physical AZ behind it."""
        az_id = self.az_id(az)
        return f"{az} ({az_id})" if az_id else az

    def peer_cidrs(self) -> dict[str, tuple[str, ...]]:
        """For each spoke, the fewest CIDR blocks that together cover exactly the *other* spokes'
        CIDRs: no address of the spoke itself, none outside the spokes. These are the entries of the
        spoke's peer prefix list, which its training group admits cross-spoke TCP from.

        Sizing packs spokes as equal, aligned blocks from the supernet's base, so "every spoke but
        this one" collapses into at most about 2·log2(N) blocks (6 at 64 spokes, 8 at 100) instead
        of N − 1. Hand-built specs whose spokes are not contiguous stay exact; they just collapse
        less. Spokes must not overlap (preflight refuses that first).

            >>> spec.peer_cidrs()["spoke-01"]      # 4 spokes of /16 from 10.0.0.0
            ('10.1.0.0/16', '10.2.0.0/15')
        """
        spans = sorted((int(net.network_address), int(net.broadcast_address), sp.name)
                       for sp in self.spokes for net in map(ipaddress.IPv4Network, sp.cidrs))
        # Maximal runs of adjacent blocks: every spoke's peers are all runs but its own, plus the
        # parts of its own run on either side of it. (An existing VPC may have several blocks, in
        # several runs: its peers are the parts of each of those runs that are not its own.)
        runs: list[list[int]] = []  # [first address, last address, index of first span, of last]
        for k, (lo, hi, _) in enumerate(spans):
            if runs and runs[-1][1] + 1 == lo:
                runs[-1][1], runs[-1][3] = hi, k
            else:
                runs.append([lo, hi, k, k])
        blocks_of_run = [_summarize(lo, hi) for lo, hi, _, _ in runs]
        mine_by_spoke: dict[str, list[tuple[int, int, int]]] = {}  # spoke → [(lo, hi, run)]
        for r, (_, _, first, last) in enumerate(runs):
            for lo, hi, name in spans[first:last + 1]:
                mine_by_spoke.setdefault(name, []).append((lo, hi, r))
        others_except: dict[int, list[tuple[int, int]]] = {}
        out: dict[str, tuple[str, ...]] = {}
        for name, mine in mine_by_spoke.items():
            touched = sorted({r for _, _, r in mine})
            if len(touched) == 1:
                r = touched[0]
                if r not in others_except:
                    others_except[r] = [b for q, blocks in enumerate(blocks_of_run) if q != r for b in blocks]
                others = list(others_except[r])
            else:
                skip = set(touched)
                others = [b for q, blocks in enumerate(blocks_of_run) if q not in skip for b in blocks]
            for r in touched:
                cursor = runs[r][0]
                for lo, hi, _ in sorted(x for x in mine if x[2] == r):
                    others += _summarize(cursor, lo - 1)
                    cursor = hi + 1
                others += _summarize(cursor, runs[r][1])
            out[name] = tuple(_cidr(start, plen) for start, plen in sorted(others))
        return {sp.name: out[sp.name] for sp in self.spokes}

    def network_cidrs(self) -> tuple[str, ...]:
        """The network's own address blocks, every Region's: each Region's summary block (one
        Region: the supernet). What the network ACLs admit all traffic from and to."""
        # (existing VPCs' blocks outside the supernet are the network's too: issue 20)
        outside = [c for sp in self.existing_spokes for c in sp.cidrs
                   if not ipaddress.IPv4Network(c).subnet_of(ipaddress.IPv4Network(self.supernet))]
        return tuple(dict.fromkeys([*(self.summary_of(r) for r in self.regions), *outside]))

    def nacl_rules(self, public: bool = False) -> tuple[NaclRule, ...]:
        """The entries of a spoke's network ACL (issue 19): its private subnets' (the VPC's default
        ACL, which every subnet without another ACL uses) or, ``public=True``, its public subnets'
        (the NAT gateway's). Network ACLs are stateless, so every admitted flow needs its return
        path admitted too:

        - all traffic to and from the network's own CIDRs (every Region's summary block);
        - private subnets: HTTPS out to anywhere (the S3 gateway endpoint's addresses are S3's public
          ranges, which change and which an ACL cannot reference as a prefix list; and the NAT path)
          and its return TCP on the nodes' ephemeral ports 32768-65535; HTTP out as well with a NAT;
        - public subnets: what the NAT gateway forwards out (all TCP) and its return on 1024-65535
          (the NAT gateway's ports; AWS documents that range), all from and to anywhere;
        - ICMP type 3 code 4 (fragmentation needed) both ways: TGW path-MTU discovery (Nov 2024),
          and any Internet path.

        Everything else meets the final deny. The same for every spoke of the network."""
        out: list[NaclRule] = []
        for egress in (False, True):
            for k, cidr in enumerate(self.network_cidrs()):
                out.append(NaclRule(100 + k, egress, "-1", cidr, why="the network's own CIDRs"))
            if public:
                if egress:
                    out.append(NaclRule(200, True, "6", "0.0.0.0/0", 0, 65535, why="what the NAT gateway forwards out"))
                else:
                    out.append(NaclRule(200, False, "6", "0.0.0.0/0", *NAT_EPHEMERAL,
                                        why="return traffic to the NAT gateway's ports"))
            elif self.s3_endpoint or self.public_subnets:
                if egress:
                    out.append(NaclRule(200, True, "6", "0.0.0.0/0", 443, 443,
                                        why="HTTPS: the S3 gateway endpoint" + (" and the NAT gateway" if self.public_subnets else "")))
                    if self.public_subnets:
                        out.append(NaclRule(210, True, "6", "0.0.0.0/0", 80, 80, why="HTTP through the NAT gateway"))
                else:
                    out.append(NaclRule(200, False, "6", "0.0.0.0/0", *NODE_EPHEMERAL,
                                        why="return traffic of the S3 endpoint" + (" and the NAT gateway" if self.public_subnets else "")))
            out.append(NaclRule(300, egress, "1", "0.0.0.0/0", icmp_type=3, icmp_code=4,
                                why="ICMP fragmentation needed (path-MTU discovery through the TGW)"))
        return tuple(out)

    def referenced_peers(self, spoke: Spoke) -> tuple[Spoke, ...]:
        """The spokes whose training groups ``spoke``'s training group admits by reference: its
        same-Region peers when its admission is ``reference`` (references do not cross TGW peering)."""
        if spoke.admission != "reference":
            return ()
        region = self.region_of(spoke)
        return tuple(sp for sp in self.spokes if sp is not spoke and self.region_of(sp) == region)

    def prefix_list_cidrs(self) -> dict[str, tuple[str, ...]]:
        """For each spoke, the CIDR blocks its peer prefix list holds: every other spoke
        (:meth:`peer_cidrs`) for admission ``prefix-list``; for ``reference``, the other Regions'
        summary blocks only (each holds exactly that Region's spokes), empty in one Region."""
        every = None
        out = {}
        for sp in self.spokes:
            if sp.admission == "reference":
                region = self.region_of(sp)
                out[sp.name] = tuple(self.summary_of(r) for r in self.regions if r != region)
            else:
                every = every if every is not None else self.peer_cidrs()
                out[sp.name] = every[sp.name]
        return out

    def admission_text(self, spoke: Spoke) -> str:
        """What ``spoke``'s training group admits the other spokes by, for a person: ``group
        references (2 peers)``, ``+ prefix list (other Regions)``, or ``prefix list``."""
        if len(self.spokes) < 2:
            return ""
        if spoke.admission != "reference":
            return "prefix list"
        peers = len(self.referenced_peers(spoke))
        text = f"group references ({peers} peer{'s' if peers != 1 else ''})"
        return text + (" + prefix list (other Regions)" if self.multi_region else "")

    def summary(self) -> str:
        wl = self.workload
        what = (f"{wl.nodes_per_spoke} × {wl.instance_type} per spoke ({wl.interface_mode}, "
                f"{wl.ips_per_node} IP/node)") if wl else "no workload"
        where = self.region if not self.multi_region else ", ".join(
            f"{r} ({len(self.spokes_in(r))})" for r in self.regions)
        return (f"{len(self.spokes)} spoke(s) in {where} inside {self.supernet}, "
                f"AZs {', '.join(self.az_label(az) for az in self.azs)}; {what}")

    def __repr__(self) -> str:  # a short, safe repr: specs can be large
        return f"NetworkSpec({self.summary()})"


# -- helpers -------------------------------------------------------------------------------------
def _summarize(lo: int, hi: int) -> list[tuple[int, int]]:
    """The fewest CIDR blocks (start, prefix length) covering the addresses lo..hi exactly: the
    largest aligned block at each step (what ipaddress.summarize_address_range does, without its
    objects: preflight runs this for every spoke of a 5,000-spoke spec)."""
    out = []
    while lo <= hi:
        size = lo & -lo if lo else 1 << 32  # the largest block aligned at lo
        while size > hi - lo + 1:
            size >>= 1
        out.append((lo, 32 - size.bit_length() + 1))
        lo += size
    return out


def _cidr(start: int, prefixlen: int) -> str:
    return f"{start >> 24}.{(start >> 16) & 255}.{(start >> 8) & 255}.{start & 255}/{prefixlen}"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


_MISSING = object()


def _get(d: Mapping[str, Any], key: str, typ, where: str, default: Any = _MISSING) -> Any:
    if key not in d:
        if default is _MISSING:
            raise InvalidSpecError(f"{where}.{key}", None, "is required", "add it to the spec")
        return default
    value = d[key]
    ok = isinstance(value, typ)
    # bool is an int in Python; an int field must not take True/False, and a float field may take ints.
    if ok and typ is int and isinstance(value, bool):
        ok = False
    if typ is int and isinstance(value, float) and value.is_integer():
        value, ok = int(value), True  # papermill/YAML may hand integers over as floats
    if not ok:
        names = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
        raise InvalidSpecError(f"{where}.{key}", value, f"must be {names}", "")
    return value


def _pairs(value: Any, where: str, typ) -> tuple[tuple[str, Any], ...]:
    """``[[key, value], ...]`` or ``{key: value}`` as a tuple of pairs, naming a bad one."""
    items = value.items() if isinstance(value, Mapping) else value
    out = []
    for k, pair in enumerate(items):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not isinstance(pair[0], str):
            raise InvalidSpecError(f"{where}[{k}]", pair, "must be a [region, value] pair", "")
        v = pair[1]
        if typ is int and isinstance(v, float) and v.is_integer():
            v = int(v)
        if not isinstance(v, typ) or isinstance(v, bool):
            raise InvalidSpecError(f"{where}[{k}]", pair, f"its value must be {typ.__name__}", "")
        out.append((pair[0], v))
    return tuple(out)


def _cards(raw: Any) -> tuple[NetworkCard, ...]:
    """``workload.network_card_bandwidth``: a list of {index, baseline_gbps, peak_gbps}."""
    out = []
    for k, item in enumerate(raw):
        where = f"workload.network_card_bandwidth[{k}]"
        card = _mapping(item, where)
        figures = {}
        for key in ("baseline_gbps", "peak_gbps"):
            value = _get(card, key, (int, float, type(None)), where, None)
            if value is not None and (isinstance(value, bool) or not 0 < value < float("inf")):
                raise InvalidSpecError(f"{where}.{key}", value, "must be a number of Gbps more than 0, or null",
                                       "the figure EC2's describe_instance_types reports for the card")
            figures[key] = None if value is None else float(value)
        out.append(NetworkCard(index=_get(card, "index", int, where), **figures))
    return tuple(out)


def _existing(raw: Any, where: str) -> ExistingVpc | None:
    """``spokes[i].existing``: what labnet read of an existing VPC (see :class:`ExistingVpc`)."""
    if raw is None:
        return None
    ex = _mapping(raw, where)
    subnets = []
    for j, item in enumerate(_get(ex, "subnets", (list, tuple), where, ())):
        at = f"{where}.subnets[{j}]"
        sn = _mapping(item, at)
        subnets.append(ExistingSubnet(id=_get(sn, "id", str, at), az=_get(sn, "az", str, at),
                                      az_id=_get(sn, "az_id", str, at, ""), cidr=_get(sn, "cidr", str, at),
                                      route_table_id=_get(sn, "route_table_id", str, at, "")))
    tables = []
    for j, item in enumerate(_get(ex, "route_tables", (list, tuple), where, ())):
        at = f"{where}.route_tables[{j}]"
        rt = _mapping(item, at)
        routes = []
        for q, r in enumerate(_get(rt, "routes", (list, tuple), at, ())):
            rr = _mapping(r, f"{at}.routes[{q}]")
            routes.append(ExistingRoute(destination=_get(rr, "destination", str, f"{at}.routes[{q}]"),
                                        target=_get(rr, "target", str, f"{at}.routes[{q}]", "")))
        tables.append(ExistingRouteTable(id=_get(rt, "id", str, at), main=_get(rt, "main", bool, at, False),
                                         subnet_ids=tuple(str(x) for x in _get(rt, "subnet_ids", (list, tuple), at, ())),
                                         routes=tuple(routes)))
    attachments = []
    for j, pair in enumerate(_get(ex, "attachments", (list, tuple), where, ())):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise InvalidSpecError(f"{where}.attachments[{j}]", pair, "must be an [attachment id, TGW id] pair", "")
        attachments.append((str(pair[0]), str(pair[1])))
    return ExistingVpc(vpc_id=_get(ex, "vpc_id", str, where),
                       cidrs=tuple(str(c) for c in _get(ex, "cidrs", (list, tuple), where)),
                       subnets=tuple(subnets), route_tables=tuple(tables), attachments=tuple(attachments),
                       added_cidr=_get(ex, "added_cidr", str, where, ""))


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidSpecError(where, value, "must be a mapping", "")
    return value
