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
from .engines import contract
from .engines.progress import ProgressEvent
from .engines.state import StackStore, list_stacks
from .errors import InvalidSpecError, LabnetError, StateCorruptError, TargetError
from .outputs import StackOutputs
from .redact import redact
from .spec import NetworkSpec, Tags, card_bandwidth

ENGINES = ("auto", *contract.NAMES)


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
            "stack_name": name, "state": st.word(holder), "engine": st.engine,
            "target": st.target.get("kind", ""), "spokes": len((st.spec or {}).get("spokes", [])),
            "resources": st.held,
            "last_operation":
                f"{st.last['kind']} {st.last['result']}" if st.last else "",
            "updated": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(st.updated)) if st.updated else ""})
    return tables.stacks(rows)


class Lab:
    """One stack of one network on one target. See the module docstring for the workflow."""

    def __init__(self, stack_name: str, spec: NetworkSpec | dict | None = None, *, target: str = "emulator",
                 engine: str = "auto", backend: str | None = None, secrets_provider: str | None = None,
                 progress: Callable[[ProgressEvent], None] | None = None) -> None:
        self.stack_name = preflight.check_stack_name(stack_name)
        self._store = StackStore(stack_name)
        state = self._store.load()  # a damaged state file stops here, before anything else
        from .engines import automation  # the Pulumi engine's backend: shared specs, the URL named

        self._shared_outputs: dict[str, Any] = {}
        if (spec is None and target in targets.KINDS and isinstance(backend, (str, type(None)))
                and (not state.spec or not automation.is_local(automation.backend_url(self._store.root, backend)))
                and (engine == "pulumi" or (engine == "auto" and automation.cli_on_path()))):
            # No record here, or a shared backend (where a teammate may have changed the stack since):
            # the stack itself carries its spec and outputs.
            shared = automation.shared_spec(stack_name, self._store.root, backend, target, secrets_provider)
            if shared is not None:
                spec, self._shared_outputs = NetworkSpec.from_dict(shared[0]), shared[1]
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
        contract.check_name(engine)
        binding = state.binding()
        if engine == "auto":
            engine = contract.pick(target, binding[1] if binding is not None and binding[0] == target else None)
        state.check_binding(target, engine)
        if progress is not None and not callable(progress):
            raise InvalidSpecError("progress", type(progress).__name__, "must be a function taking a ProgressEvent",
                                   "or None for the default display")
        if backend is not None and not isinstance(backend, str):
            raise InvalidSpecError("backend", backend, "must be a backend URL string or None",
                                   "for example 's3://my-bucket/labnet'")
        if engine == "rehearsal" and (backend is not None or secrets_provider is not None):
            raise InvalidSpecError("backend" if backend is not None else "secrets_provider",
                                   backend if backend is not None else secrets_provider,
                                   "only the Pulumi engine keeps its state in a backend",
                                   "use engine='pulumi' (or 'auto' with the pulumi CLI on PATH)")
        if engine == "rehearsal" and target == "aws":
            raise TargetError(contract.unavailable(engine, target))
        self.target_kind = target
        self.engine_name = engine
        # The backend actually used (PULUMI_BACKEND_URL honoured), named in the repr and in errors.
        self.backend = automation.backend_url(self._store.root, backend) if engine == "pulumi" else None
        self.secrets_provider = secrets_provider
        self._progress = progress
        self._target: targets.Target | None = None
        self._client = None
        self._engine_obj: contract.Engine | None = None
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

    def _engine(self) -> contract.Engine:
        """The engine for this stack (:mod:`labnet.engines.contract`); it binds the stack to this target
        and engine under the stack lock in its first operation, and refuses a mismatch."""
        if self._engine_obj is None:
            self._store.load().check_binding(self.target_kind, self.engine_name)  # before any work
            self._engine_obj = contract.open_engine(self.engine_name, self._store, self._resolve(),
                                                    backend=self.backend,
                                                    secrets_provider=self.secrets_provider)
        return self._engine_obj

    def _preflight_facts(self) -> None:
        """Preflight with the region's real AZs, their IDs and where the workload's instance type is
        offered (read-only calls, cached) before anything is built."""
        wl = self.spec.workload
        types = [wl.instance_type] if wl is not None else []
        facts = {r: instances.region_facts(self._ec2_in(r), types)
                 for r in self.spec.regions}  # every region the network spans, each by its own client
        spec = self.spec
        if spec.existing_spokes or spec.transit_gateway.existing_id:
            # Existing VPCs / TGW: judged by what the target holds now (routes added since sizing).
            from .facts import existing

            # (routes via the TGW of this stack's own outputs are its own: an up after an up)
            own = str((self._store.load().outputs or {}).get("transit_gateway_id") or "")
            spec = existing.current(spec, self._ec2(), self.stack_name, own)
        self.warnings = preflight.check(spec, facts)

    def _check_quotas(self, title: str, engine: contract.Engine, resources=None, *, refuse: bool = True,
                      always: bool = False, show: bool = True, facts=None, existing=None) -> None:
        """The quota preflight (labnet.quotas): on AWS a deploy that does not fit is refused here,
        before any resource is created; on the emulator its rows become warnings, shown now.

        A deploy that adds nothing (the spec the stack was last deployed with, or every declared
        resource already created) needs no quota and makes no AWS call, unless ``always``.
        ``facts``/``existing``: the account's side and the stack's holdings, read before an up whose
        resources are counted after it."""
        from .analysis import quota_report, quotas
        from .declare import declare

        self.quota_rows, self.quota_warnings = [], []
        if not always and facts is None and self._store.load().deployed_with(self.spec.to_dict()):
            return
        existing = engine.holds() if existing is None else existing
        if resources is None:
            resources = declare(self.spec, self.stack_name).resources
        if not always and {r.urn for r in resources} <= existing:
            return
        if facts is None:
            facts = quota_report.read(self.spec, self._resolve(), self._ec2())
        self.quota_rows = quota_report.rows(self.spec, facts, resources, existing)
        self.quota_warnings = quotas.warnings(self.quota_rows, self.target_kind)
        if refuse and self.target_kind == "aws":
            quota_report.refuse_if_exceeded(self.stack_name, self.quota_rows)
        if show:
            display.notice(f"{title} {self.stack_name}", self.quota_warnings, self._progress)

    def quotas(self) -> pd.DataFrame:
        """The quota table for this stack's spec on its target (see :func:`labnet.quotas`); what the
        stack already holds counts as in use, not as added. ``quota_warnings`` says what it means."""
        from .analysis import quotas as analysis

        self._check_quotas("quotas", self._engine(), refuse=False, always=True, show=False)
        return analysis.table(self.quota_rows)

    def _run(self, title: str, fn):
        self._shared_outputs = {}  # what the stack said when opened; after an operation, the record here
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
        plan = engine.plan(self.spec)
        self._check_quotas("preview", engine, plan.resources, refuse=False)
        return tables.preview(list(plan.rows), [s.name for s in self.spec.spokes], self.spec.region, self.spec)

    def up(self, resume: bool = False, check_quotas: bool = True) -> pd.DataFrame:
        """Deploy (live progress); returns the outputs table. An unchanged spec changes nothing.

        ``resume=True`` goes on with an interrupted up (see :class:`~labnet.InterruptedOperationError`).
        Before anything is created the account's quotas are checked (:func:`labnet.quotas`): on
        ``target="aws"`` a deploy that does not fit raises :class:`~labnet.QuotaExceededError`; on
        the emulator the quotas real AWS would enforce are shown as warnings (``lab.quota_warnings``),
        at the end of the up, counted from what the engine recorded when it records that.
        ``check_quotas=False`` skips the check (for an account whose quotas Service Quotas cannot show).
        """
        if not isinstance(resume, bool):
            raise InvalidSpecError("resume", resume, "must be True or False", "")
        if not isinstance(check_quotas, bool):
            raise InvalidSpecError("check_quotas", check_quotas, "must be True or False", "")
        self._preflight_facts()
        engine = self._engine()
        self.quota_rows, self.quota_warnings = [], []
        before = None
        if check_quotas and self.target_kind == "aws":
            self._check_quotas("up", engine)  # refused here, before anything is created
        elif check_quotas and not self._store.load().deployed_with(self.spec.to_dict()):
            # The emulator refuses nothing, so its warnings lose nothing by coming at the end of the up;
            # the account's side is read now, before anything is created.
            from .analysis import quota_report

            before = quota_report.read(self.spec, self._resolve(), self._ec2()), engine.holds()
        result = self._run("up", lambda shown: engine.up(self.spec, shown, resume=resume))
        if before is not None:
            self._check_quotas("up", engine, result.resources, refuse=False, facts=before[0], existing=before[1])
        return tables.outputs(result.outputs)

    def outputs(self) -> pd.DataFrame:
        """The outputs table: TGW, route tables, and per spoke its VPC, subnets, attachment, SG, endpoint."""
        return tables.outputs(self.stack_outputs())

    def stack_outputs(self) -> StackOutputs:
        """The stack's outputs parsed (:class:`labnet.outputs.StackOutputs`): what every view reads."""
        return StackOutputs.parse(self.exports())

    def exports(self) -> dict[str, Any]:
        """The raw stack outputs (nested dict; secrets shown as ``[secret]``): what the last up here
        recorded, else (a stack shared through a backend) what the engine's backend holds."""
        if self._shared_outputs:  # read from a shared backend when this Lab opened the stack by name
            return dict(self._shared_outputs)
        recorded = self._store.load().outputs
        return dict(recorded) if recorded else self._engine().outputs(self.spec)

    def launch_template(self, spoke: str) -> launchers.NodeLaunch:
        """The spoke's node launch template (id, subnet, group, interface layout) and how to start
        nodes from it: ``.boto3`` and ``.aws_cli`` snippets, ``.run_instances_kwargs(...)``.

        >>> print(lab.launch_template("spoke-01"))
        """
        return launchers.node_launch(self.stack_outputs(), spoke, self._endpoint())

    def launcher_configs(self, spoke: str) -> dict[str, Any]:
        """Per spoke, what the launchers people use take: SageMaker's ``VpcConfig``, an AWS
        ParallelCluster queue (YAML), the torchrun/NCCL environment, and the launch template snippets."""
        return launchers.configs(self.stack_outputs(), spoke, self._endpoint())

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

        exports = self.stack_outputs()
        snapshot.spokes_from_exports(exports, stack=self.stack_name)  # no outputs: stops here, before any call
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

    def posture(self, snapshot=None) -> pd.DataFrame:
        """The security posture table (issue 19): one row per control per resource (control, resource
        id, spoke, region, status pass / fail / by design / off, evidence, AWS or CIS reference), read
        from the same snapshot as :meth:`connectivity` (pass one to skip the read), failures first."""
        from .analysis import posture

        return posture.frame(posture.check(self._snapshot_or(snapshot), flow_logs=self.spec.security.flow_logs))

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
        return tables.refresh(list(self._run("refresh", lambda shown: engine.refresh(self.spec, shown)).rows))

    def destroy(self, delete_logs: bool = False) -> pd.DataFrame:
        """Delete everything the stack owns, nothing else; one row per resource: ``removed``, or
        ``kept`` for the flow-log bucket (and its settings) that the program retains on delete: logs
        are audit data, and a later ``up`` of the same stack reuses the bucket. ``delete_logs=True``
        deletes the kept buckets too, logs and all (every object version)."""
        if not isinstance(delete_logs, bool):
            raise InvalidSpecError("delete_logs", delete_logs, "must be true or false",
                                   "destroy() keeps the flow-log bucket; destroy(delete_logs=True) deletes it")
        # Which buckets are the stack's own, from its recorded outputs (no call), before they are gone.
        buckets = self.stack_outputs().log_buckets() if delete_logs else {}
        engine = self._engine()
        result = self._run("destroy", lambda shown: engine.destroy(self.spec, shown))
        rows = [{"resource": name, "outcome": "removed", "note": ""} for name in result.removed]
        if delete_logs:
            from .engines.handlers import HANDLERS, Bucket

            for region, bucket in buckets.items():
                # The one translation of the program's bucket into calls (the handler), after the engine
                # let go of it: a versioned bucket is emptied, every version, then deleted.
                HANDLERS[Bucket.token].delete(self._ec2_in(region), bucket, {}, {})
        note = ("deleted with the flow logs (delete_logs=True)" if delete_logs else
                "flow logs are audit data: kept; a later up() of this stack reuses the bucket; "
                "destroy(delete_logs=True) deletes it")
        rows += [{"resource": name, "outcome": "removed" if delete_logs else "kept", "note": note}
                 for name in result.kept]
        table = pd.DataFrame(rows, columns=["resource", "outcome", "note"])
        table.attrs["kept"] = [] if delete_logs else list(result.kept)
        return table

    def status(self) -> str:
        """One word for the stack's state: empty, deployed, destroyed, interrupted …, busy …"""
        return self._store.load().word(self._store.holder())

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
                f"target={self.target_kind!r}, engine={self.engine_name!r}, state={state!r}"
                + (f", backend={self.backend!r})" if self.backend else ")"))
