"""Price estimates through the API: the IN 65 mapa de preços alone before any model, training through the API and
the runner, the champion picked up by the running API without a restart, the batch form and refused input."""

from __future__ import annotations

import threading
import time

import pytest

pytestmark = pytest.mark.usefixtures("runner")
ITEM = {"codigo_catalogo": "456702", "descricao": "NOTEBOOK", "unidade": "UNIDADE", "quantidade": 20,
        "uf": "DF", "data": "2022-03-01"}


def _wait_for_version(client, version: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        health = client.get("/api/v1/health").json()
        if health["price_model"]["version"] == version or time.monotonic() > deadline:
            return health
        time.sleep(0.3)


def test_estimates_before_and_after_a_champion(client):
    from tasks.prices.registry import CHAMPION, MODEL_NAME, Registry

    registry = Registry()
    for alias in ("champion", "previous"):
        if registry.alias(alias):
            registry.client.delete_registered_model_alias(MODEL_NAME, alias)
    collected = client.post("/api/v1/pncp/collect", params={"wait": 240}, json={
        "start": "2020-01-01", "end": "2022-12-31", "modalidades": [6], "source": "amostra"})
    assert collected.status_code == 200 and collected.json()["state"] == "COMPLETED", collected.text
    # no champion yet: the mapa de preços alone, with the note
    time.sleep(1.5)
    first = client.post("/api/v1/prices/estimate", json=ITEM)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["estimativa"] is None and "IN 65/2021" in body["nota"]
    mapa = body["mapa_de_precos"]
    assert mapa["n"] >= 1 and all(p["numero_controle_pncp"] and p["link"] for p in mapa["precos"])
    # training through the API and the runner
    trained = client.post("/api/v1/models/price/train", params={"wait": 280}, json={"seed": 1})
    assert trained.status_code == 200 and trained.json()["state"] == "COMPLETED", trained.text
    result = trained.json()["result"]
    version = result["version"]
    if not result["promoted"]:  # the operator's override (as in the MLflow UI), so the swap is exercised anyway
        registry.client.set_registered_model_alias(MODEL_NAME, CHAMPION, version)
    # the running API picks up the champion by itself
    health = _wait_for_version(client, version)
    assert health["price_model"]["version"] == version and health["price_model"]["error"] is None
    second = client.post("/api/v1/prices/estimate", json=ITEM).json()
    estimate = second["estimativa"]
    assert estimate["versao"] == version and 0 < estimate["p10"] <= estimate["p50"] <= estimate["p90"]
    assert second["mapa_de_precos"]["n"] == mapa["n"]
    # batch: each item answered in order
    boxes = {**ITEM, "unidade": "CX C/ 10 UN", "quantidade": 2}
    batch = client.post("/api/v1/prices/estimate/batch", json={"itens": [ITEM, boxes]})
    assert batch.status_code == 200 and batch.json()["count"] == 2
    one, box = (row["estimativa"] for row in batch.json()["data"])
    assert box["p50"] == pytest.approx(one["p50"] * 10, rel=1e-3)  # 2 boxes of 10 are the same 20 units, priced by box
    listing = client.get("/api/v1/models/price").json()
    assert listing["in_use"]["version"] == version and any(v["version"] == version for v in listing["data"])
    # a new champion while apps keep asking: every request answered, by the old version then the new one
    newer = registry.client.create_model_version(MODEL_NAME, f"models:/{MODEL_NAME}/{version}").version
    answers, stop = [], threading.Event()

    def ask():
        while not stop.is_set():
            answer = client.post("/api/v1/prices/estimate", json=ITEM)
            answers.append((answer.status_code, (answer.json().get("estimativa") or {}).get("versao")))

    asker = threading.Thread(target=ask)
    asker.start()
    time.sleep(0.5)
    registry.client.set_registered_model_alias(MODEL_NAME, CHAMPION, newer)
    swapped = _wait_for_version(client, newer)
    time.sleep(0.5)
    stop.set()
    asker.join(timeout=30)
    assert swapped["price_model"]["version"] == newer
    assert answers and all(code == 200 for code, _ in answers)
    seen = [v for _, v in answers]
    assert seen[0] == version and seen[-1] == newer and set(seen) == {version, newer}


@pytest.mark.parametrize("body,needle", [
    ({"unidade": "UN"}, "descrição"),
    ({"descricao": "CADEIRA", "uf": "XYZ"}, "uf"),
    ({"descricao": "CADEIRA", "quantidade": -1}, "quantidade"),
    ({"descricao": "CADEIRA", "unidade": "???"}, "unidade de referência não reconhecida"),
])
def test_bad_estimate_requests_are_refused(client, body, needle):
    answer = client.post("/api/v1/prices/estimate", json=body)
    assert answer.status_code == 422 and needle in answer.text


def test_estimates_need_a_key(api_url):
    import httpx

    assert httpx.post(f"{api_url}/api/v1/prices/estimate", json=ITEM).status_code == 401


def test_model_cli_lists_versions_and_refuses_a_rollback_without_previous():
    from typer.testing import CliRunner

    from deployments.cli import app
    from tasks.prices.registry import MODEL_NAME, PREVIOUS, Registry

    registry = Registry()
    if registry.alias(PREVIOUS):
        registry.client.delete_registered_model_alias(MODEL_NAME, PREVIOUS)
    runner = CliRunner()
    listed = runner.invoke(app, ["model", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "preco-referencia" in listed.output and "MdAPE IN 65" in listed.output
    refused = runner.invoke(app, ["model", "rollback"], terminal_width=200)
    assert refused.exit_code == 1 and "não há versão anterior" in refused.output
