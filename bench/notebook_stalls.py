"""Run each notebook N times under papermill and count stalls (jupyter/nbclient#312).

    .venv/bin/python bench/notebook_stalls.py                 # 30 runs of each notebook
    .venv/bin/python bench/notebook_stalls.py --runs 5 --notebooks 01
    .venv/bin/python bench/notebook_stalls.py --json stalls.json

Each run is a separate ``papermill`` process (so a separate kernel), with small parameters, against
one moto emulator on loopback that the script starts (in a private ``LABNET_HOME``) and stops. 02 and 03
run as a pair: 02 deploys a stack and 03 tears it down, so every 03 run has something to destroy.

A **stall** is a run that is still going after ``--watchdog`` seconds (default 240, far above the
slowest normal run) with a cell that never finished: the script then records which cell was running
(from the partial output notebook papermill writes after every cell), dumps the Python stacks of the
papermill process and its kernel with ``py-spy`` when it is installed, and kills the run. A run that
ends with an error is a failure, not a stall; both are reported. Nothing is hidden by a long
per-cell timeout: papermill runs with no execution timeout at all, so a stall can only end at the
watchdog, where it is counted.

Output: one line per run (notebook, run, result, wall seconds), then a summary per notebook
(runs, ok, failures, stalls, wall time min/median/max).

``--control`` also runs a tiny notebook that renders into an ``ipywidgets.Output`` widget (what
``interact`` does), the pattern labnet's forms avoid. nbclient mimics a front end for Output widgets
and writes ``comm_msg`` back to the kernel on the shell channel while it awaits the cell's
``execute_reply`` on that same socket; now and then the reply arrives but the wake-up is lost, and
with no timeout the run waits forever (jupyter/nbclient#312). The control shows that the watchdog
catches such stalls, and that the stack here has the bug that labnet's notebooks stay clear of.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SMALL = {
    "01": {"spokes": 2, "nodes_per_spoke": 4, "azs": 2, "supernet": "10.0.0.0/16"},
    "02": {"spokes": 2, "nodes_per_spoke": 4, "azs": 2, "supernet": "10.0.0.0/16", "engine": "rehearsal"},
    "03": {},
}
FILES = {"01": "01_size_network.ipynb", "02": "02_deploy_network.ipynb", "03": "03_teardown_network.ipynb",
         "control": "control_output_widget.ipynb"}
CONTROL_CELLS = [
    "import ipywidgets as widgets\nfrom IPython.display import display",
    "out = widgets.Output()\nslider = widgets.IntSlider(value=1, min=1, max=20)\n\n"
    "def redraw(change=None):\n    out.clear_output(wait=True)\n    with out:\n"
    "        display({'text/html': f'<b>{slider.value}</b>'}, raw=True)\n        print('value', slider.value)\n\n"
    "slider.observe(redraw, names='value')\nredraw()\ndisplay(widgets.VBox([slider, out]))",
    "for v in range(1, 15):\n    slider.value = v",
    "@widgets.interact(x=(0, 10))\ndef f(x=3):\n    print(x * 2)",
    "print('done')",
]


def _write_control(path: Path) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(c) for c in CONTROL_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _running_cell(path: Path) -> str:
    """The cell papermill marked as running in its partial output notebook, if any."""
    try:
        nb = json.loads(path.read_text())
    except (OSError, ValueError):
        return "unknown (no partial output yet)"
    for i, cell in enumerate(nb.get("cells", [])):
        status = cell.get("metadata", {}).get("papermill", {}).get("status")
        if status == "running":
            first = "".join(cell.get("source", "")).strip().splitlines()[:1]
            return f"cell {i}: {first[0] if first else ''}"
    return "none marked running"


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    kids = [int(x) for x in out.split()]
    return kids + [g for k in kids for g in _descendants(k)]


def _dump_stacks(pid: int) -> str:
    spy = shutil.which("py-spy")
    if not spy:
        return "(py-spy not installed: no stack dump)"
    text = []
    for p in [pid, *_descendants(pid)]:
        r = subprocess.run([spy, "dump", "--pid", str(p)], capture_output=True, text=True, timeout=60)
        text.append(f"--- pid {p}\n{r.stdout}{r.stderr}")
    return "\n".join(text)


def run_one(key: str, run: int, params: dict, workdir: Path, watchdog: float, log) -> dict:
    out = workdir / f"{key}-{run:02d}.ipynb"
    source = NOTEBOOKS / FILES[key] if key != "control" else workdir / FILES[key]
    cmd = [sys.executable, "-m", "papermill", str(source), str(out), "-k", "python3",
           "--cwd", str(workdir), "--no-progress-bar", "--log-level", "WARNING"]
    for name, value in params.items():
        cmd += ["-p", name, str(value)] if not isinstance(value, str) else ["-r", name, value]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        text, _ = proc.communicate(timeout=watchdog)
        result = "ok" if proc.returncode == 0 else "failed"
        detail = "" if result == "ok" else text.decode(errors="replace")[-1500:]
    except subprocess.TimeoutExpired:
        result = "stall"
        detail = f"still running after {watchdog:.0f}s; {_running_cell(out)}\n{_dump_stacks(proc.pid)}"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    wall = time.monotonic() - start
    print(f"{FILES[key]:28s} run {run:2d}  {result:6s} {wall:6.1f}s", file=log, flush=True)
    if detail:
        print(detail, file=log, flush=True)
    return {"notebook": FILES[key], "run": run, "result": result, "wall": round(wall, 2), "detail": detail}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--notebooks", default="01,02,03", help="comma list of 01, 02, 03 (02 and 03 run as a pair)")
    ap.add_argument("--watchdog", type=float, default=240.0, help="seconds after which a run counts as a stall")
    ap.add_argument("--json", help="also write every run as JSON here")
    ap.add_argument("--control", action="store_true",
                    help="also run the Output-widget control notebook (expected to stall now and then)")
    ap.add_argument("--control-watchdog", type=float, default=60.0,
                    help="watchdog for the control notebook (a normal control run takes a few seconds)")
    args = ap.parse_args(argv)
    keys = [k.strip() for k in args.notebooks.split(",") if k.strip()]
    if args.control:
        keys.append("control")

    sys.path.insert(0, str(ROOT))
    from labnet import emulator

    home = Path(tempfile.mkdtemp(prefix="labnet-stalls-"))
    os.environ.pop(emulator.ENV_URL, None)
    os.environ["LABNET_HOME"] = str(home / "emulator-home")
    em = emulator.start()
    os.environ[emulator.ENV_URL] = em.url  # papermill's kernels inherit it
    os.environ["LABNET_HOME"] = str(home / "labnet-home")
    print(f"emulator {em.url}; work in {home}; {args.runs} run(s) of {', '.join(FILES[k] for k in keys)}",
          flush=True)
    if args.control:
        _write_control(home / FILES["control"])
    results: list[dict] = []
    try:
        for run in range(args.runs):
            for key in keys:
                if key == "03" and "02" not in keys:
                    continue  # 03 needs the stack 02 deployed
                params = dict(SMALL.get(key, {}))
                if key in ("02", "03"):
                    params["stack_name"] = f"stall-{run:02d}"
                watchdog = args.control_watchdog if key == "control" else args.watchdog
                results.append(run_one(key, run, params, home, watchdog, sys.stdout))
    finally:
        os.environ["LABNET_HOME"] = str(home / "emulator-home")
        emulator.stop()

    print("\nnotebook                      runs  ok  failed  stalls   wall s (min / median / max)")
    for key in keys:
        rows = [r for r in results if r["notebook"] == FILES[key]]
        if not rows:
            continue
        walls = [r["wall"] for r in rows if r["result"] == "ok"] or [0.0]
        n = {k: sum(r["result"] == k for r in rows) for k in ("ok", "failed", "stall")}
        print(f"{FILES[key]:28s} {len(rows):5d} {n['ok']:3d} {n['failed']:7d} {n['stall']:7d}   "
              f"{min(walls):5.1f} / {statistics.median(walls):5.1f} / {max(walls):5.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    shutil.rmtree(home, ignore_errors=True)
    return 0 if all(r["result"] == "ok" for r in results if r["notebook"] != FILES["control"]) else 1


if __name__ == "__main__":
    sys.exit(main())
