"""Market data for the drafting of a document that lists its items: the text given to the writer (model or
offline draft) for the sections that ask for it.

- ``price_estimate`` (ETP element VI, TR alínea i): per item, the IN 65/2021 mapa de preços (how many prices,
  from when, mediana, média, menor valor, what was set aside, the sources) and, when a champion model exists,
  its estimate with the 80% interval; the total by the mediana × quantity.
- ``similar_purchases`` (ETP element V, levantamento de mercado): contratações of the collected data whose items
  mean the same as the document's (same head noun, most of the words: ``tasks.prices.likeness``), with their
  control number, date, UF, price and link.

A model figure the reliability check rejects (``tasks.prices.reliability``) is never written: the note says the
model could not estimate the item, and why.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session

from models import price_dates as dates
from tasks.prices import market_data
from tasks.prices.estimates import verdict
from tasks.prices.outliers import brl
from tasks.prices.serving import mapa, rows_frame

log = logging.getLogger("nexora.prices")


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


def _day(value: date) -> str:
    return f"{value:%d/%m/%Y}"


def _reference(item: dict[str, Any], default: date) -> date:
    value = item.get("data_referencia")
    if not value:
        return default
    day = date.fromisoformat(str(value)[:10])
    return dates.check_reference_date(day, f"data_referencia do item “{item.get('descricao')}”")


def price_notes(session: Session, items: list[dict[str, Any]], default: date) -> str:
    served = _champion()
    predictions = None
    if served is not None:
        rows, factors = rows_frame([{**item, "data": _reference(item, default)} for item in items])
        out = served.model.predict(rows, served.history)
        predictions = [{k: out[k][i] * factors[i] for k in ("p10", "p50", "p90")} for i in range(len(items))]
    lines, total = [], 0.0
    for index, item in enumerate(items):
        reference = _reference(item, default)
        observations = market_data.observations(session, reference_date=reference,
                                                catalogue_code=item.get("codigo_catalogo"))
        try:
            result = mapa(observations, item, reference)
        except ValueError as exc:
            lines.append(f"Item {index + 1} ({item.get('descricao')}): pesquisa não realizada — {exc}.")
            continue
        unit = item.get("unidade") or result.unidade.raw
        code = f" (CATMAT/CATSER {item['codigo_catalogo']})" if item.get("codigo_catalogo") else ""
        quantity = item.get("quantidade")
        head = f"Item {index + 1} — {item.get('descricao')}{code}" + (f", {quantity:g} {unit}" if quantity else "")
        if result.n:
            since = result.data_referencia - timedelta(days=result.janela_dias)
            text = (f"{head}: pesquisa de preços (IN 65/2021, art. 5º, II) com {result.n} preço(s) de contratações "
                    f"similares entre {_day(since)} e {_day(result.data_referencia)}, por {unit}: mediana "
                    f"{brl(result.mediana)}, média {brl(result.media)}, menor valor {brl(result.menor_valor)}; "
                    f"critério de exclusão: {result.criterio}; {len(result.removidos)} preço(s) excluído(s).")
            sources = "; ".join(f"{line.observation.numero_controle_pncp} ({_day(line.observation.date)}, "
                                f"{line.observation.uf or '-'}, {brl(line.value)}, {line.observation.link})"
                                for line in result.precos[:8])
            text += f" Fontes: {sources}."
            if quantity:
                total += result.mediana * quantity
                text += f" Valor do item pela mediana: {brl(result.mediana * quantity)}."
        else:
            text = f"{head}: nenhum preço comparável encontrado nos dados coletados."
        if result.nota:
            text += f" Observação: {result.nota}"
        if predictions is not None:
            p = predictions[index]
            judged = verdict(result, item, p, served)
            if judged.confiavel:
                text += (f" Estimativa do modelo preco-referencia v{served.version}: {brl(p['p50'])} por {unit} "
                         f"(intervalo de 80%: {brl(p['p10'])} a {brl(p['p90'])}).")
            else:  # an unreliable figure never goes into a document
                text += (f" O modelo preco-referencia v{served.version} não pôde estimar este item com confiança; "
                         f"nenhum valor do modelo é usado. {judged.motivo}")
        lines.append(text)
    if total:
        lines.append(f"Valor total estimado pela mediana da pesquisa: {brl(total)}.")
    if served is None:
        lines.append("Não há modelo de preços promovido: a estimativa se baseia apenas na pesquisa de preços.")
    return "\n".join(lines)


def similar_notes(session: Session, titulo: str, items: list[dict[str, Any]], reference: date) -> str:
    best = market_data.similar_purchases(session, [item.get("descricao") or "" for item in items], limit=8)
    if not best:
        return "Nenhuma contratação similar encontrada nos dados coletados do PNCP."
    return "Contratações similares nos dados coletados do PNCP: " + "; ".join(
        f"{r['numero_controle_pncp']} ({r['data'] or 'sem data'}, {r['uf'] or '-'}): {r['descricao'][:120]} — "
        f"{brl(r['preco_unitario'])} por {r['unidade'] or 'unidade'} ({r['link']})" for r in best) + "."


def market_notes(session: Session, kind: str, titulo: str, items: list[dict[str, Any]],
                 reference: date | None = None) -> str | None:
    """The notes for a section whose template asks for ``kind`` market data; None when there is nothing to use."""
    reference = reference or dates.today()  # Brasília's: a server on UTC is a day ahead from 21:00
    if not items or kind == "none":
        return None
    if kind == "price_estimate":
        return price_notes(session, items, reference)
    if kind == "similar_purchases":
        return similar_notes(session, titulo, items, reference)
    return None
