"""Search and clone logic without a database: snippets of the original text, the split of a document's texts by
weight and sigilo, the refusals of a query, the combined semantic score, and the review a copied section needs."""

import json
from pathlib import Path

import pytest

from models.crud.search import _query, check_query
from models.enums import DocumentKind, FieldSource
from models.errors import InvalidError
from models.rules import FieldState, missing_sections
from models.search import index_texts, mark, query_stems
from tasks.search.embeddings import combine, cosine

pytestmark = pytest.mark.unit
SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def test_mark_puts_the_original_words_between_guillemets_never_the_stems():
    text = "A unidade precisa de Canetas esferográficas azuis para o atendimento."
    assert mark(text, query_stems("caneta esferografica")) == (
        "A unidade precisa de «Canetas» «esferográficas» azuis para o atendimento."
    )


def test_mark_cuts_fragments_around_the_matches_and_starts_the_text_when_nothing_matches():
    filler = " ".join(f"palavra{i}" for i in range(60))
    text = f"Início {filler} notebooks {filler} notebook {filler} notebooks fim"
    snippet = mark(text, query_stems("notebooks"))
    assert snippet.count("«notebooks»") + snippet.count("«notebook»") == 2 and snippet.count(" … ") == 1
    assert "Início" not in snippet and len(snippet.split()) < 45
    assert mark("Texto sem o termo procurado.", query_stems("vigilância")) == "Texto sem o termo procurado."
    assert mark("", query_stems("x")) == ""


def test_a_query_of_any_word_joins_its_words_by_or_on_both_databases():
    """The drafting examples want the best of ANY of the object's words; the search API, every word."""
    assert _query("postgresql", "Autoclaves or verticais autoclaves", match_all=False) == "autoclaves or verticais"
    assert _query("postgresql", "autoclaves verticais", match_all=True) == "autoclaves verticais"
    assert _query("sqlite", "Autoclaves verticais", match_all=False) == '"autoclav" OR "vertic"'
    assert _query("sqlite", "autoclaves verticais", match_all=True) == '"autoclav" AND "vertic"'


def test_index_texts_weigh_the_object_and_keep_the_estimate_apart():
    sections = json.loads((SEEDS / "tr.json").read_text(encoding="utf-8"))["sections"]
    fields = {s["slug"]: (f"texto {s['code']}", None) for s in sections}
    fields["modelo_gestao"] = (None, "justificativa f")
    texts = index_texts("contexto do caso", sections, fields)
    assert texts["object"] == "texto a"
    assert texts["estimate"] == "texto i"
    assert texts["sections"].startswith("contexto do caso\n\ntexto b") and "justificativa f" in texts["sections"]
    assert "texto i" not in texts["sections"] and "texto a" not in texts["sections"]


@pytest.mark.parametrize(
    ("q", "message"),
    [
        (None, "Informe o texto"),
        (" ", "Informe o texto"),
        ("e de o", "palavras pesquisáveis"),
        ("?!", "pesquisáveis"),
        ("nota\x00fiscal", "caractere nulo"),
    ],
)
def test_check_query_refuses_in_portuguese(q, message):
    with pytest.raises(InvalidError, match=message):
        check_query(q)
    with pytest.raises(InvalidError, match="201 caracteres; o máximo é 200"):
        check_query("a" * 201)
    assert check_query("  notebooks  ") == "notebooks"


def test_the_combined_score_weighs_the_scaled_text_rank_and_the_cosine():
    assert cosine([1, 0], [1, 0]) == pytest.approx(1) and cosine([1, 0], [0, 1]) == 0 and cosine([0, 0], [1, 1]) == 0
    assert combine(2.0, 4.0, 1.0, 0.5) == pytest.approx(0.75)
    assert combine(4.0, 4.0, 0.0, 0.0) == pytest.approx(1.0)  # weight 0: the text order
    assert combine(1.0, 0.0, 0.5, 0.5) == pytest.approx(0.25)


def test_a_copied_section_blocks_approval_until_a_person_reviews_it():
    sections = json.loads((SEEDS / "tr.json").read_text(encoding="utf-8"))["sections"]
    done = {s["slug"]: FieldState("texto", None, FieldSource.HUMAN) for s in sections}
    copied = {**done, "definicao_objeto": FieldState("texto copiado", None, FieldSource.COPIA.value)}
    (missing,) = missing_sections(DocumentKind.TR, sections, copied)
    assert missing["slug"] == "definicao_objeto" and "copiado de outro documento" in missing["problem"]
    reviewed = {**done, "definicao_objeto": FieldState("texto copiado", None, FieldSource.COPIA, reviewed=True)}
    assert missing_sections(DocumentKind.TR, sections, reviewed) == []
