"""Tasks of train-price-model: read the dataset, fit LightGBM, score it against the IN 65 baseline, and log and
register the run in MLflow."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE

from core.settings import settings
from models.db import session_scope
from tasks.prices import market_data
from tasks.prices import model as price_model
from tasks.prices.registry import MODEL_NAME, Registry, signature
from tasks.prices.training import dataset_hash, flat_metrics, run_url, training_plots


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


@task(name="price-register", cache_policy=NO_CACHE, persist_result=False, retries=2, retry_delay_seconds=3)
def register(
    model: price_model.PriceModel,
    frame: pl.DataFrame,
    split: price_model.Split,
    scores: dict[str, Any],
    seed: int,
    flow_run_id: str | None,
) -> dict[str, Any]:
    import mlflow

    from tasks.prices.pyfunc import PricePyfunc

    registry = Registry()  # also makes it the process's MLflow tracking and registry
    same_rows = scores["model"]["on_baseline_rows"]
    metrics = {
        **flat_metrics("model", scores["model"]),
        **flat_metrics("baseline", scores["baseline"]),
        **{f"model_{k}_same_rows": float(v) for k, v in same_rows.items() if v is not None},
    }
    with (
        tempfile.TemporaryDirectory(prefix="nexora-train-") as folder,
        mlflow.start_run(
            experiment_id=registry.experiment_id(),
            run_name=f"train-{split.cutoff:%Y%m%d}",
            tags={"flow_run_id": flow_run_id or ""},
        ) as run,
    ):
        mlflow.log_params(
            {
                **{k: v for k, v in model.params.items() if not isinstance(v, dict | list)},
                **{f"interval_margin_level_{k}": v for k, v in model.params.get("interval_margins", {}).items()},
                "seed": seed,
                "test_cutoff": split.cutoff.isoformat(),
                "train_rows": split.train.height,
                "test_rows": split.test.height,
                "dropped_rows": split.dropped,
            }
        )
        mlflow.log_metrics(metrics)
        mlflow.set_tags(
            {
                "dataset_sha256": dataset_hash(frame),
                "dataset_rows": str(frame.height),
                "dataset_from": frame["data"].min().isoformat(),
                "dataset_to": frame["data"].max().isoformat(),
            }
        )
        mlflow.log_dict(json.loads(model.encodings.to_json()), "encodings.json")
        mlflow.log_dict(scores, "metrics_report.json")
        importance, scatter = training_plots(model, split.test, frame)
        mlflow.log_figure(importance, "feature_importance.png")
        mlflow.log_figure(scatter, "predicted_vs_actual.png")
        model_file, history_file = Path(folder) / "price_model.json", Path(folder) / "history.parquet"
        model_file.write_bytes(model.to_bytes())
        frame.write_parquet(history_file)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=PricePyfunc(),
            signature=signature(),
            registered_model_name=MODEL_NAME,
            artifacts={"price_model": str(model_file), "history": str(history_file)},
            pip_requirements=["lightgbm", "polars", "mlflow"],
        )
        run_id = run.info.run_id
    version = str(info.registered_model_version)
    registry.tag(version, mdape=same_rows.get("mdape"), baseline_mdape=scores["baseline"]["overall"].get("mdape"))
    return {"run_id": run_id, "version": version, "metrics": metrics, "run_url": run_url(registry, run_id)}
