"""The optional semantic ranking against the loopback OpenAI-compatible /v1/embeddings (tests/servers/llm.py): with
EMBEDDINGS_MODEL the order changes as the vectors say and unchanged texts are not embedded twice; without it no
call is made; an endpoint that fails leaves the text order, with a log line."""

from __future__ import annotations

import logging

import pytest

from core.settings import settings
from models.crud.search import search_documents
from tests.integration.test_document_search import new_document, write
from tests.servers.llm import words_apart

# Every word the tests' candidates hold beside the tokens (titles, headings, texts): the tokens never share a bucket
# of the loopback server's hashed embedding with them.
BESIDE = (
    "Mobiliário Serviço especializado ETP servico 1. DESCRIÇÃO DA NECESSIDADE Aquisição de "
    "Cadeiras giratórias, mesas de reunião, armários de aço, estantes, gaveteiros e divisórias para o prédio."
)


@pytest.fixture
def embeddings(llm, monkeypatch):
    monkeypatch.setattr(settings, "EMBEDDINGS_MODEL", "fake-embeddings")
    monkeypatch.setattr(settings, "EMBEDDINGS_URL", llm.base_url)
    monkeypatch.setattr(settings, "EMBEDDINGS_WEIGHT", 0.9)
    monkeypatch.setattr(settings, "EMBEDDINGS_RETRIES", 0)
    monkeypatch.setattr(settings, "EMBEDDINGS_TIMEOUT_SECONDS", 10.0)  # loopback, but two test processes share 2 cores
    return llm


def two_documents(session):
    """By text the title match comes first; by meaning the short text that is only about the query does."""
    (word,) = words_apart(1, BESIDE)
    wordy = new_document(session, titulo=f"Mobiliário {word}", context="")
    write(
        session, wordy.id, "requisitos_contratacao",
        "Cadeiras giratórias, mesas de reunião, armários de aço, estantes, gaveteiros e divisórias para o prédio.",
    )  # fmt: skip
    focused = new_document(session, titulo="Serviço especializado", context="")
    write(session, focused.id, "requisitos_contratacao", f"{word} {word}")
    return word, wordy, focused


def order(session, q, **kw):
    hits, _, _, semantic = search_documents(session, q, cleared=False, **kw)
    return [h.document.id for h in hits], semantic


def test_without_the_setting_no_embeddings_call_is_made(session, llm, monkeypatch):
    monkeypatch.setattr(settings, "EMBEDDINGS_MODEL", None)
    word, wordy, focused = two_documents(session)
    assert order(session, word) == ([wordy.id, focused.id], False)
    assert llm.embedding_inputs() == []


def test_the_vectors_reorder_the_text_ranking_and_unchanged_texts_are_embedded_once(session, embeddings):
    word, wordy, focused = two_documents(session)
    assert order(session, word) == ([focused.id, wordy.id], True)
    first = embeddings.embedding_inputs()
    assert len(first) == 2 and len(first[0]) == 2 and first[1] == [word]  # the two candidates, then the query
    assert not any("987.654" in text for batch in first for text in batch)  # no estimate (a token may hold 987)
    assert order(session, word) == ([focused.id, wordy.id], True)
    assert embeddings.embedding_inputs()[2:] == [[word]]  # stored vectors reused: only the query again
    write(session, focused.id, "requisitos_contratacao", f"{word} e outros itens de escritório diversos")
    order(session, word)
    again = embeddings.embedding_inputs()[3:]
    assert len(again) == 2 and len(again[0]) == 1 and word in again[0][0]  # only the changed text


@pytest.mark.parametrize("mode", ["status", "malformed", "hang"])
def test_a_failing_endpoint_leaves_the_text_order_with_a_log_line(session, embeddings, caplog, monkeypatch, mode):
    embeddings.set(mode=mode, status=503, hang_seconds=3)
    monkeypatch.setattr(settings, "EMBEDDINGS_TIMEOUT_SECONDS", 1.0)  # the hang outlasts it
    word, wordy, focused = two_documents(session)
    with caplog.at_level(logging.WARNING, logger="tasks.search.embeddings"):
        assert order(session, word) == ([wordy.id, focused.id], False)
    assert "search ranked by text alone" in caplog.text


def test_the_library_search_is_reordered_by_meaning_too(session, db_url, embeddings, monkeypatch):
    """The PNCP library (other bodies' ETPs/TRs): the text search ranks the section that repeats a word first; the
    meaning, read over the file's title and the section's heading too, prefers the file titled by both words. A
    section's vector is stored: the next search embeds only the query."""
    from models.crud import pncp_documents as library
    from tests.integration.test_drafting_examples import in_library

    word, other = words_apart(2, BESIDE)
    wordy = in_library(db_url, "servico", text=f"{word} {word} {word}")
    focused = in_library(db_url, f"{word} {other}", text=word)

    def order(**kw):
        return [h.numero_controle_pncp for h in library.search(session, f"{word} {other}", match_all=False, **kw)]

    monkeypatch.setattr(settings, "EMBEDDINGS_MODEL", None)
    assert order() == [wordy, focused]  # by text
    monkeypatch.setattr(settings, "EMBEDDINGS_MODEL", "fake-embeddings")
    assert order() == [focused, wordy]  # by meaning
    calls = len(embeddings.embedding_inputs())
    assert order(limit=1) == [focused]
    assert embeddings.embedding_inputs()[calls:] == [[f"{word} {other}"]]  # stored vectors reused: the query alone


def test_the_candidates_of_the_drafting_examples_are_reordered_by_meaning_too(session, db_url, embeddings, monkeypatch):
    """Our approved documents weighed for the examples of a drafting (tasks/llm/examples.py) come from the same index
    and the same semantic ranking: by text the title match first, by meaning the section that is only about it."""
    from tasks.llm.examples import own_candidates
    from tests.integration.test_drafting_examples import approved

    (word,) = words_apart(1, BESIDE)
    wordy = approved(
        db_url,
        f"Mobiliário {word}",
        {"requisitos_contratacao": "Cadeiras giratórias, mesas de reunião, armários de aço, estantes e divisórias."},
    )
    focused = approved(db_url, "Serviço especializado", {"requisitos_contratacao": f"{word} {word} {word}"})
    target = new_document(session, titulo=f"Aquisição de {word}")
    monkeypatch.setattr(settings, "EMBEDDINGS_MODEL", None)
    assert [d.id for d in own_candidates(session, target, word)] == [wordy, focused]  # by text
    monkeypatch.setattr(settings, "EMBEDDINGS_MODEL", "fake-embeddings")
    assert [d.id for d in own_candidates(session, target, word)] == [focused, wordy]  # by meaning
    assert embeddings.embedding_inputs()[-1] == [word]
