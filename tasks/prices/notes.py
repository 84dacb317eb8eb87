"""Market data for the drafting of a document that lists its items: markup text (tables, ``tasks.prices.tables``)
that the section receives as it is, after what the writer (model or offline draft) writes (``tasks.llm.prompts``).

- ``price_estimate`` (ETP element VI, TR alínea i): the quadro-resumo (unit price and total of each item by the
  mediana), then per item the IN 65/2021 mapa de preços (every price with its source, date, unit, original and
  corrected value, kept or removed with the reason; média, mediana, menor valor and the method) and, when a
  champion model exists, its estimate with the 80% interval.
- ``similar_purchases`` (ETP element V, levantamento de mercado): contratações of the collected data whose items
  mean the same as the document's (same head noun, most of the words: ``tasks.prices.likeness``), with their
  control number, date, UF, price and link.

A model figure the reliability check rejects (``tasks.prices.reliability``) is never written: the note says the
model could not estimate the item, and why.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlmodel import Session

from models import price_dates as dates
from tasks.prices import market_data, tables
from tasks.prices.estimates import verdict
from tasks.prices.outliers import brl
from tasks.prices.serving import mapa, rows_frame

log = logging.getLogger("nexora.prices")
AUXILIARY = "referência auxiliar, não é parâmetro do art. 5º da IN SEGES/ME nº 65/2021"


def _champion():
    """The registry's champion, loaded; None when there is none or the registry cannot be read."""
    try:
        from tasks.prices.registry import CHAMPION, Registry

        registry = Registry()
        version = registry.alias(CHAMPION)
        return registry.load(version.version) if version else None
    except Exception as exc:  # noqa: BLE001 - the mapa de preços alone is still a valid basis
        log.warning("modelo de preços indisponível para a redação: %s", exc)
        return None


def _reference(item: dict[str, Any], default: date) -> date:
    value = item.get("data_referencia")
    if not value:
        return default
    day = date.fromisoformat(str(value)[:10])
    return dates.check_reference_date(day, f"data_referencia do item “{item.get('descricao')}”")


def price_notes(session: Session, items: list[dict[str, Any]], default: date) -> str:
    """The quadro-resumo and the mapa de preços of every item, as markup tables (``tasks.prices.tables``)."""
    researched, served = research(session, items, default)
    closing = (
        None
        if served is not None
        else ("Não há modelo de preços promovido: a estimativa se baseia apenas na pesquisa de preços.")
    )
    return tables.price_block(researched, closing)


def estimate_figures(session: Session, items: list[dict[str, Any]], default: date) -> tuple[str, ...]:
    """The values a sigiloso estimate is made of, in cents ("1234.56"): each item's média, mediana, menor valor and
    total, and the total of the items — what a public section must not state (``tasks.llm.guard``)."""
    researched, _ = research(session, items, default, with_model=False)
    figures, total = set(), 0.0
    for entry in researched:
        if entry.result is None:
            continue
        result, amount = entry.result, entry.item.get("quantidade")
        values = [result.media, result.mediana, result.menor_valor]
        if amount:
            values.append(result.mediana * amount)
            total += result.mediana * amount  # as the quadro-resumo sums it (tables.summary_block)
        figures.update(cents(v) for v in values if v)
    if total:
        figures.add(cents(total))
    return tuple(sorted(str(f) for f in figures))


def cents(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def research(
    session: Session, items: list[dict[str, Any]], default: date, with_model: bool = True
) -> tuple[list[tables.ItemResearch], Any]:
    """Each item's IN 65 mapa de preços (or why there is none) and, with the champion model, its estimate."""
    served = _champion() if with_model else None
    predictions = None
    if served is not None:
        rows, factors = rows_frame([{**item, "data": _reference(item, default)} for item in items])
        out = served.model.predict(rows, served.history)
        predictions = [{k: out[k][i] * factors[i] for k in ("p10", "p50", "p90")} for i in range(len(items))]
    researched = []
    for index, item in enumerate(items):
        reference = _reference(item, default)
        observations = market_data.observations(
            session,
            reference_date=reference,
            catalogue_code=item.get("codigo_catalogo"),
            description=item.get("descricao"),
        )
        try:
            result = mapa(observations, item, reference)
        except ValueError as exc:
            researched.append(tables.ItemResearch(item, None, failure=str(exc)))
            continue
        estimate = None
        if predictions is not None:
            p, unit = predictions[index], item.get("unidade") or result.unidade.raw
            judged = verdict(result, item, p, served)
            if judged.confiavel:
                estimate = (
                    f"Estimativa do modelo preco-referencia v{served.version} ({AUXILIARY}): {brl(p['p50'])} por "
                    f"{unit} (intervalo de 80%: {brl(p['p10'])} a {brl(p['p90'])})."
                )
            else:  # an unreliable figure never goes into a document
                estimate = (
                    f"O modelo preco-referencia v{served.version} não pôde estimar este item com confiança; "
                    f"nenhum valor do modelo é usado. {judged.motivo}"
                )
        researched.append(tables.ItemResearch(item, result, estimate=estimate))
    return researched, served


def similar_notes(session: Session, items: list[dict[str, Any]], prices: bool = True, uf: str | None = None) -> str:
    best = market_data.similar_purchases(
        session,
        [item.get("descricao") or "" for item in items],
        limit=8,
        codes=[item.get("codigo_catalogo") or "" for item in items],
        uf=uf,
    )
    if not best:
        return "Nenhuma contratação similar encontrada nos dados coletados do PNCP."
    return "\n".join(tables.similar_block(best, prices=prices)).strip()


def market_notes(
    session: Session,
    kind: str,
    items: list[dict[str, Any]],
    reference: date | None = None,
    *,
    sigiloso: bool = False,
    uf: str | None = None,
) -> str | None:
    """The notes for a section whose template asks for ``kind`` market data; None when there is nothing to use.
    For a ``sigiloso`` estimate the similar contratações (a public section) come without their prices; those of
    the body's ``uf`` come first among equally similar ones."""
    reference = reference or dates.today()  # Brasília's: a server on UTC is a day ahead from 21:00
    if not items or kind == "none":
        return None
    if kind == "price_estimate":
        return price_notes(session, items, reference)
    if kind == "similar_purchases":
        return similar_notes(session, items, prices=not sigiloso, uf=uf)
    return None
