"""The Pulumi Automation API engine: the production path, and the real engine on the emulator.

Inline program through ``create_or_select_stack``; the backend named explicitly (``backend=``, else
``PULUMI_BACKEND_URL``, else a file backend in labnet's state folder, 0700; ``s3://…`` shared by a
team, who then need a secrets provider they share); the passphrase secrets provider with a generated
passphrase file (0600) for a local backend unless the user brings one; aws provider config for the
target; the spec exported with the stack, so a teammate opens it by name (:func:`shared_spec`);
``on_event`` turned into :class:`ProgressEvent`; each CLI call interruptible cleanly (:func:`cli_call`);
Pulumi's errors re-raised as labnet errors chained ``from`` the original. Needs the ``pulumi`` CLI:
on PATH, or built by `make pulumi` into the checkout (:func:`cli_path`).

Everything that does not need the CLI (workspace options, config, event translation, error mapping)
is plain code that the test suite runs everywhere.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from .. import paths
from ..errors import (DeployError, EngineUnavailableError, InterruptedByUserError, InterruptedOperationError,
                      InvalidSpecError, LabnetError, StackLockedError, StateError, TargetError,
                      TeardownIncompleteError)
from ..outputs import SECRET
from ..redact import redact
from ..spec import NetworkSpec
from .contract import DestroyResult, Plan, PlannedResource, RefreshResult, UpResult
from .progress import ProgressCallback, ProgressEvent, ignore
from .state import StackStore

PROJECT = "labnet"
PASSPHRASE_ENV = "PULUMI_CONFIG_PASSPHRASE"
PASSPHRASE_FILE_ENV = "PULUMI_CONFIG_PASSPHRASE_FILE"
BACKEND_ENV = "PULUMI_BACKEND_URL"

OP_ACTION = {"create": "create", "same": "same", "update": "update", "replace": "replace",
             "create-replacement": "replace", "delete-replaced": "replace", "delete": "delete",
             "read": "read", "refresh": "read", "discard": "delete"}


def built_cli(root: Path | None = None) -> Path | None:
    """The CLI `make pulumi` built into this checkout (``.tools/pulumi-<version>/bin/pulumi``, the version
    ``tools/pulumi/go.mod`` pins; ``$LABNET_TOOLS_DIR`` instead of ``.tools`` as for the build), if it is
    there. ``root``: the checkout (default: labnet's own)."""
    import re

    root = root or Path(__file__).resolve().parent.parent.parent
    try:
        found = re.search(r"github\.com/pulumi/pulumi/pkg/v3 (v[0-9][0-9.]*)", (root / GO_MOD).read_text())
    except OSError:
        return None  # an installed labnet, not a checkout
    tools = Path(os.environ.get("LABNET_TOOLS_DIR") or root / ".tools")  # where build.sh puts it too
    path = tools / f"pulumi-{found.group(1)}" / "bin" / "pulumi" if found else None
    return path if path is not None and os.access(path, os.X_OK) else None


GO_MOD = Path("tools") / "pulumi" / "go.mod"


def cli_on_path() -> Path | None:
    """The user's own ``pulumi`` (on PATH), which ``engine="auto"`` goes by."""
    found = shutil.which("pulumi")
    return Path(found) if found else None


def cli_path() -> Path | None:
    """The ``pulumi`` CLI the engine drives: the one on PATH, else the one `make pulumi` built here."""
    return cli_on_path() or built_cli()


def engine_available() -> bool:
    return cli_path() is not None


def unavailable_reason() -> str:
    return ("the `pulumi` CLI is not on PATH (the Automation API drives it) and `make pulumi` has not built "
            "one in this checkout's .tools/; run `make pulumi` or install it from pulumi.com, or use "
            "engine='rehearsal' on the emulator")


_COMMANDS: dict[str, Any] = {}


def pulumi_command():
    """The Automation API's handle on :func:`cli_path` (it runs ``pulumi version`` once, so cached)."""
    from pulumi import automation as auto

    cli = cli_path()
    if cli is None:
        raise EngineUnavailableError(unavailable_reason())
    if str(cli) not in _COMMANDS:
        # PulumiCommand(root) runs root/bin/pulumi, which is how `make pulumi` lays its build out.
        _COMMANDS[str(cli)] = auto.PulumiCommand(root=str(cli.parent.parent)) if cli.parent.name == "bin" \
            else auto.PulumiCommand()
    return _COMMANDS[str(cli)]


def passphrase_file(home: Path) -> Path:
    """labnet's generated passphrase file (0600), created on first use, unless the user brings one
    through ``PULUMI_CONFIG_PASSPHRASE`` or ``PULUMI_CONFIG_PASSPHRASE_FILE``."""
    path = home / "pulumi" / "passphrase"
    if not path.exists():
        paths.write_private(path, secrets.token_urlsafe(32))
    os.chmod(path, 0o600)
    return path


def backend_url(home: Path, url: str | None = None, user_env: dict[str, str] | None = None) -> str:
    """The backend an operation uses, named so a person can see it: the ``backend`` a Lab was given;
    else ``PULUMI_BACKEND_URL`` (the user's Pulumi setting, which the CLI would otherwise apply behind
    labnet's back); else ``file://`` in labnet's state folder (0700, made by :func:`workspace_options`)."""
    source = user_env if user_env is not None else os.environ
    if url:
        return url
    if source.get(BACKEND_ENV):
        return source[BACKEND_ENV]
    return f"file://{home / 'pulumi' / 'backend'}"


def is_local(url: str) -> bool:
    """A file backend: one machine's folder (labnet's generated passphrase can serve it)."""
    return url.startswith("file://")


def passphrase_is_set(user_env: dict[str, str] | None = None) -> bool:
    """Whether the user brings the passphrase. An empty ``PULUMI_CONFIG_PASSPHRASE`` is set: the CLI
    uses it (an empty passphrase), so labnet must not put its own file beside it."""
    source = user_env if user_env is not None else os.environ
    return PASSPHRASE_ENV in source or bool(source.get(PASSPHRASE_FILE_ENV))


def check_shared_secrets(home: Path, url: str, secrets_provider: str | None = None,
                         user_env: dict[str, str] | None = None) -> None:
    """A backend other people open (``s3://…``, Pulumi Cloud, …) needs a secrets provider they share:
    a passphrase everyone sets (``PULUMI_CONFIG_PASSPHRASE(_FILE)``) or a key service (``awskms://…``).
    labnet's generated passphrase exists on one machine only, so a teammate's CLI would fail later
    with "incorrect passphrase"; it is refused here, before anything runs."""
    if is_local(url) or (secrets_provider and secrets_provider != "passphrase"):
        return
    source = user_env if user_env is not None else os.environ
    mine = str(home / "pulumi" / "passphrase")
    if passphrase_is_set(source) and source.get(PASSPHRASE_FILE_ENV, "") != mine:
        return
    raise InvalidSpecError(
        "backend", url, "a shared backend needs a secrets provider the whole team shares, and labnet's generated "
        "passphrase exists on this machine only (a teammate would meet 'incorrect passphrase')",
        f"set {PASSPHRASE_ENV} (or {PASSPHRASE_FILE_ENV}) to the team's passphrase on every machine, or pass "
        "secrets_provider='awskms://alias/…' (any provider Pulumi accepts), or use the local backend (backend=None)")


def backend_env(url: str, emulator_url: str | None = None) -> dict[str, str]:
    """Environment the CLI needs to reach the backend itself. A state bucket on the emulator's own S3
    (``s3://…?endpoint=<the emulator>``) takes the emulator's fixed test credentials, never the
    user's; every other backend uses the user's own credential chain, as the CLI would."""
    if not emulator_url or not url.startswith("s3://"):
        return {}
    from urllib.parse import parse_qs, urlsplit

    endpoint = (parse_qs(urlsplit(url).query).get("endpoint") or [""])[0].rstrip("/")
    if not endpoint or endpoint != emulator_url.rstrip("/"):
        return {}
    from ..emulator import TEST_CREDENTIALS

    return {"AWS_ACCESS_KEY_ID": TEST_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": TEST_CREDENTIALS["aws_secret_access_key"]}


def workspace_env(home: Path, user_env: dict[str, str] | None = None, url: str | None = None,
                  secrets_provider: str | None = None) -> dict[str, str]:
    """Environment for the Pulumi CLI: the backend (``PULUMI_BACKEND_URL`` set to the one labnet
    names, so the CLI cannot pick another), the secrets passphrase source, no update checks.

    ``PULUMI_HOME`` is left as the user has it (their own, or Pulumi's default ``~/.pulumi``): that
    is where the plugins they already have live, and their Pulumi Cloud login. A private one would
    hide both and download the large aws plugin again for every state folder, failing offline or
    behind a proxy."""
    source = user_env if user_env is not None else os.environ
    url = url or backend_url(home, None, source)
    check_shared_secrets(home, url, secrets_provider, source)
    env = {"PULUMI_SKIP_UPDATE_CHECK": "true", BACKEND_ENV: url}
    if not passphrase_is_set(source) and (secrets_provider or "passphrase") == "passphrase":
        env[PASSPHRASE_FILE_ENV] = str(passphrase_file(home))
    return env


def workspace_options(home: Path, backend: str | None = None, user_env: dict[str, str] | None = None,
                      pulumi_home: Path | None = None, secrets_provider: str | None = None,
                      emulator_url: str | None = None):
    """``pulumi_home``: the emulator target's PULUMI_HOME of labnet's own (:mod:`labnet.engines.plugin`),
    whose aws plugin is labnet's emulator provider; None keeps the user's. ``secrets_provider``:
    ``passphrase`` (default) or a key service URL (``awskms://…``) for a new stack. ``emulator_url``:
    the emulator the stack's target is, if it is one (:func:`backend_env`)."""
    from pulumi import automation as auto

    url = backend_url(home, backend, user_env)
    if is_local(url) and url == backend_url(home):
        paths.private_dir(home / "pulumi" / "backend")
    env = {**workspace_env(home, user_env, url, secrets_provider), **backend_env(url, emulator_url)}
    if pulumi_home is not None:
        env["PULUMI_HOME"] = str(pulumi_home)
    return auto.LocalWorkspaceOptions(
        work_dir=str(paths.private_dir(home / "pulumi" / "work")),
        pulumi_command=pulumi_command() if cli_path() is not None else None,
        project_settings=auto.ProjectSettings(name=PROJECT, runtime="python",
                                              backend=auto.ProjectBackend(url=url)),
        secrets_provider=secrets_provider or "passphrase",
        env_vars=env,
    )


def aws_plugin_version() -> str:
    """The aws provider plugin version the installed ``pulumi_aws`` package was built for."""
    import json
    from importlib import resources

    meta = json.loads(resources.files("pulumi_aws").joinpath("pulumi-plugin.json").read_text())
    return str(meta["version"])


def ensure_aws_plugin(workspace) -> str:
    """Install the aws plugin that matches ``pulumi_aws`` unless the workspace has it; its version.

    Explicit (``workspace.install_plugin``) rather than left to the first ``up``, so a machine that
    cannot download it learns that now, with the command that fixes it, and not half-way through."""
    version = aws_plugin_version()
    have = {(p.name, (p.version or "").lstrip("v")) for p in workspace.list_plugins() if p.kind == "resource"}
    if ("aws", version) in have:
        return version
    try:
        workspace.install_plugin("aws", f"v{version}")
    except Exception as exc:  # noqa: BLE001 re-raised as a labnet error
        raise EngineUnavailableError(
            f"the Pulumi aws provider plugin v{version} (the version pulumi_aws {version} needs) is not installed "
            f"and could not be installed ({type(exc).__name__}: {str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else ''}); "
            f"install it where it can be downloaded with `pulumi plugin install resource aws v{version}` (or copy "
            "it into $PULUMI_HOME/plugins), or use engine='rehearsal' on the emulator") from exc
    return version


# Keys an earlier labnet wrote into a stack's config for the emulator; removed so no stack keeps them.
STALE_EMULATOR_CONFIG = ("aws:accessKey", "aws:secretKey", "aws:endpoints", "aws:skipCredentialsValidation",
                         "aws:skipRequestingAccountId", "aws:skipMetadataApiCheck", "aws:skipRegionValidation",
                         "aws:s3UsePathStyle")


def config_values(target_config: dict[str, tuple[str, bool]]) -> dict[str, Any]:
    from pulumi import automation as auto

    return {key: auto.ConfigValue(value=value, secret=secret) for key, (value, secret) in target_config.items()}


class EventTranslator:
    """Turns Automation API engine events into :class:`ProgressEvent` s (resources done / total).

    ``total`` is what the program declares (counted from the program itself, without a preview
    pass); a resource that stays the same counts as done without a line of its own."""

    def __init__(self, operation: str, total: int, progress: ProgressCallback) -> None:
        self.operation = operation
        self.total = total
        self.done = 0
        self.progress = progress
        self.failed: list[str] = []

    def __call__(self, event) -> None:
        pre = getattr(event, "resource_pre_event", None)
        out = getattr(event, "res_outputs_event", None)
        failed = getattr(event, "res_op_failed_event", None)
        if pre is not None:
            md = pre.metadata
            if _is_stack_or_provider(md.type) or md.op.value == "same":
                return
            self.progress(ProgressEvent(self.operation, OP_ACTION.get(md.op.value, md.op.value),
                                        _name(md.urn), md.type, self.done, self.total, "started"))
        elif out is not None:
            md = out.metadata
            if _is_stack_or_provider(md.type):
                return
            self.done += 1
            if md.op.value == "same":
                return
            self.progress(ProgressEvent(self.operation, OP_ACTION.get(md.op.value, md.op.value),
                                        _name(md.urn), md.type, self.done, max(self.total, self.done), "done"))
        elif failed is not None:
            md = failed.metadata
            self.failed.append(_name(md.urn))
            self.progress(ProgressEvent(self.operation, OP_ACTION.get(md.op.value, md.op.value),
                                        _name(md.urn), md.type, self.done, self.total, "failed"))


def _is_stack_or_provider(typ: str) -> bool:
    return typ == "pulumi:pulumi:Stack" or typ.startswith("pulumi:providers:")


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def map_error(exc: BaseException, stack: str, operation: str, redact: Callable[[str], str],
              backend: str = "") -> LabnetError:
    """A Pulumi error as the labnet error a caller can act on (the caller chains it ``from exc``);
    ``backend`` (the URL the stack is in) is named in it."""
    from pulumi.automation import errors as perr

    text = redact(getattr(exc, "args", [""])[0] if getattr(exc, "args", None) else str(exc))
    tail = " ".join(line.strip() for line in text.strip().splitlines()[-6:])[-600:]
    if isinstance(exc, perr.ConcurrentUpdateError):
        return StackLockedError(stack, {"operation": "another Pulumi update (or one that was killed: `pulumi "
                                        "cancel` on Pulumi Cloud; on a file or s3 backend remove its lock under "
                                        ".pulumi/locks once you are sure nothing runs)", "pid": "?",
                                        "host": f"backend {backend}" if backend else "the backend", "detail": tail})
    if operation == "destroy":
        return TeardownIncompleteError(stack, ["(see `pulumi stack --show-urns`)"], tail,
                                       "destroy() to finish; the Pulumi state is kept")
    if isinstance(exc, perr.CommandError):
        where = f" (backend {backend})" if backend else ""
        return DeployError(f"{operation} of stack {stack!r}{where} failed: {tail}. Pulumi's state records what was "
                           "created; fix the cause and run up() again, or destroy() to remove it")
    return DeployError(f"{operation} of stack {stack!r} failed: {type(exc).__name__}: {redact(str(exc))[:300]}")


def plain_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    """Stack outputs with every secret value replaced by ``[secret]``."""
    return {k: (SECRET if getattr(v, "secret", False) else getattr(v, "value", v)) for k, v in outputs.items()}


class AutomationEngine:
    """Runs one stack through the Automation API. ``target`` is a :class:`labnet.emulator.targets.Target`.

    Pulumi keeps the resources in its own state; labnet's (``store``) records what a person and
    :func:`labnet.stacks` need: the binding to target and engine, the operation in progress (so a killed
    or interrupted one is reported, and ``up`` asks for ``resume=True``), the last result, the outputs,
    and how many resources Pulumi's state holds (``managed``)."""

    name = "pulumi"

    def __init__(self, store: StackStore, target, backend: str | None = None,
                 secrets_provider: str | None = None) -> None:
        self.store = store
        self.stack_name = store.stack
        self.target = target
        self.home = store.root
        self.backend = backend
        self.backend_url = backend_url(store.root, backend)  # the one actually used, named in messages
        self.secrets_provider = secrets_provider
        self.managed: int | None = None

    def redact(self, text: str) -> str:
        return redact(text, self.home)

    def _stack(self, spec: NetworkSpec):
        if not engine_available():
            raise EngineUnavailableError(unavailable_reason())
        from pulumi import automation as auto

        from .. import program
        from . import plugin

        program_target = self.target.program_target()
        # On the emulator the aws plugin is labnet's emulator provider, in a PULUMI_HOME of labnet's own.
        pulumi_home = plugin.install(self.home) if self.target.kind == "emulator" else None
        try:
            stack = auto.create_or_select_stack(
                stack_name=self.stack_name, project_name=PROJECT,
                program=lambda: program.pulumi_program(spec, program_target),
                opts=workspace_options(self.home, self.backend_url, pulumi_home=pulumi_home,
                                       secrets_provider=self.secrets_provider,
                                       emulator_url=self.target.endpoint if self.target.kind == "emulator" else None))
            ensure_aws_plugin(stack.workspace)
            stack.remove_all_config(list(STALE_EMULATOR_CONFIG))
            stack.set_all_config(config_values(self.target.pulumi_config()))
            recorded = stack.outputs().get("target")
        except LabnetError:
            raise
        except Exception as exc:  # noqa: BLE001 re-raised as a labnet error
            raise map_error(exc, self.stack_name, "select", self.redact, self.backend_url) from exc
        # The stack's own outputs say where its resources are: a Lab on another machine, sharing the
        # backend but not labnet's local state, is refused too.
        kind = getattr(recorded, "value", None)
        if kind and kind != self.target.kind:
            raise TargetError(f"stack {self.stack_name!r} in backend {self.backend_url} "
                              f"holds resources on target {kind!r}, not {self.target.kind!r}; open it with "
                              f"target={kind!r}, or choose another stack name")
        return stack

    def _count(self, stack) -> None:
        try:
            self.managed = len([r for r in stack.export_stack().deployment.get("resources", [])
                                if not _is_stack_or_provider(r.get("type", ""))])
        except Exception:  # noqa: BLE001 bookkeeping only: unknown is honest
            self.managed = None

    def _interrupted(self, operation: str, exc: BaseException) -> InterruptedByUserError:
        return InterruptedByUserError(
            f"{operation} of stack {self.stack_name!r} was interrupted; Pulumi's state records what was done and may "
            "hold pending operations. Run up(resume=True) to refresh the stack from the target and go on, or "
            "destroy() to remove what it created")

    def _operation(self, kind: str, spec: NetworkSpec, work: Callable[[], Any], resume: bool = False) -> Any:
        """Run one Automation API operation with labnet's bookkeeping around it, under the stack lock."""
        self._available()
        with self.store.lock(kind):
            st = self.store.claim(self.target.describe(), self.name, spec.to_dict())
            if st.operation is not None and not (kind == "up" and resume) and kind != "destroy":
                raise InterruptedOperationError(
                    f"the last {st.operation.get('kind', 'operation')} of stack {self.stack_name!r} did not finish "
                    "(Pulumi's state may hold pending operations); run up(resume=True) to refresh the stack from "
                    "the target and continue it, or destroy() to remove what it created")
            st.operation = {"kind": kind, "started": time.time()}
            st.spec, st.engine, st.target = spec.to_dict(), self.name, self.target.describe()
            self.store.save(st)
            try:
                result = work()
            except KeyboardInterrupt:
                st.last = {"kind": kind, "result": "interrupted", "finished": time.time()}
                self.store.save(st)  # the operation stays on record: the next up asks for resume=True
                raise
            except LabnetError as exc:
                st.operation = None
                st.last = {"kind": kind, "result": "failed", "finished": time.time(),
                           "error": self.redact(str(exc))[:300]}
                st.managed = self.managed if self.managed is not None else st.managed
                self.store.save(st)
                raise
            st.operation = None
            st.last = {"kind": kind, "result": "succeeded", "finished": time.time()}
            st.managed = self.managed if self.managed is not None else st.managed
            if isinstance(result, UpResult):
                st.outputs = result.outputs
            elif isinstance(result, DestroyResult):
                st.outputs = {}
            self.store.save(st)
            return result

    def holds(self) -> set[str]:
        """What the stack's last successful up declared (Pulumi's state is the engine's own; reading it
        would start the CLI): the URNs of the recorded spec under the mock monitor, no call made."""
        st = self.store.load()
        if not (st.outputs and st.spec):
            return set()
        from ..declare import declare

        return {r.urn for r in declare(NetworkSpec.from_dict(st.spec), self.stack_name).resources}

    def _available(self) -> None:
        """Refuse before the stack is bound or locked when the CLI is not here."""
        if not engine_available():
            raise EngineUnavailableError(unavailable_reason())

    def plan(self, spec: NetworkSpec, progress: ProgressCallback = ignore) -> Plan:
        self._available()
        self.store.claim(self.target.describe(), self.name, spec.to_dict(), locked=False)
        stack = self._stack(spec)
        rows: list[PlannedResource] = []

        def on_event(event) -> None:
            pre = getattr(event, "resource_pre_event", None)
            if pre is not None and not _is_stack_or_provider(pre.metadata.type):
                md = pre.metadata
                inputs = dict(getattr(md.new, "inputs", None) or {}) if md.new else {}
                rows.append(PlannedResource(OP_ACTION.get(md.op.value, md.op.value), md.type, _name(md.urn), inputs))

        try:
            cli_call(stack.preview, on_event=on_event)
        except KeyboardInterrupt as exc:
            raise self._interrupted("preview", exc) from exc
        except Exception as exc:  # noqa: BLE001
            raise map_error(exc, self.stack_name, "preview", self.redact, self.backend_url) from exc
        return Plan(tuple(rows))

    def up(self, spec: NetworkSpec, progress: ProgressCallback = ignore, *, resume: bool = False) -> UpResult:
        """``pulumi up``. ``resume=True`` after an interrupted or killed up: Pulumi cannot continue an
        update, so labnet refreshes the stack from the target first (its pending operations stay for
        Pulumi to report; see :func:`resume_advice`) and then runs a new up, which creates what is
        missing and keeps what exists."""
        return self._operation("up", spec, lambda: self._up(spec, progress, resume), resume=resume)

    def _up(self, spec: NetworkSpec, progress: ProgressCallback, resume: bool) -> UpResult:
        stack = self._stack(spec)
        if resume:
            try:
                cli_call(stack.refresh, on_event=EventTranslator("refresh", 0, progress))
            except KeyboardInterrupt as exc:
                raise self._interrupted("refresh before resuming up", exc) from exc
            except Exception as exc:  # noqa: BLE001
                raise StateError(resume_advice(self.stack_name, self.redact(str(exc)))) from exc
        # The total comes from the program itself (what it declares), not from a preview pass, which on
        # AWS would double the time of every up.
        translator = EventTranslator("up", declared_count(spec, self.stack_name), progress)
        try:
            result = cli_call(stack.up, on_event=translator, show_secrets=False)
        except KeyboardInterrupt as exc:
            self._count(stack)
            raise self._interrupted("up", exc) from exc
        except Exception as exc:  # noqa: BLE001
            self._count(stack)
            raise map_error(exc, self.stack_name, "up", self.redact, self.backend_url) from exc
        self._count(stack)
        changes = getattr(getattr(result, "summary", None), "resource_changes", None) or {"update": 1}
        return UpResult(plain_outputs(result.outputs),
                        changed=any(n for op, n in changes.items() if op != "same"))

    def outputs(self, spec: NetworkSpec, progress: ProgressCallback = ignore) -> dict[str, Any]:
        """The outputs labnet recorded after the last up here; without a local record (a teammate's
        machine sharing the backend), the stack's outputs as Pulumi's backend holds them."""
        recorded = self.store.load().outputs
        if recorded:
            return dict(recorded)
        return plain_outputs(self._stack(spec).outputs())

    def destroy(self, spec: NetworkSpec, progress: ProgressCallback = ignore) -> DestroyResult:
        return self._operation("destroy", spec, lambda: self._destroy(spec, progress))

    def _destroy(self, spec: NetworkSpec, progress: ProgressCallback) -> DestroyResult:
        stack = self._stack(spec)
        translator = EventTranslator("destroy", 0, progress)
        removed: list[str] = []
        # Pulumi deletes a retain_on_delete resource from its state only; the engine still reports the
        # step. Read which ones those are first, so the result says they were kept, not removed.
        retained = {r["urn"]: r for r in stack.export_stack().deployment.get("resources", [])
                    if r.get("retainOnDelete") and not _is_stack_or_provider(r.get("type", ""))}

        def on_event(event) -> None:
            translator(event)
            out = getattr(event, "res_outputs_event", None)
            if (out is not None and not _is_stack_or_provider(out.metadata.type)
                    and out.metadata.urn not in retained):
                removed.append(_name(out.metadata.urn))

        try:
            cli_call(stack.destroy, on_event=on_event)
        except KeyboardInterrupt as exc:
            self._count(stack)
            raise self._interrupted("destroy", exc) from exc
        except Exception as exc:  # noqa: BLE001
            self._count(stack)
            raise map_error(exc, self.stack_name, "destroy", self.redact, self.backend_url) from exc
        left = [r for r in stack.export_stack().deployment.get("resources", [])
                if not _is_stack_or_provider(r.get("type", ""))]
        self.managed = len(left)
        if left:
            raise TeardownIncompleteError(self.stack_name, [_name(r["urn"]) for r in left],
                                          "Pulumi reported success but its state still holds resources",
                                          "destroy() again")
        return DestroyResult(tuple(removed), tuple(_name(urn) for urn in retained))

    def refresh(self, spec: NetworkSpec, progress: ProgressCallback = ignore) -> RefreshResult:
        return self._operation("refresh", spec, lambda: self._refresh(spec, progress))

    def _refresh(self, spec: NetworkSpec, progress: ProgressCallback) -> RefreshResult:
        stack = self._stack(spec)
        try:
            cli_call(stack.refresh, on_event=EventTranslator("refresh", 0, progress))
        except KeyboardInterrupt as exc:
            raise self._interrupted("refresh", exc) from exc
        except Exception as exc:  # noqa: BLE001
            raise map_error(exc, self.stack_name, "refresh", self.redact, self.backend_url) from exc
        rows = [{"name": _name(r["urn"]), "type": r["type"], "id": r.get("id", ""), "status": "present"}
                for r in stack.export_stack().deployment.get("resources", [])
                if not _is_stack_or_provider(r.get("type", ""))]
        self.managed = len(rows)
        return RefreshResult(tuple(rows))


def shared_spec(stack: str, home: Path, backend: str | None, target_kind: str,
                secrets_provider: str | None = None) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The spec a stack was last deployed with, read from the stack itself (its ``spec`` output: the
    spec travels with the stack), for a Lab opened by name alone on a machine that has no record of
    it, such as a teammate's on a shared ``s3://`` backend, and its outputs (``[secret]`` for secrets).
    None when the backend has no such stack, or it carries no spec.

    The stack's ``target`` output must be ``target_kind``: a stack on AWS is never opened against the
    emulator."""
    if not engine_available():
        return None
    from pulumi import automation as auto

    emulator_url = None
    if target_kind == "emulator":
        from .. import emulator

        emulator_url = emulator.ensure().url
    url = backend_url(home, backend)
    opts = workspace_options(home, url, secrets_provider=secrets_provider, emulator_url=emulator_url)
    try:
        outputs = auto.select_stack(stack_name=stack, project_name=PROJECT, program=lambda: None, opts=opts).outputs()
    except auto.StackNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 re-raised as a labnet error
        raise map_error(exc, stack, "open", lambda t: t, url) from exc
    kind = getattr(outputs.get("target"), "value", None)
    if kind and kind != target_kind:
        raise TargetError(f"stack {stack!r} in backend {url} holds resources on target {kind!r}, not "
                          f"{target_kind!r}; open it with target={kind!r}")
    found = getattr(outputs.get("spec"), "value", None)
    return (found, plain_outputs(outputs)) if isinstance(found, dict) else None


def cli_call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one Automation API call (``stack.up`` …) so that Ctrl-C cancels the CLI cleanly.

    Interrupted in the SDK's own code, Python leaves the CLI running and closes its pipes, and the CLI
    dies at its next line of output, mid-update, leaving the stack locked and operations pending. So
    the call runs in a worker thread; a first Ctrl-C (which only this main thread sees) is passed on
    to the CLI as the SIGINT a terminal sends (:func:`signal_cli`), and labnet waits while the CLI
    finishes the resource operations in flight, writes its checkpoint and releases the lock; then
    KeyboardInterrupt is raised. A second Ctrl-C stops at once (and so does the CLI)."""
    import threading

    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 handed to the calling thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="labnet-pulumi-cli", daemon=True)
    worker.start()
    interrupted = False
    while worker.is_alive():
        try:
            worker.join(0.2)
        except KeyboardInterrupt:
            signal_cli()
            if interrupted:
                raise
            interrupted = True
    if interrupted:
        raise KeyboardInterrupt
    if "error" in box:
        raise box["error"]
    return box.get("result")


def signal_cli() -> list[int]:
    """Send the ``pulumi`` CLIs this process started the SIGINT a terminal's Ctrl-C would: the CLI
    cancels gracefully (a second one makes it stop at once). Not when this process runs in the
    foreground of a terminal, whose Ctrl-C reached the CLI already (one process group); a notebook's
    interrupt button reaches the kernel only. Returns the pids signalled."""
    import signal
    import sys

    import psutil

    try:
        from_terminal = sys.stdin is not None and sys.stdin.isatty() and \
            os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError):
        from_terminal = False
    sent = []
    for proc in psutil.Process().children():
        if _is_cli(proc) and not from_terminal:
            try:
                proc.send_signal(signal.SIGINT)
                sent.append(proc.pid)
            except psutil.NoSuchProcess:
                pass
    return sent


def _is_cli(proc) -> bool:
    try:
        return proc.name() == "pulumi" and proc.status() != "zombie"
    except Exception:  # noqa: BLE001 gone or not ours to read
        return False


def declared_count(spec: NetworkSpec, stack: str) -> int:
    """How many resources the program declares for ``spec`` (:func:`labnet.declare.declare`: the program
    under the SDK's mock monitor, which makes no call anywhere; about a millisecond per resource)."""
    from ..declare import declare

    return len(declare(spec, stack).resources)


def resume_advice(stack: str, detail: str) -> str:
    """What to do when Pulumi cannot refresh a stack an interrupted update left behind."""
    tail = " ".join(detail.strip().splitlines()[-3:])[-400:]
    if "pending" in detail.lower():
        how = ("an interrupted update left pending create operations: resources whose create was in flight may "
               "exist without Pulumi knowing their ids. Find them on the target by the tag "
               f"stack={stack}, then run `pulumi refresh --import-pending-creates <urn>=<id> ...` for those that "
               "exist and `pulumi refresh --clear-pending-creates` for the rest, and up(resume=True) again")
    elif "locked" in detail.lower():
        how = ("the stack is still locked by the interrupted update: on Pulumi Cloud run `pulumi cancel`; on a "
               "file or s3 backend remove its lock under .pulumi/locks once you are sure nothing runs; then "
               "up(resume=True) again")
    else:
        how = "fix the cause and run up(resume=True) again, or destroy() to remove what the stack holds"
    return f"resuming stack {stack!r} failed while refreshing it ({tail}); {how}"
