"""The search index of our own ETPs/TRs, and the vectors of the optional semantic ranking.

One row of ``document_search`` per document holds the ORIGINAL text of what is searched, split by weight: the title
(A), the object (B: TR alínea a "definição do objeto", ETP inciso I "descrição da necessidade"), the other sections
and the header's context (C), and apart the sections of the price estimate (``estimate``, C) — apart because under
an orçamento sigiloso (Lei 14.133/2021, art. 24) they are read only with the 'sigiloso' scope, and a search by a key
without it must neither find a document by them nor show them in a snippet.

- PostgreSQL: two generated ``tsvector`` columns of the ``nexora_pt`` configuration (models/textsearch.py), ``tsv``
  (title, object, sections) and ``tsv_all`` (the same and the estimate), each with a GIN index (migration 0018).
- SQLite: the FTS5 tables ``document_search_fts`` (title, object, sections) and ``document_search_fts_all`` (the
  same and the estimate; rowid = ``document_search.id``) hold the texts reduced to their stems
  (``textsearch.stems``), written here, since no SQLite trigger can stem.

``sync_document`` rewrites a document's row in the caller's transaction: every write of a title, the context or a
section calls it (models/crud/documents.py, models/crud/artifacts.py), so the index is never behind what was
committed.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, delete, text
from sqlmodel import Field, Session, SQLModel, col, select

from models.db import UtcDateTime, utcnow
from models.enums import MarketData
from models.textsearch import stem, words

# the section that states the object, by kind: weighted B
OBJECT_SLUGS = ("definicao_objeto", "descricao_necessidade")
# how a snippet marks a word that matched the query, on both databases (ts_headline's StartSel/StopSel)
MARK_START, MARK_STOP = "«", "»"
# SQLite's FTS5 tables (rowid = document_search.id): the public columns alone, and with the estimate. Two tables,
# not one with a column filter: FTS5's bm25 normalises by the length of the whole row, so an estimate in the same
# row would move a sigiloso document's rank for a key that may not read it
FTS_TABLES = {
    "document_search_fts": ("title", "object", "sections"),
    "document_search_fts_all": ("title", "object", "sections", "estimate"),
}
SNIPPET_WORDS = 18  # words around each match
SNIPPET_FRAGMENTS = 2
FRAGMENT_DELIMITER = " … "


class DocumentSearch(SQLModel, table=True):
    __tablename__ = "document_search"

    id: int | None = Field(default=None, primary_key=True)
    document_id: uuid.UUID = Field(
        sa_column=Column(ForeignKey("documents.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    title: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    object: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    sections: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    estimate: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())


class SearchVector(SQLModel, table=True):
    """The embedding of one text of one index (``kind``: "document", later "market", "library"…; ``key``: the row's
    id there), by model; ``content_sha256`` tells a changed text, which is embedded again."""

    __tablename__ = "search_vectors"
    __table_args__ = (UniqueConstraint("kind", "key", "model", name="uq_search_vectors"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    key: str = Field(sa_column=Column(String(80), nullable=False))
    model: str = Field(sa_column=Column(String(120), nullable=False))
    dims: int
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # float32, little-endian
    content_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())


def _joined(*texts: str | None) -> str:
    return "\n\n".join(t.strip() for t in texts if t and t.strip())


def index_texts(
    context: str | None, template_sections: list[dict[str, Any]], fields: dict[str, tuple[str | None, str | None]]
) -> dict[str, str]:
    """The object, sections and estimate texts of a document from its sections (slug → (content, justification)),
    in template order; a justification (why an ETP element does not apply) is text the team wrote too."""
    obj: list[str | None] = []
    sections: list[str | None] = [context]
    estimate: list[str | None] = []
    for section in template_sections:
        content, justification = fields.get(section["slug"], (None, None))
        if section.get("market_data") == MarketData.PRICE_ESTIMATE:
            estimate += [content, justification]
        elif section["slug"] in OBJECT_SLUGS:
            obj += [content, justification]
        else:
            sections += [content, justification]
    return {"object": _joined(*obj), "sections": _joined(*sections), "estimate": _joined(*estimate)}


def sync_document(session: Session, document_id: uuid.UUID) -> None:
    """Rewrite the index row of one document from its stored title, context and sections (or drop it if the document
    is gone), in the caller's transaction."""
    from models.document import Document, DocumentField
    from models.template import Template

    # only the columns read here: the migration that fills the index (0018) runs this before later columns exist
    header = session.exec(
        select(Document.titulo, Document.context, Document.template_id).where(Document.id == document_id)
    ).first()
    if header is None:
        drop_document(session, document_id)
        return
    title, context, template_id = header
    sections = session.exec(select(Template.sections).where(Template.id == template_id)).first()
    rows = session.exec(
        select(DocumentField.slug, DocumentField.content, DocumentField.justification).where(
            DocumentField.document_id == document_id
        )
    ).all()
    texts = index_texts(context, list(sections or []), {slug: (c, j) for slug, c, j in rows})
    row = session.exec(select(DocumentSearch).where(DocumentSearch.document_id == document_id)).first()
    if row is None:
        row = DocumentSearch(document_id=document_id)
    row.title = title
    row.object, row.sections, row.estimate = texts["object"], texts["sections"], texts["estimate"]
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    if session.get_bind().dialect.name == "sqlite":
        values = fts_values(row)
        for table, columns in FTS_TABLES.items():
            session.execute(text(f"DELETE FROM {table} WHERE rowid = :id"), {"id": row.id})
            session.execute(
                text(f"INSERT INTO {table} (rowid, {', '.join(columns)}) VALUES (:id, :{', :'.join(columns)})"),
                values,
            )


def fts_values(row: DocumentSearch) -> dict[str, Any]:
    """The FTS5 row of an index row: its texts as stems (models.textsearch.stems)."""
    return {
        "id": row.id,
        "title": stems_of(row.title),
        "object": stems_of(row.object),
        "sections": stems_of(row.sections),
        "estimate": stems_of(row.estimate),
    }


def stems_of(value: str) -> str:
    return " ".join(stem(w) for w in words(value))


def drop_document(session: Session, document_id: uuid.UUID) -> None:
    """Take a document out of the index (before the document itself is deleted)."""
    ids = list(session.exec(select(DocumentSearch.id).where(DocumentSearch.document_id == document_id)).all())
    if not ids:
        return
    if session.get_bind().dialect.name == "sqlite":
        for row_id in ids:
            for table in FTS_TABLES:
                session.execute(text(f"DELETE FROM {table} WHERE rowid = :id"), {"id": row_id})
    session.execute(delete(DocumentSearch).where(col(DocumentSearch.document_id) == document_id))


_TOKEN = re.compile(r"\w+", re.UNICODE)


def mark(value: str, query_stems: set[str]) -> str:
    """A snippet of the ORIGINAL text with each word whose stem is one of the query's between « and », as
    PostgreSQL's ts_headline marks them (users never see stems): up to ``SNIPPET_FRAGMENTS`` fragments of about
    ``SNIPPET_WORDS`` words around the matches, joined by " … "; the start of the text when nothing matches."""
    tokens = list(_TOKEN.finditer(value))
    if not tokens:
        return ""
    hits = [i for i, t in enumerate(tokens) if (w := words(t.group())) and stem(w[0]) in query_stems]
    if not hits:
        last = min(len(tokens), SNIPPET_WORDS * 2) - 1
        end = len(value) if last == len(tokens) - 1 else tokens[last].end()  # the whole text: its final stop too
        return " ".join(value[:end].split())
    fragments: list[tuple[int, int]] = []
    for hit in hits:
        if fragments and hit <= fragments[-1][1]:
            continue
        if len(fragments) == SNIPPET_FRAGMENTS:
            break
        start, stop = max(0, hit - SNIPPET_WORDS // 3), min(len(tokens) - 1, hit + SNIPPET_WORDS * 2 // 3)
        fragments.append((start, stop))
    marked = set(hits)
    out = []
    for start, stop in fragments:
        pieces = []
        cursor = tokens[start].start()
        for i in range(start, stop + 1):
            token = tokens[i]
            pieces.append(value[cursor : token.start()])
            pieces.append(f"{MARK_START}{token.group()}{MARK_STOP}" if i in marked else token.group())
            cursor = token.end()
        if stop == len(tokens) - 1:
            pieces.append(value[cursor:])  # the text's end: its final stop too
        out.append(" ".join("".join(pieces).split()))
    return FRAGMENT_DELIMITER.join(out)


def query_stems(query: str) -> set[str]:
    return {stem(w) for w in words(query)}
