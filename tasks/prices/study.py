"""The figures of a stored pesquisa de preços (``models.price_research``), item by item: the series of prices with
original and corrected values, the automatic discarding (IN 65/2021, art. 6º, § 3º) and the people's decisions over
it, média, mediana and menor valor of the valid prices, their coefficient of variation (art. 6º, § 4º), the method
the system suggests and why, the chosen method, the optional percentage (art. 6º, § 2º) and the memória de cálculo.

Money is ``Decimal`` throughout, with the source's precision (four places: PNCP gives R$ 1,0003). ROUNDING states
where it is rounded: the estimated unit value is fixed at four places, the item total (unit value × quantity) at the
cent, once; the research total is the sum of the item totals. Values in the JSON are strings ("1.0003"), exact.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from models import price_rules
from models.price_research import METHOD_NAMES, SOURCE_NAMES, Method, ResearchItem, ResearchPrice, Source
from tasks.prices.outliers import OutlierRule, number_br

FOUR = Decimal("0.0001")
CENT = Decimal("0.01")
ROUNDING = (
    "Os preços e as estatísticas são calculados com a precisão da fonte (quatro casas decimais), sem arredondamento "
    "intermediário; o valor unitário estimado é fixado com quatro casas e o valor total do item (valor unitário × "
    "quantidade) é arredondado uma única vez ao centavo, meio centavo para cima; o valor total da pesquisa é a soma "
    "dos totais dos itens."
)
ML_NOTE = (
    "A estimativa do modelo de preços é referência auxiliar, não é parâmetro do art. 5º da IN SEGES/ME nº 65/2021: "
    "não entra no valor estimado."
)


def dec(value: Any) -> Decimal | None:
    return None if value is None else value if isinstance(value, Decimal) else Decimal(str(value))


def text(value: Decimal | None) -> str | None:
    """A Decimal as the JSON gives it, without exponent: a price exactly as stored ("1.0003"); a statistic (a mean
    may have endless places) to six places, which is more than the four it is computed from."""
    if value is None:
        return None
    if value.as_tuple().exponent < -6:  # type: ignore[operator]
        value = value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
    return format(value.normalize(), "f")


def brl(value: Decimal | None, places: int = 2) -> str:
    """R$ as printed: ``places`` decimals, half up."""
    if value is None:
        return "—"
    return "R$ " + number_br(float(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)), places)


def unit_brl(value: Decimal | None) -> str:
    """A unit value as printed: four places when it has them (R$ 1,0003), else two."""
    if value is None:
        return "—"
    four = value.quantize(FOUR, rounding=ROUND_HALF_UP)
    return brl(four, 4 if four != four.quantize(CENT) else 2)


@dataclass
class Line:
    price: ResearchPrice
    factor: Decimal
    reason: str | None = None  # why it is not valid (automatic criterion or a person's exclusion)
    auto_reason: str | None = None

    @property
    def corrected(self) -> Decimal:
        return self.price.valor * self.factor

    @property
    def valid(self) -> bool:
        return self.reason is None


def suggest(kept: int, cv: float | None, cv_limit: float) -> tuple[Method | None, str]:
    """The method the system suggests for the item, and why (the person chooses and justifies: art. 3º, V, VI)."""
    if kept < price_rules.MIN_PRICES:
        return None, (
            f"com {kept} preço(s) válido(s) não há método do art. 6º: só pelo § 5º (justificativa do gestor aprovada "
            "pela autoridade competente), ou colete mais preços"
        )
    if cv is not None and cv > cv_limit:
        return Method.MEDIANA, (
            f"os preços válidos variam muito (coeficiente de variação de {number_br(cv * 100, 1)}%, acima de "
            f"{number_br(cv_limit * 100, 1)}%): a mediana é pouco sensível aos extremos"
        )
    return Method.MEDIA, (
        f"os preços válidos são homogêneos (coeficiente de variação de {number_br((cv or 0) * 100, 1)}%, até "
        f"{number_br(cv_limit * 100, 1)}%): a média aproveita todos eles"
    )


def analyse_item(
    item: ResearchItem,
    prices: Iterable[ResearchPrice],
    *,
    rule: OutlierRule,
    factor_of: Callable[[date], Decimal],
    cv_limit: float,
) -> dict[str, Any]:
    """One item's mapa de apuração and result (see the module docstring)."""
    lines = [Line(p, factor_of(p.data)) for p in sorted(prices, key=lambda p: (p.valor, p.data, str(p.id)))]
    for line in lines:
        if line.price.decisao == "excluido":
            line.reason = f"excluído por {line.price.decisao_por}: {line.price.decisao_motivo}"
    candidates = [line for line in lines if line.reason is None]
    for line, why in zip(candidates, rule([float(line.corrected) for line in candidates]), strict=True):
        line.auto_reason = why
        if why and line.price.decisao != "mantido":
            line.reason = why
    kept = [line.corrected for line in lines if line.valid]
    n = len(kept)
    media = sum(kept, Decimal(0)) / n if n else None
    mediana = Decimal(statistics.median(kept)) if n else None
    menor = min(kept) if n else None
    cv = float(statistics.stdev(kept) / media) if n >= 2 and media else None
    everything = [line.corrected for line in lines]
    suggested, why = suggest(n, cv, cv_limit)
    method = Method(item.metodo) if item.metodo else None
    by_method = {
        Method.MEDIA: media,
        Method.MEDIANA: mediana,
        Method.MENOR_VALOR: menor,
        Method.OUTRO: item.valor_outro,
    }
    base = by_method.get(method) if method else None
    percent = dec(item.percentual) or Decimal(0)
    unit = (base * (1 + percent / 100)).quantize(FOUR, rounding=ROUND_HALF_UP) if base is not None else None
    quantity = dec(item.quantidade)
    total = (unit * quantity).quantize(CENT, rounding=ROUND_HALF_UP) if unit is not None and quantity else None
    problems = price_rules.item_problems(
        numero=item.numero,
        kept=n,
        cv=cv,
        cv_limit=cv_limit,
        method=method,
        method_justification=item.metodo_justificativa,
        other_value=item.valor_outro,
        other_approved=item.metodo_aprovado_por is not None,
        percent=dec(item.percentual),
        percent_justification=item.percentual_justificativa,
        critical_analysis=item.analise_critica,
        exception_justification=item.excecao_justificativa,
        exception_approved=item.excecao_aprovada_por is not None,
    )
    return {
        "numero": item.numero,
        "descricao": item.descricao,
        "codigo_catalogo": item.codigo_catalogo,
        "unidade": item.unidade,
        "quantidade": text(quantity),
        "precos": [_line(line) for line in lines],
        "n_coletados": len(lines),
        "n_validos": n,
        "media_todos": text(sum(everything, Decimal(0)) / len(everything)) if everything else None,
        "media": text(media),
        "mediana": text(mediana),
        "menor_valor": text(menor),
        "coeficiente_variacao": round(cv, 4) if cv is not None else None,
        "analise_critica_exigida": cv is not None and cv > cv_limit,
        "analise_critica": item.analise_critica,
        "metodo_sugerido": suggested,
        "metodo_sugerido_motivo": why,
        "metodo": method,
        "metodo_nome": METHOD_NAMES[method] if method else None,
        "metodo_justificativa": item.metodo_justificativa,
        "metodo_outro_descricao": item.metodo_outro_descricao,
        "metodo_aprovacao": _approval(item.metodo_aprovado_por, item.metodo_aprovado_em, item.metodo_despacho),
        "valor_metodo": text(base),
        "percentual": text(dec(item.percentual)),
        "percentual_justificativa": item.percentual_justificativa,
        "valor_unitario": text(unit),
        "valor_total": text(total),
        "memoria_calculo": memory(method, base, percent, unit, quantity, total, n),
        "excecao": {
            "justificativa": item.excecao_justificativa,
            "por": item.excecao_por,
            "aprovacao": _approval(item.excecao_aprovada_por, item.excecao_aprovada_em, item.excecao_despacho),
        }
        if item.excecao_justificativa
        else None,
        "decidido_por": item.decidido_por,
        "pendencias": problems,
    }


def memory(
    method: Method | None,
    base: Decimal | None,
    percent: Decimal,
    unit: Decimal | None,
    quantity: Decimal | None,
    total: Decimal | None,
    n: int,
) -> str | None:
    """The memória de cálculo of the item in words and figures (art. 3º, VII)."""
    if method is None or base is None or unit is None:
        return None
    name = METHOD_NAMES[method]
    steps = [f"{name} de {n} preço(s) válido(s) = {_plain(base)}"]
    if percent:
        sign = "+" if percent > 0 else "−"
        steps.append(
            f"{_plain(base)} × (1 {sign} {number_br(float(abs(percent)), 2)}%) = {_plain(base * (1 + percent / 100))}"
        )
    steps.append(f"valor unitário estimado (quatro casas) = {unit_brl(unit)}")
    if quantity and total is not None:
        steps.append(f"{unit_brl(unit)} × {_quantity(quantity)} = {brl(total)} (ao centavo)")
    return "; ".join(steps) + "."


def _plain(value: Decimal) -> str:
    """An unrounded intermediate value, to six places, as printed in the memória."""
    return number_br(float(value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)), 6).rstrip("0").rstrip(",")


def _quantity(value: Decimal) -> str:
    return number_br(float(value), 6).rstrip("0").rstrip(",")


def _approval(who: str | None, when: Any, despacho: str | None) -> dict[str, Any] | None:
    if not who:
        return None
    return {"por": who, "em": when.isoformat() if when else None, "despacho": despacho}


def _line(line: Line) -> dict[str, Any]:
    p = line.price
    return {
        "id": str(p.id),
        "fonte": p.fonte,
        "fonte_nome": SOURCE_NAMES[Source(p.fonte)],
        "origem": p.origem,
        "data": p.data.isoformat(),
        "valor_original": text(p.valor),
        "fator_correcao": text(line.factor.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)),
        "valor_corrigido": text(line.corrected.quantize(FOUR, rounding=ROUND_HALF_UP)),
        "situacao": "valido" if line.valid else "descartado",
        "motivo": line.reason,
        "criterio_automatico": line.auto_reason,
        "decisao": p.decisao,
        "decisao_motivo": p.decisao_motivo,
        "decisao_por": p.decisao_por,
        "detalhes": p.detalhes,
        "evidencia": {"nome": p.evidencia_nome, "sha256": p.evidencia_sha256, "tamanho": p.evidencia_tamanho}
        if p.evidencia_sha256
        else None,
        "registrado_por": p.registrado_por,
    }


def total(items: Iterable[dict[str, Any]]) -> Decimal | None:
    """The research total: the sum of the item totals (each already at the cent); None while one is missing."""
    values = [dec(i["valor_total"]) for i in items]
    return sum(values, Decimal(0)) if values and all(v is not None for v in values) else None  # type: ignore[misc]


def pncp_prices(
    session: Any,
) -> Callable[[list[dict[str, Any]], date, date | None], dict[int, list[dict[str, Any]]]]:
    """The collector of a new research: for each item, the prices of contratações similares in the collected PNCP
    data (art. 5º, II) dated within the window before the research date (PRICE_RESEARCH_WINDOW_DAYS, at most 365)
    and not before ``since`` (the IN's year before the planned edital, when known), per the item's unit (packs
    converted), every comparable one — the research's own criterion discards later."""
    from core.settings import settings
    from tasks.prices import market_data
    from tasks.prices.research import research

    window = min(settings.PRICE_RESEARCH_WINDOW_DAYS, 365)

    def collect(items: list[dict[str, Any]], day: date, since: date | None = None) -> dict[int, list[dict[str, Any]]]:
        out: dict[int, list[dict[str, Any]]] = {}
        for numero, item in enumerate(items, start=1):
            found = market_data.observations(
                session,
                reference_date=day,
                window_days=window,
                catalogue_code=item.get("codigo_catalogo"),
                description=item.get("descricao"),
            )
            try:
                mapa = research(
                    found,
                    reference_date=day,
                    catalogue_code=item.get("codigo_catalogo"),
                    description=item.get("descricao"),
                    unit=item.get("unidade") or None,
                    window_days=window,
                    outliers="none",
                )
            except ValueError:  # an item without code or words, or a unit the normaliser cannot read
                continue
            out[numero] = [
                {
                    "valor": line.price,
                    "data": line.observation.date,
                    "detalhes": {
                        "numero_controle_pncp": line.observation.numero_controle_pncp,
                        "numero_item": line.observation.numero_item,
                        "link": line.observation.link,
                        "uf": line.observation.uf,
                        "descricao": line.observation.description,
                        "unidade_original": line.unit.raw,
                        "preco_original": text(dec(line.observation.price)),
                        "fator_unidade": line.unit.factor,
                    },
                }
                for line in mapa.precos
                if since is None or line.observation.date >= since
            ]
        return out

    return collect
