"""train-price-model: the reference-price model from the collected prices, judged against the IN 65 research,
registered in MLflow and promoted only when it is better.

The collected awarded prices are split in time (the most recent PRICE_MODEL_TEST_MONTHS are the test); LightGBM
learns P10/P50/P90 on the past; the model and the IN 65 baseline are scored on the same test rows; the run is
logged to MLflow (params, metrics, the dataset's hash and date range, the category encodings, a signature, a
feature-importance plot and a predicted-vs-actual plot) and registered as `preco-referencia`; the promotion gate
moves the `champion` alias. A table artifact on the flow run has both metric sets and the decision.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.artifacts import create_table_artifact

from core.settings import settings
from flows._identity import run_identity
from tasks import run_logger
from tasks.prices import model as price_model
from tasks.prices.registry import MODEL_NAME, Registry
from tasks.prices.tasks import fit, judge, load_dataset, register


class TrainingRefused(RuntimeError):
    """Not enough data to train and judge a model; the message says what to do."""


@flow(name="train-price-model", persist_result=True, result_serializer="json")
def train_price_model(test_months: int | None = None, seed: int = 0, promote: bool = True) -> dict[str, Any]:
    """Train on the collected prices, judge against IN 65 on the latest months, register, and promote if better."""
    run_id, _ = run_identity()
    test_months = test_months or settings.PRICE_MODEL_TEST_MONTHS
    frame = load_dataset()
    if frame.height < settings.PRICE_MODEL_MIN_ROWS:
        raise TrainingRefused(
            f"apenas {frame.height} preços homologados coletados (mínimo "
            f"{settings.PRICE_MODEL_MIN_ROWS}): colete o PNCP antes (nexora pncp collect)"
        )
    split = price_model.time_split(frame, test_months=test_months)
    if split.test.is_empty() or split.train.height < settings.PRICE_MODEL_MIN_ROWS // 2:
        raise TrainingRefused(
            f"divisão temporal inviável: {split.train.height} linhas de treino e "
            f"{split.test.height} de teste a partir de {split.cutoff:%d/%m/%Y}; ajuste test_months"
        )
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
        {
            "medida": "cobertura P10–P90 (linhas com pesquisa IN 65)",
            "modelo": same["coverage"],
            "IN 65": base["coverage"],
        },
        {"medida": "linhas de teste precificadas", "modelo": overall["n"], "IN 65": base["n"]},
        {"medida": "MdAPE (todas as linhas de teste)", "modelo": overall["mdape"], "IN 65": None},
        {"medida": "cobertura P10–P90 (todas)", "modelo": overall["coverage"], "IN 65": None},
    ]
    summary = {
        "version": logged["version"],
        "mlflow_run_id": logged["run_id"],
        "mlflow_run": logged["run_url"],
        "promoted": bool(decision and decision.promoted),
        "decision": decision.reason if decision else "promoção não solicitada",
        "champion_before": decision.champion_before if decision else None,
        "train_rows": split.train.height,
        "test_rows": split.test.height,
        "cutoff": split.cutoff.isoformat(),
        "model_mdape": same["mdape"],
        "baseline_mdape": base["mdape"],
        "model_mdape_all_rows": overall["mdape"],
        "model_coverage": overall["coverage"],
    }
    create_table_artifact(
        key="price-model-training",
        table=table,
        description=f"Modelo {MODEL_NAME} v{logged['version']}: "
        f"{'promovido a champion' if summary['promoted'] else 'não promovido'} — "
        f"{summary['decision']}. MLflow: {logged['run_url']}",
    )
    run_logger().info("treino do modelo de preços: %s", summary)
    return summary
