"""How long an operator waits for `nexora runs` and `nexora model list` (target: under 3 s each here).

Set-up: a Prefect server (SQLite) holding 60 finished flow runs, and the embedded MLflow store with three
registered versions of the price model (one `champion`). Each command runs as a user runs it, a new process from
the shell, 7 times; the figure is the median wall time. Anchors, in the same run: `prefect flow-run ls --limit 20`
(Prefect's own CLI for the same list) and a Python one-liner with MLflow's client listing the versions and
aliases (what one would otherwise script).

    .venv/bin/python bench/bench_cli.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import _harness as h

REPEATS = 7
BIN = Path(sys.executable).parent


def seed_runs(count: int = 60) -> None:
    from prefect import flow

    @flow(name="bench-cli-flow")
    def short(n: int) -> int:
        return n

    for n in range(count):
        short(n)


def seed_model_versions() -> None:
    import mlflow
    from mlflow import MlflowClient

    from tasks.prices.registry import CHAMPION, MODEL_NAME, tracking_uri

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(MODEL_NAME)
    for n in range(3):
        with mlflow.start_run() as run:
            mlflow.log_metric("mdape", 0.7 - n / 100)
            mlflow.log_metric("baseline_mdape", 0.75)
        version = client.create_model_version(MODEL_NAME, f"runs:/{run.info.run_id}/model", run.info.run_id)
    client.set_registered_model_alias(MODEL_NAME, CHAMPION, version.version)


def median_seconds(argv: list[str], expect: str) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        done = subprocess.run(
            argv, cwd=h.ROOT, capture_output=True, text=True, timeout=300, env={**h.os.environ, "COLUMNS": "80"}
        )
        times.append(time.perf_counter() - started)
        if done.returncode != 0 or expect not in done.stdout:
            raise RuntimeError(f"{argv} failed: {done.stdout[-800:]}{done.stderr[-800:]}")
    return statistics.median(times)


MLFLOW_ANCHOR = (
    "from mlflow import MlflowClient\n"
    "from tasks.prices.registry import MODEL_NAME, tracking_uri\n"
    "c = MlflowClient(tracking_uri=tracking_uri(), registry_uri=tracking_uri())\n"
    "aliases = c.get_registered_model(MODEL_NAME).aliases\n"
    "for v in c.search_model_versions(f\"name = '{MODEL_NAME}'\"):\n"
    "    print(v.version, [a for a, n in aliases.items() if str(n) == str(v.version)], v.run_id)\n"
)


def main() -> None:
    procs = h.Processes()
    try:
        procs.prefect_server()
        seed_runs()
        seed_model_versions()
        runs = median_seconds([str(BIN / "nexora"), "runs", "--limit", "20"], "bench-cli-flow")
        runs_anchor = median_seconds([str(BIN / "prefect"), "flow-run", "ls", "--limit", "20"], "bench-c")
        models = median_seconds([str(BIN / "nexora"), "model", "list"], "champion")
        models_anchor = median_seconds([sys.executable, "-c", MLFLOW_ANCHOR], "champion")
    finally:
        procs.stop()
    worst, worst_anchor = max(runs, models), max(runs_anchor, models_anchor)
    h.emit(
        {
            "bench": "cli",
            "unit": "s (median wall time of the slower command)",
            "ours": round(worst, 2),
            "anchor_name": "prefect flow-run ls / MlflowClient one-liner",
            "anchor": round(worst_anchor, 2),
            "ratio": round(worst_anchor / worst, 2),
            "runs_s": round(runs, 2),
            "runs_anchor_s": round(runs_anchor, 2),
            "model_list_s": round(models, 2),
            "model_list_anchor_s": round(models_anchor, 2),
            "target_s": 3.0,
            "met": worst < 3.0,
            "n": REPEATS,
        }
    )


if __name__ == "__main__":
    main()
