"""Builders of price research test data: collected PNCP prices of a catalogue code, and a finalised research of a
document (through the same crud functions the API calls)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from models import price_dates
from models.db import session_scope
from tests.utils.builders import PLANNER, acting

# a real CNPJ layout with valid check digits (Serpro's: public data), for supplier quotes
CNPJS = ("33683111000107", "00394460005887", "00360305000104", "26994558000123")


def market_prices(url: str, code: str, prices: list[tuple[float, date]], unit: str = "UNIDADE") -> list[str]:
    """One awarded result per price, each in its own contratação, for catalogue ``code``; their control numbers
    (``drop_market`` takes them out again: other tests read the collected period of the shared database)."""
    from models.market import PncpContratacao, PncpItem, PncpResultado

    controls = []
    with session_scope(url) as session:
        for n, (value, day) in enumerate(prices, start=1):
            control = f"00394460000141-1-{uuid.uuid4().int % 10**6:06d}/{day.year}"
            controls.append(control)
            published = datetime.combine(day, datetime.min.time())
            session.add(
                PncpContratacao(
                    numero_controle_pncp=control,
                    cnpj_orgao="00394460000141",
                    ano_compra=day.year,
                    sequencial_compra=n,
                    modalidade_id=6,
                    uf="DF",
                    objeto_compra="Aquisição de material",
                    data_publicacao_pncp=published,
                )
            )
            session.add(
                PncpItem(
                    numero_controle_pncp=control,
                    numero_item=1,
                    descricao="CANETA ESFEROGRAFICA AZUL",
                    quantidade=100,
                    unidade_medida=unit,
                    codigo_catalogo=code,
                    tem_resultado=True,
                    uf="DF",
                    data_publicacao_pncp=published,
                )
            )
            session.add(
                PncpResultado(
                    numero_controle_pncp=control,
                    numero_item=1,
                    sequencial_resultado=1,
                    quantidade_homologada=100,
                    valor_unitario_homologado=value,
                    valor_total_homologado=value * 100,
                    data_resultado=day,
                )
            )
    return controls


def drop_market(url: str, controls: list[str]) -> None:
    from sqlmodel import col, delete

    from models.market import PncpContratacao, PncpItem, PncpResultado

    with session_scope(url) as session:
        for table in (PncpResultado, PncpItem, PncpContratacao):
            session.execute(delete(table).where(col(table.numero_controle_pncp).in_(controls)))


def painel_price(value: str, day: date | None = None) -> Any:
    from models.price_research import ResearchPriceIn

    return ResearchPriceIn(
        fonte="I",
        valor=Decimal(value),
        data=day or price_dates.today() - timedelta(days=3),
        sistema="Painel de Preços",
        consulta="CATMAT 000000, últimos 12 meses, mediana por UF",
    )


def finalise_research(url: str, document_id: uuid.UUID, values: tuple[str, ...] = ("10.00", "10.50", "11.00")) -> dict:
    """Open the document's research, give each item three source I prices with their evidence, choose the média,
    finalise (report stored and registered). Returns the frozen figures."""
    from models.crud import price_research as crud
    from models.price_research import ItemDecision, ResearchOpen
    from tasks.records.research_report import render_and_store
    from tasks.storage.store import store_evidence

    with session_scope(url) as session:
        by = acting(session, PLANNER)
        research = crud.open_research(session, document_id, ResearchOpen(coletar_pncp=False), by)
        for item in crud.items_of(session, research):
            for value in values:
                evidence = (f"painel-{value}.pdf", "application/pdf", f"%PDF-1.4 consulta {value}".encode())
                crud.add_price(session, document_id, item.numero, painel_price(value), evidence, by, store_evidence)
            decision = ItemDecision(metodo="media", metodo_justificativa="Preços homogêneos: a média os representa.")
            crud.decide_item(session, document_id, item.numero, decision, by)
        crud.finalize(session, document_id, by, render_and_store)
        return crud.finalised_figures(session, document_id) or {}
