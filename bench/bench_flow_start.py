"""Flow-run start latency: trigger → Running → first task, for the `serve` runner and for a process worker, with
the Prefect server (and the app database) on SQLite and on PostgreSQL.

Each configuration is what `nexora up [--workers 1] [--postgres URL]` brings up (our polling: runner 0.5 s, worker
1 s). Each sample: a new ETP through the API, then `POST /api/v1/etp/generate-field` (the loopback LLM answers at
once); the trigger instant is taken just before the POST, "Running" is the flow run's start time on the Prefect
server and "first task" the earliest start of its task runs; the next sample starts once the run has finished.
Anchor, same run: what a run costs without orchestration — a fresh interpreter importing the flow's module (Prefect
and our tasks), the floor of any run in its own process. Prints one JSON line.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime

import _harness as h
import httpx

N = int(os.environ.get("BENCH_N", "50"))
ALL_CONFIGS = "serve:sqlite,worker:sqlite,serve:postgresql,worker:postgresql"
# BENCH_CONFIGS=serve:postgresql,… measures some of them (executor:database)
CONFIGS = [tuple(c.split(":")) for c in os.environ.get("BENCH_CONFIGS", ALL_CONFIGS).split(",")]


def seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def sample(client: httpx.Client, prefect: httpx.Client) -> tuple[float, float]:
    """(trigger → Running, trigger → first task) of one generate-field run, in seconds."""
    from tests.utils.builders import document_data

    document = client.post("/api/v1/documents", json=document_data("ETP")).json()
    slug = document["fields"][0]["slug"]
    triggered = time.time()
    answer = client.post("/api/v1/etp/generate-field", json={"document_id": document["id"], "field": slug})
    answer.raise_for_status()
    run_id = answer.json()["flow_run_id"]
    run = client.get(f"/api/v1/flow-runs/{run_id}", params={"wait": 60}).json()
    if run["state"] != "COMPLETED":
        raise RuntimeError(f"run {run_id} ended {run['state']}")
    flow_run = prefect.get(f"/flow_runs/{run_id}").json()
    tasks = prefect.post("/task_runs/filter", json={"flow_runs": {"id": {"any_": [run_id]}}}).json()
    first_task = min(seconds(t["start_time"]) for t in tasks if t.get("start_time"))
    return seconds(flow_run["start_time"]) - triggered, first_task - triggered


def measure(executor: str, database: str) -> dict:
    name = f"start-{executor}-{database}"
    with h.Up(name, workers=1 if executor == "worker" else 0, postgres=database == "postgresql") as up:
        running, first_task = [], []
        with (
            httpx.Client(base_url=up.api, headers=up.headers, timeout=90) as client,
            httpx.Client(base_url=up.prefect_api, timeout=30) as prefect,
        ):
            sample(client, prefect)  # the first run warms the executor; not counted
            for _ in range(N):
                to_running, to_task = sample(client, prefect)
                running.append(to_running)
                first_task.append(to_task)
                print(f"{name}: running {to_running:.2f} s, first task {to_task:.2f} s", file=sys.stderr, flush=True)
    return {
        "running_p50_s": round(h.percentile(running, 50), 2),
        "running_p95_s": round(h.percentile(running, 95), 2),
        "first_task_p50_s": round(h.percentile(first_task, 50), 2),
        "first_task_p95_s": round(h.percentile(first_task, 95), 2),
    }


def import_floor(n: int = 10) -> list[float]:
    """Seconds for a fresh interpreter to import the flow's module: the floor of a run in its own process."""
    code = "import flows.generate_field"
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=h.ROOT, env=dict(os.environ), check=True)
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    from tests.servers.llm import FakeLLM

    llm = FakeLLM(port=h.LLM_PORT).start()
    try:
        figures = {f"{executor}_{database}": measure(executor, database) for executor, database in CONFIGS}
        floor = h.percentile(import_floor(), 50)
    finally:
        llm.stop()
        h.Processes().stop()  # removes the benchmark's home
    best = min(f["first_task_p50_s"] for f in figures.values())
    h.emit(
        {
            "bench": "flow_start",
            "unit": "s p50 trigger → first task (best configuration)",
            "ours": best,
            "anchor_name": "fresh interpreter importing the flow module (no orchestration)",
            "anchor": round(floor, 2),
            "ratio": round(floor / best, 2),
            **figures,
            "n": N,
            "runner_poll_s": 0.5,
            "worker_query_s": 1,
        }
    )


if __name__ == "__main__":
    main()
