"""What the network means for a training job: the gradient bytes that cross the Transit Gateway per
synchronisation, the limit that bounds how fast they can cross (the TGW's, or the nodes' own), the NCCL
settings that open enough TCP streams to reach it, and what the TGW charges for the run.

    >>> spec = labnet.size(spokes=4, nodes_per_spoke=16, instance_type="p5.48xlarge", azs=2)
    >>> labnet.traffic.plan(spec, model_params=7e9, steps=10_000, step_seconds=2.0)

Pure arithmetic over the spec (including the instance facts sizing recorded in its workload from EC2's
``describe_instance_types``), the limits data (``traffic_limits.json`` beside this module) and the price
data (``labnet/analysis/prices.json``): no AWS call is made. Bytes are exact integers, times exact fractions and
money exact decimals until the table is built, so hand-computed figures match to the byte and the cent.

Why everything between spokes is TCP through the Transit Gateway
----------------------------------------------------------------
EFA traffic does not cross subnets or AZs and is not routable
(https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa.html), so inside a spoke gradients move over
EFA and between spokes they are TCP through the Transit Gateway, NCCL's socket transport.

Formulas, with their sources
----------------------------
Symbols: ``P`` parameters, ``w`` bytes per parameter on the wire (``bytes_per_param``, or
``wire_bytes_per_param`` with compression), ``S`` spokes, ``n`` nodes per spoke, ``H`` = ``sync_every``.

- Gradient per synchronisation: ``G = ⌈P × w⌉`` bytes.
- Ring all-reduce over ``k`` members (reduce-scatter, then all-gather): each member sends
  ``2 (k − 1) / k × G`` bytes to the next (NCCL's ring; nccl-tests' PERFORMANCE.md derives the same
  factor for the bus bandwidth of all-reduce:
  https://github.com/NVIDIA/nccl-tests/blob/master/doc/PERFORMANCE.md). A ring edge that leaves a
  spoke crosses the TGW; one that leaves a Region also crosses a TGW peering attachment.

Each strategy says which nodes of a spoke carry the cross-spoke share (``sending_nodes``), each over
its own connection, all in parallel:

- ``hierarchical`` (the default): reduce-scatter inside each spoke over EFA, so each of the spoke's
  ``n`` nodes holds ``1/n`` of the reduced gradient; node ``i`` of every spoke then all-reduces its
  shard in a ring with node ``i`` of the other spokes (``n`` rings in parallel, the way PyTorch's hybrid
  sharding groups ranks); all-gather inside the spoke over EFA. Each spoke's attachment sends
  ``2 (S − 1) / S × G`` per synchronisation, from all ``n`` nodes, ``1/n`` of it each.
- ``hierarchical_leader``: reduce to one leader node per spoke, one ring of the full gradient across the
  ``S`` leaders, broadcast inside each spoke: the same ``2 (S − 1) / S × G`` per attachment, all of it
  from the leader.
- ``flat_ring``: one ring over all ``S × n`` nodes, ranks numbered spoke by spoke, so ``S`` ring edges
  cross spoke boundaries, one leaving each spoke from one node, each carrying ``2 (S n − 1) / (S n) × G``.
- ``flat_ring_interleaved``: the same ring with ranks dealt round-robin over the spokes (what an
  unordered launcher can produce): every one of the ``S × n`` edges crosses, so each attachment sends
  ``n × 2 (S n − 1) / (S n) × G`` from all ``n`` nodes. It shows why rank order matters.
- Every spoke's attachment sends whole bytes: ``bytes_per_attachment = ⌈sent by one spoke⌉`` (NCCL
  splits the buffer into ``k`` chunks, so a real rank sends within one chunk of this), each sending node
  ``bytes_per_node = ⌈bytes_per_attachment / sending_nodes⌉``, and ``bytes_total`` is the sum over the
  spokes' attachments.
- ``H`` (``sync_every``): every strategy synchronises once per ``H`` steps (low-communication
  training), so a run of ``steps`` steps makes ``⌈steps / H⌉`` synchronisations (a last, partial
  interval synchronises too, so every replica ends with the same model).

The lower bound on one synchronisation: for each spoke the largest of the terms below (each is a limit
the bytes cannot beat), and the busiest spoke decides. ``binding_limit`` names the term that sets it
(on a tie, the earlier one in this list):

- ``attachment_bandwidth``: ``bytes × 8 / (a × 100 Gbps)`` where ``a`` is the number of the spoke's
  Availability Zones that send (each AZ of a VPC attachment has its own 100 Gbps each direction and
  7.5 Mpps: https://docs.aws.amazon.com/vpc/latest/tgw/transit-gateway-quotas.html#bandwidth-quotas).
  A connection leaves from one node in one AZ, so ``a = min(sending nodes, AZs with compute)``: 1 for
  labnet's EFA layout (one compute subnet per spoke).
- ``packet_rate``: ``⌈bytes / (MTU − 52)⌉ / (a × 7.5 Mpps)``, full 8,500-byte packets (the TGW MTU,
  https://docs.aws.amazon.com/vpc/latest/tgw/what-is-transit-gateway.html) each carrying 8,500 − 52
  bytes of data after the IPv4, TCP and timestamp headers (RFC 791, RFC 9293, RFC 7323).
- ``peering_attachment`` (edges that leave the Region): the same bytes and packets over the peering
  attachment's 100 Gbps and 7.5 Mpps per Availability Zone (same page). The traffic stays in the AZs it
  entered the TGW in, so it has ``a`` AZs of the peering: with AWS's figures this never binds before the
  VPC attachment; it shows when a limit is overridden.
- ``tcp_streams``: ``bytes × 8 / (streams × per-flow limit)``; EC2 limits one 5-tuple to 5 Gbps, 10 Gbps
  inside one cluster placement group (which never spans Regions)
  (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-network-bandwidth.html).
- ``node_bandwidth``: ``bytes_per_node × 8 / node baseline``. A node sends over the network cards that
  carry an IP interface in its layout (``efa``: every EFA card, 32 × 100 Gbps on a p5.48xlarge; ``efa-only``
  and ``ena``: card 0 only), at the sum of those cards' ``BaselineBandwidthInGbps`` as EC2's
  ``describe_instance_types`` reports them, capped at the instance's ``NetworkPerformance`` figure
  (:func:`labnet.spec.card_bandwidth`). Small types state a baseline and burst above it on network I/O
  credits for "typically 5 to 60 minutes" (same EC2 page): a training run outlasts them, so the bound
  uses the baseline; ``sync_seconds_burst`` is the same bound at the cards' ``PeakBandwidthInGbps``.
- ``inter_region_cap`` (edges that leave the Region): ``bytes_per_node × 8 / cap``; EC2 lets traffic to
  another Region use 50 % of an instance's bandwidth from 32 vCPUs, and 5 Gbps below 32 vCPUs (same EC2
  page; ``VCpuInfo.DefaultVCpus``). The 50 % is of the whole instance (every card): baseline for the
  bound, peak for the burst figure.

A figure EC2 did not report (or a spec saved before sizing recorded them) is never guessed: its term is
left out, so the bound is still a lower bound, and ``advice`` says which.

- ``streams_needed = ⌈attachment bandwidth / per-flow limit⌉`` (100 / 5 = 20 for one AZ). NCCL's
  socket transport opens ``NCCL_SOCKET_NTHREADS × NCCL_NSOCKS_PERTHREAD`` sockets per connection,
  threads 1–16 and the product at most 64
  (https://docs.nvidia.com/deeplearning/nccl/user-guide/docs/env.html#nccl-socket-nthreads); the
  planner picks the pair that reaches ``⌈streams_needed / connections⌉`` with the larger of the two
  as small as it can be (balanced, like the docs' 4 × 4 for a generic 100G network), then the fewest
  sockets, then the fewest threads. NCCL's own AWS default, 2 × 8 = 16 streams, reaches 80 Gbps.

The run: ``gb_processed = bytes_total × ⌈steps / H⌉ / 10^9``; TGW data processing is billed once per
GB where it enters the TGW from a VPC attachment, at the sending spoke's region's price, and traffic
between spokes in different Regions also pays inter-Region data transfer for its (from, to) pair
(https://aws.amazon.com/transit-gateway/pricing/, ``labnet/analysis/prices.json``). ``cost_usd`` is what the
run's traffic adds to the bill; ``labnet.cost.estimate(spec, cross_vpc_gb_per_month=gb_processed)``
gives the same data-processing figure and adds the attachment-hours. A run is network-bound when one
synchronisation takes longer than the ``H × step_seconds`` of compute between two of them: even fully
overlapped, the network would set the pace.

Not modelled: latency and NCCL's protocol overhead (so the times are lower bounds), the EFA phases
inside a spoke (and the share of a node's bandwidth they take), instance-level packet and connection
allowances, and NCCL channels beyond one ring per connection (more channels only add streams).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .. import sourced
from . import cost
from ..errors import InvalidSpecError
from ..spec import NetworkSpec, Spoke

if TYPE_CHECKING:  # typing only: pandas loads when a plan is made
    import pandas as pd

LIMITS_FILE = Path(__file__).with_name("traffic_limits.json")
STRATEGIES = ("hierarchical", "hierarchical_leader", "flat_ring", "flat_ring_interleaved")
# Which nodes of a spoke carry its cross-spoke share, per strategy (the planner's stated assumption).
SENDERS = {
    "hierarchical": "all n nodes of the spoke in parallel: reduce-scatter inside the spoke over EFA, then node i of "
                    "every spoke all-reduces its 1/n shard in a ring with node i of the others, then all-gather",
    "hierarchical_leader": "one leader node per spoke: reduce to it over EFA, one ring across the leaders, broadcast",
    "flat_ring": "one node per spoke: the spoke's last rank, whose ring edge leaves the spoke",
    "flat_ring_interleaved": "all n nodes of the spoke: ranks dealt round-robin, so every node's ring edge leaves it",
}
LIMIT_KEYS = ("tgw_attachment_gbps_per_az", "tgw_attachment_pps_per_az", "tgw_peering_gbps_per_az",
              "tgw_peering_pps_per_az", "tgw_mtu_bytes", "tcp_ip_header_bytes",
              "ec2_flow_gbps", "ec2_flow_gbps_cluster_placement_group", "ec2_inter_region_share",
              "ec2_inter_region_min_vcpus", "ec2_inter_region_gbps_below_min_vcpus", "nccl_socket_nthreads_min",
              "nccl_socket_nthreads_max", "nccl_nsocks_perthread_min", "nccl_sockets_per_connection_max",
              "nccl_socket_nthreads_aws_default", "nccl_nsocks_perthread_aws_default", "bytes_per_gb")
# Limits that count things (threads, sockets, bytes) must be whole numbers.
WHOLE_LIMITS = frozenset(k for k in LIMIT_KEYS
                         if k.startswith(("nccl_", "tgw_mtu", "tcp_ip", "bytes_")) or k.endswith("_vcpus"))
# tie: the earlier one is named
BINDING = ("attachment_bandwidth", "packet_rate", "peering_attachment", "tcp_streams", "node_bandwidth",
           "inter_region_cap")
COLUMNS = ["strategy", "spokes", "nodes_per_spoke", "ring_members", "gradient_bytes", "bytes_per_attachment",
           "bytes_total", "packets_per_attachment", "connections_per_attachment", "attachment_gbps",
           "sending_nodes", "bytes_per_node", "node_gbps", "node_gbps_burst", "inter_region_gbps",
           "sync_seconds_min", "binding_limit", "sync_seconds_burst", "binding_limit_burst", "streams_needed",
           "nccl_socket_nthreads", "nccl_nsocks_perthread", "streams"]
STEP_COLUMNS = ["sync_every", "step_seconds", "sync_seconds_per_step", "sync_share_of_step", "network_bound"]
RUN_COLUMNS = ["steps", "syncs", "gb_processed", "inter_region_gb", "data_processing_usd", "inter_region_usd",
               "cost_usd"]
RUN_TIME_COLUMNS = ["run_hours_min"]
USER = "given by the caller (plan(limits=...))"


# -- the limits ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Limit:
    """One documented limit: its value, unit, the page it comes from and what that page states."""

    key: str
    label: str
    unit: str
    value: Decimal
    source: str
    states: str
    read: str = ""  # the day the page was last re-read ("": not since the set's as_of date)


@dataclass(frozen=True)
class LimitSet:
    """The limits the planner works with, each with its source page, and the date they are as of."""

    name: str
    as_of: str
    recorded: str
    note: str
    items: Mapping[str, Limit]

    def value(self, key: str) -> Decimal:
        """The value of one limit (a clear error if the set lacks it)."""
        if key not in self.items:
            raise InvalidSpecError(f"limits.items.{key}", None, f"the limit set {self.name!r} lacks this limit",
                                   f"add it (see {LIMITS_FILE.name} for its source)")
        return self.items[key].value

    def table(self) -> "pd.DataFrame":
        """One row per limit: key, label, value, unit, source page, what the page states, as of, and the
        day the page was re-read (empty: not since ``as_of``)."""
        import pandas as pd

        return pd.DataFrame([{"key": lim.key, "label": lim.label, "value": float(lim.value), "unit": lim.unit,
                              "source": lim.source, "states": lim.states, "as_of": self.as_of, "read": lim.read}
                             for lim in self.items.values()],
                            columns=["key", "label", "value", "unit", "source", "states", "as_of", "read"])


def load_limits(source: LimitSet | Mapping[str, Any] | str | Path | None = None) -> LimitSet:
    """The limits to plan with.

    ``None``: labnet's own (``traffic_limits.json`` beside this module). A JSON file path or a dict of
    the same shape (``name``, ``as_of``, ``items`` of label, unit, value, source, states): a whole set
    of your own. A dict without ``items``, such as ``{"ec2_flow_gbps": 10}``: labnet's set with those
    values replaced, each marked as given by you.
    """
    if isinstance(source, LimitSet):
        return _checked(source)
    if isinstance(source, Mapping) and "items" not in source:
        base = _parse_limits(sourced.read(None, LIMITS_FILE, "limits"))
        items = dict(base.items)
        for key, value in source.items():
            if key not in items:
                raise InvalidSpecError(f"limits.{key}", value, "is not a limit the planner knows",
                                       f"use one of {', '.join(LIMIT_KEYS)}")
            old = items[key]
            items[key] = replace(old, value=_limit_value(f"limits.{key}", key, value), source=USER, read="",
                                 states=f"replaces {_n(old.value)} {old.unit} from {old.source}")
        return _checked(replace(base, name=f"{base.name} + caller's values", items=items))
    return _checked(_parse_limits(sourced.read(source, LIMITS_FILE, "limits")))


def _parse_limits(data: Mapping[str, Any]) -> LimitSet:
    hint = f"see labnet/analysis/{LIMITS_FILE.name} for the shape"
    items = data.get("items")
    if not isinstance(items, Mapping) or not items:
        raise InvalidSpecError("limits.items", items, "must map each limit to its label, unit, value and source",
                               hint)
    parsed: dict[str, Limit] = {}
    for key, info in items.items():
        where = f"limits.items.{key}"
        if not isinstance(info, Mapping):
            raise InvalidSpecError(where, info, "must be an object with label, unit, value, source, states", hint)
        texts = {f: sourced.text(info, f, where, hint="a limit without its source cannot be checked")
                 for f in ("label", "unit", "source", "states")}
        parsed[key] = Limit(key=key, value=_limit_value(f"{where}.value", key, info.get("value")),
                            read=sourced.text(info, "read", where, required=False), **texts)
    return LimitSet(name=sourced.text(data, "name", "limits", hint=hint),
                    as_of=sourced.text(data, "as_of", "limits", hint=hint),
                    recorded=sourced.text(data, "recorded", "limits", required=False),
                    note=sourced.text(data, "note", "limits", required=False), items=parsed)


def _limit_value(field: str, key: str, value: object) -> Decimal:
    zero_ok = key == "tcp_ip_header_bytes"
    number = sourced.number(field, value, "must be a number of 0 or more" if zero_ok else "must be more than 0",
                            "limits are documented maxima: see the limit's source page", positive=not zero_ok)
    if key in WHOLE_LIMITS and number != number.to_integral_value():
        raise InvalidSpecError(field, value, "counts threads, sockets or bytes: must be a whole number",
                               "for example 16")
    return number


def _checked(limits: LimitSet) -> LimitSet:
    """A limit set whose values agree with each other (refused by name before anything is planned)."""
    for key in LIMIT_KEYS:
        limits.value(key)
    v = limits.value
    if v("tcp_ip_header_bytes") >= v("tgw_mtu_bytes"):
        raise InvalidSpecError("limits.tcp_ip_header_bytes", float(v("tcp_ip_header_bytes")),
                               f"must be less than the MTU ({_n(v('tgw_mtu_bytes'))} bytes)", "52 for IPv4 + TCP")
    if not v("nccl_socket_nthreads_min") <= v("nccl_socket_nthreads_max") <= v("nccl_sockets_per_connection_max"):
        raise InvalidSpecError("limits.nccl_socket_nthreads_max", float(v("nccl_socket_nthreads_max")),
                               "must be at least nccl_socket_nthreads_min and at most "
                               "nccl_sockets_per_connection_max", "NCCL accepts 1 to 16 threads, 64 sockets")
    if v("ec2_inter_region_share") > 1:
        raise InvalidSpecError("limits.ec2_inter_region_share", float(v("ec2_inter_region_share")),
                               "is a share of the instance's bandwidth: at most 1", "0.5 (EC2's 50 %)")
    if v("nccl_socket_nthreads_min") * v("nccl_nsocks_perthread_min") > v("nccl_sockets_per_connection_max"):
        raise InvalidSpecError("limits.nccl_nsocks_perthread_min", float(v("nccl_nsocks_perthread_min")),
                               "the least threads × least sockets exceed nccl_sockets_per_connection_max", "")
    return limits


# -- NCCL's socket settings --------------------------------------------------------------------------
def nccl_pair(streams: int, limits: LimitSet | None = None) -> tuple[int, int]:
    """``(NCCL_SOCKET_NTHREADS, NCCL_NSOCKS_PERTHREAD)`` giving at least ``streams`` sockets per
    connection within NCCL's bounds (threads 1–16, product at most 64), or the most NCCL allows when
    ``streams`` is more than that. Balanced first (the larger of the two as small as it can be, like
    the docs' 4 × 4 for a generic 100G network), then the fewest sockets, then the fewest threads.

    >>> nccl_pair(20)
    (4, 5)
    """
    limits = load_limits(limits)
    t_min, t_max = int(limits.value("nccl_socket_nthreads_min")), int(limits.value("nccl_socket_nthreads_max"))
    s_min, most = int(limits.value("nccl_nsocks_perthread_min")), int(limits.value("nccl_sockets_per_connection_max"))
    want = max(1, min(int(streams), most))
    best: tuple[int, int, int, int, int] | None = None
    for t in range(t_min, t_max + 1):
        s = max(s_min, -(-want // t))
        if t * s > most:
            continue
        rank = (max(t, s), t * s, t, t, s)
        best = rank if best is None or rank < best else best
    if best is None:  # only reachable with limits whose least values already fill the product
        return t_min, s_min
    return best[3], best[4]


# -- the plan ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Sender:
    """One spoke's side of a synchronisation: what its attachment sends, to whom and how fast."""

    spoke: str
    region: str
    next_region: str
    sent: Fraction  # bytes per synchronisation
    connections: int  # each from its own node: the spoke's sending nodes
    azs: int
    flow_gbps: Decimal

    @property
    def crosses(self) -> bool:
        """Whether this spoke's ring edge leaves its Region (through a TGW peering attachment)."""
        return self.region != self.next_region


@dataclass(frozen=True)
class _Nodes:
    """What one training node can send, from the instance facts sizing recorded (None: not known)."""

    instance_type: str
    vcpus: int
    network_performance: str
    ip_cards: tuple[int, ...]  # the cards its IP interfaces are on
    gbps: Decimal | None  # baseline over those cards
    gbps_burst: Decimal | None  # peak over those cards
    instance_gbps: Decimal | None  # baseline of every card: what the inter-Region share is of
    inter_region_gbps: Decimal | None
    inter_region_gbps_burst: Decimal | None
    inter_region_rule: str
    unknown: tuple[str, ...]  # what is not known, so not applied


def plan(spec: NetworkSpec, model_params: float, bytes_per_param: float = 2, steps: int | None = None,
         step_seconds: float | None = None, sync_every: int = 1, *, wire_bytes_per_param: float | None = None,
         strategies: str | Sequence[str] | None = None, nodes_per_spoke: int | None = None,
         cluster_placement_group: bool = False, nccl_socket_nthreads: int | None = None,
         nccl_nsocks_perthread: int | None = None,
         limits: LimitSet | Mapping[str, Any] | str | Path | None = None,
         prices: cost.PriceSet | Mapping[str, Any] | str | Path | None = None) -> "pd.DataFrame":
    """Plan the cross-spoke gradient traffic of a data-parallel run: one row per strategy.

    ``model_params`` parameters of ``bytes_per_param`` bytes each (2 for bf16) are synchronised once
    every ``sync_every`` steps; ``wire_bytes_per_param`` is what gradient compression puts on the wire
    (for example 1 for 8-bit), for every strategy. ``strategies`` picks rows from ``"hierarchical"``
    (default first), ``"hierarchical_leader"``, ``"flat_ring"`` and ``"flat_ring_interleaved"`` (all by
    default). ``nodes_per_spoke`` defaults to the spec's workload. The nodes' bandwidth and vCPUs are
    the instance facts sizing recorded in ``spec.workload`` from EC2's ``describe_instance_types``
    (size a spec with another ``instance_type`` to compare types). ``cluster_placement_group=True``
    uses EC2's 10 Gbps per-flow limit for spokes in the same region. Give ``nccl_socket_nthreads`` and
    ``nccl_nsocks_perthread`` to judge your own NCCL settings instead of labnet's choice. ``limits`` (a
    dict of overrides such as ``{"ec2_flow_gbps": 10}``, or a whole set) and ``prices`` replace
    labnet's sourced data.

    Columns: per synchronisation the bytes per attachment and per sending node, the lower bound on its
    time and the limit that sets it (the TGW's, or the nodes' baseline bandwidth and EC2's inter-Region
    cap), what burst bandwidth would give, the streams needed and the NCCL pair that opens them; with
    ``step_seconds`` the share of a step it takes and whether the run is network-bound; with ``steps``
    the run's GB processed and cost. ``advice`` says what bounds it and what would change it;
    ``frame.attrs`` carries every formula, constant, source and assumption used. No AWS call is made.

    >>> plan(spec, model_params=7e9, steps=10_000, step_seconds=2.0, sync_every=4)
    """
    import pandas as pd

    # Every input is checked before anything is computed, so a bad one is named and nothing else runs.
    if not isinstance(spec, NetworkSpec):
        raise InvalidSpecError("spec", type(spec).__name__, "must be a NetworkSpec", "pass labnet.size(...)")
    params = _whole("model_params", model_params, 1, "the model's parameter count, for example 7e9")
    bpp = sourced.number("bytes_per_param", bytes_per_param, "must be more than 0",
                         "2 for bf16/fp16 gradients, 4 for fp32", positive=True)
    wire = bpp if wire_bytes_per_param is None else sourced.number(
        "wire_bytes_per_param", wire_bytes_per_param, "must be more than 0",
        "bytes per parameter after compression, for example 1 for 8-bit", positive=True)
    if wire > bpp:
        raise InvalidSpecError("wire_bytes_per_param", wire_bytes_per_param,
                               f"must not exceed bytes_per_param ({_n(bpp)}): compression makes gradients smaller",
                               "leave it out for no compression")
    run_steps = None if steps is None else _whole("steps", steps, 1, "the number of training steps, e.g. 10000")
    step_s = None if step_seconds is None else sourced.number(
        "step_seconds", step_seconds, "must be more than 0", "seconds of compute per training step, e.g. 2.0",
        positive=True)
    every = _whole("sync_every", sync_every, 1, "1 synchronises every step; 8 once every 8 steps")
    chosen = _strategies(strategies)
    if nodes_per_spoke is None:
        nodes = spec.workload.nodes_per_spoke if spec.workload else None
        needs = [s for s in chosen if s != "hierarchical_leader"]
        if nodes is None and needs:
            raise InvalidSpecError("nodes_per_spoke", None, f"strategy {needs[0]!r} spreads the traffic over the "
                                   "nodes of each spoke and this spec has no workload",
                                   "pass nodes_per_spoke=, or strategies='hierarchical_leader'")
    else:
        nodes = _whole("nodes_per_spoke", nodes_per_spoke, 1, "training nodes in each spoke")
    if not isinstance(cluster_placement_group, bool):
        raise InvalidSpecError("cluster_placement_group", cluster_placement_group, "must be True or False", "")
    lim = load_limits(limits)
    pair = _user_pair(nccl_socket_nthreads, nccl_nsocks_perthread, lim)
    price_set = cost.load_prices(prices)
    if price_set.currency != "USD":
        raise InvalidSpecError("prices.currency", price_set.currency, "the plan is in USD", "use a price set in USD")
    node = _nodes(spec, lim)
    ring = _ring_order(spec)
    # Prices are looked up now, so a region without prices is refused before anything is computed.
    dp_price = {r: price_set.price(r, "tgw_data_processed_gb") for r in {spec.region_of(sp) for sp in ring}}
    ir_price = {(a, b): price_set.pair_price("inter_region_transfer_gb", a, b)
                for a, b in _pairs([spec.region_of(sp) for sp in ring])}

    gradient = math.ceil(params * wire)
    rows = []
    for strategy in chosen:
        senders = _senders(strategy, spec, ring, gradient, nodes or 0, lim, cluster_placement_group)
        row = _bounds(strategy, senders, len(ring), nodes, gradient, lim, pair, node)
        if step_s is not None:
            row.update(_step_figures(row["_sync"], every, step_s))
        if run_steps is not None:
            row.update(_run_figures(senders, run_steps, every, lim, dp_price, ir_price))
            if step_s is not None:
                per_step = max(Fraction(step_s), row["_sync"] / every)
                row["run_hours_min"] = float(per_step * run_steps / 3600)
        row["advice"] = _advice(row, strategy, spec, ring, gradient, nodes, lim, pair, every, step_s, wire, node,
                                cluster_placement_group)
        rows.append(row)
    columns = COLUMNS + (STEP_COLUMNS if step_s is not None else []) + \
        (RUN_COLUMNS if run_steps is not None else []) + \
        (RUN_TIME_COLUMNS if run_steps is not None and step_s is not None else []) + ["advice"]
    frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)
    frame.attrs = _provenance(spec, ring, lim, price_set, params, bpp, wire, gradient, nodes, every, run_steps,
                              step_s, cluster_placement_group, pair, node, chosen)
    return frame


# -- the pieces of a plan ----------------------------------------------------------------------------
def _ring_order(spec: NetworkSpec) -> list[Spoke]:
    """Spokes in ring order: grouped by region (first seen first), spec order inside a region, so the
    ring crosses between regions once per region boundary instead of up to once per spoke."""
    regions = list(dict.fromkeys(spec.region_of(sp) for sp in spec.spokes))
    return sorted(spec.spokes, key=lambda sp: regions.index(spec.region_of(sp)))


def _pairs(regions: Sequence[str]) -> list[tuple[str, str]]:
    """The (from, to) region pairs the ring's edges cross."""
    if len(regions) < 2:
        return []
    return sorted({(a, b) for a, b in zip(regions, regions[1:] + regions[:1]) if a != b})


def _compute_azs(spoke: Spoke) -> int:
    return len({sn.az for sn in spoke.subnets_by_role("compute")}) or 1


def _nodes(spec: NetworkSpec, lim: LimitSet) -> _Nodes:
    """The nodes' bandwidth and inter-Region cap from the workload's recorded EC2 facts. A figure that
    is not there is named in ``unknown`` and left out of the bound, never guessed; a recorded figure
    that is not a positive number is refused by name."""
    wl = spec.workload
    if wl is None or not wl.network_card_bandwidth:
        what = "the spec has no workload" if wl is None else \
            f"the spec records no network-card bandwidth for {wl.instance_type} (saved before sizing recorded it, " \
            "or EC2 reported none)"
        return _Nodes(wl.instance_type if wl else "", wl.vcpus if wl else 0, wl.network_performance if wl else "",
                      (), None, None, None, None, None, "",
                      (f"{what}: the nodes' bandwidth and EC2's inter-Region cap are not applied; size it again "
                       "with labnet.size to record EC2's figures",))
    for k, card in enumerate(wl.network_card_bandwidth):
        for key in ("baseline_gbps", "peak_gbps"):
            value = getattr(card, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value) or value <= 0):
                raise InvalidSpecError(f"workload.network_card_bandwidth[{k}].{key}", value,
                                       "must be a number of Gbps more than 0, or None where EC2 gave none",
                                       "size the spec again with labnet.size to record EC2's figures")
    kind = wl.instance_type
    gbps, burst = wl.node_gbps()
    whole, whole_burst = wl.instance_gbps()
    # Burst is never below the baseline (EC2 reports none that is; this keeps the burst figure the
    # faster one even if it did).
    if gbps is not None and burst is not None:
        burst, whole_burst = max(burst, gbps), max(whole_burst or gbps, whole or gbps)
    unknown = []
    if gbps is None and burst is not None:
        unknown.append(f"EC2 reports no baseline bandwidth for a network card {kind} sends on: the bound uses its "
                       f"peak ({_g(burst)} Gbps), which the baseline cannot exceed, so it is still a lower bound")
    elif gbps is None:
        unknown.append(f"EC2 reports no baseline bandwidth for a network card {kind} sends on: the nodes' "
                       "bandwidth is not applied")
    if burst is None:
        unknown.append(f"EC2 reports no peak bandwidth for a network card {kind} sends on: no burst figure")
    least = int(lim.value("ec2_inter_region_min_vcpus"))
    share = lim.value("ec2_inter_region_share")
    cap = cap_burst = None
    rule = ""
    if wl.vcpus <= 0:
        unknown.append(f"EC2 reports no vCPU count for {kind} (or the spec did not record it): EC2's inter-Region "
                       f"cap ({float(share):.0%} from {least} vCPUs, a fixed figure below) cannot be chosen and is "
                       "not applied")
    elif wl.vcpus >= least:
        cap = None if whole is None else share * whole
        cap_burst = None if whole_burst is None else share * whole_burst
        rule = f"{float(share):.0%} of the instance's bandwidth from {least} vCPUs; {kind} has {wl.vcpus}"
        if whole is None:
            unknown.append(f"EC2 reports no baseline bandwidth for every card of {kind}: the inter-Region cap "
                           + ("is taken from the peak" if whole_burst is not None else "is not applied"))
    else:
        cap = cap_burst = lim.value("ec2_inter_region_gbps_below_min_vcpus")
        rule = f"{_n(cap)} Gbps below {least} vCPUs; {kind} has {wl.vcpus}"
    cards = tuple(i.network_card for i in wl.interfaces if i.carries_ip)
    return _Nodes(kind, wl.vcpus, wl.network_performance, cards, gbps, burst, whole, cap, cap_burst, rule,
                  tuple(unknown))


def _senders(strategy: str, spec: NetworkSpec, ring: Sequence[Spoke], gradient: int, nodes: int,
             lim: LimitSet, placement_group: bool, one_region: bool = False) -> list[_Sender]:
    """What each spoke's attachment sends per synchronisation, following the strategy's ring.
    ``one_region``: as if every spoke were in the first spoke's Region (what the advice compares)."""
    spokes = len(ring)
    if spokes < 2:
        return []
    if strategy in ("hierarchical", "hierarchical_leader"):
        members, connections = spokes, (nodes if strategy == "hierarchical" else 1)
    else:
        members, connections = spokes * nodes, (1 if strategy == "flat_ring" else nodes)
    per_edge = Fraction(2 * (members - 1), members) * gradient
    # hierarchical: the n shard rings together carry one full edge; the others send one edge per connection
    sent = per_edge if strategy == "hierarchical" else per_edge * connections
    out = []
    for i, spoke in enumerate(ring):
        here, there = spec.region_of(spoke), spec.region_of(ring[(i + 1) % spokes])
        if one_region:
            here = there = spec.region_of(ring[0])
        # A cluster placement group sits in one AZ of one Region: never for traffic between Regions.
        flow = lim.value("ec2_flow_gbps_cluster_placement_group" if placement_group and here == there
                         else "ec2_flow_gbps")
        out.append(_Sender(spoke.name, here, there, sent, connections, min(connections, _compute_azs(spoke)), flow))
    return out


def _terms(s: _Sender, sent: int, packets: int, lim: LimitSet, streams: int, node: _Nodes,
           burst: bool) -> dict[str, Fraction]:
    """Every limit's lower bound on one spoke's synchronisation (seconds); terms whose facts are not
    known are left out. ``burst``: the nodes at their peak bandwidth instead of their baseline."""
    bits = Fraction(sent * 8)
    terms = {
        "attachment_bandwidth": bits / Fraction(lim.value("tgw_attachment_gbps_per_az") * s.azs * 10**9),
        "packet_rate": Fraction(packets) / Fraction(lim.value("tgw_attachment_pps_per_az") * s.azs),
    }
    if s.crosses:  # the traffic keeps to the AZs it entered the TGW in: a AZs of the peering too
        terms["peering_attachment"] = max(
            bits / Fraction(lim.value("tgw_peering_gbps_per_az") * s.azs * 10**9),
            Fraction(packets) / Fraction(lim.value("tgw_peering_pps_per_az") * s.azs))
    terms["tcp_streams"] = bits / Fraction(streams * s.flow_gbps * 10**9)
    per_node = Fraction(math.ceil(Fraction(sent, s.connections)) * 8)
    # Without a baseline figure the peak still bounds the baseline from above: a weaker, valid term.
    gbps = node.gbps_burst if burst or node.gbps is None else node.gbps
    if gbps is not None:
        terms["node_bandwidth"] = per_node / Fraction(gbps * 10**9)
    cap = node.inter_region_gbps_burst if burst or node.inter_region_gbps is None else node.inter_region_gbps
    if s.crosses and cap is not None:
        terms["inter_region_cap"] = per_node / Fraction(cap * 10**9)
    return terms


def _bounds(strategy: str, senders: Sequence[_Sender], spokes: int, nodes: int | None, gradient: int,
            lim: LimitSet, pair: tuple[int, int] | None, node: _Nodes) -> dict[str, Any]:
    """Bytes, the binding limit (at the nodes' baseline, and at their burst), streams and the NCCL pair
    of one strategy."""
    members = spokes if strategy.startswith("hierarchical") else spokes * (nodes or 0)
    row: dict[str, Any] = {"strategy": strategy, "spokes": spokes, "nodes_per_spoke": nodes,
                           "ring_members": members, "gradient_bytes": gradient}
    node_figures = {"node_gbps": _f(node.gbps), "node_gbps_burst": _f(node.gbps_burst)}
    if not senders:  # one spoke: the whole all-reduce runs over EFA inside the VPC
        row.update(bytes_per_attachment=0, bytes_total=0, packets_per_attachment=0, connections_per_attachment=0,
                   attachment_gbps=0.0, sending_nodes=0, bytes_per_node=0, inter_region_gbps=None,
                   sync_seconds_min=0.0, binding_limit="none", sync_seconds_burst=0.0, binding_limit_burst="none",
                   streams_needed=0, nccl_socket_nthreads=None, nccl_nsocks_perthread=None, streams=0,
                   _sync=Fraction(0), _burst=Fraction(0), _bound={}, _crosses=False, **node_figures)
        return row
    gbps_az = lim.value("tgw_attachment_gbps_per_az")
    payload = int(lim.value("tgw_mtu_bytes") - lim.value("tcp_ip_header_bytes"))
    most = int(lim.value("nccl_sockets_per_connection_max"))
    needed = {s.spoke: math.ceil(Fraction(gbps_az * s.azs) / Fraction(s.flow_gbps)) for s in senders}
    # NCCL's settings are environment variables, one pair for the whole job: sized for the spoke that
    # needs the most streams per connection.
    per_connection = max(-(-needed[s.spoke] // s.connections) for s in senders)
    threads, socks = pair or nccl_pair(min(per_connection, most), lim)
    worst: tuple[Fraction, int, _Sender, dict[str, Fraction]] | None = None
    burst_worst: tuple[Fraction, str] | None = None
    for s in senders:
        sent = math.ceil(s.sent)
        packets = math.ceil(Fraction(sent, payload))
        streams = s.connections * threads * socks
        bounds = _terms(s, sent, packets, lim, streams, node, burst=False)
        longest = max(bounds.values())
        if worst is None or longest > worst[0]:
            worst = (longest, sent, s, bounds)
        burst_bounds = _terms(s, sent, packets, lim, streams, node, burst=True)
        burst_longest = max(burst_bounds.values())
        if burst_worst is None or burst_longest > burst_worst[0]:
            burst_worst = (burst_longest, _named(burst_bounds, burst_longest))
    assert worst is not None and burst_worst is not None
    longest, sent, busiest, bounds = worst
    crosses = any(s.crosses for s in senders)
    burst_known = node.gbps_burst is not None
    row.update(
        bytes_per_attachment=sent, bytes_total=sum(math.ceil(s.sent) for s in senders),
        packets_per_attachment=math.ceil(Fraction(sent, payload)), connections_per_attachment=busiest.connections,
        attachment_gbps=float(gbps_az * busiest.azs), sending_nodes=busiest.connections,
        bytes_per_node=math.ceil(Fraction(sent, busiest.connections)),
        inter_region_gbps=_f(_cap(node)) if crosses else None,
        sync_seconds_min=float(longest), binding_limit=_named(bounds, longest),
        sync_seconds_burst=float(burst_worst[0]) if burst_known else None,
        binding_limit_burst=burst_worst[1] if burst_known else None,
        streams_needed=max(needed.values()), nccl_socket_nthreads=threads, nccl_nsocks_perthread=socks,
        streams=busiest.connections * threads * socks, _sync=longest,
        _burst=burst_worst[0] if burst_known else None, _bound=bounds, _crosses=crosses, **node_figures)
    return row


def _named(bounds: Mapping[str, Fraction], longest: Fraction) -> str:
    return next(k for k in BINDING if bounds.get(k) == longest)


def _step_figures(sync: Fraction, every: int, step_s: Decimal) -> dict[str, Any]:
    compute = Fraction(step_s) * every  # compute between two synchronisations
    return {"sync_every": every, "step_seconds": float(step_s), "sync_seconds_per_step": float(sync / every),
            "sync_share_of_step": float(sync / compute), "network_bound": bool(sync > compute)}


def _run_figures(senders: Sequence[_Sender], steps: int, every: int, lim: LimitSet,
                 dp_price: Mapping[str, Decimal], ir_price: Mapping[tuple[str, str], Decimal]) -> dict[str, Any]:
    """GB processed and the run's traffic cost, in exact decimals."""
    syncs = -(-steps // every)
    per_gb = lim.value("bytes_per_gb")
    processed = inter = Decimal(0)
    dp_usd = ir_usd = Decimal(0)
    for s in senders:
        gb = Decimal(math.ceil(s.sent) * syncs) / per_gb
        processed += gb
        dp_usd += gb * dp_price[s.region]  # billed where it enters the TGW, at the sender's region's price
        if s.crosses:
            inter += gb
            ir_usd += gb * ir_price[(s.region, s.next_region)]
    return {"steps": steps, "syncs": syncs, "gb_processed": float(processed), "inter_region_gb": float(inter),
            "data_processing_usd": float(dp_usd), "inter_region_usd": float(ir_usd),
            "cost_usd": float(dp_usd + ir_usd), "_cost": dp_usd + ir_usd}


def _advice(row: Mapping[str, Any], strategy: str, spec: NetworkSpec, ring: Sequence[Spoke], gradient: int,
            nodes: int | None, lim: LimitSet, pair: tuple[int, int] | None, every: int, step_s: Decimal | None,
            wire: Decimal, node: _Nodes, placement_group: bool) -> str:
    """One paragraph: what bounds the synchronisation, what burst would give, what is not known, and
    what would change it: when the nodes bind, the fixes for that (more nodes per spoke, bigger
    instances, fewer Regions, another strategy); when the run is network-bound, the rest (periodic
    sync, compression, fewer or bigger spokes, another strategy); NCCL settings when streams fall short."""
    if row["spokes"] < 2:
        return "one spoke: the all-reduce stays on EFA inside the VPC; nothing crosses the TGW"
    sync = row["_sync"]
    binding = row["binding_limit"]
    k = row["sending_nodes"]
    each = f"{_count(k, 'node')} per spoke {'sends' if k == 1 else 'send'} {_gb(row['bytes_per_node'])}" + \
        ("" if k == 1 else " each")
    said = {"attachment_bandwidth": f"bound by the attachment's {row['attachment_gbps']:g} Gbps",
            "packet_rate": "bound by the attachment's packet rate",
            "peering_attachment": "bound by the TGW peering attachment between the Regions",
            "tcp_streams": f"bound by {row['streams']} TCP stream(s) × the per-flow limit",
            "node_bandwidth": f"bound by the nodes: {each} at {_g(_node_rate(node))} Gbps, the "
                              f"{'baseline' if node.gbps is not None else 'peak'} EC2 reports for "
                              f"{node.instance_type}",
            "inter_region_cap": f"bound by EC2's inter-Region cap: {each} to another Region at "
                                f"{_g(_cap(node))} Gbps ({node.inter_region_rule})"}[binding]
    parts = [f"{_s(sync)} per synchronisation, {said}"]
    burst = row["_burst"]
    if burst is not None and burst < sync:
        parts.append(f"at burst bandwidth ({_g(node.gbps_burst)} Gbps per node) {_s(burst)} "
                     f"({row['binding_limit_burst']}), but burst lasts only while network I/O credits do (typically "
                     "5 to 60 minutes) and a training run outlasts them, so the bound uses the baseline")
    parts += list(node.unknown)
    if binding == "tcp_streams":
        best = nccl_pair(-(-row["streams_needed"] // row["connections_per_attachment"]), lim)
        parts.append(f"NCCL_SOCKET_NTHREADS={best[0]} NCCL_NSOCKS_PERTHREAD={best[1]} would open enough streams")
    default = (int(lim.value("nccl_socket_nthreads_aws_default")), int(lim.value("nccl_nsocks_perthread_aws_default")))
    if pair is None and row["connections_per_attachment"] * default[0] * default[1] < row["streams_needed"]:
        parts.append(f"NCCL's AWS default ({default[0]} × {default[1]} sockets per connection) would not reach it: "
                     f"set NCCL_SOCKET_NTHREADS={row['nccl_socket_nthreads']} "
                     f"NCCL_NSOCKS_PERTHREAD={row['nccl_nsocks_perthread']}")
    if binding in ("node_bandwidth", "inter_region_cap"):
        parts.append("would lift the nodes' limit: " + ", ".join(
            _node_fixes(row, strategy, spec, ring, gradient, nodes, lim, pair, node, placement_group,
                        bytes_fixes=step_s is None)))
    if step_s is None:
        parts.append("give step_seconds to learn whether the run is network-bound")
        return "; ".join(parts)
    compute = Fraction(step_s) * every
    if sync <= compute:
        parts.append(f"compute-bound: {float(sync / compute):.0%} of the {_s(compute)} of compute between "
                     "synchronisations")
        return "; ".join(parts)
    fixes = [f"sync_every={math.ceil(sync / Fraction(step_s))} (periodic sync)"]
    # Every bound grows with the bytes, so the wire size that fits scales by compute / sync.
    most_wire = math.floor(Fraction(wire) * compute / sync * 1000) / 1000
    fixes.append(f"wire_bytes_per_param ≤ {most_wire:g} (compression; now {_n(wire)})")
    if len(ring) > 2:
        two = _bounds(strategy, _senders(strategy, spec, ring[:2], gradient, nodes or 0, lim, placement_group),
                      2, nodes, gradient, lim, pair, node)
        fixes.append(f"fewer spokes (2 spokes: {_s(two['_sync'])}, {_gb(two['bytes_total'])} per sync instead of "
                     f"{_gb(row['bytes_total'])}; only one spoke keeps it all on EFA)")
    if strategy == "hierarchical":
        fixes.append("bigger spokes (more nodes per spoke: the bytes per synchronisation stay the same while each "
                     "step covers more samples, so the same data needs fewer synchronisations)")
    elif nodes:
        hier = _bounds("hierarchical", _senders("hierarchical", spec, ring, gradient, nodes, lim, placement_group),
                       len(ring), nodes, gradient, lim, pair, node)
        fixes.append(f"strategy 'hierarchical' ({_s(hier['_sync'])}: reduce inside each spoke over EFA first, then "
                     "every node sends its shard)")
    parts.append(f"network-bound: needs more than the {_s(compute)} of compute between synchronisations; would "
                 "change it: " + ", ".join(fixes))
    return "; ".join(parts)


def _node_fixes(row: Mapping[str, Any], strategy: str, spec: NetworkSpec, ring: Sequence[Spoke], gradient: int,
                nodes: int | None, lim: LimitSet, pair: tuple[int, int] | None, node: _Nodes,
                placement_group: bool, bytes_fixes: bool) -> list[str]:
    """What would let the nodes keep up with the attachment, when their bandwidth or the inter-Region
    cap binds: each figure is what it takes for the nodes to send as fast as the attachment takes.
    ``bytes_fixes``: also name compression and periodic sync (the network-bound advice gives their
    figures when step_seconds is known)."""
    attachment = Fraction(row["attachment_gbps"])
    k = row["sending_nodes"]
    crosses = row["_crosses"]
    rates = [r for r in (_node_rate(node), _cap(node) if crosses else None) if r is not None]
    rate = Fraction(min(rates))  # one node's rate to the next spoke, the slower of the two limits
    fixes = []
    if strategy == "hierarchical":
        enough = math.ceil(attachment / rate)
        if nodes is None or enough > nodes:
            fixes.append(f"{enough} or more nodes per spoke (hierarchical spreads the spoke's share over them: "
                         f"{enough} × {_g(rate)} Gbps keep up with the attachment's {_g(attachment)} Gbps)")
    elif nodes:
        hier = _bounds("hierarchical", _senders("hierarchical", spec, ring, gradient, nodes, lim, placement_group),
                       len(ring), nodes, gradient, lim, pair, node)
        fixes.append(f"strategy 'hierarchical' ({_s(hier['_sync'])}: the spoke's share spreads over its {nodes} "
                     "nodes)")
    per_node = attachment / k  # what each sending node would have to sustain
    if crosses:
        share = Fraction(lim.value("ec2_inter_region_share"))
        fixes.append(f"bigger instances (at least {_g(per_node / share)} Gbps baseline and "
                     f"{_n(lim.value('ec2_inter_region_min_vcpus'))} or more vCPUs per node: EC2 lets "
                     f"{float(share):.0%} of "
                     f"an instance's bandwidth cross Regions, {_n(lim.value('ec2_inter_region_gbps_below_min_vcpus'))}"
                     " Gbps below that; labnet.instance_types() lists baseline_gbps and vcpus)"
                     if share else "bigger instances")
        local = _bounds(strategy, _senders(strategy, spec, ring, gradient, nodes or 0, lim, placement_group,
                                           one_region=True), len(ring), nodes, gradient, lim, pair, node)
        if local["_sync"] < row["_sync"]:
            fixes.append(f"fewer Regions (all spokes in one Region: {_s(local['_sync'])}, "
                         f"{local['binding_limit']})")
    else:
        fixes.append(f"bigger instances (at least {_g(per_node)} Gbps baseline per node; labnet.instance_types() "
                     "lists baseline_gbps)")
    if bytes_fixes:
        fixes.append("compression or syncing less often (wire_bytes_per_param=, sync_every=: fewer bytes per step)")
    return fixes


def _node_rate(node: _Nodes) -> Decimal | None:
    """The node figure the bound uses: the baseline, or the peak where EC2 gave no baseline."""
    return node.gbps if node.gbps is not None else node.gbps_burst


def _cap(node: _Nodes) -> Decimal | None:
    return node.inter_region_gbps if node.inter_region_gbps is not None else node.inter_region_gbps_burst


def _provenance(spec: NetworkSpec, ring: Sequence[Spoke], lim: LimitSet, price_set: cost.PriceSet, params: int,
                bpp: Decimal, wire: Decimal, gradient: int, nodes: int | None, every: int, steps: int | None,
                step_s: Decimal | None, placement_group: bool, pair: tuple[int, int] | None, node: _Nodes,
                chosen: Sequence[str]) -> dict[str, Any]:
    regions = [spec.region_of(sp) for sp in ring]
    price_items = ["tgw_data_processed_gb"] + (["inter_region_transfer_gb"] if _pairs(regions) else [])
    return {
        "limits": lim.name, "limits_as_of": lim.as_of, "limits_recorded": lim.recorded, "limits_note": lim.note,
        "constants": {k: {"value": float(i.value), "unit": i.unit, "source": i.source, "states": i.states,
                          "read": i.read} for k, i in lim.items.items()},
        "price_set": price_set.name, "prices_as_of": price_set.as_of,
        "price_sources": {k: price_set.items[k]["source"] for k in price_items if k in price_set.items},
        "assumptions": {"model_params": params, "bytes_per_param": float(bpp), "wire_bytes_per_param": float(wire),
                        "gradient_bytes": gradient, "spokes": len(ring), "nodes_per_spoke": nodes,
                        "ring_order": [sp.name for sp in ring], "regions": regions, "sync_every": every,
                        "steps": steps, "step_seconds": None if step_s is None else float(step_s),
                        "cluster_placement_group": placement_group,
                        "nccl": "caller's" if pair else "labnet's choice",
                        "sending_nodes": {s: SENDERS[s] for s in chosen},
                        "nodes": {"instance_type": node.instance_type, "vcpus": node.vcpus,
                                  "network_performance": node.network_performance,
                                  "ip_network_cards": list(node.ip_cards), "gbps_baseline": _f(node.gbps),
                                  "gbps_burst": _f(node.gbps_burst), "instance_gbps_baseline": _f(node.instance_gbps),
                                  "inter_region_gbps": _f(node.inter_region_gbps),
                                  "inter_region_gbps_burst": _f(node.inter_region_gbps_burst),
                                  "inter_region_rule": node.inter_region_rule,
                                  "source": "spec.workload, recorded by sizing from EC2's describe_instance_types",
                                  "bound_uses": "the baseline: a training run outlasts burst credits",
                                  "not_known": list(node.unknown)}},
        "formulas": {
            "hierarchical": "each attachment sends 2(S-1)/S × G per sync from all n nodes, 1/n each; the TGW "
                            "processes S times that",
            "hierarchical_leader": "each attachment sends 2(S-1)/S × G per sync, all from one leader node",
            "flat_ring": "S of the S·n ring edges cross spokes, each 2(S·n-1)/(S·n) × G from one node",
            "flat_ring_interleaved": "all S·n edges cross: each attachment sends n × 2(S·n-1)/(S·n) × G, from all "
                                     "n nodes",
            "sync_seconds_min": "for the busiest attachment, max(bytes×8/(AZs×100 Gbps), "
                                "⌈bytes/(MTU-52)⌉/(AZs×7.5 Mpps), [across Regions: the same over the peering "
                                "attachment's AZs], bytes×8/(streams×per-flow Gbps), bytes_per_node×8/node baseline "
                                "Gbps, [across Regions: bytes_per_node×8/inter-Region cap])",
            "sync_seconds_burst": "the same with the nodes' peak bandwidth (and the cap from the instance's peak)",
            "node_gbps": "sum of the baseline of the network cards its IP interfaces are on, capped at the "
                         "instance's NetworkPerformance figure",
            "inter_region_gbps": "50% of the instance's bandwidth from 32 vCPUs, 5 Gbps below",
            "gb_processed": "bytes_total × ⌈steps/H⌉ / 10^9",
        },
        "not_modelled": "latency, NCCL protocol overhead (times are lower bounds); the EFA phases inside a spoke "
                        "and the node bandwidth they take; instance packet and connection allowances; "
                        "attachment-hours (labnet.cost.estimate adds them)",
        "source_module": __name__,
    }


# -- small helpers -----------------------------------------------------------------------------------
def _strategies(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return list(STRATEGIES)
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else None
    if not names or not all(isinstance(n, str) for n in names):
        raise InvalidSpecError("strategies", value, "must be a strategy name or a list of them",
                               f"choose from {', '.join(STRATEGIES)}")
    for name in names:
        if name not in STRATEGIES:
            raise InvalidSpecError("strategies", name, "is not a strategy the planner knows",
                                   f"choose from {', '.join(STRATEGIES)}")
    return list(dict.fromkeys(names))


def _user_pair(threads: object, socks: object, lim: LimitSet) -> tuple[int, int] | None:
    if threads is None and socks is None:
        return None
    if threads is None or socks is None:
        field = "nccl_socket_nthreads" if threads is None else "nccl_nsocks_perthread"
        raise InvalidSpecError(field, None, "give both NCCL settings or neither",
                               "for example nccl_socket_nthreads=2, nccl_nsocks_perthread=8 (NCCL's AWS default)")
    t_min, t_max = int(lim.value("nccl_socket_nthreads_min")), int(lim.value("nccl_socket_nthreads_max"))
    most = int(lim.value("nccl_sockets_per_connection_max"))
    t = _whole("nccl_socket_nthreads", threads, t_min, f"NCCL accepts {t_min} to {t_max}")
    s = _whole("nccl_nsocks_perthread", socks, int(lim.value("nccl_nsocks_perthread_min")),
               f"NCCL_SOCKET_NTHREADS × NCCL_NSOCKS_PERTHREAD may be at most {most}")
    if t > t_max:
        raise InvalidSpecError("nccl_socket_nthreads", threads, f"NCCL accepts {t_min} to {t_max}", "")
    if t * s > most:
        raise InvalidSpecError("nccl_nsocks_perthread", socks,
                               f"NCCL_SOCKET_NTHREADS × NCCL_NSOCKS_PERTHREAD = {t * s} exceeds NCCL's {most}",
                               f"at most {most // t} with {t} thread(s)")
    return t, s


def _whole(field: str, value: object, least: int, fix: str) -> int:
    """A whole number of at least ``least``; floats such as 7e9 are fine when they are whole."""
    ok = not isinstance(value, bool) and isinstance(value, (numbers.Real, Decimal)) and math.isfinite(float(value))
    if ok and value == int(value) and int(value) >= least:  # type: ignore[arg-type]
        return int(value)  # type: ignore[arg-type]
    rule = f"must be a whole number of at least {least}"
    raise InvalidSpecError(field, value, rule, fix)


def _n(value: Decimal) -> str:
    return f"{value.normalize():,f}"


def _s(seconds: Fraction) -> str:
    return f"{float(seconds):.3g} s"


def _gb(count: int) -> str:
    return f"{count / 1e9:,.4g} GB"


def _g(value: Decimal | Fraction | None) -> str:
    """Gbps as a short number: 2.5, 100, 16.67."""
    return "?" if value is None else f"{float(value):,.4g}"


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _count(k: int, what: str) -> str:
    return f"{k} {what}" + ("" if k == 1 else "s")


__all__ = ["plan", "load_limits", "nccl_pair", "LimitSet", "Limit", "STRATEGIES", "LIMITS_FILE"]
