"""Progress events shared by both engines (the Lab turns them into a bar or log lines)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a long operation: ``done`` of ``total`` resources, ``name`` being worked on."""

    operation: str  # up | destroy | refresh
    action: str  # create | update | delete | same | read
    name: str
    type: str
    done: int
    total: int
    status: str  # started | done | failed

    @property
    def short_type(self) -> str:
        return self.type.rsplit(":", 1)[-1]

    def line(self) -> str:
        return f"[{self.done}/{self.total}] {self.action} {self.short_type} {self.name}: {self.status}"


ProgressCallback = Callable[[ProgressEvent], None]


def ignore(_: ProgressEvent) -> None:
    return None
