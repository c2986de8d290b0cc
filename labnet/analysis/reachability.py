"""Which training nodes can reach which: a pure function of a :class:`~labnet.analysis.snapshot.Snapshot`.

For each ordered pair of spokes (each spoke with itself too) and each probe, :func:`analyse` decides
whether a connection from a node in the source spoke's compute subnet, carrying that spoke's training
security group, to a node in the destination spoke's compute subnet, carrying its training group,
would be established — for every compute subnet of each spoke — the way AWS's Reachability Analyzer
models one path, but for the whole matrix at once and before any node exists. No boto3, no pandas.

A connection is checked in the order its packets meet the network; the first thing that stops it is
the verdict (``reason``, ``blocked_at``, ``path``):

1. source group egress (``SG_EGRESS``);
2. the forward path, source subnet → destination subnet: the source subnet's route table, longest
   prefix match (``NO_VPC_ROUTE``); through a Transit Gateway: the source VPC's attachment must be
   available (``ATTACHMENT_NOT_AVAILABLE``) and have a subnet in the source AZ
   (``NO_ATTACHMENT_IN_AZ``); the source subnet's NACL outbound and the attachment subnet's NACL
   inbound; the TGW route table associated with the attachment (``TGW_NOT_ASSOCIATED``), longest
   prefix match over its static, blackhole and propagated routes (``TGW_NO_ROUTE``,
   ``TGW_BLACKHOLE``), following peering attachments into the peer TGW's table; the destination
   attachment, the route table of its subnet (the VPC's local route), that subnet's NACL outbound
   and the destination subnet's NACL inbound (``NACL_EGRESS``, ``NACL_INGRESS``);
3. destination group ingress (``SG_INGRESS``);
4. the return path, destination → source, likewise, on the ephemeral reply ports 1024-65535.
   Security groups are stateful (replies pass); network ACLs are not.

How NACLs meet a TGW follows AWS's "Network ACLs for transit gateways": the instance subnet's
outbound rules and the attachment subnet's inbound rules see traffic into the TGW; the attachment
subnet's outbound rules and the instance subnet's inbound rules see traffic out of it; traffic that
stays inside one subnet meets no NACL. Propagated TGW routes are derived here from the propagations
(the propagating VPC attachment's CIDRs, only while the attachment is available), the same on the
emulator and on AWS; a static route wins over a propagated one for the same prefix, as on AWS.
Prefix lists are resolved from the snapshot in VPC routes and in security group rules. Routes are
matched against the whole destination subnet (the longest prefix that contains all of it). A group
reference admits a peer carrying the referenced group in the same VPC, and across a Transit Gateway
(issue 19) the way AWS allows it: an inbound rule only, both VPCs in one Region attached to the same
TGW, with SecurityGroupReferencingSupport enabled on the TGW and on both attachments (which must be
available); never across TGW peering.

Across regions a packet crosses a TGW peering: the static route in the source side's TGW route
table names the peering attachment, which must be available on both sides, and the table associated
with the peering attachment on the other side routes it on (``TGW_NOT_ASSOCIATED`` names the
peering when a side has none). Every verdict carries its spokes' regions.

The EFA probe applies within a spoke only (EFA never crosses subnets or a TGW): it passes when the
training group has an ingress and an egress rule for all traffic referencing itself (a 0.0.0.0/0
egress rule does not carry EFA). Between spokes its row says ``NOT_APPLICABLE`` with
``reachable=None``; so does it when the workload does not use EFA.

    >>> verdicts = analyse(snapshot)                   # DEFAULT_PROBES
    >>> [v for v in verdicts if v.reachable is False]  # what is blocked, where and why
"""

from __future__ import annotations

import dataclasses

import functools
import gc
import ipaddress
from bisect import bisect_right
from dataclasses import dataclass
from typing import Iterable, Sequence

from ..errors import InvalidSpecError
from .snapshot import (NetworkAcl, RouteTable, SecurityGroup, Snapshot, Spoke, Subnet, TgwAttachment,
                       TgwRouteTable)

# Each code, and what it means (a fault test per code lives in tests/test_verify_e2e.py).
CODES = {
    "NO_VPC_ROUTE": "the subnet's route table has no usable route to the destination",
    "NO_ATTACHMENT_IN_AZ": "the TGW attachment has no subnet in the AZ the traffic leaves or enters by",
    "ATTACHMENT_NOT_AVAILABLE": "a TGW attachment on the path is missing or not available",
    "TGW_NOT_ASSOCIATED": "the attachment is not associated with a TGW route table",
    "TGW_NO_ROUTE": "the TGW route table has no route to the destination",
    "TGW_BLACKHOLE": "the TGW route table drops the destination (blackhole route)",
    "SG_EGRESS": "the source security group does not allow the traffic out",
    "SG_INGRESS": "the destination security group does not allow the traffic in",
    "NACL_EGRESS": "a network ACL denies the traffic leaving a subnet",
    "NACL_INGRESS": "a network ACL denies the traffic entering a subnet",
    "NOT_FOUND": "a resource the stack's outputs name is not on the target",
    "NOT_APPLICABLE": "the probe does not apply to this pair (EFA between spokes, or a workload without EFA)",
}
EPHEMERAL = (1024, 65535)  # the reply ports NACLs must let through (AWS's recommended range)
PROTOCOLS = {"tcp": "6", "udp": "17"}
UP = "available"
MAX_TGW_HOPS = 4  # a path through more peered TGWs than this is reported as a routing loop


@dataclass(frozen=True)
class Probe:
    """What a connection carries: ``tcp`` or ``udp`` to ``port``, or ``efa`` (no port)."""

    protocol: str
    port: int | None = None
    name: str = ""

    @property
    def label(self) -> str:
        return self.protocol if self.port is None else f"{self.protocol}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> "Probe":
        """``"tcp:29500"``, ``"udp:4791"`` or ``"efa"``."""
        if not isinstance(text, str):
            raise InvalidSpecError("probes", text, "a probe is a Probe or a string like 'tcp:29500' or 'efa'",
                                   "for example Probe('tcp', 29500) or 'tcp:29500'")
        proto, _, port = text.strip().lower().partition(":")
        if proto == "efa" and not port:
            return check_probe(cls("efa"))
        try:
            number = int(port)
        except ValueError:
            raise InvalidSpecError("probes", text, "a probe is 'tcp:PORT', 'udp:PORT' or 'efa'",
                                   "for example 'tcp:29500'") from None
        return check_probe(cls(proto, number))


DEFAULT_PROBES = (
    Probe("tcp", 29500, "torch.distributed rendezvous (MASTER_PORT default)"),
    # NCCL's bootstrap and socket transport bind ephemeral ports (Linux: 32768-60999).
    Probe("tcp", 50000, "NCCL socket (an ephemeral port)"),
    Probe("efa", None, "EFA within a spoke"),
)


def check_probe(probe: Probe) -> Probe:
    """``probe`` if it is valid; InvalidSpecError naming what is wrong otherwise."""
    if not isinstance(probe, Probe):
        return Probe.parse(probe)  # type: ignore[arg-type]
    if probe.protocol == "efa":
        if probe.port is not None:
            raise InvalidSpecError("probes", probe.label, "an EFA probe has no port", "use Probe('efa')")
        return probe
    if probe.protocol not in PROTOCOLS:
        raise InvalidSpecError("probes", probe.protocol, "a probe's protocol is 'tcp', 'udp' or 'efa'",
                               "for example Probe('tcp', 29500)")
    if isinstance(probe.port, bool) or not isinstance(probe.port, int) or not 0 <= probe.port <= 65535:
        raise InvalidSpecError("probes", probe.port, "a TCP/UDP probe needs a port from 0 to 65535",
                               "for example Probe('tcp', 29500)")
    return probe


def check_probes(probes: Iterable[Probe | str] | None) -> tuple[Probe, ...]:
    """The probes to run: the defaults for None; each one checked (strings parsed)."""
    if probes is None:
        return DEFAULT_PROBES
    if isinstance(probes, (str, Probe)):
        probes = [probes]
    try:
        items = list(probes)
    except TypeError:
        raise InvalidSpecError("probes", probes, "must be a list of probes", "for example ['tcp:29500', 'efa']") from None
    if not items:
        raise InvalidSpecError("probes", items, "must name at least one probe", "or pass None for the defaults")
    out = tuple(check_probe(p) for p in items)
    if len({p.label for p in out}) != len(out):
        raise InvalidSpecError("probes", [p.label for p in out], "names a probe twice", "list each probe once")
    return out


@dataclass(frozen=True)
class Verdict:
    """One row of the matrix. ``reachable`` is None when the probe does not apply to the pair."""

    src_spoke: str
    dst_spoke: str
    probe: str
    protocol: str
    port: int | None
    transport: str  # "efa", "tcp" (inside one VPC) or "tcp via TGW"
    reachable: bool | None
    reason: str = ""
    blocked_at: str = ""
    path: str = ""  # "forward" or "return" when blocked
    detail: str = ""
    src_region: str = ""  # each spoke's region (a network may span several)
    dst_region: str = ""


@dataclass(frozen=True)
class Finding:
    """A rule that admits traffic from outside the stack's spokes (see :func:`exposure`)."""

    spoke: str
    resource: str  # "security_group" or "network_acl"
    resource_id: str
    rule: str
    protocol: str
    ports: str
    source: str
    why: str
    region: str = ""


# -- blocks of addresses --------------------------------------------------------------------------
@functools.lru_cache(maxsize=65536)
def _block(cidr: str) -> tuple[int, int]:
    """(network address, prefix length) of an IPv4 CIDR (cached: a full mesh names each spoke's CIDR
    in every other spoke's routes and rules)."""
    net = ipaddress.IPv4Network(cidr, strict=False)
    return int(net.network_address), net.prefixlen


@functools.lru_cache(maxsize=65536)
def _span(cidr: str) -> tuple[int, int]:
    """(first, last) address of an IPv4 CIDR."""
    net, plen = _block(cidr)
    return net, net + (1 << (32 - plen)) - 1


def _merge(spans: Iterable[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Disjoint, sorted intervals covering the union of ``spans`` (as two parallel lists)."""
    los: list[int] = []
    his: list[int] = []
    for lo, hi in sorted(spans):
        if los and lo <= his[-1] + 1:
            his[-1] = max(his[-1], hi)
        else:
            los.append(lo)
            his.append(hi)
    return los, his


def _covers(merged: tuple[list[int], list[int]], lo: int, hi: int) -> bool:
    los, his = merged
    i = bisect_right(los, lo) - 1
    return i >= 0 and his[i] >= hi


def _of_subnet(items, is_vpc_default, subnets) -> dict:
    """Each subnet's route table (or network ACL): the one it is explicitly associated with, else its
    VPC's main table (default ACL), as AWS applies them."""
    out, default = {}, {}
    for item in items:
        if is_vpc_default(item):
            default[item.vpc_id] = item
        for sid in item.subnet_ids:
            out[sid] = item
    for s in subnets:
        if s.id not in out and s.vpc_id in default:
            out[s.id] = default[s.vpc_id]
    return out


def _longest(index, cidr_span: tuple[int, int], plen: int):
    """The entry of the longest prefix (at most ``plen`` long) that contains the block starting at
    ``cidr_span[0]``, in an index of (lengths longest first, {length: {network: entry}}), or None."""
    lengths, by_len = index
    lo = cidr_span[0]
    for L in lengths:
        if L <= plen:
            hit = by_len[L].get(lo & _mask(L))
            if hit is not None:
                return hit
    return None


def _mask(plen: int) -> int:
    return ((1 << plen) - 1) << (32 - plen) if plen else 0


def _proto(protocol: str) -> str:
    """EC2's protocol spelling as a number string (``-1`` for all)."""
    p = str(protocol).lower()
    return {"tcp": "6", "udp": "17", "icmp": "1", "icmpv6": "58", "all": "-1"}.get(p, p)


# -- the model ------------------------------------------------------------------------------------
class _Model:
    """Indexes over one snapshot, and the checks, each cached (a 100-spoke matrix repeats them)."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.subnets = {s.id: s for s in snap.subnets}
        self.spans = {s.id: _span(s.cidr) for s in snap.subnets}
        self.plens = {s.id: _block(s.cidr)[1] for s in snap.subnets}
        self.vpcs = {v.id: v for v in snap.vpcs}
        self.spoke_of_vpc = {sp.vpc_id: sp for sp in snap.spokes}
        self.route_tables = {t.id: t for t in snap.route_tables}
        self.rt_of_subnet: dict[str, RouteTable] = _of_subnet(snap.route_tables, lambda t: t.main, snap.subnets)
        self.acl_of_subnet: dict[str, NetworkAcl] = _of_subnet(snap.network_acls, lambda a: a.default, snap.subnets)
        self.groups = {g.id: g for g in snap.security_groups}
        self.prefix_lists = {p.id: p for p in snap.prefix_lists}
        self.attachments = {(a.tgw_id, a.id): a for a in snap.attachments}
        self.vpc_attachments: dict[str, list[TgwAttachment]] = {}
        for a in snap.attachments:
            if a.resource_type == "vpc":
                self.vpc_attachments.setdefault(a.resource_id, []).append(a)
        self.tgw_tables = {t.id: t for t in snap.tgw_route_tables}
        self.tgws = {t.id: t for t in snap.transit_gateways}
        self._ref_cache: dict[tuple[str, str], bool] = {}
        self.assoc: dict[tuple[str, str], TgwRouteTable] = {}
        for t in snap.tgw_route_tables:
            for aid in t.associations:
                self.assoc.setdefault((t.tgw_id, aid), t)
        self._vpc_index: dict[str, tuple[list[int], dict[int, dict[int, tuple]]]] = {}
        self._tgw_index: dict[str, tuple[list[int], dict[int, dict[int, tuple]]]] = {}
        self._sg_cache: dict[tuple, tuple[frozenset[str], tuple[list[int], list[int]]]] = {}
        self._acl_cache: dict[tuple, tuple[int, bool] | None] = {}
        self._acl_entries: dict[str, list[tuple]] = {}
        self._acl_open: dict[tuple, bool] = {}
        self._att_cache: dict[tuple, tuple[TgwAttachment | None, str | None]] = {}
        self._path_cache: dict[tuple[str, str], tuple[tuple, tuple[str, str, str] | None]] = {}
        self._checks_cache: dict[tuple[str, str, str], tuple[tuple, tuple[str, str, str] | None]] = {}

    # -- names for sentences ------------------------------------------------------------------------
    def who(self, subnet_id: str) -> str:
        s = self.subnets.get(subnet_id)
        sp = self.spoke_of_vpc.get(s.vpc_id) if s else None
        return sp.name if sp else (s.vpc_id if s else subnet_id)

    # -- VPC routes --------------------------------------------------------------------------------
    def _routes(self, rt: RouteTable):
        index = self._vpc_index.get(rt.id)
        if index is None:
            by_len: dict[int, dict[int, tuple]] = {}
            for r in rt.routes:
                if r.destination:
                    dests, rank = [r.destination], (0 if r.target_type == "local" else 1)
                elif r.prefix_list_id in self.prefix_lists:
                    dests, rank = list(self.prefix_lists[r.prefix_list_id].cidrs), 2
                else:
                    continue  # a prefix list the snapshot does not hold: its entries are unknown
                for d in dests:
                    try:
                        net, plen = _block(d)
                    except ValueError:
                        continue  # an IPv6 destination never matches IPv4 traffic
                    slot = by_len.setdefault(plen, {})
                    # Same prefix: the local route, then a CIDR route, then a prefix-list route win (AWS).
                    if net not in slot or rank < slot[net][0]:
                        slot[net] = (rank, r, d)
            index = (sorted(by_len, reverse=True), by_len)
            self._vpc_index[rt.id] = index
        return index

    def vpc_lookup(self, rt: RouteTable, cidr_span: tuple[int, int], plen: int):
        """(route, matched CIDR) of the longest prefix containing the whole block, or None."""
        hit = _longest(self._routes(rt), cidr_span, plen)
        return None if hit is None else (hit[1], hit[2])

    # -- TGW routes --------------------------------------------------------------------------------
    def _tgw_routes(self, table: TgwRouteTable):
        index = self._tgw_index.get(table.id)
        if index is None:
            by_len: dict[int, dict[int, tuple]] = {}

            def put(cidr: str, entry: tuple, static: bool) -> None:
                try:
                    net, plen = _block(cidr)
                except ValueError:
                    return
                slot = by_len.setdefault(plen, {})
                if net not in slot or (static and not slot[net][0]):
                    slot[net] = (static, *entry)

            for aid in sorted(table.propagations):
                att = self.attachments.get((table.tgw_id, aid))
                if att is None or att.state != UP or att.resource_type != "vpc" or att.resource_id not in self.vpcs:
                    continue  # a propagation installs routes only while its attachment is available
                for cidr in self.vpcs[att.resource_id].cidrs:
                    put(cidr, ("active", (aid,), cidr, "propagated"), static=False)
            for r in table.static_routes:
                put(r.destination, (r.state, r.attachment_ids, r.destination, "static"), static=True)
            index = (sorted(by_len, reverse=True), by_len)
            self._tgw_index[table.id] = index
        return index

    def tgw_lookup(self, table: TgwRouteTable, cidr_span: tuple[int, int], plen: int):
        """(state, attachment ids, matched CIDR, kind) of the longest prefix containing the block, or None."""
        hit = _longest(self._tgw_routes(table), cidr_span, plen)
        return None if hit is None else hit[1:]

    def vpc_attachment(self, vpc_id: str, tgw_id: str | None = None) -> TgwAttachment | None:
        """The VPC's attachment (to ``tgw_id`` if given): the stack's own if listed, else an
        available one, else any."""
        atts = [a for a in self.vpc_attachments.get(vpc_id, []) if tgw_id is None or a.tgw_id == tgw_id]
        sp = self.spoke_of_vpc.get(vpc_id)
        ours = [a for a in atts if sp and a.id == sp.attachment_id and a.state == UP]
        up = [a for a in atts if a.state == UP]
        return (ours or up or atts or [None])[0]

    # -- security groups ---------------------------------------------------------------------------
    def _sg_allowed(self, group: SecurityGroup, egress: bool, proto: str, port: int):
        key = (group.id, egress, proto, port)
        hit = self._sg_cache.get(key)
        if hit is None:
            peers: set[str] = set()
            spans: list[tuple[int, int]] = []
            for r in group.rules:
                if r.egress != egress:
                    continue
                rp = _proto(r.protocol)
                if rp != "-1":
                    if rp != proto:
                        continue
                    if r.from_port != -1 and not r.from_port <= port <= r.to_port:
                        continue
                if r.group_id:
                    peers.add(r.group_id)
                elif r.cidr:
                    spans.append(_span(r.cidr))
                elif r.prefix_list_id in self.prefix_lists:
                    for c in self.prefix_lists[r.prefix_list_id].cidrs:
                        try:
                            spans.append(_span(c))
                        except ValueError:
                            pass
            hit = (frozenset(peers), _merge(spans))
            self._sg_cache[key] = hit
        return hit

    def sg_allows(self, group: SecurityGroup, egress: bool, proto: str, port: int, peer_subnet: Subnet,
                  peer_group: str) -> bool:
        peers, merged = self._sg_allowed(group, egress, proto, port)
        if peer_group in peers and (peer_subnet.vpc_id == group.vpc_id
                                    or (not egress and self.references_across(group.vpc_id, peer_subnet.vpc_id))):
            return True
        lo, hi = self.spans[peer_subnet.id]
        return _covers(merged, lo, hi)

    def references_across(self, vpc_a: str, vpc_b: str) -> bool:
        """Whether a group reference reaches from VPC ``vpc_a`` to ``vpc_b`` through a Transit Gateway:
        one TGW in one Region that both attach to, referencing enabled on it and on both (available)
        attachments. Peering attachments never carry references."""
        key = (vpc_a, vpc_b)
        hit = self._ref_cache.get(key)
        if hit is None:
            hit = False
            for a in self.vpc_attachments.get(vpc_a, ()):
                tgw = self.tgws.get(a.tgw_id)
                if a.state != UP or a.sg_referencing != "enable" or tgw is None or tgw.sg_referencing != "enable":
                    continue
                if any(b.tgw_id == a.tgw_id and b.region == a.region and b.state == UP and b.sg_referencing == "enable"
                       for b in self.vpc_attachments.get(vpc_b, ())):
                    hit = True
                    break
            self._ref_cache[key] = hit
        return hit

    @staticmethod
    def sg_efa(group: SecurityGroup, egress: bool) -> bool:
        return any(r.egress == egress and _proto(r.protocol) == "-1" and r.group_id == group.id for r in group.rules)

    # -- network ACLs ------------------------------------------------------------------------------
    def acl_verdict(self, acl: NetworkAcl, egress: bool, proto: str, ports: tuple[int, int], peer: str):
        """None when every packet (peer subnet × ports) is allowed, else (rule number, explicit deny?)."""
        key = (acl.id, egress, proto, ports, peer)
        if key in self._acl_cache:
            return self._acl_cache[key]
        lo, hi = self.spans[peer]
        remaining = [(lo, hi, ports[0], ports[1])]
        verdict: tuple[int, bool] | None = (32767, False)
        for e_egress, ep, allow, number, elo, ehi, plo, phi in self._entries(acl):
            if e_egress != egress or (ep != "-1" and ep != proto):
                continue
            left = []
            for box in remaining:
                ilo, ihi, iplo, iphi = max(box[0], elo), min(box[1], ehi), max(box[2], plo), min(box[3], phi)
                if ilo > ihi or iplo > iphi:
                    left.append(box)
                    continue
                if not allow:
                    self._acl_cache[key] = (number, True)
                    return self._acl_cache[key]
                left.extend(_subtract(box, (ilo, ihi, iplo, iphi)))
            remaining = left
            if not remaining:
                verdict = None
                break
        self._acl_cache[key] = verdict
        return verdict

    def _entries(self, acl: NetworkAcl) -> list[tuple]:
        """The ACL's IPv4 entries, parsed once, in rule-number order."""
        parsed = self._acl_entries.get(acl.id)
        if parsed is None:
            parsed = []
            for e in sorted(acl.entries, key=lambda e: e.rule_number):
                if not e.cidr:
                    continue  # IPv6 entries never match IPv4 traffic
                ep = _proto(e.protocol)
                plo, phi = (e.from_port, e.to_port) if ep in ("6", "17") and e.from_port >= 0 else (0, 65535)
                parsed.append((e.egress, ep, e.allow, e.rule_number, *_span(e.cidr), plo, phi))
            self._acl_entries[acl.id] = parsed
        return parsed

    def _open(self, acl: NetworkAcl, egress: bool, proto: str) -> bool:
        """Whether the first entry that can match ``proto`` allows every address and port (a default
        ACL): then no packet of that protocol is ever stopped, and the box walk is skipped."""
        key = (acl.id, egress, proto)
        hit = self._acl_open.get(key)
        if hit is None:
            hit = False
            for e_egress, ep, allow, _number, elo, ehi, plo, phi in self._entries(acl):
                if e_egress != egress or (ep != "-1" and ep != proto):
                    continue
                hit = allow and elo == 0 and ehi == 0xFFFFFFFF and plo == 0 and phi == 65535
                break
            self._acl_open[key] = hit
        return hit

    def acl_check(self, subnet_id: str, egress: bool, proto: str, ports: tuple[int, int], peer: str,
                  role: str) -> tuple[str, str, str] | None:
        acl = self.acl_of_subnet.get(subnet_id)
        if acl is None:
            return None  # no ACL read for the subnet: nothing to hold the traffic back
        if self._open(acl, egress, proto):
            return None
        v = self.acl_verdict(acl, egress, proto, ports, peer)
        if v is None:
            return None
        number, explicit = v
        what = f"{_proto_name(proto)} {_ports(ports)}"
        side = "to" if egress else "from"
        rule = (f"rule {number} denies it" if explicit and number != 32767
                else "no rule allows it (the final * rule denies)")
        code = "NACL_EGRESS" if egress else "NACL_INGRESS"
        peer_s = self.subnets[peer]
        return (code, acl.id, f"network ACL {acl.id} of {self.who(subnet_id)}'s {role} subnet {subnet_id}: "
                              f"{'outbound' if egress else 'inbound'} {what} {side} {peer_s.cidr} "
                              f"({self.who(peer)}): {rule}; allow it before any deny")

    # -- one direction of a connection -------------------------------------------------------------
    def leg(self, x: str, y: str, proto: str, ports: tuple[int, int]) -> tuple[str, str, str] | None:
        """The first thing that stops packets from subnet ``x`` to subnet ``y``, or None.

        The path (routes, attachments, TGW tables) is worked out once per subnet pair and cached,
        as the network ACLs it meets on the way; only those depend on the protocol and ports."""
        key = (x, y, proto)
        hit = self._checks_cache.get(key)
        if hit is None:
            path = self._path_cache.get((x, y))
            if path is None:
                path = self._path_cache[(x, y)] = self._path(x, y)
            checks, failure = path
            # Only the ACLs that are not wide open for this protocol need a look per port range.
            hit = self._checks_cache[key] = (tuple(c for c in checks if not self._open_for(c[0], c[1], proto)),
                                             failure)
        checks, failure = hit
        for subnet_id, egress, peer, role in checks:
            bad = self.acl_check(subnet_id, egress, proto, ports, peer, role)
            if bad:
                return bad
        return failure

    def _open_for(self, subnet_id: str, egress: bool, proto: str) -> bool:
        acl = self.acl_of_subnet.get(subnet_id)
        return acl is None or self._open(acl, egress, proto)

    def _path(self, x: str, y: str) -> tuple[tuple, tuple[str, str, str] | None]:
        """(the NACL checks met in order, then the routing failure or None) from ``x`` to ``y``."""
        if x == y:
            return (), None  # inside one subnet: no route table and no network ACL is consulted
        sx, sy = self.subnets[x], self.subnets[y]
        plen = self.plens[y]
        rt = self.rt_of_subnet.get(x)
        if rt is None:
            return (), ("NO_VPC_ROUTE", x, f"subnet {x} of {self.who(x)} has no route table (and its VPC no main table)")
        hit = self.vpc_lookup(rt, self.spans[y], plen)
        to = f"{self.who(y)} ({sy.cidr})" if hit is None or hit[0].target_type != "transit-gateway" else ""
        if hit is None:
            return (), ("NO_VPC_ROUTE", rt.id, f"route table {rt.id} of {self.who(x)}'s subnet {x} has no route to {to}: "
                                           "add one via the Transit Gateway")
        route, matched = hit
        if route.target_type == "local":
            if sx.vpc_id != sy.vpc_id:
                return (), ("NO_VPC_ROUTE", rt.id, f"route table {rt.id}: {to} overlaps {self.who(x)}'s own VPC "
                                               f"({matched} is local), so traffic never leaves the VPC")
            return ((x, True, y, "source"), (y, False, x, "destination")), None
        if route.target_type != "transit-gateway":
            return (), ("NO_VPC_ROUTE", rt.id, f"route table {rt.id} of {self.who(x)} sends {to} (route {matched}) to "
                                           f"{route.target_id or route.target_type}, not to the Transit Gateway")
        return self._via_tgw(x, y, rt, route, matched)

    def _via_tgw(self, x: str, y: str, rt: RouteTable, route, matched: str) -> tuple[tuple, tuple[str, str, str] | None]:
        sx, sy = self.subnets[x], self.subnets[y]
        tgw = route.target_id
        att, entry = self._source_attachment(sx.vpc_id, tgw, sx.az)
        if att is None or att.state != UP:
            sp = self.spoke_of_vpc.get(sx.vpc_id)
            aid = att.id if att else (sp.attachment_id if sp and sp.attachment_id else tgw)
            state = att.state if att else "missing"
            return (), ("ATTACHMENT_NOT_AVAILABLE", aid, f"{self.who(x)}'s attachment {aid} to {tgw} is {state}: "
                                                     "nothing leaves the VPC for the Transit Gateway")
        if route.state != "active":
            return (), ("NO_VPC_ROUTE", rt.id, f"route table {rt.id}: the route {matched} to {tgw} is a blackhole")
        if entry is None:
            return (), ("NO_ATTACHMENT_IN_AZ", att.id, f"attachment {att.id} of {self.who(x)} has no subnet in {sx.az}, "
                                                   f"where {self.who(x)}'s subnet {x} is: add an attachment subnet "
                                                   f"in {sx.az} to it")
        checks: tuple = ((x, True, y, "source"),) + (((entry, False, x, "attachment"),) if entry != x else ())
        plen = self.plens[y]
        current, inbound = tgw, att.id
        target: TgwAttachment | None = None
        for _hop in range(MAX_TGW_HOPS):
            table = self.assoc.get((current, inbound))
            if table is None:
                return checks, ("TGW_NOT_ASSOCIATED", inbound, f"attachment {inbound} ({self._att_name(current, inbound)}) "
                                                       f"is not associated with a route table of {current}: "
                                                       "associate it")
            hit = self.tgw_lookup(table, self.spans[y], plen)
            if hit is None:
                dst = self.vpc_attachment(sy.vpc_id)
                if dst is None or dst.state != UP:
                    sp = self.spoke_of_vpc.get(sy.vpc_id)
                    aid = dst.id if dst else (sp.attachment_id if sp and sp.attachment_id else sy.vpc_id)
                    return checks, ("ATTACHMENT_NOT_AVAILABLE", aid,
                            f"{self.who(y)}'s attachment {aid} is {dst.state if dst else 'missing'}: its routes "
                            f"are gone from {table.id}")
                return checks, ("TGW_NO_ROUTE", table.id, self._no_route(table, dst, y))
            state, targets, cidr, kind = hit
            if state == "blackhole":
                return checks, ("TGW_BLACKHOLE", table.id, f"TGW route table {table.id} drops {self.who(y)} ({sy.cidr}): "
                                                   f"blackhole route {cidr}; delete it")
            if not targets:
                return checks, ("TGW_NO_ROUTE", table.id, f"TGW route table {table.id}: the {kind} route {cidr} names no "
                                                  "attachment the target reports")
            nxt = self.attachments.get((current, targets[0]))
            if nxt is None or nxt.state != UP:
                return checks, ("ATTACHMENT_NOT_AVAILABLE", targets[0],
                        f"TGW route table {table.id} sends {cidr} to attachment {targets[0]}, which is "
                        f"{nxt.state if nxt else 'missing'}")
            if nxt.resource_type == "peering":
                # Across a peering: the same attachment id on the peer TGW, and its associated table there.
                if not nxt.peer_tgw_id:
                    return checks, ("ATTACHMENT_NOT_AVAILABLE", nxt.id, f"peering attachment {nxt.id} names no peer TGW")
                current, inbound = nxt.peer_tgw_id, nxt.id
                peer = self.attachments.get((current, inbound))
                if peer is not None and peer.state != UP:
                    return checks, ("ATTACHMENT_NOT_AVAILABLE", nxt.id, f"peering attachment {nxt.id} is {peer.state} on "
                                                                f"{current}")
                continue
            if nxt.resource_type != "vpc" or nxt.resource_id != sy.vpc_id:
                return checks, ("TGW_NO_ROUTE", table.id, f"TGW route table {table.id} sends {self.who(y)} ({sy.cidr}) via "
                                                  f"{cidr} to attachment {nxt.id} ({nxt.resource_type} "
                                                  f"{nxt.resource_id}), not to {self.who(y)}'s VPC")
            target = nxt
            break
        if target is None:
            return checks, ("TGW_NO_ROUTE", inbound, f"the path to {self.who(y)} crosses more than {MAX_TGW_HOPS} "
                                             "Transit Gateways (a routing loop?)")
        same_region = target.region == att.region
        landing = (self._attachment_subnet(target, sx.az) if same_region else None) \
            or self._attachment_subnet(target, sy.az) or (sorted(target.subnet_ids) or [None])[0]
        if landing is None or landing not in self.subnets:
            return checks, ("NO_ATTACHMENT_IN_AZ", target.id, f"attachment {target.id} of {self.who(y)} has no subnet")
        if landing == y:
            return checks, None  # the TGW hands the packet to the destination subnet itself: no NACL
        lrt = self.rt_of_subnet.get(landing)
        back = self.vpc_lookup(lrt, self.spans[y], plen) if lrt else None
        if back is None or back[0].target_type != "local":
            where = lrt.id if lrt else landing
            return checks, ("NO_VPC_ROUTE", where, f"route table {where} of {self.who(y)}'s attachment subnet {landing} does "
                                           f"not deliver {sy.cidr} locally")
        return checks + ((landing, True, y, "attachment"), (y, False, x, "destination")), None

    def _no_route(self, table: TgwRouteTable, dst: TgwAttachment, y: str) -> str:
        """What a TGW route table without a route to subnet ``y`` (whose VPC attachment is ``dst``) lacks."""
        sy = self.subnets[y]
        if dst.tgw_id == table.tgw_id:
            return (f"TGW route table {table.id} has no route to {self.who(y)} ({sy.cidr}): propagate "
                    f"{self.who(y)}'s attachment into it or add a static route")
        # Behind another TGW (another region): only a static route via a peering attachment gets there.
        peering = sorted(a.id for a in self.snap.attachments
                         if a.tgw_id == table.tgw_id and a.resource_type == "peering" and a.peer_tgw_id == dst.tgw_id)
        via = f"peering attachment {peering[0]}" if peering else f"a peering attachment to {dst.tgw_id}"
        return (f"TGW route table {table.id} of {table.tgw_id} ({table.region}) has no route to {self.who(y)} "
                f"({sy.cidr}) behind {dst.tgw_id} ({dst.region}): peering attachments do not propagate routes; "
                f"add a static route for {self.who(y)}'s region's block via {via}")

    def _source_attachment(self, vpc_id: str, tgw: str, az: str) -> tuple[TgwAttachment | None, str | None]:
        key = (vpc_id, tgw, az)
        hit = self._att_cache.get(key)
        if hit is None:
            att = self.vpc_attachment(vpc_id, tgw)
            hit = (att, self._attachment_subnet(att, az) if att is not None else None)
            self._att_cache[key] = hit
        return hit

    def _attachment_subnet(self, att: TgwAttachment, az: str) -> str | None:
        for sid in sorted(att.subnet_ids):
            s = self.subnets.get(sid)
            if s is not None and s.az == az:
                return sid
        return None

    def _att_name(self, tgw: str, aid: str) -> str:
        a = self.attachments.get((tgw, aid))
        if a is None:
            return "not on the target"
        if a.resource_type == "vpc":
            sp = self.spoke_of_vpc.get(a.resource_id)
            return f"spoke {sp.name}" if sp else f"VPC {a.resource_id}"
        return f"{a.resource_type} to {a.peer_tgw_id or '?'}"

    # -- one connection ----------------------------------------------------------------------------
    def flow(self, src: Spoke, s: str, dst: Spoke, d: str, probe: Probe) -> tuple[str, str, str, str] | None:
        """(code, blocked at, path, detail) of the first thing that stops the connection, or None."""
        ga, gb = self.groups.get(src.security_group_id), self.groups.get(dst.security_group_id)
        for sp, g in ((src, ga), (dst, gb)):
            if g is None:
                return ("NOT_FOUND", sp.security_group_id or sp.vpc_id, "forward",
                        f"{sp.name}'s training security group {sp.security_group_id!r} is not on the target")
        for sp, sid in ((src, s), (dst, d)):
            if sid not in self.subnets:
                return ("NOT_FOUND", sid, "forward", f"{sp.name}'s compute subnet {sid} is not on the target")
        if probe.protocol == "efa":
            if not self.sg_efa(ga, egress=True):
                return ("SG_EGRESS", ga.id, "forward", f"security group {ga.id} of {src.name} has no egress rule for "
                                                       "all traffic to itself, which EFA needs (a CIDR rule such as "
                                                       "0.0.0.0/0 does not carry EFA)")
            if not self.sg_efa(gb, egress=False):
                return ("SG_INGRESS", gb.id, "forward", f"security group {gb.id} of {dst.name} has no ingress rule for "
                                                        "all traffic from itself, which EFA needs")
            return None
        proto, port = PROTOCOLS[probe.protocol], int(probe.port)  # type: ignore[arg-type]
        sd, ss = self.subnets[d], self.subnets[s]
        if not self.sg_allows(ga, True, proto, port, sd, gb.id):
            return ("SG_EGRESS", ga.id, "forward", f"security group {ga.id} of {src.name} allows no {probe.label} "
                                                   f"out to {dst.name} ({sd.cidr}): add an egress rule")
        bad = self.leg(s, d, proto, (port, port))
        if bad:
            return (bad[0], bad[1], "forward", bad[2])
        if not self.sg_allows(gb, False, proto, port, ss, ga.id):
            return ("SG_INGRESS", gb.id, "forward", f"security group {gb.id} of {dst.name} allows no {probe.label} "
                                                    f"in from {src.name} ({ss.cidr}): add an ingress rule")
        bad = self.leg(d, s, proto, EPHEMERAL)
        if bad:
            return (bad[0], bad[1], "return", f"replies on ports {EPHEMERAL[0]}-{EPHEMERAL[1]}: {bad[2]}")
        return None


def _subtract(box: tuple[int, int, int, int], cut: tuple[int, int, int, int]) -> list[tuple[int, int, int, int]]:
    """``box`` minus ``cut`` (which lies inside it), as up to four boxes of (addresses × ports)."""
    lo, hi, plo, phi = box
    clo, chi, cplo, cphi = cut
    out = []
    if lo < clo:
        out.append((lo, clo - 1, plo, phi))
    if chi < hi:
        out.append((chi + 1, hi, plo, phi))
    if plo < cplo:
        out.append((clo, chi, plo, cplo - 1))
    if cphi < phi:
        out.append((clo, chi, cphi + 1, phi))
    return out


def _proto_name(proto: str) -> str:
    return {"6": "TCP", "17": "UDP"}.get(proto, f"protocol {proto}")


def _ports(ports: tuple[int, int]) -> str:
    return f"port {ports[0]}" if ports[0] == ports[1] else f"ports {ports[0]}-{ports[1]}"


# -- the matrix -----------------------------------------------------------------------------------
def transport(src: Spoke, dst: Spoke) -> str:
    """What a pair's collective traffic rides on: ``efa`` (same spoke, one compute subnet, EFA
    workload), ``tcp`` (inside one VPC otherwise) or ``tcp via TGW`` (across spokes)."""
    if src.name != dst.name:
        return "tcp via TGW" if src.vpc_id != dst.vpc_id else "tcp"
    return "efa" if src.efa is not False and len(src.compute_subnet_ids) == 1 else "tcp"


def analyse(snapshot: Snapshot, probes: Sequence[Probe | str] | None = None) -> tuple[Verdict, ...]:
    """One :class:`Verdict` per (source spoke, destination spoke, probe), sources and destinations in
    the stack's order, probes in the order given (``DEFAULT_PROBES`` when None)."""
    if not isinstance(snapshot, Snapshot):
        raise InvalidSpecError("snapshot", type(snapshot).__name__, "must be a labnet Snapshot",
                               "read one with labnet.analysis.snapshot.read or Lab.snapshot()")
    probes = check_probes(probes)
    # The matrix allocates tens of thousands of small tuples that all stay alive until it returns:
    # the cyclic collector would walk every object of the process again and again for nothing.
    paused = gc.isenabled()
    gc.disable()
    try:
        return _analyse(snapshot, probes)
    finally:
        if paused:
            gc.enable()


def _analyse(snapshot: Snapshot, probes: tuple[Probe, ...]) -> tuple[Verdict, ...]:
    model = _Model(snapshot)
    rows = []
    for src in snapshot.spokes:
        for dst in snapshot.spokes:
            carried = transport(src, dst)
            for probe in probes:
                base = (src.name, dst.name, probe.label, probe.protocol, probe.port, carried)
                na = _not_applicable(src, dst, probe)
                where = {"src_region": src.region, "dst_region": dst.region}
                if na:
                    rows.append(Verdict(*base, None, "NOT_APPLICABLE", "", "", na, **where))
                    continue
                blocked = _first_blocked(model, src, dst, probe)
                if blocked is None:
                    rows.append(Verdict(*base, True, **where))
                else:
                    code, at, path, detail = blocked
                    rows.append(Verdict(*base, False, code, at, path, detail, **where))
            rows += _storage_rows(model, src, dst)
    return tuple(rows)


def _storage_rows(model: _Model, src: Spoke, dst: Spoke) -> list[Verdict]:
    """Storage in ``dst`` (``spec.storage``): from ``src``'s training nodes to the storage group, on
    the first and last port of each of the storage's port ranges (probe ``storage tcp:988``)."""
    if not dst.storage_group_id:
        return []
    target = dataclasses.replace(dst, security_group_id=dst.storage_group_id)
    rows = []
    for port in dict.fromkeys(p for lo, hi in dst.storage_ports for p in (lo, hi)):
        probe = Probe("tcp", port, "storage")
        base = (src.name, dst.name, f"storage tcp:{port}", "tcp", port, transport(src, dst))
        where = {"src_region": src.region, "dst_region": dst.region}
        blocked = _first_blocked(model, src, target, probe)
        rows.append(Verdict(*base, True, **where) if blocked is None else Verdict(*base, False, *blocked, **where))
    return rows


def _not_applicable(src: Spoke, dst: Spoke, probe: Probe) -> str:
    if probe.protocol != "efa":
        return ""
    if src.name != dst.name:
        return ("EFA does not cross subnets or a Transit Gateway: between spokes NCCL uses TCP "
                "(the tcp probes)")
    if src.efa is False:
        return "the workload does not use EFA here (interface mode 'ena', or an existing VPC's own nodes)"
    return ""


def _first_blocked(model: _Model, src: Spoke, dst: Spoke, probe: Probe):
    if not src.compute_subnet_ids or not dst.compute_subnet_ids:
        sp = src if not src.compute_subnet_ids else dst
        return ("NOT_FOUND", sp.vpc_id, "forward", f"{sp.name} has no compute subnet in the stack's outputs")
    for s in src.compute_subnet_ids:
        for d in dst.compute_subnet_ids:
            if probe.protocol == "efa" and s != d:
                continue  # EFA stays inside one subnet
            bad = model.flow(src, s, dst, d, probe)
            if bad:
                return bad
    return None


# -- exposure -------------------------------------------------------------------------------------
def exposure(snapshot: Snapshot) -> tuple[Finding, ...]:
    """Every ingress rule of the stack's security groups and network ACLs (those in its VPCs) that
    admits traffic from outside the stack's spokes: 0.0.0.0/0, ::/0 or any IPv6 range (the spokes
    are IPv4), a CIDR outside the spokes' CIDRs, a prefix list holding such a CIDR (or whose entries
    are unknown), or a security group outside the stack. Egress rules are not findings.

    Network ACLs are stateless, so they must admit the replies of connections the nodes open; such
    entries admit no connection (the groups, stateful, are what admit one) and are not findings: TCP
    or UDP to ports 1024 and up only (replies land on ephemeral ports; every well-known service port
    is below), and ICMP type 3 (destination unreachable: path-MTU discovery). An ACL entry for the
    network's own blocks (each Region's summary, :attr:`Snapshot.network_cidrs`) is inside too: the
    Transit Gateway routes only the spokes' CIDRs, so nothing else of such a block reaches a spoke."""
    vpc_ids = {sp.vpc_id for sp in snapshot.spokes}
    name_of = {sp.vpc_id: sp.name for sp in snapshot.spokes}
    inside = _merge(_span(c) for v in snapshot.vpcs if v.id in vpc_ids for c in v.cidrs)
    network = _merge([*(_span(c) for v in snapshot.vpcs if v.id in vpc_ids for c in v.cidrs),
                      *(_span(c) for c in snapshot.network_cidrs)])

    def reply_only(e) -> bool:
        p = _proto(e.protocol)
        if p in ("6", "17"):
            return e.from_port >= 1024
        return p == "1" and e.icmp_type == 3
    own_groups = {g.id for g in snapshot.security_groups if g.vpc_id in vpc_ids}
    lists = {p.id: p for p in snapshot.prefix_lists}
    # Storage groups (spec.storage) are listed whole: what each admits is the point of the option.
    storage = {sp.storage_group_id: ", ".join(f"TCP {lo}-{hi}" if lo != hi else f"TCP {lo}" for lo, hi in sp.storage_ports)
               for sp in snapshot.spokes if sp.storage_group_id}

    def outside_cidr(cidr: str) -> str:
        lo, hi = _span(cidr)
        if cidr.endswith("/0"):
            return "the whole internet"
        return "" if _covers(inside, lo, hi) else "outside the stack's spokes"

    out = []
    for g in snapshot.security_groups:
        if g.vpc_id not in vpc_ids:
            continue
        for r in g.rules:
            if r.egress:
                continue
            why, source = "", r.cidr or r.cidr_v6 or r.prefix_list_id or r.group_id
            if r.cidr:
                why = outside_cidr(r.cidr)
            elif r.cidr_v6:
                why = "the whole IPv6 internet" if r.cidr_v6.endswith("/0") else "an IPv6 range (the spokes are IPv4)"
            elif r.prefix_list_id:
                pl = lists.get(r.prefix_list_id)
                if pl is None:
                    why = "a prefix list whose entries labnet could not read"
                else:
                    foreign = [c for c in pl.cidrs if ":" in c or outside_cidr(c)]
                    if foreign:
                        why = f"prefix list {pl.name or pl.id} holds {', '.join(foreign[:3])}" + \
                              (" …" if len(foreign) > 3 else "") + " outside the stack's spokes"
            elif r.group_id and r.group_id not in own_groups:
                why = "a security group outside the stack"
            if not why and g.id in storage:
                why = f"by design: storage ports for the network's training groups ({storage[g.id]})"
            if why:
                out.append(Finding(name_of.get(g.vpc_id, ""), "security_group", g.id, r.id,
                                   _rule_protocol(r.protocol), _rule_ports(r.protocol, r.from_port, r.to_port),
                                   source, why, g.region))
    for a in snapshot.network_acls:
        if a.vpc_id not in vpc_ids:
            continue
        for e in a.entries:
            if e.egress or not e.allow:
                continue
            source = e.cidr or e.cidr_v6
            if reply_only(e) or (e.cidr and not e.cidr.endswith("/0") and _covers(network, *_span(e.cidr))):
                continue
            why = outside_cidr(e.cidr) if e.cidr else (
                "the whole IPv6 internet" if e.cidr_v6.endswith("/0") else "an IPv6 range (the spokes are IPv4)")
            if why:
                out.append(Finding(name_of.get(a.vpc_id, ""), "network_acl", a.id, str(e.rule_number),
                                   _rule_protocol(e.protocol), _rule_ports(e.protocol, e.from_port, e.to_port),
                                   source, why, a.region))
    return tuple(out)


def _rule_protocol(protocol: str) -> str:
    p = _proto(protocol)
    return {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}.get(p, p)


def _rule_ports(protocol: str, lo: int, hi: int) -> str:
    if _proto(protocol) not in ("6", "17") or lo < 0:
        return "all"
    return str(lo) if lo == hi else f"{lo}-{hi}"
