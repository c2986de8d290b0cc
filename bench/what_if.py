"""What if: the engine-overhead comparison again, with two proposed fixes applied by monkeypatching
(labnet's files are not edited; the fixes belong to their owners, see BENCHMARKS.md).

1. one boto3 client per ``Lab``: ``Target.ec2`` memoised, the memo cleared when a ``Lab`` is made
   (labnet builds a new boto3 Session and client for every ``Lab`` operation, 0.1–0.4 s each: the EC2
   service model is parsed again for every new Session; ``up`` makes two, ``destroy`` one);
2. no preview pass inside ``up`` for a stack whose state is empty (every resource is a create, so
   there is nothing a preview can refuse); here the plan is computed once outside the timed region
   and handed back, which is what skipping it costs.

Everything else (raw script, interleaving, resets, medians) is as in engine_overhead.py.

    .venv/bin/python bench/what_if.py 8
"""

from __future__ import annotations

import argparse
import functools
import statistics
from typing import Any

import engine_overhead
from _common import emulator, fresh_home, quiet, reset, spec_for


class _Fixes:
    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []
        self.plans: dict[str, list] = {}

    def apply(self) -> None:
        from labnet import targets
        from labnet.engines import rehearsal

        import labnet.lab

        original_ec2 = targets.Target.ec2
        cached = functools.lru_cache(maxsize=None)(original_ec2)  # Target is a frozen dataclass: hashable
        self._set(targets.Target, "ec2", lambda target: cached(target))
        # One client per Lab, not per process: each timed run pays for one client, as the raw script does.
        original_init = labnet.lab.Lab.__init__

        def init(lab, *args, **kwargs):
            cached.cache_clear()
            original_init(lab, *args, **kwargs)

        self._set(labnet.lab.Lab, "__init__", init)

        original_plan = rehearsal.RehearsalEngine.plan
        plans = self.plans

        def plan(engine, spec, state=None):
            key = repr(spec.to_dict())
            if state is not None and not state.resources and key in plans:
                return list(plans[key])
            rows = original_plan(engine, spec, state)
            if all(p.action == "create" for p in rows):
                plans[key] = list(rows)
            return rows

        self._set(rehearsal.RehearsalEngine, "plan", plan)

    def _set(self, owner, attr, value) -> None:
        self._undo.append((owner, attr, getattr(owner, attr)))
        setattr(owner, attr, value)

    def restore(self) -> None:
        while self._undo:
            owner, attr, value = self._undo.pop()
            setattr(owner, attr, value)


def measure(url: str, n: int, reps: int) -> dict[str, Any]:
    import labnet

    spec = spec_for(n)
    fixes = _Fixes()
    fixes.apply()
    try:
        reset(url)
        fresh_home()
        labnet.Lab(f"what-if-plan-{n}", spec, engine="rehearsal", progress=quiet).preview()  # untimed: fills the plan
        return engine_overhead.measure(url, n, reps)
    finally:
        fixes.restore()


def run(url: str, ns=(8,), reps: int = 3) -> list[dict[str, Any]]:
    rows = []
    for n in ns:
        r = measure(url, n, reps)
        rows.append(r)
        print(f"what if (one cached client + no preview pass on a fresh stack), {n} spokes: labnet "
              f"{r['labnet']:.2f}s (up {r['labnet_up']:.2f} + destroy {r['labnet_destroy']:.2f}) vs raw "
              f"{r['raw']:.2f}s = {r['ratio']:.2f}× wall, {r['cpu_ratio']:.2f}× CPU", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spokes", type=int, nargs="*", default=[8])
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    with emulator() as url:
        run(url, args.spokes, args.reps)


if __name__ == "__main__":
    main()
