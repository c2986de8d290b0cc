"""Notebook latency: ``import labnet``, the first sizing result, and each notebook under papermill.

``import labnet`` is timed in fresh interpreters (median of several), and each checks that
``pulumi_aws`` (seconds to import) is not loaded. The first sizing result is timed two ways: in a
fresh interpreter (import → ``labnet.size`` → ``spec.table()``, the emulator already running) and
inside ``01_size_network`` from papermill's per-cell timestamps. Every notebook under notebooks/
then runs under papermill against the same emulator with the small parameters the test suite uses;
01, 02 (deploy, rehearsal engine) and 03 (teardown) run in that order so 03 has a stack to remove.
A missing notebook is skipped with the reason printed.

    .venv/bin/python bench/latency.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import _common
from _common import ROOT, emulator, fresh_home

IMPORT_TARGET_S = 0.5
NOTEBOOKS = ROOT / "notebooks"
SMALL = {"spokes": 2, "nodes_per_spoke": 4, "azs": 2, "supernet": "10.0.0.0/16"}
STACK = "bench-notebooks"
PLAN = [  # (notebook, parameters): the order matters, 03 tears down what 02 built
    ("01_size_network.ipynb", {**SMALL}),
    ("02_deploy_network.ipynb", {**SMALL, "stack_name": STACK, "engine": "rehearsal", "teardown": False}),
    ("03_teardown_network.ipynb", {"stack_name": STACK}),
]
SIZE_CELL_MARK = "labnet.size("

_IMPORT_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import labnet
t1 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "pulumi_aws": "pulumi_aws" in sys.modules,
                  "pulumi": "pulumi" in sys.modules, "pandas": "pandas" in sys.modules,
                  "boto3": "boto3" in sys.modules}))
"""

_SIZING_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import labnet
t1 = time.perf_counter()
spec = labnet.size(spokes=3, nodes_per_spoke=64, instance_type="p5.48xlarge", azs=2)
t2 = time.perf_counter()
table = spec.table()
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "size_s": t2 - t1, "table_s": t3 - t2, "total_s": t3 - t0,
                  "rows": len(table), "pulumi_aws": "pulumi_aws" in sys.modules}))
"""


def _probe(code: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(ROOT),
                         env=os.environ.copy(), timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"probe failed: {out.stderr.strip().splitlines()[-1] if out.stderr else out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def import_time(reps: int = 7) -> dict[str, Any]:
    runs = [_probe(_IMPORT_PROBE) for _ in range(reps)]
    med = statistics.median(r["import_s"] for r in runs)
    aws_loaded = any(r["pulumi_aws"] for r in runs)
    row = {"import_s": med, "runs": [round(r["import_s"], 4) for r in runs], "pulumi_aws_loaded": aws_loaded,
           "pulumi_loaded": any(r["pulumi"] for r in runs), "pandas_loaded": any(r["pandas"] for r in runs),
           "boto3_loaded": any(r["boto3"] for r in runs)}
    # The bench's own assertion (not a test): import labnet must never pull in pulumi_aws.
    assert not aws_loaded, "import labnet loaded pulumi_aws"
    print(f"import labnet: {med * 1000:.0f} ms median of {reps} fresh interpreters "
          f"(target < {IMPORT_TARGET_S * 1000:.0f} ms: {'met' if med < IMPORT_TARGET_S else 'MISSED'}); "
          f"pulumi_aws in sys.modules after import: {aws_loaded} (asserted False); "
          f"pulumi {row['pulumi_loaded']}, pandas {row['pandas_loaded']}, boto3 {row['boto3_loaded']}")
    return row


def first_sizing(reps: int = 3) -> dict[str, Any]:
    runs = [_probe(_SIZING_PROBE) for _ in range(reps)]
    row = {k: statistics.median(r[k] for r in runs) for k in ("import_s", "size_s", "table_s", "total_s")}
    row["pulumi_aws_loaded"] = any(r["pulumi_aws"] for r in runs)
    print(f"first sizing result in a fresh interpreter: {row['total_s']:.2f}s median of {reps} "
          f"(import {row['import_s']:.2f} + labnet.size {row['size_s']:.2f} + spec.table() {row['table_s']:.2f}); "
          f"pulumi_aws loaded by sizing: {row['pulumi_aws_loaded']}")
    return row


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def notebooks() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    try:
        import papermill
    except ImportError as exc:
        print(f"notebooks: skipped, papermill is not importable ({exc})")
        return rows
    fresh_home()  # kernels inherit LABNET_HOME and LABNET_EMULATOR_URL from this process
    out_dir = Path(tempfile.mkdtemp(prefix="labnet-bench-notebooks-"))
    _common._TEMP_DIRS.append(str(out_dir))  # removed with the emulator's temp folders at the end
    for name, params in PLAN:
        path = NOTEBOOKS / name
        if not path.exists():
            print(f"notebook {name}: skipped, {path.relative_to(ROOT)} does not exist (yet)")
            rows.append({"notebook": name, "skipped": "missing"})
            continue
        t0 = time.perf_counter()
        try:
            nb = papermill.execute_notebook(str(path), str(out_dir / name), parameters=params,
                                            kernel_name="python3", cwd=str(out_dir), progress_bar=False,
                                            execution_timeout=300)
        except Exception as exc:  # noqa: BLE001 reported, the other notebooks still run
            first = str(exc).strip().splitlines()
            print(f"notebook {name}: FAILED after {time.perf_counter() - t0:.1f}s: {type(exc).__name__}: "
                  f"{first[0][:200] if first else ''}")
            rows.append({"notebook": name, "failed": f"{type(exc).__name__}", "wall_s": time.perf_counter() - t0})
            continue
        wall = time.perf_counter() - t0
        row: dict[str, Any] = {"notebook": name, "wall_s": wall, "parameters": params}
        meta = nb.metadata.get("papermill", {})
        cells = [c for c in nb.cells if c.cell_type == "code"]
        durations = [c.metadata.get("papermill", {}).get("duration") or 0.0 for c in cells]
        row["cells_s"] = sum(durations)
        row["slowest_cell"] = max(((d, i) for i, d in enumerate(durations)), default=(0.0, -1))
        size_cell = next((c for c in cells if SIZE_CELL_MARK in c.source), None)
        if size_cell is not None and meta.get("start_time"):
            pm = size_cell.metadata.get("papermill", {})
            if pm.get("end_time"):
                row["first_sizing_s"] = (_ts(pm["end_time"]) - _ts(meta["start_time"])).total_seconds()
                row["size_cell_s"] = pm.get("duration") or 0.0
        extra = ""
        if "first_sizing_s" in row:
            extra = (f"; first sizing result {row['first_sizing_s']:.1f}s after papermill started "
                     f"(kernel start and earlier cells included; the sizing cell itself {row['size_cell_s']:.2f}s)")
        d, i = row["slowest_cell"]
        snippet = cells[i].source.strip().splitlines()[0][:60] if i >= 0 else ""
        print(f"notebook {name}: {wall:.1f}s wall under papermill, {row['cells_s']:.1f}s in cells, "
              f"slowest cell {d:.1f}s ({snippet!r}){extra}", flush=True)
        rows.append(row)
    return rows


def run() -> dict[str, Any]:
    return {"import": import_time(), "first_sizing": first_sizing(), "notebooks": notebooks()}


if __name__ == "__main__":
    with emulator():
        run()
