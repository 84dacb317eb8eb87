"""Price research, the legal baseline (IN SEGES/ME 65/2021): from collected results, the mapa de preços of an item.

1. Comparable prices (art. 5º, II, contratações similares): the same CATMAT/CATSER code when one is given; if
   not, a description whose Jaccard similarity with the item's is at least ``similarity`` (sets of folded words,
   stop-words removed). Either way the unit must reduce to the same base unit (``units.parse_unit``); prices of
   packs are converted to the reference unit ("CX C/ 100 UN" at R$ 50,00 → R$ 0,50 per UN). Without a reference
   unit, the reference is one base unit of the most frequent base among the comparable prices.
2. Only prices dated within [reference_date − window_days, reference_date], counted in days (365 days reach back
   to 1 July 2023 from 30 June 2024, a leap year); later prices are never used.
3. With a ``PriceIndex``, each price is corrected by index(reference month) / index(price month).
4. Outliers set aside by a documented criterion (``outliers``: IQR fences by default); each keeps its reason.
5. Média, mediana and menor valor of the rest; ``suficiente`` when there are at least ``min_prices`` (art. 6º).

The mapa lists its prices from the lowest corrected value up. In ``to_dict`` money keeps four places, PNCP's
precision; it is rounded once, where it is printed (see ``money`` and ``ROUNDING``).

Prices set aside for not being comparable, or outside the window, are only counted (``excluidos``; those of the
item that the caller's query already left out by date are passed in as ``outside_window``); the raw units that
could not be read are listed, so an operator can teach them to the normaliser. ``filtros`` lists the filters in the
order applied with what each set aside (``tasks.prices.funnel``), and an empty or thin mapa's ``nota`` says it.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tasks.prices import funnel
from tasks.prices.outliers import OutlierRule, number_br, rule_for
from tasks.prices.units import Unit, convert, fold, label, parse_unit

STOP_WORDS = frozenset(
    "a o as os ao aos de da do das dos e em no na nos nas num numa para por pela pelo com sem um uma ou que "
    "tipo nome".split()
)  # "NOME" closes many SIASG catalogue descriptions ("CADEIRA, CADEIRA NOME")
SIMILARITY = 0.5  # the Jaccard threshold of a comparable description (art. 5º, II) unless the caller sets one
EXCLUSIONS = (
    "outro_item",
    "preco_invalido",
    "sem_data",
    "data_futura",
    "fora_da_janela",
    "unidade_desconhecida",
    "unidade_incompativel",
)


def words(text: str | None) -> frozenset[str]:
    return frozenset(w for w in re.split(r"[^a-z0-9]+", fold(text or "")) if w and w not in STOP_WORDS)


def jaccard(left: frozenset[str], right: frozenset[str]) -> float:
    return len(left & right) / len(left | right) if left and right else 0.0


def similarity(a: str | None, b: str | None) -> float:
    """Jaccard similarity of the two descriptions' word sets (0 when either is empty)."""
    return jaccard(words(a), words(b))


class PriceIndexError(ValueError):
    """The index has no value for a month the research needs."""


@dataclass(frozen=True)
class PriceIndex:
    """A monthly index series (e.g. IPCA número-índice) by (year, month).

    A missing month is an error, unless ``carry_forward``: then the latest earlier month stands in (the usual
    case is a reference month whose index is not published yet)."""

    name: str
    values: Mapping[tuple[int, int], float]
    carry_forward: bool = False

    def value(self, when: date) -> float:
        month = (when.year, when.month)
        if month in self.values:
            return self.values[month]
        earlier = [m for m in self.values if m < month]
        if self.carry_forward and earlier:
            return self.values[max(earlier)]
        raise PriceIndexError(
            f"índice {self.name} sem valor para {when.month:02d}/{when.year}; inclua esse mês na "
            "série ou permita usar o último mês publicado"
        )

    def factor(self, price_date: date, reference_date: date) -> float:
        return self.value(reference_date) / self.value(price_date)


@dataclass
class Observation:
    """A collected price: per the item's own unit of supply (``unit``, raw as typed)."""

    price: float
    unit: str | None
    date: date
    numero_controle_pncp: str
    numero_item: int
    link: str | None = None
    catalogue_code: str | None = None
    description: str = ""
    uf: str | None = None
    quantidade: float | None = None


def money(value: float | None) -> float | None:
    """A value as the API gives it: to four places, PNCP's precision (R$ 1,0003 stays itself, not R$ 1,00). The
    statistics and totals are computed on the unrounded values; rounding to cents happens once, where money is
    printed (``outliers.brl``: cents, or four places below R$ 1,00), as ROUNDING says."""
    if value is None:
        return None
    return float(Decimal(repr(float(value))).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP))  # 11,52075 → 11,5208


FOUR_PLACES = Decimal("0.0001")


ROUNDING = (
    "Os valores são calculados com a precisão da fonte (quatro casas decimais) e arredondados uma única vez, na "
    "exibição: ao centavo, ou a quatro casas abaixo de R$ 1,00."
)


@dataclass
class PriceLine:
    """A price of the mapa: ``price`` per the reference unit, ``value`` = price × ``correction`` (the index)."""

    observation: Observation
    unit: Unit
    price: float
    correction: float
    reason: str | None = None

    @property
    def value(self) -> float:
        return self.price * self.correction

    def to_dict(self) -> dict[str, Any]:
        o = self.observation
        out = {
            "numero_controle_pncp": o.numero_controle_pncp,
            "numero_item": o.numero_item,
            "link": o.link,
            "data": _day(o.date).isoformat(),
            "uf": o.uf,
            "codigo_catalogo": o.catalogue_code,
            "descricao": o.description,
            "quantidade": None if o.quantidade is None else float(o.quantidade),
            "unidade_original": self.unit.raw,
            "fator_unidade": self.unit.factor,
            "preco_original": money(float(o.price)),
            "preco_unidade_referencia": money(self.price),
            "fator_correcao": round(self.correction, 6),
            "valor_corrigido": money(self.value),
        }
        return out | ({"motivo": self.reason} if self.reason else {})


@dataclass
class MapaDePrecos:
    data_referencia: date
    codigo_catalogo: str | None
    descricao: str | None
    unidade: Unit
    janela_dias: int
    indice: str | None
    metodo: str
    criterio: str
    precos: list[PriceLine]
    removidos: list[PriceLine]
    excluidos: dict[str, int]
    unidades_desconhecidas: list[str]
    minimo_precos: int
    filtros: list[dict[str, Any]] = field(default_factory=list)
    periodo_dados: tuple[date, date] | None = None  # first and last date of the collected prices, when known
    limite_cv: float | None = None  # above this coefficient of variation the mapa asks for the critical analysis
    media: float | None = field(init=False)
    mediana: float | None = field(init=False)
    menor_valor: float | None = field(init=False)
    coeficiente_variacao: float | None = field(init=False)
    analise_critica: str | None = field(init=False)
    n: int = field(init=False)
    suficiente: bool = field(init=False)
    nota: str | None = field(init=False)

    def __post_init__(self) -> None:
        values = [line.value for line in self.precos]
        self.n = len(values)
        self.media = statistics.mean(values) if values else None
        self.mediana = statistics.median(values) if values else None
        self.menor_valor = min(values) if values else None
        # dispersion of the kept prices (desvio padrão amostral / média), for the critical analysis (art. 6º, § 4º)
        self.coeficiente_variacao = statistics.stdev(values) / self.media if len(values) >= 2 and self.media else None
        self.analise_critica = critical_analysis(self.coeficiente_variacao, self.limite_cv)
        self.suficiente = self.n >= self.minimo_precos
        self.nota = None if self.suficiente else funnel.shortage(self.n, self.minimo_precos)
        if self.nota and self.filtros:
            start = self.data_referencia - timedelta(days=self.janela_dias)
            self.nota += " " + funnel.explain(
                self.filtros,
                self.n,
                code=self.codigo_catalogo,
                start=start,
                end=self.data_referencia,
                span=self.periodo_dados,
            )

    def to_dict(self) -> dict[str, Any]:
        unit = self.unidade
        return {
            "data_referencia": self.data_referencia.isoformat(),
            "codigo_catalogo": self.codigo_catalogo,
            "descricao": self.descricao,
            "janela_dias": self.janela_dias,
            "indice": self.indice,
            "unidade": {
                "original": unit.raw,
                "base": unit.base,
                "fator": unit.factor,
                "descricao_base": label(unit.base),
            },
            "metodo": self.metodo,
            "criterio_exclusao": self.criterio,
            "precos": [line.to_dict() for line in self.precos],
            "removidos": [line.to_dict() for line in self.removidos],
            "excluidos": dict(self.excluidos),
            "unidades_desconhecidas": list(self.unidades_desconhecidas),
            "filtros": [{k: v for k, v in stage.items() if k != "resumo"} for stage in self.filtros],
            "periodo_dados": {"inicio": self.periodo_dados[0].isoformat(), "fim": self.periodo_dados[1].isoformat()}
            if self.periodo_dados
            else None,
            "n": self.n,
            "minimo_precos": self.minimo_precos,
            "media": money(self.media),
            "mediana": money(self.mediana),
            "menor_valor": money(self.menor_valor),
            "coeficiente_variacao": round(self.coeficiente_variacao, 4)
            if self.coeficiente_variacao is not None
            else None,
            "analise_critica": self.analise_critica,
            "suficiente": self.suficiente,
            "nota": self.nota,
        }


ART_6_4 = (
    'IN SEGES/ME nº 65/2021, art. 6º, § 4º: "Os preços coletados devem ser analisados de forma crítica, em '
    'especial, quando houver grande variação entre os valores apresentados."'
)


def critical_analysis(cv: float | None, limit: float | None) -> str | None:
    """What the mapa asks of the team when the kept prices vary widely (ART_6_4): their coefficient of variation
    (desvio padrão amostral / média) above ``limit`` (PRICE_RESEARCH_CV_LIMIT). None at or below it."""
    if cv is None or limit is None or cv <= limit:
        return None
    return (
        f"Coeficiente de variação dos preços válidos de {number_br(cv * 100, 1)}%, acima de "
        f"{number_br(limit * 100, 1)}%: {ART_6_4} A equipe deve registrar a análise crítica desses preços."
    )


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _code(value: str | None) -> str | None:
    """A catalogue code as compared: "035440 " and "35440" are the same code."""
    return (str(value).strip().lstrip("0") or None) if value is not None else None


def _plain(number: float) -> str:
    return number_br(number, 4).rstrip("0").rstrip(",")


def _method(
    code: str | None,
    description: str | None,
    unit: Unit,
    start: date,
    end: date,
    window: int,
    index: PriceIndex | None,
    rule: OutlierRule,
    threshold: float,
    minimum: int,
) -> str:
    item = (
        f"mesmo código CATMAT/CATSER {code}"
        if code
        else f"descrição semelhante a “{description}” (similaridade de Jaccard ≥ {number_br(threshold)} entre as "
        "palavras, sem palavras vazias)"
    )
    correction = f", corrigidos pelo {index.name} até {end.month:02d}/{end.year}" if index else ""
    return (
        f"Pesquisa em contratações similares da Administração Pública (IN SEGES/ME nº 65/2021, art. 5º, II): "
        f"{item}; preços por {unit.raw} ({_plain(unit.factor)} {label(unit.base)}), embalagens convertidas pela "
        f"unidade base; datados de {start:%d/%m/%Y} a "
        f"{end:%d/%m/%Y} ({window} dias até a data de referência){correction}. {rule.describe()} (art. 6º). "
        f"Calculados a média, a mediana e o menor valor dos preços válidos, com no mínimo {minimum} preços "
        "(art. 6º); o valor de referência do item é a mediana, menos sensível a preços extremos que a média, até que "
        f"a equipe de planejamento escolha e justifique o método. {ROUNDING}"
    )


def research(
    observations: Iterable[Observation],
    *,
    reference_date: date,
    catalogue_code: str | None = None,
    description: str | None = None,
    unit: str | Unit | None = None,
    window_days: int = 365,
    outliers: str | OutlierRule = "iqr",
    iqr_k: float = 1.5,
    factor: float = 3.0,
    iqr_from: int = 8,
    justification: str | None = None,
    cv_limit: float | None = None,
    min_prices: int = 3,
    similarity: float = SIMILARITY,
    index: PriceIndex | None = None,
    outside_window: int = 0,
    span: tuple[date, date] | None = None,
    read_from: date | None = None,
    other_items: int = 0,
) -> MapaDePrecos:
    """The mapa de preços of an item, from collected prices (see the module docstring for the rules).

    ``outside_window``: prices of the item (its catalogue code) the caller's query left out for their date, counted
    as ``fora_da_janela``; ``other_items``: prices the caller read and found of another item, counted as
    ``outro_item``; ``span``: the collected prices' first and last dates; ``read_from``: the publication date
    from which the caller read prices of any item (for the description of the filters)."""
    code, rule, reference_date = (
        _code(catalogue_code),
        rule_for(outliers, iqr_k=iqr_k, factor=factor, iqr_from=iqr_from, justification=justification),
        _day(reference_date),
    )
    if code is None and not words(description):
        raise ValueError("informe o código CATMAT/CATSER ou a descrição do item")
    reference = parse_unit(unit) if isinstance(unit, str) else unit
    if unit is not None and reference is None:
        raise ValueError(
            f"unidade de referência não reconhecida: {unit!r}; informe uma unidade como UN, KG, L, CX C/ 100 UN"
        )
    start, end = reference_date - timedelta(days=window_days), reference_date
    excluded, unknown = Counter(dict.fromkeys(EXCLUSIONS, 0)), set()
    excluded["fora_da_janela"] += outside_window
    excluded["outro_item"] += other_items
    candidates: list[tuple[Observation, Unit]] = []
    target = words(description)
    for obs in observations:
        reason, parsed = _classify(obs, code, target, similarity, start, end)
        if reason:
            excluded[reason] += 1
            if reason == "unidade_desconhecida":
                unknown.add((obs.unit or "").strip() or "(em branco)")
        else:
            candidates.append((obs, parsed))
    if reference is None:
        counts = Counter(parsed.base for _, parsed in candidates)
        base = min(counts, key=lambda b: (-counts[b], b)) if counts else "UN"
        reference = Unit(base=base, factor=1.0, raw=base)
    lines = []
    for obs, parsed in candidates:
        if parsed.base != reference.base:
            excluded["unidade_incompativel"] += 1
            continue
        try:
            correction = index.factor(_day(obs.date), end) if index else 1.0
        except PriceIndexError as exc:
            raise PriceIndexError(f"{exc} (preço de {obs.numero_controle_pncp}, item {obs.numero_item})") from None
        lines.append(PriceLine(obs, parsed, convert(float(obs.price), parsed, reference), correction))
    for line, why in zip(lines, rule([line.value for line in lines]), strict=True):
        line.reason = why
    by_value = sorted(lines, key=lambda line: line.value)
    kept = [line for line in by_value if line.reason is None]
    removed = [line for line in by_value if line.reason is not None]
    filters = funnel.stages(
        excluded,
        len(removed),
        len(kept),
        code=code,
        threshold=similarity,
        start=start,
        end=end,
        window_days=window_days,
        base=label(reference.base),
        criterion=rule.describe(),
        read_from=None if code else read_from,
    )
    return MapaDePrecos(
        data_referencia=reference_date,
        codigo_catalogo=code,
        descricao=description,
        unidade=reference,
        janela_dias=window_days,
        indice=index.name if index else None,
        metodo=_method(code, description, reference, start, end, window_days, index, rule, similarity, min_prices),
        criterio=rule.describe(),
        precos=kept,
        removidos=removed,
        excluidos=dict(excluded),
        unidades_desconhecidas=sorted(unknown),
        minimo_precos=min_prices,
        filtros=filters,
        periodo_dados=span,
        limite_cv=cv_limit,
    )


def _classify(
    obs: Observation, code: str | None, target: frozenset[str], threshold: float, start: date, end: date
) -> tuple[str | None, Unit | None]:
    """Why the observation is left out (one of EXCLUSIONS), or None and its unit."""
    if not (_code(obs.catalogue_code) == code if code else jaccard(target, words(obs.description)) >= threshold):
        return "outro_item", None
    if not _positive(obs.price):
        return "preco_invalido", None
    if obs.date is None:
        return "sem_data", None
    when = _day(obs.date)
    if when > end or when < start:
        return ("data_futura" if when > end else "fora_da_janela"), None
    parsed = parse_unit(obs.unit)
    return ("unidade_desconhecida" if parsed is None else None), parsed


def _positive(price: Any) -> bool:
    """A finite price above zero (int, float or Decimal; not bool, not text)."""
    if isinstance(price, bool | str) or price is None:
        return False
    try:
        number = float(price)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number) and number > 0
