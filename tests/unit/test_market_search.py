"""The search index's query rules (tasks/prices/market_search.py), without a database: the prefix filter that keeps
every description the research's Jaccard rule accepts, the choice of the rarest words, the plurals likeness reduces."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import polars as pl
import pytest

from models.search_index import SEPARATOR, item_size, item_terms
from models.textsearch import stem
from tasks.prices import likeness
from tasks.prices.market_search import prefix_size, size_bounds, spellings
from tasks.prices.research import jaccard, words

pytestmark = pytest.mark.unit
SIASG = Path(__file__).resolve().parents[2] / "seeds" / "prices" / "siasg_homologados_2016_2022.parquet"


@pytest.mark.parametrize(
    ("size", "threshold", "expected"),
    [
        (5, 0.5, 3),  # ⌈2.5⌉ = 3 shared words at least: any 3 of the 5 hold one of them
        (4, 0.5, 3),
        (1, 0.5, 1),
        (10, 0.7, 4),  # 0.7 × 10 is 7.000000000000001 in floating point: still ⌈7⌉ = 7, not 8
        (3, 1.0, 1),
        (0, 0.5, None),  # no words: nothing to search by
        (5, 0.0, None),  # the rule then accepts descriptions sharing no word: the index cannot bound it
        (5, 1.2, None),
    ],
)
def test_prefix_size(size, threshold, expected):
    assert prefix_size(size, threshold) == expected


def test_any_prefix_of_that_size_meets_every_accepted_description():
    # given random word sets over a small vocabulary, and every pair the rule accepts
    rng = random.Random(7)
    vocabulary = [f"w{i}" for i in range(9)]
    sets = [frozenset(rng.sample(vocabulary, rng.randint(1, 6))) for _ in range(250)]
    for threshold in (0.3, 0.5, 0.7, 0.8):
        for a, b in itertools.product(sets[:60], sets):
            if jaccard(a, b) < threshold:
                continue
            count = prefix_size(len(a), threshold)
            # then B holds one word of EVERY choice of that many of A's words, and has a size within the bounds
            assert all(set(choice) & b for choice in itertools.combinations(sorted(a), count)), (a, b, threshold)
            low, high = size_bounds(len(a), threshold)
            assert low <= len(b) <= high, (a, b, threshold)


def test_every_spelling_of_the_sample_is_found_from_its_singular():
    # given every word of the real SIASG descriptions
    found = {
        w for d in pl.read_parquet(SIASG)["descricao_catalogo"].unique() for w in likeness._words(likeness.fold(d))
    }
    assert len(found) > 1000
    # then each is among the spellings of what likeness reduces it to (the head the index searches by)
    assert [w for w in found if w not in spellings(likeness.stem(w))] == []


def test_item_terms_cut_words_as_the_research_does():
    description = 'PAPEL A4, 75 G/M², "ALCALINO" - RESMA C/500'
    terms = item_terms(description)
    name, rest = terms.split(SEPARATOR)
    assert name == "papel a4" and rest == "75 g m2 alcalin resm c 500"  # stems of the words research.words cuts
    assert set(terms.replace(",", " ").split()) == {stem(w) for w in words(description)}
    assert item_size(description) == len(words(description)) == 9  # papel a4 75 g m2 alcalino resma c 500
    stemmed = item_terms("Canetas esferográficas, azuis")
    assert stemmed == "canet esferograf" + SEPARATOR + "azu"


def test_the_upserts_single_pass_gives_the_same_words_and_size():
    from models.search_index import item_index

    # given every real SIASG description and a few edge cases (numbers seen once, stop words only, nothing)
    descriptions = [*pl.read_parquet(SIASG)["descricao_catalogo"].unique().to_list(), "Item 123456: de, a", "", None]
    # then the upsert's one fold gives the index words and the research's word count of the two functions
    assert [d for d in descriptions if item_index(d) != (item_terms(d), item_size(d))] == []
    assert item_index("Item 123456: de, a") == ("item 123456" + SEPARATOR, 2)  # a number is its own stem


def test_the_shared_words_bound_counts_each_word_of_the_description():
    from tasks.prices.market_search import _shared_bound

    # given "canetas caneta azul de": two words with one stem, one word the index leaves out (|A| = 4), t = 0.5
    held = {"canetas": ("canet", 0.1), "caneta": ("canet", 0.1), "azul": ("azul", 0.2), "de": None}
    sql, params = _shared_bound("SELECT 1 WHERE 1 = 1", {"match": "x"}, held, 4, 0.5)
    # then the stem counts for both words, the word left out counts as held, against J's need S·(1+t) ≥ t·(|A|+|B|)
    assert sql.endswith(
        "AND (1 + 1 * (i.busca @@ CAST(:shared0 AS tsquery))::int + 2 * (i.busca @@ CAST(:shared1 AS tsquery))::int)"
        " * (1 + :t) >= :t * (4 + i.palavras) - 1e-9"
    )
    assert params == {"match": "x", "t": 0.5, "shared0": "'azul'", "shared1": "'canet'"}
    # and nothing is added when no word can be checked
    assert _shared_bound("SELECT 1", {}, {"de": None, "a": None}, 2, 0.5) == ("SELECT 1", {})


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7, 1.0])
def test_the_jaccard_bound_keeps_every_description_the_rule_accepts(threshold):
    # given random word sets, S an overcount of the shared words, |B| exact
    rng = random.Random(11)
    vocabulary = [f"w{i}" for i in range(10)]
    for _ in range(3000):
        a = frozenset(rng.sample(vocabulary, rng.randint(1, 7)))
        b = frozenset(rng.sample(vocabulary, rng.randint(1, 7)))
        shared = len(a & b) + rng.randint(0, 2)
        # then the server's condition never drops a pair the rule accepts
        if jaccard(a, b) >= threshold:
            assert shared * (1 + threshold) >= threshold * (len(a) + len(b)) - 1e-9, (a, b)


def test_enough_asks_for_the_need_among_the_rarest_within_the_budget():
    from tasks.prices.market_search import enough

    terms = [("a", 1), ("b", 1), ("c", 2), ("d", 1)]  # rarest first; "c" stands for two words
    # need 4 of the 5 words: every run reaching 4, in rarity order
    assert enough(terms, 4) == [("a", "b", "c"), ("a", "c", "d"), ("b", "c", "d")]
    # a budget of 1: by pigeonhole, a row misses stems worth at most 1 word, so it holds one of 2 disjoint groups
    assert enough(terms, 4, budget=1) == [("a", "c"), ("b", "d")]
    assert enough(terms, 0) is None  # nothing to bound by
    assert enough(terms, 6) == []  # more than the words: no row can hold them
    # a stem of two words: a row holding 2 of the 3 words holds "a" or "b"
    assert enough([("a", 1), ("b", 2)], 2, budget=0) == [("a",), ("b",)]


def test_enough_matches_every_set_holding_the_need():
    from tasks.prices.market_search import enough

    rng = random.Random(3)
    for _ in range(400):
        size = rng.randint(1, 9)
        terms = [(f"s{i}", rng.choice((1, 1, 1, 2))) for i in range(size)]
        need = rng.randint(1, sum(c for _, c in terms))
        budget = rng.choice((1, 4, 16, 64))
        groups = enough(terms, need, budget)
        assert groups is not None and len(groups) <= max(budget, size)
        weight = dict(terms)
        for held in itertools.chain.from_iterable(
            itertools.combinations([t for t, _ in terms], k) for k in range(size + 1)
        ):
            if sum(weight[t] for t in held) >= need:  # a row holding that many of the words
                assert any(set(g) <= set(held) for g in groups), (terms, need, budget, held)
