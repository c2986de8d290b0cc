"""The facade every notebook, form and command uses: stack name + spec + target → operations.

    >>> spec = labnet.size(spokes=3, nodes_per_spoke=64, instance_type="p5.48xlarge", azs=2)
    >>> lab = labnet.Lab("ml-net", spec)          # target defaults to the embedded emulator
    >>> lab.preview(); lab.up(); lab.outputs(); lab.destroy()

``engine="auto"`` uses the Pulumi Automation API when the ``pulumi`` CLI is on PATH and the
rehearsal engine otherwise; rehearsal never touches a real AWS account. Everything a Lab prints,
returns or raises is safe to share: no credentials and no secret values.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import pandas as pd

from . import display, preflight, sizing, tables, targets
from .engines import automation
from .engines.progress import ProgressEvent
from .engines.rehearsal import RehearsalEngine
from .engines.state import StackState, StackStore, list_stacks
from .errors import (InvalidSpecError, LabnetError, StateCorruptError, TargetError)
from .redact import redact
from .spec import NetworkSpec, Tags

ENGINES = ("auto", "pulumi", "rehearsal")


def size(spokes: int | Sequence[str] = 3, nodes_per_spoke: int = 64, instance_type: str = "p5.48xlarge",
         azs: int | Sequence[str] = 2, supernet: str = "10.0.0.0/8", region: str = "us-east-1",
         interface_mode: str = "efa", headroom: float = 0.25, public_subnets: bool = False,
         s3_endpoint: bool = True, project: str = "labnet", owner: str = "data-science",
         target: str = "emulator") -> NetworkSpec:
    """Size a hub-and-spoke network for a training workload and return its spec.

    Instance facts come from EC2's ``describe_instance_types`` on ``target`` (the embedded emulator by
    default). Preflight runs on the result; ``spec_warnings(spec)`` lists its warnings.

    >>> spec = size(spokes=3, nodes_per_spoke=128, instance_type="p5.48xlarge", azs=2, headroom=0)
    >>> spec.table()   # compute subnets are /19: 128 × 32 IPs = 4,096 > 4,091 usable in a /20
    """
    # Everything that needs no facts from EC2 is checked before the target is reached, so bad input
    # never costs an AWS call (or starts an emulator).
    sizing.check_known_region(region)
    sizing.check_instance_type_name(instance_type)
    sizing.check_arguments(spokes=spokes, nodes_per_spoke=nodes_per_spoke, azs=azs, supernet=supernet,
                           interface_mode=interface_mode, headroom=headroom, public_subnets=public_subnets,
                           s3_endpoint=s3_endpoint)
    tags = Tags(project=project, owner=owner)
    preflight.check_tags(tags)
    ec2 = targets.resolve(target, region).ec2()
    spec, _ = sizing.size(ec2, spokes=spokes, nodes_per_spoke=nodes_per_spoke, instance_type=instance_type,
                                 azs=azs, supernet=supernet, interface_mode=interface_mode, headroom=headroom,
                                 public_subnets=public_subnets, s3_endpoint=s3_endpoint, tags=tags)
    return spec


def spec_warnings(spec: NetworkSpec) -> list[str]:
    """Preflight's warnings for a spec (things AWS allows but that will hurt); raises if it is invalid."""
    if not isinstance(spec, NetworkSpec):
        raise InvalidSpecError("spec", type(spec).__name__, "must be a NetworkSpec", "pass labnet.size(...)")
    return preflight.check(spec)


def instance_types(target: str = "emulator", region: str = "us-east-1", efa_only: bool = False) -> pd.DataFrame:
    """Instance types EC2 reports, GPU/accelerator types first, with their network facts."""
    sizing.check_known_region(region)
    if not isinstance(efa_only, bool):
        raise InvalidSpecError("efa_only", efa_only, "must be True or False", "")
    ec2 = targets.resolve(target, region).ec2()
    rows = [f.__dict__ for f in sizing.all_instance_facts(ec2) if f.efa_supported or not efa_only]
    return pd.DataFrame(rows)


def stacks() -> pd.DataFrame:
    """Every stack labnet knows on this machine and its state."""
    rows = []
    for name in list_stacks():
        store = StackStore(name)
        try:
            st = store.load()
        except StateCorruptError as exc:
            rows.append({"stack_name": name, "state": f"damaged: {exc.kept_at}", "engine": "", "target": "",
                         "spokes": 0, "resources": 0, "last_operation": "", "updated": ""})
            continue
        holder = store.holder()
        rows.append({
            "stack_name": name, "state": _state_word(st, holder), "engine": st.engine,
            "target": st.target.get("kind", ""), "spokes": len((st.spec or {}).get("spokes", [])),
            "resources": len(st.created), "last_operation":
                f"{st.last['kind']} {st.last['result']}" if st.last else "",
            "updated": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.updated)) if st.updated else ""})
    return tables.stacks(rows)


def _state_word(st: StackState, holder: dict | None) -> str:
    if holder is not None:
        return "locked (stale)" if holder.get("alive") is False else f"busy ({holder.get('operation')})"
    if st.operation is not None:
        return f"interrupted {st.operation.get('kind', '')}".strip()
    if st.created or st.pending:
        if st.last and st.last.get("result") == "failed":
            return f"{st.last['kind']} failed"
        return "deployed"
    if st.last and st.last.get("kind") == "destroy":
        return "destroyed"
    return "empty"


class Lab:
    """One stack of one network on one target. See the module docstring for the workflow."""

    def __init__(self, stack_name: str, spec: NetworkSpec | dict | None = None, *, target: str = "emulator",
                 engine: str = "auto", backend: str | None = None,
                 progress: Callable[[ProgressEvent], None] | None = None) -> None:
        self.stack_name = preflight.check_stack_name(stack_name)
        self._store = StackStore(stack_name)
        state = self._store.load()  # a damaged state file stops here, before anything else
        if spec is None:
            if not state.spec:
                raise InvalidSpecError("spec", None, f"stack {stack_name!r} is new, so it needs a spec",
                                       "pass labnet.size(...) or a spec dict")
            spec = NetworkSpec.from_dict(state.spec)
        elif isinstance(spec, dict):
            spec = NetworkSpec.from_dict(spec)
        elif not isinstance(spec, NetworkSpec):
            raise InvalidSpecError("spec", type(spec).__name__, "must be a NetworkSpec or a dict",
                                   "pass labnet.size(...)")
        self.warnings = preflight.check(spec)
        self.spec = spec
        if target not in targets.KINDS:
            raise InvalidSpecError("target", target, f"must be one of {list(targets.KINDS)}",
                                   "'emulator' needs no AWS account")
        if engine not in ENGINES:
            raise InvalidSpecError("engine", engine, f"must be one of {list(ENGINES)}", "")
        recorded = state.target.get("kind")
        if recorded and recorded != target and (state.created or state.pending):
            raise TargetError(f"stack {stack_name!r} was deployed to target {recorded!r}, not {target!r}; "
                              f"open it with target={recorded!r}")
        self.target_kind = target
        if engine == "auto":
            engine = state.engine if (state.created and state.engine in ENGINES) else (
                "pulumi" if automation.engine_available() else "rehearsal")
        if progress is not None and not callable(progress):
            raise InvalidSpecError("progress", type(progress).__name__, "must be a function taking a ProgressEvent",
                                   "or None for the default display")
        if backend is not None and not isinstance(backend, str):
            raise InvalidSpecError("backend", backend, "must be a backend URL string or None",
                                   "for example 's3://my-bucket/labnet'")
        if engine == "rehearsal" and target == "aws":
            raise TargetError("the rehearsal engine never touches a real AWS account: use engine='pulumi' "
                              "(needs the pulumi CLI) for target='aws', or target='emulator'")
        self.engine_name = engine
        self.backend = backend
        self._progress = progress
        self._target: targets.Target | None = None
        self._client = None

    # -- plumbing --------------------------------------------------------------------------------
    def _resolve(self) -> targets.Target:
        if self._target is None:
            self._target = targets.resolve(self.target_kind, self.spec.region)
        return self._target

    def _ec2(self):
        """This Lab's one EC2 client (building a client costs a tenth of a second; reuse it)."""
        if self._client is None:
            self._client = self._resolve().ec2()
        return self._client

    def _engine(self):
        target = self._resolve()
        if self.engine_name == "rehearsal":
            from . import emulator

            # Several EC2 calls in flight only where the emulator itself runs one request at a time.
            alone = target.kind == "emulator" and bool(target.endpoint) and emulator.serializes(target.endpoint)
            return RehearsalEngine(self._store, self._ec2(), target.describe(), one_call_at_a_time=not alone)
        return automation.AutomationEngine(self.stack_name, target, self._store.root, self.backend,
                                           redact=lambda s: redact(s, self._store.root))

    def _preflight_facts(self) -> None:
        """Preflight with the region's real AZ list (a read-only call) before anything is built."""
        self.warnings = preflight.check(self.spec, sizing.region_facts(self._ec2()))

    def _run(self, title: str, fn):
        shown = display.make(f"{title} {self.stack_name}", self._progress)
        try:
            result = fn(shown)
        except LabnetError as exc:
            shown.finish(f"failed: {redact(str(exc), self._store.root)}")
            raise
        except BaseException:
            shown.finish("stopped")
            raise
        shown.finish("done")
        return result

    # -- operations ------------------------------------------------------------------------------
    def preview(self) -> pd.DataFrame:
        """Every resource ``up`` would create (or keep, or delete), without creating any."""
        self._preflight_facts()
        planned = self._engine().plan(self.spec)
        return tables.preview(planned, [s.name for s in self.spec.spokes])

    def up(self, resume: bool = False) -> pd.DataFrame:
        """Deploy (live progress); returns the outputs table. An unchanged spec changes nothing.

        ``resume=True`` goes on with an interrupted up (see :class:`~labnet.InterruptedOperationError`).
        """
        if not isinstance(resume, bool):
            raise InvalidSpecError("resume", resume, "must be True or False", "")
        self._preflight_facts()
        engine = self._engine()

        def go(shown):
            exports = engine.up(self.spec, progress=shown, resume=resume)
            if self.engine_name == "pulumi":
                self._record_pulumi(exports, "up")
            return exports

        exports = self._run("up", go)
        return tables.outputs(exports)

    def outputs(self) -> pd.DataFrame:
        """The outputs table: TGW, route tables, and per spoke its VPC, subnets, attachment, SG, endpoint."""
        return tables.outputs(self._store.load().outputs)

    def exports(self) -> dict[str, Any]:
        """The raw stack outputs (nested dict; secrets shown as ``[secret]``)."""
        return dict(self._store.load().outputs)

    def refresh(self) -> pd.DataFrame:
        """Compare the state with what the target holds; forget resources that are gone."""
        engine = self._engine()
        if self.engine_name == "pulumi":
            return tables.refresh(self._run("refresh", lambda shown: engine.refresh(self.spec, shown)))
        return tables.refresh(self._run("refresh", lambda shown: engine.refresh(shown)))

    def destroy(self) -> pd.DataFrame:
        """Delete everything the stack owns, nothing else; returns what was removed."""
        engine = self._engine()
        if self.engine_name == "pulumi":
            removed = self._run("destroy", lambda shown: engine.destroy(self.spec, shown))
            self._record_pulumi({}, "destroy")
        else:
            removed = self._run("destroy", lambda shown: engine.destroy(shown))
        return pd.DataFrame({"removed": removed})

    def status(self) -> str:
        """One word for the stack's state: empty, deployed, destroyed, interrupted …, busy …"""
        return _state_word(self._store.load(), self._store.holder())

    def break_lock(self, force: bool = False) -> dict | None:
        """Remove a lock left by a dead process (explicit request only); returns who held it.
        A holder still running on this machine is refused unless ``force=True``."""
        return self._store.break_lock(force=force)

    def _record_pulumi(self, exports: dict[str, Any], kind: str) -> None:
        with self._store.lock(f"{kind} bookkeeping"):
            st = self._store.load()
            st.spec, st.engine, st.target = self.spec.to_dict(), "pulumi", self._resolve().describe()
            st.outputs = exports
            st.last = {"kind": kind, "result": "succeeded", "finished": time.time()}
            self._store.save(st)

    def __repr__(self) -> str:
        try:
            state = self.status()
        except LabnetError:
            state = "unreadable"
        return (f"Lab(stack={self.stack_name!r}, spokes={len(self.spec.spokes)}, region={self.spec.region!r}, "
                f"target={self.target_kind!r}, engine={self.engine_name!r}, state={state!r})")
