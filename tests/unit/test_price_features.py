"""Price-model features: the dataset schema, the encodings, text features and leak-free history, without servers."""

from __future__ import annotations

import json
import math
from datetime import date

import polars as pl
import pytest

from tasks.pncp.parse import fold
from tasks.prices import dataset, synthetic, text
from tasks.prices.features import REGION_OF, Encodings, FeatureConfig, build_features, feature_names, served_history
from tasks.prices.history import HistoryIndex, past_stats

CONFIG = FeatureConfig(hash_buckets=8, history_days=3650)


def rows(*specs: tuple) -> pl.DataFrame:
    """(date, code, unit, price[, description, purchase]) → dataset rows; the rest filled with plain values."""
    records = []
    for number, spec in enumerate(specs):
        day, code, unit, price, *rest = spec
        records.append(
            {
                "data": day,
                "codigo_catalogo": code,
                "descricao": rest[0] if rest else f"ITEM {code}, CAIXA 500 ML",
                "unidade": unit,
                "quantidade": 10.0,
                "preco_unitario": price,
                "uf": "MG",
                "modalidade_id": 6,
                "material_ou_servico": "M",
                "numero_controle_pncp": rest[1] if len(rest) > 1 else f"P{number}",
            }
        )
    return pl.DataFrame(records, schema=dataset.SCHEMA)


HISTORY_COLUMNS = [name for name in feature_names(CONFIG) if name.startswith("hist_")]


# --- the dataset schema -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda f: f.drop("uf", "data"), "colunas ausentes: data, uf"),
        (lambda f: f.with_columns(pl.col("quantidade").cast(pl.String)), "tipos errados: quantidade (esperado Float64"),
        (lambda f: f.with_columns(pl.col("modalidade_id").cast(pl.Int32)), "modalidade_id (esperado Int64"),
        (lambda f: f.with_columns(pl.lit(0.0).alias("preco_unitario")), "1 linha(s) com preco_unitario ausente, zero"),
        (lambda f: f.with_columns(pl.lit(None, pl.Date).alias("data")), "1 linha(s) sem data"),
    ],
)
def test_invalid_dataset_is_refused_naming_the_problem(change, message):
    # given a valid row made invalid
    frame = change(rows((date(2023, 1, 1), "1", "UN", 10.0)))
    # when / then
    with pytest.raises(ValueError, match="dataset de preços inválido") as error:
        dataset.validate(frame)
    assert message in str(error.value)


def test_rows_to_price_need_no_price_and_lazy_frames_are_checked_by_schema():
    frame = rows((date(2023, 1, 1), "1", "UN", 10.0))
    dataset.validate(frame.drop("preco_unitario"), prices=False)
    dataset.validate(frame.lazy().with_columns(pl.lit(-1.0).alias("preco_unitario")))  # values: only when eager
    with pytest.raises(ValueError, match="colunas ausentes: preco_unitario"):
        dataset.validate(frame.drop("preco_unitario").lazy())


def test_siasg_seed_converts_to_the_dataset():
    # given the bundled SIASG file, when converted
    frame = dataset.from_siasg().collect()
    # then it satisfies the schema, with the documented conventions
    dataset.validate(frame)
    assert frame.height == 6513 and frame["unidade"].null_count() == 0
    assert frame.filter(pl.col("data").dt.year() < 2022)["data"].dt.month().unique().to_list() == [7]
    assert frame["modalidade_id"].unique().to_list() == [5] and set(frame["material_ou_servico"]) == {"M", "S"}
    first = frame.row(0, named=True)
    assert first["preco_unitario"] == pytest.approx(29844.0) and first["numero_controle_pncp"] == "01000105000262022"


# --- encodings ----------------------------------------------------------------------------------------------------


def test_encodings_fit_on_training_rows_map_unknown_to_zero_and_keep_null():
    # given encodings fitted on two codes
    train = rows((date(2022, 1, 1), "B", "UN", 1.0), (date(2022, 1, 1), "A", "KG", 1.0))
    encodings = Encodings.fit(train)
    assert encodings.codes["cat_catalogo"] == {"A": 1, "B": 2} and encodings.codes["cat_regiao"] == {"Sudeste": 1}
    # when rows with an unseen code and a missing one are featurised against the training rows
    new = rows(
        (date(2023, 1, 1), "B", "UN", 1.0), (date(2023, 1, 1), "Z", "UN", 1.0), (date(2023, 1, 1), None, None, 1.0)
    ).drop("preco_unitario")
    features = build_features(new, encodings=encodings, history=train, config=CONFIG).collect()
    # then known → its code, unknown → 0, missing → null
    assert features["cat_catalogo"].to_list() == [2, 0, None]
    assert features["cat_unidade"].to_list() == [2, 2, None]


def test_encodings_round_trip_through_json():
    encodings = Encodings.fit(dataset.from_siasg(), min_count=2)
    document = encodings.to_json()
    loaded = Encodings.from_json(document)
    assert loaded == encodings and json.loads(document)["unknown"] == 0
    assert min(len(codes) for codes in encodings.codes.values()) >= 1
    assert len(encodings.codes["cat_catalogo"]) == 826  # codes seen at least twice


@pytest.mark.parametrize("document", ['{"codes": 3}', "[]", "{}"])
def test_bad_encodings_document_is_refused(document):
    with pytest.raises(ValueError, match="codificação de categorias inválida"):
        Encodings.from_json(document)


def test_every_uf_has_its_region():
    assert len(REGION_OF) == 27 and REGION_OF["DF"] == "Centro-Oeste" and REGION_OF["AM"] == "Norte"


# --- text ---------------------------------------------------------------------------------------------------------


def test_text_features_read_quantities_with_units():
    # given descriptions with quantities in several units and number formats
    frame = pl.DataFrame(
        {
            "descricao": [
                "Notebook 8 GB RAM, SSD 1 TB",
                "Soro 500 ml",
                "Água 1,5 L",
                "AR 12.000 BTUS",
                'Monitor 23" LED',
                "Caneta azul",
            ]
        }
    )
    # when
    features = frame.select(text.scalar_features(pl.col("descricao")))
    out = features.select(pl.col("^num_.*$").exp() - 1)
    # then the largest value of each dimension, in its base unit
    assert out["num_gb"].to_list()[0] == pytest.approx(1000.0)
    assert out["num_ml"].to_list()[1:3] == pytest.approx([500.0, 1500.0])
    assert out["num_btu"][3] == pytest.approx(12000.0) and out["num_pol"][4] == pytest.approx(23.0)
    assert out.row(5, named=True)["num_gb"] is None
    assert features["txt_tokens"].to_list() == [3.0, 2.0, 1.0, 2.0, 2.0, 2.0]  # 3+ characters: "8", "gb", "ar" out


TRICKY = [
    "",
    "1.000,50 KG",
    "12.000 BTUS 220V",
    "1,5l 2 L 3lts",
    'tela 23" e 15,6 pol',
    "2x500 ml",
    "10 m2 e 3 m",
    "0,5 TB / 512 GB / 800mb",
    "1.2.3 gb",
    "kg 5",
    "5kgx",
    "notebook 8gb, ssd 256 gb, 3,2 ghz 900 mhz",
    "papel a4 75 g/m2 500 fl",
    "cabo 2,5 mm 100 metros",
    "para com sem dos das",
    "7.000.000,25 w 3 kva",
]


def test_python_text_features_equal_the_expressions_on_real_descriptions():
    # given every description of the real seeds and hand-made tricky ones, folded
    descriptions = [
        *dataset.from_siasg().collect()["descricao"].unique().to_list(),
        *synthetic.generate(3000, seed=1)["descricao"].unique().to_list(),
        *TRICKY,
    ]
    folded = pl.DataFrame({"t": descriptions}).select(text.fold_expr(pl.col("t")))["t"]
    # when computed by the polars expressions and by the Python path for a few rows
    expected = pl.DataFrame({"t": folded}).select(text.scalar_features(pl.col("t"), folded=True))
    found = pl.DataFrame(
        [text.scalar_values(value) for value in folded.to_list()],
        schema=dict.fromkeys(text.SCALAR_NAMES, pl.Float64),
        orient="row",
    )
    hashed = (
        text.hashed_tokens(pl.DataFrame({"_row": range(len(folded)), "t": folded}).lazy(), 16, folded="t")
        .sort("_row")
        .collect()
        .drop("_row")
    )
    # then every value is the same
    assert expected.columns == found.columns and len(descriptions) > 2000
    for name in expected.columns:
        assert found[name].is_null().to_list() == expected[name].is_null().to_list(), name
        assert ((found[name] - expected[name]).abs().max() or 0.0) < 1e-12, name
    assert (text.bucket_counts(folded.to_list(), 16) == hashed.to_numpy()).all()
    keys = pl.DataFrame({"t": folded}).select(text.description_key(pl.col("t")).alias("k"))["k"].to_list()
    assert [text.description_key_value(value) for value in folded.to_list()] == keys
    assert [fold(value) for value in descriptions] == folded.to_list()
    assert expected["num_gb"].drop_nulls().len() > 10


def test_fold_expression_matches_the_parser_fold():
    samples = ["CABO ELÉTRICO  FLEXÍVEL", "Água ½ L, nº 2", "  Ação\tÚnica  ", ""]
    folded = pl.DataFrame({"t": samples}).select(text.fold_expr(pl.col("t")))["t"].to_list()
    assert folded == [fold(sample) for sample in samples]


def test_token_hashing_is_deterministic_and_counts_every_token():
    # given two frames with the same descriptions in a different order
    frame = pl.DataFrame({"descricao": ["cabo eletrico flexivel cobre", "switch gerenciavel portas", "cabo"]})
    names = text.hash_columns(8)
    # when hashed
    first = text.hashed_tokens(frame.lazy().with_row_index("_row"), 8).sort("_row").collect()
    second = text.hashed_tokens(frame.reverse().lazy().with_row_index("_row"), 8).sort("_row").collect()
    # then the same description gets the same buckets wherever it is, and each token is counted once
    assert first.select(names).row(0) == second.select(names).row(2)
    assert first.select(pl.sum_horizontal(names).alias("n"))["n"].to_list() == [4.0, 3.0, 1.0]


def test_description_key_is_the_items_name():
    frame = pl.DataFrame({"d": ["CABO ELÉTRICO FLEXÍVEL, APLICAÇÃO X", "SWITCH, PORTAS 24", "12 345"]})
    keys = frame.select(text.description_key(text.fold_expr(pl.col("d"))).alias("key"))["key"].to_list()
    assert keys == ["cabo eletrico", "switch", None]


# --- history ------------------------------------------------------------------------------------------------------


def test_past_stats_use_only_earlier_dates_within_the_window():
    # given prices of code A on three dates and of code B
    history = rows(
        (date(2022, 1, 1), "A", "UN", 10.0),
        (date(2022, 1, 1), "A", "UN", 20.0),
        (date(2022, 6, 1), "A", "UN", 100.0),
        (date(2020, 1, 1), "A", "UN", 1000.0),
        (date(2022, 3, 1), "B", "UN", 7.0),
    )
    queries = rows(
        (date(2022, 1, 1), "A", "UN", 0.0),
        (date(2022, 3, 1), "A", "UN", 0.0),
        (date(2022, 6, 2), "A", "UN", 0.0),
        (date(2022, 6, 2), "C", "UN", 0.0),
    )
    # when described with a one-year window
    stats = past_stats(
        queries.lazy().with_row_index("_row"),
        history.lazy(),
        keys=["codigo_catalogo"],
        value=pl.col("preco_unitario"),
        window_days=365,
        prefix="h",
        quantiles=(0.1, 0.9),
    )
    out = stats.sort("_row").collect()
    # then the same date is not seen, 2020 is out of the window, and a code without past has none
    assert out["h_n"].to_list() == [0.0, 2.0, 3.0, 0.0]
    assert out["h_median"].to_list() == [None, 15.0, 20.0, None]
    assert out["h_q10"][1] == pytest.approx(11.0) and out["h_q90"][2] == pytest.approx(84.0)


def test_no_leak_a_later_price_never_moves_earlier_features():
    # given real rows, and the same rows with the prices of the last date multiplied by 100
    frame = dataset.from_siasg().collect()
    last = frame["data"].max()
    changed = frame.with_columns(
        pl.when(pl.col("data") == last)
        .then(pl.col("preco_unitario") * 100)
        .otherwise(pl.col("preco_unitario"))
        .alias("preco_unitario")
    )
    encodings = Encodings.fit(frame)
    # when both are featurised
    before = build_features(frame, encodings=encodings, config=CONFIG).collect()
    after = build_features(changed, encodings=encodings, config=CONFIG).collect()
    # then no feature of any row moves: the rows of the last date only have earlier rows in their history
    names = feature_names(CONFIG)
    assert before.select(names).equals(after.select(names))
    assert changed.filter(pl.col("data") == last).height > 0


def test_no_leak_on_hand_rows_same_date_and_future_prices_are_not_seen():
    # given three dates of code A; the middle date has two purchases
    frame = rows(
        (date(2022, 1, 1), "A", "UN", 10.0),
        (date(2022, 2, 1), "A", "UN", 30.0),
        (date(2022, 2, 1), "A", "UN", 50.0),
        (date(2022, 3, 1), "A", "UN", 70.0),
    )
    encodings = Encodings.fit(frame)
    features = build_features(frame, encodings=encodings, config=CONFIG).collect()
    changed = frame.with_columns(pl.Series("preco_unitario", [10.0, 80.0, 5000.0, 1.0]))
    again = build_features(changed, encodings=encodings, config=CONFIG).collect()
    # then the February rows see January only, and March sees January and February
    assert features["hist_code_n"].to_list() == [0.0, 1.0, 1.0, 3.0]
    assert again.select(HISTORY_COLUMNS).head(3).equals(features.select(HISTORY_COLUMNS).head(3))
    assert features["hist_code_median"].exp().round(6).to_list() == [None, 10.0, 10.0, 30.0]
    assert again["hist_code_median"].exp().round(6)[3] == 80.0


@pytest.mark.parametrize("cap,expected", [(3, [0, 1, 2, 3, 3, 3]), (None, [0, 1, 2, 3, 4, 5])])
def test_history_counts_are_capped_so_a_longer_history_looks_like_training(cap, expected):
    # given six prices of one code on six days
    frame = rows(*[(date(2023, 1, day), "1", "UN", 10.0) for day in range(1, 7)])
    # when featurised with the count capped (default 3) or not
    config = FeatureConfig(hash_buckets=8, count_cap=cap)
    out = build_features(frame, encodings=Encodings.fit(frame), config=config).collect()
    # then every count stops at the cap, and the medians do not change
    for prefix in ("hist_code", "hist_code_unit", "hist_desc", "hist_in65"):
        assert out[f"{prefix}_n"].to_list() == expected
    assert out["hist_code_median"].drop_nulls().to_list() == [pytest.approx(math.log(10.0))] * 5


def test_featurising_new_rows_against_history_matches_training_features():
    # given training rows featurised against themselves
    frame = dataset.from_siasg().collect()
    encodings = Encodings.fit(frame)
    own = build_features(frame, encodings=encodings, config=CONFIG)
    # when the same rows, without prices, are featurised against the training data as history
    new = build_features(frame.drop("preco_unitario"), encodings=encodings, history=frame, config=CONFIG)
    # then the result is lazy, in the rows' order, and the features are the same
    assert isinstance(new, pl.LazyFrame)
    names = feature_names(CONFIG)
    assert own.collect().select(names).equals(new.collect().select(names))
    assert new.collect_schema().names() == ["data", "codigo_catalogo", "material_ou_servico", *names]


@pytest.mark.parametrize("window_days", [1, 30, 365, 3650])
def test_history_index_gives_past_stats_exactly(window_days):
    # given real rows (spread dates: many dates per code) as a fixed history, and queries on their dates, a day
    # later and a year later, with a null unit and a code never seen among them
    history = dataset.from_siasg(spread=True).collect()
    sample = history.sample(300, seed=7)
    queries = pl.concat(
        [
            sample,
            sample.with_columns(pl.col("data") + pl.duration(days=1)),
            sample.with_columns(pl.col("data") + pl.duration(days=365)),
            rows((date(2021, 5, 5), "nunca-visto", None, 1.0), (date(2021, 5, 5), None, "UN", 1.0)),
        ]
    )
    queries = queries.with_row_index("_row")
    keys = ["codigo_catalogo", "unidade"]
    # when described by past_stats (polars) and by the index (lookups)
    expected = past_stats(
        queries.lazy(),
        history.lazy(),
        keys=keys,
        required=keys[:1],
        value=pl.col("preco_unitario").log(),
        window_days=window_days,
        prefix="h",
    ).sort("_row")
    found = HistoryIndex(history).past_stats(
        queries, keys=keys, required=keys[:1], value=pl.col("preco_unitario").log(), window_days=window_days, prefix="h"
    )
    # then both give the same counts and medians for every row (window edges, same date, unseen groups included)
    expected = expected.collect()
    assert found["h_n"].to_list() == expected["h_n"].to_list()
    assert found["h_median"].is_null().to_list() == expected["h_median"].is_null().to_list()
    assert (found["h_median"] - expected["h_median"]).abs().max() < 1e-12
    assert 0 < expected["h_n"].filter(expected["h_n"] > 0).len() < queries.height


def test_served_history_path_gives_the_training_path_features():
    # given a model's encodings and its history, and a few new rows (one with a new code, one without a unit)
    history = dataset.from_siasg(spread=True).collect()
    encodings = Encodings.fit(history)
    new = pl.concat(
        [
            history.sample(40, seed=3).with_columns(pl.col("data") + pl.duration(days=200)),
            rows((date(2022, 8, 1), "nunca-visto", None, 1.0, "CANETA ESFEROGRAFICA AZUL")),
        ]
    ).drop("preco_unitario")
    # when featurised against the history as a frame (polars query) and as a served index (eager, lookups)
    query = build_features(new, encodings=encodings, history=history, config=CONFIG).collect()
    served = build_features(new, encodings=encodings, history=served_history(history), config=CONFIG).collect()
    # then the features are the same, in the same order
    names = feature_names(CONFIG)
    assert served.columns == query.columns
    for name in names:
        assert served[name].is_null().to_list() == query[name].is_null().to_list(), name
        assert ((served[name] - query[name]).abs().max() or 0.0) < 1e-12, name


def test_reference_is_the_in65_median_else_the_longer_past_and_never_the_rows_date():
    # given code A priced in 2020, in 2022 and on the query's own date; B only in 2019; C never
    history = rows(
        (date(2020, 1, 1), "A", "UN", 1000.0),
        (date(2022, 1, 1), "A", "UN", 10.0),
        (date(2022, 6, 1), "A", "UN", 5000.0),
        (date(2019, 1, 1), "B", "UN", 7.0),
        (date(2022, 3, 1), "A", "CX", 99.0),
    )
    queries = rows(
        (date(2022, 6, 1), "A", "UN", 1.0), (date(2022, 6, 1), "B", "UN", 1.0), (date(2022, 6, 1), "C", "UN", 1.0)
    ).drop("preco_unitario")
    # when featurised with the IN 65 window of a year
    features = build_features(queries, encodings=Encodings.fit(history), history=history, config=CONFIG).collect()
    # then A's reference is the year before (not 2020, not its own date, not another unit); B falls back to the
    # older past; C has none
    assert features["hist_in65_n"].to_list() == [1.0, 0.0, 0.0]
    assert features["ref_median"].exp().round(6).to_list() == [10.0, 7.0, None]
    assert features["ref_level"].to_list() == [1.0, 2.0, 0.0]


def test_reference_of_a_row_does_not_move_when_its_own_or_later_prices_change():
    # given real rows with spread dates, and the same rows with every price from 1 July 2021 on multiplied by 100
    frame = dataset.from_siasg(spread=True).collect()
    cutoff = date(2021, 7, 1)
    changed = frame.with_columns(
        pl.when(pl.col("data") >= cutoff)
        .then(pl.col("preco_unitario") * 100)
        .otherwise(pl.col("preco_unitario"))
        .alias("preco_unitario")
    )
    encodings = Encodings.fit(frame)
    names = ["hist_in65_median", "hist_in65_n", "ref_median", "ref_level"]
    # when both are featurised
    before = build_features(frame, encodings=encodings, config=CONFIG).collect()
    after = build_features(changed, encodings=encodings, config=CONFIG).collect()
    # then the reference of every row up to the cutoff's date is the same, and later ones did move
    upto = (frame["data"] <= cutoff).to_list()
    assert before.filter(upto).select(names).equals(after.filter(upto).select(names))
    assert not before.select(names).equals(after.select(names))


def test_siasg_with_spread_dates_keeps_rows_and_years_and_gives_each_purchase_one_day():
    # given the seed with 1 July dates and with dates spread by a hash of the purchase
    plain, spread = dataset.from_siasg().collect(), dataset.from_siasg(spread=True).collect()
    # then the same rows and prices, the same years, one date per purchase, many days of the year
    dataset.validate(spread)
    assert spread.drop("data").equals(plain.drop("data"))
    assert spread["data"].dt.year().equals(plain["data"].dt.year())
    assert spread.group_by("numero_controle_pncp").agg(pl.col("data").n_unique())["data"].max() == 1
    assert spread.filter(pl.col("data").dt.year() < 2022)["data"].n_unique() > 300
    assert spread["data"][1] == dataset.spread_day("01000105000652017", 2017) == date(2017, 4, 6)
