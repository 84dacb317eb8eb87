"""The price model's 80% interval: conformal margins per reference level, learnt from training rows only, kept
through save/load and the MLflow pyfunc, never moving p50. Without servers."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from tasks.prices import dataset, interval, metrics
from tasks.prices.dataset import PRICE
from tasks.prices.model import DEFAULT_PARAMS, PriceModel, calibration_scores, time_split, train

SMALL = {"num_boost_round": 40, "learning_rate": 0.1, "num_leaves": 15, "hash_buckets": 16, "num_threads": 1}


def _noisy(rng: np.random.Generator, n: int, noise: dict[int, float]) -> dict[str, np.ndarray]:
    """Rows of known log-normal noise per level around a known centre, and a raw interval far too narrow (±0.3)."""
    levels = rng.choice(list(noise), size=n)
    centre = rng.normal(3.0, 1.0, size=n)
    actual = centre + rng.normal(0.0, 1.0, size=n) * np.array([noise[level] for level in levels])
    return {"actual": actual, "low": centre - 0.3, "high": centre + 0.3, "levels": levels.astype(np.float64)}


def _coverage(rows: dict[str, np.ndarray], margins: np.ndarray) -> float:
    return float(np.mean((rows["low"] - margins <= rows["actual"]) & (rows["actual"] <= rows["high"] + margins)))


# --- the calibration on synthetic noise ---------------------------------------------------------------------------


def test_a_too_narrow_interval_is_widened_to_80_percent_on_held_out_rows():
    # given calibration and held-out rows with log noise of sd 1 around the centre, and a raw interval of ±0.3
    rng = np.random.default_rng(3)
    calibration, held_out = _noisy(rng, 4000, {1: 1.0}), _noisy(rng, 20000, {1: 1.0})
    assert _coverage(held_out, np.zeros(20000)) < 0.3
    # when the margin is learnt on the calibration rows alone
    values = interval.scores(calibration["actual"], calibration["low"], calibration["high"])
    pooled, _ = interval.level_margins(values, calibration["levels"], min_rows=50)
    # then the held-out rows are covered ~80% (the margin is the normal's 1.2816 - 0.3)
    assert pooled == pytest.approx(1.2816 - 0.3, abs=0.06)
    assert 0.78 <= _coverage(held_out, np.full(20000, pooled)) <= 0.82


def test_each_reference_level_gets_its_own_margin():
    # given rows with IN 65 comparables (level 1, noise sd 0.5) and rows without history (level 0, sd 2)
    rng = np.random.default_rng(5)
    noise = {0: 2.0, 1: 0.5}
    calibration, held_out = _noisy(rng, 6000, noise), _noisy(rng, 20000, noise)
    values = interval.scores(calibration["actual"], calibration["low"], calibration["high"])
    # when margins are learnt per level
    pooled, margins = interval.level_margins(values, calibration["levels"], min_rows=50)
    per_row = interval.row_margins(held_out["levels"], pooled, margins)
    # then each level is covered ~80%, where one pooled margin over-covers level 1 and under-covers level 0
    assert set(margins) == {"0", "1"} and margins["0"] > pooled > margins["1"]
    for level in (0, 1):
        chosen = {key: value[held_out["levels"] == level] for key, value in held_out.items()}
        assert 0.77 <= _coverage(chosen, per_row[held_out["levels"] == level]) <= 0.83
    pooled_only = {
        level: _coverage({key: value[held_out["levels"] == level] for key, value in held_out.items()}, np.array(pooled))
        for level in (0, 1)
    }
    assert pooled_only[0] < 0.75 and pooled_only[1] > 0.85


def test_a_level_with_few_scores_takes_the_pooled_margin():
    values = np.linspace(-1.0, 1.0, 110)
    levels = np.array([1.0] * 100 + [2.0] * 10)
    pooled, margins = interval.level_margins(values, levels, min_rows=50)
    assert list(margins) == ["1"]
    assert interval.row_margins(np.array([2.0, 0.0, 1.0]), pooled, margins).tolist() == [pooled, pooled, margins["1"]]


@pytest.mark.parametrize(("n", "expected"), [(9, 0.7), (4, 0.3), (0, 0.0)])
def test_the_conformal_quantile_is_the_finite_sample_rank(n, expected):
    # ⌈(n + 1)·0.8⌉-th smallest of 0.0, 0.1, 0.2…: the 8th of 9; of 4 scores, the largest
    assert interval.conformal_quantile(np.arange(n) / 10) == pytest.approx(expected)


@pytest.mark.parametrize("margin", [-3.0, -0.2, 0.0, 0.5, 4.0])
def test_widening_keeps_p50_the_order_and_positive_prices(margin):
    # given raw log quantiles, some of them crossed
    logs = np.array([[1.0, 2.0, 3.0], [2.5, 2.0, 1.0], [0.0, -1.0, 5.0], [-30.0, -29.0, -28.0]])
    prices = interval.widen(logs, np.full(4, margin))
    assert np.allclose(np.log(prices[:, 1]), [2.0, 2.0, 0.0, -29.0])  # the middle of each row, whatever the margin
    assert (prices[:, 0] <= prices[:, 1]).all() and (prices[:, 1] <= prices[:, 2]).all() and (prices > 0).all()


# --- the model on real prices -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def series_split():
    frame = dataset.from_series().filter(pl.col("data") < date(2023, 1, 1)).collect()
    return time_split(frame, cutoff=date(2022, 11, 1))


@pytest.fixture(scope="module")
def model(series_split) -> PriceModel:
    return train(series_split.train, params=SMALL, seed=3)


def test_the_calibration_scores_the_latest_training_rows_only(series_split):
    # given training rows (the test rows of the split are after them)
    rows = series_split.train
    params = {**DEFAULT_PARAMS, **SMALL, "calibration_share": 0.1, "calibration_origins": 2}
    # when they are scored for calibration
    values, levels = calibration_scores(rows, params, seed=3)
    # then the scores are those of the latest 10% and the latest 20% of the training rows, no more
    latest = [
        time_split(rows, cutoff=rows["data"].sort()[int(rows.height * (1 - share))]).test.height for share in (0.1, 0.2)
    ]
    assert len(values) == len(levels) == sum(latest) < 0.35 * rows.height


def test_the_trained_model_covers_its_test_rows_and_keeps_p50(model, series_split):
    history = pl.concat([series_split.train, series_split.test])
    predicted = model.predict(series_split.test, history)
    bare = PriceModel(
        model.boosters,
        model.encodings,
        model.features,
        {**model.params, "interval_margin": 0.0, "interval_margins": {}},
    )
    unwidened = bare.predict(series_split.test, history)
    # the margins are learnt (one per level that has enough scores) and move only p10 and p90
    assert model.params["interval_margins"] and model.params["interval_margin"] > 0
    assert predicted["p50"].equals(unwidened["p50"])
    scored = pl.concat([series_split.test.select(PRICE), predicted], how="horizontal")
    raw = pl.concat([series_split.test.select(PRICE), unwidened], how="horizontal")
    covered, raw_covered = metrics.summary(scored)["coverage"], metrics.summary(raw)["coverage"]
    assert 0.75 <= covered <= 0.88 and covered > raw_covered


def test_the_margins_survive_save_load_and_the_pyfunc(model, series_split, tmp_path):
    from tasks.prices.pyfunc import PricePyfunc
    from tasks.prices.registry import INPUTS

    # given a calibrated model saved as the registry logs it: its JSON document and the history parquet
    expected = model.predict(series_split.test.head(20), series_split.train)
    (tmp_path / "price_model.json").write_bytes(model.to_bytes())
    series_split.train.write_parquet(tmp_path / "history.parquet")
    model.save(tmp_path / "directory")
    # when it is read back through bytes, a directory and the MLflow pyfunc
    for loaded in (PriceModel.from_bytes(model.to_bytes()), PriceModel.load(tmp_path / "directory")):
        assert loaded.params["interval_margins"] == model.params["interval_margins"]
        assert loaded.predict(series_split.test.head(20), series_split.train).equals(expected)
    pyfunc = PricePyfunc()
    pyfunc.load_context(
        SimpleNamespace(
            artifacts={"price_model": str(tmp_path / "price_model.json"), "history": str(tmp_path / "history.parquet")}
        )
    )
    import pandas as pd

    items = series_split.test.head(20).with_columns(pl.col("data").cast(pl.String)).select([n for n, _ in INPUTS])
    answered = pyfunc.predict(None, pd.DataFrame(items.to_dicts(), dtype=object))  # nulls stay None
    # then the calibrated interval is the same, to float precision
    for name in ("p10", "p50", "p90"):
        assert answered[name] == pytest.approx(expected[name].to_list(), rel=1e-9)


def test_a_model_saved_before_the_level_margins_keeps_its_one_margin(model, series_split):
    import json

    document = json.loads(model.to_bytes())
    del document["params"]["interval_margins"]
    loaded = PriceModel.from_bytes(json.dumps(document).encode())
    predicted = loaded.predict(series_split.test.head(50), series_split.train)
    margin = np.log(predicted["p90"].to_numpy() / predicted["p50"].to_numpy())
    assert loaded.params["interval_margins"] == {} and (margin >= loaded.params["interval_margin"] - 1e-9).all()
