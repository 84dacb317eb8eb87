"""Monthly price indices for the correction of collected prices (IN SEGES/ME nº 65/2021, art. 5º): the series
shipped in ``seeds/indices`` (IPCA número-índice, see its README for the provenance), overridden month by month by
what the operators import into ``price_index_values`` (``nexora prices index import FILE``).

A file is ``mes;numero_indice`` (or with commas between the columns), a header line, then one line a month
``AAAA-MM;valor`` in ascending consecutive months; the value with a decimal comma or point. A file is taken whole or
not at all: ``parse_series`` refuses it on the first bad line, naming the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from models.db import table_of, utcnow
from models.price_index import PriceIndexValue
from tasks.prices.research import PriceIndex

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "indices"
HEADER = ("mes", "numero_indice")
NAME = re.compile(r"^[A-Z0-9_-]{1,20}$")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
PLACES = Decimal("0.000001")  # the column's scale: Numeric(20, 6)

Month = tuple[int, int]


class IndexFileError(ValueError):
    """A series file (or an import) that cannot be taken: the message names the line and the fix."""


@dataclass(frozen=True)
class IndexMonth:
    """One month of a series as the platform uses it, and where its value comes from."""

    year: int
    month: int
    value: float
    origin: str  # "shipped" (seeds/indices) or "imported" (price_index_values)
    shipped_value: float | None = None
    source: str = ""
    imported_at: datetime | None = None


def index_name(name: str) -> str:
    normalized = (name or "").strip().upper()
    if not NAME.match(normalized):
        raise IndexFileError(f"nome de índice inválido: {name!r} (use letras, dígitos, '-' ou '_', até 20)")
    return normalized


def _next(month: Month) -> Month:
    year, m = month
    return (year + 1, 1) if m == 12 else (year, m + 1)


def _label(month: Month) -> str:
    return f"{month[1]:02d}/{month[0]}"


def _number(text: str) -> Decimal:
    raw = text.strip().replace(" ", "")
    if "," in raw:
        raw = raw.replace(".", "").replace(",", ".")  # 7.633,23 or 7633,23
    return Decimal(raw)


def parse_series(source: str | Path, today: date | None = None) -> list[tuple[int, int, float]]:
    """The (year, month, value) rows of a series file (a path or its text), or IndexFileError on the first bad
    line: the header, a month that is not AAAA-MM, repeated, out of order, after a gap, or later than this month,
    a value that is not a positive number."""
    text = source.read_text(encoding="utf-8-sig") if isinstance(source, Path) else source.lstrip("\ufeff")
    today = today or date.today()
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise IndexFileError("arquivo vazio: a primeira linha deve ser o cabeçalho mes;numero_indice")
    number, header = lines[0]
    separator = ";" if ";" in header else ","
    if tuple(h.strip().lower() for h in header.split(separator)) != HEADER:
        raise IndexFileError(f"linha {number}: cabeçalho {header!r}; esperado mes;numero_indice (ou mes,numero_indice)")
    rows: list[tuple[int, int, float]] = []
    previous: Month | None = None
    seen: set[Month] = set()
    for number, line in lines[1:]:
        cells = line.split(separator)
        if len(cells) != 2:
            raise IndexFileError(f"linha {number}: {line!r} deve ter duas colunas, mes{separator}numero_indice")
        found = MONTH.match(cells[0].strip())
        month = (int(found.group(1)), int(found.group(2))) if found else None
        if month is None or not 1 <= month[1] <= 12:
            raise IndexFileError(f"linha {number}: mês {cells[0].strip()!r} inválido; use AAAA-MM (ex.: 2024-07)")
        label = f"{month[1]:02d}/{month[0]}"
        if month >= (today.year, today.month):
            raise IndexFileError(f"linha {number}: o mês {label} ainda não terminou: não pode ter índice publicado")
        if month in seen:
            raise IndexFileError(f"linha {number}: o mês {label} aparece mais de uma vez")
        if previous is not None and month < previous:
            raise IndexFileError(f"linha {number}: o mês {label} está fora de ordem (os meses devem ser crescentes)")
        if previous is not None and month != _next(previous):
            gap = _next(previous)
            raise IndexFileError(f"linha {number}: falta o mês {gap[1]:02d}/{gap[0]} antes de {label}")
        try:
            value = _number(cells[1])
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or value <= 0:
            raise IndexFileError(
                f"linha {number}: valor {cells[1].strip()!r} de {label} inválido; use um número maior que zero"
            )
        rows.append((month[0], month[1], float(value)))
        previous = month
        seen.add(month)
    if not rows:
        raise IndexFileError("o arquivo só tem o cabeçalho: nenhum mês para importar")
    return rows


@lru_cache(maxsize=8)
def _shipped(name: str) -> tuple[tuple[int, int, float], ...]:
    path = SEEDS / f"{name.lower()}.csv"
    return tuple(parse_series(path)) if path.is_file() else ()


def shipped(name: str = "IPCA") -> dict[Month, float]:
    """The series shipped in seeds/indices for ``name`` (empty for an index the project does not ship)."""
    return {(y, m): v for y, m, v in _shipped(index_name(name))}


def _stored(session: Session, name: str) -> list[PriceIndexValue]:
    query = select(PriceIndexValue).where(PriceIndexValue.name == name)
    return list(session.exec(query.order_by(col(PriceIndexValue.year), col(PriceIndexValue.month))))


def series(session: Session, name: str = "IPCA") -> list[IndexMonth]:
    """Every month of the series, ascending: the shipped ones, each overridden by an imported value."""
    name = index_name(name)
    base = shipped(name)
    months = {m: IndexMonth(m[0], m[1], v, "shipped", v) for m, v in base.items()}
    for row in _stored(session, name):
        key = (row.year, row.month)
        months[key] = IndexMonth(
            row.year, row.month, float(row.value), "imported", base.get(key), row.source, row.imported_at
        )
    return [months[m] for m in sorted(months)]


def load_index(session: Session, name: str = "IPCA", carry_forward: bool = False) -> PriceIndex:
    """The index the price research uses: the shipped series overridden month by month by the imported one."""
    name = index_name(name)
    return PriceIndex(name, {(m.year, m.month): m.value for m in series(session, name)}, carry_forward)


def import_series(session: Session, name: str, rows: Iterable[tuple[int, int, float]], source: str) -> dict[str, int]:
    """Upsert ``rows`` (as ``parse_series`` gives them) into price_index_values; counts new, changed and unchanged
    months (a month equal to the shipped value is still stored, as the operator's). Refuses rows that would leave
    a month missing after the series already known. Nothing is committed here: the caller's transaction decides."""
    name = index_name(name)
    ordered = sorted(rows)
    if not ordered:
        raise IndexFileError("nenhum mês para importar")
    months = [(y, m) for y, m, _ in ordered]
    if any(_next(a) != b for a, b in zip(months, months[1:], strict=False)) or any(v <= 0 for *_, v in ordered):
        raise IndexFileError("os meses a importar devem ser consecutivos, sem repetição, com valores maiores que zero")
    known = [(m.year, m.month) for m in series(session, name)]
    if known and (months[0] > _next(known[-1]) or _next(months[-1]) < known[0]):
        gap = _next(known[-1]) if months[0] > known[-1] else _next(months[-1])
        raise IndexFileError(
            f"a série {name} vai de {_label(known[0])} a {_label(known[-1])}; os meses de {_label(months[0])} a "
            f"{_label(months[-1])} deixariam faltando {_label(gap)}: inclua os meses entre as duas"
        )
    stored = {(r.year, r.month): r.value for r in _stored(session, name)}
    counts = {"new": 0, "changed": 0, "unchanged": 0}
    now, values = utcnow(), []
    for year, month, value in ordered:
        amount = Decimal(repr(float(value))).quantize(PLACES)
        before = stored.get((year, month))
        kind = "new" if before is None else "unchanged" if Decimal(before).quantize(PLACES) == amount else "changed"
        counts[kind] += 1
        if kind != "unchanged":
            values.append(
                {"name": name, "year": year, "month": month, "value": amount, "source": source, "imported_at": now}
            )
    if values:
        table = table_of(PriceIndexValue)
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        statement = insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=["name", "year", "month"],
            set_={c: statement.excluded[c] for c in ("value", "source", "imported_at")},
        )
        session.connection().execute(statement, values)
    return counts
