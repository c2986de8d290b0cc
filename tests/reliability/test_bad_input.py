"""Issue 5, item 7: bad input, through the public API functions the notebooks and forms call
(``labnet.size``, ``labnet.Lab`` and its operations, ``labnet.tables.write``, ``labnet.instance_types``).

Every bad value must raise a LabnetError whose message names the parameter, before any AWS call, and
nothing may be created. "Before any AWS call" is checked by counting every call labnet's clients
make (a botocore ``before-call`` hook). Two kinds of value can only be judged with EC2's own facts:
a well-formed instance type EC2 does not offer, and AZ counts or names the region does not have;
for those the only calls allowed are read-only Describe* calls (and sizing caches their answers).

A hand-written list holds the nasty ones; hypothesis generates the bulk. Every rejected input is
counted for the closing note (test-artifacts/reliability-figures.json)."""

from __future__ import annotations

import ipaddress
import math
import re

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labnet
from labnet import preflight, request, sizing, tables
from labnet.facts import instances
from tests.reliability.util import left_behind

pytestmark = pytest.mark.e2e

SMALL = {"spokes": 2, "nodes_per_spoke": 4, "azs": 1}
# spokes=[names] reports the offending name as spoke_names[i] (tests/test_sizing.py pins that field).
ALIASES = {"spokes": ("spokes", "spoke_names")}
READ_ONLY = ("Describe", "Get")
HYPO = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
                database=None)


class Checker:
    """Runs one bad input and records what went wrong, if anything."""

    def __init__(self, calls, figures, group):
        self.calls, self.figures, self.group = calls, figures, group
        self.failures: list[str] = []
        self.tried = 0

    def rejects(self, what: str, fn, field: str, reads: bool = False) -> None:
        instances._cache.clear()  # facts cached by an earlier call would hide a call made before rejecting
        self.calls.clear()
        self.tried += 1
        self.figures.bad_inputs(self.group)
        try:
            fn()
        except labnet.LabnetError as exc:
            text = str(exc)
            if not any(name in text for name in ALIASES.get(field, (field,))):
                self.failures.append(f"{what}: message does not name {field!r}: {text[:200]}")
            if any(not c.startswith(READ_ONLY) for c in self.calls):
                self.failures.append(f"{what}: mutating AWS calls before rejecting: {self.calls}")
            elif self.calls and not reads:
                self.failures.append(f"{what}: AWS calls before rejecting: {self.calls}")
        except Exception as exc:  # noqa: BLE001 reported as a failure
            self.failures.append(f"{what}: {type(exc).__name__} (not a labnet error): {str(exc)[:200]}")
        else:
            self.failures.append(f"{what}: accepted")

    def done(self, ec2) -> None:
        assert not self.failures, f"{len(self.failures)} of {self.tried} bad inputs mishandled:\n" + \
            "\n".join(self.failures)
        assert left_behind(ec2) == 0


def size_with(**bad):
    return lambda: labnet.size(**{**SMALL, **bad})


# -- hand-written: the nasty ones --------------------------------------------------------------------
NAN, INF = float("nan"), float("inf")

SIZE_NASTY = [  # (parameter, value, needs EC2's facts)
    *[("spokes", v, False) for v in (0, -1, 5001, 10_000, 10**9, 2.5, NAN, INF, True, "3", "", [], {},
                                     ["a", "a"], ["Bad Name"], ["spoke/1"], ["ok", 5], ["é"], ["x" * 40], b"3")],
    *[("nodes_per_spoke", v, False) for v in (0, -5, 100_001, 10**6, 10**30, 1.5, NAN, INF, None, "64", True,
                                              [64], -0.0)],
    ("nodes_per_spoke", 50_000, True),  # in range, but 50,000 EFA nodes need more than a /16
    *[("instance_type", v, False) for v in ("", None, 5, "p5", "P5.48XLARGE", "p5.48xlarge ", "p5.48xlarge\n",
                                            "x" * 65, "../etc/passwd", "p5.48xlarge; rm -rf /", "ünicode.large",
                                            ["p5.48xlarge"], "p5 48xlarge", ".", "p5..48xlarge")],
    *[("instance_type", v, True) for v in ("p99.48xlarge", "zz9.nano")],
    ("interface_mode", "efa", True),  # with m5.large below: no EFA on that type
    *[("azs", v, False) for v in (0, -1, 100, 1.5, NAN, None, "2", "", [], True, [1], ["us-east-1a", 5])],
    *[("azs", v, True) for v in (7, ["us-west-2a"], ["us-east-1a", "us-east-1a"], ["us-east-1z"])],
    *[("supernet", v, False) for v in ("", None, 10, "10.0.0.0", "10.0.0.0/33", "10.0.0.0/4", "10.0.0.1/8",
                                       "300.0.0.0/8", "::/0", "fe80::/64", "10.0.0.0/8 ", "10.0.0.0/8\n",
                                       "not a cidr", "10.0.0.0/29", "0.0.0.0/0", "10.0.0.0/-1", "10.0.0.0/8/8",
                                       ["10.0.0.0/8"], "１０.0.0.0/8")],
    ("supernet", "10.0.0.0/28", True),  # well formed, far too small for two spokes
    *[("region", v, False) for v in ("", None, "us-east", "US-EAST-1", "xx-east-9", "mars-north-1", "us-east-1\n",
                                     "us-east-1 ", 1, "../../etc", "us-east-1a", "ü")],
    *[("interface_mode", v, False) for v in ("", None, "EFA", "infiniband", 1, ["efa"])],
    *[("headroom", v, False) for v in (-0.1, 11, NAN, INF, -INF, "0.25", None, True, [0.25])],
    *[("public_subnets", v, False) for v in ("yes", 1, None, "False")],
    *[("s3_endpoint", v, False) for v in ("no", 0, None, "True")],
    *[("project", v, False) for v in ("x" * 300, "semi;colon", None, 5, "new\nline", "tab\there", "aws:x\x00")],
    *[("owner", v, False) for v in ("x" * 257, "a<b>", None, 3.5, "end\n")],
    *[("target", v, False) for v in ("", None, "gcp", "AWS", 5, ["emulator"], "emulator ")],
]

STACK_NAMES = ["", None, 5, "has space", "a/b", "../x", "..", ".", "-leading", "_under", "ü-net", "日本", "x" * 500,
               "x" * 101, "ml-net\n", "ml net", "a\\b", "con:", "🙂", "nul\x00", "ml-net\t", " ml-net", b"ml-net",
               ["ml-net"], "ml-net/..", "~root", "$HOME", "a" * 100 + "/"]


def test_nasty_inputs_are_refused_before_any_aws_call(ec2, api_calls, figures, small_spec, tmp_path):
    check = Checker(api_calls, figures, "hand-written")
    for param, value, reads in SIZE_NASTY:
        extra = {"instance_type": "m5.large"} if param == "interface_mode" and value == "efa" else {}
        check.rejects(f"size({param}={value!r:.40})", size_with(**{param: value, **extra}), param, reads)

    for name in STACK_NAMES:
        check.rejects(f"Lab({name!r:.40})", lambda: labnet.Lab(name, small_spec, engine="rehearsal"), "stack_name")
    spec_dict = small_spec.to_dict()
    for bad, field in [
        (None, "spec"), (5, "spec"), ("spec", "spec"), ([], "spec"), ({}, "spokes"),
        ({**spec_dict, "spokes": []}, "spokes"),
        ({**spec_dict, "region": "nowhere"}, "region"),
        ({**spec_dict, "supernet": "10.0.0.0/33"}, "supernet"),
        ({k: v for k, v in spec_dict.items() if k != "region"}, "region"),
        ({**spec_dict, "spokes": [{**spec_dict["spokes"][0], "cidr": "10.0.0.0/8"}]}, "spokes[0]"),
        ({**spec_dict, "spokes": [spec_dict["spokes"][0]] * 2}, "spokes[1]"),
        ({**spec_dict, "spokes": [{**spec_dict["spokes"][0], "subnets": "x"}]}, "spokes[0].subnets"),
        ({**spec_dict, "tags": {"extra": [1, 2]}}, "tags"),
        ({**spec_dict, "tags": {"extra": {"stack": "hijack"}}}, "tags.stack"),
        ({**spec_dict, "security": {"cross_spoke_ports": [0, 70000]}}, "security.cross_spoke_ports"),
        ({**spec_dict, "transit_gateway": {"amazon_side_asn": 1}}, "transit_gateway.amazon_side_asn"),
        ({**spec_dict, "transit_gateway": {"route_tables": [None]}}, "transit_gateway.route_tables"),
        ({**spec_dict, "workload": {"instance_type": "p5.48xlarge"}}, "workload"),
        ({**spec_dict, "s3_endpoint": "yes"}, "s3_endpoint"),
    ]:
        check.rejects(f"Lab(spec={str(bad):.50})", lambda: labnet.Lab("bad-spec", bad, engine="rehearsal"), field)
    check.rejects("Lab(new stack, no spec)", lambda: labnet.Lab("no-spec-here"), "spec")
    for field, kwargs in [("target", {"target": v}) for v in ("", "gcp", None, 5, "AWS")] + \
                         [("engine", {"engine": v}) for v in ("", "terraform", None, 5, "Rehearsal")] + \
                         [("backend", {"backend": v}) for v in (5, [], b"s3://x")] + \
                         [("progress", {"progress": v}) for v in (5, "print", [print])]:
        check.rejects(f"Lab({kwargs!r:.40})", lambda: labnet.Lab("bad-args", small_spec, **{"engine": "rehearsal",
                                                                                             **kwargs}), field)
    lab = labnet.Lab("bad-resume", small_spec, engine="rehearsal")
    for v in ("yes", 1, None):
        check.rejects(f"up(resume={v!r})", lambda: lab.up(resume=v), "resume")
    for v in (None, "x", 5):
        check.rejects(f"spec_warnings({v!r})", lambda: labnet.spec_warnings(v), "spec")

    frame = pd.DataFrame({"a": [1]})
    for path, field in [("", "path"), (None, "path"), (5, "path"), ("out.xlsx", "path"), ("out", "path"),
                        (str(tmp_path / "missing" / "out.csv"), "path"), (str(tmp_path), "path"),
                        (b"out.csv", "path"), (str(tmp_path / "dir.csv"), "path")]:
        if path == str(tmp_path / "dir.csv"):
            (tmp_path / "dir.csv").mkdir()
        check.rejects(f"tables.write(path={path!r:.50})", lambda: tables.write(frame, path), field)
    for f in (None, "frame", [1, 2], {"a": 1}):
        check.rejects(f"tables.write(frame={f!r})", lambda: tables.write(f, tmp_path / "o.csv"), "frame")

    for kwargs, field in [({"target": "gcp"}, "target"), ({"region": "mars-1"}, "region"),
                          ({"region": None}, "region"), ({"efa_only": "yes"}, "efa_only")]:
        check.rejects(f"instance_types({kwargs})", lambda: labnet.instance_types(**kwargs), field)
    check.done(ec2)


# -- hypothesis: the bulk ----------------------------------------------------------------------------
def _not_in_range(lo: int, hi: int):
    """Values that are not a whole number in [lo, hi] (floats like 3.0 count as whole numbers)."""
    def ok(v):
        if isinstance(v, bool):
            return False
        if isinstance(v, float):
            return math.isfinite(v) and v.is_integer() and lo <= v <= hi
        return isinstance(v, int) and lo <= v <= hi
    return st.one_of(st.integers(max_value=lo - 1), st.integers(min_value=hi + 1), st.floats(),
                     st.text(max_size=8), st.none(), st.booleans(), st.lists(st.integers(), max_size=2),
                     st.binary(max_size=4), st.dictionaries(st.text(max_size=2), st.integers(), max_size=1)
                     ).filter(lambda v: not ok(v))


def _valid_cidr(s) -> bool:
    try:
        net = ipaddress.IPv4Network(s, strict=True)
    except (ValueError, TypeError):
        return False
    return isinstance(s, str) and "/" in s and 8 <= net.prefixlen <= 28 and s == s.strip()


CIDRISH = st.builds(lambda a, b, c, d, p, sep: f"{a}.{b}.{c}.{d}{sep}{p}",
                    *[st.integers(-5, 400)] * 4, st.integers(-3, 40), st.sampled_from(["/", "/", " /", "\\", "//"]))
TAG_OK = re.compile(r"[\w .:/=+\-@]*")
INSTANCE_FORMAT = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9-]+")

REAL_INSTANCE_TYPES = {"p5.48xlarge", "m5.large", "t3.micro", "c5.large"}  # what random text could hit

BAD_SIZE_VALUES = {
    # spokes=None is the default ("3, unless regions= says how many per region"), not a bad value.
    "spokes": _not_in_range(1, 5000).filter(lambda v: not isinstance(v, list) and v is not None),
    "spoke names": st.lists(st.text(max_size=40), max_size=3).filter(
        lambda names: not names or len(set(names)) < len(names)
        or not all(preflight.SPOKE_NAME_RE.fullmatch(n) for n in names)),
    "nodes_per_spoke": _not_in_range(1, request.MAX_NODES_PER_SPOKE),
    "supernet": st.one_of(st.text(max_size=30), CIDRISH, st.integers(), st.none()).filter(
        lambda s: not _valid_cidr(s)),
    "region": st.one_of(st.text(max_size=20), st.integers(), st.none()).filter(
        lambda r: r not in instances.known_regions()),
    "interface_mode": st.one_of(st.text(max_size=10), st.integers(), st.none()).filter(
        lambda m: m not in ("efa", "efa-only", "ena")),
    "headroom": st.one_of(st.floats(), st.integers(), st.text(max_size=5), st.none()).filter(
        lambda h: isinstance(h, bool) or not isinstance(h, (int, float)) or not (0 <= h <= 10)),
    "public_subnets": st.one_of(st.integers(), st.text(max_size=5), st.none(), st.floats()),
    "s3_endpoint": st.one_of(st.integers(), st.text(max_size=5), st.none(), st.floats()),
    "project": st.one_of(st.text(min_size=1, max_size=300), st.integers(), st.none()).filter(
        lambda t: not (isinstance(t, str) and len(t) <= 256 and TAG_OK.fullmatch(t))),
    "owner": st.one_of(st.text(min_size=1, max_size=300), st.integers(), st.none()).filter(
        lambda t: not (isinstance(t, str) and len(t) <= 256 and TAG_OK.fullmatch(t))),
    "target": st.one_of(st.text(max_size=12), st.integers(), st.none()).filter(lambda t: t not in ("emulator", "aws")),
    "azs": _not_in_range(1, 6).filter(lambda v: not isinstance(v, (list, str, bytes))),
    "instance_type": st.one_of(st.text(max_size=70), st.integers(), st.none()).filter(
        lambda t: t not in REAL_INSTANCE_TYPES),
}


def _needs_facts(param: str, value) -> bool:
    """Only EC2 can tell: an AZ count above the region's, a well-formed but unknown instance type."""
    if param == "azs":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
            and float(value).is_integer() and 6 < value <= request.MAX_AZS
    if param == "instance_type":
        return isinstance(value, str) and len(value) <= 64 and bool(INSTANCE_FORMAT.fullmatch(value))
    return False


@pytest.mark.parametrize("param", sorted(BAD_SIZE_VALUES))
@settings(HYPO, max_examples=50)
@given(data=st.data())
def test_size_bulk(param, data, ec2, api_calls, figures):
    value = data.draw(BAD_SIZE_VALUES[param])
    arg = "spokes" if param == "spoke names" else param
    check = Checker(api_calls, figures, f"hypothesis size({param})")
    check.rejects(f"size({arg}={value!r:.60})", size_with(**{arg: value}), arg, _needs_facts(param, value))
    assert not check.failures, check.failures


@HYPO
@given(name=st.one_of(st.text(max_size=600), st.text(alphabet=st.characters(codec="utf-8"), max_size=120),
                      st.integers(), st.none(), st.binary(max_size=20)).filter(
    lambda n: not (isinstance(n, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", n))))
def test_stack_name_bulk(name, ec2, api_calls, figures, small_spec, labnet_home):
    check = Checker(api_calls, figures, "hypothesis Lab(stack_name)")
    check.rejects(f"Lab({name!r:.60})", lambda: labnet.Lab(name, small_spec, engine="rehearsal"), "stack_name")
    assert not check.failures, check.failures
    assert not (labnet_home / "stacks").exists() or all(
        p.name.isascii() and "/" not in p.name for p in (labnet_home / "stacks").iterdir())


GARBAGE = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
                    st.lists(st.one_of(st.integers(), st.text(max_size=4)), max_size=3),
                    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2))


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


def _replace(value, path, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        out = dict(value)
        if new is _DROP and not rest:
            out.pop(head)
        else:
            out[head] = _replace(value[head], rest, new)
        return out
    out = list(value)
    out[head] = _replace(value[head], rest, new)
    return out


_DROP = object()


@HYPO
@given(data=st.data())
def test_spec_dict_bulk(data, ec2, api_calls, figures, small_spec):
    """A valid spec dict with one value replaced by garbage (or one key dropped): Lab() either takes it
    (the garbage happened to be valid) or refuses it with a labnet error; never anything else."""
    base = small_spec.to_dict()
    paths = [p for p in _paths(base) if p]
    path = data.draw(st.sampled_from(paths))
    new = data.draw(st.one_of(GARBAGE, st.just(_DROP)) if isinstance(path[-1], str) else GARBAGE)
    spec = _replace(base, path, new)
    api_calls.clear()
    try:
        labnet.Lab("bulk-spec", spec, engine="rehearsal")
    except labnet.LabnetError as exc:
        figures.bad_inputs("hypothesis Lab(spec dict)")
        named = [str(k) for k in path if isinstance(k, str)]
        assert any(k in str(exc) for k in named) or "spec" in str(exc), (path, str(exc))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"{'.'.join(map(str, path))} = {new!r}: {type(exc).__name__} (not a labnet error): {exc}")
    assert api_calls == []

