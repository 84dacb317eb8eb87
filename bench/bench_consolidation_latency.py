"""Latency a user feels: POST /consolidate → both artifacts registered, on the embedded stack.

The stack is the one `make up` starts (Prefect server on SQLite, the `serve` runner, the API), with
our runner polling (RUNNER_POLL_SECONDS=0.5). Anchor, same run: the same stack with Prefect's default
polling (10 s). Each sample: an approved ETP, the POST, then the artifact list polled every 100 ms until
the DOCX and the PDF are registered; the next sample starts when that run has finished. Also reported:
the same samples back to back (the next POST as soon as the artifacts appear, while the previous run is
still closing). Target: p50 under 4 s. Prints one JSON line.
"""

from __future__ import annotations

import os
import sys
import time

import _harness as h
import httpx

N, N_ANCHOR = int(os.environ.get("BENCH_N", "20")), int(os.environ.get("BENCH_N_ANCHOR", "6"))


def measure(poll_seconds: str, n: int, key_name: str, settle: bool = True) -> list[float]:
    """Seconds from the POST to both artifacts registered, per sample. With ``settle``, each sample starts once
    the previous run has finished (a user alone on the stack); without it, the next POST goes out the moment the
    previous artifacts appear, while that run is still closing (its last writes contend with the new run's)."""
    from core.settings import Settings
    from deployments.catalog import DEPLOYMENTS
    from deployments.operations.stack import Stack
    from models.db import session_scope
    from tests.utils.builders import PLANNER, approve_document, make_document, make_key, seed_people

    settings = Settings()
    url = settings.database_url
    stack = Stack(settings, extra_env={"RUNNER_POLL_SECONDS": poll_seconds})
    try:
        stack.start([spec.full_name for spec in DEPLOYMENTS])
        key = make_key(url, ["read", "write", "run"], name=key_name)
        with session_scope(url) as session:
            seed_people(session)
        samples = []
        headers = {"Authorization": f"Bearer {key}", "X-Actor": PLANNER}
        with httpx.Client(base_url=stack.api_url, headers=headers, timeout=60) as client:
            for _ in range(n + 1):  # the first run warms the runner; not counted
                doc = make_document(url)
                approve_document(url, doc)
                started = time.perf_counter()
                accepted = client.post(f"/api/v1/documents/{doc}/consolidate")
                accepted.raise_for_status()
                while len(client.get(f"/api/v1/documents/{doc}/artifacts").json()) < 2:
                    if time.perf_counter() - started > 120:
                        raise RuntimeError(f"consolidation of {doc} took over 120 s")
                    time.sleep(0.1)
                samples.append(time.perf_counter() - started)
                print(f"{key_name}: {samples[-1]:.2f} s", file=sys.stderr, flush=True)
                if settle:
                    run = accepted.json()["flow_run_id"]
                    client.get(f"/api/v1/flow-runs/{run}", params={"wait": 30}).raise_for_status()
        return samples[1:]
    finally:
        stack.stop()


def main() -> None:
    os.environ["PREFECT_PORT"], os.environ["API_PORT"] = str(h.PREFECT_PORT), str(h.free_port())
    procs = h.Processes()
    try:
        h.prepare_database()
        ours = measure("0.5", N, "bench-ours")
        back_to_back = measure("0.5", N, "bench-back-to-back", settle=False)
        anchor = measure("10", N_ANCHOR, "bench-anchor")
        p50, anchor_p50 = h.percentile(ours, 50), h.percentile(anchor, 50)
        h.emit(
            {
                "bench": "consolidation_latency",
                "unit": "s p50 POST → artifacts registered",
                "ours": round(p50, 2),
                "anchor_name": "same stack, Prefect default runner polling (10 s)",
                "anchor": round(anchor_p50, 2),
                "ratio": round(anchor_p50 / p50, 2),
                "p95_s": round(h.percentile(ours, 95), 2),
                "min_s": round(min(ours), 2),
                "max_s": round(max(ours), 2),
                "anchor_p95_s": round(h.percentile(anchor, 95), 2),
                "back_to_back_p50_s": round(h.percentile(back_to_back, 50), 2),
                "back_to_back_p95_s": round(h.percentile(back_to_back, 95), 2),
                "n": N,
                "n_anchor": N_ANCHOR,
                "prefect_db": "sqlite",
            }
        )
    finally:
        procs.stop()


if __name__ == "__main__":
    main()
