"""Price models: time split, quantile boosters, save/load, metrics and the IN 65 baseline, without servers."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from tasks.prices import dataset, metrics
from tasks.prices.features import to_config
from tasks.prices.model import PriceModel, baseline, baseline_predictions, evaluate, time_split, train
from tests.unit.test_price_features import rows

SMALL = {"num_boost_round": 60, "learning_rate": 0.1, "num_leaves": 15, "hash_buckets": 16, "num_threads": 1}


@pytest.fixture(scope="module")
def siasg() -> pl.DataFrame:
    return dataset.from_siasg().collect()


@pytest.fixture(scope="module")
def split(siasg):
    return time_split(siasg, test_months=12)


@pytest.fixture(scope="module")
def model(split) -> PriceModel:
    return train(split.train, params=SMALL, seed=7)


# --- time split ---------------------------------------------------------------------------------------------------


def test_time_split_keeps_each_purchase_on_one_side_and_test_after_train():
    # given purchases P1 (before), P2 (straddling the cutoff) and P3 (after)
    frame = rows(
        (date(2023, 1, 5), "A", "UN", 1.0, "x", "P1"),
        (date(2023, 2, 5), "A", "UN", 1.0, "x", "P1"),
        (date(2023, 2, 20), "A", "UN", 1.0, "x", "P2"),
        (date(2023, 3, 2), "A", "UN", 1.0, "x", "P2"),
        (date(2023, 3, 10), "A", "UN", 1.0, "x", "P3"),
        (date(2023, 4, 30), "A", "UN", 1.0, "x", "P3"),
    )
    # when the last two months are the test
    split = time_split(frame, test_months=2)
    # then the cutoff is 1 March, the straddling purchase is in neither side
    assert split.cutoff == date(2023, 3, 1) and split.dropped == 2
    assert set(split.train["numero_controle_pncp"]) == {"P1"} and set(split.test["numero_controle_pncp"]) == {"P3"}


def test_time_split_of_real_data_tests_on_2022(siasg, split):
    assert split.cutoff == date(2021, 9, 1) and split.dropped == 0
    assert split.train.height + split.test.height == siasg.height
    assert set(split.test["data"].dt.year()) == {2022}
    assert split.train["data"].max() < split.test["data"].min()
    assert not set(split.train["numero_controle_pncp"]) & set(split.test["numero_controle_pncp"])


# --- metrics and baseline on hand-computed values -----------------------------------------------------------------


def test_metrics_on_hand_computed_values():
    # APEs 0.1, 0.1, 0.5 and one row not predicted
    actual, predicted = [100.0, 200.0, 400.0, 50.0], [110.0, 180.0, 600.0, None]
    assert metrics.mdape(actual, predicted) == pytest.approx(0.1)
    assert metrics.mape(actual, predicted) == pytest.approx(0.7 / 3)
    assert metrics.coverage(actual, [90.0, 210.0, 300.0, None], [110.0, 300.0, 400.0, None]) == pytest.approx(2 / 3)
    assert metrics.mdape([10.0], [None]) is None


def test_report_by_kind_and_top_codes():
    frame = pl.DataFrame(
        {
            "preco_unitario": [100.0, 100.0, 100.0, 100.0],
            "p10": [90.0, 50.0, 0.0, 0.0],
            "p50": [100.0, 150.0, 120.0, None],
            "p90": [110.0, 90.0, 200.0, None],
            "codigo_catalogo": ["A", "A", "B", "C"],
            "material_ou_servico": ["M", "M", "S", "S"],
        }
    )
    report = metrics.report(frame, top_codes=1)
    assert report["overall"] == {
        "rows": 4,
        "n": 3,
        "mdape": pytest.approx(0.2),
        "mape": pytest.approx(0.7 / 3),
        "coverage": pytest.approx(2 / 3),
    }
    assert report["by_tipo"]["M"]["mdape"] == pytest.approx(0.25) and report["by_tipo"]["S"]["n"] == 1
    assert list(report["by_catalogo"]) == ["A"]


def test_in65_baseline_is_the_median_of_the_same_code_and_unit_in_the_year_before():
    # given past prices of A/UN (one too old, one in another unit, one on the row's own date) and of B
    history = rows(
        (date(2022, 3, 1), "A", "UN", 10.0),
        (date(2022, 9, 1), "A", "UN", 20.0),
        (date(2022, 12, 1), "A", "UN", 60.0),
        (date(2021, 1, 1), "A", "UN", 999.0),
        (date(2022, 12, 1), "A", "CX", 500.0),
        (date(2023, 1, 10), "A", "UN", 7.0),
        (date(2022, 6, 1), "B", None, 4.0),
    )
    test = rows(
        (date(2023, 1, 10), "A", "UN", 30.0), (date(2023, 1, 10), "C", "UN", 5.0), (date(2023, 1, 10), "B", None, 4.0)
    )
    # when
    predicted = baseline_predictions(test, history, window_days=365)
    # then median 20 of (10, 20, 60), P10/P90 interpolated; no comparables for C; unstated units compare together
    assert predicted["p50"].to_list() == [20.0, None, 4.0]
    assert predicted["p10"][0] == pytest.approx(12.0) and predicted["p90"][0] == pytest.approx(52.0)
    report = baseline(test, history)
    assert report["overall"]["n"] == 2 and report["overall"]["rows"] == 3
    assert report["overall"]["mdape"] == pytest.approx((1 / 3) / 2) and report["overall"]["coverage"] == 1.0


# --- the model on real prices -------------------------------------------------------------------------------------


def test_model_beats_a_global_median_on_the_test_year(split, model, siasg):
    # given a model trained on 2016-2021 with small parameters
    # when evaluated on 2022, looking back on every price before each row's date
    report = evaluate(model, split.test, siasg)
    naive = metrics.mdape(
        split.test["preco_unitario"].to_list(), [split.train["preco_unitario"].median()] * split.test.height
    )
    # then it beats the naive predictor, covers every test row, and reports by category
    overall = report["overall"]
    assert overall["n"] == split.test.height == 233
    assert overall["mdape"] < naive - 0.1
    assert 0.6 < overall["coverage"] <= 1.0
    assert set(report["by_tipo"]) == {"M", "S"} and len(report["by_catalogo"]) == 5
    # and the IN 65 baseline covers only the rows with a comparable in the year before
    in65 = baseline(split.test, siasg)
    assert 0 < in65["overall"]["n"] < split.test.height == in65["overall"]["rows"]
    assert report["on_baseline_rows"]["n"] == in65["overall"]["n"]


def test_quantiles_never_cross(model, split, siasg):
    predicted = model.predict(split.test.drop("preco_unitario"), history=siasg)
    assert predicted.columns == ["p10", "p50", "p90"] and predicted.height == split.test.height
    assert predicted.filter((pl.col("p10") > pl.col("p50")) | (pl.col("p50") > pl.col("p90"))).is_empty()
    assert predicted.select((pl.col("p10") > 0).all()).item()


def test_quantiles_never_cross_even_without_the_interval_margin(split, siasg):
    bare = train(split.train.head(800), params={**SMALL, "calibration_share": 0, "num_boost_round": 20}, seed=1)
    assert bare.params["interval_margin"] == 0.0
    predicted = bare.predict(split.test, history=siasg)
    assert predicted.filter((pl.col("p10") > pl.col("p50")) | (pl.col("p50") > pl.col("p90"))).is_empty()


def test_save_and_load_give_identical_predictions(model, split, siasg, tmp_path):
    # given a trained model and its predictions
    expected = model.predict(split.test, history=siasg)
    # when it goes through bytes, and through a directory
    from_bytes = PriceModel.from_bytes(model.to_bytes())
    model.save(tmp_path / "model")
    from_directory = PriceModel.load(tmp_path / "model")
    # then the predictions are the same, to the bit
    assert from_bytes.predict(split.test, history=siasg).equals(expected)
    assert from_directory.predict(split.test, history=siasg).equals(expected)
    assert from_directory.features == model.features and from_directory.params == model.params
    assert sorted(path.name for path in (tmp_path / "model").iterdir()) == [
        "encodings.json",
        "model.json",
        "p10.txt",
        "p50.txt",
        "p90.txt",
    ]


def test_a_model_saved_before_the_count_cap_keeps_uncapped_counts(model):
    # given a model's bytes as saved before ``count_cap`` existed (no such parameter)
    document = json.loads(model.to_bytes())
    del document["params"]["count_cap"]
    # when it is loaded
    loaded = PriceModel.from_bytes(json.dumps(document).encode())
    # then its history counts are featurised as it was trained: uncapped
    assert loaded.params["count_cap"] is None and to_config(loaded.params).count_cap is None


def test_unknown_model_format_is_refused():
    with pytest.raises(ValueError, match="formato desconhecido"):
        PriceModel.from_bytes(b'{"format": "other/9"}')


def test_training_is_reproducible_with_a_seed(split, model, siasg):
    again = train(split.train, params=SMALL, seed=7)
    assert again.predict(split.test, history=siasg).equals(model.predict(split.test, history=siasg))


def test_a_prepared_history_gives_the_same_predictions(model, split, siasg):
    # given the history prepared once (folded descriptions and keys), as a served model keeps it
    from tasks.prices.features import prepared

    ready = prepared(siasg).collect()
    rows = split.test.head(40).drop("preco_unitario")
    # then the predictions are those made from the raw history
    assert model.predict(rows, ready).equals(model.predict(rows, siasg))
