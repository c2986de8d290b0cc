"""Where labnet's time goes: cProfile of a rehearsal preview, up and destroy, every thread included.

The rehearsal engine runs the Pulumi program in a worker thread and the SDK calls the resource hook
from its thread pool, so a plain ``cProfile.run`` sees only a lock wait. This wraps
``threading.Thread.run`` to profile each thread and merges the results. The timer is each thread's
own CPU time (``time.thread_time``), so the figures are CPU seconds spent in labnet's process:
waiting on the emulator's sockets and on locks costs nothing here, and the emulator (its own
process) is not included. Not part of ``make bench``
(profiling slows everything); the evidence behind the findings in BENCHMARKS.md.

    .venv/bin/python bench/profile_engine.py 32            # top 25 by cumulative time
    .venv/bin/python bench/profile_engine.py 32 --sort tottime --top 40
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import threading
import time

from _common import emulator, fresh_home, quiet, reset, spec_for

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _install() -> None:
    original = threading.Thread.run

    def run(self):
        prof = cProfile.Profile(timer=time.thread_time)
        with _lock:
            _profiles.append(prof)
        prof.enable()
        try:
            original(self)
        finally:
            prof.disable()

    threading.Thread.run = run


def _report(title: str, main: cProfile.Profile, sort: str, top: int) -> None:
    with _lock:
        profs = [main, *_profiles]
        _profiles.clear()
    stats = None
    for p in profs:
        try:
            stats = pstats.Stats(p) if stats is None else stats.add(p)
        except TypeError:  # a thread that never ran any Python
            pass
    buf = io.StringIO()
    stats.stream = buf
    stats.strip_dirs().sort_stats(sort).print_stats(top)
    print(f"===== {title} (CPU time of all threads, sorted by {sort}) =====")
    print(buf.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("spokes", type=int, nargs="?", default=32)
    ap.add_argument("--sort", default="cumulative")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    _install()
    import labnet

    with emulator() as url:
        spec = spec_for(args.spokes)
        reset(url)
        fresh_home()
        lab = labnet.Lab("profile", spec, engine="rehearsal", progress=quiet)
        lab.preview()  # imports and first-call caches out of the way
        _profiles.clear()
        for name, op in (("preview", lab.preview), ("up", lab.up), ("destroy", lab.destroy)):
            prof = cProfile.Profile(timer=time.thread_time)
            t0 = time.perf_counter()
            prof.enable()
            op()
            prof.disable()
            wall = time.perf_counter() - t0
            _report(f"{name} of {args.spokes} spokes: {wall:.2f}s wall", prof, args.sort, args.top)


if __name__ == "__main__":
    main()
