"""The MLflow pyfunc face of a registered price-model version (for `mlflow models serve` and batch scoring), kept
apart from ``tasks.prices.serving`` so that pricing an item does not import MLflow."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import polars as pl

from tasks.prices.serving import rows_frame


class PricePyfunc(mlflow.pyfunc.PythonModel):
    """The input columns of ``registry.INPUTS``; the output p10/p50/p90 per the unit given."""

    def load_context(self, context) -> None:
        from tasks.prices.features import served_history
        from tasks.prices.model import PriceModel

        self.model = PriceModel.from_bytes(Path(context.artifacts["price_model"]).read_bytes())
        self.history = served_history(pl.read_parquet(context.artifacts["history"]))

    def predict(self, context, model_input, params=None):
        items = [dict(zip(model_input.columns, values, strict=True)) for values in model_input.itertuples(index=False)]
        rows, factors = rows_frame(items)
        out = self.model.predict(rows, self.history)
        return {name: [v * f for v, f in zip(out[name].to_list(), factors, strict=True)] for name in out.columns}
