"""The spoke × spoke connectivity picture: one cell per (source, destination) pair of a connectivity
frame (``Lab.connectivity()``), green where every probe that applies is reachable, red where any is
blocked, labelled with the reason code when the grid is small enough to read. Across regions the
spokes are grouped by region, each group named along the top and the right and fenced off by lines,
so the blocks off the diagonal are the pairs that cross a TGW peering.

    >>> fig = labnet.heatmap.draw(lab.connectivity())     # shows inline as a cell's last value
    >>> labnet.heatmap.save(frame, "connectivity.png")

Like :mod:`labnet.diagram`, the figure is built without pyplot (it shows once in a notebook, and
nothing depends on the session's backend), and matplotlib is imported only when a picture is drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidSpecError
from . import figure

if TYPE_CHECKING:  # typing only
    import pandas as pd
    from matplotlib.figure import Figure

OK, BLOCKED, NONE = "#16a34a", "#dc2626", "#e5e7eb"
LABEL_MAX = 16  # above this many spokes the cells are too small for their reason codes
NEEDED = ("src_spoke", "dst_spoke", "probe", "reachable", "reason")


def draw(frame: "pd.DataFrame", probe: str | None = None) -> "Figure":
    """The heatmap of a connectivity frame; ``probe`` (a label such as ``"tcp:29500"``) draws that
    probe alone instead of every probe at once."""
    frame = _check(frame, probe)
    if probe is not None:
        frame = frame[frame["probe"] == probe]
    from ..analysis import verify

    spokes = verify.spoke_order(frame)
    region_of = verify.regions_of(frame)
    groups = _groups(spokes, region_of)  # [(region, first index, last index)], one entry in one region
    n = len(spokes)
    where = {s: i for i, s in enumerate(spokes)}
    # 0 = nothing applies, 1 = all reachable, 2 = something blocked; the first blocked reason labels it.
    grid = [[0] * n for _ in range(n)]
    labels = [[""] * n for _ in range(n)]
    import pandas as pd

    for row in frame.itertuples(index=False):
        i, j = where[row.src_spoke], where[row.dst_spoke]
        if pd.isna(row.reachable):
            continue  # the probe does not apply to this pair
        if row.reachable:
            grid[i][j] = max(grid[i][j], 1)
        else:
            if grid[i][j] < 2:
                labels[i][j] = row.reason
            grid[i][j] = 2
    from matplotlib.colors import ListedColormap

    side = min(12.0, max(3.2, 0.5 * n + 2.2))
    fig = figure.new(side + 0.6, side)
    ax = fig.add_axes((0.22, 0.25, 0.70, 0.62))
    ax.imshow(grid, cmap=ListedColormap([NONE, OK, BLOCKED]), vmin=0, vmax=2, aspect="equal")
    font = 8 if n <= 8 else (6 if n <= LABEL_MAX else 5)
    tick_every = 1 if n <= 32 else max(1, n // 16)
    ticks = list(range(0, n, tick_every))
    ax.set_xticks(ticks, [spokes[k] for k in ticks], rotation=60, ha="right", fontsize=font)
    ax.set_yticks(ticks, [spokes[k] for k in ticks], fontsize=font)
    ax.set_xlabel("to (destination spoke)", fontsize=font + 1)
    ax.set_ylabel("from (source spoke)", fontsize=font + 1)
    if len(groups) > 1:
        for _region, first, _last in groups[1:]:
            ax.axhline(first - 0.5, color="#111827", linewidth=1.6)
            ax.axvline(first - 0.5, color="#111827", linewidth=1.6)
        for region, first, last in groups:
            middle = (first + last) / 2
            ax.text(middle, -0.6, region, ha="center", va="bottom", fontsize=font, fontweight="bold")
            ax.text(n - 0.4, middle, region, ha="left", va="center", rotation=270, fontsize=font,
                    fontweight="bold")
    if n <= LABEL_MAX:
        for i in range(n):
            for j in range(n):
                text = labels[i][j] or ("ok" if grid[i][j] == 1 else "")
                ax.text(j, i, text, ha="center", va="center", fontsize=max(4, font - 2),
                        color="white" if grid[i][j] else "#374151", wrap=True)
    ok = sum(cell == 1 for r in grid for cell in r)
    bad = sum(cell == 2 for r in grid for cell in r)
    probes = probe or ", ".join(dict.fromkeys(frame["probe"]))
    title = f"connectivity: {ok} of {ok + bad} spoke pairs reachable"
    if len(groups) > 1:
        where = {s: region_of[s] for s in spokes}
        cross = [grid[i][j] for i, a in enumerate(spokes) for j, b in enumerate(spokes) if where[a] != where[b]]
        title += (f" ({sum(c == 1 for c in cross)} of {sum(c > 0 for c in cross)} across "
                  f"{len(groups)} regions)")
    fig.suptitle(f"{title}\n({probes})", fontsize=font + 2)
    return fig


def _groups(spokes: list[str], region_of: dict[str, str]) -> list[tuple[str, int, int]]:
    """Consecutive runs of one region in ``spokes``: (region, first index, last index)."""
    out: list[tuple[str, int, int]] = []
    for i, s in enumerate(spokes):
        r = region_of.get(s, "")
        if out and out[-1][0] == r:
            out[-1] = (r, out[-1][1], i)
        else:
            out.append((r, i, i))
    return out


def save(frame: "pd.DataFrame", path: str | Path, probe: str | None = None) -> Path:
    """Draw the heatmap and write it to ``path`` (PNG or SVG by its extension); returns the path."""
    p = figure.check_path(path, "connectivity.png")
    return figure.save(draw(frame, probe), p)


def _check(frame: Any, probe: str | None) -> "pd.DataFrame":
    import pandas as pd

    if not isinstance(frame, pd.DataFrame) or any(c not in frame.columns for c in NEEDED):
        raise InvalidSpecError("frame", type(frame).__name__, "must be a connectivity frame",
                               "pass lab.connectivity()")
    if frame.empty:
        raise InvalidSpecError("frame", "empty", "has no rows to draw", "pass lab.connectivity() of a deployed stack")
    if probe is not None and probe not in set(frame["probe"]):
        raise InvalidSpecError("probe", probe, f"is not one of the frame's probes {sorted(set(frame['probe']))}",
                               "pass one of them, or None for all")
    return frame
