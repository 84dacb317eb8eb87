"""The synthetic price generator: schema, determinism, the effects it plants, and a model that learns from it."""

from __future__ import annotations

import time
from datetime import date

import polars as pl
import pytest

from tasks.prices import dataset, metrics, synthetic
from tasks.prices.features import region
from tasks.prices.model import evaluate, time_split, train
from tasks.prices.units import parse_unit


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return synthetic.generate(100_000, seed=3, extras=True)


def deviation() -> pl.Expr:
    """Log price minus the median log price of the same code and unit."""
    log_price = pl.col("preco_unitario").log()
    return log_price - log_price.median().over("codigo_catalogo", "unidade")


def test_rows_are_in_the_dataset_schema(frame):
    rows = synthetic.generate(5_000, seed=1)
    dataset.validate(rows)
    assert rows.columns == list(dataset.SCHEMA) and rows.height == 5_000
    dataset.validate(frame)
    assert frame.null_count().select(pl.exclude("codigo_catalogo")).sum_horizontal().item() == 0
    assert set(frame["material_ou_servico"]) == {"M", "S"}
    assert frame["numero_controle_pncp"].str.contains(r"^\d{14}-1-\d{6}/20(19|2[0-2])$").all()


def test_same_seed_same_rows_other_seed_other_rows():
    first, again = synthetic.generate(3_000, seed=5), synthetic.generate(3_000, seed=5)
    assert first.equals(again)
    assert not first.equals(synthetic.generate(3_000, seed=6))


def test_dates_span_the_years_asked():
    rows = synthetic.generate(20_000, seed=2, start=date(2021, 3, 1), years=2)
    assert rows["data"].min() >= date(2021, 3, 1) and rows["data"].max() < date(2023, 3, 1)
    assert rows["data"].dt.year().n_unique() == 3


def test_outliers_are_two_percent_and_ten_times_off(frame):
    share = frame["outlier"].mean()
    assert 0.017 < share < 0.023
    off = frame.with_columns(deviation().abs().alias("off"))
    assert off.filter("outlier")["off"].median() > 1.8  # ln 10 ≈ 2.3
    assert off.filter(~pl.col("outlier"))["off"].median() < 0.3


def test_units_come_as_training_frame_gives_them_with_confusion_left(frame):
    # given the units as typed, parse_unit's base is the unit the rows carry
    pairs = frame.select("unidade_fornecimento", "unidade").unique()
    assert all(parse_unit(typed).base == base for typed, base in pairs.iter_rows())
    # one paper code comes per ream, per sheet (RESMA 500 FL) and per bare box (CX)
    paper = frame.filter(pl.col("descricao").str.starts_with("PAPEL A4"), ~pl.col("outlier"))
    levels = paper.group_by("unidade").agg(pl.col("preco_unitario").median()).sort("preco_unitario")
    assert set(levels["unidade"]) >= {"FL", "RESMA", "CX"}
    per_sheet, per_ream, per_box = (
        levels.filter(pl.col("unidade") == u)["preco_unitario"].item() for u in ("FL", "RESMA", "CX")
    )
    assert per_ream / per_sheet == pytest.approx(500, rel=0.3) and per_box / per_ream == pytest.approx(10, rel=0.3)
    # most codes are bought in more than one unit
    units_per_code = frame.drop_nulls("codigo_catalogo").group_by("codigo_catalogo").agg(pl.col("unidade").n_unique())
    assert (units_per_code["unidade"] > 1).mean() > 0.4


def test_region_year_and_modalidade_effects_are_visible(frame):
    clean = frame.filter(~pl.col("outlier")).with_columns(deviation().alias("dev"), region(pl.col("uf")).alias("r"))
    by_region = dict(clean.group_by("r").agg(pl.col("dev").median()).iter_rows())
    assert by_region["Norte"] - by_region["Sudeste"] > 0.1
    by_year = clean.group_by(pl.col("data").dt.year()).agg(pl.col("dev").median()).sort("data")["dev"].to_list()
    assert by_year == sorted(by_year) and by_year[-1] - by_year[0] > 0.1
    by_modalidade = dict(clean.group_by("modalidade_id").agg(pl.col("dev").median()).iter_rows())
    assert by_modalidade[9] > by_modalidade[8] > by_modalidade[6]


def test_purchases_have_several_items_and_popular_codes_repeat(frame):
    items = frame.group_by("numero_controle_pncp").len()["len"]
    assert 2 < items.mean() < 5 and items.max() > 5
    per_purchase = frame.group_by("numero_controle_pncp").agg(pl.col("data").n_unique(), pl.col("uf").n_unique())
    assert (per_purchase["data"] == 1).all() and (per_purchase["uf"] == 1).all()
    counts = frame.drop_nulls("codigo_catalogo")["codigo_catalogo"].value_counts()["count"].sort(descending=True)
    assert counts[0] > 10 * counts.median()
    assert 0.01 < frame["codigo_catalogo"].null_count() / frame.height < 0.03


def test_a_million_rows_take_seconds():
    started = time.perf_counter()
    rows = synthetic.generate(1_000_000, seed=0)
    assert rows.height == 1_000_000 and time.perf_counter() - started < 10


def test_model_trained_on_synthetic_rows_beats_a_global_median():
    rows = synthetic.generate(20_000, seed=11, codes=200)
    split = time_split(rows, test_months=6)
    model = train(
        split.train,
        params={"num_boost_round": 60, "learning_rate": 0.1, "num_leaves": 15, "hash_buckets": 16, "num_threads": 1},
        seed=0,
    )
    ours = evaluate(model, split.test, rows)["overall"]["mdape"]
    naive = metrics.mdape(
        split.test["preco_unitario"].to_list(), [split.train["preco_unitario"].median()] * split.test.height
    )
    assert ours < 0.5 * naive and ours < 0.35
