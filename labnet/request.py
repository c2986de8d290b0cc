"""The sizing request: ``labnet.size``'s arguments checked (and a form's or command line's text
parsed) without any AWS call, so that bad input is refused, naming the field, the value and the rule,
before a target is reached. What only EC2 knows (whether it offers an instance type, and where; how
many AZs a region has) is checked by sizing once the facts are read.
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping, Sequence

from . import preflight
from .errors import InvalidSpecError

MAX_NODES_PER_SPOKE = 100_000
MAX_SPOKES = preflight.MAX_TGW_ATTACHMENTS
MAX_AZS = 26  # AZ names end in one letter; the region's real count comes from EC2
INSTANCE_TYPE_RE = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9-]+")  # family.size: p5.48xlarge, c7i.metal-24xl


def check_known_region(region: object) -> str:
    from .facts.instances import known_regions  # botocore's endpoint data: loaded on first use

    preflight.check_region(region)
    regions = known_regions()
    if region not in regions:
        raise InvalidSpecError("region", region, "is not a region EC2 is offered in",
                               "for example 'us-east-1' or 'eu-west-1'")
    return region  # type: ignore[return-value]


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
                               f"{field} per region", "pass a dict, for example {'us-east-1': 'use1-az6'}")
    if multi and field == "azs" and not isinstance(value, (int, float)):
        raise InvalidSpecError(field, value, "AZ names belong to one region; a network across regions takes a "
                               "number of AZs or a dict region → AZs", "for example azs=2")
    return value


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


VPC_ID_RE = re.compile(r"vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})")
TGW_ID_RE = re.compile(r"tgw-(?:[0-9a-f]{8}|[0-9a-f]{17})")


def check_existing(existing_vpcs: object, transit_gateway_id: object, storage: object,
                   new_names: Sequence[str], regions: object = None) -> dict[str, dict[str, str]]:
    """``existing_vpcs`` / ``transit_gateway_id`` / ``storage`` checked without any AWS call; returns
    the existing VPCs as ``{spoke name: {"vpc_id": ..., "secondary_cidr": ...}}``.

    ``existing_vpcs`` maps a spoke name to a VPC id (``{"data": "vpc-0123456789abcdef0"}``), or to
    ``{"vpc_id": ..., "secondary_cidr": "10.255.255.224/27" | "auto"}`` to let labnet add a secondary
    CIDR block for its attachment subnets when the VPC has no free /28 in an AZ (only when asked)."""
    out: dict[str, dict[str, str]] = {}
    if existing_vpcs is not None:
        if not isinstance(existing_vpcs, Mapping):
            raise InvalidSpecError("existing_vpcs", existing_vpcs, "must map a spoke name to a VPC id",
                                   "for example {'data': 'vpc-0123456789abcdef0'}")
        if regions is not None and existing_vpcs:
            raise InvalidSpecError("existing_vpcs", dict(existing_vpcs), "existing VPCs join a network in one "
                                   "Region (a network across regions routes each Region's summary block)",
                                   "size the network with region= (no regions=) to attach existing VPCs")
        seen: dict[str, str] = {}
        for name, value in existing_vpcs.items():
            field = f"existing_vpcs[{name!r}]"
            if not isinstance(name, str):
                raise InvalidSpecError("existing_vpcs", name, "spoke names must be text", "for example 'data'")
            preflight.check_spoke_name(field, name)
            if name in new_names:
                raise InvalidSpecError(field, name, "is also the name of a new spoke: spoke names must be unique",
                                       "name the existing VPC's spoke something else, for example 'data'")
            entry = dict(value) if isinstance(value, Mapping) else {"vpc_id": value}
            unknown = set(entry) - {"vpc_id", "secondary_cidr"}
            if unknown:
                raise InvalidSpecError(field, dict(entry), f"takes only vpc_id and secondary_cidr, not "
                                       f"{', '.join(sorted(map(str, unknown)))}", "")
            vpc_id = entry.get("vpc_id")
            if not isinstance(vpc_id, str) or not VPC_ID_RE.fullmatch(vpc_id):
                raise InvalidSpecError(field, vpc_id, "must be a VPC id",
                                       "VPC ids look like 'vpc-0123456789abcdef0'")
            if vpc_id in seen:
                raise InvalidSpecError(field, vpc_id, f"is already spoke {seen[vpc_id]!r}: one spoke per VPC", "")
            seen[vpc_id] = name
            extra = entry.get("secondary_cidr", "")
            if extra not in ("", None, "auto"):
                preflight.parse_cidr(f"{field}.secondary_cidr", extra, preflight.VPC_PREFIX_RANGE)
            out[name] = {"vpc_id": vpc_id, "secondary_cidr": str(extra or "")}
    if transit_gateway_id is not None:
        if not isinstance(transit_gateway_id, str) or not TGW_ID_RE.fullmatch(transit_gateway_id):
            raise InvalidSpecError("transit_gateway_id", transit_gateway_id, "must be a Transit Gateway id or None",
                                   "TGW ids look like 'tgw-0123456789abcdef0'; None creates one")
        if regions is not None:
            raise InvalidSpecError("transit_gateway_id", transit_gateway_id, "an existing Transit Gateway serves "
                                   "one Region; a network across regions has a TGW per Region",
                                   "size the network with region= (no regions=) to use an existing TGW")
    if storage is not None:
        from .spec import STORAGE_PORTS

        if not isinstance(storage, Mapping):
            raise InvalidSpecError("storage", storage, "must map a spoke name to a storage kind",
                                   "for example {'data': 'fsx-lustre'}")
        names = set(new_names) | set(out)
        for name, kind in storage.items():
            if name not in names:
                raise InvalidSpecError(f"storage[{name!r}]", name, "is not a spoke of the network",
                                       f"name one of {sorted(names)}")
            if kind not in STORAGE_PORTS:
                raise InvalidSpecError(f"storage[{name!r}]", kind, f"must be one of {sorted(STORAGE_PORTS)}",
                                       "'fsx-lustre' opens TCP 988 and 1018-1023 (FSx for Lustre clients)")
    return out


def parse_pairs(field: str, text: object, example: str) -> dict[str, str] | None:
    """``"data=vpc-0abc…, lake=vpc-0def…"`` (a form's or a command line's way to say ``existing_vpcs=``
    or ``storage=``; repeated options joined by commas) as a dict; empty text means none (None)."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, (list, tuple)):
        text = ",".join(str(t) for t in text)
    if not isinstance(text, str):
        raise InvalidSpecError(field, text, f"must be text like {example!r}", "")
    out: dict[str, str] = {}
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise InvalidSpecError(field, text, f"{part!r} is not NAME=VALUE", f"for example {example!r}")
        if name.strip() in out:
            raise InvalidSpecError(field, text, f"names {name.strip()} twice", "")
        out[name.strip()] = value.strip()
    return out or None


def check_request(*, instance_type: object, region: object = "us-east-1", spokes: object = None, regions: object = None,
                  azs: object = 2, compute_az: object = None, tags: object = None, existing_vpcs: object = None,
                  transit_gateway_id: object = None, storage: object = None, **rest: object) -> None:
    """Every check of a sizing request that needs no facts from EC2 (``labnet.size``'s arguments),
    in one place and once per call, before any target is reached. With ``regions``, ``region`` is left
    at its default or names the first of them (the network's own region)."""
    check_known_region(region)
    check_instance_type_name(instance_type)
    # Per-region dicts of azs / compute_az are checked per region by check_regions below.
    check_arguments(spokes=None if (existing_vpcs and spokes == 0) else spokes,
                    azs=2 if isinstance(azs, Mapping) else azs,
                    compute_az=None if isinstance(compute_az, Mapping) else compute_az, **rest)
    if regions is not None:
        check_regions(regions, azs, compute_az)
        if spokes is not None:
            raise InvalidSpecError("spokes", spokes, "give either spokes= or regions= (region → number of "
                                   "spokes), not both", "for example regions={'us-east-1': 2, 'us-west-2': 2}")
        if region != "us-east-1" and region != next(iter(regions)):  # type: ignore[call-overload]
            raise InvalidSpecError("region", region, "with regions=, the network's own region is the first of "
                                   "regions", f"leave region out, or list {region} first in regions")
    elif isinstance(azs, Mapping) or isinstance(compute_az, Mapping):
        raise InvalidSpecError("azs" if isinstance(azs, Mapping) else "compute_az",
                               dict(azs) if isinstance(azs, Mapping) else dict(compute_az),  # type: ignore[arg-type]
                               "is given per region, but the network has one region",
                               "pass one value, or size with regions=")
    if tags is not None:
        preflight.check_tags(tags)  # type: ignore[arg-type]
    new_names = [n for names in _names_by_region(spokes, regions, str(region)).values() for n in names] \
        if not (existing_vpcs and spokes == 0) else []
    check_existing(existing_vpcs, transit_gateway_id, storage, new_names, regions)
