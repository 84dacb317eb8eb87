"""What a training run logs besides the model: the dataset's hash, the metrics flattened for MLflow, two plots, and
where to see the run."""

from __future__ import annotations

import hashlib
from typing import Any

import polars as pl

from tasks.prices import model as price_model
from tasks.prices.registry import Registry


def dataset_hash(frame: pl.DataFrame) -> str:
    ordered = frame.sort(frame.columns, nulls_last=True)
    return hashlib.sha256(ordered.write_csv().encode()).hexdigest()


def training_plots(model: price_model.PriceModel, test: pl.DataFrame, history: pl.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    booster = model.boosters["p50"]
    gains = sorted(
        zip(booster.feature_name(), booster.feature_importance("gain"), strict=True), key=lambda pair: pair[1]
    )[-20:]
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


def flat_metrics(prefix: str, report: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key in ("mdape", "mape", "coverage", "n"):
        if report["overall"].get(key) is not None:
            out[f"{prefix}_{key}"] = float(report["overall"][key])
    for kind, values in report.get("by_tipo", {}).items():
        if values.get("mdape") is not None:
            out[f"{prefix}_mdape_{kind}"] = float(values["mdape"])
    return out


def run_url(registry: Registry, run_id: str) -> str:
    experiment = registry.experiment_id()
    if registry.uri.startswith(("http://", "https://")):
        return f"{registry.uri.rstrip('/')}/#/experiments/{experiment}/runs/{run_id}"
    return f"{registry.uri} (mlflow ui --backend-store-uri {registry.uri}) · experimento {experiment} · run {run_id}"
