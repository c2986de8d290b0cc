"""The real engine vs the rehearsal engine on the emulator: up + destroy of N spokes through each.

The real engine is the `pulumi` CLI (on PATH, else the one `make pulumi` built into .tools/) driven
by the Automation API, with labnet's emulator provider as the aws plugin; the rehearsal engine runs
the same program under the SDK's mock monitor. Both make their EC2 calls through the same handlers
against the same emulator. Runs alternate (rehearsal, pulumi, rehearsal, …) with a moto reset and a
fresh LABNET_HOME before each, so load on a shared machine hits both alike.

Also measured: the provider plugin's start (process start → port written → first answer), an
unchanged ``up`` through the real engine (its fixed cost: CLI, program, plugin start, diffs, state
write), and with ``--build`` the time of `make pulumi` when the binary is there (the cached path) and
of a rebuild into a fresh folder with Go's build cache warm.

    .venv/bin/python bench/pulumi_engine.py              # N = 2 8, 3 runs each
    .venv/bin/python bench/pulumi_engine.py 8 --reps 5 --build
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, emulator, fresh_home, loadavg, machine, quiet, reset, spec_for


def find_cli() -> Path | None:
    """The CLI on PATH, else the one `make pulumi` built for this checkout (labnet's own lookup)."""
    from labnet.engines import automation

    return automation.cli_path()


def provider_start(reps: int = 5) -> dict[str, float]:
    """Median seconds from starting the plugin executable to its port line, and to its first answer."""
    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import provider_pb2_grpc

    from labnet.engines import plugin

    exe = plugin.install(Path(fresh_home())) / "plugins"
    (exe,) = exe.glob(f"resource-aws-v*/{plugin.EXECUTABLE}")
    ports, answers = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(exe), "127.0.0.1:1"], stdout=subprocess.PIPE, text=True)
        try:
            port = int(proc.stdout.readline())
            ports.append(time.perf_counter() - t0)
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                provider_pb2_grpc.ResourceProviderStub(channel).GetPluginInfo(empty_pb2.Empty(), timeout=60)
            answers.append(time.perf_counter() - t0)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return {"port_s": statistics.median(ports), "answer_s": statistics.median(answers)}


def _once(url: str, spec, engine: str, stack: str) -> dict[str, float]:
    import labnet

    reset(url)
    fresh_home()
    lab = labnet.Lab(stack, spec, engine=engine, progress=quiet)
    t0 = time.perf_counter()
    lab.up()
    t1 = time.perf_counter()
    noop = None
    if engine == "pulumi":
        lab.up()  # unchanged: the real engine's fixed cost (untimed in the up + destroy figure)
        noop = time.perf_counter() - t1
    t2 = time.perf_counter()
    lab.destroy()
    t3 = time.perf_counter()
    return {"up": t1 - t0, "destroy": t3 - t2, "total": (t1 - t0) + (t3 - t2), "noop_up": noop}


def compare(url: str, ns: tuple[int, ...], reps: int) -> list[dict[str, Any]]:
    rows = []
    for n in ns:
        spec = spec_for(n)
        runs: dict[str, list[dict[str, float]]] = {"rehearsal": [], "pulumi": []}
        for k in range(reps):
            for engine in ("rehearsal", "pulumi"):
                runs[engine].append(_once(url, spec, engine, f"bench-{engine}-{n}-{k}"))

        def med(engine: str, key: str) -> float:
            return statistics.median(r[key] for r in runs[engine])

        row = {"spokes": n, "reps": reps,
               **{f"{e}_{key}": med(e, key) for e in runs for key in ("up", "destroy", "total")},
               "pulumi_noop_up": med("pulumi", "noop_up")}
        row["ratio"] = row["pulumi_total"] / row["rehearsal_total"]
        rows.append(row)
    return rows


def profile(url: str, n: int) -> dict[str, Any]:
    """One up + destroy of ``n`` spokes through the real engine, every CLI call the Automation API makes
    timed by its command (``up``, ``destroy``, ``stack output`` …): where the time goes besides the
    engine's own work. Then the same ``pulumi up``/``destroy`` with PULUMI_SKIP_CHECKPOINTS=true (Pulumi
    writes the whole state after every resource step unless told not to)."""
    import labnet
    from pulumi import automation as auto

    calls: list[tuple[str, float]] = []
    real = auto.PulumiCommand.run

    def timed(self, args, *rest, **kw):
        t0 = time.perf_counter()
        try:
            return real(self, args, *rest, **kw)
        finally:
            words = [a for a in args if not a.startswith("-")][:2]
            calls.append((" ".join(words[:1] if words[:1] in (["up"], ["destroy"], ["preview"], ["refresh"])
                                   else words), time.perf_counter() - t0))

    auto.PulumiCommand.run = timed
    out: dict[str, Any] = {}
    try:
        for label, extra in (("checkpoints", {}), ("no_checkpoints", {"PULUMI_SKIP_CHECKPOINTS": "true"})):
            os.environ.update(extra)
            try:
                reset(url)
                fresh_home()
                calls.clear()
                lab = labnet.Lab(f"bench-profile-{label}", spec_for(n), engine="pulumi", progress=quiet)
                t0 = time.perf_counter()
                lab.up()
                t1 = time.perf_counter()
                lab.destroy()
                t2 = time.perf_counter()
            finally:
                for key in extra:
                    os.environ.pop(key, None)
            by: dict[str, list[float]] = {}
            for cmd, secs in calls:
                by.setdefault(cmd, []).append(secs)
            out[label] = {"up_s": t1 - t0, "destroy_s": t2 - t1,
                          "cli": {cmd: {"calls": len(v), "seconds": sum(v)} for cmd, v in sorted(by.items())}}
    finally:
        auto.PulumiCommand.run = real
    return out


def build_times() -> dict[str, float]:
    """`make pulumi` with the binary there (no build), and a rebuild into a fresh folder (Go's cache warm)."""
    script = ROOT / "tools" / "pulumi" / "build.sh"
    env = {k: v for k, v in os.environ.items() if k != "LABNET_PULUMI_BUILD"}
    t0 = time.perf_counter()
    subprocess.run(["sh", str(script)], check=True, capture_output=True, env={**env, "LABNET_PULUMI_BUILD": "1"})
    cached = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="labnet-bench-tools-") as tools:
        t0 = time.perf_counter()
        subprocess.run(["sh", str(script)], check=True, capture_output=True,
                       env={**env, "LABNET_PULUMI_BUILD": "1", "LABNET_TOOLS_DIR": tools})
        relink = time.perf_counter() - t0
    return {"cached_s": cached, "rebuild_warm_go_cache_s": relink}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("ns", nargs="*", type=int, default=[2, 8])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--build", action="store_true", help="also time make pulumi (cached, and a warm rebuild)")
    args = parser.parse_args()
    cli = find_cli()
    if cli is None:
        raise SystemExit("no pulumi CLI: run `make pulumi` first")
    os.environ["PATH"] = f"{cli.parent}{os.pathsep}{os.environ['PATH']}"
    os.environ["PULUMI_SKIP_UPDATE_CHECK"] = "true"
    version = subprocess.run([str(cli), "version"], capture_output=True, text=True).stdout.strip()
    res: dict[str, Any] = {"machine": machine(), "cli": {"path": str(cli), "version": version}}
    if args.build:
        res["build"] = build_times()
    with emulator() as url:
        res["provider_start"] = provider_start()
        res["engines"] = compare(url, tuple(args.ns), args.reps)
        res["profile"] = profile(url, max(args.ns))
    res["load_after"] = loadavg()
    print(json.dumps(res, indent=1))
    print(f"\npulumi {version}; load {res['machine']['load']} → {res['load_after']}")
    ps = res["provider_start"]
    print(f"provider plugin start: port written {ps['port_s']:.2f}s, first answer {ps['answer_s']:.2f}s")
    if "build" in res:
        b = res["build"]
        print(f"make pulumi: binary there {b['cached_s']:.2f}s; rebuild, Go cache warm {b['rebuild_warm_go_cache_s']:.1f}s")
    for label, prof in res["profile"].items():
        cli = prof["cli"]
        engine = sum(v["seconds"] for k, v in cli.items() if k in ("up", "destroy"))
        other = sum(v["seconds"] for k, v in cli.items() if k not in ("up", "destroy"))
        print(f"profile ({label}, {max(args.ns)} spokes): up {prof['up_s']:.2f}s, destroy {prof['destroy_s']:.2f}s; "
              f"pulumi up+destroy {engine:.2f}s; {sum(v['calls'] for k, v in cli.items() if k not in ('up', 'destroy'))} "
              f"other CLI calls {other:.2f}s ({', '.join(k + ' x' + str(v['calls']) for k, v in cli.items())})")
    print("spokes | rehearsal up+destroy | pulumi up+destroy (up / destroy) | ratio | pulumi unchanged up")
    for r in res["engines"]:
        print(f"{r['spokes']:6} | {r['rehearsal_total']:8.2f}s | {r['pulumi_total']:8.2f}s "
              f"({r['pulumi_up']:.2f} / {r['pulumi_destroy']:.2f}) | {r['ratio']:.2f}x | {r['pulumi_noop_up']:.2f}s")


if __name__ == "__main__":
    main()
