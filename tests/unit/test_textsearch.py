"""The shared text-search words (models/textsearch.py): folding, stems and FTS5 queries that are never syntax."""

import pytest

from models.textsearch import fts5_query, stems, words

pytestmark = pytest.mark.unit


def test_stems_fold_accents_and_plurals_like_postgresql_portuguese_stem():
    # the stems PostgreSQL's nexora_pt gives for the same words (checked on PostgreSQL 15 here)
    assert stems("Canetas esferográficas AZUIS") == "canet esferograf azu"
    assert stems("Aquisição de computadores") == "aquisica comput"


def test_words_split_on_what_is_not_a_letter_or_digit():
    assert words("PAPEL A4 75 G/M2, semi-automático") == ["papel", "a4", "75", "g", "m2", "semi", "automatico"]


def test_fts5_query_quotes_each_stem_and_ignores_syntax():
    assert fts5_query('papel" OR NEAR(x') == '"papel" AND "or" AND "near" AND "x"'
    assert fts5_query("caneta azul", match_all=False) == '"canet" OR "azul"'
    assert fts5_query("de a o ,,,") is None
