"""Criteria to set aside inexequível or excessively high prices (IN SEGES/ME 65/2021, art. 6º), each documented.

A criterion is called with the prices (already per the reference unit and corrected) and returns, for each
price, None (kept) or the reason it is removed, in Portuguese with the limit it crossed. It is applied once
(not repeated on what is left), and ``describe()`` says how it works, for the method text of the mapa.

- ``IQR(k=1.5)`` (default): removes prices outside [Q1 − k·IQR; Q3 + k·IQR]; Q1 and Q3 by linear interpolation
  between the ordered prices, as QUARTIL.INC in Excel/Calc (Hyndman–Fan type 7). With three prices nothing
  can fall outside the fences.
- ``MeanSD(k=2)``: removes prices outside média ± k·desvio padrão (sample deviation, as DESVPAD).
- ``MedianRatio(tolerance=0.5)``: removes prices more than 50% above or below the median.
- ``MedianOfOthers(factor=3)``: small samples — each price against the median of the others, farthest
  first, one at a time (on {10; 11; 100} only 100 goes).
- ``BySize`` ("auto"): the median of the others below a number of prices, IQR from it on.
- ``NoRemoval()``: keeps every price.

Any object with the same two methods can be passed instead.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class OutlierRule(Protocol):
    def __call__(self, values: Sequence[float]) -> list[str | None]: ...

    def describe(self) -> str: ...


def number_br(value: float, places: int = 2) -> str:
    """1234.5 → "1.234,50"."""
    return f"{value:,.{places}f}".replace(",", "_").replace(".", ",").replace("_", ".")


def brl(value: float) -> str:
    """Money as read in Brazil: "R$ 1.234,56"; below R$ 1,00 with four places ("R$ 0,0545"), as PNCP keeps them."""
    return "R$ " + number_br(value, 2 if abs(value) >= 1 else 4)


def k_br(k: float) -> str:
    """A coefficient without needless zeros: 1.5 → "1,5", 2.0 → "2"."""
    return f"{k:g}".replace(".", ",")


def quantile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between the ordered values (QUARTIL.INC / Hyndman–Fan type 7)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * p
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


def _fences(values: Sequence[float], lower: float, upper: float, low_text: str, high_text: str) -> list[str | None]:
    return [
        f"acima do limite superior ({high_text} = {brl(upper)})"
        if v > upper
        else f"abaixo do limite inferior ({low_text} = {brl(lower)})"
        if v < lower
        else None
        for v in values
    ]


@dataclass(frozen=True)
class IQR:
    k: float = 1.5

    def __call__(self, values: Sequence[float]) -> list[str | None]:
        if len(values) < 2:
            return [None] * len(values)
        q1, q3 = quantile(values, 0.25), quantile(values, 0.75)
        spread = q3 - q1
        k = k_br(self.k)
        return _fences(values, q1 - self.k * spread, q3 + self.k * spread, f"Q1 − {k}·IQR", f"Q3 + {k}·IQR")

    def describe(self) -> str:
        k = k_br(self.k)
        return (
            f"Removidos os preços fora do intervalo [Q1 − {k}·IQR; Q3 + {k}·IQR], em que Q1 e Q3 são o primeiro "
            "e o terceiro quartis (interpolação linear, como QUARTIL.INC) e IQR = Q3 − Q1"
        )


@dataclass(frozen=True)
class MeanSD:
    k: float = 2.0

    def __call__(self, values: Sequence[float]) -> list[str | None]:
        if len(values) < 3:
            return [None] * len(values)
        mean, deviation = statistics.mean(values), statistics.stdev(values)
        k = k_br(self.k)
        return _fences(
            values, mean - self.k * deviation, mean + self.k * deviation, f"média − {k}·DP", f"média + {k}·DP"
        )

    def describe(self) -> str:
        return (
            f"Removidos os preços fora do intervalo média ± {k_br(self.k)} desvios padrão (desvio padrão "
            "amostral, como DESVPAD; aplicado a partir de 3 preços)"
        )


@dataclass(frozen=True)
class MedianRatio:
    tolerance: float = 0.5

    def __call__(self, values: Sequence[float]) -> list[str | None]:
        if not values:
            return []
        median = statistics.median(values)
        pct = f"{number_br(self.tolerance * 100, 0)}%"
        return _fences(
            values, median * (1 - self.tolerance), median * (1 + self.tolerance), f"mediana − {pct}", f"mediana + {pct}"
        )

    def describe(self) -> str:
        return f"Removidos os preços mais de {number_br(self.tolerance * 100, 0)}% acima ou abaixo da mediana"


@dataclass(frozen=True)
class MedianOfOthers:
    """Small samples: each price against the median of the *other* prices, one at a time, farthest first.

    A price above ``factor`` times the median of the others is excessively high, one below 1/``factor`` of it is
    inexequível (IN SEGES/ME nº 65/2021, art. 6º: "desconsiderados os valores inexequíveis, inconsistentes e os
    excessivamente elevados"). The limits are symmetric in ratio (3× above weighs as 1/3 below). The farthest price
    is set aside first and the others are judged again without it, so one wild price does not make the good ones
    look low: on {10; 11; 100} only 100 goes (9,52 × the median of 10 and 11), on {5; 10; 15} nothing does. It
    stops while 3 prices would not remain to compare: between two prices nothing says which one is wrong. Works
    from 3 prices, where the IQR fences cannot exclude anything."""

    factor: float = 3.0
    justification: str | None = None  # why this limit (PRICE_RESEARCH_LIMITS_JUSTIFICATION), shown with it

    def __call__(self, values: Sequence[float]) -> list[str | None]:
        reasons: list[str | None] = [None] * len(values)
        kept = list(range(len(values)))
        while len(kept) >= 3:
            worst: tuple[float, int, float, float] | None = None  # distance, index, ratio, median of the others
            for i in kept:
                median = statistics.median(values[j] for j in kept if j != i)
                if median <= 0 or values[i] <= 0:
                    continue
                ratio = values[i] / median
                distance = abs(math.log(ratio))
                if distance > math.log(self.factor) and (worst is None or distance > worst[0]):
                    worst = (distance, i, ratio, median)
            if worst is None:
                break
            _, index, ratio, median = worst
            reasons[index] = (
                f"{number_br(ratio, 2 if ratio >= 0.1 else 4)} vez(es) a mediana dos demais preços ({brl(median)}): "
                + (
                    f"acima de {k_br(self.factor)} vezes (excessivamente elevado)"
                    if ratio > 1
                    else f"abaixo de 1/{k_br(self.factor)} (inexequível)"
                )
            )
            kept.remove(index)
        return reasons

    def describe(self) -> str:
        return (
            f"Afastados, um a um e a começar pelo mais distante, os preços acima de {k_br(self.factor)} vezes "
            f"(excessivamente elevados) ou abaixo de 1/{k_br(self.factor)} (inexequíveis) da mediana dos demais "
            "preços, enquanto restarem ao menos 3 preços para comparar"
            + (f" ({self.justification.strip().rstrip('.')})" if self.justification else "")
        )


@dataclass(frozen=True)
class BySize:
    """The criterion by the sample's size: ``small`` below ``from_n`` prices, ``large`` (IQR) from it on."""

    small: OutlierRule
    large: OutlierRule
    from_n: int = 8

    def __call__(self, values: Sequence[float]) -> list[str | None]:
        return (self.small if len(values) < self.from_n else self.large)(values)

    def describe(self) -> str:
        return (
            f"Com menos de {self.from_n} preços: {_lower_first(self.small.describe())}. Com {self.from_n} ou mais: "
            f"{_lower_first(self.large.describe())}"
        )


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


@dataclass(frozen=True)
class NoRemoval:
    def __call__(self, values: Sequence[float]) -> list[str | None]:
        return [None] * len(values)

    def describe(self) -> str:
        return "Nenhum preço removido por critério estatístico"


RULES = {
    "auto": BySize,
    "iqr": IQR,
    "mediana_demais": MedianOfOthers,
    "dp": MeanSD,
    "mediana": MedianRatio,
    "none": NoRemoval,
}


def rule_for(
    outliers: str | OutlierRule,
    *,
    iqr_k: float = 1.5,
    factor: float = 3.0,
    iqr_from: int = 8,
    justification: str | None = None,
) -> OutlierRule:
    """A criterion by name ("auto", "iqr", "mediana_demais", "dp", "mediana", "none") or the criterion object itself.
    "auto": the median of the others below ``iqr_from`` prices, IQR from there on."""
    if not isinstance(outliers, str):
        return outliers
    if outliers not in RULES:
        raise ValueError(f"critério de exclusão desconhecido: {outliers!r} (use um de: {', '.join(RULES)})")
    if outliers == "auto":
        return BySize(MedianOfOthers(factor, justification), IQR(iqr_k), iqr_from)
    if outliers == "mediana_demais":
        return MedianOfOthers(factor, justification)
    return IQR(iqr_k) if outliers == "iqr" else RULES[outliers]()
