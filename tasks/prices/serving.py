"""Pricing items for apps: items as the model's rows and the IN 65 research with the configured criterion and
index (the MLflow pyfunc face is `tasks.prices.pyfunc`).

An item is priced per base unit (``tasks.prices.units``) and the answer is given back per the unit asked for
("CX C/ 100 UN" → 100 × the price of one UN).
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from core.settings import settings
from tasks.prices.dataset import SCHEMA
from tasks.prices.market_data import Collected
from tasks.prices.research import MapaDePrecos, Observation, PriceIndex, research
from tasks.prices.units import parse_unit

ROW_SCHEMA = {name: dtype for name, dtype in SCHEMA.items() if name != "preco_unitario"}


def rows_frame(items: list[dict[str, Any]]) -> tuple[pl.DataFrame, list[float]]:
    """(the items as the model's rows, each item's unit factor). Keys: descricao, codigo_catalogo, unidade,
    quantidade, uf, data (date or ISO text), modalidade_id, material_ou_servico."""
    records, factors = [], []
    for item in items:
        unit = parse_unit(item.get("unidade"))
        factor = unit.factor if unit else 1.0
        day = item.get("data") or date.today()
        quantity = item.get("quantidade")
        records.append(
            {
                "data": date.fromisoformat(str(day)[:10]) if not isinstance(day, date) else day,
                "codigo_catalogo": (str(item["codigo_catalogo"]).strip() or None)
                if item.get("codigo_catalogo")
                else None,
                "descricao": item.get("descricao") or "",
                "unidade": unit.base if unit else None,
                "quantidade": float(quantity) * factor if quantity else 1.0 * factor,
                "uf": item.get("uf"),
                "modalidade_id": item.get("modalidade_id"),
                "material_ou_servico": item.get("material_ou_servico"),
                "numero_controle_pncp": "consulta",
            }
        )
        factors.append(factor)
    return pl.DataFrame(records, schema=ROW_SCHEMA), factors


def price_index() -> PriceIndex | None:
    """The configured monthly index (PRICE_INDEX_FILE: CSV ano,mes,valor), or None."""
    path: Path | None = settings.PRICE_INDEX_FILE
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        values = {
            (int(r["ano"]), int(r["mes"])): float(str(r["valor"]).replace(",", ".")) for r in csv.DictReader(handle)
        }
    return PriceIndex(name=path.stem.upper(), values=values)


def mapa(observations: list[Observation], item: dict[str, Any], reference: date) -> MapaDePrecos:
    """The IN 65 research of one item with the configured window, criterion, minimum and index; from a
    ``market_data.Collected``, with what its query counted without reading (for the mapa's filters)."""
    extras: dict[str, Any] = {}
    if isinstance(observations, Collected):
        extras = {
            "outside_window": observations.outside_window,
            "span": observations.span,
            "read_from": observations.read_from,
            "other_items": observations.other_items,
        }
    return research(
        observations,
        reference_date=reference,
        catalogue_code=item.get("codigo_catalogo"),
        description=item.get("descricao"),
        unit=item.get("unidade") or None,
        window_days=settings.PRICE_RESEARCH_WINDOW_DAYS,
        outliers=settings.PRICE_RESEARCH_OUTLIERS,
        iqr_k=settings.PRICE_RESEARCH_IQR_K,
        factor=settings.PRICE_RESEARCH_RATIO_LIMIT,
        iqr_from=settings.PRICE_RESEARCH_IQR_FROM,
        justification=settings.PRICE_RESEARCH_LIMITS_JUSTIFICATION,
        cv_limit=settings.PRICE_RESEARCH_CV_LIMIT,
        min_prices=settings.PRICE_RESEARCH_MIN_PRICES,
        index=price_index(),
        **extras,
    )


def __getattr__(name: str):
    """Versions logged before the pyfunc class moved to ``tasks.prices.pyfunc`` unpickle it from here."""
    if name == "PricePyfunc":
        from tasks.prices.pyfunc import PricePyfunc

        return PricePyfunc
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
