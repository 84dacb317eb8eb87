"""The embedded PNCP sample (real SIASG awarded items, tasks/pncp/sample.py) stored through the collection's own
parse and upsert, for the search index tests."""

from __future__ import annotations

from sqlalchemy import text

from models.db import session_scope

TABLES = ("pncp_resultados", "pncp_itens", "pncp_contratacoes")


def load_sample(url: str) -> int:
    """Store the whole sample; how many items."""
    from models.crud.market import upsert
    from models.market import PncpContratacao, PncpItem, PncpResultado
    from tasks.pncp import parse
    from tasks.pncp.sample import dataset

    compras, items, results = dataset()
    contratacoes, itens, resultados = [], [], []
    for raw in compras:
        parent = parse.contratacao(raw)
        contratacoes.append(parent)
        for raw_item in items.get(parent["numero_controle_pncp"], []):
            row = parse.item(raw_item, parent)
            itens.append(row)
            for raw_result in results.get((row["numero_controle_pncp"], row["numero_item"]), []):
                resultados.append(parse.resultado(raw_result, row))
    with session_scope(url) as session:
        upsert(session, PncpContratacao, contratacoes)
        upsert(session, PncpItem, itens)
        upsert(session, PncpResultado, resultados)
    return len(itens)


def empty(url: str) -> None:
    with session_scope(url) as session:
        for table in TABLES:
            session.exec(text(f"DELETE FROM {table}"))
