"""Storing PNCP records: batched upserts on the natural keys, the quarantine, and the collection checkpoints.

An upsert inserts new keys and replaces a stored row only when the incoming `data_atualizacao` is newer (a record
changed at the source updates the stored one; an old copy seen again in another slice does not).

On PostgreSQL the rows are streamed with COPY into a temporary table and merged by one INSERT … SELECT … ON
CONFLICT DO UPDATE … RETURNING, which also tells inserted from updated rows. Elsewhere (SQLite) one compiled
INSERT … ON CONFLICT runs for many rows after one SELECT of the stored versions.

Items and contratações carry the search index's words (``termos``, models/search_index.py), computed here from the
description / objeto (their stems): PostgreSQL derives its tsvector from them (a generated column over the ``simple``
configuration), SQLite's triggers copy them into
FTS5, both in the upsert's own transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, or_, tuple_
from sqlalchemy.dialects import sqlite
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.sql.expression import Select

from models.db import table_of, utcnow
from models.market import PncpCheckpoint, PncpContratacao, PncpItem, PncpQuarantine, PncpResultado
from models.search_index import item_index, item_terms, object_terms

KEYS: dict[type[SQLModel], tuple[str, ...]] = {
    PncpContratacao: ("numero_controle_pncp",),
    PncpItem: ("numero_controle_pncp", "numero_item"),
    PncpResultado: ("numero_controle_pncp", "numero_item", "sequencial_resultado"),
}
CHUNK = 1000
SEARCHED: dict[type[SQLModel], tuple[str, Callable[..., str]]] = {
    PncpItem: ("descricao", item_terms),
    PncpContratacao: ("objeto_compra", object_terms),
}
_MIN = datetime.min
_JSON = json.JSONEncoder(ensure_ascii=False, default=str).encode  # built once: json.dumps(**kw) builds one a call


def upsert(session: Session, model: type[SQLModel], rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert or update ``rows`` (dicts of column values) by the model's natural key; counts what happened."""
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    if not rows:
        return counts
    keys = KEYS[model]
    latest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:  # the same record twice in one batch: keep the newest
        key = tuple(row[k] for k in keys)
        kept = latest.get(key)
        if kept is None or (row.get("data_atualizacao") or _MIN) >= (kept.get("data_atualizacao") or _MIN):
            latest[key] = row
    postgres = session.get_bind().dialect.name == "postgresql"
    if (searched := SEARCHED.get(model)) is not None:  # the search index's words, stored with the row
        source, terms = searched
        for key, row in latest.items():
            if model is PncpItem:
                termos, palavras = item_index(row.get(source))
                latest[key] = {**row, "termos": termos, "palavras": palavras}
            else:
                latest[key] = {**row, "termos": terms(row.get(source))}
    if postgres:
        return _upsert_copy(session, model, keys, list(latest.values()), counts)
    table = table_of(model)
    insert = sqlite.insert
    statement = insert(table)
    statement = statement.on_conflict_do_update(  # one statement, compiled once, executed for many rows
        index_elements=list(keys),
        set_={c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys and not c.primary_key},
        where=or_(
            table.c.data_atualizacao.is_(None),
            statement.excluded.data_atualizacao.is_(None),
            statement.excluded.data_atualizacao > table.c.data_atualizacao,
        ),
    )
    columns = [c.name for c in table.columns if (not c.primary_key or c.name in keys) and c.name != "fetched_at"]
    now = utcnow()
    items = list(latest.items())
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        stored = _stored_versions(session, model, keys, [key for key, _ in chunk])
        for key, row in chunk:
            if key not in stored:
                counts["inserted"] += 1
            elif row.get("data_atualizacao") is None or stored[key] is None or row["data_atualizacao"] > stored[key]:
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        session.connection().execute(
            statement, [{**{c: row.get(c) for c in columns}, "fetched_at": now} for _, row in chunk]
        )
    return counts


def _upsert_copy(
    session: Session, model: type[SQLModel], keys: tuple[str, ...], rows: list[dict[str, Any]], counts: dict[str, int]
) -> dict[str, int]:
    """PostgreSQL: COPY into a temporary table, then one merge that reports which rows it inserted."""
    table = table_of(model)
    columns = [c for c in table.columns if (not c.primary_key or c.name in keys)]
    names = [c.name for c in columns]
    as_json = {c.name for c in columns if isinstance(c.type, JSON)}
    listed = ", ".join(names)
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in keys)
    now = utcnow()
    driver = session.connection().connection.driver_connection  # psycopg's connection
    assert driver is not None
    cursor = driver.cursor()
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS _incoming_{table.name} AS SELECT {listed} FROM {table.name} WITH NO DATA"
    )
    cursor.execute(f"TRUNCATE _incoming_{table.name}")
    plain = [n for n in names if n not in as_json and n != "fetched_at"]
    order = plain + sorted(as_json) + ["fetched_at"]
    with cursor.copy(f"COPY _incoming_{table.name} ({', '.join(order)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([*map(row.get, plain), *(_JSON(row.get(n)) for n in sorted(as_json)), now])
    cursor.execute(
        f"INSERT INTO {table.name} ({listed}) SELECT {listed} FROM _incoming_{table.name} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates} "
        f"WHERE {table.name}.data_atualizacao IS NULL OR excluded.data_atualizacao IS NULL "
        f"OR excluded.data_atualizacao > {table.name}.data_atualizacao "
        "RETURNING (xmax = 0)"
    )
    returned = [inserted for (inserted,) in cursor.fetchall()]
    counts["inserted"] = sum(returned)
    counts["updated"] = len(returned) - counts["inserted"]
    counts["unchanged"] = len(rows) - len(returned)
    return counts


def _stored_versions(
    session: Session, model: type[SQLModel], keys: tuple[str, ...], wanted: list[tuple[Any, ...]]
) -> dict[tuple[Any, ...], Any]:
    *columns, version = [getattr(model, k) for k in (*keys, "data_atualizacao")]
    condition = col(columns[0]).in_([k[0] for k in wanted]) if len(keys) == 1 else tuple_(*columns).in_(wanted)
    # Select(...) is what select() builds for two columns or more (its typed overloads take a fixed number)
    rows: Sequence[Any] = session.exec(Select(*columns, version).where(condition)).all()
    return {tuple(r[:-1]): r[-1] for r in rows}


def quarantine(
    session: Session,
    kind: str,
    source: str,
    reason: str,
    raw: str,
    record_key: str | None = None,
    flow_run_id: str | None = None,
) -> None:
    session.add(
        PncpQuarantine(
            kind=kind, source=source[:500], reason=reason, raw=raw, record_key=record_key, flow_run_id=flow_run_id
        )
    )


def list_quarantine(
    session: Session, kind: str | None = None, flow_run_id: str | None = None, limit: int = 50
) -> tuple[list[PncpQuarantine], int]:
    """Quarantined records, newest first, with the total that matches."""
    from sqlalchemy import func

    where = []
    if kind:
        where.append(PncpQuarantine.kind == kind)
    if flow_run_id:
        where.append(PncpQuarantine.flow_run_id == flow_run_id)
    total = session.exec(select(func.count()).select_from(PncpQuarantine).where(*where)).one()
    rows = session.exec(
        select(PncpQuarantine)
        .where(*where)
        .order_by(col(PncpQuarantine.created_at).desc(), col(PncpQuarantine.id).desc())
        .limit(limit)
    ).all()
    return list(rows), total


def slice_key(endpoint: str, modalidade: int | None, uf: str | None, start: date, end: date) -> str:
    return f"{endpoint}|{modalidade or '-'}|{uf or '-'}|{start:%Y%m%d}-{end:%Y%m%d}"


def checkpoint(
    session: Session, endpoint: str, modalidade: int | None, uf: str | None, start: date, end: date
) -> PncpCheckpoint:
    """The slice's checkpoint (created at page 0 when new)."""
    key = slice_key(endpoint, modalidade, uf, start, end)
    row = session.exec(select(PncpCheckpoint).where(PncpCheckpoint.slice_key == key)).first()
    if row is None:
        row = PncpCheckpoint(
            slice_key=key, endpoint=endpoint, modalidade_id=modalidade, uf=uf, window_start=start, window_end=end
        )
        session.add(row)
        session.flush()
    return row


def advance(session: Session, key: str, page: int, total_pages: int | None, done: bool) -> None:
    """Record that ``page`` is stored (called in the transaction that stored it)."""
    row = session.exec(select(PncpCheckpoint).where(PncpCheckpoint.slice_key == key).with_for_update()).one()
    row.last_page, row.total_pages, row.done, row.updated_at = page, total_pages, done, utcnow()
    session.add(row)
