"""Whether two item descriptions name the same thing: the measure behind the ETP's similar contratações (element V)
and the price model's "item far from its data" check.

Catalogue descriptions (CATMAT/CATSER, and what buyers type after them) start with the item's name and then list
attributes: "NOTEBOOK, TELA SUPERIOR A 14 POL INTERATIVIDADE …", "TELA PROJEÇÃO, MATERIAL ESTRUTURA ALUMÍNIO …".
One shared word ("TELA") says nothing about meaning; the name's first word does. So:

- ``head``: the first significant word of the name (the text before the first comma), reduced to the singular
  ("NOTEBOOKS" and "NOTEBOOK", "COMPUTADORES" and "COMPUTADOR" are one head). Two descriptions with different heads
  are not alike, whatever else they share: a projection screen (head "tela") is never like a notebook.
- ``resemblance(query, candidate)``: 0 when the heads differ; otherwise the share of the query's words found in the
  candidate, the name's words weighing ``NAME_WEIGHT`` times an attribute's (a long catalogue description is not
  penalised for saying more than the query, as Jaccard would: "NOTEBOOK, TELA SUPERIOR A 14 POLEGADAS" against the
  SIASG notebook descriptions of 40+ words is 0.83 here and 0.10 by Jaccard).

Words are folded (no accents, lower case), stop-words and one-letter tokens out, plurals reduced (``stem``).
"""

from __future__ import annotations

import re

from tasks.prices.units import fold

STOP_WORDS = frozenset(
    "a o as os ao aos de da do das dos e em no na nos nas num numa para por pela pelo com sem um uma ou que "
    "tipo nome".split()
)  # "NOME" closes many SIASG catalogue descriptions ("CADEIRA, CADEIRA NOME")
NAME_WEIGHT = 2.0
_TOKEN = re.compile(r"[a-z0-9]+")


def stem(word: str) -> str:
    """The singular of a folded Portuguese word, roughly and the same way on both sides: "projecoes" → "projecao",
    "computadores" → "computador", "notebooks" → "notebook"; short words and "…ss" stay."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith(("oes", "aes")):
        return word[:-3] + "ao"
    if word.endswith(("res", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    return [stem(w) for w in _TOKEN.findall(text) if len(w) > 1 and w not in STOP_WORDS]


def parts(description: str | None) -> tuple[frozenset[str], frozenset[str]]:
    """(the name's words, the attributes' words) of a description; a word of both counts as the name's."""
    folded = fold(description or "")
    name, _, rest = folded.partition(",")
    named = frozenset(_words(name))
    return named, frozenset(_words(rest)) - named


def head(description: str | None) -> str | None:
    """The first significant word of the name, singular ("NOTEBOOK, TELA …" → "notebook"); None without one."""
    found = [w for w in _words(fold(description or "").partition(",")[0]) if not w.isdigit()]
    return found[0] if found else None


def resemblance(query: str | None, candidate: str | None) -> float:
    """How much of ``query``'s meaning ``candidate`` carries, 0–1: 0 when the heads differ (or either has none);
    else the weighted share of the query's words present in the candidate (see the module docstring)."""
    wanted = head(query)
    if wanted is None or wanted != head(candidate):
        return 0.0
    return coverage(parts(query), parts(candidate))


def coverage(query: tuple[frozenset[str], frozenset[str]], candidate: tuple[frozenset[str], frozenset[str]]) -> float:
    """The weighted share of the query's words (``parts``) found in the candidate's, heads not compared."""
    name, rest = query
    found = candidate[0] | candidate[1]
    total = NAME_WEIGHT * len(name) + len(rest)
    if not total:
        return 0.0
    return (NAME_WEIGHT * len(name & found) + len(rest & found)) / total
