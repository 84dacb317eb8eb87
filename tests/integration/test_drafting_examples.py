"""Drafting with marked examples: the passages of approved documents of ours and of the PNCP library that are most
like the section go into the prompt inside the data markers, as wording and never as facts, and are cited in the
field's history; nothing is added when nothing is alike, when turned off, or for a sigiloso estimate (art. 24)."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, update
from sqlmodel import col, select

from core.settings import settings
from flows.generate_field import generate_field
from models.crud import documents as crud
from models.crud import pncp_documents as library
from models.db import session_scope
from models.document import Document, DocumentCreate
from models.enums import DocumentKind, DocumentStatus
from tasks.llm.examples import APPROVED, find_examples, own_candidates
from tests.utils.builders import AUTHORITY, PLANNER, acting, document_data, make_document

SLUG, ESTIMATE = "descricao_necessidade", "estimativa_valor"
MOST_RECENT = 200  # the approved documents the examples were once drawn from, most recently updated first


def approved(url, titulo, texts: dict[str, str], **overrides) -> uuid.UUID:
    """An ETP with every section written (``texts`` for some) and approved by the authority."""
    doc = make_document(url, titulo=titulo, **overrides)
    with session_scope(url) as session:
        by = acting(session, PLANNER)
        for section in crud.document_view(session, doc).template.sections:
            body = texts.get(section["slug"], f"Texto da seção {section['code']}.")
            crud.write_field(session, doc, section["slug"], content=body, justification=None, acting=by)
        crud.transition(session, doc, DocumentStatus.EM_REVISAO, None, by)
        crud.transition(session, doc, DocumentStatus.APROVADO, "Aprovo.", acting(session, AUTHORITY))
    return doc


def approved_at_least(url, count: int) -> None:
    """At least ``count`` approved ETPs in the database, cheaply: the missing ones created and set approved in one
    UPDATE, with no section written (never an example) and no word another test looks for."""
    with session_scope(url) as session:
        have = session.exec(
            select(func.count()).where(col(Document.status).in_(APPROVED), Document.kind == DocumentKind.ETP)
        ).one()
        by = acting(session, PLANNER)
        made = []
        for _ in range(count - have):
            data = document_data(titulo=f"Enchimento {uuid.uuid4().hex}", context="") | {"kind": DocumentKind.ETP}
            made.append(crud.create_document(session, DocumentCreate(**data), by).id)
        if made:
            session.execute(update(Document).where(col(Document.id).in_(made)).values(status=DocumentStatus.APROVADO))


def in_library(url, token, element="etp:I", text=None) -> str:
    control = f"00394445000102-1-{uuid.uuid4().int % 900000 + 100000:06d}/2025"
    with session_scope(url) as session:
        library.store_document(
            session,
            {
                "numero_controle_pncp": control,
                "cnpj": "00394445000102",
                "ano": 2025,
                "sequencial": int(control.split("-")[2].split("/")[0]),
                "sequencial_documento": 3,
                "tipo": "etp",
                "titulo": f"ETP {token}",
                "url": f"https://pncp.gov.br/pncp-api/v1/orgaos/00394445000102/compras/2025/{control[17:23]}/arquivos/3",
                "uf": "DF",
                "status": "indexed",
            },
            [
                {
                    "position": 1,
                    "heading": "1. DESCRIÇÃO DA NECESSIDADE",
                    "element": element,
                    "text": text or f"O laboratório precisa de {token} para as análises de rotina, em 2024.",
                }
            ],
        )
    return control


def test_examples_come_from_approved_documents_and_the_library_never_from_a_sigiloso_estimate(session, db_url):
    token = f"espectrofotometro{uuid.uuid4().hex[:8]}"
    ours = approved(db_url, f"Aquisição de {token}", {SLUG: f"Os {token} atuais não atendem. Valor R$ 9.999,00."})
    secret = approved(
        db_url,
        f"Aquisição de {token} portátil",
        {ESTIMATE: "Estimativa sigilosa: R$ 77.777,00."},
        orcamento_sigiloso=True,
        orcamento_sigiloso_justificativa="Mercado concentrado, poucos fornecedores.",
    )
    public_estimate = approved(db_url, f"Compra de {token}", {ESTIMATE: "Estimativa pública de R$ 1.000,00."})
    control = in_library(db_url, token)
    make_document(db_url, titulo=f"Aquisição de {token}")  # a draft (rascunho): never an example
    target = make_document(db_url, titulo=f"Aquisição de {token} de bancada")
    view = crud.document_view(session, target)
    section = view.template.section(SLUG)
    found = find_examples(session, view, section)
    cited = [e.citation() for e in found]
    assert {"fonte": "documento", "document_id": str(ours), "versao": 1, "secao": SLUG} in cited
    assert any(
        c["fonte"] == "pncp"
        and c["numero_controle_pncp"] == control
        and c["sequencial_documento"] == 3
        and c["url"].endswith("/arquivos/3")
        for c in cited
    )
    assert all(len(e.text) <= settings.DRAFTING_EXAMPLE_CHARS for e in found)
    estimate = find_examples(session, view, view.template.section(ESTIMATE))
    sources = {e.document_id for e in estimate}
    assert str(public_estimate) in sources and str(secret) not in sources  # art. 24
    assert all("77.777" not in e.text for e in estimate)
    sigiloso = make_document(
        db_url,
        titulo=f"Aquisição de {token}",
        orcamento_sigiloso=True,
        orcamento_sigiloso_justificativa="Mercado concentrado.",
    )
    its_view = crud.document_view(session, sigiloso)
    assert find_examples(session, its_view, its_view.template.section(ESTIMATE)) == ()  # its protected section
    assert find_examples(session, its_view, its_view.template.section(SLUG))  # its public ones: yes
    unrelated = crud.document_view(session, make_document(db_url, titulo="Contratação de serviços de jardinagem"))
    assert find_examples(session, unrelated, unrelated.template.section(SLUG)) == ()


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_prompt_carries_the_marked_examples_and_the_history_cites_them(use_db, llm, monkeypatch):
    token = f"centrifuga{uuid.uuid4().hex[:8]}"
    ours = approved(use_db, f"Aquisição de {token}", {SLUG: f"As {token} do laboratório estão obsoletas."})
    control = in_library(use_db, token)
    target = make_document(use_db, titulo=f"Aquisição de {token} refrigerada")
    generate_field(target, SLUG, PLANNER)
    prompt = llm.recorder.requests[-1]["body"]["messages"][1]["content"]
    block = prompt[prompt.index("EXEMPLOS DE REDAÇÃO") :]
    assert "NÃO podem ser usados neste documento" in block
    assert "<dados>\n[EXEMPLO 1 — ETP aprovado" in block or "<dados>\n[EXEMPLO 1 — ETP publicado no PNCP" in block
    assert f"As {token} do laboratório estão obsoletas.\n</dados>" in block
    assert f"contratação {control}, arquivo 3" in block and f"O laboratório precisa de {token}" in block
    with session_scope(use_db) as session:
        drafted = [r for r in crud.field_history(session, target) if r.action == "redacao"]
    assert len(drafted) == 1
    fontes = {c["fonte"]: c for c in drafted[0].examples}
    assert fontes["documento"]["document_id"] == str(ours)
    assert fontes["pncp"]["numero_controle_pncp"] == control and fontes["pncp"]["sequencial_documento"] == 3

    plain = make_document(use_db, titulo="Contratação de serviços de jardinagem")  # nothing alike
    generate_field(plain, SLUG, PLANNER)
    assert "EXEMPLOS DE REDAÇÃO" not in llm.recorder.requests[-1]["body"]["messages"][1]["content"]
    monkeypatch.setattr(settings, "DRAFTING_EXAMPLES", 0)  # turned off
    off = make_document(use_db, titulo=f"Aquisição de {token} compacta")
    generate_field(off, SLUG, PLANNER)
    assert "EXEMPLOS DE REDAÇÃO" not in llm.recorder.requests[-1]["body"]["messages"][1]["content"]
    with session_scope(use_db) as session:
        for doc in (plain, off):
            assert [r.examples for r in crud.field_history(session, doc) if r.action == "redacao"] == [None]


@pytest.mark.parametrize("common_share", [0.0, 2.0], ids=["common-word-plan", "rare-word-plan"])
def test_an_approved_document_however_old_is_found_by_the_index_and_an_unlike_recent_one_is_not(
    session, db_url, monkeypatch, common_share
):
    """The candidates come from the documents' index (any distinctive word of the object, best ranked), not from the
    most recently updated approved documents: one approved long ago, behind more than MOST_RECENT newer ones, gives
    its wording; a recent one sharing only the words every object has (contratação, empresa, serviços…) does not.
    Both PostgreSQL plans of the index (models.crud.search.COMMON_SHARE) find it."""
    import models.crud.search as search_crud

    monkeypatch.setattr(search_crud, "COMMON_SHARE", common_share)
    token = f"autoclave{uuid.uuid4().hex[:8]}"
    old = approved(db_url, f"Aquisição de {token} vertical", {SLUG: f"As {token} da central de esterilização."})
    with session_scope(db_url) as s:
        s.execute(update(Document).where(col(Document.id) == old).values(updated_at=datetime(2001, 1, 1, tzinfo=UTC)))
    recent = approved(
        db_url,
        "Contratação de empresa especializada para prestação de serviços de aquisição",
        {SLUG: "Contratação de empresa especializada para atender a demanda da unidade."},
    )
    approved_at_least(db_url, MOST_RECENT + 2)  # the old one is not among the MOST_RECENT most recently updated
    target = make_document(db_url, titulo=f"Contratação de empresa para fornecimento de {token} horizontal")
    view = crud.document_view(session, target)
    found = find_examples(session, view, view.template.section(SLUG))
    ours = [e.document_id for e in found if e.source == "documento"]
    assert ours == [str(old)]
    assert str(recent) not in {str(d.id) for d in own_candidates(session, view.document, f"{token} horizontal")}


def test_a_secret_estimate_neither_finds_nor_ranks_a_candidate(session, db_url):
    """Art. 24: a sigiloso document whose estimate alone holds the object's word is no candidate (the index is read
    as by a key without the 'sigiloso' scope); a document whose estimate is public is found by it, and a sigiloso
    one by its public text, its estimate still never an example."""
    token = f"liofilizador{uuid.uuid4().hex[:8]}"
    secret_only = approved(
        db_url,
        "Aquisição de equipamentos de laboratório",
        {ESTIMATE: f"Estimativa sigilosa dos {token}: R$ 55.555,00."},
        orcamento_sigiloso=True,
        orcamento_sigiloso_justificativa="Mercado concentrado, poucos fornecedores.",
    )
    public_estimate = approved(
        db_url, "Aquisição de equipamentos de análise", {ESTIMATE: f"Estimativa pública dos {token}: R$ 1.000,00."}
    )
    secret_titled = approved(
        db_url,
        f"Aquisição de {token}",
        {ESTIMATE: f"Estimativa sigilosa dos {token}: R$ 66.666,00."},
        orcamento_sigiloso=True,
        orcamento_sigiloso_justificativa="Mercado concentrado, poucos fornecedores.",
    )
    target = make_document(db_url, titulo=f"Aquisição de {token}")
    view = crud.document_view(session, target)
    candidates = {d.id for d in own_candidates(session, view.document, token)}
    assert secret_only not in candidates and {public_estimate, secret_titled} <= candidates
    estimate = find_examples(session, view, view.template.section(ESTIMATE))
    assert str(public_estimate) in {e.document_id for e in estimate}
    assert not {str(secret_only), str(secret_titled)} & {e.document_id for e in estimate}
    assert all("55.555" not in e.text and "66.666" not in e.text for e in estimate)
