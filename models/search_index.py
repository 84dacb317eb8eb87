"""The search index over the collected PNCP data: items (description, split into the name and the attributes) and
contratações (objeto), kept by the upsert in the transaction that stores the rows (models/crud/market.py).

Both tables get a ``termos`` column the upsert fills from the text (``item_terms``, ``object_terms``):

``termos`` holds the words as ``tasks.prices.research.words`` cuts them (``[a-z0-9]+`` after folding: "G/M²" →
"g m2", where PostgreSQL's own parser keeps "g/m2" as one token), each reduced to its Snowball Portuguese stem
(``models.textsearch.stem``, the algorithm of PostgreSQL's ``portuguese_stem``), the same text on both databases:

- PostgreSQL: a STORED generated ``busca`` tsvector reads them through the ``simple`` configuration (the name's
  words weight A, the attributes' B), with a GIN index. The words are already folded and stemmed, so ``simple``
  gives the lexemes ``nexora_pt`` would, without running unaccent and the stemmer again per word inside the
  server: that was most of the collection's cost (bench/README.md). Queries use the same Python stems.
- SQLite: the stems, name and attributes apart, copied by triggers into an FTS5 table (``unicode61
  remove_diacritics 2``) whose rowid is the row's; an fts5vocab table gives each stem's number of rows (the rarest
  words of a query, ``tasks.prices.market_search``).

``build`` creates it all (idempotent) and ``reindex`` fills ``termos`` of rows stored before (migration 0017 and
``nexora search reindex``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from models.textsearch import _STOP as INDEX_STOP
from models.textsearch import fold, stem
from models.textsearch import words as indexed_words
from tasks.prices.research import STOP_WORDS as RESEARCH_STOP
from tasks.prices.research import words as research_words

SEPARATOR = " , "  # between the name's and the attributes' words in an item's ``termos``
BATCH = 5000
TS_CONFIG = "simple"  # PostgreSQL's configuration over the pre-stemmed ``termos`` (lower case, nothing dropped)

PG_BUILD = (
    "ALTER TABLE pncp_itens ADD COLUMN IF NOT EXISTS termos text",
    "ALTER TABLE pncp_contratacoes ADD COLUMN IF NOT EXISTS termos text",
    "ALTER TABLE pncp_itens ADD COLUMN IF NOT EXISTS palavras integer",
    f"""ALTER TABLE pncp_itens ADD COLUMN IF NOT EXISTS busca tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('{TS_CONFIG}'::regconfig, coalesce(split_part(termos, ',', 1), '')), 'A')
  || setweight(to_tsvector('{TS_CONFIG}'::regconfig, coalesce(split_part(termos, ',', 2), '')), 'B')) STORED""",
    f"""ALTER TABLE pncp_contratacoes ADD COLUMN IF NOT EXISTS busca tsvector GENERATED ALWAYS AS (
  to_tsvector('{TS_CONFIG}'::regconfig, coalesce(termos, ''))) STORED""",
    "CREATE INDEX IF NOT EXISTS ix_pncp_itens_busca ON pncp_itens USING gin (busca)",
    "CREATE INDEX IF NOT EXISTS ix_pncp_contratacoes_busca ON pncp_contratacoes USING gin (busca)",
    # the price research by catalogue code: the code's items, then their contratações by date
    "CREATE INDEX IF NOT EXISTS ix_pncp_contratacoes_publicacao ON pncp_contratacoes (data_publicacao_pncp)",
)
PG_DROP = (
    "DROP INDEX IF EXISTS ix_pncp_contratacoes_publicacao",
    "ALTER TABLE pncp_contratacoes DROP COLUMN IF EXISTS busca",
    "ALTER TABLE pncp_itens DROP COLUMN IF EXISTS busca",
    "ALTER TABLE pncp_contratacoes DROP COLUMN IF EXISTS termos",
    "ALTER TABLE pncp_itens DROP COLUMN IF EXISTS termos",
    "ALTER TABLE pncp_itens DROP COLUMN IF EXISTS palavras",
)
_TOKENIZE = 'tokenize="unicode61 remove_diacritics 2"'
_NAME = "substr(new.termos, 1, instr(new.termos, ',') - 1)"
_REST = "substr(new.termos, instr(new.termos, ',') + 1)"
SQLITE_BUILD = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS pncp_itens_fts USING fts5(nome, resto, {_TOKENIZE})",
    "CREATE VIRTUAL TABLE IF NOT EXISTS pncp_itens_fts_vocab USING fts5vocab(pncp_itens_fts, 'row')",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS pncp_contratacoes_fts USING fts5(objeto, {_TOKENIZE})",
    f"""CREATE TRIGGER IF NOT EXISTS pncp_itens_fts_insert AFTER INSERT ON pncp_itens WHEN new.termos IS NOT NULL
BEGIN INSERT INTO pncp_itens_fts (rowid, nome, resto) VALUES (new.id, {_NAME}, {_REST}); END""",
    f"""CREATE TRIGGER IF NOT EXISTS pncp_itens_fts_update AFTER UPDATE OF termos ON pncp_itens BEGIN
DELETE FROM pncp_itens_fts WHERE rowid = old.id;
INSERT INTO pncp_itens_fts (rowid, nome, resto) SELECT new.id, {_NAME}, {_REST} WHERE new.termos IS NOT NULL; END""",
    """CREATE TRIGGER IF NOT EXISTS pncp_itens_fts_delete AFTER DELETE ON pncp_itens
BEGIN DELETE FROM pncp_itens_fts WHERE rowid = old.id; END""",
    """CREATE TRIGGER IF NOT EXISTS pncp_contratacoes_fts_insert AFTER INSERT ON pncp_contratacoes
WHEN new.termos IS NOT NULL
BEGIN INSERT INTO pncp_contratacoes_fts (rowid, objeto) VALUES (new.rowid, new.termos); END""",
    """CREATE TRIGGER IF NOT EXISTS pncp_contratacoes_fts_update AFTER UPDATE OF termos ON pncp_contratacoes BEGIN
DELETE FROM pncp_contratacoes_fts WHERE rowid = old.rowid;
INSERT INTO pncp_contratacoes_fts (rowid, objeto) SELECT new.rowid, new.termos WHERE new.termos IS NOT NULL; END""",
    """CREATE TRIGGER IF NOT EXISTS pncp_contratacoes_fts_delete AFTER DELETE ON pncp_contratacoes
BEGIN DELETE FROM pncp_contratacoes_fts WHERE rowid = old.rowid; END""",
    "CREATE INDEX IF NOT EXISTS ix_pncp_contratacoes_publicacao ON pncp_contratacoes (data_publicacao_pncp)",
)
SQLITE_DROP = (
    "DROP INDEX IF EXISTS ix_pncp_contratacoes_publicacao",
    *(
        f"DROP TRIGGER IF EXISTS {t}_fts_{op}"
        for t in ("pncp_itens", "pncp_contratacoes")
        for op in ("insert", "update", "delete")
    ),
    "DROP TABLE IF EXISTS pncp_itens_fts_vocab",
    "DROP TABLE IF EXISTS pncp_itens_fts",
    "DROP TABLE IF EXISTS pncp_contratacoes_fts",
    "ALTER TABLE pncp_contratacoes DROP COLUMN termos",
    "ALTER TABLE pncp_itens DROP COLUMN termos",
    "ALTER TABLE pncp_itens DROP COLUMN palavras",
)


def _terms(part: str) -> str:
    return " ".join(stem(w) for w in indexed_words(part))


def item_terms(description: str | None) -> str:
    """An item's ``termos``: the name's stems (before the first comma), SEPARATOR, the attributes' stems."""
    name, _, rest = fold(description or "").partition(",")
    return _terms(name) + SEPARATOR + _terms(rest)


_WORD = re.compile(r"[a-z0-9]+")


def item_index(description: str | None) -> tuple[str, int]:
    """``item_terms`` and ``item_size`` at once, folding and cutting the description once: the collection computes
    both for every item it stores (the cost is the ingest's, bench/bench_pncp_ingest.py)."""
    name, _, rest = fold(description or "").partition(",")
    named, others = _WORD.findall(name), _WORD.findall(rest)
    terms = (
        " ".join(stem(w) for w in named if w not in INDEX_STOP)
        + SEPARATOR
        + " ".join(stem(w) for w in others if w not in INDEX_STOP)
    )
    return terms, len({w for w in named + others if w not in RESEARCH_STOP})


def item_size(description: str | None) -> int:
    """An item's ``palavras``: how many distinct words the price research compares (``research.words``). A
    description B the Jaccard rule accepts for A (J ≥ t) has t·|A| ≤ |B| ≤ |A|/t words: the research reads only
    those (``tasks.prices.market_search.comparable``)."""
    return len(research_words(description))


def object_terms(objeto: str | None) -> str:
    """A contratação's ``termos``: its objeto's stems, as ``item_terms``."""
    return _terms(fold(objeto or ""))


SOURCES: dict[str, tuple[str, str, Callable[..., str]]] = {
    "pncp_itens": ("id", "descricao", item_terms),
    "pncp_contratacoes": ("numero_controle_pncp", "objeto_compra", object_terms),
}


def build(connection: Connection) -> None:
    """Create the index's columns, tables, triggers and indexes (idempotent)."""
    postgres = connection.dialect.name == "postgresql"
    if not postgres:
        for table in SOURCES:
            columns = {row[1] for row in connection.exec_driver_sql(f"PRAGMA table_info({table})")}
            if "termos" not in columns:
                connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN termos TEXT")
            if table == "pncp_itens" and "palavras" not in columns:
                connection.exec_driver_sql("ALTER TABLE pncp_itens ADD COLUMN palavras INTEGER")
    for statement in PG_BUILD if postgres else SQLITE_BUILD:
        connection.exec_driver_sql(statement)


def drop(connection: Connection) -> None:
    for statement in PG_DROP if connection.dialect.name == "postgresql" else SQLITE_DROP:
        connection.exec_driver_sql(statement)


def pending(connection: Connection, table: str, everything: bool = False) -> int:
    """How many rows of ``table`` ``reindex`` would fill (those without ``termos``, or all)."""
    where = "" if everything else " WHERE termos IS NULL"
    return int(connection.execute(text(f"SELECT count(*) FROM {table}{where}")).scalar_one())


def _batch(connection: Connection, table: str, everything: bool, last: Any) -> tuple[int, Any, bool]:
    """Index the rows still without ``termos`` (or all, ``everything``) among the next BATCH rows of ``table`` after
    key ``last``: (how many were indexed, the last key read, whether the table is done). The rows are read by key
    range alone, the key's index in order: with ``termos IS NULL`` in the query, PostgreSQL's planner (no statistics
    for a column just added) chose to scan and sort the whole table for every batch: quadratic, 35 minutes for
    5 million items (bench/bench_search_index.py)."""
    key, source, terms = SOURCES[table]
    after = "" if last is None else f" WHERE {key} > :last"
    read = connection.execute(
        text(f"SELECT {key}, {source}, termos IS NULL FROM {table}{after} ORDER BY {key} LIMIT {BATCH}"),
        {"last": last},
    ).all()
    if not read:
        return 0, last, True
    rows = [(k, v) for k, v, pending in read if everything or pending]
    if table == "pncp_itens":
        indexed = [item_index(v) for _, v in rows]
        values: dict[str, list[Any]] = {
            "keys": [k for k, _ in rows],
            "termos": [t for t, _ in indexed],
            "palavras": [n for _, n in indexed],
        }
    else:
        values = {"keys": [k for k, _ in rows], "termos": [terms(v) for _, v in rows]}
    if rows and connection.dialect.name == "postgresql":
        # one statement a batch (the rows' values as arrays), not one UPDATE a row
        if table == "pncp_itens":
            connection.execute(
                text(
                    "UPDATE pncp_itens t SET termos = v.termos, palavras = v.palavras FROM unnest("
                    "CAST(:keys AS bigint[]), CAST(:termos AS text[]), CAST(:palavras AS integer[])) "
                    "AS v(key, termos, palavras) WHERE t.id = v.key"
                ),
                values,
            )
        else:
            connection.execute(
                text(
                    f"UPDATE {table} t SET termos = v.termos FROM unnest(CAST(:keys AS text[]), "
                    f"CAST(:termos AS text[])) AS v(key, termos) WHERE t.{key} = v.key"
                ),
                values,
            )
    elif rows:
        columns = "termos = :termos, palavras = :palavras" if table == "pncp_itens" else "termos = :termos"
        connection.execute(
            text(f"UPDATE {table} SET {columns} WHERE {key} = :key"),
            [dict(zip(("key", *list(values)[1:]), row, strict=True)) for row in zip(*values.values(), strict=True)],
        )
    return len(rows), read[-1][0], False


def reindex(connection: Connection, table: str, everything: bool = False) -> Iterator[int]:
    """Fill ``termos`` of the rows of ``table`` still without it (or of all, ``everything``), BATCH rows at a time
    in key order, in the caller's transaction (the migration's); yields how many each batch filled. The generated
    column and the triggers do the rest."""
    last: Any = None
    while True:
        count, last, done = _batch(connection, table, everything, last)
        if done:
            return
        if count:
            yield count


def reindex_batches(engine: Engine, table: str, everything: bool = False) -> Iterator[int]:
    """``reindex``, each batch in a transaction of its own (``nexora search reindex``: an interrupted run keeps
    what it did and the next one goes on from there)."""
    last: Any = None
    while True:
        with engine.begin() as connection:
            count, last, done = _batch(connection, table, everything, last)
        if done:
            return
        if count:
            yield count
