"""The price-model dataset: one row per awarded unit price, its schema, and the bundled seeds in that shape.

The caller builds it from the market tables (an item's result: its date, catalogue code, description, normalised
unit, quantity, unit price, UF, modalidade, material/serviço and the purchase's control number); the tests and
benchmarks build it from the parquet files in ``seeds/prices`` (see ``from_siasg`` and ``from_series``).
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from tasks.pncp.parse import normalise_unit

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "prices"
SIASG = SEEDS / "siasg_homologados_2016_2022.parquet"
SERIES = SEEDS / "series_catmat.parquet"

SCHEMA: dict[str, pl.DataType] = {
    "data": pl.Date(),
    "codigo_catalogo": pl.String(),
    "descricao": pl.String(),
    "unidade": pl.String(),
    "quantidade": pl.Float64(),
    "preco_unitario": pl.Float64(),
    "uf": pl.String(),
    "modalidade_id": pl.Int64(),
    "material_ou_servico": pl.String(),
    "numero_controle_pncp": pl.String(),
}
PRICE = "preco_unitario"


def validate(frame: pl.LazyFrame | pl.DataFrame, *, prices: bool = True) -> None:
    """Raise ValueError naming the missing columns and those of the wrong type; extra columns are allowed.

    ``prices=False`` is for rows to price (``preco_unitario`` may be absent). A DataFrame (already in memory)
    is also checked for values: no null date and no price that is null, zero or negative.
    """
    schema = frame.collect_schema() if isinstance(frame, pl.LazyFrame) else frame.schema
    expected = {name: dtype for name, dtype in SCHEMA.items() if prices or name != PRICE}
    missing = [name for name in expected if name not in schema]
    wrong = [
        f"{name} (esperado {dtype}, recebido {schema[name]})"
        for name, dtype in expected.items()
        if name in schema and schema[name] != dtype
    ]
    problems = ([f"colunas ausentes: {', '.join(missing)}"] if missing else []) + (
        [f"tipos errados: {', '.join(wrong)}"] if wrong else []
    )
    if problems:
        raise ValueError(f"dataset de preços inválido: {'; '.join(problems)}")
    if isinstance(frame, pl.DataFrame):
        if nulls := frame["data"].null_count():
            raise ValueError(f"dataset de preços inválido: {nulls} linha(s) sem data")
        if prices and (bad := frame.filter(pl.col(PRICE).is_null() | (pl.col(PRICE) <= 0)).height):
            raise ValueError(f"dataset de preços inválido: {bad} linha(s) com preco_unitario ausente, zero ou negativo")


def _blank_to_null(name: str) -> pl.Expr:
    text = pl.col(name).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _units(raw: pl.Expr) -> pl.Expr:
    return raw.map_elements(normalise_unit, return_dtype=pl.String, skip_nulls=True)


def spread_day(id_licitacao: str, year: int) -> date:
    """A day of ``year`` fixed by a hash of the purchase (as ``tasks.pncp.sample``): the same purchase, the same day."""
    spread = int(hashlib.sha256(id_licitacao.encode()).hexdigest()[:8], 16) % 365
    return date(year, 1, 1) + timedelta(days=min(spread, 364 if year % 4 else 365))


def from_siasg(path: Path = SIASG, *, spread: bool = False) -> pl.LazyFrame:
    """SIASG homologated items (2016–2022) as the dataset.

    ``data`` is ``data_publicacao`` when set (109 rows, all of 2022), else 1 July of ``ano_aviso`` (the file has
    only the year of the notice for the rest) or, with ``spread``, a day of that year fixed by a hash of
    ``id_licitacao`` (``spread_day``, as the PNCP sample does: the real collection's dates fall all over the year,
    so prices of the same year are history for one another); ``preco_unitario`` is ``valor_total_item /
    quantidade``; the unit is normalised with ``tasks.pncp.parse.normalise_unit``; the purchase key is
    ``id_licitacao`` and the modalidade its digits 7–8 (UASG 6 + modalidade 2 + número 5 + ano 4);
    ``material_ou_servico`` is ``tipo`` as M/S.
    """
    published = _blank_to_null("data_publicacao").str.to_date("%Y-%m-%d", strict=False)
    mid_year = pl.date(pl.col("ano_aviso").cast(pl.Int32), 7, 1)
    if spread:
        mid_year = pl.struct("id_licitacao", "ano_aviso").map_elements(
            lambda row: spread_day(row["id_licitacao"], int(row["ano_aviso"])), return_dtype=pl.Date
        )
    quantity = pl.col("quantidade").cast(pl.Float64)
    return (
        pl.scan_parquet(path)
        .select(
            pl.coalesce(published, mid_year).alias("data"),
            _blank_to_null("codigo_catalogo").alias("codigo_catalogo"),
            pl.col("descricao_catalogo").fill_null("").alias("descricao"),
            _units(_blank_to_null("unidade")).alias("unidade"),
            quantity.alias("quantidade"),
            (pl.col("valor_total_item").cast(pl.Float64) / quantity).alias(PRICE),
            _blank_to_null("uf").alias("uf"),
            pl.col("id_licitacao").str.slice(6, 2).cast(pl.Int64, strict=False).alias("modalidade_id"),
            pl.col("tipo").replace_strict({"material": "M", "servico": "S"}, default=None).alias("material_ou_servico"),
            pl.col("id_licitacao").alias("numero_controle_pncp"),
        )
        .filter((pl.col("quantidade") > 0) & (pl.col(PRICE) > 0))
    )


def from_series(path: Path = SERIES) -> pl.LazyFrame:
    """The dated CATMAT series (9 codes, 2022-01 to 2023-10) as the dataset.

    The file has no description, UF nor modalidade (left empty/null); all codes are materials; each row is taken as
    its own purchase (``serie-<id>``, ``id`` being the row's purchase record); the unit (mostly blank) is normalised.
    """
    return (
        pl.scan_parquet(path)
        .select(
            pl.col("data").str.to_date("%Y-%m-%d").alias("data"),
            _blank_to_null("catmat_id").alias("codigo_catalogo"),
            pl.lit("").alias("descricao"),
            _units(_blank_to_null("unidade")).alias("unidade"),
            pl.col("quantidade").cast(pl.Float64).alias("quantidade"),
            pl.col("valor_unitario").cast(pl.Float64).alias(PRICE),
            pl.lit(None, pl.String).alias("uf"),
            pl.lit(None, pl.Int64).alias("modalidade_id"),
            pl.lit("M").alias("material_ou_servico"),
            ("serie-" + pl.col("id")).alias("numero_controle_pncp"),
        )
        .filter((pl.col("quantidade") > 0) & (pl.col(PRICE) > 0))
    )
