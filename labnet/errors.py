"""labnet's errors: one root class, one subclass per failure a caller can act on.

Every message is written for a data scientist: what was wrong (field and value), the rule it broke,
and what to do next. Errors never carry credentials or secret values.
"""

from __future__ import annotations


class LabnetError(Exception):
    """Root of every error labnet raises on purpose."""


class InvalidSpecError(LabnetError, ValueError):
    """A value in a network spec or a parameter breaks a rule, found before any AWS call.

    ``field``, ``value``, ``rule`` and ``fix`` are kept as attributes so forms and notebooks can point
    at the offending input; ``str(err)`` joins them into one sentence.
    """

    def __init__(self, field: str, value: object, rule: str, fix: str = "") -> None:
        self.field = field
        self.value = value
        self.rule = rule
        self.fix = fix
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        message = f"{field}={shown}: {rule}"
        if fix:
            message += f"; {fix}"
        super().__init__(message)


class SizingError(InvalidSpecError):
    """A sizing request that cannot fit; the message names the nearest layout that would."""


class FactsError(LabnetError):
    """Instance or region facts could not be read (unknown instance type, unknown region)."""


class TargetError(LabnetError):
    """A target/engine combination that labnet refuses, or a target that cannot be reached."""


class EmulatorError(LabnetError):
    """The embedded AWS emulator could not be started, found or reached."""


class EngineUnavailableError(LabnetError):
    """The requested engine cannot run here (for example the Pulumi CLI is not on PATH)."""


class StackLockedError(LabnetError):
    """Another operation holds the stack's lock. ``holder`` describes it (pid, host, age)."""

    def __init__(self, stack: str, holder: dict) -> None:
        self.stack = stack
        self.holder = dict(holder)
        pid = holder.get("pid", "?")
        host = holder.get("host", "?")
        op = holder.get("operation", "an operation")
        age = holder.get("age_seconds")
        age_txt = f", {age:.0f}s ago" if isinstance(age, (int, float)) else ""
        alive = holder.get("alive")
        state = "" if alive is None else (" (process alive)" if alive else " (process is gone: stale lock)")
        breaking = ("break it with Lab(...).break_lock() "
                    f"or `python -m labnet unlock {stack}`")
        if alive:
            fix = "wait for it to finish"
        elif alive is False:
            fix = f"if you are sure nothing runs, {breaking}"
        else:  # another host, or an unreadable lock file: labnet cannot tell
            fix = f"if it still runs, wait for it to finish; if you are sure nothing runs, {breaking}"
        super().__init__(
            f"stack {stack!r} is locked by {op} in pid {pid} on {host}{age_txt}{state}; {fix}"
        )


class StateError(LabnetError):
    """A stack's state cannot be used as it is (damaged file, interrupted operation, changed spec)."""


class StackNotFoundError(StateError):
    """No stack of that name on this machine. ``known`` lists the stacks there are, as
    ``(name, state)`` pairs, so the message can name them."""

    def __init__(self, stack: str, known: list[tuple[str, str]]) -> None:
        self.stack = stack
        self.known = list(known)
        shown = ", ".join(f"{name} ({state})" for name, state in self.known[:10])
        if len(self.known) > 10:
            shown += f" and {len(self.known) - 10} more"
        there = f"the stacks there are: {shown}" if self.known else "there are no stacks yet"
        super().__init__(
            f"there is no stack {stack!r} on this machine; {there} (`python -m labnet stacks` lists them). "
            "Check the name, or deploy a new stack first: labnet.Lab(name, labnet.size(...)).up() or "
            "`python -m labnet demo --stack NAME --keep`")


class StateCorruptError(StateError):
    """A state file is damaged. A copy is kept at ``kept_at`` and the damaged file stays in place, so
    every operation on the stack stops here until it is repaired; nothing is redeployed."""

    def __init__(self, path: str, kept_at: str, reason: str) -> None:
        self.path = path
        self.kept_at = kept_at
        super().__init__(
            f"state file {path} is damaged ({reason}); a copy is kept at {kept_at} and labnet "
            "will not treat the stack as empty: every operation on it stops here. Put a good copy of "
            "the file back, or if you know the stack holds nothing (its resources are tagged "
            "stack=<name>), delete the stack folder"
        )


class InterruptedOperationError(StateError):
    """An operation on the stack stopped part-way; the message says how to go on.

    Raised when a new operation finds the last one unfinished, and (as its subclass
    :class:`InterruptedByUserError`) when Ctrl-C stops the operation that is running."""


class InterruptedByUserError(InterruptedOperationError, KeyboardInterrupt):
    """Ctrl-C (a kernel interrupt, SIGINT) stopped the running operation; state is saved.

    It is also a :class:`KeyboardInterrupt`, so code that handles interrupts (a notebook, a batch
    runner, ``except KeyboardInterrupt``) sees one, while ``except LabnetError`` still gets the
    message that says how to go on."""


class SpecChangedError(StateError):
    """``up`` was asked to change resources the rehearsal engine cannot update in place."""


class DeployError(LabnetError):
    """A deployment failed part-way. State holds what was created; ``destroy`` removes it."""


class TeardownIncompleteError(LabnetError):
    """A teardown stopped with resources left. The stack and its state are kept."""

    def __init__(self, stack: str, remaining: list[str], cause: str, rerun: str) -> None:
        self.stack = stack
        self.remaining = list(remaining)
        shown = ", ".join(remaining[:5]) + (" …" if len(remaining) > 5 else "")
        super().__init__(
            f"teardown of stack {stack!r} stopped with {len(remaining)} resource(s) left "
            f"({shown}): {cause}. The stack and its state are kept; rerun {rerun}"
        )


class QuotaExceededError(LabnetError):
    """A deploy to AWS that the account's quotas would stop part-way, refused before any resource is
    created. ``rows`` holds each quota that does not fit as a dict (``quota``, ``code``, ``applied``,
    ``in_use``, ``adds``, ``needs``, ``request``, ``source``); the message names them and the increase
    to request."""

    def __init__(self, message: str, rows: list[dict]) -> None:
        self.rows = [dict(r) for r in rows]
        super().__init__(message)
