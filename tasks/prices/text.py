"""Cheap, deterministic features of an item's description, as polars expressions and lazy frames.

- ``fold_expr``: ``tasks.pncp.parse.fold`` in polars (NFKD, non-ASCII dropped, spaces collapsed, lower case);
- ``txt_chars``, ``txt_tokens``, ``txt_numbers``: length in characters, word tokens, numbers;
- ``num_<dimension>``: log1p of the largest quantity of that dimension written in the text, in a base unit
  ("8 GB" → gb 8; "1 TB" → gb 1000; "500 ML" / "1,5 L" → ml; "2 KG" → g; "300 W"; "220 V"; "23 POL" / 23"; "12.000
  BTUS"; "3,2 GHZ"; "50 MM" / "2 M" → mm); null when absent;
- ``hash_NN``: the description's folded tokens (3+ characters, stop words out) hashed with CRC-32 into N buckets,
  each column the count of tokens in its bucket (stable across runs, machines and polars versions);
- ``description_key``: the first two significant words before the first comma (the item's name, e.g. "cabo
  eletrico" of "CABO ELÉTRICO FLEXÍVEL, APLICAÇÃO …"), the key of the history fallback for items without a code.
"""

from __future__ import annotations

import math
import re
import zlib

import numpy as np
import polars as pl

STOPWORDS = ("para", "com", "sem", "dos", "das", "por", "uma", "que", "nome", "tipo", "and", "the")
NUMBER = r"\d+(?:[.,]\d+)*"
DIMENSIONS: dict[str, tuple[tuple[str, float], ...]] = {  # unit pattern on folded text → factor to the base unit
    "gb": ((r"gb", 1.0), (r"tb", 1000.0), (r"mb", 0.001)),
    "ml": ((r"ml|mililitros?", 1.0), (r"l|lts?|litros?", 1000.0)),
    "g": ((r"g|gr|gramas?", 1.0), (r"kg|quilos?|quilogramas?", 1000.0), (r"mg|miligramas?", 0.001)),
    "w": ((r"w|watts?", 1.0), (r"kw|kva", 1000.0)),
    "v": ((r"v|volts?|vca|vcc", 1.0),),
    "pol": ((r"pol|polegadas?", 1.0),),
    "btu": ((r"btus?", 1.0),),
    "ghz": ((r"ghz", 1.0), (r"mhz", 0.001)),
    "mm": ((r"mm", 1.0), (r"cm", 10.0), (r"m|metros?", 1000.0)),
}


def fold_expr(expr: pl.Expr) -> pl.Expr:
    """``tasks.pncp.parse.fold`` as an expression: accents and other non-ASCII out, spaces collapsed, lower case."""
    return (
        expr.fill_null("")
        .str.normalize("NFKD")
        .str.replace_all(r"[^\x00-\x7f]", "")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
        .str.to_lowercase()
    )


def parse_number(expr: pl.Expr) -> pl.Expr:
    """Brazilian or plain number text → Float64: "1.000,50" → 1000.5; "12.000" → 12000; "1.5" and "1,5" → 1.5."""
    thousands = expr.str.contains(r"^\d{1,3}(\.\d{3})+(,\d+)?$")
    plain = pl.when(thousands).then(expr.str.replace_all(r"\.", "", literal=False)).otherwise(expr)
    return plain.str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)


def _dimension(folded: pl.Expr, units: tuple[tuple[str, float], ...]) -> pl.Expr:
    values = [
        folded.str.extract_all(rf"{NUMBER}\s?(?:{pattern})\b")
        .list.eval(parse_number(pl.element().str.extract(rf"^({NUMBER})")) * factor)
        .list.max()
        for pattern, factor in units
    ]
    return pl.max_horizontal(values).log1p()


def _inches(folded: pl.Expr) -> pl.Expr:
    return (
        folded.str.extract_all(rf"{NUMBER}\s?\"")
        .list.eval(parse_number(pl.element().str.extract(rf"^({NUMBER})")))
        .list.max()
        .log1p()
    )


def tokens(folded: pl.Expr) -> pl.Expr:
    """Significant tokens: 3+ letters or digits, stop words out, in order."""
    return folded.str.extract_all(r"[a-z0-9]{3,}").list.eval(pl.element().filter(~pl.element().is_in(STOPWORDS)))


def description_key(folded: pl.Expr) -> pl.Expr:
    name = folded.str.split(",").list.first()
    words = name.str.extract_all(r"[a-z]{3,}").list.eval(pl.element().filter(~pl.element().is_in(STOPWORDS)))
    key = words.list.head(2).list.join(" ")
    return pl.when(key == "").then(None).otherwise(key)


_NAME_WORD = re.compile(r"[a-z]{3,}")


def description_key_value(folded: str) -> str | None:
    """``description_key`` of one folded description, in Python (tested equal)."""
    words = [word for word in _NAME_WORD.findall(folded.split(",")[0]) if word not in STOPWORDS]
    return " ".join(words[:2]) or None


def scalar_features(descricao: pl.Expr, *, folded: bool = False) -> list[pl.Expr]:
    """Length, counts and the quantities of each dimension written in the description (``folded``: ``descricao``
    is already ``fold_expr``'s output, e.g. a column folded once; folding is the dearest step, and polars does not
    share it between the expressions below)."""
    folded = descricao if folded else fold_expr(descricao)
    out = [
        folded.str.len_chars().cast(pl.Float64).alias("txt_chars"),
        tokens(folded).list.len().cast(pl.Float64).alias("txt_tokens"),
        folded.str.count_matches(NUMBER).cast(pl.Float64).alias("txt_numbers"),
    ]
    for name, units in DIMENSIONS.items():
        value = _dimension(folded, units)
        if name == "pol":
            value = pl.max_horizontal(value, _inches(folded))
        out.append(value.alias(f"num_{name}"))
    return out


SCALAR_NAMES = ["txt_chars", "txt_tokens", "txt_numbers", *[f"num_{name}" for name in DIMENSIONS]]
_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+(,\d+)?$")
_NUMBER = re.compile(NUMBER)
_LEADING_NUMBER = re.compile(rf"^({NUMBER})")
_TOKEN = re.compile(r"[a-z0-9]{3,}")
_INCHES = re.compile(rf"{NUMBER}\s?\"")
_UNIT_PATTERNS = {
    name: [(re.compile(rf"{NUMBER}\s?(?:{pattern})\b"), factor) for pattern, factor in units]
    for name, units in DIMENSIONS.items()
}


def _number_value(raw: str) -> float | None:
    """``parse_number`` on one text."""
    plain = raw.replace(".", "") if _THOUSANDS.match(raw) else raw
    try:
        return float(plain.replace(",", ".", 1))
    except ValueError:
        return None


def _largest(pattern: re.Pattern, folded: str, factor: float = 1.0) -> float | None:
    values = [
        value * factor
        for match in pattern.findall(folded)
        if (value := _number_value(_LEADING_NUMBER.match(match).group(1))) is not None
    ]
    return max(values) if values else None


def scalar_values(folded: str) -> list[float | None]:
    """``scalar_features`` of one folded description, in Python (``SCALAR_NAMES`` order): for a few rows, where the
    polars expressions cost ~3 ms of planning for microseconds of work. Tested equal to the expressions."""
    out: list[float | None] = [
        float(len(folded)),
        float(sum(1 for token in _TOKEN.findall(folded) if token not in STOPWORDS)),
        float(len(_NUMBER.findall(folded))),
    ]
    for name, patterns in _UNIT_PATTERNS.items():
        found = [value for pattern, factor in patterns if (value := _largest(pattern, folded, factor)) is not None]
        if name == "pol" and (inches := _largest(_INCHES, folded)) is not None:
            found.append(inches)
        out.append(math.log1p(max(found)) if found else None)
    return out


def _bucket(values: pl.Series, buckets: int) -> pl.Series:
    return pl.Series([zlib.crc32(value.encode()) % buckets for value in values], dtype=pl.Int64)


def bucket_counts(folded: list[str], buckets: int) -> np.ndarray:
    """``hashed_tokens``' counts (rows × buckets) of a few folded descriptions, in Python."""
    counts = np.zeros((len(folded), buckets))
    for row, description in enumerate(folded):
        for token in _TOKEN.findall(description):
            if token not in STOPWORDS:
                counts[row, zlib.crc32(token.encode()) % buckets] += 1.0
    return counts


def hash_columns(buckets: int) -> list[str]:
    return [f"hash_{index:02d}" for index in range(buckets)]


def hashed_tokens(rows: pl.LazyFrame, buckets: int, *, index: str = "_row", folded: str | None = None) -> pl.LazyFrame:
    """``index`` plus one count column per bucket, for every row of ``rows`` (which has ``index`` and ``descricao``,
    or the column ``folded`` holding the description already folded)."""
    names = hash_columns(buckets)
    text = pl.col(folded) if folded else fold_expr(pl.col("descricao"))
    exploded = rows.select(index, tokens(text).alias("token")).explode("token").drop_nulls()
    vocabulary = (
        exploded.select("token")
        .unique()
        .with_columns(
            pl.col("token")
            .map_batches(lambda values: _bucket(values, buckets), return_dtype=pl.Int64, is_elementwise=True)
            .alias("bucket")
        )
    )
    counts = (
        exploded.join(vocabulary, on="token")
        .group_by(index)
        .agg([(pl.col("bucket") == number).sum().cast(pl.Float64).alias(name) for number, name in enumerate(names)])
    )
    return rows.select(index).join(counts, on=index, how="left").with_columns(pl.col(names).fill_null(0.0))
