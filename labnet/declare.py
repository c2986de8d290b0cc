"""The program run under the Pulumi SDK's mock monitor: the one place labnet does that.

:func:`run` runs :func:`labnet.program.build` with a resource hook (the rehearsal engine's hook
makes the real EC2 calls; other callers only record); :func:`declare` runs it with a hook that
records every resource and creates nothing, and returns one kind of record, :class:`Resource`. The
quota count, the Automation API engine's resource total, the tests and the benchmarks all take
:func:`declare`'s answer.

Why a worker thread: the SDK drives the program on an asyncio loop, and a Jupyter kernel already
runs one; a thread with a loop of its own works in both. The SDK keeps settings (outputs, RPC
manager, root stack) process-wide, so one program runs at a time and each run starts clean.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import threading
from typing import Any, Callable, NamedTuple

from .outputs import SECRET
from .spec import NetworkSpec

PROJECT = "labnet"
_PROGRAM_LOCK = threading.Lock()  # the SDK's settings are process-wide: one program run at a time


class Resource(NamedTuple):
    """One resource the program declares: its type token, logical name, id (as the run resolved it),
    inputs (camelCase, numbers as the SDK delivers them: floats), region ("" = the network's own),
    the provider it goes through (``urn::id``; only when providers are asked for) and the URNs the
    SDK says it depends on (only when dependencies are asked for)."""

    type: str
    name: str
    id: str
    inputs: dict[str, Any]
    region: str = ""
    provider: str = ""
    dependencies: tuple[str, ...] = ()
    # Pulumi's retain_on_delete: a destroy forgets the resource and leaves it on the target (the
    # flow-log bucket). Both engines honour it: the real CLI from the registration, the rehearsal
    # engine from this flag.
    retain: bool = False

    @property
    def urn(self) -> str:
        return urn_of(self.type, self.name)


class Declared(NamedTuple):
    """What :func:`declare` found: every resource in registration order, and the resolved exports."""

    resources: list[Resource]
    exports: dict[str, Any]


Hook = Callable[[Resource], "tuple[str, dict[str, Any]]"]


def urn_of(typ: str, name: str) -> str:
    """labnet's URN form for a declared resource (type and logical name; unique within a stack)."""
    return f"{typ}::{name}"


def is_provider(typ: str) -> bool:
    return typ.startswith("pulumi:providers:")


def _clean(inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in inputs.items() if not k.startswith("__")}


def run(spec: NetworkSpec | None, stack: str, hook: Hook, *, preview: bool, cancel: threading.Event | None = None,
        on_declared: Callable[[int], None] | None = None, target: dict[str, Any] | None = None,
        providers: bool = False, dependencies: bool = False,
        main: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Run :func:`labnet.program.build` for ``spec`` under the SDK's mock monitor in a worker thread
    with its own event loop; ``hook`` gets every resource (a :class:`Resource` without id) and
    answers its id and outputs. Returns the resolved exports (a secret one as ``[secret]``).

    ``on_declared`` gets the number of resources the program declared before any is registered (the
    SDK constructs every resource synchronously in ``build`` and registers them once the event loop
    runs), so a first deploy knows its total without a separate pass. ``target`` is what the program
    builds its explicit aws providers from (:func:`labnet.program.provider`). Providers are not AWS
    resources: they reach ``hook`` only with ``providers=True``. ``dependencies=True`` records the
    URNs the SDK says each resource depends on. ``main`` runs another entry point instead of
    ``program.build`` (``deploy/__main__.py``); its exports are not returned. ``cancel`` is set when
    the run is interrupted, so a hook can stop starting new work.
    """
    import pulumi
    from pulumi.runtime import mocks as pmocks
    from pulumi.runtime import settings as psettings
    from pulumi.runtime.stack import run_pulumi_func

    from . import program

    home = spec.region if spec is not None else ""
    # Each resource's region is its provider's: the program gives every resource the explicit provider
    # of its region, and the SDK registers a provider before the resources that reference it.
    provider_regions: dict[str, str] = {}
    depends: dict[str, tuple[str, ...]] = {}

    class _Mocks(pmocks.Mocks):
        def new_resource(self, args: pmocks.MockResourceArgs):
            inputs = _clean(dict(args.inputs))
            if is_provider(args.typ):
                pid = f"{args.name}-provider"
                provider_regions[pid] = str(args.inputs.get("region") or home)
                if providers:
                    hook(Resource(args.typ, args.name, "", inputs, provider_regions[pid]))
                return pid, {}
            region = provider_regions.get((args.provider or "").rsplit("::", 1)[-1], home)
            return hook(Resource(args.typ, args.name, "", inputs, region, args.provider or "",
                                 depends.get(args.name, ()), retained.get(args.name, False)))

        def call(self, args: pmocks.MockCallArgs):
            return {}

    original = pmocks.MockMonitor.RegisterResource

    retained: dict[str, bool] = {}

    def register(monitor, request):
        # The SDK reports a resource's dependencies and its retain_on_delete option in the request, not in
        # the mock's arguments.
        if dependencies:
            depends[request.name] = tuple(request.dependencies)
        retained[request.name] = bool(request.retainOnDelete)
        return original(monitor, request)

    box: dict[str, Any] = {}

    def worker() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        # The mock monitor runs each resource hook in the loop's default executor. Owning that pool
        # lets an interrupted run wait for the calls already in flight (and their journal lines)
        # before it returns, so the state it leaves names everything those calls created.
        pool = concurrent.futures.ThreadPoolExecutor(thread_name_prefix=f"labnet-program-{stack}")
        loop.set_default_executor(pool)
        pmocks.MockMonitor.RegisterResource = register
        try:
            psettings.reset_options(project=PROJECT, stack=stack, preview=preview)
            pmocks.set_mocks(_Mocks(), project=PROJECT, stack=stack, preview=preview)

            async def body() -> None:
                if main is not None:
                    main()
                    return
                declared: list[str] = []
                if on_declared is not None:
                    # A stack transformation runs inside each resource's constructor: it only counts.
                    pulumi.runtime.register_stack_transformation(
                        lambda args: None if is_provider(args.type_) else declared.append(args.name))
                exports = program.build(spec, stack, target)
                if on_declared is not None:
                    on_declared(len(declared))
                # A secret export (pulumi.Output.secret, or a value built from one) is kept as
                # "[secret]": nothing here has encrypted state to hold it in.
                resolved = {}
                for key, value in exports.items():
                    out = pulumi.Output.from_input(value)
                    resolved[key] = SECRET if await out.is_secret() else await out.future()
                box["exports"] = resolved

            loop.run_until_complete(run_pulumi_func(body))
        except BaseException as exc:  # noqa: BLE001 handed to the calling thread
            box["error"] = exc
            if cancel is not None and not isinstance(exc, Exception):
                cancel.set()  # a KeyboardInterrupt inside a hook: start no new work
        finally:
            pmocks.MockMonitor.RegisterResource = original
            try:
                pool.shutdown(wait=True)
                _drain(loop)
                psettings.reset_options()
            finally:
                loop.close()

    with _PROGRAM_LOCK, _no_cyclic_gc():
        t = threading.Thread(target=worker, name=f"labnet-program-{stack}", daemon=True)
        t.start()
        try:
            while t.is_alive():
                t.join(0.1)
        except KeyboardInterrupt:
            # Let the calls in flight finish (and be journaled); start no new ones.
            if cancel is not None:
                cancel.set()
            t.join()
            raise
    if "error" in box:
        raise box["error"]
    return box.get("exports") or {}


_CACHE: dict[tuple, Declared] = {}
_CACHE_LOCK = threading.Lock()


def declare(spec: NetworkSpec, stack: str = "declare", target: dict[str, Any] | None = None, *,
            providers: bool = False, dependencies: bool = False, main: Callable[[], Any] | None = None) -> Declared:
    """Every resource the program declares for ``spec`` (in registration order) and its exports;
    nothing is created and no AWS call is made (about a millisecond per resource).

    Each resource's id is ``<name>-id`` and its ARN ``arn:<name>``, so inputs that reference another
    resource say which. Results are cached per (spec, stack, target) for the plain call: a preview and
    the up after it run the program once for the quota check.

    >>> [r.name for r in declare(labnet.size(spokes=2)).resources][:3]
    """
    plain = not (providers or dependencies or main)
    key = (spec, stack, repr(target))
    if plain:
        with _CACHE_LOCK:
            if key in _CACHE:
                hit = _CACHE[key]
                return Declared(list(hit.resources), dict(hit.exports))
    rows: list[Resource] = []
    lock = threading.Lock()

    def hook(r: Resource) -> tuple[str, dict[str, Any]]:
        rid = "" if is_provider(r.type) else f"{r.name}-id"
        with lock:
            rows.append(r._replace(id=rid))
        return rid, {**r.inputs, "id": rid, "arn": f"arn:{r.name}"}

    exports = run(spec, stack, hook, preview=True, target=target, providers=providers, dependencies=dependencies,
                  main=main)
    found = Declared(rows, exports)
    if plain:
        with _CACHE_LOCK:
            if len(_CACHE) > 16:
                _CACHE.clear()
            _CACHE[key] = Declared(list(rows), dict(exports))
    return found


@contextlib.contextmanager
def _no_cyclic_gc():
    """Python's cyclic garbage collector off while the program runs (process-wide, so briefly).

    The SDK allocates dozens of Outputs and asyncio callbacks per resource and keeps most of them
    until the run ends; the collector's passes over that growing heap cost more than half of a
    100-spoke run (measured: 6.1 s with it, 2.6 s without) and freed almost nothing (peak memory
    213 MB with it, 217 MB without; bench/planning.py). Reference counting still frees everything
    that is not in a cycle; the cycles wait for the next collection after the run."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Let what an interrupted program left pending unwind inside its own loop, quietly.

    A KeyboardInterrupt escapes the loop with the program's tasks still pending (asyncio re-raises
    it from every task it reaches); they are cancelled and run to completion here, so none is left
    to fail later outside a loop. A program that finished normally has nothing pending.
    """
    for _ in range(5):
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        if not pending:
            break
        for task in pending:
            task.cancel()
        try:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        except BaseException:  # noqa: BLE001 the interruption was already handed to the caller
            pass
    try:
        loop.run_until_complete(loop.shutdown_asyncgens())
    except BaseException:  # noqa: BLE001
        pass
