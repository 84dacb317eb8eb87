"""Search over our own documents and cloning, on SQLite and PostgreSQL: the index follows every write of a title, the
context or a section in the same transaction; ranking, filters, snippets, refusals; the sigilo of the estimate
(Lei 14.133/2021, art. 24); a clone's provenance and the review its copied sections need before approval."""

from __future__ import annotations

import random

import pytest
from sqlmodel import select

from models.crud import documents as crud
from models.crud.artifacts import new_version
from models.crud.search import search_documents
from models.document import DocumentClone, DocumentCreate, DocumentField, DocumentUpdate, FieldRevision
from models.enums import DocumentKind, DocumentStatus, FieldSource
from models.errors import InvalidError
from models.rules import IncompleteDocumentError
from models.search import DocumentSearch
from tests.utils.builders import AUTHORITY, ORGAO, PLANNER, REVIEWER, acting, document_data

JUSTIFIED = "Mercado concentrado, com poucos fornecedores: o sigilo evita propostas ancoradas na estimativa."


def token() -> str:
    """A word no other document holds (letters then digits: no stemmer changes it)."""
    return f"zeta{random.randrange(10**9):09d}"


def new_document(session, kind="ETP", **kw):
    data = document_data(kind, **kw)
    return crud.create_document(session, DocumentCreate(**{**data, "kind": DocumentKind(kind)}), acting(session))


def write(session, document_id, slug, content, who=PLANNER):
    crud.write_field(session, document_id, slug, content=content, justification=None, acting=acting(session, who))


def found(session, q, **kw):
    hits, count, _, _ = search_documents(session, q, cleared=kw.pop("cleared", False), **kw)
    return [h.document.id for h in hits], count, hits


def test_the_index_follows_every_write_in_the_same_transaction(session):
    title_word, section_word, later_word = token(), token(), token()
    doc = new_document(session, titulo=f"Aquisição de cadeiras {title_word}")
    assert found(session, title_word)[0] == [doc.id]  # created: searchable before any commit
    write(session, doc.id, "requisitos_contratacao", f"Cadeiras ergonômicas com ajuste de altura ({section_word}).")
    assert found(session, section_word)[0] == [doc.id]
    write(session, doc.id, "requisitos_contratacao", f"Cadeiras giratórias ({later_word}).")
    assert found(session, section_word)[0] == [] and found(session, later_word)[0] == [doc.id]
    renamed = token()
    crud.update_document(session, doc.id, DocumentUpdate(titulo=f"Cadeiras {renamed}"), acting(session))
    assert found(session, renamed)[0] == [doc.id] and found(session, title_word)[0] == []
    context_word = token()
    crud.update_document(
        session, doc.id, DocumentUpdate(context=f"Troca do mobiliário {context_word}"), acting(session)
    )
    assert found(session, context_word)[0] == [doc.id]
    # a new version of a consolidated document stays in the index with its texts
    crud.set_status(session, doc, DocumentStatus.CONSOLIDADO, reason="teste", actor="tests", person=None, trace_id=None)
    new_version(session, doc.id, "ajustes", acting(session))
    assert found(session, later_word)[0] == [doc.id]
    row = session.exec(select(DocumentSearch).where(DocumentSearch.document_id == doc.id)).one()
    assert later_word in row.sections and renamed in row.title
    # a deleted draft leaves nothing behind
    draft_word = token()
    draft = new_document(session, titulo=f"Rascunho {draft_word}")
    crud.delete_document(session, draft.id, acting(session))
    assert found(session, draft_word) == ([], 0, [])
    assert session.exec(select(DocumentSearch).where(DocumentSearch.document_id == draft.id)).first() is None


def test_a_rolled_back_write_leaves_the_index_as_it_was(db_url):
    from models.db import session_scope

    word = token()
    with session_scope(db_url) as session:
        doc_id = new_document(session).id
    with pytest.raises(RuntimeError), session_scope(db_url) as session:
        write(session, doc_id, "requisitos_contratacao", f"Texto {word}")
        raise RuntimeError("falha depois da escrita")
    with session_scope(db_url) as session:
        assert found(session, word)[0] == []


def test_title_outranks_object_outranks_sections_and_snippets_mark_the_original_words(session):
    word = token()
    in_sections = new_document(session, titulo="Serviços de copa")
    write(session, in_sections.id, "requisitos_contratacao", f"Fornecimento de {word} e café.")
    in_object = new_document(session, titulo="Serviços de limpeza")
    write(session, in_object.id, "descricao_necessidade", f"Necessidade de {word} nas salas.")
    in_title = new_document(session, titulo=f"Aquisição de {word}")
    ids, count, hits = found(session, word)
    assert ids == [in_title.id, in_object.id, in_sections.id] and count == 3
    assert hits[0].rank > hits[1].rank > hits[2].rank
    snippet = hits[1].snippet
    assert f"«{word}»" in snippet and "Necessidade" in snippet  # the original text, not its stems

    accented = new_document(session, titulo=f"Canetas {token()}")
    write(session, accented.id, "requisitos_contratacao", "Canetas esferográficas de tinta azul, ponta média.")
    hits = [h for h in found(session, "caneta esferografica")[2] if h.document.id == accented.id]
    assert hits and "«Canetas» «esferográficas»" in hits[0].snippet  # stems matched, original words marked


def test_filters_and_pagination(session):
    word = token()
    etp = new_document(session, titulo=f"ETP {word}")
    tr = new_document(session, "TR", titulo=f"TR {word}")
    other = new_document(session, titulo=f"Outro órgão {word}", orgao="Ministério da Saúde")
    assert set(found(session, word)[0]) == {etp.id, tr.id, other.id}
    assert found(session, word, kind=DocumentKind.TR)[0] == [tr.id]
    assert set(found(session, word, orgao=ORGAO.upper())[0]) == {etp.id, tr.id}
    crud.transition(session, etp.id, DocumentStatus.CANCELADO, "desistência", acting(session))
    assert found(session, word, status=DocumentStatus.CANCELADO)[0] == [etp.id]
    page = found(session, word, limit=2, offset=2)
    assert len(page[0]) == 1 and page[1] == 3


@pytest.mark.parametrize(
    ("q", "message"),
    [("", "Informe o texto"), ("   ", "Informe o texto"), ("de a o", "palavras pesquisáveis"), ("x" * 201, "máximo")],
)
def test_bad_queries_are_refused_in_portuguese(session, q, message):
    with pytest.raises(InvalidError, match=message):
        search_documents(session, q, cleared=False)


def sigiloso_document(session, word_public, word_secret):
    doc = new_document(
        session, titulo=f"Aquisição sigilosa {word_public}", orcamento_sigiloso=True,
        orcamento_sigiloso_justificativa=JUSTIFIED,
    )  # fmt: skip
    write(session, doc.id, "descricao_necessidade", f"Notebooks para a equipe {word_public}.")
    write(session, doc.id, "estimativa_valor", f"Valor estimado de R$ 987.654,32 ({word_secret}) {word_public}.")
    return doc


def test_a_sigiloso_estimate_is_never_searched_nor_shown_without_the_scope(session):
    public, secret = token(), token()
    doc = sigiloso_document(session, public, secret)
    assert found(session, secret)[0] == []  # not found by the estimate's words
    assert found(session, f"{public} {secret}")[0] == []  # nor by a mix of public and secret words
    ids, _, hits = found(session, public)
    assert ids == [doc.id]
    assert secret not in hits[0].snippet and "987.654" not in hits[0].snippet
    assert found(session, secret, cleared=True)[0] == [doc.id]
    cleared_hit = found(session, secret, cleared=True)[2][0]
    assert f"«{secret}»" in cleared_hit.snippet
    # once the authority's act ends the sigilo (art. 18, §1º, VI) the estimate is public text
    doc.orcamento_divulgado_em = doc.created_at.date()
    session.add(doc)
    session.flush()
    assert found(session, secret)[0] == [doc.id]


def test_the_rank_of_a_sigiloso_document_does_not_depend_on_its_estimate(session):
    """Without the scope, two documents that differ only in their estimate rank the same: the estimate's words
    cannot be guessed from the order either."""
    public = token()
    plain = sigiloso_document(session, public, token())
    write(session, plain.id, "estimativa_valor", "Valor estimado sigiloso.")
    loud = sigiloso_document(session, public, token())
    write(session, loud.id, "estimativa_valor", f"{public} " * 40)
    hits = {h.document.id: h.rank for h in found(session, public)[2]}
    assert hits[plain.id] == pytest.approx(hits[loud.id])
    cleared = {h.document.id: h.rank for h in found(session, public, cleared=True)[2]}
    assert cleared[loud.id] > cleared[plain.id]  # with the scope the estimate counts


@pytest.mark.parametrize("common_share", [0.0, 2.0], ids=["common-word-plan", "rare-word-plan"])
def test_only_the_newest_matches_are_ranked_and_the_count_then_says_more(session, monkeypatch, common_share):
    """A word in most documents cost seconds to rank (bench/bench_document_search.py): only the MAX_RANKED most
    recently indexed matches are ranked and paged, and the count says 'more than' (count_is_lower_bound). A sigiloso
    document found only by its estimate takes no place among them without the scope. Both PostgreSQL plans
    (COMMON_SHARE: the primary key backwards, or the GIN bitmaps) give the same rows."""
    import models.crud.search as search_crud

    monkeypatch.setattr(search_crud, "COMMON_SHARE", common_share)

    word = token()
    oldest = new_document(session, titulo=f"Aquisição de {word}")  # best rank, by its title
    middle = new_document(session, titulo="Serviços de copa")
    write(session, middle.id, "requisitos_contratacao", f"Fornecimento de {word} e café.")
    newest = new_document(session, titulo="Serviços de limpeza")
    write(session, newest.id, "requisitos_contratacao", f"Fornecimento de {word} e água.")
    hidden = sigiloso_document(session, token(), word)  # the word only in its secret estimate, indexed last
    monkeypatch.setattr(search_crud, "MAX_RANKED", 3)
    hits, count, more, _ = search_documents(session, word, cleared=False)
    assert (hits[0].document.id, len(hits), count, more) == (oldest.id, 3, 3, False)
    monkeypatch.setattr(search_crud, "MAX_RANKED", 2)
    hits, count, more, _ = search_documents(session, word, cleared=False)
    assert {h.document.id for h in hits} == {middle.id, newest.id} and (count, more) == (2, True)
    assert search_documents(session, word, cleared=False, offset=2)[:3] == ([], 2, True)  # past the ranked ones
    hits, count, more, _ = search_documents(session, word, cleared=True)  # the scope: the estimate is searched
    assert {h.document.id for h in hits} == {newest.id, hidden.id} and (count, more) == (2, True)


def clone_body(**kw):
    data = document_data("ETP", **kw)
    data.pop("kind")
    return DocumentClone(**data)


def test_a_clone_copies_the_sections_for_review_and_records_its_provenance(session):
    from tests.utils.builders import fill_document  # noqa: F401  (the texts below are enough)

    source = new_document(session, itens=[{"descricao": "Notebook 14 polegadas", "quantidade": 10}])
    view = crud.document_view(session, source.id)
    for section in view.template.sections:
        write(session, source.id, section["slug"], f"Texto da seção {section['code']} do processo anterior.")
    crud.write_field(
        session, source.id, "impactos_ambientais", content=None, justification="Não se aplica ao caso anterior.",
        acting=acting(session),
    )  # fmt: skip
    word = token()
    body = clone_body(titulo=f"Notebooks de 2027 {word}")
    clone = crud.clone_document(session, source.id, body, acting(session, REVIEWER), cleared=False)
    assert clone.status == DocumentStatus.RASCUNHO and clone.id != source.id
    assert (clone.cloned_from, clone.cloned_from_version) == (source.id, source.version)
    assert clone.numero_processo == body.numero_processo and clone.itens == []  # the new case's own data
    fields = {f.slug: f for f in crud.document_view(session, clone.id).fields}
    copied = [f for f in fields.values() if f.content]
    assert copied and all(f.source == FieldSource.COPIA and f.reviewed_by is None for f in copied)
    assert fields["descricao_necessidade"].content == "Texto da seção I do processo anterior."
    assert fields["impactos_ambientais"].justification is None  # each case justifies for itself
    trail = crud.audit_trail(session, clone.id)
    assert str(source.id) in (trail[0].reason or "") and "clonagem" in (trail[0].reason or "")
    history = session.exec(select(FieldRevision).where(FieldRevision.document_id == clone.id)).all()
    assert {r.action for r in history} == {"copia"} and all(r.person == REVIEWER for r in history)
    assert found(session, word)[0] == [clone.id]  # indexed with its copied texts
    assert clone.id in found(session, "processo anterior")[0]

    # approval is refused until a person reviewed each copied section
    crud.write_field(
        session, clone.id, "impactos_ambientais", content=None, justification="Não se aplica: sem resíduos.",
        acting=acting(session, REVIEWER),
    )  # fmt: skip
    crud.transition(session, clone.id, DocumentStatus.EM_REVISAO, None, acting(session, REVIEWER))
    with pytest.raises(IncompleteDocumentError) as refused:
        crud.transition(session, clone.id, DocumentStatus.APROVADO, "Aprovo.", acting(session, AUTHORITY))
    assert {m["slug"] for m in refused.value.missing} == {f.slug for f in copied if f.slug != "impactos_ambientais"}
    assert all("copiado de outro documento" in m["problem"] for m in refused.value.missing)
    last = sorted(f.slug for f in copied)[-1]
    for slug in sorted(f.slug for f in copied)[:-1]:
        crud.review_field(session, clone.id, slug, acting(session, PLANNER))
    with pytest.raises(IncompleteDocumentError) as still:
        crud.transition(session, clone.id, DocumentStatus.APROVADO, "Aprovo.", acting(session, AUTHORITY))
    assert [m["slug"] for m in still.value.missing] == [last]
    crud.review_field(session, clone.id, last, acting(session, PLANNER))
    approved = crud.transition(session, clone.id, DocumentStatus.APROVADO, "Aprovo.", acting(session, AUTHORITY))
    assert approved.status == DocumentStatus.APROVADO


def test_a_clone_copies_a_sigiloso_estimate_only_with_the_scope_into_a_sigiloso_document(session):
    source = sigiloso_document(session, token(), token())

    def estimate_of(clone):
        return next(f for f in crud.document_view(session, clone.id).fields if f.slug == "estimativa_valor").content

    plain = crud.clone_document(session, source.id, clone_body(), acting(session), cleared=False)
    assert estimate_of(plain) is None
    secret = {"orcamento_sigiloso": True, "orcamento_sigiloso_justificativa": JUSTIFIED}
    uncleared = crud.clone_document(session, source.id, clone_body(**secret), acting(session), cleared=False)
    assert estimate_of(uncleared) is None
    into_public = crud.clone_document(session, source.id, clone_body(), acting(session), cleared=True)
    assert estimate_of(into_public) is None  # the text would leave the sigilo it was written under
    kept = crud.clone_document(session, source.id, clone_body(**secret), acting(session), cleared=True)
    assert "987.654,32" in (estimate_of(kept) or "")
    assert crud.document_view(session, kept.id).protected_slugs == {"estimativa_valor"}


def test_a_clone_validates_its_new_data_like_a_creation(session):
    source = new_document(session)
    with pytest.raises(InvalidError, match="art. 24"):
        crud.clone_document(session, source.id, clone_body(orcamento_sigiloso=True), acting(session), cleared=True)
    rows = session.exec(select(DocumentField).where(DocumentField.document_id == source.id)).all()
    assert rows  # the source untouched


def test_a_providers_draft_is_indexed_like_a_persons_text(session):
    word = token()
    doc = new_document(session)
    crud.write_field(
        session,
        doc.id,
        "descricao_solucao",
        content=f"Texto redigido pelo modelo ({word}).",
        justification=None,
        acting=acting(session),
        source=FieldSource.LLM,
        model="fake-gpt",
        flow_run_id="run-1",
    )  # fmt: skip  (what the drafting flows call: tasks/records/tasks.py)
    assert found(session, word)[0] == [doc.id]


def test_the_migration_indexes_the_documents_already_there(tmp_path, pg_url):
    from sqlalchemy import create_engine, text

    from models.crud.templates import seed_templates
    from models.db import get_engine, session_scope
    from models.migrate import downgrade, upgrade
    from tests.utils.builders import seed_people

    name = "nexora_search_migration"
    admin = create_engine(pg_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        for url in (f"sqlite:///{tmp_path}/m.db", pg_url.rsplit("/", 1)[0] + f"/{name}"):
            upgrade(url)
            word = token()
            with session_scope(url) as session:
                seed_templates(session)
                seed_people(session)
                doc = new_document(session, titulo=f"Anterior à busca {word}")
                write(session, doc.id, "requisitos_contratacao", "Requisitos escritos antes do índice.")
            downgrade(url, "0017")  # before the documents index (0018)
            upgrade(url)
            with session_scope(url) as session:
                ids, _, hits = found(session, word)
                assert ids == [doc.id] and "«Requisitos»" in found(session, "requisitos")[2][0].snippet
            get_engine(url).dispose()
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
