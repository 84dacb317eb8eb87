"""Documents: create from a template, list, read, edit, delete a draft, write fields, change status."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlmodel import Session

from deployments.api.deps import (
    ActingDep,
    Offset,
    ReadKey,
    SessionDep,
    SigilosoKey,
    TraceId,
    WriteKey,
    cleared_for_sigiloso,
    refuse_other_orgao,
    sigiloso_section_refused,
)
from models.apikey import ApiKey
from models.crud import documents as crud
from models.crud import search as search_crud
from models.document import (
    AuditPublic,
    BudgetDisclosure,
    ConfidentialReadPublic,
    Document,
    DocumentClone,
    DocumentCreate,
    DocumentDetail,
    DocumentPublic,
    DocumentsPublic,
    DocumentUpdate,
    FieldPublic,
    FieldRevisionPublic,
    FieldWrite,
    SearchHit,
    SearchResults,
    TransitionRequest,
)
from models.enums import DocumentKind, DocumentStatus

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])


def field_rows(session: Session, view: crud.DocumentView, key: ApiKey, trace_id: str) -> list[dict[str, Any]]:
    """The document's fields as this key may see them; a read of a sigiloso estimate is audited."""
    cleared = cleared_for_sigiloso(key)
    rows = view.field_rows(cleared)
    shown = [r["slug"] for r in rows if r["sigiloso"] and (r.get("content") or r.get("justification"))]
    if cleared and shown:
        crud.record_confidential_read(session, view.document.id, f"seções {', '.join(shown)}", key.name, trace_id)
    return rows


def public_document(document: Document) -> DocumentPublic:
    """The document's header as the API shows it. Its items (descriptions, quantities, reference dates) stay public
    under an orçamento sigiloso: art. 24 keeps the sigilo "sem prejuízo da divulgação do detalhamento dos
    quantitativos e das demais informações necessárias para a elaboração das propostas" (and an app that reads them
    to send them back must not lose any)."""
    return DocumentPublic.model_validate(document, from_attributes=True)


def detail(session: Session, document_id: uuid.UUID, key: ApiKey, trace_id: str) -> DocumentDetail:
    view = crud.document_view(session, document_id)
    return DocumentDetail(
        **public_document(view.document).model_dump(),
        fields=[FieldPublic.model_validate(row) for row in field_rows(session, view, key, trace_id)],
    )


@router.post("", response_model=DocumentDetail, status_code=status.HTTP_201_CREATED)
def create_document(
    session: SessionDep, key: WriteKey, acting: ActingDep, trace_id: TraceId, body: DocumentCreate
) -> DocumentDetail:
    """Create an ETP or TR from a template (by id, or the current default of its kind); X-Actor: a member of the
    planning team. A key bound to órgãos creates only in them (403)."""
    refuse_other_orgao(key, body.orgao)
    document = crud.create_document(session, body, acting)
    return detail(session, document.id, key, trace_id)


@router.post("/{document_id}/tr", response_model=DocumentDetail, status_code=status.HTTP_201_CREATED)
def create_tr_from_etp(
    session: SessionDep, key: WriteKey, acting: ActingDep, trace_id: TraceId, document_id: uuid.UUID
) -> DocumentDetail:
    """Create the TR of an approved ETP: linked to it (`etp_id`), with its process, órgão, items, planning header
    and sigilo; its drafting reads the ETP's sections. X-Actor: the planning team."""
    tr = crud.create_tr_from_etp(session, document_id, acting)
    return detail(session, tr.id, key, trace_id)


@router.get("", response_model=DocumentsPublic)
def read_documents(
    session: SessionDep,
    key: ReadKey,
    kind: DocumentKind | None = None,
    status_: Annotated[DocumentStatus | None, Query(alias="status")] = None,
    orgao: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=200, description="texto no título, processo ou contexto")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> DocumentsPublic:
    """List documents, most recently changed first (a key bound to órgãos: only theirs)."""
    rows, count = crud.list_documents(
        session, kind=kind, status=status_, orgao=orgao, text=q, limit=limit, offset=offset, orgaos=key.orgaos
    )
    return DocumentsPublic(data=[public_document(d) for d in rows], count=count)


@router.get("/search", response_model=SearchResults)
def search_documents(
    session: SessionDep,
    key: ReadKey,
    q: Annotated[
        str | None, Query(description='o que buscar: palavras, "frase exata", -excluir (até 200 caracteres)')
    ] = None,
    kind: DocumentKind | None = None,
    orgao: Annotated[str | None, Query(max_length=200)] = None,
    status_: Annotated[DocumentStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> SearchResults:
    """Search our own ETPs/TRs by title, object and section texts, best match first (title weighs most, then the
    object, then the other sections); each hit has a snippet with the words found between « and ». The sections of a
    sigiloso estimate (art. 24) are searched and shown only with the 'sigiloso' scope. With EMBEDDINGS_MODEL set,
    the best 50 are reordered by semantic similarity too (`semantic`). Only the 1,000 most recently indexed matches
    are ranked and paged; beyond them `count_is_lower_bound` is true ("mais de 1.000")."""
    hits, count, lower_bound, semantic = search_crud.search_documents(
        session,
        q,
        cleared=cleared_for_sigiloso(key),
        kind=kind,
        orgao=orgao,
        status=status_,
        limit=limit,
        offset=offset,
        orgaos=key.orgaos,
    )
    return SearchResults(
        data=[
            SearchHit.model_validate({**public_document(h.document).model_dump(), "rank": h.rank, "trecho": h.snippet})
            for h in hits
        ],
        count=count,
        count_is_lower_bound=lower_bound,
        semantic=semantic,
    )


@router.post("/{document_id}/clone", response_model=DocumentDetail, status_code=status.HTTP_201_CREATED)
def clone_document(
    session: SessionDep,
    key: WriteKey,
    acting: ActingDep,
    trace_id: TraceId,
    document_id: uuid.UUID,
    body: DocumentClone,
) -> DocumentDetail:
    """Create a new draft from a past document: the data of the new case in the body (as at creation), the source's
    section texts copied as `copia` (each must be reviewed by a person before approval), its provenance in
    `cloned_from`/`cloned_from_version` and the audit log. Not copied: justifications, items, people, price
    research, signatures, artifacts; the sections of a sigiloso estimate only with the 'sigiloso' scope and into a
    document with `orcamento_sigiloso` too. X-Actor: the planning team."""
    refuse_other_orgao(key, body.orgao)
    document = crud.clone_document(session, document_id, body, acting, cleared=cleared_for_sigiloso(key))
    return detail(session, document.id, key, trace_id)


@router.get("/{document_id}", response_model=DocumentDetail)
def read_document(session: SessionDep, key: ReadKey, trace_id: TraceId, document_id: uuid.UUID) -> DocumentDetail:
    """A document with every field, in template order (the sections of a sigiloso estimate only with the
    'sigiloso' scope, and each such read is audited)."""
    return detail(session, document_id, key, trace_id)


@router.api_route("/search", methods=["PATCH", "DELETE", "PUT", "POST"], include_in_schema=False)
def search_other_methods() -> None:
    """/documents/search answers GET only: without this, PATCH or DELETE would reach /documents/{id} and be told
    "search" is no UUID (422), where a method the path does not take is a 405 (the Allow header says GET)."""
    raise HTTPException(status.HTTP_405_METHOD_NOT_ALLOWED)


@router.patch("/{document_id}", response_model=DocumentDetail)
def update_document(
    session: SessionDep,
    key: WriteKey,
    acting: ActingDep,
    trace_id: TraceId,
    document_id: uuid.UUID,
    body: DocumentUpdate,
) -> DocumentDetail:
    """Change the document's header data (only while rascunho or devolvido); withdrawing `orcamento_sigiloso`
    needs the 'sigiloso' scope."""
    refuse_other_orgao(key, body.orgao)
    if (
        body.orcamento_sigiloso is False
        and not cleared_for_sigiloso(key)
        and crud.get_document(session, document_id).orcamento_sigiloso
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Retirar o sigilo do orçamento exige o escopo 'sigiloso'.")
    crud.update_document(session, document_id, body, acting)
    return detail(session, document_id, key, trace_id)


@router.delete("/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_document(session: SessionDep, _: WriteKey, acting: ActingDep, document_id: uuid.UUID) -> Response:
    """Delete a draft (anything else is cancelled, not deleted)."""
    crud.delete_document(session, document_id, acting)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{document_id}/fields/{slug}", response_model=FieldPublic)
def write_field(
    session: SessionDep, key: WriteKey, acting: ActingDep, document_id: uuid.UUID, slug: str, body: FieldWrite
) -> FieldPublic:
    """Write a field by hand (source `human`, written by the X-Actor); `justification` marks an optional ETP element
    as não se aplica. Any change clears the section's review. A section of a sigiloso estimate needs the 'sigiloso'
    scope."""
    if slug in crud.document_view(session, document_id).protected_slugs and not cleared_for_sigiloso(key):
        raise sigiloso_section_refused(slug)
    crud.write_field(session, document_id, slug, content=body.content, justification=body.justification, acting=acting)
    return _field_public(session, document_id, slug, key)


def _field_public(session: Session, document_id: uuid.UUID, slug: str, key: ApiKey) -> FieldPublic:
    view = crud.document_view(session, document_id)
    return FieldPublic.model_validate(next(r for r in view.field_rows(cleared_for_sigiloso(key)) if r["slug"] == slug))


@router.post("/{document_id}/fields/{slug}/review", response_model=FieldPublic)
def review_field(
    session: SessionDep, key: WriteKey, acting: ActingDep, document_id: uuid.UUID, slug: str
) -> FieldPublic:
    """The X-Actor (planning team) marks the section's current text as reviewed: a draft written by the LLM or the
    offline provider counts for approval only once a person reviewed it; any later change clears the mark."""
    if slug in crud.document_view(session, document_id).protected_slugs and not cleared_for_sigiloso(key):
        raise sigiloso_section_refused(slug)
    crud.review_field(session, document_id, slug, acting)
    return _field_public(session, document_id, slug, key)


@router.get("/{document_id}/fields/history", response_model=list[FieldRevisionPublic])
def read_field_history(session: SessionDep, _: ReadKey, document_id: uuid.UUID) -> list[FieldRevisionPublic]:
    """Every act on the document's sections, in order: who wrote, justified, asked for a draft or reviewed which
    section, in which version, with the text's SHA-256 (never the text)."""
    return [
        FieldRevisionPublic.model_validate(r, from_attributes=True) for r in crud.field_history(session, document_id)
    ]


@router.post("/{document_id}/transitions", response_model=DocumentPublic)
def change_status(
    session: SessionDep, _: WriteKey, acting: ActingDep, document_id: uuid.UUID, body: TransitionRequest
) -> DocumentPublic:
    """Move the document through rascunho → em_revisao → aprovado (or devolvido, cancelado). To em_revisao: a
    member of the planning team. To aprovado: the competent authority of the document's órgão, with its despacho in
    `reason`, who wrote, asked for, justified or reviewed no section of the current version (Lei 14.133/2021,
    art. 7º, §1º); every section filled by a person or reviewed by one, none with a [PREENCHER mark."""
    document = crud.transition(session, document_id, body.to, body.reason, acting)
    return public_document(document)


@router.post("/{document_id}/budget-disclosure", response_model=DocumentPublic)
def disclose_budget(
    session: SessionDep, _: WriteKey, acting: ActingDep, document_id: uuid.UUID, body: BudgetDisclosure
) -> DocumentPublic:
    """End the sigilo of the orçamento estimado once the licitação is over (Lei 14.133/2021, art. 18, §1º, VI: the
    estimate in a classified annex "se a Administração optar por preservar o seu sigilo até a conclusão da
    licitação"). X-Actor: the competent authority of the document's órgão; `act`, `date` (not future, not before
    the approval) and `reason`. Afterwards the estimate sections and the classified annex are read with 'read', the
    next consolidation prints the estimate in the public files, subscribers get `document.budget_disclosed`, and the
    act is in the audit log."""
    document = crud.disclose_budget(session, document_id, body, acting)
    return public_document(document)


@router.get("/{document_id}/confidential-reads", response_model=list[ConfidentialReadPublic])
def read_confidential_reads(
    session: SessionDep, _: SigilosoKey, document_id: uuid.UUID
) -> list[ConfidentialReadPublic]:
    """Every read of the document's sigiloso estimate: who (key), when, under which trace, which sections."""
    return [
        ConfidentialReadPublic.model_validate(r, from_attributes=True)
        for r in crud.confidential_reads(session, document_id)
    ]


@router.get("/{document_id}/audit", response_model=list[AuditPublic])
def read_audit(session: SessionDep, _: ReadKey, document_id: uuid.UUID) -> list[AuditPublic]:
    """Every status change of the document: who, when, why, under which trace."""
    return [AuditPublic.model_validate(a, from_attributes=True) for a in crud.audit_trail(session, document_id)]
