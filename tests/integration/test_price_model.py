"""train-price-model on the embedded sample of real prices, against the session's MLflow tracking server: what a
run logs and registers, the promotion gate, rollback, and the API's champion swapped in without a restart."""

from __future__ import annotations

import os
from datetime import date

import pytest
from sqlalchemy import text

from core.settings import settings
from deployments.api.champion import Champion
from flows.collect_pncp import collect_pncp
from flows.train_price_model import TrainingRefused, train_price_model
from models.db import session_scope
from tasks.prices.notes import AUXILIARY
from tasks.prices.registry import CHAMPION, MODEL_NAME, PREVIOUS, Registry

pytestmark = pytest.mark.usefixtures("prefect_server", "mlflow_server")
NOTEBOOK = {  # an item of the sample's 2022 notebooks, dated inside the collected years
    "descricao": "NOTEBOOK, TELA SUPERIOR A 14 POLEGADAS",
    "codigo_catalogo": "456702",
    "unidade": "UNIDADE",
    "quantidade": 52,
    "data_referencia": "2022-03-01",
}
TABLES = ("pncp_resultados", "pncp_itens", "pncp_contratacoes", "pncp_quarantine", "pncp_checkpoints")


def _empty(url):
    with session_scope(url) as s:
        for table in TABLES:
            s.exec(text(f"DELETE FROM {table}"))


@pytest.fixture(scope="module")
def trained(sqlite_url):
    """The sample's 2020–2022 collected, then one training run (the module's tests read what it left)."""
    _empty(sqlite_url)
    collect_pncp(start=date(2020, 1, 1), end=date(2022, 12, 31), modalidades=[6], source="amostra")
    summary = train_price_model()
    yield summary
    _empty(sqlite_url)


def test_training_is_refused_without_collected_prices(sqlite_url):
    # given no collected prices, when training runs, then it fails saying what to do
    _empty(sqlite_url)
    state = train_price_model(return_state=True)
    assert state.is_failed()
    with pytest.raises(TrainingRefused, match="colete o PNCP antes"):
        state.result()


def test_a_run_logs_metrics_dataset_plots_and_registers_a_version(trained):
    registry = Registry()
    version = registry.client.get_model_version(MODEL_NAME, trained["version"])
    run = registry.client.get_run(version.run_id)
    # both metric sets, on the same rows, and the model on every test row
    for key in (
        "model_mdape_same_rows",
        "model_mape_same_rows",
        "model_coverage_same_rows",
        "baseline_mdape",
        "baseline_mape",
        "baseline_coverage",
        "model_mdape",
        "model_coverage",
    ):
        assert key in run.data.metrics, key
    assert run.data.metrics["model_mdape_same_rows"] == pytest.approx(trained["model_mdape"])
    assert registry.metric(version) == pytest.approx(trained["model_mdape"], abs=1e-6)
    assert run.data.metrics["baseline_mdape"] == pytest.approx(trained["baseline_mdape"])
    # the dataset's hash and date range, the params, the artifacts
    tags = run.data.tags
    assert len(tags["dataset_sha256"]) == 64 and tags["dataset_from"] < tags["dataset_to"]
    assert int(tags["dataset_rows"]) == trained["train_rows"] + trained["test_rows"] + int(
        run.data.params["dropped_rows"]
    )
    assert run.data.params["test_cutoff"] == trained["cutoff"]
    names = {a.path for a in registry.client.list_artifacts(version.run_id)}
    assert {"encodings.json", "feature_importance.png", "predicted_vs_actual.png", "metrics_report.json"} <= names
    # the decision follows the gate: promoted iff it beats the baseline by the margin
    beats = trained["model_mdape"] < trained["baseline_mdape"] * (1 - settings.PRICE_MODEL_PROMOTION_MARGIN)
    champion = registry.alias(CHAMPION)
    assert trained["promoted"] is beats
    assert (champion is not None and champion.version == trained["version"]) is beats
    # the registered version loads into a model that prices an item from its own signature's inputs
    served = registry.load(trained["version"])
    from tasks.prices.serving import rows_frame

    rows, factors = rows_frame(
        [{"descricao": "MICROCOMPUTADOR", "unidade": "UNIDADE", "quantidade": 10, "uf": "DF", "data": "2022-06-01"}]
    )
    out = served.model.predict(rows, served.history)
    assert 0 < out["p10"][0] <= out["p50"][0] <= out["p90"][0]


def _version_with_mdape(registry: Registry, source_version: str, mdape: float) -> str:
    """A new registered version of the trained model tagged with ``mdape`` (a retraining with that result)."""
    version = registry.client.create_model_version(MODEL_NAME, f"models:/{MODEL_NAME}/{source_version}").version
    registry.tag(version, mdape=mdape)
    return version


def test_the_gate_promotes_only_a_better_model_and_rollback_swaps_back(trained):
    registry = Registry()
    for alias in (CHAMPION, PREVIOUS):
        if registry.alias(alias):
            registry.client.delete_registered_model_alias(MODEL_NAME, alias)
    first = _version_with_mdape(registry, trained["version"], 0.40)
    worse_than_baseline = registry.promote(first, 0.40, baseline_mdape=0.40)
    assert not worse_than_baseline.promoted and "IN 65" in worse_than_baseline.reason
    assert registry.promote(first, 0.40, baseline_mdape=0.60).promoted
    assert registry.alias(CHAMPION).version == first
    second = _version_with_mdape(registry, trained["version"], 0.395)  # better, but not by the 2% margin
    refused = registry.promote(second, 0.395, baseline_mdape=0.60)
    assert not refused.promoted and f"campeão v{first}" in refused.reason
    third = _version_with_mdape(registry, trained["version"], 0.30)
    assert registry.promote(third, 0.30, baseline_mdape=0.60).promoted
    assert (registry.alias(CHAMPION).version, registry.alias(PREVIOUS).version) == (third, first)
    assert registry.rollback() == (first, third)
    assert (registry.alias(CHAMPION).version, registry.alias(PREVIOUS).version) == (first, third)


def _store_with_versions(uri: str, name: str) -> None:
    """Four versions of ``name`` in the store at ``uri``: figures tagged, champion and previous set, one deleted."""
    registry = Registry(uri, name)
    client = registry.client
    client.create_registered_model(name)
    run = client.create_run(registry.experiment_id())
    versions = [
        client.create_model_version(name, f"{run.info.artifact_uri}/model", run_id=run.info.run_id).version
        for _ in range(4)
    ]
    registry.tag(versions[0], mdape=0.5, baseline_mdape=0.6)
    registry.tag(versions[2], mdape=0.31)
    client.set_registered_model_alias(name, CHAMPION, versions[2])
    client.set_registered_model_alias(name, PREVIOUS, versions[0])
    client.delete_model_version(name, versions[3])


@pytest.mark.parametrize("store", ["servidor", "sqlite"])
def test_model_list_reads_the_registry_as_mlflow_does_without_importing_it(store, tmp_path):
    # given a store (the session's tracking server, or an embedded SQLite store) with versions, tags and aliases
    from tasks.prices.registry_read import list_versions

    uri = settings.MLFLOW_TRACKING_URI if store == "servidor" else f"sqlite:///{tmp_path / 'mlflow.db'}"
    name = f"lista-{tmp_path.name}"
    assert list_versions(uri, name) == []  # nothing registered under that name yet
    _store_with_versions(uri, name)
    # when `nexora model list` reads it directly, then it reads what MLflow's client reads
    listed = list_versions(uri, name)
    assert listed == Registry(uri, name).versions()
    assert [(v["version"], v["aliases"], v["mdape"], v["baseline_mdape"]) for v in listed] == [
        ("3", [CHAMPION], 0.31, None),
        ("2", [], None, None),
        ("1", [PREVIOUS], 0.5, 0.6),
    ]
    assert list_versions(f"sqlite:///{tmp_path / 'nenhum.db'}", name) == []


def test_nexora_model_list_imports_neither_mlflow_nor_the_model(tmp_path):
    # given an embedded store with a champion, when `nexora model list` runs in a process of its own
    import subprocess
    import sys

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    _store_with_versions(uri, MODEL_NAME)
    probe = (
        "import sys; from typer.testing import CliRunner; from deployments.cli.app import app; "
        "r = CliRunner().invoke(app, ['model', 'list'], terminal_width=80); print(r.output); "
        "print(sorted(m for m in ('mlflow', 'polars', 'lightgbm') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "MLFLOW_TRACKING_URI": uri},
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then it lists the versions and loaded none of the heavy packages
    assert done.returncode == 0, done.stderr
    assert "champion" in done.stdout and "0.310" in done.stdout, done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_the_api_holder_swaps_in_a_new_champion_and_keeps_it_when_a_version_is_broken(trained):
    registry = Registry()
    holder = Champion()
    registry.client.set_registered_model_alias(MODEL_NAME, CHAMPION, trained["version"])
    assert holder.refresh() and holder.current().version == trained["version"]
    assert not holder.refresh()  # same champion: nothing reloaded
    # a new champion is loaded, warmed up and swapped in
    newer = _version_with_mdape(registry, trained["version"], 0.1)
    registry.client.set_registered_model_alias(MODEL_NAME, CHAMPION, newer)
    assert holder.refresh() and holder.current().version == newer
    # a champion whose artifacts are gone: the version in use stays, the error is shown
    run = registry.client.create_run(registry.experiment_id())
    registry.client.log_text(run.info.run_id, "sem modelo", "vazio/leia-me.txt")
    broken = registry.client.create_model_version(
        MODEL_NAME, f"{run.info.artifact_uri}/vazio", run_id=run.info.run_id
    ).version
    registry.client.set_registered_model_alias(MODEL_NAME, CHAMPION, broken)
    assert not holder.refresh()
    assert holder.current().version == newer and holder.status()["error"]
    # the alias withdrawn (a bad model pulled back in the MLflow UI): no model answers any more
    registry.client.delete_registered_model_alias(MODEL_NAME, CHAMPION)
    assert holder.refresh() and holder.current() is None and holder.status()["version"] is None
    registry.client.set_registered_model_alias(MODEL_NAME, CHAMPION, trained["version"])


def test_drafting_uses_the_mapa_the_estimate_and_similar_purchases_when_the_document_lists_items(
    trained, sqlite_url, monkeypatch
):
    from models import price_dates
    from tasks.llm.prompts import build_messages, offline_draft
    from tasks.prices import market_data, tables
    from tasks.prices.estimates import predictions
    from tasks.prices.outliers import brl
    from tasks.records.tasks import load_drafting_contexts
    from tasks.render import markup
    from tests.utils.builders import PLANNER, make_document

    monkeypatch.setattr(settings, "DATABASE_URL", sqlite_url)
    registry = Registry()
    registry.client.set_registered_model_alias(MODEL_NAME, CHAMPION, trained["version"])
    item = NOTEBOOK
    pen_item = {"descricao": "CANETA ESFEROGRÁFICA AZUL", "unidade": "UN"}  # the finding's item: dated today by default
    with_items = make_document(sqlite_url, itens=[item, pen_item])
    without = make_document(sqlite_url)
    contexts = {
        c.section["slug"]: c
        for c in load_drafting_contexts.fn(
            with_items, ["estimativa_valor", "levantamento_mercado", "descricao_necessidade"], requested_by=PLANNER
        )
    }
    # element VI: the quadro-resumo and the mapa de preços as tables (each price's source by control number), the
    # result by the mediana and the champion's estimate
    price = contexts["estimativa_valor"].market_notes
    assert price.startswith("Prévia: a pesquisa de preços deste documento ainda não foi finalizada")  # said so
    found = {
        tuple(markup.plain(cell) for cell in block.header): block
        for block in markup.parse(price)
        if isinstance(block, markup.Table)
    }
    assert tables.SUMMARY_HEADER in found and tables.PRICE_HEADER in found
    sources = [markup.plain(row[0]) for row in found[tables.PRICE_HEADER].rows]
    assert sources and all("-1-" in source for source in sources)  # numeroControlePNCP of every price
    assert "IN SEGES/ME nº 65/2021" in price and "Mediana (preço de referência)" in price
    notebook, pen = price.split("## Item 2 — ")
    assert f"Estimativa do modelo preco-referencia v{trained['version']} ({AUXILIARY}):" in notebook and pen.startswith(
        "CANETA"
    )
    # the pen: no price in the window, today outside the collected years, so the model's figure is never written
    served = registry.load(trained["version"])
    figure = predictions(served, [{**pen_item, "data": price_dates.today()}])[0]
    assert "Estimativa do modelo" not in pen and brl(figure["p50"]) not in pen
    with session_scope(sqlite_url) as session:
        first, last = (day.strftime("%d/%m/%Y") for day in market_data.collected_span(session))
    assert f"v{trained['version']} não pôde estimar este item com confiança" in pen
    assert f"fora do período dos preços coletados ({first} a {last})" in pen
    assert f"os preços coletados vão de {first} a {last}" in pen  # the mapa's own note says why it is empty
    # element V: similar contratações of the collected data as a table, notebooks only; other sections get none
    similar = contexts["levantamento_mercado"].market_notes
    assert similar.startswith("# Contratações similares") and "TELA PROJE" not in similar
    (listed,) = [block for block in markup.parse(similar) if isinstance(block, markup.Table)]
    assert len(listed.rows) >= 5 and all(markup.plain(row[2]).startswith("NOTEBOOK") for row in listed.rows)
    assert contexts["descricao_necessidade"].market_notes is None
    # what the writer sees (the tables as data, to be appended as they are) and what the offline draft holds
    prompt = build_messages(contexts["estimativa_valor"])[1]["content"]
    assert "Dados de mercado (coletados de contratações publicadas): <dados>\nPrévia: a pesquisa de preços" in prompt
    assert "\n# Quadro-resumo da estimativa" in prompt
    assert offline_draft(contexts["estimativa_valor"]).endswith(price)
    # a document without items: the writer is told to mark what the research must bring
    plain = load_drafting_contexts.fn(without, ["estimativa_valor"], requested_by=PLANNER)[0]
    assert plain.market_notes is None and "[PREENCHER" in build_messages(plain)[1]["content"]


def test_a_registry_loads_its_own_versions_whatever_the_process_default_store(trained, tmp_path):
    # given a process whose MLflow default store is elsewhere (the embedded default has no variable naming it)
    import mlflow

    elsewhere = f"sqlite:///{tmp_path / 'outro.db'}"
    mlflow.set_tracking_uri(elsewhere)
    mlflow.set_registry_uri(elsewhere)
    # when the registry loads a version, then it is the version of its own store
    served = Registry().load(trained["version"])
    assert served.version == trained["version"] and served.history.frame.height > 0


def test_a_sigiloso_estimate_is_drafted_inside_the_body_and_public_sections_never_state_it(
    trained, sqlite_url, monkeypatch
):
    """Art. 24: given a sigiloso ETP that lists items, when it is drafted with a provider outside the body's network,
    then element VI is assembled from the stored research without any model, element V lists the similar
    contratações without their prices, the public sections' prompts say the estimate is classified, and a public
    draft stating one of the estimate's values is refused."""
    from decimal import Decimal

    from models.rules import unfinished_marks
    from tasks.llm.prompts import ASSEMBLED_MARK, SIGILO_NOTE, build_messages
    from tasks.llm.tasks import ASSEMBLED_MODEL, GeneratedTextRefused, draft_section
    from tasks.prices import tables
    from tasks.records.tasks import load_drafting_contexts
    from tests.utils.builders import PLANNER, make_document

    monkeypatch.setattr(settings, "DATABASE_URL", sqlite_url)
    item = NOTEBOOK
    secret = make_document(
        sqlite_url,
        itens=[item],
        orcamento_sigiloso=True,
        orcamento_sigiloso_justificativa="Mercado concentrado: o sigilo evita propostas ancoradas na estimativa.",
    )
    slugs = ["estimativa_valor", "levantamento_mercado", "descricao_necessidade"]
    contexts = {c.section["slug"]: c for c in load_drafting_contexts.fn(secret, slugs, requested_by=PLANNER)}
    estimate, similar, public = (contexts[s] for s in slugs)
    assert estimate.protected and estimate.secret_figures == ()
    # element V: the contratações, not their prices (those are the estimate's basis)
    assert tables.SIMILAR_WITHOUT_PRICES in similar.market_notes and "R$" not in similar.market_notes
    assert "NOTEBOOK" in similar.market_notes
    # the public sections know the values they must not state: the mapa's média, mediana, menor valor and total
    figures = {Decimal(f) for f in public.secret_figures}
    assert len(figures) >= 4 and figures == {Decimal(f) for f in similar.secret_figures}
    assert SIGILO_NOTE in build_messages(public)[1]["content"]
    assert SIGILO_NOTE not in build_messages(estimate)[1]["content"]
    # a provider outside the body's network never sees the estimate: VI is assembled (the test's base URL is a
    # closed port: a call would fail the draft)
    outside = {"provider": "llm", "model": "gpt-x", "base_url": "http://127.0.0.1:9/v1", "max_tokens": 10}
    drafted = draft_section.fn(estimate, {**outside, "internal": False})
    assert drafted["model"] == ASSEMBLED_MODEL and drafted["source"] == "offline" and drafted["tokens_in"] == 0
    assert drafted["content"].endswith(estimate.market_notes) and ASSEMBLED_MARK in drafted["content"]
    assert unfinished_marks(drafted["content"])  # the person completes it before approval
    # a public draft that states a value of the estimate is refused, without repeating the value
    mediana = max(figures)
    leak = f"{mediana:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    leaking = type(public)(**{**public.__dict__, "context": f"Valor estimado total de R$ {leak}."})
    with pytest.raises(GeneratedTextRefused, match="revela 1 valor") as refused:
        draft_section.fn(leaking, {"provider": "offline", "model": "offline-template-v1"})
    assert leak not in str(refused.value)
    # the same public text for a document whose estimate is not sigiloso is drafted as usual
    assert draft_section.fn(
        type(public)(**{**leaking.__dict__, "sigilo": False, "secret_figures": ()}),
        {"provider": "offline", "model": "offline-template-v1"},
    )["content"]
