"""Features of an awarded price, built lazily with polars from the dataset of ``tasks.prices.dataset``.

Per row (``feature_names`` gives the order the model sees):

- categorical codes (``Encodings``): ``cat_catalogo``, ``cat_unidade``, ``cat_uf``, ``cat_regiao`` (the UF's region),
  ``cat_modalidade``, ``cat_tipo`` (M/S); 0 is reserved for a value not seen in training, null stays null;
- calendar and size: ``mes`` (month), ``log_quantidade`` (log1p of the quantity); no year: trees cannot
  extrapolate to a year after the training data (on SIASG, mean MdAPE over the test years 2020–2022 was 0.71 with
  the year, 0.68 without);
- text of the description (``tasks.prices.text``): ``txt_*``, ``num_*`` and ``hash_NN``;
- leak-free history (``tasks.prices.history``), in log price: median and count of past prices strictly before the
  row's date within ``history_days`` (default 3650, in practice all the past: on SIASG, mean MdAPE over the test
  years 2020–2022 was 0.68 against 0.71 with 1095 days), by catalogue code (``hist_code_*``), by code and unit
  (``hist_code_unit_*``) and, as a fallback for items without a code or whose code is new, by the description's
  key and unit (``hist_desc_*``). An unstated unit (null) compares with the other unstated units. Every count
  (``*_n``) is capped at ``count_cap`` (default 3, the IN 65 minimum of comparables): raw counts grow with the
  history, so at prediction time they left the range the trees were trained on (CATMAT series, train 2022 / test
  2023: up to 47,000 against ≤ 15,300, MdAPE 3.80 against 0.94 with the cap). The cap was chosen on validation
  splits before the test years (SIASG train ≤ 2019 / test 2020, series 2022 H1 / H2), MdAPE on all rows: no cap
  0.704/0.977, 3 → 0.692/0.941, 10 → 0.700/0.950, 30 → 0.704/0.946, 100 → 0.704/0.939; counts and medians within
  365 days instead of a cap: 0.830/0.977;
- the IN 65 reference, leak-free as well: ``hist_in65_median``/``hist_in65_n``, median (log) and count of the same
  code and unit within ``reference_days`` (365, the baseline's comparables), and ``ref_median``/``ref_level``, the
  first of ``REFERENCES[reference_levels]`` the row has (default: the IN 65 median, else the code-and-unit median
  of all the past; level 1, 2, or 0 without any). Measured on SIASG (test years 2020–2022, each trained on the
  earlier years; MdAPE on the rows the baseline covers, dates on 1 July / spread over the year): with the four
  features 0.61/0.70 (2021/2022) and 0.59/0.61/0.71 (2020/2021/2022); with the IN 65 pair alone 0.66/0.75 and
  0.59/0.63/0.87; without either (before) 0.69/0.70 and 0.59/0.63/0.86. Tried and not kept: predicting the residual
  log(price) − ``ref_median`` (0.76/0.82, 0.63/0.68/0.84) and LightGBM linear leaves (0.80/0.86, 0.83/0.87/0.75).

The history comes from ``history`` (past prices, e.g. the training rows) when given, else from the rows themselves:
training featurises its rows against themselves; a new item is featurised against the training data.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass, field
from typing import TypeVar

import polars as pl

from tasks.pncp.parse import fold
from tasks.prices import text
from tasks.prices.dataset import PRICE, validate
from tasks.prices.history import ROW, HistoryIndex, past_stats

F = TypeVar("F", pl.LazyFrame, pl.DataFrame)
UNKNOWN = 0
INDEX_ROWS = 256  # rows priced against a HistoryIndex by lookups; more go through the polars query
REGIONS = {
    "Norte": ("AC", "AM", "AP", "PA", "RO", "RR", "TO"),
    "Nordeste": ("AL", "BA", "CE", "MA", "PB", "PE", "PI", "RN", "SE"),
    "Centro-Oeste": ("DF", "GO", "MS", "MT"),
    "Sudeste": ("ES", "MG", "RJ", "SP"),
    "Sul": ("PR", "RS", "SC"),
}
REGION_OF = {uf: region for region, ufs in REGIONS.items() for uf in ufs}


def region(uf: pl.Expr) -> pl.Expr:
    return uf.str.to_uppercase().replace_strict(REGION_OF, default=None, return_dtype=pl.String)


CATEGORIES: dict[str, pl.Expr] = {  # feature → the raw value it encodes
    "cat_catalogo": pl.col("codigo_catalogo"),
    "cat_unidade": pl.col("unidade"),
    "cat_uf": pl.col("uf"),
    "cat_regiao": region(pl.col("uf")),
    "cat_modalidade": pl.col("modalidade_id").cast(pl.String),
    "cat_tipo": pl.col("material_ou_servico"),
}
HISTORY = {
    "hist_code": ["codigo_catalogo"],
    "hist_code_unit": ["codigo_catalogo", "unidade"],
    "hist_desc": ["_description_key", "unidade"],
}
IN65 = "hist_in65"  # code and unit within ``reference_days``: the IN 65 baseline's median, as a feature
REFERENCES = {  # reference_levels → the medians tried in turn for a row's reference price (log)
    "in65": [f"{IN65}_median"],
    "code_unit": [f"{IN65}_median", "hist_code_unit_median"],
    "code": [f"{IN65}_median", "hist_code_unit_median", "hist_code_median"],
    "all": [f"{IN65}_median", "hist_code_unit_median", "hist_code_median", "hist_desc_median"],
}


@dataclass(frozen=True)
class FeatureConfig:
    hash_buckets: int = 32
    history_days: int = 3650
    reference_days: int = 365
    reference_levels: str = "code_unit"
    count_cap: int | None = 3


def feature_names(config: FeatureConfig) -> list[str]:
    return [
        *CATEGORIES,
        "mes",
        "log_quantidade",
        "txt_chars",
        "txt_tokens",
        "txt_numbers",
        *[f"num_{name}" for name in text.DIMENSIONS],
        *text.hash_columns(config.hash_buckets),
        *[f"{prefix}_{stat}" for prefix in [*HISTORY, IN65] for stat in ("median", "n")],
        "ref_median",
        "ref_level",
    ]


def reference(config: FeatureConfig) -> tuple[pl.Expr, pl.Expr]:
    """A row's reference price (log) and its level: 1 for the first median of ``REFERENCES[reference_levels]``
    that the row has (the IN 65 comparables), 2 for the next…; null and 0 without any."""
    medians = REFERENCES[config.reference_levels]
    level = pl.lit(0, pl.Int32)
    for index, name in reversed(list(enumerate(medians, start=1))):
        level = pl.when(pl.col(name).is_not_null()).then(pl.lit(index, pl.Int32)).otherwise(level)
    return pl.coalesce(medians).alias("ref_median"), level.cast(pl.Float64).alias("ref_level")


@dataclass
class Encodings:
    """Category → integer code per categorical feature, fitted on training rows; codes start at 1 (0: unseen)."""

    codes: dict[str, dict[str, int]] = field(default_factory=dict)
    _expressions: list[pl.Expr] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def fit(cls, frame: pl.LazyFrame | pl.DataFrame, *, min_count: int = 1) -> Encodings:
        """Values seen at least ``min_count`` times get a code (sorted, so the same rows give the same codes)."""
        seen = frame.lazy().select([expr.alias(name) for name, expr in CATEGORIES.items()]).collect()
        codes = {}
        for name in CATEGORIES:
            counts = seen[name].drop_nulls().value_counts()
            values = sorted(counts.filter(pl.col("count") >= min_count)[name].to_list())
            codes[name] = {value: code for code, value in enumerate(values, start=1)}
        return cls(codes)

    def expressions(self) -> list[pl.Expr]:
        """One expression per categorical feature (built once per instance: a code table of thousands of values
        costs ~2 ms to turn into an expression, more than encoding one row)."""
        if self._expressions is None:
            self._expressions = [
                pl.when(expr.is_null())
                .then(None)
                .otherwise(expr.replace_strict(self.codes.get(name, {}), default=UNKNOWN, return_dtype=pl.Int32))
                .alias(name)
                for name, expr in CATEGORIES.items()
            ]
        return self._expressions

    def to_json(self) -> str:
        return json.dumps({"unknown": UNKNOWN, "codes": self.codes}, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, document: str) -> Encodings:
        loaded = json.loads(document)
        if not isinstance(loaded, dict) or not isinstance(loaded.get("codes"), dict):
            raise ValueError("codificação de categorias inválida: objeto 'codes' ausente")
        return cls(
            {
                name: {str(value): int(code) for value, code in mapping.items()}
                for name, mapping in loaded["codes"].items()
            }
        )


FOLDED = "_folded"


def _keys(frame: pl.LazyFrame) -> pl.LazyFrame:
    """The description folded once (``FOLDED``) and its key; every text feature reads the folded column."""
    return frame.with_columns(text.fold_expr(pl.col("descricao")).alias(FOLDED)).with_columns(
        text.description_key(pl.col(FOLDED)).alias("_description_key")
    )


def prepared(history: pl.LazyFrame | pl.DataFrame) -> pl.LazyFrame:
    """The history with its folded description and key, computed once (a frame that has them is used as is: a
    served model keeps its history prepared, so a prediction does not fold thousands of descriptions again)."""
    lazy = history.lazy()
    return lazy if FOLDED in lazy.collect_schema() else _keys(lazy)


def served_history(history: pl.LazyFrame | pl.DataFrame) -> HistoryIndex:
    """A loaded model's history, prepared and indexed for answering a few rows at a time."""
    return HistoryIndex(prepared(history).collect())


def build_features(
    frame: pl.LazyFrame | pl.DataFrame,
    *,
    encodings: Encodings,
    history: pl.LazyFrame | pl.DataFrame | HistoryIndex | None = None,
    config: FeatureConfig = FeatureConfig(),
) -> pl.LazyFrame:
    """The rows' features (``feature_names(config)``) in the rows' order, lazily; ``preco_unitario`` is kept when
    the rows have it (the target), as are ``data``, ``codigo_catalogo``, ``material_ou_servico`` (for reports).

    ``history`` holds past prices (same schema, with prices); without it the rows are their own history. A
    ``HistoryIndex`` (a served model's fixed history) with up to ``INDEX_ROWS`` rows in a DataFrame takes the path
    for a few rows: the same expressions evaluated eagerly and the history statistics looked up (one item: ~5 ms
    instead of ~17: a lazy query's planning costs more than its work on one row).
    """
    validate(frame, prices=history is None)
    windows = {
        **{prefix: (keys, config.history_days) for prefix, keys in HISTORY.items()},
        IN65: (HISTORY["hist_code_unit"], config.reference_days),
    }
    log_price = pl.col(PRICE).log()
    index = history if isinstance(history, HistoryIndex) else None
    if index is not None and isinstance(frame, pl.DataFrame) and frame.height <= INDEX_ROWS:
        folded = [fold(description or "") for description in frame["descricao"].to_list()]
        rows = frame.with_row_index(ROW).with_columns(
            pl.Series(FOLDED, folded, dtype=pl.String),
            pl.Series("_description_key", [text.description_key_value(value) for value in folded], dtype=pl.String),
        )
        records = rows.select(
            pl.col("data").cast(pl.Int32), *{key for keys in HISTORY.values() for key in keys}
        ).to_dicts()
        found: dict[str, list] = {}
        for prefix, (keys, days) in windows.items():
            found |= index.lookup(
                records, keys=keys, required=keys[:1], value=log_price, window_days=days, prefix=prefix
            )
        stats = pl.DataFrame(found, schema=dict.fromkeys(found, pl.Float64))
        return _assemble_few(rows, stats, encodings, config, list(windows)).lazy()
    if index is not None:
        history = index.frame
    if history is not None:
        validate(history)
    rows = _keys(frame.lazy()).with_row_index(ROW)
    past = prepared(history) if history is not None else rows
    stats = [
        past_stats(
            rows,
            past,
            keys=keys,
            required=keys[:1],
            value=log_price,
            window_days=days,
            prefix=prefix,
            narrow=history is not None,
        )
        for prefix, (keys, days) in windows.items()
    ]
    return _assemble(rows, stats, encodings, config, list(windows))


def _kept(rows: pl.LazyFrame | pl.DataFrame) -> list[str]:
    return [name for name in (PRICE, "data", "codigo_catalogo", "material_ou_servico") if name in rows.collect_schema()]


def _finish(out: F, config: FeatureConfig, prefixes: list[str], kept: list[str]) -> F:
    counts = [f"{prefix}_n" for prefix in prefixes]
    capped = pl.col(counts).clip(upper_bound=config.count_cap) if config.count_cap else pl.col(counts)
    return out.with_columns(*reference(config), capped).select(*kept, *feature_names(config))


def _assemble(
    rows: pl.LazyFrame, stats: list[pl.LazyFrame], encodings: Encodings, config: FeatureConfig, prefixes: list[str]
) -> pl.LazyFrame:
    """The feature columns of ``rows`` (keyed, with ``_row``) joined with their history ``stats``."""
    kept = _kept(rows)
    out = rows.select(ROW, *kept, *encodings.expressions(), *_row_expressions())
    for part in [text.hashed_tokens(rows, config.hash_buckets, folded=FOLDED), *stats]:
        out = out.join(part, on=ROW, how="left")
    return _finish(out.sort(ROW), config, prefixes, kept)


def _assemble_few(
    rows: pl.DataFrame, stats: pl.DataFrame, encodings: Encodings, config: FeatureConfig, prefixes: list[str]
) -> pl.DataFrame:
    """``_assemble`` for a few rows in memory: the categorical and numeric expressions in one select, the text
    features and token buckets in Python (``text.scalar_values``, ``text.bucket_counts``, tested equal to the
    expressions) and the parts, all in the rows' order, put side by side instead of joined (an eager join costs
    ~0.3 ms whatever its size)."""
    kept = _kept(rows)
    out = rows.select(*kept, *encodings.expressions(), *_row_expressions()[:2])
    folded = rows[FOLDED].to_list()
    scalars = pl.DataFrame(
        [text.scalar_values(description) for description in folded],
        schema=dict.fromkeys(text.SCALAR_NAMES, pl.Float64),
        orient="row",
    )
    buckets = pl.DataFrame(
        text.bucket_counts(folded, config.hash_buckets), schema=text.hash_columns(config.hash_buckets)
    )
    return _finish(pl.concat([out, scalars, buckets, stats], how="horizontal"), config, prefixes, kept)


@functools.cache
def _row_expressions() -> tuple[pl.Expr, ...]:
    """Calendar, size and description features (built once: building the text expressions costs ~1 ms)."""
    return (
        pl.col("data").dt.month().cast(pl.Float64).alias("mes"),
        pl.col("quantidade").clip(lower_bound=0).log1p().alias("log_quantidade"),
        *text.scalar_features(pl.col(FOLDED), folded=True),
    )


def to_config(params: dict) -> FeatureConfig:
    return FeatureConfig(**{key: params[key] for key in asdict(FeatureConfig()) if key in params})
