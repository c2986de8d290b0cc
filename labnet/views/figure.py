"""The one figure helper of labnet's pictures (the topology diagram and the connectivity heatmap).

Figures are built without pyplot, rendered with Agg whatever the session's backend is, and show
themselves inline in a notebook once (``_repr_png_``): IPython only knows how to show a plain Figure
once pyplot's inline backend has registered its formatter, which never happens if nobody imported
pyplot. matplotlib is imported on first use only, so ``import labnet`` stays fast.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InvalidSpecError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = (".png", ".svg")
SAVE_DPI = 150


def new(width_in: float, height_in: float) -> "Figure":
    """A labnet figure of that size, attached to an Agg canvas (text can be measured at once)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _figure_class()(figsize=(width_in, height_in))
    FigureCanvasAgg(fig)
    return fig


def check_path(path: str | Path, example: str) -> Path:
    """``path`` if it ends in .png or .svg (the format is chosen by the extension), else a labnet error."""
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        raise InvalidSpecError("path", str(path), "the picture is written as PNG or SVG, chosen by the file's "
                               "extension", f"end the name in .png or .svg, for example {example!r}")
    return p


def save(fig: "Figure", path: Path) -> Path:
    """Write ``fig`` to ``path`` (checked by :func:`check_path`). SVG keeps its text as text, so CIDRs
    and ids stay searchable, and has no timestamp, so the same picture gives the same file."""
    import matplotlib

    suffix = path.suffix.lower()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "labnet"}):
        fig.savefig(path, format=suffix[1:], dpi=SAVE_DPI, metadata={"Date": None} if suffix == ".svg" else None)
    return path


@functools.cache
def _figure_class() -> type:
    import io

    from matplotlib.figure import Figure

    class LabnetFigure(Figure):
        """A labnet picture; shows inline in a notebook as a PNG.

        Drawn without font hinting: hinting rounds every glyph's advance to whole pixels, which at
        some resolutions (100 dpi, the default) makes a line of text 4-5 % wider than the layout
        measured, so the longest label of a box ran into its edge. Unhinted, text is as wide as laid
        out at every resolution."""

        def draw(self, renderer) -> None:
            import matplotlib

            with matplotlib.rc_context({"text.hinting": "none"}):
                super().draw(renderer)

        def _repr_png_(self) -> bytes:
            buf = io.BytesIO()
            self.savefig(buf, format="png")
            return buf.getvalue()

    return LabnetFigure
