"""The collected prices a research or an ETP needs, found through the search index (models/search_index.py) instead
of reading every collected item of the window.

Price research by description (IN 65, art. 5º, II; the rule is ``research._classify``'s Jaccard similarity ≥ t over
``research.words``): J(A, B) ≥ t needs |A ∩ B| ≥ ⌈t·|A|⌉ and t·|A| ≤ |B| ≤ |A|/t (``size_bounds``, over the item's
``palavras``). The index holds the words as ``research.words`` cuts them (folded, split on what is not [a-z0-9]), each
reduced the same way on both sides (stemmed), so a word of B is always found by the same word of A. Three bounds,
none stricter than the rule, which then decides every row read:

1. in the index (GIN / FTS5): "holds the stems of at least ⌈t·|A|⌉ of A's words" as an OR of conjunctions
   (``enough``): exact within a budget, else by pigeonhole over disjoint groups, each led by one of the rarest words
   (PostgreSQL's pg_stats of the tsvector; SQLite's fts5vocab counts);
2. the size bounds;
3. PostgreSQL: the Jaccard similarity the stems allow at most, S·(1 + t) ≥ t·(|A| + |B|) (``_shared_bound``).

A word the index does not keep (a stop word of the configuration) counts as held; when nothing is left to bound by,
or t ≤ 0, every row of the window is read, as before the index.

Similar contratações (the ETP's element V; the rule is ``likeness``: the same head noun, more than ``minimum`` of the
weighted words): the index finds the items whose name holds the head (any spelling ``likeness.stem`` reduces to it)
AND the stems of more than ``minimum`` of the weighted words (``enough`` again, the name's words weighing
``NAME_WEIGHT``); the best ``CANDIDATES`` by text rank (ts_rank_cd / bm25), then the item's catalogue code, the
body's UF and recency, are judged by likeness.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from fractions import Fraction
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, text
from sqlmodel import Session

from models.textsearch import planner, stem
from models.textsearch import words as indexed_words
from tasks.prices import likeness
from tasks.prices.research import jaccard, words

NAME_WEIGHT = int(likeness.NAME_WEIGHT)  # whole, for ``enough``'s counts
if NAME_WEIGHT != likeness.NAME_WEIGHT:  # a guard for whoever changes the weight
    raise ValueError("likeness.NAME_WEIGHT must be a whole number for the search index's bound")
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


# PostgreSQL, for these queries: JIT compiles the plan's expressions for 100–150 ms, more than the query takes once
# the index bounds it; a bitmap over many candidates within the default 4 MB turns lossy, and every row of its pages
# is read again (bench/bench_search_index.py)
PLANNER = {"jit": "off", "work_mem": "'64MB'"}
BUDGET = 32  # conjunctions at most in the index's "enough shared words" query (see ``enough``)


def enough(terms: list[tuple[Term, int]], need: int, budget: int = BUDGET) -> list[tuple[Term, ...]] | None:
    """The index query for "the item holds stems of at least ``need`` of the description's words", as conjunctions to
    OR (a row matching none of them cannot hold that many), or None when nothing bounds it (``need`` < 1).
    ``terms``: each stem with how many of the description's words it stands for, rarest first.

    Exact when it fits in ``budget`` conjunctions: each is the first run of stems, in rarity order, that reaches the
    need, so every row meeting the need matches one. Beyond the budget, by pigeonhole: a row may miss stems worth at
    most W − ``need`` words (W: all of them), so of W − ``need`` + 1 disjoint groups it holds one whole (with fewer
    stems than that, it holds one of them: ``need`` ≥ 1). The groups take the stems in turn, rarest first, so each
    holds one of the rarest: GIN (PostgreSQL) or FTS5 (SQLite) read those in full and only look up the others, and a
    row comes out only when it holds a whole group."""
    if need < 1:
        return None
    found: list[tuple[Term, ...]] = []

    def walk(start: int, chosen: tuple[Term, ...], total: int) -> bool:
        for j in range(start, len(terms)):
            stem_, count = terms[j]
            if total + count >= need:
                found.append((*chosen, stem_))
                if len(found) > budget:
                    return False
            elif not walk(j + 1, (*chosen, stem_), total + count):
                return False
        return True

    if walk(0, (), 0):
        return found
    stems = [stem_ for stem_, _ in terms]
    groups = min(sum(count for _, count in terms) - need + 1, len(stems))  # more groups than stems: each its own
    return [tuple(stems[j::groups]) for j in range(groups)]


Term = str | tuple[str, ...]  # a lexeme, or its alternatives (the spellings of one word)


def _term(term: Term, postgres: bool, weight: str = "") -> str:
    alternatives = (term,) if isinstance(term, str) else term
    quoted = [f"'{t}'{weight}" if postgres else f'"{t}"' for t in alternatives]
    return quoted[0] if len(quoted) == 1 else "(" + (" | " if postgres else " OR ").join(quoted) + ")"


def tsquery(postgres: bool, conjunctions: list[tuple[Term, ...]]) -> str:
    """The OR of the conjunctions as PostgreSQL's tsquery or an FTS5 query (lexemes quoted: never read as syntax)."""
    if postgres:
        return " | ".join("(" + " & ".join(_term(t, True) for t in group) + ")" for group in conjunctions)
    return " OR ".join("(" + " AND ".join(_term(t, False) for t in group) + ")" for group in conjunctions)


def _match(session: Session, conjunctions: list[tuple[Term, ...]]) -> tuple[str, str]:
    """The SQL condition on ``i`` for items matching any of the conjunctions of lexemes, and its parameter."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        return "i.busca @@ CAST(:match AS tsquery)", tsquery(True, conjunctions)
    return (
        "i.id IN (SELECT rowid FROM pncp_itens_fts WHERE pncp_itens_fts MATCH :match)",
        tsquery(False, conjunctions),
    )


def _shared_bound(
    sql: str, params: dict[str, Any], held: dict[str, tuple[str, float] | None], size: int, threshold: float
) -> tuple[str, dict[str, Any]]:
    """PostgreSQL: only the rows whose Jaccard similarity to the description can reach ``threshold``, judged in the
    server (a rejected candidate is never read). Every word of A ∩ B has its stem in B's tsvector, so S, the number
    of A's words whose stem B holds (a stem counted once per word of A it comes from; a word the index leaves out, a
    stop word of models.textsearch, counted as held), is at least |A ∩ B|; J = |A ∩ B| / (|A| + |B| − |A ∩ B|) grows
    with |A ∩ B|, so J ≥ t needs S / (|A| + |B| − S) ≥ t, that is S·(1 + t) ≥ t·(|A| + |B|), with |A| = ``size`` and
    |B| the item's ``palavras``. A bound, never the rule: what passes is still judged by the Jaccard rule."""
    per_stem: dict[str, int] = {}
    unchecked = 0
    for found in held.values():
        if found is None:
            unchecked += 1
        else:
            per_stem[found[0]] = per_stem.get(found[0], 0) + 1
    if not per_stem:
        return sql, params
    terms = sorted(per_stem)
    shared = " + ".join(f"{per_stem[t]} * (i.busca @@ CAST(:shared{n} AS tsquery))::int" for n, t in enumerate(terms))
    condition = f"({unchecked} + {shared}) * (1 + :t) >= :t * ({size} + i.palavras) - 1e-9"
    return f"{sql} AND {condition}", {**params, "t": threshold, **{f"shared{n}": f"'{t}'" for n, t in enumerate(terms)}}


def judged(rows: Iterable[Mapping[str, Any]], description: str, threshold: float) -> tuple[list[dict[str, Any]], int]:
    """The rows whose description the research's rule accepts as ``description``, and how many it turned down."""
    target = words(description)
    kept, turned_down = [], 0
    for row in rows:
        if jaccard(target, _words(row["descricao"])) >= threshold:
            kept.append(dict(row))
        else:
            turned_down += 1
    return kept, turned_down


def index_bounds(
    session: Session, sql: str, description: str, threshold: float
) -> tuple[str, dict[str, Any]] | bool | None:
    """``sql`` narrowed by the index to the rows that may be similar enough to ``description``, with the parameters
    of the narrowing; False when no row can be; None when the index cannot bound the answer (every row is read)."""
    target = words(description)
    if prefix_size(len(target), threshold) is None:
        return None
    held = lexemes(session, target)
    low, high = size_bounds(len(target), threshold)
    per_stem: dict[str, int] = {}
    share: dict[str, float] = {}
    for found in held.values():
        if found is not None:
            per_stem[found[0]] = per_stem.get(found[0], 0) + 1
            share[found[0]] = found[1]
    unchecked = sum(1 for found in held.values() if found is None)
    ordered = sorted(per_stem, key=lambda t: (share[t], -len(t), t))
    conjunctions = enough([(t, per_stem[t]) for t in ordered], low - unchecked)
    if conjunctions == []:  # more words needed than the description has: no row can be similar enough
        return False
    if conjunctions is None:
        return None
    match: dict[str, Any] = {}
    condition, match["match"] = _match(session, conjunctions)
    bounds = f"{condition} AND i.palavras BETWEEN {low} AND {high}"
    if session.get_bind().dialect.name == "postgresql":
        # the items first, from the index and their own row alone, then their prices: joined before, the
        # planner reads every result of a candidate's contratação (8× the rows) to find the item's own
        bounds, match = _shared_bound(bounds, match, held, len(target), threshold)
        sql = f"WITH found AS MATERIALIZED (SELECT i.id FROM pncp_itens i WHERE {bounds})\n{sql}"
        bounds = "i.id IN (SELECT id FROM found)"
    return f"{sql} AND {bounds}", match


def similar_candidates(
    session: Session,
    sql: str,
    params: dict[str, Any],
    description: str,
    minimum: float,
    *,
    codes: Iterable[str] = (),
    uf: str | None = None,
) -> list[dict[str, Any]]:
    """The best ``CANDIDATES`` rows of ``sql`` (``PRICES_SQL``, its columns and ``i.id``) for the ETP's similar
    contratações of ``description`` (see the module docstring): best text rank first, then those of one of the
    item's catalogue ``codes``, of the body's ``uf``, the most recent."""
    head = likeness.head(description)
    if head is None:
        return []
    name, rest = likeness.parts(description)
    forms = {w: spellings(w) for w in name | rest}
    found = lexemes(session, {s for spelled in forms.values() for s in spelled})
    held = {w: v[0] for w, v in found.items() if v}
    common = {v[0]: v[1] for v in found.values() if v}
    head_terms = tuple(sorted({held[s] for s in forms[head] if s in held}))
    if not head_terms:
        return []
    # likeness: more than ``minimum`` of the weighted words (the name's weigh NAME_WEIGHT); the head is held (asked
    # for apart); a word with a spelling the index leaves out counts as held
    weight = {w: NAME_WEIGHT if w in name else 1 for w in forms}
    total = sum(weight.values())
    # more than minimum·total, in whole words: exact over the float's own value (0.5 × 4 is 2: at least 3)
    need = math.floor(Fraction(minimum) * total) + 1 - weight[head]
    terms: list[tuple[Term, int]] = []
    for word in sorted(
        forms.keys() - {head}, key=lambda w: (max(common.get(held.get(s, ""), 0.0) for s in forms[w]), w)
    ):
        if all(s in held for s in forms[word]):
            terms.append((tuple(sorted({held[s] for s in forms[word]})), weight[word]))
        else:
            need -= weight[word]
    others = enough(terms, need)
    if others == []:  # more than the words can give: nothing is similar enough
        return []
    postgres = session.get_bind().dialect.name == "postgresql"
    ranked: dict[str, str] = {}
    if postgres:
        query = _term(head_terms, True, ":A")
        # the weighted words the item holds (likeness's measure, over the stems): a few µs a row, where ts_rank_cd
        # over every stem cost ~40 µs
        rank = " + ".join(
            f"{count} * (i.busca @@ CAST(:rank{n} AS tsquery))::int" for n, (_, count) in enumerate(terms)
        )
        ranked = {f"rank{n}": _term(term, True) for n, (term, _) in enumerate(terms)}
        rank = f"({rank}) DESC" if terms else "1"
    else:
        query = "nome : " + _term(head_terms, False)
        rank = "bm25(pncp_itens_fts) ASC"
    if others is not None:
        query += (" & (" if postgres else " AND (") + tsquery(postgres, others) + ")"
    wanted = sorted({c.strip() for c in codes if c and c.strip()})
    order = [rank]
    if wanted:
        order.append(f"(i.codigo_catalogo IN ({', '.join(f':code{n}' for n in range(len(wanted)))})) DESC")
    if uf:
        order.append("(i.uf = :uf) DESC")
    order.append("i.data_publicacao_pncp DESC NULLS LAST" if postgres else "i.data_publicacao_pncp DESC")
    # the best items first, from the index and their own row (the contratação's UF and date are copied into it;
    # tem_resultado: PNCP lists a result), then their prices: joined before, the planner reads every result of a
    # candidate's contratação (8× the rows) to find the item's own
    source = "FROM pncp_itens i " + (
        "WHERE i.busca @@ CAST(:match AS tsquery)"
        if postgres
        else "JOIN pncp_itens_fts ON pncp_itens_fts.rowid = i.id WHERE pncp_itens_fts MATCH :match"
    )
    best = f"SELECT i.id {source} AND i.tem_resultado ORDER BY {', '.join(order)}, i.id LIMIT {CANDIDATES}"
    values = {**params, "match": query, "uf": uf, **ranked, **{f"code{n}": c for n, c in enumerate(wanted)}}
    with planner(session, **PLANNER):
        chosen = session.connection().execute(text(best), values).all()
        if not chosen:
            return []
        rows = (
            session.connection()
            .execute(
                text(f"{sql} AND i.id IN :ids").bindparams(bindparam("ids", expanding=True)),
                {**params, "ids": [row[0] for row in chosen]},
            )
            .all()
        )
    position = {row[0]: n for n, row in enumerate(chosen)}
    rows.sort(key=lambda r: position[r.id])
    return [{k: v for k, v in r._mapping.items() if k != "id"} for r in rows]
