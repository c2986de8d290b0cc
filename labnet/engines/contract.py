"""The engine contract: what every engine does, what it returns, and the registry by name.

Two engines implement it: ``rehearsal`` (the program under the SDK's mock monitor, whose hook makes the
EC2 calls; no CLI, the emulator only) and ``pulumi`` (the Automation API driving the real ``pulumi``
CLI; the emulator through labnet's own provider, or AWS). :class:`labnet.Lab` picks one with
:func:`open_engine` and calls the protocol without knowing which it holds.

Each engine owns its bookkeeping: it takes the stack's lock for every operation that changes anything,
binds the stack to its target and engine under that lock (:meth:`StackState.claim`), records the
operation in progress, its result, the outputs and how many resources it holds, and refuses an
interrupted operation until it is resumed. No engine calls back into the facade.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import InvalidSpecError, TargetError
from .progress import ProgressCallback, ignore

if TYPE_CHECKING:  # the program layer's record, imported lazily at run time (it imports the SDK)
    from ..declare import Resource
    from ..spec import NetworkSpec
    from .state import StackStore

NAMES = ("rehearsal", "pulumi")


@dataclass(frozen=True)
class PlannedResource:
    """One row of a preview: what ``up`` would do to one resource."""

    action: str  # create | same | update | replace | delete | read
    type: str
    name: str
    inputs: dict[str, Any]
    id: str | None = None
    region: str = ""


@dataclass(frozen=True)
class Plan:
    """What ``up`` would do. ``resources``: what the program declares with the ids the engine could
    resolve, for counting against quotas without running the program again (None: the engine has no
    such list, and the caller declares the program itself)."""

    rows: tuple[PlannedResource, ...]
    resources: tuple["Resource", ...] | None = None


@dataclass(frozen=True)
class UpResult:
    """The stack's outputs after ``up`` (secrets already masked) and, where the engine recorded them,
    the resources the stack holds now (for the quota count after an up on the emulator)."""

    outputs: dict[str, Any]
    resources: tuple["Resource", ...] | None = None
    changed: bool = True  # False: the spec was the one deployed, nothing was done


@dataclass(frozen=True)
class RefreshResult:
    """One row per resource the stack held: name, type, id, status (present / missing (forgotten))."""

    rows: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class DestroyResult:
    """What ``destroy`` removed, and what it deliberately kept (resources the program marks
    ``retain_on_delete``, such as audit logs), by logical name."""

    removed: tuple[str, ...]
    kept: tuple[str, ...] = field(default_factory=tuple)


class Engine(Protocol):
    """One stack on one target. Every method takes the spec the facade holds and a progress callback."""

    name: str

    def plan(self, spec: "NetworkSpec", progress: ProgressCallback = ignore) -> Plan: ...

    def up(self, spec: "NetworkSpec", progress: ProgressCallback = ignore, *, resume: bool = False) -> UpResult: ...

    def outputs(self, spec: "NetworkSpec", progress: ProgressCallback = ignore) -> dict[str, Any]: ...

    def refresh(self, spec: "NetworkSpec", progress: ProgressCallback = ignore) -> RefreshResult: ...

    def destroy(self, spec: "NetworkSpec", progress: ProgressCallback = ignore) -> DestroyResult: ...

    def holds(self) -> set[str]:
        """URNs of what the stack holds now (it adds nothing to the account's counts)."""
        ...


def check_name(engine: object) -> str:
    """``auto`` or a registered engine name."""
    if engine != "auto" and engine not in NAMES:
        raise InvalidSpecError("engine", engine, f"must be one of {['auto', *NAMES]}", "")
    return engine  # type: ignore[return-value]


def unavailable(name: str, target_kind: str) -> str | None:
    """Why engine ``name`` cannot run against ``target_kind`` here, or None when it can."""
    if name == "rehearsal":
        if target_kind == "aws":
            return ("the rehearsal engine never touches a real AWS account: use engine='pulumi' (needs the pulumi "
                    "CLI) for target='aws', or target='emulator'")
        return None
    from . import automation

    return None if automation.engine_available() else automation.unavailable_reason()


def pick(target_kind: str, bound: str | None = None) -> str:
    """What ``engine="auto"`` means: the engine the stack is bound to, else the Automation API when the
    user's own CLI is on PATH, else rehearsal. (The CLI `make pulumi` builds into the checkout serves
    ``engine="pulumi"`` only, so a checkout that built it keeps rehearsing by default.)"""
    if bound in NAMES:
        return bound  # type: ignore[return-value]
    from . import automation

    return "pulumi" if automation.cli_on_path() is not None else "rehearsal"


def open_engine(name: str, store: "StackStore", target, *, backend: str | None = None,
                secrets_provider: str | None = None) -> Engine:
    """Engine ``name`` for the stack in ``store`` on ``target`` (a :class:`labnet.emulator.targets.Target`).
    Opening costs nothing and needs no CLI (what the stack holds is read from labnet's record); an
    engine that cannot run here raises :class:`EngineUnavailableError` at its first operation, before
    it binds the stack or does any work."""
    if name == "rehearsal":
        if target.kind == "aws":
            raise TargetError(unavailable(name, target.kind))
        from .rehearsal import RehearsalEngine

        return RehearsalEngine.for_target(store, target)
    from .automation import AutomationEngine

    return AutomationEngine(store, target, backend, secrets_provider)
