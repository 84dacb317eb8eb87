"""The collected market tables as price data: the training frame of the price model and the observations of the
IN 65 price research, both from the awarded results (pncp_resultados ⋈ pncp_itens ⋈ pncp_contratacoes).

A price is the result's homologated unit value; its date the result's date, else the publication's; its unit
the item's unit of supply reduced to a base unit (``tasks.prices.units``: "CX C/ 100 UN" at R$ 50,00 → R$ 0,50
per UN, quantity × 100). Units the normaliser cannot read stay null in the training frame (a category of their
own) and are set aside by the research.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import bindparam, text
from sqlmodel import Session

from models.textsearch import planner
from tasks.prices import market_search
from tasks.prices.dataset import PRICE, SCHEMA
from tasks.prices.likeness import coverage, head, parts
from tasks.prices.research import SIMILARITY, Observation, words
from tasks.prices.units import parse_unit

COLUMNS = """
SELECT r.numero_controle_pncp, r.numero_item, r.valor_unitario_homologado AS preco, r.data_resultado,
       i.descricao, i.codigo_catalogo, i.unidade_medida, i.material_ou_servico, i.quantidade,
       r.quantidade_homologada, c.uf, c.modalidade_id, c.data_publicacao_pncp, c.link_sistema_origem,
       c.cnpj_orgao, c.ano_compra, c.sequencial_compra"""
PRICES = """
FROM pncp_resultados r
JOIN pncp_itens i ON i.numero_controle_pncp = r.numero_controle_pncp AND i.numero_item = r.numero_item
JOIN pncp_contratacoes c ON c.numero_controle_pncp = r.numero_controle_pncp
WHERE r.valor_unitario_homologado > 0
"""
PRICES_SQL = COLUMNS + PRICES
SIMILAR_MINIMUM = 0.5  # a similar contratação's item carries more than this share of the item's words (likeness)


def _day(row: dict[str, Any]) -> date | None:
    value = row["data_resultado"] or row["data_publicacao_pncp"]
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):  # SQLite hands dates back as text through a raw query
        return date.fromisoformat(value[:10])
    return value


def link(row: dict[str, Any]) -> str:
    """The record's own link when the source gave one, else its page on PNCP."""
    return row.get("link_sistema_origem") or (
        f"https://pncp.gov.br/app/editais/{row['cnpj_orgao']}/{row['ano_compra']}/{row['sequencial_compra']}"
    )


def _rows(session: Session, where: str = "", params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    result = session.connection().execute(text(PRICES_SQL + where), params or {})
    return [dict(r._mapping) for r in result]


def training_frame(session: Session, *, until: date | None = None) -> pl.DataFrame:
    """Every awarded price (up to ``until``) in the price model's schema (``tasks.prices.dataset.SCHEMA``)."""
    records = []
    for row in _rows(session):
        day = _day(row)
        if day is None or (until and day > until):
            continue
        unit = parse_unit(row["unidade_medida"])
        factor = unit.factor if unit else 1.0
        quantity = row["quantidade_homologada"] or row["quantidade"]
        records.append(
            {
                "data": day,
                "codigo_catalogo": row["codigo_catalogo"],
                "descricao": row["descricao"] or "",
                "unidade": unit.base if unit else None,
                "quantidade": float(quantity) * factor if quantity else None,
                PRICE: float(row["preco"]) / factor,
                "uf": row["uf"],
                "modalidade_id": row["modalidade_id"],
                "material_ou_servico": row["material_ou_servico"],
                "numero_controle_pncp": row["numero_controle_pncp"],
            }
        )
    frame = pl.DataFrame(records, schema=SCHEMA)
    return frame.filter(pl.col("quantidade").is_not_null() & (pl.col("quantidade") > 0))


class Collected(list):
    """The observations read for a research, with what the query itself left out: ``outside_window``, the prices of
    the catalogue code published before ``read_from`` (counted, not read); ``other_items``, the search index's
    candidates whose description the research's rule turned down (counted, not kept); ``span``, the collected
    prices' first and last dates (``collected_span``)."""

    def __init__(
        self,
        observations: list[Observation],
        *,
        read_from: date,
        outside_window: int = 0,
        span: tuple[date, date] | None = None,
        other_items: int = 0,
    ) -> None:
        super().__init__(observations)
        self.read_from, self.outside_window, self.span = read_from, outside_window, span
        self.other_items = other_items


def collected_span(session: Session) -> tuple[date, date] | None:
    """The first and last result dates of the collected prices (two index look-ups), or None before any."""
    row = (
        session.connection()
        .execute(
            text(
                "SELECT (SELECT min(data_resultado) FROM pncp_resultados), "
                "(SELECT max(data_resultado) FROM pncp_resultados)"
            )
        )
        .one()
    )
    first, last = (date.fromisoformat(v[:10]) if isinstance(v, str) else v for v in row)
    return (first, last) if first and last else None


def _observation(row: dict[str, Any]) -> Observation | None:
    day = _day(row)
    if day is None:
        return None
    return Observation(
        price=float(row["preco"]),
        unit=row["unidade_medida"],
        date=day,
        numero_controle_pncp=row["numero_controle_pncp"],
        numero_item=row["numero_item"],
        link=link(row),
        catalogue_code=row["codigo_catalogo"],
        description=row["descricao"] or "",
        uf=row["uf"],
        quantidade=float(row["quantidade_homologada"] or row["quantidade"] or 0) or None,
    )


@dataclass(frozen=True)
class Wanted:
    """What a research asks of the collected prices: those of a catalogue code, else those like a description, in
    the window before a reference date."""

    reference_date: date
    catalogue_code: str | None = None
    description: str | None = None

    @property
    def code(self) -> str | None:
        return self.catalogue_code.strip() if self.catalogue_code and self.catalogue_code.strip() else None

    def start(self, window_days: int) -> datetime:
        # a result's date may trail its publication
        return datetime.combine(self.reference_date - timedelta(days=window_days + 60), datetime.min.time())


def observations(
    session: Session,
    *,
    reference_date: date,
    window_days: int = 365,
    catalogue_code: str | None = None,
    description: str | None = None,
    similarity: float = SIMILARITY,
) -> Collected:
    """The collected prices the research may compare: those of the catalogue code when one is given (the older ones
    only counted); else those whose description the research's rule (Jaccard ≥ ``similarity``) accepts as the same
    item as ``description``, found through the search index (``market_search.index_bounds``; the candidates it read
    and the rule turned down are counted as other items; the prices that cannot reach the similarity are not read,
    nor counted). The research itself then applies every rule again."""
    wanted = Wanted(reference_date, catalogue_code, description)
    return observations_many(session, [wanted], window_days=window_days, similarity=similarity)[0]


def observations_many(
    session: Session, wanted: list[Wanted], *, window_days: int = 365, similarity: float = SIMILARITY
) -> list[Collected]:
    """``observations`` of each of ``wanted`` (a batch of estimates), read together: the collected span once, every
    catalogue code in one query (and one count of the older prices), the window read once for all the descriptions
    the index cannot bound, each other description through the index; the same research asked twice is read once."""
    span = collected_span(session)
    found: dict[Wanted, Collected] = {}
    unique = list(dict.fromkeys(wanted))
    coded = [w for w in unique if w.code]
    if coded:
        found |= _by_codes(session, coded, window_days, span)
    unbounded = []
    for w in unique:
        if w.code:
            continue
        start = w.start(window_days)
        if not words(w.description):  # nothing to compare by: the research refuses the item (ValueError)
            found[w] = Collected([], read_from=start.date(), span=span)
            continue
        sql = PRICES_SQL + " AND c.data_publicacao_pncp >= :start"
        bounded = market_search.index_bounds(session, sql, w.description or "", similarity)
        if bounded is None:
            unbounded.append(w)
            continue
        rows: list[dict[str, Any]] = []
        if bounded is not False:
            bounded_sql, match = bounded
            with planner(session, **market_search.PLANNER):
                result = session.connection().execute(text(bounded_sql), {"start": start, **match})
                rows = [dict(r._mapping) for r in result]
        kept, others = market_search.judged(rows, w.description or "", similarity)
        found[w] = _collected(kept, start, span, other_items=others)
    if unbounded:  # every row of the window, read once for all of them
        lowest = min(w.start(window_days) for w in unbounded)
        rows = _rows(session, " AND c.data_publicacao_pncp >= :start", {"start": lowest})
        for w in unbounded:
            start = w.start(window_days)
            kept, others = market_search.judged(
                (r for r in rows if _published(r) >= start), w.description or "", similarity
            )
            found[w] = _collected(kept, start, span, other_items=others)
    return [found[w] for w in wanted]


def _by_codes(
    session: Session, coded: list[Wanted], window_days: int, span: tuple[date, date] | None
) -> dict[Wanted, Collected]:
    """The prices of every catalogue code of ``coded`` from the earliest window's start (one query), and the count of
    those published before it (one query); each research then takes its code's prices of its own window."""
    lowest = min(w.start(window_days) for w in coded)
    codes = sorted({w.code for w in coded if w.code})
    params = {"start": lowest, "codes": codes}
    where = " AND c.data_publicacao_pncp >= :start AND i.codigo_catalogo IN :codes"
    result = session.connection().execute(
        text(PRICES_SQL + where).bindparams(bindparam("codes", expanding=True)), params
    )
    by_code: dict[str, list[dict[str, Any]]] = {}
    for row in result:
        by_code.setdefault(row.codigo_catalogo, []).append(dict(row._mapping))
    older = text(
        "SELECT i.codigo_catalogo, count(*)" + PRICES + " AND i.codigo_catalogo IN :codes "
        "AND c.data_publicacao_pncp < :start GROUP BY i.codigo_catalogo"
    ).bindparams(bindparam("codes", expanding=True))
    earlier = {code: int(n) for code, n in session.connection().execute(older, params)}
    out = {}
    for w in coded:
        start = w.start(window_days)
        mine = by_code.get(w.code or "", [])
        inside = [r for r in mine if _published(r) >= start]
        out[w] = _collected(inside, start, span, outside_window=earlier.get(w.code or "", 0) + len(mine) - len(inside))
    return out


def _published(row: dict[str, Any]) -> datetime:
    value = row["data_publicacao_pncp"]
    if isinstance(value, str):  # SQLite hands datetimes back as text through a raw query
        return datetime.fromisoformat(value)
    return value


def _collected(
    rows: list[dict[str, Any]],
    start: datetime,
    span: tuple[date, date] | None,
    *,
    outside_window: int = 0,
    other_items: int = 0,
) -> Collected:
    out = [o for o in map(_observation, rows) if o is not None]
    return Collected(out, read_from=start.date(), outside_window=outside_window, other_items=other_items, span=span)


def scan_observations(session: Session, *, reference_date: date, window_days: int = 365) -> Collected:
    """Every collected price of the window, read into memory: how a research by description worked before the
    search index (bench/bench_search_index.py's anchor, and the reference of the equivalence tests)."""
    start = reference_date - timedelta(days=window_days + 60)
    params = {"start": datetime.combine(start, datetime.min.time())}
    rows = _rows(session, " AND c.data_publicacao_pncp >= :start", params)
    out = [o for o in map(_observation, rows) if o is not None]
    return Collected(out, read_from=start, span=collected_span(session))


def similar_purchases(
    session: Session,
    descriptions: list[str],
    *,
    limit: int = 5,
    minimum: float = SIMILAR_MINIMUM,
    codes: Iterable[str] = (),
    uf: str | None = None,
) -> list[dict[str, Any]]:
    """Contratações whose items mean the same as one of ``descriptions`` (for the ETP's levantamento de mercado),
    best first: the search index's best candidates for each description (``market_search.similar_candidates``),
    judged by ``rank_similar``: likeness first; among equals, an item of one of the catalogue ``codes`` (CATMAT/
    CATSER of the document's items), then one of the body's ``uf``, then the most recent, then the index's order."""
    codes = [c for c in codes if c]
    rows: list[dict[str, Any]] = []
    sql = COLUMNS + ", i.id" + PRICES
    for description in dict.fromkeys(descriptions):
        rows += market_search.similar_candidates(session, sql, {}, description, minimum, codes=codes, uf=uf)
    return rank_similar(rows, descriptions, limit=limit, minimum=minimum, keep_order=True, codes=codes, uf=uf)


def scan_similar_purchases(
    session: Session, descriptions: list[str], *, limit: int = 5, minimum: float = SIMILAR_MINIMUM
) -> list[dict[str, Any]]:
    """Similar contratações from every collected result (read into memory): the path before the search index,
    kept as bench/bench_search_index.py's anchor."""
    return rank_similar(_rows(session), descriptions, limit=limit, minimum=minimum)


def rank_similar(
    rows: Iterable[dict[str, Any]],
    descriptions: list[str],
    *,
    limit: int = 5,
    minimum: float = SIMILAR_MINIMUM,
    keep_order: bool = False,
    codes: Iterable[str] = (),
    uf: str | None = None,
) -> list[dict[str, Any]]:
    """The contratações of ``rows`` (``PRICES_SQL``'s columns) with an item of the same head noun as one of
    ``descriptions`` and more than ``minimum`` of its weighted words (``tasks.prices.likeness``), best first; a
    contratação's score is its best item against its best description. Among equal scores: an item of one of the
    catalogue ``codes``, of the ``uf``, the most recent; then by control number, or, with ``keep_order``, in the
    order of ``rows`` (the search index's rank)."""
    wanted: dict[str, list] = {}
    for description in descriptions:
        if (name := head(description)) is not None:
            wanted.setdefault(name, []).append(parts(description))
    scored: dict[str, dict[str, Any]] = {}
    catalogue: dict[str, str] = {}  # the catalogue code of the item that gave a contratação its score
    seen: list[str] = []
    for row in rows if wanted else ():
        seen.append(row["numero_controle_pncp"])
        targets = wanted.get(head(row["descricao"]) or "")
        if not targets:
            continue
        score = max(coverage(target, parts(row["descricao"])) for target in targets)
        kept = scored.get(row["numero_controle_pncp"])
        if score > minimum and (kept is None or score > kept["similaridade"]):
            catalogue[row["numero_controle_pncp"]] = (row.get("codigo_catalogo") or "").strip()
            day = _day(row)
            scored[row["numero_controle_pncp"]] = {
                "numero_controle_pncp": row["numero_controle_pncp"],
                "descricao": row["descricao"],
                "uf": row["uf"],
                "data": day.isoformat() if day else None,
                "preco_unitario": float(row["preco"]),
                "unidade": row["unidade_medida"],
                "link": link(row),
                "similaridade": round(score, 3),
            }
    first = {control: n for n, control in reversed(list(enumerate(seen)))}
    wanted_codes = {c.strip() for c in codes if c}

    def order(r: dict[str, Any]) -> tuple[Any, ...]:
        days = -date.fromisoformat(r["data"]).toordinal() if r["data"] else 0
        tie = first[r["numero_controle_pncp"]] if keep_order else r["numero_controle_pncp"]
        control = r["numero_controle_pncp"]
        return (-r["similaridade"], catalogue.get(control) not in wanted_codes, bool(uf) and r["uf"] != uf, days, tie)

    return sorted(scored.values(), key=order)[:limit]
