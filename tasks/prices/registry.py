"""The price model's MLflow side: where the store is, logging a trained model, the promotion gate, rollback, loading.

Embedded default: a local MLflow store under the data folder (``DATA_DIR/mlflow``: a SQLite backend and an
artifact folder); production: ``MLFLOW_TRACKING_URI`` to a tracking server. One experiment per model name; the
registered model is ``preco-referencia``. A new version becomes ``champion`` only if its MdAPE beats the IN 65
baseline's and the current champion's by ``PRICE_MODEL_PROMOTION_MARGIN`` (relative); the old champion becomes
``previous``; ``rollback`` swaps the two aliases back.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.settings import settings

if TYPE_CHECKING:  # polars and LightGBM load only where a model is built: `nexora model list` needs neither
    from tasks.prices.history import HistoryIndex
    from tasks.prices.model import PriceModel

MODEL_NAME = "preco-referencia"
CHAMPION, PREVIOUS = "champion", "previous"
INPUTS = (
    ("data", "string"),
    ("codigo_catalogo", "string"),
    ("descricao", "string"),
    ("unidade", "string"),
    ("quantidade", "double"),
    ("uf", "string"),
    ("modalidade_id", "long"),
    ("material_ou_servico", "string"),
)


def tracking_uri() -> str:
    if settings.MLFLOW_TRACKING_URI:
        return settings.MLFLOW_TRACKING_URI
    folder = (settings.DATA_DIR / "mlflow").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def artifact_location(name: str) -> str | None:
    """Where a new experiment keeps its artifacts: beside the embedded store; the server's default otherwise."""
    if settings.MLFLOW_TRACKING_URI:
        return None
    return (settings.DATA_DIR / "mlflow" / "artifacts" / name).resolve().as_uri()


@dataclass
class Decision:
    promoted: bool
    reason: str
    version: str
    champion_before: str | None
    champion_mdape: float | None


@dataclass
class Served:
    """A registered version ready to answer: the model and the prices its history features look back on."""

    version: str
    run_id: str | None
    model: PriceModel
    history: HistoryIndex


class Registry:
    def __init__(self, uri: str | None = None, name: str = MODEL_NAME):
        import mlflow
        from mlflow import MlflowClient

        self.uri, self.name = uri or tracking_uri(), name
        self.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        # `models:/` URIs are resolved through the process's registry: make it this one (the embedded store has no
        # environment variable pointing at it)
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)

    def experiment_id(self) -> str:
        found = self.client.get_experiment_by_name(self.name)
        if found is not None:
            return found.experiment_id
        return self.client.create_experiment(self.name, artifact_location=artifact_location(self.name))

    def alias(self, alias: str) -> Any | None:
        """The model version holding ``alias``, or None (no registered model or no such alias yet)."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(self.name, alias)
        except MlflowException:
            return None

    def metric(self, version: Any, key: str = "mdape") -> float | None:
        """A version's figure as tagged at registration (``mdape``: the model's MdAPE on the rows the IN 65
        baseline covers; ``baseline_mdape``)."""
        if version is None:
            return None
        value = (version.tags or {}).get(key)
        return float(value) if value not in (None, "") else None

    def tag(self, version: str, **figures: float | None) -> None:
        for key, value in figures.items():
            if value is not None:
                self.client.set_model_version_tag(self.name, version, key, f"{value:.6f}")

    def promote(
        self, version: str, mdape: float | None, baseline_mdape: float | None, margin: float | None = None
    ) -> Decision:
        """The gate: champion only when ``mdape`` beats the baseline and the current champion by ``margin``."""
        margin = settings.PRICE_MODEL_PROMOTION_MARGIN if margin is None else margin
        current = self.alias(CHAMPION)
        current_mdape = self.metric(current)
        reasons = []
        if mdape is None:
            reasons.append("o modelo não tem MdAPE (sem linhas de teste)")
        if mdape is not None and baseline_mdape is not None and not mdape < baseline_mdape * (1 - margin):
            reasons.append(
                f"MdAPE {mdape:.3f} não supera a pesquisa de preços IN 65 ({baseline_mdape:.3f}) "
                f"com margem de {margin:.0%}"
            )
        if mdape is not None and current_mdape is not None and not mdape < current_mdape * (1 - margin):
            reasons.append(
                f"MdAPE {mdape:.3f} não supera o campeão v{current.version} ({current_mdape:.3f}) com "
                f"margem de {margin:.0%}"
            )
        if reasons:
            return Decision(
                False, "; ".join(reasons), version, str(current.version) if current else None, current_mdape
            )
        if current is not None:
            self.client.set_registered_model_alias(self.name, PREVIOUS, current.version)
        self.client.set_registered_model_alias(self.name, CHAMPION, version)
        why = (
            f"MdAPE {mdape:.3f}"
            + (f" contra IN 65 {baseline_mdape:.3f}" if baseline_mdape is not None else "")
            + (f" e campeão anterior v{current.version} {current_mdape:.3f}" if current_mdape is not None else "")
        )
        return Decision(True, why, version, str(current.version) if current else None, current_mdape)

    def rollback(self) -> tuple[str, str]:
        """Swap ``champion`` and ``previous``; returns (new champion, new previous)."""
        champion, previous = self.alias(CHAMPION), self.alias(PREVIOUS)
        if champion is None or previous is None:
            raise LookupError("não há versão anterior para restaurar (aliases champion e previous são necessários)")
        self.client.set_registered_model_alias(self.name, CHAMPION, previous.version)
        self.client.set_registered_model_alias(self.name, PREVIOUS, champion.version)
        return str(previous.version), str(champion.version)

    def versions(self) -> list[dict[str, Any]]:
        from mlflow.exceptions import MlflowException

        try:
            found = self.client.search_model_versions(f"name = '{self.name}'")
            # the SQL store's search leaves the versions' aliases empty: take them from the registered model
            by_version: dict[str, list[str]] = {}
            for alias, version in (self.client.get_registered_model(self.name).aliases or {}).items():
                by_version.setdefault(str(version), []).append(alias)
        except MlflowException:
            return []
        out = []
        for v in sorted(found, key=lambda v: int(v.version), reverse=True):  # a str over REST, an int in a local store
            aliases = set(getattr(v, "aliases", []) or []) | set(by_version.get(str(v.version), []))
            out.append(
                {
                    "version": str(v.version),
                    "aliases": sorted(aliases),
                    "run_id": v.run_id,
                    "created": v.creation_timestamp,
                    "mdape": self.metric(v),
                    "baseline_mdape": self.metric(v, "baseline_mdape"),
                }
            )
        return out

    def load(self, version: str) -> Served:
        """Download a version's artifacts and build the model from them (no pickles: LightGBM text + JSON)."""
        import mlflow.artifacts
        import polars as pl

        from tasks.prices.features import served_history
        from tasks.prices.model import PriceModel

        with tempfile.TemporaryDirectory(prefix="nexora-model-") as folder:
            local = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=f"models:/{self.name}/{version}", dst_path=folder, tracking_uri=self.uri
                )
            )
            found = {p.name: p for p in local.rglob("*") if p.is_file()}
            if "price_model.json" not in found or "history.parquet" not in found:
                raise FileNotFoundError(f"a versão {version} de {self.name} não tem price_model.json e history.parquet")
            model = PriceModel.from_bytes(found["price_model.json"].read_bytes())
            history = served_history(pl.read_parquet(found["history.parquet"]))
        mv = self.client.get_model_version(self.name, version)
        return Served(str(version), mv.run_id, model, history)


def signature():
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    return ModelSignature(
        inputs=Schema([ColSpec(kind, name, required=name in ("data", "descricao")) for name, kind in INPUTS]),
        outputs=Schema([ColSpec("double", name) for name in ("p10", "p50", "p90")]),
    )


def encodings_summary(model: PriceModel) -> dict[str, Any]:
    return json.loads(model.encodings.to_json())
