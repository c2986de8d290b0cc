"""Stack state on disk: a snapshot, an append-only journal, and a lock.

``$LABNET_HOME/stacks/<stack>/`` holds ``state.json`` (the snapshot written at the end of each
operation), ``journal.jsonl`` (one line per resource event since the snapshot, written *before* an
AWS call is made and again after it returns: ``pending``/``created`` around a create,
``updating``/``updated`` around an in-place update, ``deleted`` after a delete; so an interrupted or
killed run leaves a record of every resource it may have created or changed) and ``lock`` (who is
working on the stack). Files are 0600, folders 0700. A damaged file is copied aside and reported,
and stays in place so that it is never read as "empty stack".
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .. import paths
from ..errors import StackLockedError, StateCorruptError, TargetError

FORMAT = 1


@dataclass
class Resource:
    """One resource the stack owns (``status`` created) or may own (``status`` pending).

    ``updating`` holds the inputs of an in-place update that was started and has not been recorded
    as finished: the resource is live, but may hold its old inputs, the new ones, or something in
    between, so the next ``up`` runs the update again (updates are idempotent) even if the spec
    went back to the recorded inputs."""

    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    id: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"
    seq: int = 0
    updating: dict[str, Any] | None = None
    region: str = ""  # where its calls go; "" (states written before regions): the stack's own region
    retain: bool = False  # Pulumi's retain_on_delete: destroy forgets it and leaves it on the target

    def to_json(self) -> dict[str, Any]:
        return {"urn": self.urn, "type": self.type, "name": self.name, "inputs": self.inputs,
                "id": self.id, "outputs": self.outputs, "status": self.status, "seq": self.seq,
                "updating": self.updating, "region": self.region, "retain": self.retain}


@dataclass
class StackState:
    stack: str
    engine: str = "rehearsal"
    target: dict[str, Any] = field(default_factory=dict)
    spec: dict[str, Any] | None = None
    resources: dict[str, Resource] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    operation: dict[str, Any] | None = None  # the operation in progress (or interrupted)
    last: dict[str, Any] | None = None  # the last finished operation
    updated: float = 0.0
    # Resources in Pulumi's own state after the last Automation API operation (that engine keeps
    # its resources there, not in ``resources``); None when unknown or for the rehearsal engine.
    managed: int | None = None

    def binding(self) -> tuple[str, str] | None:
        """``(target kind, engine)`` the stack is bound to, or None when it is free.

        A stack is bound from the first operation of either engine (a preview included) until a
        destroy succeeds and it owns nothing: operating it against another target or with the other
        engine would reach resources that are not there (a destroy against the emulator of a stack
        that lives on AWS "succeeds" while the real network keeps running and billing)."""
        kind = (self.target or {}).get("kind")
        if not kind:
            return None
        released = (self.last or {}).get("kind") == "destroy" and (self.last or {}).get("result") == "succeeded"
        if released and not self.resources and self.operation is None:
            return None
        return kind, self.engine

    def claim(self, target: dict[str, Any], engine: str, spec: dict[str, Any] | None) -> bool:
        """Bind a free stack to ``target`` (its description) and ``engine``, or refuse a stack bound
        another way (:func:`mismatch`). Called by the engine with the stack lock held, so two processes
        cannot bind one stack two ways. Returns whether the state changed (the caller saves it)."""
        self.check_binding(target.get("kind", ""), engine)
        if self.binding() is None:
            self.target, self.engine = dict(target), engine
            self.spec = self.spec or spec
            return True
        return False

    def check_binding(self, target_kind: str, engine: str) -> None:
        bound = self.binding()
        if bound is not None and bound != (target_kind, engine):
            raise mismatch(self.stack, bound, (target_kind, engine))

    def deployed_with(self, spec: dict[str, Any]) -> bool:
        """The stack was last deployed, successfully, with this very spec and nothing is in flight: an
        up would add nothing."""
        last = self.last or {}
        return (last.get("kind") == "up" and last.get("result") == "succeeded" and self.operation is None
                and not self.pending and self.spec == spec)

    def word(self, holder: dict[str, Any] | None) -> str:
        """One word for the stack: empty, deployed, destroyed, interrupted …, busy …, … failed."""
        if holder is not None:
            return "locked (stale)" if holder.get("alive") is False else f"busy ({holder.get('operation')})"
        if self.operation is not None:
            return f"interrupted {self.operation.get('kind', '')}".strip()
        last = self.last or {}
        if self.engine == "pulumi" and last:
            # The Automation API engine's resources are in Pulumi's state; labnet's records the results.
            if last.get("result") == "failed":
                return f"{last.get('kind')} failed"
            if last.get("kind") == "destroy":
                return "destroyed"
            if last.get("kind") in ("up", "refresh"):
                return "deployed" if self.managed is None or self.managed > 0 else "empty"
        if self.created or self.pending:
            return f"{last['kind']} failed" if last.get("result") == "failed" else "deployed"
        return "destroyed" if last.get("kind") == "destroy" else "empty"

    @property
    def held(self) -> int:
        """How many resources the stack holds (Pulumi's count for that engine, else labnet's record)."""
        return self.managed if self.engine == "pulumi" and self.managed is not None else len(self.created)

    @property
    def created(self) -> list[Resource]:
        return sorted((r for r in self.resources.values() if r.status == "created"), key=lambda r: r.seq)

    @property
    def pending(self) -> list[Resource]:
        return [r for r in self.resources.values() if r.status == "pending"]

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "stack": self.stack, "engine": self.engine, "target": self.target,
                "spec": self.spec, "resources": [r.to_json() for r in self.resources.values()],
                "outputs": self.outputs, "operation": self.operation, "last": self.last,
                "updated": self.updated, "managed": self.managed}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "StackState":
        st = cls(stack=data["stack"], engine=data.get("engine", "rehearsal"),
                 target=data.get("target") or {}, spec=data.get("spec"),
                 outputs=data.get("outputs") or {}, operation=data.get("operation"),
                 last=data.get("last"), updated=data.get("updated", 0.0), managed=data.get("managed"))
        for r in data.get("resources", []):
            st.resources[r["urn"]] = Resource(**r)
        return st

    def apply(self, event: dict[str, Any]) -> None:
        """Replay one journal event."""
        kind = event["event"]
        if kind == "pending":
            r = Resource(urn=event["urn"], type=event["type"], name=event["name"], inputs=event["inputs"],
                         region=event.get("region", ""), retain=bool(event.get("retain", False)))
            self.resources[r.urn] = r
        elif kind == "created":
            r = self.resources[event["urn"]]
            r.id, r.outputs, r.status, r.seq = event["id"], event["outputs"], "created", event["seq"]
        elif kind == "updating":
            self.resources[event["urn"]].updating = event["inputs"]
        elif kind == "updated":
            r = self.resources[event["urn"]]
            r.inputs, r.outputs, r.updating = event["inputs"], event["outputs"], None
        elif kind in ("deleted", "abandoned"):
            self.resources.pop(event["urn"], None)
        elif kind == "operation":
            self.operation = event["operation"]
        else:
            raise ValueError(f"unknown journal event {kind!r}")


def mismatch(stack: str, bound: tuple[str, str], wanted: tuple[str, str]) -> TargetError:
    """The refusal of a stack bound to another target or engine (see :meth:`StackState.binding`)."""
    (kind, engine), (want_kind, want_engine) = bound, wanted
    what = f"target {want_kind!r}" if kind != want_kind else f"engine {want_engine!r}"
    return TargetError(
        f"stack {stack!r} belongs to target {kind!r} with the {engine} engine, not {what}: labnet never operates "
        f"a stack against a target or engine it was not deployed with (a destroy there would remove nothing "
        f"while the real resources keep running). Open it with target={kind!r}, engine={engine!r}; to reuse "
        "the name elsewhere, destroy() it there first, or choose another stack name")


class StackStore:
    """The on-disk home of one stack's state."""

    def __init__(self, stack: str, root: Path | None = None) -> None:
        self.stack = stack
        self.root = root or paths.home()
        self.dir = self.root / "stacks" / stack
        self.state_path = self.dir / "state.json"
        self.journal_path = self.dir / "journal.jsonl"
        self.lock_path = self.dir / "lock"
        self._journal_lock = threading.Lock()
        self._journal = None

    # -- reading -------------------------------------------------------------------------------
    def load(self) -> StackState:
        """The stack's state; a new empty state if the stack was never used.

        Raises :class:`StateCorruptError` (after moving the damaged file aside) when a file cannot be
        read, and when the snapshot is missing from a stack folder that has a journal.
        """
        if not self.dir.exists():
            return StackState(stack=self.stack)
        if not self.state_path.exists():
            if self.journal_path.exists() and self.journal_path.stat().st_size:
                kept = self._keep_aside(self.journal_path)
                raise StateCorruptError(str(self.state_path), kept, "the snapshot is missing but a "
                                        "journal of resource events exists")
            return StackState(stack=self.stack)
        try:
            data = json.loads(self.state_path.read_text())
            state = StackState.from_json(data)
            if state.stack != self.stack:
                raise ValueError(f"it belongs to stack {state.stack!r}")
        except (ValueError, KeyError, TypeError) as exc:
            kept = self._keep_aside(self.state_path)
            raise StateCorruptError(str(self.state_path), kept, f"{type(exc).__name__}: {exc}") from None
        self._replay(state)
        return state

    def _replay(self, state: StackState) -> None:
        if not self.journal_path.exists():
            return
        lines = self.journal_path.read_bytes().split(b"\n")
        for k, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
                state.apply(event)
            except (ValueError, KeyError, TypeError) as exc:
                # A process killed mid-write leaves a cut last line: that event never completed,
                # and the "pending" record before it already names the resource. Anything else is damage.
                if k == len(lines) - 1 or (k == len(lines) - 2 and not lines[-1].strip()):
                    continue
                kept = self._keep_aside(self.journal_path)
                raise StateCorruptError(str(self.journal_path), kept,
                                        f"line {k + 1}: {type(exc).__name__}: {exc}") from None

    def _keep_aside(self, path: Path) -> str:
        """Copy a damaged file aside (0600) and leave it where it is.

        Moving it away would leave a folder without state, which the next load reads as a new,
        empty stack: an up would then deploy a second network over the resources that exist, and a
        destroy would remove nothing. Left in place, every load fails the same way until a person
        restores a good copy or removes the stack folder. Repeated loads keep one copy.
        """
        raw = path.read_bytes()
        for old in sorted(path.parent.glob(f"{path.name}.damaged-*")):
            try:
                if old.read_bytes() == raw:
                    return str(old)
            except OSError:
                continue
        stamp = time.strftime("%Y%m%d-%H%M%S")
        kept = path.with_name(f"{path.name}.damaged-{stamp}")
        n = 1
        while kept.exists():
            n += 1
            kept = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
        paths.write_private(kept, raw)
        return str(kept)

    # -- writing -------------------------------------------------------------------------------
    def save(self, state: StackState) -> None:
        """Write the snapshot atomically and start a new journal."""
        state.updated = time.time()
        paths.private_dir(self.dir)
        with self._journal_lock:
            paths.write_json(self.state_path, state.to_json())
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            self.journal_path.unlink(missing_ok=True)

    def record(self, state: StackState, event: dict[str, Any]) -> None:
        """Apply an event to ``state`` and append it to the journal (thread-safe, flushed at once)."""
        with self._journal_lock:
            state.apply(event)
            if self._journal is None:
                paths.private_dir(self.dir)
                fd = os.open(self.journal_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                os.fchmod(fd, 0o600)
                self._journal = os.fdopen(fd, "a", buffering=1)
            self._journal.write(json.dumps(event, default=str, separators=(",", ":")) + "\n")
            self._journal.flush()

    def close(self) -> None:
        with self._journal_lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None

    # -- locking -------------------------------------------------------------------------------
    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock (pid, host, operation, age, alive), or None."""
        try:
            raw = self.lock_path.read_text()
            written = self.lock_path.stat().st_mtime
        except FileNotFoundError:
            return None
        try:
            info = json.loads(raw)
            if not isinstance(info, dict):
                raise ValueError("not an object")
        except ValueError:
            # A process killed between creating the lock file and writing it leaves it empty.
            info = {"pid": "?", "host": "?", "operation": "unknown (unreadable lock file)"}
        since = info.get("since")
        since = since if isinstance(since, (int, float)) and not isinstance(since, bool) else written
        info["age_seconds"] = max(0.0, time.time() - float(since))
        if info.get("host") == socket.gethostname() and isinstance(info.get("pid"), int):
            info["alive"] = paths.pid_alive(info["pid"])
        return info

    @contextlib.contextmanager
    def lock(self, operation: str) -> Iterator[None]:
        """Hold the stack's lock for one operation; refuse (naming the holder) if someone has it."""
        paths.private_dir(self.dir)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "operation": operation,
                "since": time.time(), "thread": threading.get_ident()}
        try:
            fd = os.open(self.lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise StackLockedError(self.stack, self.holder() or {}) from None
        with os.fdopen(fd, "w") as fh:
            json.dump(info, fh)
        try:
            yield
        finally:
            try:
                current = json.loads(self.lock_path.read_text())
                if current.get("pid") == info["pid"] and current.get("since") == info["since"]:
                    self.lock_path.unlink()
            except (FileNotFoundError, ValueError):
                pass

    def claim(self, target: dict[str, Any], engine: str, spec: dict[str, Any] | None, *,
              locked: bool = True) -> StackState:
        """The stack's state, claimed for ``engine`` on ``target`` (saved when that bound it).
        ``locked=False`` (a preview): take the lock just for the claim, and leave a stack another
        operation holds to that operation (it binds the stack itself)."""
        if not locked:
            state = self.load()
            if state.binding() is not None:
                state.check_binding(target.get("kind", ""), engine)
                return state
            try:
                with self.lock("preview"):
                    return self.claim(target, engine, spec)
            except StackLockedError:
                return self.load()
        state = self.load()
        if state.claim(target, engine, spec):
            self.save(state)
        return state

    def break_lock(self, force: bool = False) -> dict[str, Any] | None:
        """Remove the lock (an explicit request only); returns who held it.

        A holder still running on this machine is refused with :class:`StackLockedError` unless
        ``force``: breaking its lock would let two operations work on the stack at once.
        """
        held = self.holder()
        if held is not None and held.get("alive") and not force:
            raise StackLockedError(self.stack, held)
        self.lock_path.unlink(missing_ok=True)
        return held


def list_stacks(root: Path | None = None) -> list[str]:
    base = (root or paths.home()) / "stacks"
    if not base.exists():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir())
