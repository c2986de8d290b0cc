"""Live progress for long operations: an updating HTML bar in a notebook, a log line per resource
outside one. Plain IPython display updates, not widgets, so papermill runs never wait on a comm."""

from __future__ import annotations

import html
import sys
import threading
import time
from typing import Callable

from ..engines.progress import ProgressEvent


def in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class NotebookProgress:
    """An HTML progress bar updated in place (``display_id``), one per operation."""

    def __init__(self, title: str) -> None:
        from IPython.display import HTML, display

        self._HTML = HTML
        self.title = title
        self.start = time.monotonic()
        self.handle = display(HTML(self._render(0, 0, "starting…")), display_id=True)
        self._last = 0.0

    def _render(self, done: int, total: int, current: str) -> str:
        pct = 100 * done / total if total else 0
        return (f"<div><b>{html.escape(self.title)}</b> {done}/{total} "
                f"<progress value='{done}' max='{max(total, 1)}' style='width:40%'></progress> "
                f"{pct:.0f}% · {html.escape(current)} · {time.monotonic() - self.start:.1f}s</div>")

    def __call__(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        final = event.status != "started" and event.done >= event.total
        if now - self._last < 0.1 and not final and event.status != "failed":
            return  # keep the notebook light: at most ~10 updates a second
        self._last = now
        self.handle.update(self._HTML(self._render(event.done, event.total,
                                                   f"{event.action} {event.short_type} {event.name} {event.status}")))

    def finish(self, message: str) -> None:
        self.handle.update(self._HTML(f"<div><b>{html.escape(self.title)}</b>: {html.escape(message)} "
                                      f"({time.monotonic() - self.start:.1f}s)</div>"))


class LogProgress:
    """One plain line per finished resource on stderr.

    Engines report from several threads. ``print`` writes the text and its newline as two writes, so
    two threads printing at once could run their lines together ("…: doneup …"); each line is one
    write here, under a lock."""

    def __init__(self, title: str, stream=None) -> None:
        self.title = title
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self._lock = threading.Lock()

    def _write(self, line: str) -> None:
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def __call__(self, event: ProgressEvent) -> None:
        if event.status != "started":
            self._write(f"{self.title} {event.line()}")

    def finish(self, message: str) -> None:
        self._write(f"{self.title}: {message} ({time.monotonic() - self.start:.1f}s)")


def notice(title: str, lines: list[str], custom: Callable[[ProgressEvent], None] | None = None) -> None:
    """Show warnings before an operation goes on: a highlighted HTML box in a notebook, lines on
    stderr outside one. Forms (which pass their own ``custom`` progress) show them in their own
    message area from ``Lab.quota_warnings``, so nothing is shown here for them."""
    if not lines or custom is not None:
        return
    if in_notebook():
        from IPython.display import HTML, display

        items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
        display(HTML(f"<div class='labnet-notice' style='border-left:4px solid #9a6700;padding:4px 8px'>"
                     f"<b>{html.escape(title)}</b><ul>{items}</ul></div>"))
    else:
        for line in lines:
            print(f"{title}: warning: {line}", file=sys.stderr, flush=True)


def make(title: str, custom: Callable[[ProgressEvent], None] | None = None):
    """The progress display for this context, or a wrapper around ``custom`` (forms pass their own)."""
    if custom is not None:
        return _Custom(custom)
    return NotebookProgress(title) if in_notebook() else LogProgress(title)


class _Custom:
    def __init__(self, fn: Callable[[ProgressEvent], None]) -> None:
        self.fn = fn

    def __call__(self, event: ProgressEvent) -> None:
        self.fn(event)

    def finish(self, message: str) -> None:
        pass
