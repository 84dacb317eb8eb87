"""The collected prices a research or an ETP needs, found through the search index (models/search_index.py) instead
of reading every collected item of the window.

Price research by description (IN 65, art. 5º, II; the rule is ``research._classify``'s Jaccard similarity ≥ t over
``research.words``): if J(A, B) ≥ t then |A ∩ B| ≥ ⌈t·|A|⌉, so B lacks at most |A| − ⌈t·|A|⌉ of A's words and holds at
least one of ANY |A| − ⌈t·|A|⌉ + 1 of them (prefix filtering). The query ORs that many of A's words, the rarest
(PostgreSQL's pg_stats of the tsvector; SQLite's fts5vocab counts): every description the rule accepts is among the
candidates, which the rule itself then decides; and it has between t·|A| and |A|/t words (``size_bounds``, over the
item's ``palavras``). The index holds the words as ``research.words`` cuts them (folded,
split on what is not [a-z0-9]), each reduced the same way on both sides (stemmed), so a word of B is always found
by the same word of A. A word the index does not keep (a stop word of the configuration) is never chosen; when too
few words are left, or t ≤ 0, the index cannot bound the answer and every row of the window is read, as before.

Similar contratações (the ETP's element V; the rule is ``likeness``: the same head noun, more than ``minimum`` of the
weighted words): the index finds the items whose name holds the head (any spelling ``likeness.stem`` reduces to it)
AND, when that can decide, one of the rarest other words whose absence alone would leave the coverage at or below
the minimum; the best ``CANDIDATES`` by text rank (ts_rank_cd / bm25) and recency are then judged by likeness.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from models.textsearch import stem
from models.textsearch import words as indexed_words
from tasks.prices import likeness
from tasks.prices.research import jaccard, words

CANDIDATES = 300  # items judged by likeness per description of an ETP
_EPSILON = 1e-9  # t·|A| in floating point may land a hair above an integer (0.7 × 10 = 7.000000000000001)


@lru_cache(maxsize=65536)
def _words(description: str | None) -> frozenset[str]:
    """``research.words``, remembered: catalogue descriptions repeat across purchases."""
    return words(description)


def prefix_size(size: int, threshold: float) -> int | None:
    """How many of a description's ``size`` words a comparable description must share at least one of (any that
    many will do); None when the rule accepts descriptions sharing no word (``threshold`` ≤ 0) or ``size`` is 0."""
    need = math.ceil(threshold * size - _EPSILON)
    if size == 0 or need < 1 or need > size:  # t > 1: no description is accepted, the full scan says so
        return None
    return size - need + 1


def size_bounds(size: int, threshold: float) -> tuple[int, int]:
    """How many words a description the rule accepts may have: J(A, B) ≥ t > 0 needs t·|A| ≤ |B| ≤ |A|/t (the
    intersection is at most the smaller set, the union at least the larger)."""
    return math.ceil(threshold * size - _EPSILON), math.floor(size / threshold + _EPSILON)


def rarest(frequencies: dict[str, float | None], count: int) -> list[str] | None:
    """The ``count`` rarest of the words (frequency None: not in the index, never chosen); None when fewer are
    indexed. Ties by the longer word, then alphabetically, so the choice is the same every time."""
    indexed = sorted((f, -len(w), w) for w, f in frequencies.items() if f is not None)
    if len(indexed) < count:
        return None
    return [w for _, _, w in indexed[:count]]


def spellings(word: str) -> set[str]:
    """The folded words ``likeness.stem`` reduces to ``word`` (its own singular form): itself, and the plurals the
    rule strips ("computador" ← "computadores", "projecao" ← "projecoes"/"projeaes", "notebook" ← "notebooks")."""
    out = {w for w in (word, word + "s", word + "es") if likeness.stem(w) == word}
    if word.endswith("ao"):
        out |= {w for w in (word[:-2] + "oes", word[:-2] + "aes") if likeness.stem(w) == word}
    return out


def lexemes(session: Session, folded: Iterable[str]) -> dict[str, tuple[str, float] | None]:
    """Each folded word as the index holds it (its lexeme or stem) and how common that is among the indexed items
    (PostgreSQL: the sampled share in pg_stats, a lexeme absent from most_common_elems being rarer than all listed,
    0; SQLite: the exact row count from fts5vocab); None for a word the index leaves out. One round trip."""
    wanted = sorted(set(folded))
    if not wanted:
        return {}
    connection = session.connection()
    # the index holds each word's stem (models/search_index.py), stop words out, on both databases
    held = {w: stem(w) for w in wanted if indexed_words(w) == [w]}
    if session.get_bind().dialect.name != "postgresql":
        terms = sorted(set(held.values()))
        marks = ", ".join(f":t{i}" for i in range(len(terms)))
        counted = dict(
            connection.execute(
                text(f"SELECT term, doc FROM pncp_itens_fts_vocab WHERE term IN ({marks})"),
                {f"t{i}": t for i, t in enumerate(terms)},
            ).all()
            if terms
            else []
        )
        return {w: ((held[w], float(counted.get(held[w], 0))) if w in held else None) for w in wanted}
    common = _common_lexemes(session)
    return {w: ((held[w], common.get(held[w], 0.0)) if w in held else None) for w in wanted}


_COMMON: dict[str, tuple[float, dict[str, float]]] = {}
STATS_SECONDS = 600.0  # pg_stats changes with ANALYZE (autovacuum's, after a collection): re-read at most this often


def _common_lexemes(session: Session) -> dict[str, float]:
    """pg_stats' most common lexemes of pncp_itens.busca and their shares, read at most every STATS_SECONDS per
    database (the view costs ~20 ms a read; the shares only order the words, they never decide what is found)."""
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    now = time.monotonic()
    cached = _COMMON.get(url)
    if cached is None or now - cached[0] > STATS_SECONDS:
        row = (
            session.connection()
            .execute(
                text(
                    "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
                    "WHERE schemaname = current_schema() AND tablename = 'pncp_itens' AND attname = 'busca'"
                )
            )
            .first()
        )
        cached = (now, dict(zip(row[0], row[1], strict=False)) if row and row[0] else {})
        _COMMON[url] = cached
    return cached[1]


def _match(session: Session, terms: list[str]) -> tuple[str, str]:
    """The SQL condition on ``i`` for items holding any of the lexemes, and its parameter."""
    if session.get_bind().dialect.name == "postgresql":
        return "i.busca @@ CAST(:match AS tsquery)", " | ".join(f"'{t}'" for t in terms)
    return (
        "i.id IN (SELECT rowid FROM pncp_itens_fts WHERE pncp_itens_fts MATCH :match)",
        " OR ".join(f'"{t}"' for t in terms),
    )


def _shared_bound(
    sql: str, params: dict[str, Any], held: dict[str, tuple[str, float] | None], need: int
) -> tuple[str, dict[str, Any]]:
    """PostgreSQL: only the rows holding enough of the words, judged in the server (a rejected candidate is never
    read). J(A, B) ≥ t needs |A ∩ B| ≥ ⌈t·|A|⌉ (``need``); every word of A ∩ B has its stem in B's tsvector, so the
    number of A's words whose stem B holds (a stem counted once per word of A it comes from) is at least |A ∩ B|; a
    word the index leaves out (a stop word of models.textsearch) cannot be checked and counts as shared. A bound,
    never the rule: what passes is still judged by the Jaccard rule."""
    per_stem: dict[str, int] = {}
    unchecked = 0
    for found in held.values():
        if found is None:
            unchecked += 1
        else:
            per_stem[found[0]] = per_stem.get(found[0], 0) + 1
    left = need - unchecked
    if left <= 0 or not per_stem:
        return sql, params
    terms = sorted(per_stem)
    shared = " + ".join(f"{per_stem[t]} * (i.busca @@ CAST(:shared{n} AS tsquery))::int" for n, t in enumerate(terms))
    return f"{sql} AND ({shared}) >= {left}", {**params, **{f"shared{n}": f"'{t}'" for n, t in enumerate(terms)}}


def comparable(
    session: Session, sql: str, params: dict[str, Any], description: str, threshold: float
) -> tuple[list[dict[str, Any]], int]:
    """The rows of ``sql`` (``market_data.PRICES_SQL`` and its filters) whose description the research's rule
    accepts as the same item as ``description``, and how many rows read the rule turned down. Through the index;
    by reading every row when the index cannot bound the answer (see the module docstring)."""
    target = words(description)
    count = prefix_size(len(target), threshold)
    chosen = None
    if count is not None:
        held = lexemes(session, target)
        chosen = rarest({w: (v[1] if v else None) for w, v in held.items()}, count)
    match: dict[str, Any] = {}
    if chosen is not None:
        condition, match["match"] = _match(session, sorted({held[w][0] for w in chosen}))  # type: ignore[index]
        low, high = size_bounds(len(target), threshold)
        sql = f"{sql} AND {condition} AND i.palavras BETWEEN {low} AND {high}"
        if session.get_bind().dialect.name == "postgresql":
            sql, match = _shared_bound(sql, match, held, low)
    kept, turned_down = [], 0
    for row in session.connection().execute(text(sql), {**params, **match}):
        if jaccard(target, _words(row.descricao)) >= threshold:
            kept.append(dict(row._mapping))
        else:
            turned_down += 1
    return kept, turned_down


def similar_candidates(
    session: Session, sql: str, params: dict[str, Any], description: str, minimum: float
) -> list[dict[str, Any]]:
    """The best ``CANDIDATES`` rows of ``sql`` for the ETP's similar contratações of ``description`` (see the
    module docstring), best text rank and most recent first."""
    head = likeness.head(description)
    if head is None:
        return []
    name, rest = likeness.parts(description)
    forms = {w: spellings(w) for w in name | rest}
    found = lexemes(session, {s for spelled in forms.values() for s in spelled})
    held = {w: v[0] for w, v in found.items() if v}
    common = {v[0]: v[1] for v in found.values() if v}
    head_terms = sorted({held[s] for s in forms[head] if s in held})
    if not head_terms:
        return []
    searchable = {w: sorted({held[s] for s in spelled if s in held}) for w, spelled in forms.items() if w != head}
    total = likeness.NAME_WEIGHT * len(name) + len(rest)
    needed, gathered, chosen = (1 - minimum) * total, 0.0, []
    by_rarity = sorted(
        (w for w in searchable if all(s in held for s in forms[w])),  # every spelling findable
        key=lambda w: (max(common.get(t, 0.0) for t in searchable[w]), w),
    )
    for word in by_rarity:
        if gathered >= needed:
            break
        chosen.append(word)
        gathered += likeness.NAME_WEIGHT if word in name else 1
    others = sorted({t for w in chosen for t in searchable[w]}) if gathered >= needed else []
    every = sorted({t for terms in searchable.values() for t in terms} | set(head_terms))
    if session.get_bind().dialect.name == "postgresql":
        query = "(" + " | ".join(f"'{t}':A" for t in head_terms) + ")"
        if others:
            query += " & (" + " | ".join(f"'{t}'" for t in others) + ")"
        condition = "i.busca @@ CAST(:match AS tsquery)"
        rank = "ts_rank_cd(i.busca, CAST(:ranked AS tsquery))"
        ranked = " | ".join(f"'{t}'" for t in every)
        order = f"{rank} DESC"
    else:
        query = "nome : (" + " OR ".join(f'"{t}"' for t in head_terms) + ")"
        if others:
            query += " AND (" + " OR ".join(f'"{t}"' for t in others) + ")"
        joined = "JOIN pncp_itens_fts f ON f.rowid = i.id\nJOIN pncp_contratacoes c"
        sql = sql.replace("JOIN pncp_contratacoes c", joined)
        order, ranked = "bm25(pncp_itens_fts) ASC", ""
        condition = "pncp_itens_fts MATCH :match"
    rows = session.connection().execute(
        text(f"{sql} AND {condition} ORDER BY {order}, c.data_publicacao_pncp DESC LIMIT {CANDIDATES}"),
        {**params, "match": query, "ranked": ranked},
    )
    return [dict(r._mapping) for r in rows]
