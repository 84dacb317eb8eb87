"""Price estimates through the API: the IN 65 mapa de preços alone before any model, training through the API and
the runner, the champion picked up by the running API without a restart, the batch form and refused input."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from models import price_dates as dates
from models.db import session_scope
from tests.utils.builders import PLANNER, actor

pytestmark = pytest.mark.usefixtures("runner")
ITEM = {
    "codigo_catalogo": "456702",
    "descricao": "NOTEBOOK",
    "unidade": "UNIDADE",
    "quantidade": 20,
    "uf": "DF",
    "data": "2022-03-01",
}


def _wait_for_version(client, version: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        health = client.get("/api/v1/health").json()
        if health["price_model"]["version"] == version or time.monotonic() > deadline:
            return health
        time.sleep(0.3)


def _collected_span(url) -> tuple[date, date]:
    with session_scope(url) as session:
        first, last = session.exec(text("SELECT min(data_resultado), max(data_resultado) FROM pncp_resultados")).one()
    return date.fromisoformat(str(first)[:10]), date.fromisoformat(str(last)[:10])


@pytest.fixture(scope="module")
def collected(api_url, keys):
    """The embedded sample's 2020-2022 collected through the API (once more is a no-op: the checkpoints say so)."""
    import httpx

    with httpx.Client(
        base_url=api_url, headers={"Authorization": f"Bearer {keys['all']}", **actor(PLANNER)}, timeout=300
    ) as c:
        answer = c.post(
            "/api/v1/pncp/collect",
            params={"wait": 240},
            json={"start": "2020-01-01", "end": "2022-12-31", "modalidades": [6], "source": "amostra"},
        )
    assert answer.status_code == 200 and answer.json()["state"] == "COMPLETED", answer.text


@pytest.mark.usefixtures("collected")
def test_estimates_before_and_after_a_champion(client, sqlite_url):
    from tasks.prices.registry import CHAMPION, MODEL_NAME, Registry

    registry = Registry()
    for alias in ("champion", "previous"):
        if registry.alias(alias):
            registry.client.delete_registered_model_alias(MODEL_NAME, alias)
    # no champion yet: the mapa de preços alone, with the note
    time.sleep(1.5)
    first = client.post("/api/v1/prices/estimate", json=ITEM)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["estimativa"] is None and "IN 65/2021" in body["nota"]
    assert body["confiavel"] is True and body["motivo"] is None and body["alertas"] == []  # prices in the window
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
    assert second["confiavel"] is estimate["confiavel"] is True and estimate["motivo"] is None  # a reliable case
    # the finding's pen, today: no price, a date past the collected years; the model's figure given, marked unreliable
    pen = client.post("/api/v1/prices/estimate", json={"descricao": "CANETA ESFEROGRÁFICA AZUL", "unidade": "UN"})
    assert pen.status_code == 200, pen.text
    pen = pen.json()
    first_day, last_day = _collected_span(sqlite_url)
    assert pen["confiavel"] is False and {"sem_precos_na_janela", "fora_do_periodo_coletado"} <= set(pen["alertas"])
    assert f"fora do período dos preços coletados ({first_day:%d/%m/%Y} a {last_day:%d/%m/%Y})" in pen["motivo"]
    assert pen["estimativa"]["p50"] > 0 and pen["estimativa"]["confiavel"] is False
    assert pen["estimativa"]["motivo"] == pen["motivo"] and pen["item"]["data"] == dates.today().isoformat()
    assert pen["mapa_de_precos"]["periodo_dados"] == {"inicio": first_day.isoformat(), "fim": last_day.isoformat()}
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


@pytest.mark.parametrize(
    "body,needle",
    [
        ({"unidade": "UN"}, "descrição"),
        ({"descricao": "CADEIRA", "uf": "XYZ"}, "uf"),
        ({"descricao": "CADEIRA", "uf": "AA"}, "UF desconhecida"),  # two letters, but no UF (make fuzz)
        ({"descricao": "CADEIRA", "quantidade": -1}, "quantidade"),
        ({"descricao": "CADEIRA", "unidade": "???"}, "unidade de referência não reconhecida"),
        ({"descricao": "CADEIRA", "data": "0001-01-01"}, "data: 01/01/0001 é anterior a 01/07/1994, início do real"),
        ({"descricao": "CADEIRA", "data": "1994-06-30"}, "data: 30/06/1994 é anterior a 01/07/1994"),
        ({"descricao": "CADEIRA", "data": "2030-01-01"}, "data: 01/01/2030 é posterior a hoje"),
        ({"descricao": "CADEIRA", "data": (dates.today() + timedelta(days=1)).isoformat()}, "é posterior a hoje"),
    ],
)
def test_bad_estimate_requests_are_refused(client, body, needle):
    answer = client.post("/api/v1/prices/estimate", json=body)
    assert answer.status_code == 422 and needle in answer.json()["detail"], answer.text
    if "data" in body:
        assert "no formato AAAA-MM-DD" in answer.json()["detail"]


def test_reference_dates_are_checked_per_item_and_the_limits_are_valid(client):
    # a batch names the item's field as the API spells it
    batch = client.post(
        "/api/v1/prices/estimate/batch",
        json={"itens": [{"descricao": "CADEIRA"}, {"descricao": "CADEIRA", "data": "0001-01-01"}]},
    )
    assert batch.status_code == 422 and batch.json()["detail"].startswith("itens[1].data: 01/01/0001")
    # the first day of the real and today are valid reference dates
    for day in ("1994-07-01", dates.today().isoformat()):
        answer = client.post("/api/v1/prices/estimate", json={"descricao": "CADEIRA", "data": day})
        assert answer.status_code == 200 and answer.json()["item"]["data"] == day, answer.text


@pytest.mark.usefixtures("collected")
def test_the_mapa_says_which_filter_set_aside_what(client, sqlite_url):
    # given the sample collected (2020-2022) and a notebook code researched today: every price of the code is older
    with session_scope(sqlite_url) as session:
        of_code = session.exec(
            text(
                "SELECT count(*) FROM pncp_resultados r JOIN pncp_itens i ON i.numero_controle_pncp = "
                "r.numero_controle_pncp AND i.numero_item = r.numero_item WHERE i.codigo_catalogo = '456702' "
                "AND r.valor_unitario_homologado > 0"
            )
        ).one()[0]
    assert of_code > 0
    today = client.post("/api/v1/prices/estimate", json={**ITEM, "data": None}).json()
    filters = {f["filtro"]: f for f in today["mapa_de_precos"]["filtros"]}
    assert list(filters) == ["item", "preco", "janela", "unidade", "outliers"]
    assert filters["item"]["entrada"] == filters["janela"]["excluidos"] == of_code and today["mapa_de_precos"]["n"] == 0
    assert f"excluídos: {of_code} fora da janela" in today["mapa_de_precos"]["nota"] and today["confiavel"] is False
    # and a pen in 2022: no collected description is similar enough, so the search reads none of the window's prices
    # (other items'), and the note says that no price of the window has a similar description
    pen = client.post(
        "/api/v1/prices/estimate",
        json={"descricao": "CANETA ESFEROGRÁFICA AZUL", "unidade": "UN", "data": "2022-06-30"},
    ).json()
    item = pen["mapa_de_precos"]["filtros"][0]
    assert item["filtro"] == "item" and item["entrada"] == item["excluidos"] == 0 and pen["mapa_de_precos"]["n"] == 0
    assert "a busca lê apenas os que podem atingir a similaridade" in item["descricao"]
    assert "sem_precos_na_janela" in pen["alertas"] and (
        "Nenhum preço coletado com data entre 30/06/2021 e 30/06/2022 tem descrição semelhante à do item"
        in pen["mapa_de_precos"]["nota"]
    )


def test_estimates_need_a_key(api_url):
    import httpx

    assert httpx.post(f"{api_url}/api/v1/prices/estimate", json=ITEM).status_code == 401


def test_model_cli_lists_versions_and_refuses_a_rollback_without_previous():
    from typer.testing import CliRunner

    from deployments.cli.app import app
    from tasks.prices.registry import MODEL_NAME, PREVIOUS, Registry

    registry = Registry()
    if registry.alias(PREVIOUS):
        registry.client.delete_registered_model_alias(MODEL_NAME, PREVIOUS)
    runner = CliRunner()
    listed = runner.invoke(app, ["model", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "preco-referencia" in listed.output and "IN 65" in listed.output
    refused = runner.invoke(app, ["model", "rollback"], terminal_width=200)
    assert refused.exit_code == 1 and "não há versão anterior" in refused.output


@pytest.mark.usefixtures("collected")
def test_a_batch_reads_the_collected_prices_once_and_answers_as_one_by_one(client, sqlite_url):
    from sqlalchemy import event

    from models.db import get_engine

    # given items of several catalogue codes (one of them at two dates) and one description asked five times
    with session_scope(sqlite_url) as session:
        codes = [
            row[0]
            for row in session.exec(
                text(
                    "SELECT DISTINCT i.codigo_catalogo FROM pncp_itens i JOIN pncp_resultados r ON "
                    "r.numero_controle_pncp = i.numero_controle_pncp AND r.numero_item = i.numero_item "
                    "WHERE i.codigo_catalogo IS NOT NULL ORDER BY 1 LIMIT 6"
                )
            ).all()
        ]
    assert len(codes) == 6
    items = [{"codigo_catalogo": code, "descricao": "ITEM", "data": "2022-03-01"} for code in codes]
    items += [{**ITEM, "data": None}, ITEM] + [
        {"descricao": "NOTEBOOK", "unidade": "UNIDADE", "data": "2022-03-01"}
    ] * 5
    reads: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if "pncp_resultados" in statement:
            reads.append(statement)

    engine = get_engine(sqlite_url)  # the API in this process reads through it
    event.listen(engine, "before_cursor_execute", count)
    try:
        batch = client.post("/api/v1/prices/estimate/batch", json={"itens": items})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # then the batch read the collected prices in a few statements, not a few per item
    assert batch.status_code == 200 and batch.json()["count"] == len(items), batch.text
    assert len(reads) <= 5, reads
    # and each answer is the one the item gets alone
    for item, answer in zip(items, batch.json()["data"], strict=True):
        alone = client.post("/api/v1/prices/estimate", json=item).json()
        assert answer["mapa_de_precos"] == alone["mapa_de_precos"], item
    today = batch.json()["data"][6]["mapa_de_precos"]
    assert today["n"] == 0 and {f["filtro"]: f for f in today["filtros"]}["janela"]["excluidos"] > 0
