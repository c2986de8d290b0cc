"""The rehearsal engine: the real Pulumi program, run by the Pulumi SDK's mock monitor, whose
resource hook makes the real EC2 calls against the embedded emulator.

Why it exists: deploy and teardown must run end to end on any machine without an AWS account or
the ``pulumi`` CLI, and the test suite must exercise them for real. The program's own dependency
graph decides the order (the SDK registers a resource only once its inputs are known).

What it does: journals every resource before and after its EC2 call, holds the stack lock while it
works, reuses what the state already holds (an ``up`` of an unchanged spec makes no AWS call),
creates what a changed spec adds, deletes what it drops, updates in place what its handler can
update (a managed prefix list's entries and size: adding or removing a spoke), and destroys in
reverse creation order.

What it does not do, and says so: any other change to an existing resource. A spec change that
would modify one in a way its handler cannot update (or replace it) stops before any AWS call with
:class:`SpecChangedError`. It refuses any target but the emulator.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Callable

from ..errors import (DeployError, InterruptedByUserError, InterruptedOperationError, LabnetError, SpecChangedError,
                      TeardownIncompleteError)
from ..declare import Resource as DeclaredResource, run, urn_of
from ..spec import NetworkSpec
from .contract import DestroyResult, Plan, PlannedResource, RefreshResult, UpResult
from .handlers import HANDLERS, is_not_found
from .progress import ProgressCallback, ProgressEvent, ignore
from .state import Resource, StackState, StackStore

# moto is not thread-safe (two CreateRoute calls on one route table at once crashed its server with a
# 500), so against an emulator that does not run one request at a time itself the rehearsal engine
# makes one EC2 call at a time, process-wide. labnet's own emulator serializes requests in its server
# (labnet/emulator/server.py): there the engine keeps several calls in flight, so that botocore's
# request building and parsing on this side overlap moto's work on the other. The program's
# dependency graph decides the order either way.
_EC2_CALL = threading.Lock()


class Cancelled(Exception):
    """Raised inside the resource hook once the caller was interrupted."""


def _change(rec: Resource, inputs: dict[str, Any]) -> str:
    """What ``up`` does to a created resource the program declares with ``inputs``: ``same``,
    ``update`` (only inputs its handler updates in place differ, or an earlier update of it was
    interrupted) or ``replace`` (refused)."""
    if rec.updating is None and rec.inputs == inputs:
        return "same"
    if rec.inputs == inputs or HANDLERS[rec.type].can_update(rec.inputs, inputs):
        return "update"
    return "replace"


class RehearsalEngine:
    """Runs one stack's operations against the emulator. ``ec2`` is a boto3 EC2 client for it.
    ``one_call_at_a_time=False`` only for an emulator that serializes requests itself (see above)."""

    name = "rehearsal"

    def __init__(self, store: StackStore, ec2, target: dict[str, Any],
                 program_target: dict[str, Any] | None = None, one_call_at_a_time: bool = True,
                 ec2_for: Callable[[str], Any] | None = None) -> None:
        self.store = store
        self.ec2 = ec2
        # A network across regions: each resource's calls go to its own region's endpoint (moto's
        # server serves every region on one port). ``ec2_for(region)`` makes those clients.
        self._home = getattr(getattr(ec2, "meta", None), "region_name", None)
        self._ec2_for = ec2_for
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._call = _EC2_CALL if one_call_at_a_time else contextlib.nullcontext()
        self.target = dict(target)
        # What the program builds its provider from: the same program, and the same provider, as the
        # Automation API engine would run for this target.
        self.program_target = program_target or {"kind": "emulator", "endpoint": self.target.get("endpoint")}
        self.endpoint = getattr(getattr(ec2, "meta", None), "endpoint_url", "the emulator")
        self._failures: list[BaseException] = []  # the creates that failed in the current up, first first

    @classmethod
    def for_target(cls, store: StackStore, target) -> "RehearsalEngine":
        """The engine for ``target`` (a :class:`labnet.emulator.targets.Target`): its EC2 client, and
        several EC2 calls in flight only where the emulator itself runs one request at a time."""
        from .. import emulator

        alone = target.kind == "emulator" and bool(target.endpoint) and emulator.serializes(target.endpoint)
        return cls(store, target.ec2(), target.describe(), target.program_target(),
                   one_call_at_a_time=not alone, ec2_for=target.ec2)

    def client(self, region: str | None):
        """The EC2 client for ``region`` ("" or None: the stack's own region, as recorded before
        resources knew their region)."""
        if not region or region == self._home:
            return self.ec2
        if self._ec2_for is None:
            raise LabnetError(f"the rehearsal engine has no EC2 client for region {region}")
        with self._clients_lock:
            if region not in self._clients:
                self._clients[region] = self._ec2_for(region)
            return self._clients[region]

    def _claimed(self, spec: NetworkSpec) -> StackState:
        """The stack's state, bound to this engine and target (the caller holds the lock)."""
        return self.store.claim(self.target, self.name, spec.to_dict())

    def holds(self) -> set[str]:
        return {r.urn for r in self.store.load().created}

    def outputs(self, spec: NetworkSpec, progress: ProgressCallback = ignore) -> dict[str, Any]:
        """The outputs the last up recorded (no AWS call)."""
        return dict(self.store.load().outputs)

    # -- preview ---------------------------------------------------------------------------------
    def plan(self, spec: NetworkSpec, progress: ProgressCallback = ignore) -> Plan:
        """Every resource ``up`` would create, keep, update, replace or delete; no AWS call is made.
        A preview binds the stack too (a preview on the emulator followed by an up to AWS under the
        same name is refused)."""
        state = self.store.claim(self.target, self.name, spec.to_dict(), locked=False)
        rows = self._plan(spec, state)
        return Plan(tuple(rows), tuple(DeclaredResource(p.type, p.name, p.id or f"<{p.name}>", p.inputs, p.region)
                                       for p in rows if p.action != "delete"))

    def _plan(self, spec: NetworkSpec, state: StackState) -> list[PlannedResource]:
        rows: list[PlannedResource] = []
        seen: set[str] = set()
        lock = threading.Lock()

        def hook(declared: DeclaredResource) -> tuple[str, dict]:
            typ, name, inputs, region = declared.type, declared.name, declared.inputs, declared.region
            urn = urn_of(typ, name)
            rec = state.resources.get(urn)
            if typ not in HANDLERS:
                raise LabnetError(f"the rehearsal engine has no EC2 calls for {typ} ({name})")
            with lock:
                seen.add(urn)
                if rec is not None and rec.status == "created":
                    rows.append(PlannedResource(_change(rec, inputs), typ, name, inputs, rec.id, region))
                    return rec.id or "", {**inputs, **rec.outputs, "id": rec.id}
                rows.append(PlannedResource("create", typ, name, inputs, region=region))
                return f"<{name}>", {**inputs, "arn": f"<{name}.arn>"}

        run(spec, self.store.stack, hook, preview=True, target=self.program_target)
        for rec in reversed(state.created):
            if rec.urn not in seen:
                rows.append(PlannedResource("delete", rec.type, rec.name, rec.inputs, rec.id, rec.region))
        return rows

    # -- up --------------------------------------------------------------------------------------
    def up(self, spec: NetworkSpec, progress: ProgressCallback = ignore, *, resume: bool = False) -> UpResult:
        with self.store.lock("up"):
            state = self._claimed(spec)
            if state.operation is not None and not resume:
                raise self._interrupted(state)
            if state.operation is not None or (state.last or {}).get("result") == "failed":
                # Going on after an interruption or a failure (the emulator may have gone away and come
                # back without its memory): check that what the state records is still there before
                # building on it. An up after a success makes no such calls.
                self._forget_missing(state)
            # A stack that owns nothing has nothing to keep, replace or delete: the create pass itself
            # counts what it declares, so no separate preview pass is run (it costs a third of a deploy).
            fresh = not state.resources
            plan = [] if fresh else self._plan(spec, state)
            changed = [p for p in plan if p.action == "replace"]
            if changed:
                names = ", ".join(p.name for p in changed[:6]) + (" …" if len(changed) > 6 else "")
                raise SpecChangedError(
                    f"the new spec changes {len(changed)} existing resource(s) of stack {self.store.stack!r} "
                    f"({names}) in a way the rehearsal engine cannot update in place (it updates only a "
                    "prefix list's entries and size). Nothing was changed. Run destroy() and then up() "
                    "with the new spec, or keep the old spec")
            creates = [p for p in plan if p.action == "create"]
            deletes = [p for p in plan if p.action == "delete"]
            updates = [p for p in plan if p.action == "update"]
            if not fresh and not creates and not deletes and not updates and not state.pending and state.outputs:
                # unchanged spec: nothing to do, no AWS call
                return UpResult(dict(state.outputs), self._held(state), changed=False)
            state.spec = spec.to_dict()
            state.engine, state.target = self.name, self.target
            total = len(creates) + len(deletes) + len(updates)
            # Straight into the snapshot, not the journal first: on a new stack a journal without a
            # snapshot is what a damaged folder looks like, and another process reading the stack in
            # that moment (it is allowed to look while we hold the lock) would report it corrupt.
            state.apply({"event": "operation", "operation": {"kind": "up", "started": time.time(), "planned": total}})
            self.store.save(state)
            counter = {"done": 0, "total": total,
                       "seq": max((r.seq for r in state.resources.values()), default=0)}

            def on_declared(n: int) -> None:
                counter["total"] = n  # a first deploy: everything the program declares is a create

            try:
                for p in deletes:
                    rec = state.resources[urn_of(p.type, p.name)]
                    self._delete_one(state, rec, progress, counter, total, "up")
                hook = self._create_hook(state, progress, counter)  # sets self._cancel for this run
                exports = run(spec, self.store.stack, hook, preview=False, cancel=self._cancel,
                                      on_declared=on_declared if fresh else None, target=self.program_target)
            except KeyboardInterrupt as exc:
                self.store.save(state)
                raise self._interrupted(state, just_now=True) from exc
            except BaseException as exc:
                cause = self._failures[0] if self._failures else exc  # not the cancellations it caused
                # The operation ended, with its failure on record: up() again goes on from the state.
                state.operation = None
                state.last = {"kind": "up", "result": "failed", "finished": time.time(),
                              "error": _short(cause, self.endpoint)}
                self.store.save(state)
                if isinstance(cause, (LabnetError,)) and not isinstance(cause, DeployError):
                    raise cause from (None if cause is exc else exc)
                raise DeployError(
                    f"up of stack {self.store.stack!r} failed after creating {counter['done']} of {counter['total']} "
                    f"resource(s): {_short(cause, self.endpoint)}. State is saved: {len(state.created)} "
                    "resource(s) are recorded; fix the cause and run up() again to finish, or destroy() to "
                    "remove them") from cause
            state.outputs = exports
            state.operation = None
            state.last = {"kind": "up", "result": "succeeded", "finished": time.time(),
                          "created": len(creates), "updated": len(updates), "deleted": len(deletes)}
            self.store.save(state)
            return UpResult(exports, self._held(state))

    @staticmethod
    def _held(state: StackState) -> tuple[DeclaredResource, ...]:
        return tuple(DeclaredResource(r.type, r.name, r.id or "", r.inputs, r.region) for r in state.created)

    _cancel: threading.Event

    def _create_hook(self, state: StackState, progress: ProgressCallback, counter: dict):
        self._cancel = threading.Event()
        self._failures = []
        lock = threading.Lock()

        def hook(declared: DeclaredResource) -> tuple[str, dict]:
            typ, name, inputs, region = declared.type, declared.name, declared.inputs, declared.region
            rec = state.resources.get(urn_of(typ, name))
            change = _change(rec, inputs) if rec is not None and rec.status == "created" else "create"
            if change == "same":
                return rec.id or "", {**inputs, **rec.outputs, "id": rec.id}
            if change == "replace":  # the plan refuses these before any call; a program that differs
                raise SpecChangedError(f"{name} changed between the plan and the deploy; nothing was "
                                       "done to it. Run up() again")
            if self._cancel.is_set():
                raise Cancelled(f"cancelled before {'updating' if change == 'update' else 'creating'} {name}")
            try:
                return (update(typ, name, inputs, rec) if change == "update"
                        else make(typ, name, inputs, rec, region, declared.retain))
            except BaseException as exc:
                # Like Pulumi's engine: after the first failure start no new creates (the ones in
                # flight finish), so an endpoint that stopped answering costs one timeout, not one per
                # resource; the first failure is the one reported.
                with lock:
                    self._failures.append(exc)
                self._cancel.set()
                raise

        def make(typ: str, name: str, inputs: dict, rec: Resource | None, region: str,
                 retain: bool = False) -> tuple[str, dict]:
            urn = urn_of(typ, name)
            handler = HANDLERS[typ]
            ec2 = self.client(region)
            if rec is not None and rec.status == "pending":
                # A killed run may have created it without recording the id: look before creating twice.
                with self._call:
                    found = handler.find(ec2, inputs)
                    outputs = handler.adopt(ec2, found, inputs) if found else {}
                if found:  # the steps after its first call may not have run
                    with lock:
                        counter["seq"] += 1
                        seq = counter["seq"]
                    self.store.record(state, {"event": "created", "urn": urn, "id": found, "outputs": outputs,
                                              "seq": seq})
                    return found, {**inputs, **outputs, "id": found}
            self.store.record(state, {"event": "pending", "urn": urn, "type": typ, "name": name, "inputs": inputs,
                                      "region": region, "retain": retain})
            with lock:
                done, total = counter["done"], counter["total"]
            progress(ProgressEvent("up", "create", name, typ, done, total, "started"))
            try:
                with self._call:
                    rid, outputs = handler.create(ec2, name, inputs)
            except BaseException:
                progress(ProgressEvent("up", "create", name, typ, done, total, "failed"))
                raise
            with lock:
                counter["seq"] += 1
                counter["done"] += 1
                seq, done, total = counter["seq"], counter["done"], counter["total"]
                self.store.record(state, {"event": "created", "urn": urn, "id": rid, "outputs": outputs,
                                          "seq": seq})
                # Reported under the lock that numbered it: step numbers reach the display in order.
                progress(ProgressEvent("up", "create", name, typ, done, total, "done"))
            return rid, {**inputs, **outputs, "id": rid}

        def update(typ: str, name: str, inputs: dict, rec: Resource) -> tuple[str, dict]:
            # Journaled like a create: "updating" before the first call, "updated" after the last. If
            # the run dies in between, the state still holds the old inputs plus the update it was
            # making, and the next up makes it again from what the resource holds by then.
            self.store.record(state, {"event": "updating", "urn": rec.urn, "inputs": inputs})
            with lock:
                done, total = counter["done"], counter["total"]
            progress(ProgressEvent("up", "update", name, typ, done, total, "started"))
            try:
                with self._call:
                    outputs = HANDLERS[typ].update(self.client(rec.region), rec.id, inputs, rec.outputs)
            except BaseException:
                progress(ProgressEvent("up", "update", name, typ, done, total, "failed"))
                raise
            with lock:
                counter["done"] += 1
                done, total = counter["done"], counter["total"]
                self.store.record(state, {"event": "updated", "urn": rec.urn, "inputs": inputs, "outputs": outputs})
                progress(ProgressEvent("up", "update", name, typ, done, total, "done"))
            return rec.id or "", {**inputs, **outputs, "id": rec.id}

        return hook

    # -- destroy ---------------------------------------------------------------------------------
    def destroy(self, spec: NetworkSpec, progress: ProgressCallback = ignore) -> DestroyResult:
        """Delete everything the state owns, newest first; nothing else. Returns what was removed, and
        what the program retains on delete (Pulumi's ``retain_on_delete``: forgotten, left on the target)."""
        kept: list[str] = []
        with self.store.lock("destroy"):
            state = self._claimed(spec)
            todo = list(state.pending) + list(reversed(state.created))
            for rec in [r for r in todo if r.retain and r.status == "created"]:
                # Pulumi's retain_on_delete: out of the state, still on the target.
                todo.remove(rec)
                kept.append(rec.name)
                self.store.record(state, {"event": "deleted", "urn": rec.urn})
            self.store.record(state, {"event": "operation", "operation": {
                "kind": "destroy", "started": time.time(), "planned": len(todo)}})
            removed: list[str] = []
            counter = {"done": 0}
            rec = None
            try:
                for rec in todo:
                    if self._delete_one(state, rec, progress, counter, len(todo), "destroy"):
                        removed.append(rec.name)
            except KeyboardInterrupt as exc:
                self.store.save(state)
                raise self._interrupted(state, just_now=True) from exc
            except BaseException as exc:
                state.operation = None  # ended, with its failure on record; the stack and state are kept
                state.last = {"kind": "destroy", "result": "failed", "finished": time.time(),
                              "error": _short(exc, self.endpoint)}
                self.store.save(state)
                remaining = [r.name for r in state.pending + list(reversed(state.created))]
                cause = _short(exc, self.endpoint).rstrip(".")
                if rec is not None:
                    cause = f"deleting {rec.name} ({rec.id or 'id not recorded'}) failed: {cause}"
                if "DependencyViolation" in cause:
                    cause += " (something labnet did not create still uses it: remove that first)"
                raise TeardownIncompleteError(self.store.stack, remaining, cause,
                                              "destroy() (or `python -m labnet destroy "
                                              f"{self.store.stack}`) to finish") from exc
            state.outputs = {}
            state.operation = None
            state.last = {"kind": "destroy", "result": "succeeded", "finished": time.time(),
                          "deleted": len(removed)}
            self.store.save(state)
            return DestroyResult(tuple(removed), tuple(kept))

    def _delete_one(self, state: StackState, rec: Resource, progress: ProgressCallback, counter: dict,
                    total: int, operation: str) -> bool:
        handler = HANDLERS[rec.type]
        rid = rec.id
        if rec.status == "pending":
            rid = handler.find(self.client(rec.region), rec.inputs)
            if not rid:  # the create call never took effect
                self.store.record(state, {"event": "abandoned", "urn": rec.urn})
                return False
        progress(ProgressEvent(operation, "delete", rec.name, rec.type, counter["done"], total, "started"))
        try:
            handler.delete(self.client(rec.region), rid, rec.inputs, rec.outputs)
        except Exception as exc:
            # "Not found" is done. Any other error counts only if the resource is still there: an
            # emulator restarted without its memory answers some deletes of unknown ids with a 500.
            if not is_not_found(exc) and not self._gone(rec, rid):
                progress(ProgressEvent(operation, "delete", rec.name, rec.type, counter["done"], total, "failed"))
                raise
        counter["done"] += 1
        self.store.record(state, {"event": "deleted", "urn": rec.urn})
        progress(ProgressEvent(operation, "delete", rec.name, rec.type, counter["done"], total, "done"))
        return True

    # -- refresh ---------------------------------------------------------------------------------
    def refresh(self, spec: NetworkSpec, progress: ProgressCallback = ignore) -> RefreshResult:
        """Check every recorded resource against the emulator; forget the ones that are gone."""
        with self.store.lock("refresh"):
            state = self._claimed(spec)
            rows = []
            recs = state.created
            for k, rec in enumerate(recs):
                present = HANDLERS[rec.type].exists(self.client(rec.region), rec.id, rec.inputs)
                rows.append({"name": rec.name, "type": rec.type, "id": rec.id,
                             "status": "present" if present else "missing (forgotten)"})
                if not present:
                    self.store.record(state, {"event": "deleted", "urn": rec.urn})
                progress(ProgressEvent("refresh", "read", rec.name, rec.type, k + 1, len(recs), "done"))
            if not state.created and state.outputs:
                state.outputs = {}
            self.store.save(state)
            return RefreshResult(tuple(rows))

    # -- helpers ---------------------------------------------------------------------------------
    def _exists(self, rec: Resource, rid: str | None) -> bool:
        """Whether a recorded resource is still on the target ("not found" errors mean no)."""
        try:
            return bool(HANDLERS[rec.type].exists(self.client(rec.region), rid, rec.inputs))
        except Exception as exc:  # noqa: BLE001
            if is_not_found(exc):
                return False
            raise

    def _gone(self, rec: Resource, rid: str | None) -> bool:
        """True only when the target answers that the resource is not there."""
        try:
            return not self._exists(rec, rid)
        except Exception:  # noqa: BLE001 cannot tell: keep the original error
            return False

    def _forget_missing(self, state: StackState) -> None:
        """Forget recorded resources the target no longer holds, so up() makes them again."""
        for rec in list(state.created):
            try:
                present = self._exists(rec, rec.id)
            except Exception as exc:  # noqa: BLE001
                raise DeployError(
                    f"up of stack {self.store.stack!r} could not check the {len(state.created)} resource(s) its "
                    f"state records: {_short(exc, self.endpoint)}. Nothing was changed; run up() again once "
                    "the endpoint answers") from exc
            if not present:
                self.store.record(state, {"event": "deleted", "urn": rec.urn})

    def _interrupted(self, state: StackState, just_now: bool = False) -> InterruptedOperationError:
        op = state.operation or {}
        kind = op.get("kind", "an operation")
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(op.get("started", time.time())))
        created = len(state.created)
        pending = len(state.pending)
        head = (f"{kind} of stack {self.store.stack!r} was interrupted" if just_now else
                f"the last {kind} of stack {self.store.stack!r} (started {when}) did not finish")
        ways = ("run destroy() again to finish the teardown" if kind == "destroy" else
                "run up(resume=True) to continue it (resources already made are kept; one in flight is "
                "looked up before it is made again), or destroy() to remove what it created")
        cls = InterruptedByUserError if just_now else InterruptedOperationError
        return cls(f"{head}: {created} resource(s) recorded as created, {pending} in flight. State is saved; {ways}")


def _short(exc: BaseException, endpoint: str) -> str:
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.parsers import ResponseParserError

    if isinstance(exc, (BotoConnectionError, HTTPClientError, ConnectionError)):
        return f"the EC2 endpoint {endpoint} stopped answering ({type(exc).__name__})"
    if isinstance(exc, ResponseParserError):
        # An endpoint that dies mid-request leaves an empty body; one that fails inside answers HTML.
        if str(exc).rstrip().endswith("b''"):
            return f"the EC2 endpoint {endpoint} stopped answering (empty response)"
        return f"the EC2 endpoint {endpoint} sent a response that is not EC2's: {str(exc).splitlines()[0][:200]}"
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"EC2 {exc.operation_name} failed: {err.get('Code', '?')}: {err.get('Message', '')}"
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:297] + "..."
