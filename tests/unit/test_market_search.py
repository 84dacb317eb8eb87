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
from tasks.prices.market_search import prefix_size, rarest, size_bounds, spellings
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


def test_rarest_picks_the_least_common_indexed_words_and_refuses_too_few():
    shares = {"papel": 0.02, "a4": 0.004, "75": 0.01, "g": None, "m2": 0.004}
    assert rarest(shares, 3) == ["a4", "m2", "75"]  # ties: the longer word, then alphabetically
    assert rarest(shares, 3) == rarest(dict(reversed(shares.items())), 3)  # the same choice every time
    assert rarest(shares, 5) is None  # "g" is not in the index (a stop word): only 4 can be searched


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

    # given "canetas caneta azul de": two words with one stem, one word the index leaves out, need 3 shared
    held = {"canetas": ("canet", 0.1), "caneta": ("canet", 0.1), "azul": ("azul", 0.2), "de": None}
    sql, params = _shared_bound("SELECT 1 WHERE 1 = 1", {"match": "x"}, held, 3)
    # then the stem counts for both words, the word left out counts as shared, and the rule's need is lowered by it
    assert sql.endswith(
        "AND (1 * (i.busca @@ CAST(:shared0 AS tsquery))::int + 2 * (i.busca @@ CAST(:shared1 AS tsquery))::int) >= 2"
    )
    assert params == {"match": "x", "shared0": "'azul'", "shared1": "'canet'"}
    # and nothing is added when the words the index cannot check already make up the need
    assert _shared_bound("SELECT 1", {}, {"de": None, "a": None}, 2) == ("SELECT 1", {})
