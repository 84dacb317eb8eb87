"""The PNCP document library's reads and writes: which contratações still have their files to list, a file's
outcome stored with its sections (and their search index) in the caller's transaction, and the search.

A contratação whose files were all dealt with gets a checkpoint ``arquivos:<numero controle>`` (pncp_checkpoints,
done); a file's row is its own checkpoint: a rerun lists the contratações without one and fetches only the files
without a row, so a run killed mid-way loses at most the file in flight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, exists, literal, text
from sqlmodel import Session, col, select

from core.settings import settings
from models.db import utcnow
from models.market import PncpCheckpoint, PncpContratacao
from models.pncp_documents import PncpDocument, PncpDocumentSection
from models.textsearch import PG_CONFIG, fold, fts5_query, stem, stems, words

LISTED = "arquivos"
PNCP_PAGE = "https://pncp.gov.br/app/editais/{cnpj}/{ano}/{sequencial}"
RERANK_WINDOW = 50  # sections the semantic ranking reorders (as models/crud/search.py does for documents)
CONTROL = re.compile(r"^(\d{14})-\d+-(\d{1,6})/(\d{4})$")


def listed_key(numero_controle: str) -> str:
    return f"{LISTED}:{numero_controle}"


def pending_contratacoes(
    session: Session,
    limit: int,
    start: date | None = None,
    end: date | None = None,
    ufs: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Collected contratações whose files are not listed yet, newest publication first (those in [start, end] when
    given)."""
    done = exists().where(
        col(PncpCheckpoint.slice_key) == literal(f"{LISTED}:") + col(PncpContratacao.numero_controle_pncp),
        col(PncpCheckpoint.done),
    )
    query = select(PncpContratacao).where(~done)
    if start:
        query = query.where(col(PncpContratacao.data_publicacao_pncp) >= datetime.combine(start, datetime.min.time()))
    if end:
        query = query.where(col(PncpContratacao.data_publicacao_pncp) <= datetime.combine(end, datetime.max.time()))
    if ufs:
        query = query.where(col(PncpContratacao.uf).in_(ufs))
    query = query.order_by(
        col(PncpContratacao.data_publicacao_pncp).desc().nulls_last(), col(PncpContratacao.numero_controle_pncp)
    ).limit(limit)
    return [
        {
            "numero_controle_pncp": c.numero_controle_pncp,
            "cnpj": c.cnpj_orgao,
            "ano": c.ano_compra,
            "sequencial": c.sequencial_compra,
            "uf": c.uf,
            "published": c.data_publicacao_pncp.date() if c.data_publicacao_pncp else None,
        }
        for c in session.exec(query)
    ]


def known_files(session: Session, cnpj: str, ano: int, sequencial: int) -> set[int]:
    """The files of a contratação that already have a row (indexed or failed for good): not fetched again."""
    rows = session.exec(
        select(PncpDocument.sequencial_documento).where(
            PncpDocument.cnpj == cnpj, PncpDocument.ano == ano, PncpDocument.sequencial == sequencial
        )
    )
    return set(rows)


def mark_listed(session: Session, numero_controle: str, published: date | None) -> None:
    """Every file of the contratação dealt with: later runs skip it."""
    key = listed_key(numero_controle)
    row = session.exec(select(PncpCheckpoint).where(PncpCheckpoint.slice_key == key)).first()
    day = published or utcnow().date()
    if row is None:
        row = PncpCheckpoint(slice_key=key, endpoint=LISTED, window_start=day, window_end=day)
    row.done, row.updated_at = True, utcnow()
    session.add(row)


def store_document(session: Session, document: dict[str, Any], sections: list[dict[str, Any]]) -> PncpDocument:
    """Insert (or replace, on the same natural key) a file's row and its sections with their search index."""
    old = session.exec(
        select(PncpDocument).where(
            PncpDocument.cnpj == document["cnpj"],
            PncpDocument.ano == document["ano"],
            PncpDocument.sequencial == document["sequencial"],
            PncpDocument.sequencial_documento == document["sequencial_documento"],
        )
    ).first()
    sqlite = session.get_bind().dialect.name == "sqlite"
    if old is not None:
        if sqlite:
            session.connection().execute(
                text(
                    "DELETE FROM pncp_document_sections_fts WHERE rowid IN "
                    "(SELECT id FROM pncp_document_sections WHERE document_id = :d)"
                ),
                {"d": old.id},
            )
        session.exec(delete(PncpDocumentSection).where(col(PncpDocumentSection.document_id) == old.id))
        session.delete(old)
        session.flush()
    row = PncpDocument(**document)
    session.add(row)
    session.flush()
    assert row.id is not None  # flushed
    for section in sections:
        part = PncpDocumentSection(document_id=row.id, **section)
        session.add(part)
        session.flush()
        if sqlite:
            session.connection().execute(
                text("INSERT INTO pncp_document_sections_fts(rowid, stems) VALUES (:id, :stems)"),
                {"id": part.id, "stems": stems(f"{part.heading} {part.text}")},
            )
    return row


@dataclass(frozen=True)
class Hit:
    section_id: int
    document_id: int
    numero_controle_pncp: str
    sequencial_documento: int
    tipo: str
    titulo: str
    url: str
    uf: str | None
    heading: str
    element: str | None
    text: str
    score: float

    def snippet(self, query: str, width: int = 240) -> str:
        return snippet(self.text, query, width)

    @property
    def pncp_link(self) -> str:
        """The contratação's page on PNCP, from its control number ("CNPJ-1-SEQUENCIAL/ANO"); "" if it has not
        that shape."""
        match = CONTROL.match(self.numero_controle_pncp)
        if not match:
            return ""
        cnpj, sequencial, ano = match.groups()
        return PNCP_PAGE.format(cnpj=cnpj, ano=ano, sequencial=int(sequencial))


def search(
    session: Session,
    query: str,
    *,
    tipo: str | None = None,
    uf: str | None = None,
    element: str | None = None,
    match_all: bool = True,
    limit: int = 20,
) -> list[Hit]:
    """Sections of indexed files matching ``query`` (every word, or any with ``match_all=False``), best first;
    ``tipo`` (etp/tr), ``uf`` and ``element`` (etp:I, tr:a, …) narrow them. Empty when the query has no word."""
    found = list(dict.fromkeys(words(query)))
    if not found:
        return []
    filters: list[str] = ["d.status = 'indexed'"]
    section_filters: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    if tipo:
        filters.append("d.tipo = :tipo")
        params["tipo"] = tipo
    if uf:
        filters.append("d.uf = :uf")
        params["uf"] = uf.upper()
    if element:
        section_filters.append("s.element = :element")
        params["element"] = element
    document_columns = "d.numero_controle_pncp, d.sequencial_documento, d.tipo, d.titulo, d.url, d.uf"
    if session.get_bind().dialect.name == "postgresql":
        # the folded words (letters and digits only) joined by & or |: no character of the user's text is syntax.
        # The matching sections first (the GIN index), then their files by primary key: left to the planner, stale
        # statistics after a bulk load made it walk every file and look its sections up (seconds, not milliseconds);
        # OFFSET 0 keeps the lateral lookup from being flattened back into such a join
        params["q"] = (" & " if match_all else " | ").join(found)
        sql = (
            f"WITH m AS MATERIALIZED (SELECT s.id, s.document_id, s.heading, s.element, s.text, "
            f"ts_rank(s.search_vector, to_tsquery('{PG_CONFIG}', :q)) AS score FROM pncp_document_sections s "
            f"WHERE {' AND '.join(['s.search_vector @@ to_tsquery(:config, :q)', *section_filters])}) "
            f"SELECT m.id, m.document_id, {document_columns}, m.heading, m.element, m.text, m.score FROM m "
            "CROSS JOIN LATERAL (SELECT * FROM pncp_documents WHERE id = m.document_id OFFSET 0) d "  # by key, always
            f"WHERE {' AND '.join(filters)} ORDER BY m.score DESC, m.id LIMIT :limit"
        )
        params["config"] = PG_CONFIG
    else:
        params["q"] = fts5_query(query, match_all=match_all)
        sql = (
            f"SELECT s.id, s.document_id, {document_columns}, s.heading, s.element, s.text, "
            "-bm25(pncp_document_sections_fts) AS score FROM pncp_document_sections_fts f "
            "JOIN pncp_document_sections s ON s.id = f.rowid JOIN pncp_documents d ON d.id = s.document_id "
            f"WHERE {' AND '.join(['pncp_document_sections_fts MATCH :q', *section_filters, *filters])} "
            "ORDER BY score DESC, s.id LIMIT :limit"
        )
    semantic = bool(settings.EMBEDDINGS_MODEL)
    if semantic:  # the text search's best RERANK_WINDOW, reordered by meaning, then cut to the page
        params["limit"] = max(limit, RERANK_WINDOW)
    rows = session.connection().execute(text(sql), params)
    hits = [Hit(*row[:11], float(row[11])) for row in rows]  # type: ignore[call-arg]  # the 12 columns in order
    return (_reranked(session, query, hits) if semantic else hits)[:limit]


def _reranked(session: Session, query: str, hits: list[Hit]) -> list[Hit]:
    """``hits`` reordered by the optional semantic ranking (EMBEDDINGS_MODEL; tasks/search/embeddings.py) over each
    section with its file's title and heading; the text order when the endpoint fails (a log line says so)."""
    from tasks.search.embeddings import Candidate, rerank

    by_key = {str(h.section_id): h for h in hits}
    candidates = [Candidate(key, f"{h.titulo}\n{h.heading}\n{h.text}", h.score) for key, h in by_key.items()]
    reranked = rerank(session, query, candidates, kind="pncp_section")
    if reranked is None:
        return hits
    return [replace(by_key[c.key], score=c.score) for c in reranked]


def snippet(body: str, query: str, width: int = 240) -> str:
    """About ``width`` characters of ``body`` around the first word of the query found (by its stem), with "…"
    where it was cut."""
    targets = {stem(w) for w in words(query)}
    start = 0
    for match in re.finditer(r"\w+", body):
        word = fold(match.group(0))
        if word and stem(word) in targets:
            start = max(0, match.start() - width // 3)
            break
    piece = " ".join(body[start : start + width].split())
    return ("…" if start > 0 else "") + piece + ("…" if start + width < len(body) else "")
