"""train-price-model: the reference-price model from the collected prices, judged against the IN 65 research,
registered in MLflow and promoted only when it is better.

The collected awarded prices are split in time (the most recent PRICE_MODEL_TEST_MONTHS are the test); LightGBM
learns P10/P50/P90 on the past; the model and the IN 65 baseline are scored on the same test rows; the run is
logged to MLflow (params, metrics, the dataset's hash and date range, the category encodings, a signature, a
feature-importance plot and a predicted-vs-actual plot) and registered as `preco-referencia`; the promotion gate
moves the `champion` alias. A table artifact on the flow run has both metric sets and the decision.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from core.settings import settings
from flows._identity import run_identity
from models.db import session_scope
from tasks import run_logger
from tasks.prices import market_data
from tasks.prices import model as price_model
from tasks.prices.registry import MODEL_NAME, Registry, signature


class TrainingRefused(RuntimeError):
    """Not enough data to train and judge a model; the message says what to do."""


@task(name="price-dataset", cache_policy=NO_CACHE, persist_result=False, retries=2, retry_delay_seconds=2)
def load_dataset() -> pl.DataFrame:
    with session_scope() as session:
        return market_data.training_frame(session)


@task(name="price-train", cache_policy=NO_CACHE, persist_result=False)
def fit(train: pl.DataFrame, seed: int) -> price_model.PriceModel:
    threads = settings.PRICE_MODEL_THREADS
    return price_model.train(train, params={"num_threads": threads} if threads else None, seed=seed)


@task(name="price-evaluate", cache_policy=NO_CACHE, persist_result=False)
def judge(model: price_model.PriceModel, test: pl.DataFrame, history: pl.DataFrame) -> dict[str, Any]:
    return {"model": price_model.evaluate(model, test, history), "baseline": price_model.baseline(test, history)}


def dataset_hash(frame: pl.DataFrame) -> str:
    ordered = frame.sort(frame.columns, nulls_last=True)
    return hashlib.sha256(ordered.write_csv().encode()).hexdigest()


def _plots(model: price_model.PriceModel, test: pl.DataFrame, history: pl.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    booster = model.boosters["p50"]
    gains = sorted(zip(booster.feature_name(), booster.feature_importance("gain"), strict=True),
                   key=lambda pair: pair[1])[-20:]
    importance, ax = plt.subplots(figsize=(7, 6))
    ax.barh([name for name, _ in gains], [value for _, value in gains])
    ax.set_title("Importância das variáveis (ganho, modelo P50)")
    importance.tight_layout()
    predicted = model.predict(test.drop("preco_unitario"), history)["p50"].to_list()
    scatter, ax = plt.subplots(figsize=(6, 6))
    actual = test["preco_unitario"].to_list()
    ax.scatter(actual, predicted, s=8, alpha=0.6)
    low, high = min(actual + predicted), max(actual + predicted)
    ax.plot([low, high], [low, high], color="grey", linewidth=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("preço homologado (R$)")
    ax.set_ylabel("P50 previsto (R$)")
    ax.set_title("Previsto × real (teste)")
    scatter.tight_layout()
    return importance, scatter


def _flat(prefix: str, report: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key in ("mdape", "mape", "coverage", "n"):
        if report["overall"].get(key) is not None:
            out[f"{prefix}_{key}"] = float(report["overall"][key])
    for kind, values in report.get("by_tipo", {}).items():
        if values.get("mdape") is not None:
            out[f"{prefix}_mdape_{kind}"] = float(values["mdape"])
    return out


@task(name="price-register", cache_policy=NO_CACHE, persist_result=False, retries=2, retry_delay_seconds=3)
def register(model: price_model.PriceModel, frame: pl.DataFrame, split: price_model.Split, scores: dict[str, Any],
             seed: int, flow_run_id: str | None) -> dict[str, Any]:
    import mlflow

    from tasks.prices.pyfunc import PricePyfunc

    registry = Registry()  # also makes it the process's MLflow tracking and registry
    same_rows = scores["model"]["on_baseline_rows"]
    metrics = {**_flat("model", scores["model"]), **_flat("baseline", scores["baseline"]),
               **{f"model_{k}_same_rows": float(v) for k, v in same_rows.items() if v is not None}}
    with tempfile.TemporaryDirectory(prefix="nexora-train-") as folder, \
            mlflow.start_run(experiment_id=registry.experiment_id(),
                             run_name=f"train-{split.cutoff:%Y%m%d}", tags={"flow_run_id": flow_run_id or ""}) as run:
        mlflow.log_params({**{k: v for k, v in model.params.items() if not isinstance(v, dict | list)}, "seed": seed,
                           "test_cutoff": split.cutoff.isoformat(), "train_rows": split.train.height,
                           "test_rows": split.test.height, "dropped_rows": split.dropped})
        mlflow.log_metrics(metrics)
        mlflow.set_tags({"dataset_sha256": dataset_hash(frame), "dataset_rows": str(frame.height),
                         "dataset_from": frame["data"].min().isoformat(),
                         "dataset_to": frame["data"].max().isoformat()})
        mlflow.log_dict(json.loads(model.encodings.to_json()), "encodings.json")
        mlflow.log_dict(scores, "metrics_report.json")
        importance, scatter = _plots(model, split.test, frame)
        mlflow.log_figure(importance, "feature_importance.png")
        mlflow.log_figure(scatter, "predicted_vs_actual.png")
        model_file, history_file = Path(folder) / "price_model.json", Path(folder) / "history.parquet"
        model_file.write_bytes(model.to_bytes())
        frame.write_parquet(history_file)
        info = mlflow.pyfunc.log_model(
            name="model", python_model=PricePyfunc(), signature=signature(), registered_model_name=MODEL_NAME,
            artifacts={"price_model": str(model_file), "history": str(history_file)},
            pip_requirements=["lightgbm", "polars", "mlflow"])
        run_id = run.info.run_id
    version = str(info.registered_model_version)
    registry.tag(version, mdape=same_rows.get("mdape"), baseline_mdape=scores["baseline"]["overall"].get("mdape"))
    return {"run_id": run_id, "version": version, "metrics": metrics, "run_url": run_url(registry, run_id)}


def run_url(registry: Registry, run_id: str) -> str:
    experiment = registry.experiment_id()
    if registry.uri.startswith(("http://", "https://")):
        return f"{registry.uri.rstrip('/')}/#/experiments/{experiment}/runs/{run_id}"
    return f"{registry.uri} (mlflow ui --backend-store-uri {registry.uri}) · experimento {experiment} · run {run_id}"


@flow(name="train-price-model", persist_result=True, result_serializer="json")
def train_price_model(test_months: int | None = None, seed: int = 0, promote: bool = True) -> dict[str, Any]:
    """Train on the collected prices, judge against IN 65 on the latest months, register, and promote if better."""
    run_id, _ = run_identity()
    test_months = test_months or settings.PRICE_MODEL_TEST_MONTHS
    frame = load_dataset()
    if frame.height < settings.PRICE_MODEL_MIN_ROWS:
        raise TrainingRefused(f"apenas {frame.height} preços homologados coletados (mínimo "
                              f"{settings.PRICE_MODEL_MIN_ROWS}): colete o PNCP antes (nexora pncp collect)")
    split = price_model.time_split(frame, test_months=test_months)
    if split.test.is_empty() or split.train.height < settings.PRICE_MODEL_MIN_ROWS // 2:
        raise TrainingRefused(f"divisão temporal inviável: {split.train.height} linhas de treino e "
                              f"{split.test.height} de teste a partir de {split.cutoff:%d/%m/%Y}; ajuste test_months")
    model = fit(split.train, seed)
    scores = judge(model, split.test, frame)
    logged = register(model, frame, split, scores, seed, run_id)
    same = scores["model"]["on_baseline_rows"]
    base = scores["baseline"]["overall"]
    decision = Registry().promote(logged["version"], same["mdape"], base["mdape"]) if promote else None
    overall = scores["model"]["overall"]
    table = [
        {"medida": "MdAPE (linhas com pesquisa IN 65)", "modelo": same["mdape"], "IN 65": base["mdape"]},
        {"medida": "MAPE (linhas com pesquisa IN 65)", "modelo": same["mape"], "IN 65": base["mape"]},
        {"medida": "cobertura P10–P90 (linhas com pesquisa IN 65)", "modelo": same["coverage"],
         "IN 65": base["coverage"]},
        {"medida": "linhas de teste precificadas", "modelo": overall["n"], "IN 65": base["n"]},
        {"medida": "MdAPE (todas as linhas de teste)", "modelo": overall["mdape"], "IN 65": None},
        {"medida": "cobertura P10–P90 (todas)", "modelo": overall["coverage"], "IN 65": None},
    ]
    summary = {"version": logged["version"], "mlflow_run_id": logged["run_id"], "mlflow_run": logged["run_url"],
               "promoted": bool(decision and decision.promoted),
               "decision": decision.reason if decision else "promoção não solicitada",
               "champion_before": decision.champion_before if decision else None,
               "train_rows": split.train.height, "test_rows": split.test.height,
               "cutoff": split.cutoff.isoformat(), "model_mdape": same["mdape"], "baseline_mdape": base["mdape"],
               "model_mdape_all_rows": overall["mdape"], "model_coverage": overall["coverage"]}
    create_table_artifact(key="price-model-training", table=table,
                          description=f"Modelo {MODEL_NAME} v{logged['version']}: "
                                      f"{'promovido a champion' if summary['promoted'] else 'não promovido'} — "
                                      f"{summary['decision']}. MLflow: {logged['run_url']}")
    run_logger().info("treino do modelo de preços: %s", summary)
    return summary
