"""Search over our own ETPs/TRs (the index of models/search.py): ranked, filtered, with snippets that mark the words
found, and never through the sections of a sigiloso estimate for a key without the 'sigiloso' scope."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Uuid, bindparam, text
from sqlmodel import Session, col, select

from core.settings import settings
from models.document import Document
from models.enums import DocumentKind, DocumentStatus
from models.errors import InvalidError
from models.search import FRAGMENT_DELIMITER, MARK_START, MARK_STOP, SNIPPET_FRAGMENTS, SNIPPET_WORDS, mark, query_stems
from models.textsearch import PG_CONFIG, fts5_query, planner, words

MAX_QUERY_CHARS = 200
# the estimate is secret now (Document.estimate_secret, in SQL)
SECRET = "(d.orcamento_sigiloso AND d.orcamento_divulgado_em IS NULL)"
HEADLINE = (
    f"StartSel={MARK_START}, StopSel={MARK_STOP}, MaxWords={SNIPPET_WORDS}, MinWords={SNIPPET_WORDS // 2}, "
    f'MaxFragments={SNIPPET_FRAGMENTS}, FragmentDelimiter="{FRAGMENT_DELIMITER}"'
)
# bm25 column weights on SQLite, in the spirit of PostgreSQL's A/B/C (title, object, sections, estimate)
WEIGHTS = (10.0, 4.0, 1.0, 1.0)
# how many of the text search's best the semantic ranking reorders (pages beyond it keep the text order)
RERANK_WINDOW = 50
# the most recently indexed matches that are ranked and paged; beyond them the count is "more than MAX_RANKED"
# (bench/bench_document_search.py: ranking every match of a common word took seconds)
MAX_RANKED = 1000
# PostgreSQL: from this share of the documents matching, the newest matches are found by walking the index table
# newest first rather than through the GIN bitmap (_candidates_sql; bench/README.md has the figures)
COMMON_SHARE = 0.1


@dataclass
class Hit:
    document: Document
    rank: float
    snippet: str


def check_query(q: str | None) -> str:
    """The text to search, or a 422 in Portuguese: empty, too long, or no word to search (only stop words or signs)."""
    q = (q or "").strip()
    if not q:
        raise InvalidError("Informe o texto a buscar em 'q'.")
    if "\x00" in q:
        raise InvalidError("A busca tem um caractere nulo, que não é texto.")
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidError(f"A busca tem {len(q)} caracteres; o máximo é {MAX_QUERY_CHARS}.")
    if not words(q):
        raise InvalidError(
            f"A busca '{q}' não tem palavras pesquisáveis (só artigos, preposições ou sinais): "
            "informe termos do assunto, como 'notebooks' ou 'limpeza predial'."
        )
    return q


def _filters(
    kind: DocumentKind | None,
    orgao: str | None,
    statuses: Sequence[DocumentStatus] = (),
    orgaos: Sequence[str] = (),
) -> tuple[str, dict[str, Any]]:
    sql, params = "", {}
    if kind:
        sql, params["kind"] = sql + " AND d.kind = :kind", str(kind)
    if statuses:
        names = [f"status{i}" for i in range(len(statuses))]
        sql += f" AND d.status IN ({', '.join(f':{n}' for n in names)})"
        params |= {n: str(s) for n, s in zip(names, statuses, strict=True)}
    if orgao:
        sql, params["orgao"] = sql + " AND lower(d.orgao) = :orgao", orgao.strip().lower()
    if orgaos:  # the key is bound to these órgãos (issue 21)
        names = [f"key_orgao{i}" for i in range(len(orgaos))]
        sql += f" AND lower(d.orgao) IN ({', '.join(f':{n}' for n in names)})"
        params |= {n: o.strip().lower() for n, o in zip(names, orgaos, strict=True)}
    return sql, params


def _query(dialect: str, q: str, match_all: bool) -> str:
    """``q`` as the index reads it: on PostgreSQL the text of websearch_to_tsquery (to match any word, its words
    joined by "or", which websearch_to_tsquery reads as |); on SQLite an FTS5 MATCH expression of its stems."""
    if dialect == "postgresql":
        return q if match_all else " or ".join(w for w in dict.fromkeys(words(q)) if w != "or")
    expression = fts5_query(q, match_all=match_all)
    assert expression is not None  # check_query, or the caller: there is a word
    return expression


def _candidates_sql(
    dialect: str, query: str, cleared: bool, where: str, common: bool = False
) -> tuple[str, dict[str, Any]]:
    """(SELECT index row id ``sid``, document id, rank, updated_at …) of the ``:cap`` most recently indexed matches of
    ``query`` (``_query``), newest first; rank: greater is better, computed for those rows only.

    Why bounded: a word in most documents (``contratação``) matched ~90,000 of 100,000, and ranking them read every
    one's tsvector (TOAST on PostgreSQL; bm25 over every doclist entry on SQLite): seconds a query. The newest
    matches come from the index alone (GIN bitmap and ``s.id`` on PostgreSQL; FTS5's doclist in rowid order on
    SQLite) without reading a vector, and only they are ranked."""
    visible = "TRUE" if cleared else f"NOT {SECRET}"
    if dialect == "postgresql":
        tsquery = f"websearch_to_tsquery('{PG_CONFIG}', :q)"
        if common:
            # a word in most documents: walking the index table newest first (its primary key backwards) finds
            # :cap matches within ~:cap rows, where the GIN bitmap would visit every matching row's page
            matches = (
                f"s.tsv_all @@ {tsquery}"
                if cleared
                else (f"(s.tsv @@ {tsquery} OR (s.tsv_all @@ {tsquery} AND {visible}))")
            )
            newest = (
                f"SELECT s.id AS sid, d.id AS id, d.updated_at AS updated_at, {visible} AS visible "
                f"FROM document_search s JOIN documents d ON d.id = s.document_id WHERE {matches}{where} "
                "ORDER BY s.id DESC LIMIT :cap"
            )
        else:
            # a rarer word: the GIN bitmaps (no recheck of a vector for plain words), each match joined once to
            # `documents`. A visible row in either bitmap matches (tsv ⊆ tsv_all, or it matches publicly); a row
            # whose estimate is secret matches by its public vector only, read for those rows alone (`OR` stops at
            # the first true). `s.id + 0` keeps the planner from walking the primary key backwards, which reads a
            # vector per row until :cap matches (~1 s for a word in 2% of them)
            matches = (
                f"s.tsv_all @@ {tsquery}"
                if cleared
                else f"(s.tsv @@ {tsquery} OR s.tsv_all @@ {tsquery}) AND ({visible} OR s.tsv @@ {tsquery})"
            )
            newest = (
                f"SELECT s.id AS sid, d.id AS id, d.updated_at AS updated_at, {visible} AS visible "
                f"FROM document_search s JOIN documents d ON d.id = s.document_id WHERE {matches}{where} "
                "ORDER BY s.id + 0 DESC LIMIT :cap"
            )
        # the ranking reads the vectors of the capped rows only
        sql = (
            f"SELECT c.sid, c.id, ts_rank_cd(CASE WHEN c.visible THEN s.tsv_all ELSE s.tsv END, {tsquery}) AS rank, "
            f"c.updated_at FROM ({newest}) AS c JOIN document_search s ON s.id = c.sid"
        )
        return sql, {"q": query}

    def branch(table: str, weights: tuple[float, ...], condition: str) -> str:
        # ORDER BY the FTS table's rowid: FTS5 walks its doclist newest first and stops at the LIMIT, so bm25 is
        # computed for those rows only
        return (
            f"SELECT * FROM (SELECT s.id AS sid, d.id AS id, -bm25({table}, {', '.join(map(str, weights))}) AS rank, "
            f"d.updated_at AS updated_at FROM {table} JOIN document_search s ON s.id = {table}.rowid "
            f"JOIN documents d ON d.id = s.document_id WHERE {table} MATCH :m AND {condition}{where} "
            f"ORDER BY {table}.rowid DESC LIMIT :cap)"
        )

    if cleared:
        return branch("document_search_fts_all", WEIGHTS, "1"), {"m": query}
    # a document whose estimate is secret matches, and ranks, by its public columns only (models.search.FTS_TABLES)
    sql = (
        f"SELECT * FROM ({branch('document_search_fts_all', WEIGHTS, visible)} UNION ALL "
        f"{branch('document_search_fts', WEIGHTS[:3], SECRET)}) ORDER BY sid DESC LIMIT :cap"
    )
    return sql, {"m": query}


def search_documents(
    session: Session,
    q: str | None,
    *,
    cleared: bool,
    kind: DocumentKind | None = None,
    orgao: str | None = None,
    status: DocumentStatus | None = None,
    limit: int = 20,
    offset: int = 0,
    orgaos: Sequence[str] = (),
) -> tuple[list[Hit], int, bool, bool]:
    """The documents matching ``q``, best first, with their snippets, the count of matches, whether that count is
    a lower bound (more than MAX_RANKED match), and whether the semantic ranking ordered them (EMBEDDINGS_MODEL set
    and the endpoint answered). ``cleared``: the key may read a sigiloso estimate ('sigiloso' scope).

    Only the MAX_RANKED most recently indexed matches are ranked and paged (docs/api.md, "Search and clone"): a
    search bounded in work whatever the word, where a word in most documents cost seconds."""
    q = check_query(q)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        empty = session.execute(text(f"SELECT numnode(websearch_to_tsquery('{PG_CONFIG}', :q)) = 0"), {"q": q})
        if empty.scalar_one():
            check_query("")  # raises: nothing to search
    order, found, semantic = ranked_documents(
        session,
        q,
        cleared=cleared,
        kind=kind,
        orgao=orgao,
        statuses=(status,) if status else (),
        limit=limit,
        offset=offset,
        orgaos=orgaos,
    )
    count, lower_bound = min(found, MAX_RANKED), found > MAX_RANKED
    documents = {d.id: d for d in session.exec(select(Document).where(col(Document.id).in_([i for i, _ in order])))}
    snippets = _snippets(session, dialect, q, [i for i, _ in order], cleared)
    hits = [Hit(documents[i], rank, snippets.get(i, "")) for i, rank in order if i in documents]
    return hits, count, lower_bound, semantic


def ranked_documents(
    session: Session,
    q: str,
    *,
    cleared: bool,
    kind: DocumentKind | None = None,
    orgao: str | None = None,
    statuses: Sequence[DocumentStatus] = (),
    limit: int = 20,
    offset: int = 0,
    match_all: bool = True,
    orgaos: Sequence[str] = (),
) -> tuple[list[tuple[uuid.UUID, float]], int, bool]:
    """A page of (document id, rank) matching ``q`` (every word, or any with ``match_all=False``), best first, among
    the MAX_RANKED most recently indexed matches; the count of matches (up to MAX_RANKED + 1); and whether the
    semantic ranking ordered them. A document whose estimate is secret matches and ranks by its public text only,
    unless ``cleared``. ``q`` has a word to search (check_query, or the caller)."""
    dialect = session.get_bind().dialect.name
    query = _query(dialect, q, match_all)
    where, params = _filters(kind, orgao, statuses, orgaos)
    common = dialect == "postgresql" and _common(session, query, where, params)
    candidates, candidate_params = _candidates_sql(dialect, query, cleared, where, common)
    # one more than the bound: whether there are more matches than are ranked, without counting them all
    params |= candidate_params | {"cap": MAX_RANKED + 1}
    semantic = bool(settings.EMBEDDINGS_MODEL) and offset < RERANK_WINDOW
    window = max(limit + offset, RERANK_WINDOW) if semantic else limit
    # the planner prices reading a row's tsvector like any column and may scan the whole index table for a word it
    # thinks common; a tsvector is stored out of line (TOAST), and reading every one costs 10–100× the GIN index: the
    # ranking forbids that plan. Parallel workers start in ~10 ms and, on a loaded machine, wait for a core: a query
    # bounded in work does not gain from them (bench/README.md)
    with planner(session, enable_seqscan="off", max_parallel_workers_per_gather="0"):
        rows = session.execute(
            text(
                "SELECT id, rank, total FROM (SELECT id, rank, updated_at, count(*) OVER () AS total, "
                f"row_number() OVER (ORDER BY sid DESC) AS newest FROM ({candidates}) AS c) AS r "
                "WHERE newest <= :ranked ORDER BY rank DESC, updated_at DESC, id LIMIT :lim OFFSET :off"
            ),
            {**params, "ranked": MAX_RANKED, "lim": window, "off": 0 if semantic else offset},
        ).all()
        if rows:
            found = int(rows[0][2])  # the matches, counted in the same pass as the ranking (up to MAX_RANKED + 1)
        else:  # a page past the end: the count alone
            found = session.execute(text(f"SELECT count(*) FROM ({candidates}) AS c"), params).scalar_one()
    order = [(_uuid(row[0]), float(row[1])) for row in rows]
    if semantic and order:
        order, semantic = _semantic(session, q, order)
        order = order[offset : offset + limit]
    return order, found, semantic


def _common(session: Session, query: str, where: str, params: dict[str, Any]) -> bool:
    """Whether the planner expects at least COMMON_SHARE of the index rows to match (filters included): its own
    estimate (the vectors' most common lexemes, the columns' statistics), read from EXPLAIN, costs ~1 ms where a
    count would read every match. Either answer gives the same rows (_candidates_sql); only the plan differs. The
    public vector's statistics, not tsv_all's: the plan, and so the time taken, owes nothing to sigiloso estimates."""
    plan = session.execute(
        text(
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM document_search s JOIN documents d ON d.id = s.document_id "
            f"WHERE s.tsv @@ websearch_to_tsquery('{PG_CONFIG}', :q){where}"
        ),
        {**params, "q": query},
    ).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    rows = session.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'document_search'")).scalar_one()
    return float(plan[0]["Plan"]["Plan Rows"]) >= COMMON_SHARE * max(float(rows), 1.0)


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _semantic(
    session: Session, q: str, order: list[tuple[uuid.UUID, float]]
) -> tuple[list[tuple[uuid.UUID, float]], bool]:
    """The text search's best reordered by the semantic ranking over their PUBLIC text (title, object, sections —
    never the estimate, so the order cannot betray a sigiloso one); the text order when the endpoint fails."""
    from models.search import DocumentSearch
    from tasks.search.embeddings import Candidate, rerank

    texts = {
        row.document_id: "\n\n".join(t for t in (row.title, row.object, row.sections) if t)
        for row in session.exec(
            select(DocumentSearch).where(col(DocumentSearch.document_id).in_([i for i, _ in order]))
        )
    }
    candidates = [Candidate(str(i), texts.get(i, ""), rank) for i, rank in order]
    reranked = rerank(session, q, candidates, kind="document")
    if reranked is None:
        return order, False
    return [(uuid.UUID(c.key), c.score) for c in reranked], True


def _snippets(session: Session, dialect: str, q: str, ids: list[uuid.UUID], cleared: bool) -> dict[uuid.UUID, str]:
    """Each document's snippet: its object and sections (and its estimate only when this key may read it) with the
    words found between « and »: ts_headline on PostgreSQL; on SQLite the same marks put on the original text by the
    query's stems (models.search.mark), never the stems themselves."""
    if not ids:
        return {}
    visible = "TRUE" if cleared else f"NOT {SECRET}"
    estimate = f"CASE WHEN {visible} THEN s.estimate ELSE '' END"
    ids_param = bindparam("ids", expanding=True, type_=Uuid())
    if dialect == "postgresql":
        # ts_headline parses the whole text it is given (~30 ms for a page of 20 over object and sections): the
        # object alone when it holds every word searched (a short text, where the subject is), the whole otherwise
        tsquery = f"websearch_to_tsquery('{PG_CONFIG}', :q)"
        statement = text(
            f"SELECT s.document_id, CASE WHEN to_tsvector('{PG_CONFIG}', s.object) @@ {tsquery} "
            f"THEN ts_headline('{PG_CONFIG}', s.object, {tsquery}, :opts) "
            f"ELSE ts_headline('{PG_CONFIG}', concat_ws(E'\\n\\n', s.object, s.sections, {estimate}), {tsquery}, "
            ":opts) "
            "END FROM document_search s JOIN documents d ON d.id = s.document_id WHERE s.document_id IN :ids"
        ).bindparams(ids_param)
        rows = session.execute(statement, {"q": q, "opts": HEADLINE, "ids": ids}).all()
        return {_uuid(i): " ".join((snippet or "").split()) for i, snippet in rows}
    statement = text(
        f"SELECT s.document_id, s.object, s.sections, {estimate} "
        "FROM document_search s JOIN documents d ON d.id = s.document_id WHERE s.document_id IN :ids"
    ).bindparams(ids_param)
    wanted = query_stems(q)
    out = {}
    for i, obj, sections, secret in session.execute(statement, {"ids": ids}).all():
        out[_uuid(i)] = mark("\n\n".join(t for t in (obj, sections, secret) if t), wanted)
    return out
