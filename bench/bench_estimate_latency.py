"""Price estimate latency through the API for one item, with a warm champion: p50 and p99 over N requests.

Set-up (not timed): the embedded sample of real prices collected into a fresh database, train-price-model run
in-process against a Prefect server, its version made champion in the embedded MLflow store, the API started
in-process (uvicorn) and waited until it has loaded that version. Ours: `POST /api/v1/prices/estimate` over
loopback HTTP (the model's P10/P50/P90 and the IN 65 mapa de preços from the database), one request at a time.
Anchor, same run, same item: `mlflow.pyfunc.load_model("models:/preco-referencia@champion").predict(…)` — the
model alone, in-process, no HTTP and no mapa (what scoring with MLflow's own loader costs per call). Target: p99
under 20 ms. Prints one JSON line.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import date

import _harness as h

N = int(os.environ.get("BENCH_N", "300"))
ITEM = {
    "codigo_catalogo": "456702",
    "descricao": "NOTEBOOK, TELA SUPERIOR A 14 POLEGADAS",
    "unidade": "UNIDADE",
    "quantidade": 52,
    "uf": "DF",
    "data": "2022-06-30",
}


def main() -> None:
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # the embedded store under DATA_DIR/mlflow
    os.environ["PRICE_MODEL_REFRESH_SECONDS"] = "0.5"
    procs = h.Processes()
    server = None
    try:
        h.prepare_database()
        procs.prefect_server()
        import httpx
        import uvicorn

        from flows.collect_pncp import collect_pncp
        from flows.train_price_model import train_price_model
        from models.crud.apikeys import create_key
        from models.db import session_scope
        from tasks.prices.registry import CHAMPION, MODEL_NAME, Registry

        collect_pncp(start=date(2016, 1, 1), end=date(2022, 12, 31), modalidades=[6], source="amostra")
        trained = train_price_model(promote=False)
        registry = Registry()
        registry.client.set_registered_model_alias(MODEL_NAME, CHAMPION, trained["version"])
        with session_scope() as session:
            _, key = create_key(session, "bench", ["read"])
        port = h.free_port()
        server = uvicorn.Server(
            uvicorn.Config("deployments.api.app:app", host="127.0.0.1", port=port, log_level="warning")
        )
        threading.Thread(target=server.run, daemon=True).start()
        url = f"http://127.0.0.1:{port}"
        h.wait_http(f"{url}/api/v1/health", 60)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
            deadline = time.monotonic() + 120
            while client.get("/api/v1/health").json()["price_model"]["version"] != trained["version"]:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the API did not load the champion: {client.get('/api/v1/health').json()}")
                time.sleep(0.3)
            for _ in range(20):  # warm: connections, caches, the first polars plans
                client.post("/api/v1/prices/estimate", json=ITEM).raise_for_status()
            samples, answer = [], None
            for _ in range(N):
                started = time.perf_counter()
                answer = client.post("/api/v1/prices/estimate", json=ITEM)
                samples.append((time.perf_counter() - started) * 1000)
                answer.raise_for_status()
        body = answer.json()

        import mlflow.pyfunc
        import pandas as pd  # the anchor's input: what mlflow's pyfunc takes

        mlflow.set_tracking_uri(registry.uri)
        loaded = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@{CHAMPION}")
        frame = pd.DataFrame(
            [{**ITEM, "quantidade": float(ITEM["quantidade"]), "modalidade_id": 6, "material_ou_servico": "M"}]
        )
        for _ in range(20):
            loaded.predict(frame)
        anchor = []
        for _ in range(N):
            started = time.perf_counter()
            loaded.predict(frame)
            anchor.append((time.perf_counter() - started) * 1000)
        p99 = h.percentile(samples, 99)
        h.emit(
            {
                "bench": "estimate_latency",
                "unit": "ms per estimate (one item, p99)",
                "ours": round(p99, 2),
                "anchor_name": "mlflow.pyfunc.load_model(champion).predict, in-process, model only",
                "anchor": round(h.percentile(anchor, 99), 2),
                "ratio": round(h.percentile(anchor, 99) / p99, 2),
                "p50_ms": round(h.percentile(samples, 50), 2),
                "p99_ms": round(p99, 2),
                "anchor_p50_ms": round(h.percentile(anchor, 50), 2),
                "target_p99_ms": 20,
                "met": p99 < 20,
                "n": N,
                "model_version": trained["version"],
                "mapa_prices": body["mapa_de_precos"]["n"],
                "p50_estimate": body["estimativa"]["p50"],
            }
        )
    finally:
        if server is not None:
            server.should_exit = True
        procs.stop()


if __name__ == "__main__":
    main()
