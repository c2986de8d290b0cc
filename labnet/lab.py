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

from . import preflight, request, sizing
from .facts import instances
from .emulator import targets
from .views import display, launchers, tables
from .engines import automation
from .engines.progress import ProgressEvent
from .engines.rehearsal import RehearsalEngine
from .engines.state import StackState, StackStore, list_stacks
from .errors import (EngineUnavailableError, InterruptedOperationError, InvalidSpecError, LabnetError,
                     StackLockedError, StateCorruptError, TargetError)
from .redact import redact
from .spec import NetworkSpec, Tags, card_bandwidth

ENGINES = ("auto", "pulumi", "rehearsal")


def size(spokes: int | Sequence[str] | None = None, nodes_per_spoke: int = 64, instance_type: str = "p5.48xlarge",
         azs: int | Sequence[str] = 2, supernet: str = "10.0.0.0/8", region: str = "us-east-1",
         interface_mode: str = "efa", headroom: float = 0.25, public_subnets: bool = False,
         s3_endpoint: bool = True, project: str = "labnet", owner: str = "data-science",
         target: str = "emulator", compute_az: str | dict | None = None, image_id: str | None = None,
         regions: dict | None = None, existing_vpcs: dict | None = None, transit_gateway_id: str | None = None,
         storage: dict | None = None) -> NetworkSpec:
    """Size a hub-and-spoke network for a training workload and return its spec.

    Instance facts come from EC2's ``describe_instance_types`` on ``target`` (the embedded emulator by
    default), and compute goes only in AZs where ``describe_instance_type_offerings`` says the type is
    offered. ``azs`` is a number of AZs or a list of AZ names or AZ IDs (``['use1-az6', 'use1-az1']``);
    ``compute_az`` (name or ID) pins an EFA cluster's one compute AZ, which otherwise is the first
    listed AZ, or for a count the first offering AZ in name order. The spec records every subnet's AZ
    name and AZ ID. ``image_id`` is the AMI the node launch template names (None: none).
    Preflight runs on the result; ``spec_warnings(spec)`` lists its warnings.

    >>> spec = size(spokes=3, nodes_per_spoke=128, instance_type="p5.48xlarge", azs=2, headroom=0)
    >>> spec.table()   # compute subnets are /19: 128 × 32 IPs = 4,096 > 4,091 usable in a /20
    >>> size(spokes=2, nodes_per_spoke=16, instance_type="trn1.32xlarge", compute_az="use1-az5")

    Across regions, ``regions`` maps each region to its number of spokes (``spokes`` is then left
    out, and the first region is the spec's own): one Transit Gateway per region, peered into one
    network. ``azs`` and ``compute_az`` apply to every region, or are given per region as dicts.

    >>> size(regions={"us-east-1": 2, "us-west-2": 2}, nodes_per_spoke=16, instance_type="p5.48xlarge")
    spokes: 3 unless ``regions`` is given.

    Existing networks: ``existing_vpcs`` maps a spoke name to a VPC that exists already
    (``{"data": "vpc-…"}``); labnet reads it (blocks, subnets, route tables, attachments), places new
    spokes around it and adds only what it owns inside it (see README, "Bring your own VPCs").
    ``spokes=0`` then builds a network of existing VPCs only. ``transit_gateway_id`` attaches the
    spokes to an existing Transit Gateway instead of creating one. ``storage`` (``{"data":
    "fsx-lustre"}``) lets the training groups reach a spoke's storage on its ports.
    """
    # sizing checks every argument that needs no facts before it calls for a client, so bad input
    # never costs an AWS call (or starts an emulator).
    spec, _ = sizing.size(lambda r: targets.resolve(target, r).ec2(), instance_type=instance_type,
                          region=region, spokes=spokes, regions=regions, nodes_per_spoke=nodes_per_spoke,
                          azs=azs, supernet=supernet, interface_mode=interface_mode, headroom=headroom,
                          public_subnets=public_subnets, s3_endpoint=s3_endpoint,
                          tags=Tags(project=project, owner=owner), compute_az=compute_az, image_id=image_id,
                          existing_vpcs=existing_vpcs, transit_gateway_id=transit_gateway_id, storage=storage)
    return spec


def offerings(instance_type: str = "p5.48xlarge", region: str = "us-east-1", target: str = "emulator") -> pd.DataFrame:
    """Where EC2 offers ``instance_type`` in ``region``: one row per AZ with its name, its AZ ID and
    whether the type is offered there (``describe_instance_type_offerings`` by AZ name, what sizing
    places compute by). ``offered_by_az_id`` is what the by-AZ-ID offerings say for that ID; on AWS
    the two agree, on the emulator they come from different accounts' data and need not.

    >>> labnet.offerings("trn1.32xlarge")   # us-east-1b, 1c and 1f on the emulator
    """
    request.check_known_region(region)
    request.check_instance_type_name(instance_type)
    ec2 = targets.resolve(target, region).ec2()
    instances.instance_facts(ec2, instance_type)  # an unknown type is refused by name, not shown as offered nowhere
    return tables.offerings(instances.offering_rows(ec2, instance_type))


def spec_warnings(spec: NetworkSpec) -> list[str]:
    """Preflight's warnings for a spec (things AWS allows but that will hurt); raises if it is invalid."""
    if not isinstance(spec, NetworkSpec):
        raise InvalidSpecError("spec", type(spec).__name__, "must be a NetworkSpec", "pass labnet.size(...)")
    return preflight.check(spec)


def instance_types(target: str = "emulator", region: str = "us-east-1", efa_only: bool = False) -> pd.DataFrame:
    """Instance types EC2 reports, GPU/accelerator types first, with their network facts: the
    instance's baseline and peak bandwidth are its network cards' figures summed (see
    :func:`labnet.spec.card_bandwidth`; NaN where EC2 gave none)."""
    request.check_known_region(region)
    if not isinstance(efa_only, bool):
        raise InvalidSpecError("efa_only", efa_only, "must be True or False", "")
    ec2 = targets.resolve(target, region).ec2()
    rows = []
    for f in instances.all_instance_facts(ec2):
        if f.efa_supported or not efa_only:
            row = {k: v for k, v in f.__dict__.items() if k != "network_card_bandwidth"}
            baseline, peak = card_bandwidth(f.network_card_bandwidth, f.network_performance)
            rows.append({**row, "baseline_gbps": None if baseline is None else float(baseline),
                         "peak_gbps": None if peak is None else float(peak)})
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
            "resources": st.managed if st.engine == "pulumi" and st.managed is not None else len(st.created),
            "last_operation":
                f"{st.last['kind']} {st.last['result']}" if st.last else "",
            "updated": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.updated)) if st.updated else ""})
    return tables.stacks(rows)


def _mismatch(stack: str, bound: tuple[str, str], wanted: tuple[str, str]) -> TargetError:
    (kind, engine), (want_kind, want_engine) = bound, wanted
    what = f"target {want_kind!r}" if kind != want_kind else f"engine {want_engine!r}"
    return TargetError(
        f"stack {stack!r} belongs to target {kind!r} with the {engine} engine, not {what}: labnet never operates "
        f"a stack against a target or engine it was not deployed with (a destroy there would remove nothing "
        f"while the real resources keep running). Open it with target={kind!r}, engine={engine!r}; to reuse "
        "the name elsewhere, destroy() it there first, or choose another stack name")


def _state_word(st: StackState, holder: dict | None) -> str:
    if holder is not None:
        return "locked (stale)" if holder.get("alive") is False else f"busy ({holder.get('operation')})"
    if st.operation is not None:
        return f"interrupted {st.operation.get('kind', '')}".strip()
    if st.engine == "pulumi" and st.last:
        # The Automation API engine's resources are in Pulumi's state; labnet's records the results.
        kind, result = st.last.get("kind"), st.last.get("result")
        if result == "failed":
            return f"{kind} failed"
        if kind == "destroy":
            return "destroyed"
        if kind in ("up", "refresh") and (st.managed is None or st.managed > 0):
            return "deployed"
        if kind in ("up", "refresh"):
            return "empty"
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
        binding = state.binding()
        if binding is not None and binding[0] != target:
            raise _mismatch(stack_name, binding, (target, engine))
        self.target_kind = target
        if engine == "auto":
            engine = binding[1] if binding is not None and binding[1] in ENGINES else (
                "pulumi" if automation.engine_available() else "rehearsal")
        elif binding is not None and binding[1] != engine:
            raise _mismatch(stack_name, binding, (target, engine))
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
        self.quota_rows: list = []  # the last quota check (labnet.analysis.quotas.QuotaRow)
        self.quota_warnings: list[str] = []

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
        """The engine for this stack; it claims the stack (see :meth:`_claim`) under the stack lock at
        the start of every operation that changes anything."""
        if self.engine_name == "pulumi" and not automation.engine_available():
            raise EngineUnavailableError(automation.unavailable_reason())
        target = self._resolve()
        self._claim(self._store.load(), record=False)  # refuse a mismatch before any work
        if self.engine_name == "rehearsal":
            from . import emulator

            # Several EC2 calls in flight only where the emulator itself runs one request at a time.
            alone = target.kind == "emulator" and bool(target.endpoint) and emulator.serializes(target.endpoint)
            return RehearsalEngine(self._store, self._ec2(), target.describe(), target.program_target(),
                                   claim=self._claim, one_call_at_a_time=not alone, ec2_for=target.ec2)
        return automation.AutomationEngine(self.stack_name, target, self._store.root, self.backend,
                                           redact=lambda s: redact(s, self._store.root))

    def _claim(self, state: StackState, record: bool = True) -> bool:
        """Bind the stack to this Lab's target and engine before the first operation of either engine,
        and refuse a mismatch (see :meth:`labnet.engines.state.StackState.binding`). Called with the
        stack lock held by the operation, so two processes cannot bind one stack two ways. Returns
        whether ``state`` was changed (the caller saves it)."""
        mine = (self.target_kind, self.engine_name)
        bound = state.binding()
        if bound is not None and bound != mine:
            raise _mismatch(self.stack_name, bound, mine)
        if bound is None and record:
            state.target, state.engine = self._resolve().describe(), self.engine_name
            state.spec = state.spec or self.spec.to_dict()
            return True
        return False

    def _claim_for_preview(self) -> None:
        """A preview changes nothing but binds the stack too (a preview on the emulator followed by an
        up to AWS under the same name is refused). If another operation holds the lock, it binds the
        stack itself; the preview does not wait for it."""
        if self._store.load().binding() is not None:
            return
        try:
            with self._store.lock("preview"):
                st = self._store.load()
                if self._claim(st):
                    self._store.save(st)
        except StackLockedError:
            pass

    def _pulumi_operation(self, kind: str, engine: automation.AutomationEngine, *args: Any,
                          resume: bool = False, **kwargs: Any) -> Any:
        """Run one Automation API operation with labnet's own bookkeeping around it.

        Pulumi keeps the resources in its state; labnet's state records what a person and
        :func:`labnet.stacks` need: the operation in progress (so a killed or interrupted one is
        reported, and ``up`` asks for ``resume=True``), the last result, the outputs and how many
        resources Pulumi's state holds."""
        with self._store.lock(kind):
            st = self._store.load()
            self._claim(st)
            if st.operation is not None and not (kind == "up" and resume) and kind != "destroy":
                raise InterruptedOperationError(
                    f"the last {st.operation.get('kind', 'operation')} of stack {self.stack_name!r} did not finish "
                    "(Pulumi's state may hold pending operations); run up(resume=True) to refresh the stack from "
                    "the target and continue it, or destroy() to remove what it created")
            st.operation = {"kind": kind, "started": time.time()}
            st.spec, st.engine, st.target = self.spec.to_dict(), "pulumi", self._resolve().describe()
            self._store.save(st)
            if kind == "up":
                kwargs["resume"] = resume
            try:
                result = getattr(engine, kind)(*args, **kwargs)
            except KeyboardInterrupt:
                st.last = {"kind": kind, "result": "interrupted", "finished": time.time()}
                self._store.save(st)  # the operation stays on record: the next up asks for resume=True
                raise
            except LabnetError as exc:
                st.operation = None
                st.last = {"kind": kind, "result": "failed", "finished": time.time(),
                           "error": redact(str(exc), self._store.root)[:300]}
                st.managed = engine.managed if engine.managed is not None else st.managed
                self._store.save(st)
                raise
            st.operation = None
            st.last = {"kind": kind, "result": "succeeded", "finished": time.time()}
            st.managed = engine.managed if engine.managed is not None else st.managed
            if kind == "up":
                st.outputs = result
            elif kind == "destroy":
                st.outputs = {}
            self._store.save(st)
            return result

    def _preflight_facts(self) -> None:
        """Preflight with the region's real AZs, their IDs and where the workload's instance type is
        offered (read-only calls, cached) before anything is built."""
        wl = self.spec.workload
        types = [wl.instance_type] if wl is not None else []
        facts = {r: instances.region_facts(self._ec2() if r == self.spec.region else self._resolve().ec2(r), types)
                 for r in self.spec.regions}  # every region the network spans, each by its own client
        spec = self.spec
        if spec.existing_spokes or spec.transit_gateway.existing_id:
            # Existing VPCs / TGW: judged by what the target holds now (routes added since sizing).
            from .facts import existing

            # (routes via the TGW of this stack's own outputs are its own: an up after an up)
            own = str((self._store.load().outputs or {}).get("transit_gateway_id") or "")
            spec = existing.current(spec, self._ec2(), self.stack_name, own)
        self.warnings = preflight.check(spec, facts)

    def _existing_urns(self, st: StackState) -> set[str]:
        """What the stack already holds (it adds nothing to the account's counts)."""
        if st.created:
            return {r.urn for r in st.created}
        if st.engine == "pulumi" and st.outputs and st.spec:  # Pulumi's state is the engine's own
            from .declare import declare

            return {r.urn for r in declare(NetworkSpec.from_dict(st.spec), self.stack_name).resources}
        return set()

    def _adds_nothing(self, st: StackState) -> bool:
        """The stack was last deployed, successfully, with this very spec: the up adds nothing."""
        last = st.last or {}
        return (last.get("kind") == "up" and last.get("result") == "succeeded" and st.operation is None
                and not st.pending and st.spec == self.spec.to_dict())

    def _check_quotas(self, title: str, resources=None, refuse: bool = True, always: bool = False,
                      show: bool = True) -> None:
        """The quota preflight (labnet.quotas): on AWS a deploy that does not fit is refused here,
        before any resource is created; on the emulator its rows become warnings, shown now.

        A deploy that adds nothing (the spec the stack was last deployed with, or every declared
        resource already created) needs no quota and makes no AWS call, unless ``always``."""
        from .analysis import quota_report
        from .declare import declare

        self.quota_rows, self.quota_warnings = [], []
        st = self._store.load()
        if not always and self._adds_nothing(st):
            return
        existing = self._existing_urns(st)
        if resources is None:
            resources = declare(self.spec, self.stack_name).resources
        if not always and {r.urn for r in resources} <= existing:
            return
        facts = quota_report.read(self.spec, self._resolve(), self._ec2())
        self._show_quotas(title, quota_report.rows(self.spec, facts, resources, existing), refuse, show)

    def _show_quotas(self, title: str, rows, refuse: bool, show: bool = True) -> None:
        from .analysis import quota_report

        self.quota_rows = rows
        self.quota_warnings = quota_report.warnings(rows, self.target_kind)
        if refuse and self.target_kind == "aws":
            quota_report.refuse_if_exceeded(self.stack_name, rows)
        if show:
            display.notice(f"{title} {self.stack_name}", self.quota_warnings, self._progress)

    def _rehearsal_quota_facts(self):
        """For an up on the emulator with the rehearsal engine: read the account's side now, before
        anything is created, and count what the program declared afterwards from the state the engine
        recorded (every resource with its inputs and id), so the check costs no extra program run.
        The emulator refuses nothing, so its warnings lose nothing by coming at the end of the up."""
        from .analysis import quota_report

        self.quota_rows, self.quota_warnings = [], []
        st = self._store.load()
        if self._adds_nothing(st):
            return None
        return quota_report.read(self.spec, self._resolve(), self._ec2()), self._existing_urns(st)

    def _rehearsal_quota_check(self, before) -> None:
        from .analysis import quota_report
        from .declare import Resource

        facts, existing = before
        created = [Resource(r.type, r.name, r.id or "", r.inputs, r.region) for r in self._store.load().created]
        if {r.urn for r in created} <= existing:
            return  # nothing new was made
        self._show_quotas("up", quota_report.rows(self.spec, facts, created, existing), refuse=False)

    def quotas(self) -> pd.DataFrame:
        """The quota table for this stack's spec on its target (see :func:`labnet.quotas`); what the
        stack already holds counts as in use, not as added. ``quota_warnings`` says what it means."""
        from .analysis import quotas as analysis

        self._check_quotas("quotas", refuse=False, always=True, show=False)
        return analysis.table(self.quota_rows)

    def _run(self, title: str, fn):
        shown = display.make(f"{title} {self.stack_name}", self._progress)
        try:
            result = fn(shown)
        except KeyboardInterrupt as exc:
            shown.finish(f"stopped: {redact(str(exc), self._store.root)}" if str(exc) else "stopped")
            raise
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
        engine = self._engine()
        self._claim_for_preview()
        planned = engine.plan(self.spec)
        resources = None
        if self.engine_name == "rehearsal":  # its plan ran the program with resolvable ids: count those
            from .declare import Resource

            resources = [Resource(p.type, p.name, p.id or f"<{p.name}>", p.inputs, p.region)
                         for p in planned if p.action != "delete"]
        self._check_quotas("preview", resources, refuse=False)
        return tables.preview(planned, [s.name for s in self.spec.spokes], self.spec.region, self.spec)

    def up(self, resume: bool = False, check_quotas: bool = True) -> pd.DataFrame:
        """Deploy (live progress); returns the outputs table. An unchanged spec changes nothing.

        ``resume=True`` goes on with an interrupted up (see :class:`~labnet.InterruptedOperationError`).
        Before anything is created the account's quotas are checked (:func:`labnet.quotas`): on
        ``target="aws"`` a deploy that does not fit raises :class:`~labnet.QuotaExceededError`; on
        the emulator the quotas real AWS would enforce are shown as warnings (``lab.quota_warnings``;
        with the rehearsal engine at the end of the up, counted from what it recorded).
        ``check_quotas=False`` skips the check (for an account whose quotas Service Quotas cannot show).
        """
        if not isinstance(resume, bool):
            raise InvalidSpecError("resume", resume, "must be True or False", "")
        if not isinstance(check_quotas, bool):
            raise InvalidSpecError("check_quotas", check_quotas, "must be True or False", "")
        self._preflight_facts()
        after = None
        if check_quotas and self.target_kind == "emulator" and self.engine_name == "rehearsal":
            after = self._rehearsal_quota_facts()
        elif check_quotas:
            self._check_quotas("up")
        engine = self._engine()

        def go(shown):
            if self.engine_name == "pulumi":
                return self._pulumi_operation("up", engine, self.spec, progress=shown, resume=resume)
            return engine.up(self.spec, progress=shown, resume=resume)

        exports = self._run("up", go)
        if after is not None:
            self._rehearsal_quota_check(after)
        return tables.outputs(exports)

    def outputs(self) -> pd.DataFrame:
        """The outputs table: TGW, route tables, and per spoke its VPC, subnets, attachment, SG, endpoint."""
        return tables.outputs(self._store.load().outputs)

    def exports(self) -> dict[str, Any]:
        """The raw stack outputs (nested dict; secrets shown as ``[secret]``)."""
        return dict(self._store.load().outputs)

    def launch_template(self, spoke: str) -> launchers.NodeLaunch:
        """The spoke's node launch template (id, subnet, group, interface layout) and how to start
        nodes from it: ``.boto3`` and ``.aws_cli`` snippets, ``.run_instances_kwargs(...)``.

        >>> print(lab.launch_template("spoke-01"))
        """
        return launchers.node_launch(self.exports(), spoke, self._endpoint())

    def launcher_configs(self, spoke: str) -> dict[str, Any]:
        """Per spoke, what the launchers people use take: SageMaker's ``VpcConfig``, an AWS
        ParallelCluster queue (YAML), the torchrun/NCCL environment, and the launch template snippets."""
        return launchers.configs(self.exports(), spoke, self._endpoint())

    def _endpoint(self) -> str:
        """The emulator URL the stack was deployed to ("" for AWS), from its state: no call made."""
        target = self._store.load().target or {}
        return target.get("endpoint", "") if target.get("kind") == "emulator" else ""

    # -- verify (labnet.analysis) -----------------------------------------------------------------
    def snapshot(self):
        """What the target holds for this stack (its VPCs, TGWs and peerings, in every region, each
        read with that region's client), read now, as plain data that round-trips to JSON
        (:class:`labnet.analysis.snapshot.Snapshot`)."""
        from .analysis import snapshot

        exports = self.exports()
        snapshot.spokes_from_exports(exports)  # a stack with no outputs stops here, before any call
        efa = self.spec.workload.efa if self.spec.workload else None
        return snapshot.read(self._ec2_in, exports, stack=self.stack_name, efa=efa,
                             emulator=self.target_kind == "emulator")

    def _ec2_in(self, region: str):
        """An EC2 client in ``region``: this Lab's own one in the spec's region, a new one elsewhere
        (a network across regions is read region by region)."""
        return self._ec2() if region == self.spec.region else self._resolve().ec2(region)

    def connectivity(self, probes=None, snapshot=None) -> pd.DataFrame:
        """The connectivity matrix: one row per (source spoke, destination spoke, probe) saying
        whether a training node in one can connect to one in the other, and if not, the ``reason``
        code, the resource it is ``blocked_at``, the ``path`` (forward or return) and a ``detail``.

        ``probes`` defaults to TCP 29500, a TCP port in NCCL's ephemeral range and EFA within a spoke
        (``labnet.analysis.reachability.DEFAULT_PROBES``); pass your own as ``Probe``s or strings
        like ``"tcp:22"``. ``snapshot`` analyses a saved snapshot instead of reading the target.

        >>> m = lab.connectivity()
        >>> m[m.reachable == False]
        """
        from .analysis import reachability, verify

        checked = reachability.check_probes(probes)  # bad probes fail before any AWS call
        snap = self._snapshot_or(snapshot)
        return verify.connectivity(reachability.analyse(snap, checked))

    def exposure(self, snapshot=None) -> pd.DataFrame:
        """Every rule on the stack's security groups and network ACLs that admits traffic from outside
        its spokes (0.0.0.0/0, ::/0, a foreign CIDR, prefix list or group), one row each."""
        from .analysis import reachability, verify

        return verify.exposure(reachability.exposure(self._snapshot_or(snapshot)))

    def _snapshot_or(self, snapshot):
        from .analysis.snapshot import Snapshot

        if snapshot is None:
            return self.snapshot()
        if not isinstance(snapshot, Snapshot):
            raise InvalidSpecError("snapshot", type(snapshot).__name__, "must be a Snapshot or None",
                                   "pass lab.snapshot() or Snapshot.from_json(text)")
        return snapshot

    def refresh(self) -> pd.DataFrame:
        """Compare the state with what the target holds; forget resources that are gone."""
        engine = self._engine()
        if self.engine_name == "pulumi":
            return tables.refresh(self._run("refresh", lambda shown: self._pulumi_operation(
                "refresh", engine, self.spec, shown)))
        return tables.refresh(self._run("refresh", lambda shown: engine.refresh(shown)))

    def destroy(self) -> pd.DataFrame:
        """Delete everything the stack owns, nothing else; returns what was removed."""
        engine = self._engine()
        if self.engine_name == "pulumi":
            removed = self._run("destroy", lambda shown: self._pulumi_operation(
                "destroy", engine, self.spec, shown))
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

    def __repr__(self) -> str:
        try:
            state = self.status()
        except LabnetError:
            state = "unreadable"
        return (f"Lab(stack={self.stack_name!r}, spokes={len(self.spec.spokes)}, region={self.spec.region!r}, "
                f"target={self.target_kind!r}, engine={self.engine_name!r}, state={state!r})")
