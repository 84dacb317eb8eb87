"""The market data of a document as it is printed: the mapa de preços of IN SEGES/ME 65/2021 and the similar
contratações, as text in the markup subset of ``tasks.render.markup`` (pipe tables, headings), pure functions.

For element VI of the ETP (alínea i of the TR), per item: the prices found, from the lowest corrected value up,
each with its source (PNCP control number, item, UF and link), date, unit and original value, the corrected value
(per the reference unit, and by the index when one is used) and whether it was kept or removed, with the reason;
then the média, mediana and menor valor with the method. Before the items, a quadro-resumo with the unit price and
the total of each item by the mediana. These texts reach the document as they are (``tasks.llm.prompts``): the writer
comments on them, never copies or recomputes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tasks.prices.outliers import brl, number_br
from tasks.prices.research import MapaDePrecos, PriceLine

SUMMARY_TITLE = "Quadro-resumo da estimativa"
MAPA_TITLE = "Mapa de preços (IN SEGES/ME nº 65/2021)"
SIMILAR_TITLE = "Contratações similares nos dados coletados do PNCP"
SIMILAR_ORDER = (
    "Ordem: a descrição mais semelhante à do item primeiro; entre as igualmente semelhantes, as do mesmo código "
    "CATMAT/CATSER, depois as da UF do órgão, depois as mais recentes."
)
SUMMARY_HEADER = ("Item", "Descrição", "Unidade", "Quantidade", "Preço unitário (mediana)", "Valor total")
PRICE_HEADER = (
    "Fonte (nº de controle PNCP, item, UF e endereço)",
    "Data",
    "Unidade",
    "Valor original",
    "Valor corrigido",
    "Situação",
)
RESULT_HEADER = ("Resultado", "Valor")
SIMILAR_HEADER = ("Contratação (nº de controle PNCP, UF e endereço)", "Data", "Objeto", "Preço unitário")
SIMILAR_WITHOUT_PRICES = (
    "Os preços dessas contratações integram a pesquisa de preços do orçamento estimado sigiloso (art. 24 da Lei nº "
    "14.133/2021) e constam apenas do anexo classificado."
)
# prices listed in a document, shared by its items (at least 5 each): ~220 characters a row keeps the block well within
# a section's text limit (MAX_FIELD_CHARS, 60,000)
MAX_PRICE_ROWS, MIN_ROWS_PER_ITEM = 150, 5
KEPT = "mantido"
NBSP = "\u00a0"
_SPACE = re.compile(r"[^\S\u00a0]+")  # whitespace but the no-break space


def cell(value: Any) -> str:
    """A value as one table cell: one line, ``|`` escaped."""
    text = _SPACE.sub(" ", "" if value is None else str(value)).strip()
    return text.replace("|", "\\|")


def row(values: Iterable[Any]) -> str:
    return "| " + " | ".join(cell(value) for value in values) + " |"


def table(header: Sequence[str], aligns: str, rows: Iterable[Sequence[Any]]) -> list[str]:
    """A pipe table; ``aligns`` has one letter per column: l(eft), c(enter) or r(ight)."""
    separator = "|" + "|".join({"l": "---", "c": ":---:", "r": "---:"}[a] for a in aligns) + "|"
    return [row(header), separator, *(row(values) for values in rows)]


def money(value: float) -> str:
    """R$ 1.234,56 with a no-break space, so a cell never splits the symbol from the number."""
    return brl(value).replace(" ", NBSP)


def day(value: date | datetime | None) -> str:
    """dd/mm/aaaa."""
    if value is None:
        return "sem data"
    return f"{value.date() if isinstance(value, datetime) else value:%d/%m/%Y}"


def quantity(value: float) -> str:
    """1234 → "1.234"; 2.5 → "2,5"."""
    return number_br(value, 0) if float(value).is_integer() else number_br(value, 4).rstrip("0").rstrip(",")


def _source(line: PriceLine) -> str:
    o = line.observation
    parts = [cell(o.numero_controle_pncp), f"item {o.numero_item}", *([o.uf] if o.uf else [])]
    return ", ".join(parts) + (f" — {o.link}" if o.link else "")


def _situation(line: PriceLine) -> str:
    if not line.reason:
        return KEPT
    return "excluído: " + line.reason.replace("R$ ", "R$" + NBSP).replace(" = ", NBSP + "= ")  # "IQR =" stays together


def shown(result: MapaDePrecos, limit: int) -> list[PriceLine]:
    """The prices the table lists, from the lowest corrected value up: all of them up to ``limit``; past it, the
    removed ones first, then the kept ones nearest the mediana (a section's text has a size limit; every kept price
    counts in the result all the same)."""
    lines = [*result.precos, *result.removidos]
    if len(lines) > limit:
        room = max(limit - len(result.removidos), 0)
        nearest = sorted(result.precos, key=lambda line: (abs(line.value - result.mediana), line.value))[:room]
        lines = [*nearest, *result.removidos[: limit - len(nearest)]]
    return sorted(lines, key=lambda line: line.value)


def price_rows(result: MapaDePrecos, limit: int) -> list[tuple[str, ...]]:
    """The rows of the prices table (``shown``)."""
    return [
        (
            _source(line),
            day(line.observation.date),
            line.unit.raw,
            money(float(line.observation.price)),
            money(line.value),
            _situation(line),
        )
        for line in shown(result, limit)
    ]


def result_rows(result: MapaDePrecos, amount: float | None) -> list[tuple[str, str]]:
    """Média, mediana and menor valor of the kept prices, and the item's value by the mediana."""
    total = len(result.precos) + len(result.removidos)
    rows = [
        ("Preços válidos", f"{result.n} de {total}"),
        ("Média", money(result.media)),
        ("**Mediana (preço de referência)**", f"**{money(result.mediana)}**"),
        ("Menor valor", money(result.menor_valor)),
    ]
    if amount:
        rows.append((f"Valor do item: {quantity(amount)} × mediana", money(result.mediana * amount)))
    return rows


def item_title(number: int, item: dict[str, Any]) -> str:
    code = f" (CATMAT/CATSER {item['codigo_catalogo']})" if item.get("codigo_catalogo") else ""
    return f"Item {number} — {_SPACE.sub(' ', str(item.get('descricao') or '')).strip()}{code}"


@dataclass(frozen=True)
class ItemResearch:
    """One item of the document and its research: the mapa, or why there is none; the model's estimate, if any."""

    item: dict[str, Any]
    result: MapaDePrecos | None
    failure: str | None = None
    estimate: str | None = None

    @property
    def unit(self) -> str:
        return self.item.get("unidade") or (self.result.unidade.raw if self.result else "") or "unidade"

    @property
    def mediana(self) -> float | None:
        return self.result.mediana if self.result else None


def price_block(researched: list[ItemResearch], closing: str | None = None) -> str:
    """The text of element VI's market data: the quadro-resumo, then the mapa de preços of each item."""
    lines = [*summary_block(researched), f"# {MAPA_TITLE}", ""]
    limit = max(MIN_ROWS_PER_ITEM, MAX_PRICE_ROWS // max(len(researched), 1))
    for number, entry in enumerate(researched, 1):
        lines += item_block(number, entry, limit)
    return "\n".join([*lines, *([closing] if closing else [])]).strip()


def item_block(number: int, entry: ItemResearch, limit: int = MAX_PRICE_ROWS) -> list[str]:
    """The mapa of one item: heading, method, the prices table, the result table, the notes (or why there is none)."""
    item, result, unit = entry.item, entry.result, entry.unit
    lines = [f"## {item_title(number, item)}", ""]
    amount = item.get("quantidade")
    if amount:
        lines += [f"Quantidade estimada: {quantity(amount)} {unit}.", ""]
    if result is None:
        return [*lines, f"Pesquisa de preços não realizada: {entry.failure}.", ""]
    if result.precos or result.removidos:
        lines += [result.metodo, "", *table(PRICE_HEADER, "lclrrl", price_rows(result, limit)), ""]
        total, listed = len(result.precos) + len(result.removidos), len(shown(result, limit))
        if listed < total:
            lines += [
                f"Listados {listed} dos {total} preços (os excluídos e, entre os válidos, os mais próximos da "
                "mediana); todos os preços válidos entram no resultado abaixo.",
                "",
            ]
    else:
        lines += ["Nenhum preço comparável encontrado nos dados coletados.", ""]
    if result.n:
        lines += [*table((f"{RESULT_HEADER[0]} (por {unit})", RESULT_HEADER[1]), "lr", result_rows(result, amount)), ""]
    if result.nota:
        lines += [f"Observação: {result.nota}", ""]
    if result.analise_critica:
        lines += [f"Análise crítica: {result.analise_critica}", ""]
    if entry.estimate:
        lines += [entry.estimate, ""]
    return lines


def summary_block(researched: list[ItemResearch]) -> list[str]:
    """The quadro-resumo: per item, the unit price and the total by the mediana; the total of the items priced."""
    body, total = [], 0.0
    for number, entry in enumerate(researched, 1):
        amount, mediana = entry.item.get("quantidade"), entry.mediana
        value = mediana * amount if mediana is not None and amount else None
        total += value or 0.0
        body.append(
            (
                str(number),
                item_title(number, entry.item).split(" — ", 1)[1],
                entry.unit,
                quantity(amount) if amount else "—",
                money(mediana) if mediana is not None else "sem preço",
                money(value) if value is not None else "—",
            )
        )
    if total:
        body.append(("**Total**", "", "", "", "", f"**{money(total)}**"))
    return [f"# {SUMMARY_TITLE}", "", *table(SUMMARY_HEADER, "clcrrr", body), ""]


def similar_block(rows: list[dict[str, Any]], prices: bool = True) -> list[str]:
    """Similar contratações (``market_data.similar_purchases``) as a table, best match first; without ``prices``
    (a sigiloso estimate: element V is public, the prices it would list are the estimate's basis) no price column."""
    body = [
        (
            cell(r["numero_controle_pncp"])
            + (f", {r['uf']}" if r.get("uf") else "")
            + (f" — {r['link']}" if r.get("link") else ""),
            day(date.fromisoformat(r["data"][:10])) if r.get("data") else "sem data",
            r["descricao"][:160],
            f"{money(r['preco_unitario'])} por {r.get('unidade') or 'unidade'}",
        )[: None if prices else 3]
        for r in rows
    ]
    header, align = (SIMILAR_HEADER, "lcll") if prices else (SIMILAR_HEADER[:3], "lcl")
    lines = [f"# {SIMILAR_TITLE}", "", *table(header, align, body), "", SIMILAR_ORDER, ""]
    if not prices:
        lines.append(SIMILAR_WITHOUT_PRICES)
    return lines
