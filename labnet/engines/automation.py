"""The Pulumi Automation API engine: the production path, and the real engine on the emulator.

Inline program through ``create_or_select_stack``; a local file backend in labnet's state folder by
default (0700; ``s3://…`` and other backend URLs accepted); the passphrase secrets provider with a
generated passphrase file (0600) unless the user brings one; aws provider config for the target;
``on_event`` turned into :class:`ProgressEvent`; Pulumi's errors re-raised as labnet errors chained
``from`` the original. Needs the ``pulumi`` CLI on PATH (``engine_available()``).

Everything that does not need the CLI (workspace options, config, event translation, error mapping)
is plain code that the test suite runs everywhere.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Any, Callable

from .. import paths
from ..errors import (DeployError, EngineUnavailableError, LabnetError, StackLockedError,
                      TeardownIncompleteError)
from ..spec import NetworkSpec
from .progress import ProgressCallback, ProgressEvent, ignore
from .rehearsal import PlannedResource

PROJECT = "labnet"
PASSPHRASE_ENV = "PULUMI_CONFIG_PASSPHRASE"
PASSPHRASE_FILE_ENV = "PULUMI_CONFIG_PASSPHRASE_FILE"
SECRET = "[secret]"

OP_ACTION = {"create": "create", "same": "same", "update": "update", "replace": "replace",
             "create-replacement": "replace", "delete-replaced": "replace", "delete": "delete",
             "read": "read", "refresh": "read", "discard": "delete"}


def engine_available() -> bool:
    return shutil.which("pulumi") is not None


def unavailable_reason() -> str:
    return ("the `pulumi` CLI is not on PATH (the Automation API drives it); install it from "
            "pulumi.com, or use engine='rehearsal' on the emulator")


def passphrase_file(home: Path) -> Path:
    """labnet's generated passphrase file (0600), created on first use, unless the user brings one
    through ``PULUMI_CONFIG_PASSPHRASE`` or ``PULUMI_CONFIG_PASSPHRASE_FILE``."""
    path = home / "pulumi" / "passphrase"
    if not path.exists():
        paths.write_private(path, secrets.token_urlsafe(32))
    os.chmod(path, 0o600)
    return path


def backend_url(home: Path, url: str | None = None) -> str:
    """``file://`` in labnet's state folder (0700) unless a URL (``s3://…``, ``file://…``) is given."""
    if url:
        return url
    folder = paths.private_dir(home / "pulumi" / "backend")
    return f"file://{folder}"


def workspace_env(home: Path, user_env: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for the Pulumi CLI: the secrets passphrase source, no update checks."""
    env = {"PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_HOME": str(paths.private_dir(home / "pulumi" / "home"))}
    source = user_env if user_env is not None else os.environ
    if not source.get(PASSPHRASE_ENV) and not source.get(PASSPHRASE_FILE_ENV):
        env[PASSPHRASE_FILE_ENV] = str(passphrase_file(home))
    return env


def workspace_options(home: Path, backend: str | None = None, user_env: dict[str, str] | None = None):
    from pulumi import automation as auto

    url = backend_url(home, backend)
    return auto.LocalWorkspaceOptions(
        work_dir=str(paths.private_dir(home / "pulumi" / "work")),
        project_settings=auto.ProjectSettings(name=PROJECT, runtime="python",
                                              backend=auto.ProjectBackend(url=url)),
        secrets_provider="passphrase",
        env_vars=workspace_env(home, user_env),
    )


def config_values(target_config: dict[str, tuple[str, bool]]) -> dict[str, Any]:
    from pulumi import automation as auto

    return {key: auto.ConfigValue(value=value, secret=secret) for key, (value, secret) in target_config.items()}


class EventTranslator:
    """Turns Automation API engine events into :class:`ProgressEvent` s (resources done / total)."""

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
            if _is_stack_or_provider(md.type) or md.op.value == "same":
                return
            self.done += 1
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


def map_error(exc: BaseException, stack: str, operation: str, redact: Callable[[str], str]) -> LabnetError:
    """A Pulumi error as the labnet error a caller can act on (the caller chains it ``from exc``)."""
    from pulumi.automation import errors as perr

    text = redact(getattr(exc, "args", [""])[0] if getattr(exc, "args", None) else str(exc))
    tail = " ".join(line.strip() for line in text.strip().splitlines()[-6:])[-600:]
    if isinstance(exc, perr.ConcurrentUpdateError):
        return StackLockedError(stack, {"operation": "another Pulumi update", "pid": "?", "host": "the backend",
                                        "detail": tail})
    if operation == "destroy":
        return TeardownIncompleteError(stack, ["(see `pulumi stack --show-urns`)"], tail,
                                       "destroy() to finish; the Pulumi state is kept")
    if isinstance(exc, perr.CommandError):
        return DeployError(f"{operation} of stack {stack!r} failed: {tail}. Pulumi's state records what was "
                           "created; fix the cause and run up() again, or destroy() to remove it")
    return DeployError(f"{operation} of stack {stack!r} failed: {type(exc).__name__}: {redact(str(exc))[:300]}")


def plain_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    """Stack outputs with every secret value replaced by ``[secret]``."""
    return {k: (SECRET if getattr(v, "secret", False) else getattr(v, "value", v)) for k, v in outputs.items()}


class AutomationEngine:
    """Runs one stack through the Automation API. ``target`` is a :class:`labnet.targets.Target`."""

    name = "pulumi"

    def __init__(self, stack: str, target, home: Path, backend: str | None = None,
                 redact: Callable[[str], str] = lambda s: s) -> None:
        self.stack_name = stack
        self.target = target
        self.home = home
        self.backend = backend
        self.redact = redact

    def _stack(self, spec: NetworkSpec):
        if not engine_available():
            raise EngineUnavailableError(unavailable_reason())
        from pulumi import automation as auto

        from .. import program

        try:
            stack = auto.create_or_select_stack(
                stack_name=self.stack_name, project_name=PROJECT,
                program=lambda: program.pulumi_program(spec),
                opts=workspace_options(self.home, self.backend))
            stack.set_all_config(config_values(self.target.pulumi_config()))
        except Exception as exc:  # noqa: BLE001 re-raised as a labnet error
            raise map_error(exc, self.stack_name, "select", self.redact) from exc
        return stack

    def plan(self, spec: NetworkSpec) -> list[PlannedResource]:
        stack = self._stack(spec)
        rows: list[PlannedResource] = []

        def on_event(event) -> None:
            pre = getattr(event, "resource_pre_event", None)
            if pre is not None and not _is_stack_or_provider(pre.metadata.type):
                md = pre.metadata
                inputs = dict(getattr(md.new, "inputs", None) or {}) if md.new else {}
                rows.append(PlannedResource(OP_ACTION.get(md.op.value, md.op.value), md.type, _name(md.urn), inputs))

        try:
            stack.preview(on_event=on_event)
        except Exception as exc:  # noqa: BLE001
            raise map_error(exc, self.stack_name, "preview", self.redact) from exc
        return rows

    def up(self, spec: NetworkSpec, progress: ProgressCallback = ignore, resume: bool = False) -> dict[str, Any]:
        stack = self._stack(spec)
        translator = EventTranslator("up", len(self.plan(spec)), progress)
        try:
            result = stack.up(on_event=translator, show_secrets=False)
        except Exception as exc:  # noqa: BLE001
            raise map_error(exc, self.stack_name, "up", self.redact) from exc
        return plain_outputs(result.outputs)

    def outputs(self, spec: NetworkSpec) -> dict[str, Any]:
        return plain_outputs(self._stack(spec).outputs())

    def destroy(self, spec: NetworkSpec, progress: ProgressCallback = ignore) -> list[str]:
        stack = self._stack(spec)
        translator = EventTranslator("destroy", 0, progress)
        removed: list[str] = []

        def on_event(event) -> None:
            translator(event)
            out = getattr(event, "res_outputs_event", None)
            if out is not None and not _is_stack_or_provider(out.metadata.type):
                removed.append(_name(out.metadata.urn))

        try:
            stack.destroy(on_event=on_event)
        except Exception as exc:  # noqa: BLE001
            raise map_error(exc, self.stack_name, "destroy", self.redact) from exc
        left = [r for r in stack.export_stack().deployment.get("resources", [])
                if not _is_stack_or_provider(r.get("type", ""))]
        if left:
            raise TeardownIncompleteError(self.stack_name, [_name(r["urn"]) for r in left],
                                          "Pulumi reported success but its state still holds resources",
                                          "destroy() again")
        return removed

    def refresh(self, spec: NetworkSpec, progress: ProgressCallback = ignore) -> list[dict[str, Any]]:
        stack = self._stack(spec)
        try:
            stack.refresh(on_event=EventTranslator("refresh", 0, progress))
        except Exception as exc:  # noqa: BLE001
            raise map_error(exc, self.stack_name, "refresh", self.redact) from exc
        return [{"name": _name(r["urn"]), "type": r["type"], "id": r.get("id", ""), "status": "present"}
                for r in stack.export_stack().deployment.get("resources", [])
                if not _is_stack_or_provider(r.get("type", ""))]
