"""API trigger latency: 2,000 generate-field triggers from 20 concurrent clients against the stack.

Stack: a Prefect server and the API under uvicorn, each in its own process; deployments registered,
no runner polling, so every accepted trigger stays a scheduled flow run that can be counted
(Prefect's late-runs service is off for that reason). Ours: POST /api/v1/etp/generate-field (auth,
document checks, run creation with an Idempotency-Key) -> 202. Anchor, same run, same concurrency:
Prefect's own client creating a flow run from the deployment (create_flow_run_from_deployment from
20 coroutines), i.e. what an app would call without our API. Then 200 repeats with already-used keys
must create no run. BENCH_PREFECT_DB=postgresql runs the Prefect server on PostgreSQL (production
shape) instead of SQLite (embedded mode). Target: p99 under 150 ms. Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid

import _harness as h

from tests.utils.builders import PLANNER

N = int(os.environ.get("BENCH_N", "2000"))
CLIENTS, REPEATS = 20, 200
PREFECT_DB = os.environ.get("BENCH_PREFECT_DB", "sqlite")


async def fire(requests: list[tuple[str, dict, dict]], client) -> list[tuple[float, int]]:
    import httpx

    queue: asyncio.Queue = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    results: list[tuple[float, int]] = []

    async def worker():
        while not queue.empty():
            url, body, headers = queue.get_nowait()
            started = time.perf_counter()
            try:
                status = (await client.post(url, json=body, headers=headers)).status_code
            except httpx.TimeoutException:
                status = 0  # no answer within the client's timeout: counted, not fatal
            results.append((time.perf_counter() - started, status))

    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return results


async def count_runs(client, api: str, tag: str) -> int:
    response = await client.post(f"{api}/flow_runs/count", json={"flow_runs": {"tags": {"all_": [tag]}}})
    return int(response.json())


async def run(api_url: str, key: str, doc: str, prefect_api: str, deployment_id: str) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        headers = {"Authorization": f"Bearer {key}", "X-Actor": PLANNER}
        body = {"document_id": doc, "field": "descricao_necessidade"}
        warm = [
            (f"{api_url}/api/v1/etp/generate-field", body, {**headers, "Idempotency-Key": f"warm-{i}"})
            for i in range(40)
        ]
        await fire(warm, client)
        keys = [f"bench-{uuid.uuid4()}" for _ in range(N)]
        trace = f"bench{uuid.uuid4().hex[:8]}"
        ours_requests = [
            (f"{api_url}/api/v1/etp/generate-field", body, {**headers, "Idempotency-Key": k, "X-Request-ID": trace})
            for k in keys
        ]
        started = time.perf_counter()
        ours = await fire(ours_requests, client)
        ours_wall = time.perf_counter() - started
        created = await count_runs(client, prefect_api, f"trace:{trace}")
        repeats = await fire(ours_requests[:REPEATS], client)
        after_repeats = await count_runs(client, prefect_api, f"trace:{trace}")

    from prefect.client.orchestration import get_client

    async with get_client() as prefect:  # the anchor: Prefect's own client, with its retries on 503
        anchor_tag = f"anchor{uuid.uuid4().hex[:8]}"
        queue: asyncio.Queue = asyncio.Queue()
        for _ in range(N):
            queue.put_nowait(str(uuid.uuid4()))
        anchor: list[tuple[float, int]] = []

        async def worker():
            while not queue.empty():
                key = queue.get_nowait()
                started = time.perf_counter()
                await prefect.create_flow_run_from_deployment(
                    deployment_id,
                    parameters={"document_id": doc, "slug": "descricao_necessidade", "requested_by": PLANNER},
                    tags=[anchor_tag],
                    idempotency_key=key,
                )
                anchor.append((time.perf_counter() - started, 201))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        anchor_wall = time.perf_counter() - started
    async with httpx.AsyncClient(timeout=60) as client:
        anchor_created = await count_runs(client, prefect_api, anchor_tag)
    return {
        "ours": ours,
        "ours_wall": ours_wall,
        "created": created,
        "after_repeats": after_repeats,
        "repeats": repeats,
        "anchor": anchor,
        "anchor_wall": anchor_wall,
        "anchor_created": anchor_created,
    }


def main() -> None:
    # No runner polls in this benchmark, so Prefect's late-runs service would rewrite every waiting
    # run as "Late" while triggers arrive; that is not part of the trigger path, so it is off here.
    os.environ["PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED"] = "false"
    procs = h.Processes()
    try:
        procs.prefect_server(PREFECT_DB)
        h.prepare_database()
        from core.settings import settings
        from deployments.catalog import DEPLOYMENTS, GENERATE_FIELD
        from deployments.runner import to_deployment
        from tests.utils.builders import make_document, make_key

        ids = {spec.flow_name: str(to_deployment(spec).apply()) for spec in DEPLOYMENTS}
        doc = str(make_document(settings.database_url))
        key = make_key(settings.database_url, ["read", "write", "run"], name="bench")
        port = h.free_port()
        procs.start(
            "api",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "deployments.api.app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
        )
        api_url = f"http://127.0.0.1:{port}"
        h.wait_http(f"{api_url}/api/v1/health")
        r = asyncio.run(run(api_url, key, doc, f"http://127.0.0.1:{h.PREFECT_PORT}/api", ids[GENERATE_FIELD.flow_name]))
        lat = [t * 1000 for t, _ in r["ours"]]
        anchor_lat = [t * 1000 for t, _ in r["anchor"]]
        statuses = sorted({s for _, s in r["ours"]})
        repeat_statuses = sorted({s for _, s in r["repeats"]})
        h.emit(
            {
                "bench": "api_triggers",
                "unit": "ms p99 per 202",
                "ours": round(h.percentile(lat, 99), 1),
                "anchor_name": "prefect client create_flow_run_from_deployment",
                "anchor": round(h.percentile(anchor_lat, 99), 1),
                "ratio": round(h.percentile(anchor_lat, 99) / h.percentile(lat, 99), 3),
                "p50_ms": round(h.percentile(lat, 50), 1),
                "p99_ms": round(h.percentile(lat, 99), 1),
                "anchor_p50_ms": round(h.percentile(anchor_lat, 50), 1),
                "triggers_per_s": round(N / r["ours_wall"], 1),
                "anchor_per_s": round(N / r["anchor_wall"], 1),
                "statuses": statuses,
                "flow_runs_created": r["created"],
                "lost": N - r["created"],
                "after_repeats": r["after_repeats"],
                "duplicates": r["after_repeats"] - N,
                "repeat_statuses": repeat_statuses,
                "anchor_created": r["anchor_created"],
                "n": N,
                "clients": CLIENTS,
                "prefect_db": PREFECT_DB,
            }
        )
    finally:
        procs.stop()


if __name__ == "__main__":
    main()
