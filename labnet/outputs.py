"""A stack's outputs, parsed once: what ``up`` exported, as typed records every reader takes.

The program exports one nested dict (``Lab.exports()``); any value in it, at any depth, may be a secret,
which arrives as :data:`SECRET` in place of the dict, list or string. :meth:`StackOutputs.parse` reads it
once, here, and says for each field which of three things it is: a value, :data:`SECRET` (known to
exist, not shown), or ``None`` (not in the outputs: a stack saved before labnet exported it). The
views (tables, diagram, launchers), the snapshot the verifier reads and the facade use these records;
none of them parses the dict itself.

    >>> out = lab.stack_outputs()
    >>> out.spokes["spoke-01"].vpc_id, out.tgw_ids()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .errors import InvalidSpecError


class Secret(str):
    """The one marker of a secret output. A ``str`` equal to ``"[secret]"`` (so outputs saved as
    JSON keep it, and tables show it), whose repr says nothing more."""

    __slots__ = ()

    def __new__(cls) -> "Secret":
        return super().__new__(cls, "[secret]")

    def __repr__(self) -> str:
        return "[secret]"


SECRET = Secret()


def is_secret(value: object) -> bool:
    return isinstance(value, str) and value == SECRET


def _text(value: object) -> str | None:
    """A scalar output: its text, :data:`SECRET`, or None when it is not there."""
    if value is None:
        return None
    if is_secret(value):
        return SECRET
    return str(value)


@dataclass(frozen=True)
class SubnetOutput:
    name: str
    id: str | None
    cidr: str
    az: str
    az_id: str
    role: str


@dataclass(frozen=True)
class SpokeOutput:
    """One spoke's outputs. ``secret``: the whole entry is a secret (every id then reads as one)."""

    name: str
    region: str | None
    vpc_id: str | None = None
    cidr: str | None = None
    subnets: tuple[SubnetOutput, ...] | Secret = ()
    route_table_id: str | None = None
    attachment_id: str | None = None
    tgw_route_table: str | None = None
    security_group_id: str | None = None
    transit_gateway_id: str | None = None
    peer_prefix_list_id: str | None = None
    launch_template_id: str | None = None
    launch_template: Mapping[str, Any] | Secret | None = None
    endpoints: Mapping[str, str | None] = field(default_factory=dict)  # s3_endpoint_id, nat_gateway_id …
    secret: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict)
    # An existing VPC (issue 20): the team's route tables labnet added routes to, and the secondary
    # block labnet associated when asked. Storage (spec.storage): its kind and security group.
    existing: bool = False
    route_table_ids: tuple[str, ...] = ()
    added_cidr: str | None = None
    storage: str | None = None
    storage_security_group_id: str | None = None

    @property
    def compute_subnet_ids(self) -> tuple[str, ...]:
        """Where training nodes are: labnet's compute subnets, or an existing VPC's own subnets."""
        if is_secret(self.subnets):
            return ()
        return tuple(s.id for s in self.subnets  # type: ignore[union-attr]
                     if s.role in ("compute", "existing") and s.id)

    @classmethod
    def parse(cls, name: str, entry: object, home: str | None) -> "SpokeOutput":
        if not isinstance(entry, Mapping):
            s = SECRET if is_secret(entry) else None
            return cls(name, home, vpc_id=s, cidr=s, subnets=SECRET if s else (), route_table_id=s,
                       attachment_id=s, security_group_id=s, secret=s is not None)
        subnets_raw = entry.get("subnets")
        if is_secret(subnets_raw) or (subnets_raw is not None and not isinstance(subnets_raw, list)):
            subnets: tuple[SubnetOutput, ...] | Secret = SECRET
        else:
            subnets = tuple(
                SubnetOutput(str(sn.get("name", "")), _text(sn.get("id")), str(sn.get("cidr", "")),
                             str(sn.get("az", "")), str(sn.get("az_id", "")), str(sn.get("role", "")))
                if isinstance(sn, Mapping) else SubnetOutput("", SECRET, "", "", "", "")
                for sn in subnets_raw or ())
        lt = entry.get("launch_template")
        region = _text(entry.get("region")) or home
        return cls(
            name=name, region=region, vpc_id=_text(entry.get("vpc_id")), cidr=_text(entry.get("cidr")),
            subnets=subnets, route_table_id=_text(entry.get("route_table_id")),
            attachment_id=_text(entry.get("attachment_id")), tgw_route_table=_text(entry.get("tgw_route_table")),
            security_group_id=_text(entry.get("security_group_id")),
            transit_gateway_id=_text(entry.get("transit_gateway_id")),
            peer_prefix_list_id=_text(entry.get("peer_prefix_list_id")),
            launch_template_id=_text(entry.get("launch_template_id")),
            launch_template=SECRET if is_secret(lt) else (dict(lt) if isinstance(lt, Mapping) else None),
            endpoints={k: _text(entry[k]) for k in ENDPOINT_KEYS if k in entry},
            raw=dict(entry), existing=entry.get("existing") is True,
            route_table_ids=tuple(str(x) for x in entry.get("route_table_ids") or ()
                                  if isinstance(entry.get("route_table_ids"), list)),
            added_cidr=_text(entry.get("added_cidr")), storage=_text(entry.get("storage")),
            storage_security_group_id=_text(entry.get("storage_security_group_id")))


# The optional per-spoke gateways and endpoints, in the order the outputs table lists them.
ENDPOINT_KEYS = ("s3_endpoint_id", "internet_gateway_id", "nat_gateway_id", "public_route_table_id")


@dataclass(frozen=True)
class HubOutput:
    """One region's Transit Gateway. ``route_tables`` maps name → id, or is :data:`SECRET`."""

    region: str
    id: str | None
    arn: str | None = None
    asn: int | Secret | None = None
    summary: str | None = None
    route_tables: Mapping[str, str | None] | Secret = field(default_factory=dict)


@dataclass(frozen=True)
class PeeringOutput:
    requester: str
    accepter: str
    attachment_id: str | None
    routes: Mapping[str, str | None] | Secret = field(default_factory=dict)  # region → summary routed


@dataclass(frozen=True)
class FlowLogOutput:
    """Where one region's flow logs go (issue 19). ``owned``: labnet's own bucket for the stack, which
    destroy() keeps unless asked to delete it."""

    region: str
    destination: str | None
    type: str | None  # s3 | cloud-watch-logs
    bucket: str | None
    owned: bool
    expiry_days: int = 0


@dataclass(frozen=True)
class StackOutputs:
    """Every output of a stack, parsed. ``hubs``/``spokes``/``peerings`` are :data:`SECRET` when the
    whole export is a secret; ``raw`` is the dict as exported (for exports a reader does not type)."""

    region: str | None
    supernet: str | None
    hubs: Mapping[str, HubOutput] | Secret
    spokes: Mapping[str, SpokeOutput] | Secret
    peerings: tuple[PeeringOutput, ...] | Secret | None
    raw: Mapping[str, Any]
    # issue 19; empty for stacks deployed before flow logs, or with them off
    flow_logs: Mapping[str, FlowLogOutput] = field(default_factory=dict)
    existing_tgw: bool = False  # the home region's TGW existed before the stack (issue 20)

    @property
    def empty(self) -> bool:
        return not self.raw

    @classmethod
    def of(cls, value: "StackOutputs | Mapping[str, Any] | None", field_name: str = "exports") -> "StackOutputs":
        """``value`` if parsed already, else the dict ``Lab.exports()`` returns, parsed."""
        if isinstance(value, StackOutputs):
            return value
        if value is None:
            return cls.parse({})
        if not isinstance(value, Mapping):
            raise InvalidSpecError(field_name, type(value).__name__, "must be the dict Lab.exports() returns",
                                   "pass lab.exports()")
        return cls.parse(value)

    @classmethod
    def parse(cls, exports: Mapping[str, Any]) -> "StackOutputs":
        home = _text(exports.get("region"))
        return cls(region=home, supernet=_text(exports.get("supernet")), hubs=_hubs(exports, home),
                   spokes=_spokes(exports.get("spokes"), home), peerings=_peerings(exports.get("peerings")),
                   raw=dict(exports), flow_logs=_flow_logs(exports.get("flow_logs")),
                   existing_tgw=exports.get("transit_gateway_existing") is True)

    def log_buckets(self) -> dict[str, str]:
        """{region: bucket} of the stack's own flow-log buckets (known, not secret)."""
        return {r: f.bucket for r, f in self.flow_logs.items() if f.owned and f.bucket and not is_secret(f.bucket)}

    def network_cidrs(self) -> tuple[str, ...]:
        """The network's own blocks: each region's summary, as the outputs record them."""
        if is_secret(self.hubs):
            return ()
        own = [h.summary for h in self.hubs.values() if h.summary and not is_secret(h.summary)]  # type: ignore[union-attr]
        # Existing VPCs' blocks (issue 20), which may lie outside the supernet.
        own += [c for sp in ({} if is_secret(self.spokes) else self.spokes).values()  # type: ignore[union-attr]
                if sp.existing for c in sp.raw.get("cidrs") or () if isinstance(c, str) and not is_secret(c)]
        return tuple(dict.fromkeys(own))

    def hub(self, region: str) -> HubOutput | Secret | None:
        if is_secret(self.hubs):
            return SECRET
        return self.hubs.get(region)  # type: ignore[union-attr]

    def tgw_ids(self) -> dict[str, str]:
        """{region: TGW id} for every hub whose id is known (not secret, not missing)."""
        if is_secret(self.hubs):
            return {}
        return {r: h.id for r, h in self.hubs.items()  # type: ignore[union-attr]
                if h.id and not is_secret(h.id)}


def _flow_logs(value: object) -> dict[str, FlowLogOutput]:
    if not isinstance(value, Mapping):
        return {}
    out = {}
    for region, entry in value.items():
        if isinstance(entry, Mapping):
            days = entry.get("expiry_days")
            out[str(region)] = FlowLogOutput(
                str(region), _text(entry.get("destination")), _text(entry.get("type")), _text(entry.get("bucket")),
                entry.get("owned") is True, int(days) if isinstance(days, (int, float)) and not isinstance(days, bool)
                else 0)
    return out


def _hubs(exports: Mapping[str, Any], home: str | None) -> dict[str, HubOutput] | Secret:
    """Every region's TGW (``transit_gateways``), the spec's own region first. The top-level
    ``transit_gateway_*`` exports are the home region's (stacks saved before regions have only them)."""
    many = exports.get("transit_gateways")
    if is_secret(many) or (many is not None and not isinstance(many, Mapping)):
        return SECRET
    many = many or {}
    out: dict[str, HubOutput] = {}
    if home is not None and not is_secret(home) and ("transit_gateway_id" in exports or home in many):
        entry = many.get(home)
        if is_secret(entry):
            out[home] = HubOutput(home, SECRET, SECRET, SECRET, SECRET, SECRET)
        else:
            entry = entry if isinstance(entry, Mapping) else {}
            tables = exports.get("transit_gateway_route_tables", entry.get("route_tables"))
            out[home] = HubOutput(home, _text(exports.get("transit_gateway_id", entry.get("id"))),
                                  _text(exports.get("transit_gateway_arn", entry.get("arn"))), _asn(entry.get("asn")),
                                  _text(entry.get("summary", exports.get("supernet"))), _tables(tables))
    for region, entry in many.items():
        if region == home:
            continue
        if not isinstance(entry, Mapping):
            out[str(region)] = HubOutput(str(region), SECRET, SECRET, SECRET, SECRET, SECRET)
            continue
        out[str(region)] = HubOutput(str(region), _text(entry.get("id")), _text(entry.get("arn")),
                                     _asn(entry.get("asn")), _text(entry.get("summary")),
                                     _tables(entry.get("route_tables")))
    return out


def _asn(value: object) -> int | Secret | None:
    if is_secret(value):
        return SECRET
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _tables(value: object) -> dict[str, str | None] | Secret:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        return SECRET
    return {str(k): _text(v) for k, v in value.items()}


def _spokes(value: object, home: str | None) -> dict[str, SpokeOutput] | Secret:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        return SECRET
    return {str(name): SpokeOutput.parse(str(name), entry, home) for name, entry in value.items()}


def _peerings(value: object) -> tuple[PeeringOutput, ...] | Secret | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)):
        return SECRET
    out = []
    for p in value:
        if not isinstance(p, Mapping):
            out.append(PeeringOutput("", "", SECRET, SECRET))
            continue
        routes = p.get("routes")
        out.append(PeeringOutput(str(p.get("requester", "")), str(p.get("accepter", "")),
                                 _text(p.get("attachment_id")),
                                 _tables(routes) if routes is not None else {}))
    return tuple(out)
