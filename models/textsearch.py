"""Full-text search shared by every index of the system (collected items and contratações, our documents, other
bodies' ETPs/TRs): the same words on both databases.

- PostgreSQL: the text search configuration ``nexora_pt``, a copy of ``portuguese`` with ``unaccent`` before
  ``portuguese_stem`` ("Canetas esferográficas" → 'canet' 'esferograf'), created with the ``unaccent`` and
  ``pg_trgm`` extensions by migration 0016 (``PG_SETUP``; creating an extension needs a role that may, see
  docs/operations.md).
- SQLite (the embedded mode): FTS5 has no Portuguese stemmer, so the indexed column holds the text already reduced
  by ``stems`` (folded, split on what is not a letter or a digit, each word through Snowball's Portuguese stemmer,
  the algorithm behind PostgreSQL's ``portuguese_stem``), and queries are reduced the same way (``fts5_query``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import snowballstemmer  # type: ignore[import-untyped]
from sqlalchemy import text

PG_CONFIG = "nexora_pt"
PG_SETUP = (
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = '{PG_CONFIG}') THEN
    CREATE TEXT SEARCH CONFIGURATION {PG_CONFIG} (COPY = portuguese);
    ALTER TEXT SEARCH CONFIGURATION {PG_CONFIG}
      ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH unaccent, portuguese_stem;
  END IF;
END $$""",
)
_WORD = re.compile(r"[a-z0-9]+")
# the commonest of Snowball's Portuguese stop words (PostgreSQL's portuguese.stop holds them and more), folded
_STOP = frozenset(
    "a ao aos aquela aquelas aquele aqueles aquilo as ate com como da das de dela delas dele deles depois do dos e "
    "ela elas ele eles em entre era eram essa essas esse esses esta estas este estes eu foi for isso isto ja lhe "
    "lhes mais mas me mesmo meu minha muito na nas nem no nos nossa nossas nosso nossos num numa o os ou para pela "
    "pelas pelo pelos por qual quando que quem se sem ser seu seus so sua suas tambem te tem ter um uma voce "
    "voces".split()
)
_stemmer = snowballstemmer.stemmer("portuguese")


def fold(text: str) -> str:
    """Lower case, accents removed ("Aquisição" → "aquisicao", "m²" → "m2")."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball Portuguese stem of one folded word ("canetas" → "canet"). A number is its own stem (every
    suffix the algorithm removes is made of letters): answered without the stemmer, ~100 µs a call in pure Python,
    since collected descriptions carry many numbers seen once (quantities, codes)."""
    if word.isdigit():
        return word
    return str(_stemmer.stemWord(word))


def words(text: str | None) -> list[str]:
    """The folded words of ``text``, in order, stop words out."""
    return [w for w in _WORD.findall(fold(text or "")) if w not in _STOP]


def stems(text: str | None) -> str:
    """``text`` as the embedded index stores it: its words' stems joined by spaces."""
    return " ".join(stem(w) for w in words(text))


def fts5_query(text: str | None, *, match_all: bool = True) -> str | None:
    """An FTS5 MATCH expression for the stems of ``text``: every stem (``match_all``) or any; each stem quoted, so no
    character of the user's text is read as FTS5 syntax. None when ``text`` has no searchable word."""
    found = dict.fromkeys(stem(w) for w in words(text))
    if not found:
        return None
    return (" AND " if match_all else " OR ").join(f'"{s}"' for s in found)


@contextmanager
def planner(session: Any, **values: str) -> Iterator[None]:
    """PostgreSQL planner settings for the statements inside (SET LOCAL), set back to their defaults after, as the
    caller's transaction may go on with other reads; nothing on SQLite. ``session``: a Session."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        for name, value in values.items():
            session.execute(text(f"SET LOCAL {name} = {value}"))
    yield  # on an error the transaction is rolled back, and the settings with it
    if postgres:
        for name in values:
            session.execute(text(f"SET LOCAL {name} TO DEFAULT"))
