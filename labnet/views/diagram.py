"""The hub-and-spoke picture: the Transit Gateway in the middle, every spoke's VPC around it.

``draw(spec)`` shows what a spec plans; ``draw(spec, lab.exports())`` labels the same picture with
the ids that were actually built (VPC, attachment, node launch template, Transit Gateway and its route
tables). Each spoke is a box with its name and VPC CIDR and one column per availability zone, headed by
the AZ name and its AZ ID, holding that AZ's subnets (role and CIDR), coloured by role; a line runs from
the spoke's attachment subnets to the TGW.

    >>> fig = labnet.diagram.draw(spec)                  # shows inline as a cell's last value
    >>> labnet.diagram.save(spec, "topology.png", exports=lab.exports())

The figure is a :class:`matplotlib.figure.Figure` built without pyplot, so a notebook shows it once
(as the cell's value) and never a second time when the cell ends, and nothing depends on the
session's matplotlib backend. matplotlib is imported only when a picture is drawn, keeping
``import labnet`` fast.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from ..errors import InvalidSpecError
from ..outputs import SECRET, SpokeOutput, StackOutputs, is_secret
from ..spec import NetworkSpec, Spoke, Subnet, Workload
from . import figure

if TYPE_CHECKING:  # typing only: matplotlib loads when a picture is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_SPOKES = 64  # past this a picture stops being readable; the tables say it better

# Layout is computed in "em" (one font size) so the picture keeps its proportions at any scale.
FONT_PT = 8.0  # font size of a picture labnet sizes itself
MIN_FONT_PT = 6.0  # below this, grow the picture instead of shrinking the text
MAX_WIDTH_IN = 22.0  # widest picture worth shrinking the font for
MONO = "DejaVu Sans Mono"  # ships with matplotlib, so text widths below are exact everywhere
CHAR_W = 0.602  # advance of one DejaVu Sans Mono character, in em
LINE_H = 1.3  # line pitch, in em
PAD = 0.6  # inner padding of boxes and cells, in em
HUB_PAD_X = 1.2  # left and right padding of a TGW box: its lines are its widest, clear of its rounded edge
CELL_GAP = 0.4  # between AZ columns and role rows, in em
RING_GAP = (2.2, 1.6)  # least x / y clearance between neighbouring spoke boxes, in em
HUB_CLEARANCE = 3.0  # least visible line between a spoke box and the TGW box, in em
LEGEND_SWATCH, LEGEND_GAP = 2.2, 2.0  # legend: swatch plus space before its label; space between entries
SQUIRCLE_P = 4.0  # ring shape: 2 is an ellipse; 4 packs boxes closer, like a rounded rectangle
# Across regions: room around each region's panel, between panels, and for the peering lanes above them.
PANEL_PAD = 1.2  # inside a region panel, around its ring
PANEL_GAP = 3.0  # least space between two region panels
LANE_GAP = 1.2  # between a peering link's line and its label, and above a panel before the first lane
LINK_SPREAD = 1.4  # between the points where a hub's peering links leave its top

# Top to bottom in every spoke, wherever it sits around the hub, so every spoke reads the same way.
ROLE_ORDER = ("existing", "compute", "public", "attachment")
ROLE_STYLE = {
    "compute": {"face": "#dbeafe", "edge": "#1e40af", "linestyle": "solid",
                "legend": "compute subnet (training nodes)"},
    "public": {"face": "#dcfce7", "edge": "#15803d", "linestyle": "dashed",
               "legend": "public subnet (NAT gateway)"},
    "attachment": {"face": "#fef3c7", "edge": "#b45309", "linestyle": "solid",
                   "legend": "attachment /28 (TGW interface)"},
    "existing": {"face": "#f1f5f9", "edge": "#64748b", "linestyle": "dotted",
                 "legend": "existing subnet (not managed by labnet)"},
}
SPOKE_FACE, SPOKE_EDGE = "#f8fafc", "#475569"
TGW_FACE, TGW_EDGE = "#4c1d95", "#2e1065"
LINK_COLOR = "#7c3aed"
PANEL_FACE, PANEL_EDGE = "#fafaf9", "#a8a29e"
PEERING_COLOR = "#be185d"


# -- public API ----------------------------------------------------------------------------------
def draw(spec: NetworkSpec, exports: Mapping[str, Any] | None = None, ax: "Axes | None" = None) -> "Figure":
    """Draw the hub-and-spoke topology of ``spec`` and return the figure.

    ``exports`` is ``Lab.stack_outputs()`` (or the dict ``Lab.exports()`` returns); with it the picture is
    labelled with the ids that were actually built, and its title says "as built". Without it the
    picture shows the plan. Readable for 1 to 20 spokes (the figure grows with the spoke count);
    more than :data:`MAX_SPOKES` is refused, since the tables say that better.

    A network across regions is drawn as one panel per region, side by side: the region's Transit
    Gateway with its spokes around it, and above the panels the TGW peering links between the hubs,
    each labelled with its attachment id (when built) and the static route each side holds for the
    other's summary block. Readable for 2-3 regions of up to about 8 spokes each.

    ``ax`` draws into an axes you own (the text is scaled to fit it) and returns its figure; without
    it labnet makes a figure of its own, sized to the network, that a notebook shows inline once.

    >>> fig = draw(labnet.size(spokes=3))
    >>> fig = draw(lab.spec, lab.exports())
    """
    spec, exports = _check_spec(spec), _check_exports(exports)
    layout = (_RegionsLayout if spec.multi_region else _Layout).of(spec, exports)
    if ax is None:
        font = max(MIN_FONT_PT, min(FONT_PT, MAX_WIDTH_IN * 72 / layout.width))
        fig = figure.new(layout.width * font / 72, layout.height * font / 72)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    else:
        fig = ax.figure
        box = ax.get_position()
        fig_w, fig_h = fig.get_size_inches()
        font = min(box.width * fig_w * 72 / layout.width, box.height * fig_h * 72 / layout.height)
    layout.render(ax, font)
    return fig


def save(spec: NetworkSpec, path: str | Path, exports: Mapping[str, Any] | None = None) -> Path:
    """Draw ``spec`` (labelled with ``exports`` if given) and write it to ``path``, PNG or SVG by its
    extension; returns the path. SVG keeps its text as text, so CIDRs and ids stay searchable.

    >>> save(spec, "docs/topology.svg", exports=lab.exports())
    """
    p = figure.check_path(path, "topology.png")
    return figure.save(draw(spec, exports), p)


# -- input checks --------------------------------------------------------------------------------
def _check_spec(spec: object) -> NetworkSpec:
    if not isinstance(spec, NetworkSpec):
        raise InvalidSpecError("spec", type(spec).__name__, "must be a NetworkSpec",
                               "pass labnet.size(...) or NetworkSpec.from_dict(...)")
    if len(spec.spokes) > MAX_SPOKES:
        raise InvalidSpecError("spokes", len(spec.spokes),
                               f"the picture stays readable up to {MAX_SPOKES} spokes",
                               "read spec.table() or lab.outputs() for a network this large")
    return spec


def _check_exports(exports: object) -> StackOutputs | None:
    if exports is None:
        return None
    if not isinstance(exports, (Mapping, StackOutputs)):
        raise InvalidSpecError("exports", type(exports).__name__, "must be the dict Lab.exports() returns",
                               "pass lab.exports(), or nothing to draw the plan")
    return StackOutputs.of(exports)


def _shown(value: object) -> str:
    """An output value as the picture shows it: a secret as ``[secret]``, a missing one says so."""
    if value is None:
        return "not in outputs"
    return str(value) if value != "" else "(none)"


def _nodes(built: SpokeOutput, workload: Workload | None) -> str:
    """"16 × p5.48xlarge, " for a spoke's launch template line: what the template starts, from the
    outputs (the template as built), else from the spec's workload; nothing when neither says."""
    lt = built.launch_template if isinstance(built.launch_template, Mapping) else {}
    count = lt.get("nodes") or (workload.nodes_per_spoke if workload else None)
    kind = lt.get("instance_type") or (workload.instance_type if workload else None)
    if count and kind:
        return f"{count} × {kind}, "
    return f"{kind}, " if kind else ""


# -- layout --------------------------------------------------------------------------------------
@dataclass
class _Cell:
    role: str
    lines: list[str]  # role name, then each CIDR of that role in that AZ


@dataclass
class _SpokeBox:
    """One spoke's box, sized in em; ``x``/``y`` (its centre) are set when the ring is laid out."""

    title: str
    ids: list[str]  # VPC id and attachment id when the picture shows what was built
    azs: list[str]  # column headers: AZ name and AZ ID
    col_w: list[float]
    rows: list[tuple[str, list[_Cell | None], float]]  # role, one cell per AZ, row height
    footer: str
    width: float
    height: float
    x: float = 0.0
    y: float = 0.0
    hub_y: float = 0.0  # height of the centre of the hub the box is linked to

    @classmethod
    def of(cls, spoke: Spoke, built: SpokeOutput | None, extras: str,
           workload: Workload | None = None) -> "_SpokeBox":
        if spoke.existing is not None:
            # An existing VPC: its own subnets drawn as "existing" beside what labnet adds, the title
            # marked, and nothing of the extras (labnet puts no endpoint or NAT in a VPC it does not own).
            ex = spoke.existing
            theirs = tuple(Subnet("existing", sn.az, sn.cidr, 0, sn.az_id) for sn in ex.subnets)
            spoke = dataclasses.replace(spoke, subnets=theirs + spoke.subnets, existing=None,
                                        cidr=", ".join(spoke.cidrs) + f"  existing {ex.vpc_id}")
            extras = ""
        azs = list(spoke.azs)
        roles = [r for r in ROLE_ORDER if spoke.subnets_by_role(r)]
        # Custom specs may carry roles labnet does not draw specially; keep them visible.
        roles += sorted({s.role for s in spoke.subnets} - set(roles))
        rows = []
        for role in roles:
            cells: list[_Cell | None] = []
            for az in azs:
                cidrs = [s.cidr for s in spoke.subnets if s.role == role and s.az == az]
                cells.append(_Cell(role, [role, *cidrs]) if cidrs else None)
            n_lines = max(len(c.lines) for c in cells if c is not None)
            rows.append((role, cells, n_lines * LINE_H + PAD))
        # Each column is headed by the AZ name and the AZ ID behind it (the physical AZ capacity is
        # bought in); specs saved before AZ IDs were recorded show the name alone.
        headers = []
        for az in azs:
            az_id = next((sn.az_id for sn in spoke.subnets if sn.az == az and sn.az_id), "")
            headers.append(f"{az} {az_id}" if az_id else az)
        col_w = [max([len(headers[k])] + [len(line) for _, cells, _ in rows if cells[k] is not None
                                          for line in cells[k].lines]) * CHAR_W + 2 * PAD
                 for k in range(len(azs))]
        azs = headers
        title = f"{spoke.name}  {spoke.cidr}"
        ids = []
        if built is not None:
            ids = [_shown(built.vpc_id), _shown(built.attachment_id)]
            if built.launch_template_id is not None:
                ids.append(f"nodes: {_nodes(built, workload)}{_shown(built.launch_template_id)}")
        texts = [title, *ids, extras]
        width = max([len(t) * CHAR_W for t in texts] + [sum(col_w) + CELL_GAP * (len(azs) - 1)]) + 2 * PAD
        height = (2 * PAD + LINE_H * (1 + len(ids)) + LINE_H  # title, ids, AZ header
                  + sum(h for _, _, h in rows) + CELL_GAP * len(rows) + (LINE_H if extras else 0))
        return cls(title, ids, azs, col_w, rows, extras, width, height)


@dataclass
class _Layout:
    """Where everything goes, in em; the TGW box is centred on (0, 0)."""

    spec: NetworkSpec
    boxes: list[_SpokeBox]
    hub_lines: list[str]
    hub_w: float
    hub_h: float
    title: str
    xmin: float = 0.0
    xmax: float = 0.0
    ymin: float = 0.0
    ymax: float = 0.0

    @property
    def width(self) -> float:
        return self.xmax - self.xmin

    @property
    def height(self) -> float:
        return self.ymax - self.ymin

    @classmethod
    def of(cls, spec: NetworkSpec, exports: StackOutputs | None) -> "_Layout":
        extras = " · ".join(x for x, on in (("S3 gateway endpoint", spec.s3_endpoint),
                                             ("IGW + NAT gateway", spec.public_subnets)) if on)
        boxes = []
        for spoke in spec.spokes:
            boxes.append(_SpokeBox.of(spoke, _built_spoke(exports, spoke), extras, spec.workload))

        tgw = spec.transit_gateway
        hub = ["Transit Gateway" + (" (existing)" if tgw.existing_id else "")]
        if exports is not None:
            hub += _hub_lines(exports, spec.region, tgw.route_tables)
        else:
            hub.append("route tables: " + ", ".join(tgw.route_tables))
        hub += [f"ASN {tgw.amazon_side_asn} · MTU 8500", f"{spec.region} · {spec.supernet}"]
        hub_w = max(len(t) for t in hub) * CHAR_W + 2 * HUB_PAD_X
        hub_h = len(hub) * LINE_H + 2 * PAD

        n = len(spec.spokes)
        state = "as built (ids from the stack outputs)" if exports is not None else "planned (from the spec)"
        title = f"{n} spoke{'s' if n != 1 else ''} around one Transit Gateway in {spec.region}: {state}"
        layout = cls(spec, boxes, hub, hub_w, hub_h, title)
        layout._place()
        return layout

    def _place(self) -> None:
        """Put the spoke boxes on a ring around the hub, as tight as the clearances allow."""
        w = max((b.width for b in self.boxes), default=0.0)
        h = max((b.height for b in self.boxes), default=0.0)
        # Ring units: one box plus the gap, per axis; two boxes are clear of each other once their
        # centres are one unit apart in x or in y (Chebyshev distance >= 1).
        unit_x, unit_y = w + RING_GAP[0], h + RING_GAP[1]
        hub_x = ((w + self.hub_w) / 2 + HUB_CLEARANCE) / unit_x
        hub_y = ((h + self.hub_h) / 2 + HUB_CLEARANCE) / unit_y
        for box, (ux, uy) in zip(self.boxes, _ring(len(self.boxes), hub_x, hub_y)):
            box.x, box.y = ux * unit_x, uy * unit_y

        xs = [b.x - b.width / 2 for b in self.boxes] + [-self.hub_w / 2]
        xe = [b.x + b.width / 2 for b in self.boxes] + [self.hub_w / 2]
        ys = [b.y - b.height / 2 for b in self.boxes] + [-self.hub_h / 2]
        ye = [b.y + b.height / 2 for b in self.boxes] + [self.hub_h / 2]
        margin = 1.0
        header = 2 * LINE_H + 2 * PAD  # title line and legend line above the network
        self.xmin = min(xs) - margin
        self.xmax = max(max(xe) + margin, self.xmin + self._legend_width() + 2 * margin,
                        self.xmin + len(self.title) * CHAR_W * 1.1 + 2 * margin)
        self.ymin, self.ymax = min(ys) - margin, max(ye) + margin + header

    def _roles(self) -> list[str]:
        """Roles the legend explains: those this network has."""
        return [r for r in ROLE_ORDER if any(s.role == r for sp in self.spec.spokes for s in sp.subnets)
                or (r == "existing" and self.spec.existing_spokes)]

    def _legend_width(self) -> float:
        return sum(LEGEND_SWATCH + len(ROLE_STYLE[r]["legend"]) * CHAR_W + LEGEND_GAP for r in self._roles())

    # -- drawing ---------------------------------------------------------------------------------
    def render(self, ax: "Axes", font: float) -> None:
        """Draw into ``ax`` with ``font`` points per em."""
        box, text = self._pen(ax, font)
        self._header(ax, box, text)

        # Links first (lowest), so the boxes hide the part of each line that runs under them.
        for b in self.boxes:
            ax.plot([b.x, 0.0], [self._attachment_y(b), 0.0], color=LINK_COLOR, linewidth=font / 5,
                    solid_capstyle="round", zorder=1)

        self._render_hub(0.0, 0.0, self.hub_w, self.hub_h, self.hub_lines, box, text)
        for b in self.boxes:
            self._render_spoke(b, box, text)

    @staticmethod
    def _pen(ax: "Axes", font: float) -> tuple[Callable[..., None], Callable[..., None]]:
        """The two drawing primitives, in em: a rounded box and a line of monospaced text."""
        from matplotlib.patches import FancyBboxPatch

        def box(x0: float, y0: float, w: float, h: float, face: str, edge: str, lw: float = 1.0,
                linestyle: str = "solid", z: float = 2.0) -> None:
            ax.add_patch(FancyBboxPatch((x0, y0), w, h, boxstyle="round,pad=0,rounding_size=0.4",
                                        facecolor=face, edgecolor=edge, linewidth=lw, linestyle=linestyle,
                                        zorder=z))

        def text(x: float, y: float, s: str, size: float = 1.0, ha: str = "center", color: str = "#0f172a",
                 weight: str = "normal", style: str = "normal") -> None:
            ax.text(x, y, s, fontsize=font * size, ha=ha, va="center", color=color, fontweight=weight,
                    fontstyle=style, family=MONO, zorder=5)

        return box, text

    def _header(self, ax: "Axes", box: Callable[..., None], text: Callable[..., None]) -> None:
        """Axes limits, then the title and the legend of subnet roles."""
        ax.set_xlim(self.xmin, self.xmax)
        ax.set_ylim(self.ymin, self.ymax)
        ax.set_aspect("equal")
        ax.set_axis_off()

        top = self.ymax - PAD
        text(self.xmin + 1.0, top - LINE_H / 2, self.title, size=1.1, ha="left", weight="bold")
        x = self.xmin + 1.0
        y = top - 1.6 * LINE_H
        for role in self._roles():
            st = ROLE_STYLE[role]
            box(x, y - 0.45, 1.6, 0.9, st["face"], st["edge"], linestyle=st["linestyle"])
            text(x + LEGEND_SWATCH, y, st["legend"], ha="left")
            x += LEGEND_SWATCH + len(st["legend"]) * CHAR_W + LEGEND_GAP

    @staticmethod
    def _render_hub(cx: float, cy: float, w: float, h: float, lines: list[str], box: Callable[..., None],
                    text: Callable[..., None]) -> None:
        box(cx - w / 2, cy - h / 2, w, h, TGW_FACE, TGW_EDGE, lw=1.5, z=3)
        y = cy + h / 2 - PAD - LINE_H / 2
        for k, line in enumerate(lines):
            text(cx, y - k * LINE_H, line, color="white", weight="bold" if k == 0 else "normal")

    @staticmethod
    def _rows_top_down(b: _SpokeBox) -> list[tuple[str, list[_Cell | None], float]]:
        return b.rows  # ROLE_ORDER in every spoke (the link reaches the attachment row from any side)

    @staticmethod
    def _grid_top(b: _SpokeBox) -> float:
        """Top edge of the spoke's first subnet row: below its title, id lines and AZ header."""
        return b.y + b.height / 2 - PAD - LINE_H * (2 + len(b.ids)) - CELL_GAP / 2

    def _attachment_y(self, b: _SpokeBox) -> float:
        """Height of the middle of the spoke's attachment row (its centre if it has none)."""
        y = self._grid_top(b)
        for role, _, h in self._rows_top_down(b):
            if role == "attachment":
                return y - h / 2
            y -= h + CELL_GAP
        return b.y

    def _render_spoke(self, b: _SpokeBox, box: Callable[..., None], text: Callable[..., None]) -> None:
        left, top = b.x - b.width / 2, b.y + b.height / 2
        box(left, b.y - b.height / 2, b.width, b.height, SPOKE_FACE, SPOKE_EDGE, lw=1.2)
        y = top - PAD - LINE_H / 2
        text(b.x, y, b.title, weight="bold")
        for line in b.ids:
            y -= LINE_H
            text(b.x, y, line, color="#334155")
        grid_w = sum(b.col_w) + CELL_GAP * (len(b.azs) - 1)
        col_x = []
        x = b.x - grid_w / 2
        for w in b.col_w:
            col_x.append(x)
            x += w + CELL_GAP
        y -= LINE_H
        for az, x0, w in zip(b.azs, col_x, b.col_w):
            text(x0 + w / 2, y, az, color="#475569", style="italic")
        y = self._grid_top(b)
        for _, cells, h in self._rows_top_down(b):
            for cell, x0, w in zip(cells, col_x, b.col_w):
                if cell is None:
                    continue
                st = ROLE_STYLE.get(cell.role, {"face": "#f1f5f9", "edge": "#64748b", "linestyle": "dotted"})
                box(x0, y - h, w, h, st["face"], st["edge"], linestyle=st["linestyle"], z=3)
                for k, line in enumerate(cell.lines):
                    text(x0 + w / 2, y - PAD / 2 - LINE_H * (k + 0.5), line, size=0.9 if k == 0 else 1.0,
                         color=st["edge"] if k == 0 else "#0f172a", style="italic" if k == 0 else "normal")
            y -= h + CELL_GAP
        if b.footer:
            text(b.x, b.y - b.height / 2 + PAD / 2 + LINE_H / 2, b.footer, size=0.9, color="#475569")


def _squircle(samples: int = 1024) -> list[tuple[float, float]]:
    """Points on the unit squircle |x|^p + |y|^p = 1, from the left, clockwise (up first)."""
    pts = []
    for k in range(samples):
        t = math.pi - 2 * math.pi * k / samples
        c, s = math.cos(t), math.sin(t)
        pts.append((math.copysign(abs(c) ** (2 / SQUIRCLE_P), c), math.copysign(abs(s) ** (2 / SQUIRCLE_P), s)))
    return pts


def _walk(curve: list[tuple[float, float]], radius: float, step: float) -> list[tuple[float, float]]:
    """Walk once round ``curve`` scaled by ``radius``, dropping a point whenever the last one is
    ``step`` away (Chebyshev); the last point must also be ``step`` clear of the first."""
    placed = [(curve[0][0] * radius, curve[0][1] * radius)]
    for cx, cy in curve[1:]:
        x, y = cx * radius, cy * radius
        if max(abs(x - placed[-1][0]), abs(y - placed[-1][1])) >= step:
            placed.append((x, y))
    first = placed[0]
    if len(placed) > 1 and max(abs(placed[-1][0] - first[0]), abs(placed[-1][1] - first[1])) < step:
        placed.pop()
    return placed


def _ring(n: int, hub_x: float, hub_y: float, free_top: bool = False) -> list[tuple[float, float]]:
    """``n`` box centres on a squircle ring, in ring units, from the left, clockwise.

    ``free_top`` seats one more box starting at the top of the ring and leaves that seat empty (the
    rest follow clockwise from it): a clear corridor above the hub for links that leave it upwards.

    The ring is the smallest that seats ``n`` boxes one unit apart and keeps every box clear of the
    hub (``hub_x`` / ``hub_y`` away in x or in y); the boxes are then spread evenly round it. A
    squircle rather than an ellipse: boxes are rectangles, and a rounded-rectangle ring seats more
    of them per unit of perimeter, so 20 spokes fit a much smaller picture.
    """
    if n == 0:
        return []
    curve = _squircle()
    if free_top:
        top = max(range(len(curve)), key=lambda k: (curve[k][1], -abs(curve[k][0])))
        curve = curve[top:] + curve[:top]
        return _ring_on(curve, n + 1, hub_x, hub_y)[1:]
    return _ring_on(curve, n, hub_x, hub_y)


def _ring_on(curve: list[tuple[float, float]], n: int, hub_x: float, hub_y: float) -> list[tuple[float, float]]:
    diagonal = 2 ** (-1 / SQUIRCLE_P)  # |x| = |y| on the unit squircle
    radius = max(hub_x, hub_y, min(hub_x, hub_y) / diagonal)  # clear of the hub in every direction
    if len(_walk(curve, radius, 1.0)) < n:
        lo, hi = radius, radius * 2
        while len(_walk(curve, hi, 1.0)) < n:
            lo, hi = hi, hi * 2
        for _ in range(40):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if len(_walk(curve, mid, 1.0)) >= n else (mid, hi)
        radius = hi
    # Widest even spacing that still seats n boxes, so the slack is shared round the ring.
    lo, hi = 1.0, 2 * radius + 1
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if len(_walk(curve, radius, mid)) >= n else (lo, mid)
    return _walk(curve, radius, lo)[:n]


# -- across regions ------------------------------------------------------------------------------
@dataclass
class _Cluster:
    """One region's panel: its TGW (centred on ``x``, 0) and its spokes on a ring around it, with
    the top of the ring left empty so the peering links leave the hub upwards unobstructed."""

    region: str
    boxes: list[_SpokeBox]
    hub_lines: list[str]
    hub_w: float
    hub_h: float
    label: str
    x: float = 0.0
    left: float = 0.0  # panel extents, relative to x (left, right) and absolute (bottom, top)
    right: float = 0.0
    bottom: float = 0.0
    top: float = 0.0


@dataclass
class _Peering:
    """One TGW peering between the hubs of clusters ``a`` < ``b`` (indexes), drawn in lane ``lane``."""

    a: int
    b: int
    lines: list[str]
    lane: int
    width: float = 0.0
    xa: float = 0.0  # where the link leaves each hub's top
    xb: float = 0.0
    y: float = 0.0  # height of its lane


@dataclass
class _RegionsLayout(_Layout):
    """One panel per region, side by side, hubs level at y = 0; peering links in lanes above."""

    clusters: list[_Cluster] = field(default_factory=list)
    peerings: list[_Peering] = field(default_factory=list)

    @classmethod
    def of(cls, spec: NetworkSpec, exports: StackOutputs | None) -> "_RegionsLayout":
        built = exports is not None
        extras = " · ".join(x for x, on in (("S3 gateway endpoint", spec.s3_endpoint),
                                             ("IGW + NAT gateway", spec.public_subnets)) if on)
        clusters = []
        for r in spec.regions:
            boxes = []
            for spoke in spec.spokes_in(r):
                boxes.append(_SpokeBox.of(spoke, _built_spoke(exports, spoke), extras, spec.workload))
            hub = ["Transit Gateway"]
            tables = spec.transit_gateway.route_tables
            if exports is not None:
                hub += _hub_lines(exports, r, tables)
            else:
                hub.append("route tables: " + ", ".join(tables))
            hub += [f"ASN {spec.asn_of(r)} · MTU 8500", f"{r} · {spec.summary_of(r)}"]
            n = len(boxes)
            label = f"{r}: {n} spoke{'s' if n != 1 else ''} in {spec.summary_of(r)}"
            clusters.append(_Cluster(r, boxes, hub, max(len(t) for t in hub) * CHAR_W + 2 * HUB_PAD_X,
                                     len(hub) * LINE_H + 2 * PAD, label))

        index = {r: k for k, r in enumerate(spec.regions)}
        built_peerings = _peering_ids(exports) if exports is not None else {}
        peerings = []
        for a, b in spec.peerings():
            i, j = sorted((index[a], index[b]))
            if built:
                got = built_peerings.get((a, b), built_peerings.get("*"))
                first = f"TGW peering {_shown(got)}"
            else:
                first = "TGW peering (planned)"
            lines = [first, f"{a}: static route {spec.summary_of(b)}", f"{b}: static route {spec.summary_of(a)}"]
            peerings.append(_Peering(i, j, lines, j - i, max(len(t) for t in lines) * CHAR_W))

        n, k = len(spec.spokes), len(clusters)
        state = "as built (ids from the stack outputs)" if built else "planned (from the spec)"
        title = f"{n} spokes in {k} regions, one Transit Gateway per region, peered: {state}"
        layout = cls(spec, [b for c in clusters for b in c.boxes], [], 0.0, 0.0, title,
                     clusters=clusters, peerings=peerings)
        layout._place()
        return layout

    def _place(self) -> None:
        """Each region's ring (as tight as the clearances allow, its top seat left free), the panels
        side by side, then one lane per span of the peering links above the panels."""
        for c in self.clusters:
            w = max((b.width for b in c.boxes), default=0.0)
            h = max((b.height for b in c.boxes), default=0.0)
            unit_x, unit_y = w + RING_GAP[0], h + RING_GAP[1]
            hub_x = ((w + c.hub_w) / 2 + HUB_CLEARANCE) / unit_x
            hub_y = ((h + c.hub_h) / 2 + HUB_CLEARANCE) / unit_y
            # Mirrored, so the first spoke sits at the top left and the rest follow anticlockwise.
            for box, (ux, uy) in zip(c.boxes, _ring(len(c.boxes), hub_x, hub_y, free_top=True)):
                box.x, box.y = -ux * unit_x, uy * unit_y
            xs = [b.x - b.width / 2 for b in c.boxes] + [-c.hub_w / 2]
            xe = [b.x + b.width / 2 for b in c.boxes] + [c.hub_w / 2]
            ys = [b.y - b.height / 2 for b in c.boxes] + [-c.hub_h / 2]
            ye = [b.y + b.height / 2 for b in c.boxes] + [c.hub_h / 2]
            label_w = len(c.label) * CHAR_W
            c.left = min(min(xs), -label_w / 2) - PANEL_PAD
            c.right = max(max(xe), label_w / 2) + PANEL_PAD
            c.bottom = min(ys) - PANEL_PAD - LINE_H - PAD  # room for the region's label at the bottom
            c.top = max(ye) + PANEL_PAD

        # Panels side by side; neighbours' hubs far enough apart for the label of the link between them.
        x = 0.0
        for k, c in enumerate(self.clusters):
            if k:
                prev = self.clusters[k - 1]
                x = max(prev.x + prev.right + PANEL_GAP - c.left,
                        prev.x + max((p.width for p in self.peerings if p.b - p.a == 1 and p.b == k), default=0.0)
                        + 2 * LANE_GAP + LINK_SPREAD * len(self.clusters))
            c.x = x
        for c in self.clusters:
            for b in c.boxes:
                b.x += c.x

        # Where each link leaves a hub's top: left peers on the left, right peers on the right, the
        # farther ones outside, so that no link's riser crosses another link's lane.
        ends: dict[int, list[tuple[_Peering, str]]] = {}
        for p in self.peerings:
            ends.setdefault(p.a, []).append((p, "a"))
            ends.setdefault(p.b, []).append((p, "b"))
        for k, links in ends.items():
            def other(item: tuple[_Peering, str]) -> int:
                return item[0].b if item[1] == "a" else item[0].a

            order = sorted([t for t in links if other(t) < k], key=other, reverse=True) + \
                sorted([t for t in links if other(t) > k], key=other, reverse=True)
            left = self.clusters[k].x - LINK_SPREAD * (len(order) - 1) / 2
            for n, (p, side) in enumerate(order):
                setattr(p, "xa" if side == "a" else "xb", left + n * LINK_SPREAD)

        panels_top = max((c.top for c in self.clusters), default=0.0)
        label_h = 3 * LINE_H
        for p in self.peerings:
            p.y = panels_top + LANE_GAP + (p.lane - 1) * (label_h + 2 * LANE_GAP)
        lanes_top = max((p.y + LANE_GAP + label_h for p in self.peerings), default=panels_top)

        margin = 1.0
        header = 2 * LINE_H + 2 * PAD
        self.xmin = min(c.x + c.left for c in self.clusters) - margin
        right = max(c.x + c.right for c in self.clusters)
        right = max([right] + [(p.xa + p.xb) / 2 + p.width / 2 for p in self.peerings])
        self.xmax = max(right + margin, self.xmin + self._legend_width() + 2 * margin,
                        self.xmin + len(self.title) * CHAR_W * 1.1 + 2 * margin)
        self.ymin = min(c.bottom for c in self.clusters) - margin
        self.ymax = lanes_top + margin + header

    def render(self, ax: "Axes", font: float) -> None:
        """Draw into ``ax`` with ``font`` points per em."""
        box, text = self._pen(ax, font)
        self._header(ax, box, text)
        for c in self.clusters:  # the region panels, lowest
            box(c.x + c.left, c.bottom, c.right - c.left, c.top - c.bottom, PANEL_FACE, PANEL_EDGE,
                linestyle="dashed", z=0.5)
            text(c.x, c.bottom + PAD + LINE_H / 2, c.label, color="#57534e", weight="bold")
        for c in self.clusters:
            for b in c.boxes:
                ax.plot([b.x, c.x], [self._attachment_y(b), 0.0], color=LINK_COLOR, linewidth=font / 5,
                        solid_capstyle="round", zorder=1)
        for p in self.peerings:
            ha, hb = self.clusters[p.a].hub_h, self.clusters[p.b].hub_h
            ax.plot([p.xa, p.xa, p.xb, p.xb], [ha / 2, p.y, p.y, hb / 2], color=PEERING_COLOR,
                    linewidth=font / 4, linestyle=(0, (4, 2)), solid_capstyle="round", zorder=1.5,
                    gid=f"peering-{self.clusters[p.a].region}-{self.clusters[p.b].region}")
            mid = (p.xa + p.xb) / 2
            for k, line in enumerate(p.lines):
                text(mid, p.y + LANE_GAP + (len(p.lines) - k - 0.5) * LINE_H, line, color=PEERING_COLOR,
                     weight="bold" if k == 0 else "normal")
        for c in self.clusters:
            self._render_hub(c.x, 0.0, c.hub_w, c.hub_h, c.hub_lines, box, text)
        for b in self.boxes:
            self._render_spoke(b, box, text)


def _built_spoke(exports: StackOutputs | None, spoke: Spoke) -> SpokeOutput | None:
    """The spoke's outputs (a secret ``spokes`` export reads as secret ids; a spoke not in the outputs
    says so), or None when the picture shows the plan."""
    if exports is None:
        return None
    if is_secret(exports.spokes):
        return SpokeOutput(spoke.name, None, vpc_id=SECRET, attachment_id=SECRET, secret=True)
    return exports.spokes.get(spoke.name) or SpokeOutput(spoke.name, None)


def _hub_lines(exports: StackOutputs, region: str, tables: Sequence[str]) -> list[str]:
    """The TGW id and each route table id of ``region`` as the outputs say; a secret on every line."""
    hub = exports.hub(region)
    if is_secret(hub):
        return [SECRET] + [f"rt {name}: {SECRET}" for name in tables]
    if hub is None:
        return [_shown(None)] + [f"rt {name}: {_shown(None)}" for name in tables]
    rts = hub.route_tables
    return [_shown(hub.id)] + [f"rt {name}: {SECRET if is_secret(rts) else _shown(rts.get(name))}"
                               for name in tables]


def _peering_ids(exports: StackOutputs) -> dict[Any, Any]:
    """(requester, accepter) → attachment id from the outputs; ``"*"`` stands for all when the
    export is a secret."""
    if is_secret(exports.peerings):
        return {"*": SECRET}
    return {(p.requester, p.accepter): p.attachment_id for p in exports.peerings or ()}

