"""The connectivity matrix and the exposure list as tables a person reads (pandas).

:mod:`labnet.analysis.snapshot` reads the network, :mod:`labnet.analysis.reachability` reasons about
it; this module turns the verdicts into tidy frames, one row per (source spoke, destination spoke,
probe), and answers the one question a batch job gates on (:func:`all_reachable`).

    >>> frame = lab.connectivity()
    >>> frame[frame.reachable == False]          # what is blocked, where and why
    >>> labnet.analysis.verify.matrix(frame)     # spoke × spoke, "ok" or the reason codes
"""

from __future__ import annotations

from typing import Iterable

import pandas as pd

from .reachability import Finding, Verdict

COLUMNS = ["src_spoke", "dst_spoke", "probe", "protocol", "port", "transport", "reachable", "reason",
           "blocked_at", "path", "detail", "src_region", "dst_region"]
EXPOSURE_COLUMNS = ["spoke", "resource", "resource_id", "rule", "protocol", "ports", "source", "why", "region"]


def connectivity(verdicts: Iterable[Verdict]) -> pd.DataFrame:
    """One row per verdict. ``reachable`` is a nullable boolean: True, False, or <NA> where the probe
    does not apply (EFA between spokes), so ``frame.reachable.all()`` is True on a healthy network
    and ``frame[frame.reachable == False]`` lists exactly what is blocked. ``port`` is <NA> for EFA.
    ``src_region`` and ``dst_region`` say where each spoke is: across regions,
    ``frame[frame.src_region != frame.dst_region]`` are the pairs that cross a TGW peering."""
    rows = [v.__dict__ for v in verdicts]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["reachable"] = frame["reachable"].astype("boolean")
    frame["port"] = frame["port"].astype("Int64")
    return frame


def exposure(findings: Iterable[Finding]) -> pd.DataFrame:
    """One row per rule that admits traffic from outside the stack's spokes."""
    return pd.DataFrame([f.__dict__ for f in findings], columns=EXPOSURE_COLUMNS)


def blocked(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows that are blocked (not those that do not apply)."""
    return frame[frame["reachable"].eq(False).fillna(False).astype(bool)]


def all_reachable(frame: pd.DataFrame) -> bool:
    """True when no row of a connectivity frame is blocked (rows that do not apply do not count)."""
    return blocked(frame).empty


def matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """Spoke × spoke: "ok" where every probe that applies is reachable, else the reason codes of the
    blocked probes (``TGW_NO_ROUTE (tcp:29500, tcp:50000)``). Rows are sources, columns destinations.
    A network across regions gets (region, spoke) on both axes, each region's spokes together."""
    order = spoke_order(frame)
    cells: dict[tuple[str, str], str] = {}
    for (src, dst), group in frame.groupby(["src_spoke", "dst_spoke"], sort=False):
        bad = blocked(group)
        if bad.empty:
            cells[(src, dst)] = "ok"
            continue
        by_reason: dict[str, list[str]] = {}
        for row in bad.itertuples(index=False):
            by_reason.setdefault(row.reason, []).append(row.probe)
        cells[(src, dst)] = "; ".join(f"{r} ({', '.join(p)})" for r, p in by_reason.items())
    out = pd.DataFrame([[cells.get((s, d), "") for d in order] for s in order], index=order, columns=order)
    out.index.name, out.columns.name = "from \\ to", None
    regions = regions_of(frame)
    if len(set(regions.values())) > 1:
        axis = [(regions[s], s) for s in order]
        out.index = pd.MultiIndex.from_tuples(axis, names=["from region", "from spoke"])
        out.columns = pd.MultiIndex.from_tuples(axis, names=["to region", "to spoke"])
    return out


def regions_of(frame: pd.DataFrame) -> dict[str, str]:
    """{spoke: region} of a connectivity frame ("" for frames without region columns)."""
    out: dict[str, str] = {}
    if "src_region" in frame.columns:
        out.update(zip(frame["src_spoke"], frame["src_region"].fillna("").astype(str)))
    return {s: out.get(s, "") for s in dict.fromkeys(frame["src_spoke"])}


def spoke_order(frame: pd.DataFrame) -> list[str]:
    """The frame's spokes in its own order, grouped by region (regions in order of first appearance)."""
    regions = regions_of(frame)
    first = {r: i for i, r in enumerate(dict.fromkeys(regions.values()))}
    return sorted(regions, key=lambda s: first[regions[s]])  # stable: the stack's order within a region


def summary(frame: pd.DataFrame) -> str:
    """One line: how many spoke pairs and rows are reachable."""
    pairs = frame.groupby(["src_spoke", "dst_spoke"], sort=False)["reachable"].apply(
        lambda s: not s.eq(False).fillna(False).any())
    bad = blocked(frame)
    applies = int(frame["reachable"].notna().sum())
    text = (f"{int(pairs.sum())} of {len(pairs)} spoke pairs reachable "
            f"({applies - len(bad)} of {applies} probe checks pass)")
    regions = regions_of(frame)
    if len(set(regions.values())) > 1:
        across = pairs[[regions[s] != regions[d] for s, d in pairs.index]]
        text += (f"; across regions {int(across.sum())} of {len(across)}, "
                 f"within regions {int(pairs.sum()) - int(across.sum())} of {len(pairs) - len(across)}")
    if not bad.empty:
        codes = bad["reason"].value_counts()
        text += "; blocked: " + ", ".join(f"{c} ×{n}" for c, n in codes.items())
    return text
