"""LightGBM price models on log(preco_unitario): P10, P50 and P90, the time split, evaluation and the IN 65 baseline.

Three boosters share the features of ``tasks.prices.features``: quantile regressions at 0.1 and 0.9 for an 80%
interval and, for the point estimate, a quantile regression at 0.5 (``objective_p50="quantile"``, the default;
``"regression"`` trains L2 instead). Measured: on SIASG, mean MdAPE over the test years 2020–2022 0.68 (quantile)
against 0.73 (L2); on the CATMAT series 0.87 against 0.92. The interval is widened by split-conformal margins learnt
on the training rows only, per reference level (``interval_margins``, else the pooled ``interval_margin``; see
``tasks.prices.interval``): the raw boosters' [p10, p90] covers 0.62 of the test rows on the SIASG split and 0.63 on
the CATMAT series (``bench/bench_price_model.py``). Predictions are brought back to prices with exp and sorted per
row before the margins apply, so p10 ≤ p50 ≤ p90 always and p50 does not depend on the margins. A model is saved
as LightGBM model strings plus the encodings, the feature list and the parameters (the margins among them), in one
JSON document (``to_bytes``) or a directory (``save``).

Against the IN 65 baseline on the rows it covers (SIASG, each test year trained on the earlier years, every row
looking back on all prices before it; ``bench/bench_price_model.py``), MdAPE model / baseline: dates on 1 July
2021 0.61/0.67 (277 rows), 2022 0.70/0.63 (59); dates spread over the year (``dataset.from_siasg(spread=True)``)
2020 0.59/0.61 (322), 2021 0.61/0.63 (311), 2022 0.71/0.69 (52); all those rows together 0.62/0.66 (1 July) and
0.60/0.63 (spread). MAPE 1.3–13 against 6–151, interval coverage 0.64–0.84 against 0.17–0.31; the model also
prices the 66–100% of rows the baseline cannot (MdAPE 0.67–0.70 on all rows). 2022, with 52–59 covered rows, is
still lost. Tried and not kept: pulling the three quantiles toward the IN 65 median by a weight (fixed, or
``n / (n + k)`` for ``n`` comparables) chosen on the calibration split: the choice flips from year to year and
2022 got worse (spread: 0.77 and 0.84 against 0.71).

Parameters other than ours (``OWN``) go to LightGBM as they are. On a machine whose cores are busy, pass
``num_threads`` (LightGBM's OpenMP threads spin when oversubscribed: the unit tests train 25× faster with 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import NamedTuple

import lightgbm as lgb
import numpy as np
import polars as pl

from tasks.prices import interval, metrics
from tasks.prices.dataset import PRICE, validate
from tasks.prices.features import CATEGORIES, Encodings, build_features, feature_names, to_config
from tasks.prices.history import ROW, HistoryIndex, past_stats

FORMAT = "nexora-price-model/1"
QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}
DEFAULT_PARAMS: dict = {
    "objective_p50": "quantile",
    "num_boost_round": 400,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "lambda_l2": 1.0,
    "min_data_per_group": 100,
    "cat_smooth": 50.0,
    "hash_buckets": 32,
    "history_days": 3650,
    "min_count": 1,
    "calibration_share": 0.1,
    "calibration_origins": 2,
    "calibration_min_rows": 50,
    "reference_days": 365,
    "reference_levels": "code_unit",
    "count_cap": 3,
}
OWN = (
    "objective_p50",
    "num_boost_round",
    "hash_buckets",
    "history_days",
    "min_count",
    "calibration_share",
    "calibration_origins",
    "calibration_min_rows",
    "interval_margin",
    "interval_margins",
    "reference_days",
    "reference_levels",
    "count_cap",
)


class Split(NamedTuple):
    train: pl.DataFrame
    test: pl.DataFrame
    cutoff: date
    dropped: int  # rows of purchases with dates on both sides of the cutoff, left out of both


def time_split(frame: pl.LazyFrame | pl.DataFrame, *, test_months: int = 12, cutoff: date | None = None) -> Split:
    """Test = purchases dated from ``cutoff`` on (default: the first day of the ``test_months``-th month before the
    last month with data); train = purchases entirely before it; a purchase straddling the cutoff is in neither."""
    rows = frame.lazy().collect()
    validate(rows)
    if cutoff is None:
        last: date = rows["data"].max()
        months = last.year * 12 + last.month - 1 - (test_months - 1)
        cutoff = date(months // 12, months % 12 + 1, 1)
    spans = rows.group_by("numero_controle_pncp").agg(
        pl.col("data").min().alias("_first"), pl.col("data").max().alias("_last")
    )
    sides = rows.join(spans, on="numero_controle_pncp", how="left", maintain_order="left")
    train = sides.filter(pl.col("_last") < cutoff).drop("_first", "_last")
    test = sides.filter(pl.col("_first") >= cutoff).drop("_first", "_last")
    return Split(train, test, cutoff, rows.height - train.height - test.height)


def _matrix(features: pl.DataFrame, names: list[str]) -> np.ndarray:
    return features.select(pl.col(names).cast(pl.Float64)).to_numpy()


@dataclass
class PriceModel:
    boosters: dict[str, lgb.Booster]
    encodings: Encodings
    features: list[str]
    params: dict

    def predict(
        self, rows: pl.LazyFrame | pl.DataFrame, history: pl.LazyFrame | pl.DataFrame | HistoryIndex
    ) -> pl.DataFrame:
        """p10, p50, p90 (prices) for each row, in order; ``history`` = the past prices the row may look back on
        (a ``HistoryIndex`` for a loaded model answering a few rows at a time)."""
        features = build_features(
            rows, encodings=self.encodings, history=history, config=to_config(self.params)
        ).collect(engine="in-memory")  # few rows: ~2x faster
        matrix = _matrix(features, self.features)
        logs = np.column_stack([self.boosters[name].predict(matrix) for name in QUANTILES])
        margins = interval.row_margins(
            features["ref_level"].to_numpy(),
            float(self.params.get("interval_margin", 0.0)),
            self.params.get("interval_margins") or {},
        )
        prices = interval.widen(logs, margins)
        return pl.DataFrame({name: prices[:, index] for index, name in enumerate(QUANTILES)})

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT,
                "features": self.features,
                "params": self.params,
                "encodings": json.loads(self.encodings.to_json()),
                "boosters": {name: booster.model_to_string() for name, booster in self.boosters.items()},
            },
            ensure_ascii=False,
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> PriceModel:
        document = json.loads(data)
        if document.get("format") != FORMAT:
            raise ValueError(f"modelo de preços em formato desconhecido: {document.get('format')!r}")
        return cls(
            {name: lgb.Booster(model_str=text) for name, text in document["boosters"].items()},
            Encodings.from_json(json.dumps(document["encodings"])),
            document["features"],
            _saved_params(document["params"]),
        )

    def save(self, directory: Path) -> None:
        """``model.json`` (format, features, params), ``encodings.json`` and ``p10.txt``/``p50.txt``/``p90.txt``."""
        directory.mkdir(parents=True, exist_ok=True)
        for name, booster in self.boosters.items():
            (directory / f"{name}.txt").write_text(booster.model_to_string(), encoding="utf-8")
        (directory / "encodings.json").write_text(self.encodings.to_json(), encoding="utf-8")
        (directory / "model.json").write_text(
            json.dumps({"format": FORMAT, "features": self.features, "params": self.params}, indent=2), encoding="utf-8"
        )

    @classmethod
    def load(cls, directory: Path) -> PriceModel:
        meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"modelo de preços em formato desconhecido: {meta.get('format')!r}")
        boosters = {name: lgb.Booster(model_file=str(directory / f"{name}.txt")) for name in QUANTILES}
        encodings = Encodings.from_json((directory / "encodings.json").read_text(encoding="utf-8"))
        return cls(boosters, encodings, meta["features"], _saved_params(meta["params"]))


def _saved_params(params: dict) -> dict:
    """A model saved before ``count_cap`` existed was trained on uncapped history counts: it keeps them; one saved
    before ``interval_margins`` widens every row by its one ``interval_margin``."""
    return {"count_cap": None, "interval_margins": {}, **params}


def _lightgbm_params(params: dict, seed: int, name: str) -> dict:
    objective = "regression" if name == "p50" and params["objective_p50"] == "regression" else "quantile"
    lightgbm = {key: value for key, value in params.items() if key not in OWN}
    return {
        **lightgbm,
        "objective": objective,
        "alpha": QUANTILES[name],
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }


def _fit(rows: pl.DataFrame, params: dict, seed: int) -> PriceModel:
    config = to_config(params)
    encodings = Encodings.fit(rows, min_count=params["min_count"])
    names = feature_names(config)
    features = build_features(rows, encodings=encodings, config=config).collect()
    target = np.log(features[PRICE].to_numpy())
    dataset = lgb.Dataset(
        _matrix(features, names),
        label=target,
        feature_name=names,
        categorical_feature=[name for name in names if name in CATEGORIES],
        free_raw_data=False,
    )
    boosters = {
        name: lgb.train(_lightgbm_params(params, seed, name), dataset, num_boost_round=params["num_boost_round"])
        for name in QUANTILES
    }
    return PriceModel(boosters, encodings, names, params)


def calibration_scores(rows: pl.DataFrame, params: dict, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(nonconformity scores, reference levels) of the latest training rows, pooled over ``calibration_origins``
    time splits: the latest ``calibration_share``, 2 × that share…, each scored by boosters fitted on the purchases
    before it (``interval.scores``; each row looks back on all training prices before its date). Empty when the rows
    cannot be split in time. Only ``rows`` are used: the test rows never calibrate the interval."""
    share, found_scores, found_levels = params["calibration_share"], [], []
    origins = params["calibration_origins"] if share > 0 else 0
    cutoffs = {
        rows["data"].sort()[min(rows.height - 1, int(rows.height * (1 - min(share * k, 0.5))))]
        for k in range(1, origins + 1)
    }  # the same date twice (coarse dates, few rows) is scored once
    for cutoff in sorted(cutoffs, reverse=True):
        fit, calibration, _, _ = time_split(rows, cutoff=cutoff)
        if fit.height < 2 * params["min_data_in_leaf"] or calibration.is_empty():
            continue
        bare = _fit(fit, {**params, "interval_margin": 0.0, "interval_margins": {}}, seed)
        features = build_features(
            calibration, encodings=bare.encodings, history=rows, config=to_config(bare.params)
        ).collect()
        logs = np.column_stack([bare.boosters[name].predict(_matrix(features, bare.features)) for name in QUANTILES])
        ordered = np.sort(logs, axis=1)
        found_scores.append(interval.scores(np.log(calibration[PRICE].to_numpy()), ordered[:, 0], ordered[:, 2]))
        found_levels.append(features["ref_level"].to_numpy())
    if not found_scores:
        return np.empty(0), np.empty(0)
    return np.concatenate(found_scores), np.concatenate(found_levels)


def train(frame: pl.LazyFrame | pl.DataFrame, *, params: dict | None = None, seed: int = 0) -> PriceModel:
    """Fit the three boosters on ``frame`` (its own history); ``params`` override ``DEFAULT_PARAMS``; the interval's
    conformal margins (``interval_margin``, pooled, and ``interval_margins`` per reference level, in the model's
    params) are measured first on time splits of ``frame`` (``calibration_scores``)."""
    rows = frame.lazy().collect()
    validate(rows)
    merged = {**DEFAULT_PARAMS, **(params or {})}
    values, levels = calibration_scores(rows, merged, seed)
    merged["interval_margin"], merged["interval_margins"] = interval.level_margins(
        values, levels, min_rows=merged["calibration_min_rows"]
    )
    return _fit(rows, merged, seed)


def _with_predictions(test: pl.DataFrame, predictions: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([test.select(PRICE, "codigo_catalogo", "material_ou_servico"), predictions], how="horizontal")


def baseline_stats(
    test: pl.LazyFrame | pl.DataFrame, history: pl.LazyFrame | pl.DataFrame, *, window_days: int = 365
) -> pl.DataFrame:
    """Per test row, in order: the count (``b_n``), median and 10th/90th percentiles of the prices of the same catalogue
    code and unit in the ``window_days`` before its date (``past_stats``, prefix ``b``)."""
    return (
        past_stats(
            test.lazy().with_row_index(ROW),
            history.lazy(),
            keys=["codigo_catalogo", "unidade"],
            required=["codigo_catalogo"],
            value=pl.col(PRICE),
            window_days=window_days,
            prefix="b",
            quantiles=(0.1, 0.9),
        )
        .sort(ROW)
        .collect()
    )


def baseline_predictions(
    test: pl.LazyFrame | pl.DataFrame, history: pl.LazyFrame | pl.DataFrame, *, window_days: int = 365
) -> pl.DataFrame:
    """IN 65/2021 art. 5º II style: for each row, the prices of the same catalogue code and unit (an unstated unit
    compares with unstated units) in the ``window_days`` before its date; p50 = their median, [p10, p90] = their
    10th and 90th percentiles (linear interpolation; one comparable → a point). Null without comparables."""
    return baseline_stats(test, history, window_days=window_days).select(
        pl.col("b_q10").alias("p10"), pl.col("b_median").alias("p50"), pl.col("b_q90").alias("p90")
    )


def baseline(
    test: pl.LazyFrame | pl.DataFrame,
    history: pl.LazyFrame | pl.DataFrame,
    *,
    window_days: int = 365,
    top_codes: int = 5,
) -> dict:
    """Metrics of the IN 65 baseline on ``test`` (``n`` = rows it covers, of ``rows``)."""
    rows = test.lazy().collect()
    return metrics.report(
        _with_predictions(rows, baseline_predictions(rows, history, window_days=window_days)), top_codes=top_codes
    )


def evaluate(
    model: PriceModel,
    test: pl.LazyFrame | pl.DataFrame,
    history: pl.LazyFrame | pl.DataFrame,
    *,
    top_codes: int = 5,
    window_days: int = 365,
) -> dict:
    """Metrics of the model on ``test``, plus ``on_baseline_rows``: overall metrics on the rows the IN 65 baseline
    covers (the like-for-like comparison). ``history``: the prices the rows may look back on, e.g. train and test
    together (each row sees only prices dated before it), the same as given to ``baseline``."""
    rows = test.lazy().collect()
    scored = _with_predictions(rows, model.predict(rows, history))
    covered = baseline_predictions(rows, history, window_days=window_days)["p50"].is_not_null()
    return {**metrics.report(scored, top_codes=top_codes), "on_baseline_rows": metrics.summary(scored.filter(covered))}
