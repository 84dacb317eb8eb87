"""Price answers for items, as the API gives them and the drafting reads them: the IN 65 mapa de preços from the
collected prices, the champion's estimate per the unit asked, and the verdict on both (``tasks.prices.reliability``).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from tasks.prices import market_data
from tasks.prices.reliability import Verdict, judge, profile
from tasks.prices.research import MapaDePrecos
from tasks.prices.serving import mapa, rows_frame

QUANTILES = ("p10", "p50", "p90")


def predictions(served, items: list[dict[str, Any]]) -> list[dict[str, float]] | None:
    """The served model's p10, p50 and p90 of each item, per the unit asked for; None without a model."""
    if served is None:
        return None
    rows, factors = rows_frame(items)
    out = served.model.predict(rows, served.history)
    return [{name: round(out[name][i] * factors[i], 4) for name in QUANTILES} for i in range(len(items))]


def research_items(session: Session, items: list[dict[str, Any]]) -> list[MapaDePrecos | ValueError]:
    """The mapa de preços of each item at its ``data``, the collected prices of the whole batch read together
    (``market_data.observations_many``); the ValueError of an item it cannot research in its place."""
    wanted = [market_data.Wanted(i["data"], i.get("codigo_catalogo"), i.get("descricao")) for i in items]
    collected = market_data.observations_many(session, wanted)
    answers: list[MapaDePrecos | ValueError] = []
    for item, found in zip(items, collected, strict=True):
        try:
            answers.append(mapa(found, item, item["data"]))
        except ValueError as exc:
            answers.append(exc)
    return answers


def verdict(
    result: MapaDePrecos, item: dict[str, Any], prediction: dict[str, float] | None = None, served=None
) -> Verdict:
    """Whether the answer (the mapa, and the model's ``prediction`` when ``served``) can be relied on."""
    return judge(
        n=result.n,
        reference=result.data_referencia,
        window_days=result.janela_dias,
        collected=result.periodo_dados,
        prediction=prediction,
        item=item,
        data=profile(served.history) if served is not None and prediction is not None else None,
    )
