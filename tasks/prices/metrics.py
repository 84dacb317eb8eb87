"""Accuracy of price predictions, as plain dicts: MdAPE, MAPE and coverage of the [p10, p90] interval.

All three are fractions (0.25 = 25%). The absolute percentage error of a row is ``|p50 - actual| / actual``; MdAPE
is its median, MAPE its mean; coverage is the share of rows whose actual price lies in ``[p10, p90]``. Rows without
a prediction (null ``p50``) are left out and counted apart, so a predictor that abstains (the IN 65 baseline
without comparables) is judged on the rows it covers and its ``n`` says how many.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

ACTUAL = "preco_unitario"


def _frame(actual: Sequence[float], **columns: Sequence[float | None]) -> pl.DataFrame:
    return pl.DataFrame({ACTUAL: actual, **columns}, schema=dict.fromkeys((ACTUAL, *columns), pl.Float64))


def ape() -> pl.Expr:
    return ((pl.col("p50") - pl.col(ACTUAL)).abs() / pl.col(ACTUAL)).alias("ape")


def summary(frame: pl.DataFrame) -> dict[str, float | int | None]:
    """``n`` rows predicted (of ``rows``), ``mdape``, ``mape``, ``coverage`` of a frame with the actual price and
    ``p10``/``p50``/``p90``; metrics are None when no row is predicted."""
    predicted = frame.filter(pl.col("p50").is_not_null())
    if predicted.is_empty():
        return {"rows": frame.height, "n": 0, "mdape": None, "mape": None, "coverage": None}
    errors = predicted.select(ape())["ape"]
    inside = predicted.select(((pl.col("p10") <= pl.col(ACTUAL)) & (pl.col(ACTUAL) <= pl.col("p90"))).alias("in"))
    return {
        "rows": frame.height,
        "n": predicted.height,
        "mdape": float(errors.median()),
        "mape": float(errors.mean()),
        "coverage": float(inside["in"].cast(pl.Float64).mean()),
    }


def mdape(actual: Sequence[float], predicted: Sequence[float | None]) -> float | None:
    return summary(_frame(actual, p50=predicted, p10=predicted, p90=predicted))["mdape"]


def mape(actual: Sequence[float], predicted: Sequence[float | None]) -> float | None:
    return summary(_frame(actual, p50=predicted, p10=predicted, p90=predicted))["mape"]


def coverage(actual: Sequence[float], low: Sequence[float | None], high: Sequence[float | None]) -> float | None:
    return summary(_frame(actual, p10=low, p50=low, p90=high))["coverage"]


def report(frame: pl.DataFrame, *, top_codes: int = 5) -> dict:
    """Overall, by material/serviço (``material_ou_servico``) and for the ``top_codes`` catalogue codes with
    most rows in ``frame`` (ties by code)."""
    by_kind = {
        str(kind): summary(frame.filter(pl.col("material_ou_servico") == kind))
        for kind in sorted(frame["material_ou_servico"].drop_nulls().unique().to_list())
    }
    counts = (
        frame["codigo_catalogo"]
        .drop_nulls()
        .value_counts()
        .sort(["count", "codigo_catalogo"], descending=[True, False])
    )
    by_code = {
        code: summary(frame.filter(pl.col("codigo_catalogo") == code))
        for code in counts["codigo_catalogo"].head(top_codes).to_list()
    }
    return {"overall": summary(frame), "by_tipo": by_kind, "by_catalogo": by_code}
