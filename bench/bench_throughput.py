"""Throughput of the production shape: 200 short flow runs started through the API, with 1 and with 2 process
workers on the nexora-process pool (Prefect server and app database on PostgreSQL).

Each configuration is `nexora up --workers N --postgres URL` (FLOW_RUN_LIMIT runs at once per worker). The 200 ETPs
are created first; then 200 `POST /api/v1/etp/generate-field` (the loopback LLM answers at once) as fast as one
client sends them, and the clock stops when the last run is Completed; every field must hold its run's text.
Anchor, same run: the embedded `serve` runner (what `nexora up` without workers runs) on the same PostgreSQL.
Reported: runs per minute of each, the speed-up of 2 workers over 1, and the ratio of 2 workers over the runner.
Prints one JSON line.
"""

from __future__ import annotations

import os
import sys
import time

import _harness as h
import httpx

N = int(os.environ.get("BENCH_N", "200"))
# which executors to measure: 1 and 2 workers, 0 = the serve runner (the anchor); e.g. BENCH_CONFIGS=2,0
CONFIGS = [int(c) for c in os.environ.get("BENCH_CONFIGS", "1,2,0").split(",")]


def runs_per_minute(name: str, workers: int) -> dict:
    from tests.utils.builders import document_data

    with (
        h.Up(name, workers=workers, postgres=True) as up,
        httpx.Client(base_url=up.api, headers=up.headers, timeout=90) as client,
    ):
        documents = [client.post("/api/v1/documents", json=document_data("ETP")).json() for _ in range(N)]
        started_at = time.perf_counter()
        runs = {}
        for document in documents:
            slug = document["fields"][0]["slug"]
            answer = client.post("/api/v1/etp/generate-field", json={"document_id": document["id"], "field": slug})
            answer.raise_for_status()
            runs[answer.json()["flow_run_id"]] = (document["id"], slug)
        sent = time.perf_counter() - started_at
        pending = set(runs)
        while pending:
            if time.perf_counter() - started_at > 1800:
                raise RuntimeError(f"{name}: {len(pending)} runs not finished after 30 min")
            for run_id in list(pending):
                state = client.get(f"/api/v1/flow-runs/{run_id}").json()["state"]
                if state in ("FAILED", "CRASHED", "CANCELLED"):
                    raise RuntimeError(f"{name}: run {run_id} ended {state}")
                if state == "COMPLETED":
                    pending.discard(run_id)
            time.sleep(0.5)
        elapsed = time.perf_counter() - started_at
        for run_id, (document_id, slug) in runs.items():  # the data is whole: each field written by its run
            field = next(
                f for f in client.get(f"/api/v1/documents/{document_id}").json()["fields"] if f["slug"] == slug
            )
            if field["flow_run_id"] != run_id or not field["content"]:
                raise RuntimeError(f"{name}: field {slug} of {document_id} not written by {run_id}")
    print(f"{name}: {N} runs in {elapsed:.1f} s (sent in {sent:.1f} s)", file=sys.stderr, flush=True)
    return {"runs_per_min": round(N / elapsed * 60, 1), "elapsed_s": round(elapsed, 1), "sent_s": round(sent, 1)}


def main() -> None:
    from core.settings import Settings
    from tests.servers.llm import FakeLLM

    llm = FakeLLM(port=h.LLM_PORT).start()
    names = {1: "throughput-1-worker", 2: "throughput-2-workers", 0: "throughput-serve"}
    try:
        figures = {workers: runs_per_minute(names[workers], workers) for workers in CONFIGS}
    finally:
        llm.stop()
        h.Processes().stop()  # removes the benchmark's home
    one, two, runner = figures.get(1), figures.get(2), figures.get(0)
    record = {
        "bench": "throughput",
        "unit": "flow runs per minute, 2 workers",
        "ours": two["runs_per_min"] if two else None,
        "anchor_name": "embedded serve runner, same PostgreSQL",
        "anchor": runner["runs_per_min"] if runner else None,
    }
    if two and runner:
        record["ratio"] = round(two["runs_per_min"] / runner["runs_per_min"], 2)
    if one and two:
        record["speed_up_2_over_1_worker"] = round(two["runs_per_min"] / one["runs_per_min"], 2)
    h.emit(
        {
            **record,
            "one_worker": one,
            "two_workers": two,
            "serve_runner": runner,
            "n": N,
            "flow_run_limit_per_executor": Settings().FLOW_RUN_LIMIT,
            "cores": os.cpu_count(),
        }
    )


if __name__ == "__main__":
    main()
