"""Documents and their fields: create from a template, edit, write, justify and review fields, change status.

Every act names who acts (``Acting``: the person, the calling app, the trace); the rules of who may do what are in
models/rules.py. Each act on a section is kept in ``field_revisions`` with the document's version."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from core.logging import current_request_id
from core.settings import settings
from models import price_dates, rules
from models.crud.notifications import record_document_event
from models.crud.templates import default_template, get_template
from models.db import utcnow
from models.document import (
    AuditLog,
    BudgetDisclosure,
    ConfidentialRead,
    Document,
    DocumentClone,
    DocumentCreate,
    DocumentField,
    DocumentUpdate,
    FieldRevision,
)
from models.enums import DocumentKind, DocumentStatus, FieldSource, MarketData, Role
from models.errors import ConflictError, InvalidError, NotFoundError
from models.search import drop_document, sync_document
from models.template import Template


@dataclass(frozen=True)
class Acting:
    """Who acts: the person (X-Actor), the calling app (the API key's name, or the flow), the request's trace."""

    person: rules.Actor
    app: str | None = None
    trace_id: str | None = None


# what each act on a section is called in the history, and in a refusal of the segregation rule
ACTS = {
    "escrita": "escreveu",
    "justificativa": "justificou",
    "redacao": "pediu a redação de",
    "revisao": "revisou",
    "copia": "copiou de outro documento",
}

TRANSITION_EVENTS = {
    DocumentStatus.EM_REVISAO: "document.submitted",
    DocumentStatus.DEVOLVIDO: "document.returned",
    DocumentStatus.APROVADO: "document.approved",
}


def create_document(session: Session, data: DocumentCreate, acting: Acting, *, reason: str = "criação") -> Document:
    rules.check_can_plan(acting.person)
    rules.check_sigilo(data.orcamento_sigiloso, data.orcamento_sigiloso_justificativa, data.criterio_julgamento)
    if data.template_id is not None:
        template = get_template(session, data.template_id)
        if data.kind is not None and data.kind != template.kind:
            raise InvalidError(f"O template {template.id} é do tipo {template.kind}, não {data.kind}.")
    elif data.kind is not None:
        template = default_template(session, data.kind)
    else:
        raise InvalidError("Informe 'template_id' ou 'kind' (ETP ou TR).")
    document = Document(
        titulo=data.titulo,
        numero_processo=data.numero_processo,
        orgao=data.orgao,
        unidade=data.unidade,
        context=data.context,
        kind=template.kind,
        itens=[item.model_dump(mode="json", exclude_none=True) for item in data.itens],
        template_id=template.id,
        template_version=template.version,
        orcamento_sigiloso=data.orcamento_sigiloso,
        orcamento_sigiloso_justificativa=data.orcamento_sigiloso_justificativa,
        uasg=data.uasg,
        uf=data.uf,
        criterio_julgamento=data.criterio_julgamento,
        pca_ano=data.pca_ano,
        dfd_numeros=data.dfd_numeros,
        pca_itens=data.pca_itens,
    )
    session.add(document)
    session.flush()
    for position, section in enumerate(template.sections):
        session.add(DocumentField(document_id=document.id, slug=section["slug"], position=position))
    session.add(
        AuditLog(
            document_id=document.id,
            from_status=None,
            to_status=DocumentStatus.RASCUNHO,
            actor=acting.app,
            person=acting.person.identifier,
            trace_id=acting.trace_id,
            reason=reason,
        )
    )
    session.flush()
    sync_document(session, document.id)
    return document


HEADER = (
    "titulo",
    "numero_processo",
    "orgao",
    "unidade",
    "context",
    "uasg",
    "uf",
    "criterio_julgamento",
    "pca_ano",
    "dfd_numeros",
    "pca_itens",
    "itens",
    "orcamento_sigiloso",
    "orcamento_sigiloso_justificativa",
)


def create_tr_from_etp(session: Session, etp_id: uuid.UUID, acting: Acting) -> Document:
    """A TR created from an approved (or consolidated) ETP: linked to it, with its process, órgão, items, planning
    header and sigilo; drafted later with the ETP's sections as context (the TR details the solution the ETP chose —
    Lei 14.133/2021, art. 6º, XXIII)."""
    rules.check_can_plan(acting.person)
    etp = get_document(session, etp_id)
    if etp.kind != DocumentKind.ETP:
        raise InvalidError(f"O documento {etp_id} é um {etp.kind}: um TR nasce de um ETP.")
    if etp.status not in (DocumentStatus.APROVADO, *rules.FROZEN):
        raise ConflictError(
            f"O ETP está '{etp.status}': o TR nasce de um ETP aprovado pela autoridade competente.",
            status=str(etp.status),
        )
    data = DocumentCreate(kind=DocumentKind.TR, **{name: getattr(etp, name) for name in HEADER})
    tr = create_document(session, data, acting)
    tr.etp_id = etp.id
    session.add(tr)
    session.flush()
    return tr


def clone_document(
    session: Session, source_id: uuid.UUID, data: DocumentClone, acting: Acting, *, cleared: bool
) -> Document:
    """A new draft from a past document ("criar a partir de um ETP existente"): the same template (so every section
    has its place), the process data of the new case from ``data`` (validated as at creation: who may plan, the
    sigilo), and the source's section texts copied as ``copia`` — written for another case, so they count for
    approval only once a person of this case reviewed each one (rules.missing_sections), like a provider's draft.

    Not copied: the justifications (why an element does not apply is a decision of each case), the people, items,
    price research, dates, signatures and artifacts of the source. The sections of a sigiloso estimate (art. 24)
    are copied only for a key with the 'sigiloso' scope (``cleared``) and only into a document whose estimate is
    sigiloso too, so the text never leaves the protection it was written under; otherwise they stay empty.
    Provenance: ``cloned_from``, ``cloned_from_version``, the audit log's first entry and each section's history."""
    source = document_view(session, source_id)
    create = DocumentCreate(
        **data.model_dump(exclude={"itens"}), itens=data.itens, template_id=source.template.id, kind=None
    )
    origin = source.document
    reason = (
        f"criação por clonagem do documento {origin.id} ({origin.kind} {origin.numero_processo}, "
        f"versão {origin.version})"
    )
    document = create_document(session, create, acting, reason=reason)
    document.cloned_from, document.cloned_from_version = origin.id, origin.version
    protected = source.protected_slugs
    copy_protected = cleared and data.orcamento_sigiloso
    targets = {
        f.slug: f for f in session.exec(select(DocumentField).where(DocumentField.document_id == document.id)).all()
    }
    for stored in source.fields:
        if not (stored.content or "").strip() or stored.slug not in targets:
            continue
        if stored.slug in protected and not copy_protected:
            continue
        field = targets[stored.slug]
        field.content, field.source = stored.content, FieldSource.COPIA
        field.written_by, field.trace_id, field.updated_at = acting.person.identifier, acting.trace_id, utcnow()
        session.add(field)
        _record(
            session,
            document,
            stored.slug,
            "copia",
            acting,
            source=FieldSource.COPIA,
            content_sha256=_sha256(stored.content),
        )
    session.add(document)
    session.flush()
    sync_document(session, document.id)
    return document


def get_document(session: Session, document_id: uuid.UUID, *, for_update: bool = False) -> Document:
    query = select(Document).where(Document.id == document_id)
    if for_update:
        query = query.with_for_update()
    document = session.exec(query).first()
    if document is None:
        raise NotFoundError(f"Documento {document_id} não encontrado.")
    return document


def list_documents(
    session: Session,
    *,
    kind: DocumentKind | None = None,
    status: DocumentStatus | None = None,
    orgao: str | None = None,
    text: str | None = None,
    limit: int = 50,
    offset: int = 0,
    orgaos: Sequence[str] = (),
) -> tuple[list[Document], int]:
    filters: list[Any] = []
    if orgaos:  # the key is bound to these órgãos (issue 21)
        filters.append(func.lower(Document.orgao).in_([o.strip().lower() for o in orgaos]))
    if kind:
        filters.append(Document.kind == kind)
    if status:
        filters.append(Document.status == status)
    if orgao:
        filters.append(func.lower(Document.orgao) == orgao.lower())
    if text:
        pattern = f"%{text.lower()}%"
        filters.append(
            or_(
                func.lower(Document.titulo).like(pattern),
                func.lower(Document.numero_processo).like(pattern),
                func.lower(Document.context).like(pattern),
            )
        )
    query = select(Document).where(*filters).order_by(col(Document.updated_at).desc())
    total = session.exec(select(func.count()).select_from(Document).where(*filters)).one()
    return list(session.exec(query.offset(offset).limit(limit)).all()), total


# what a section of a sigiloso estimate shows without the 'sigiloso' scope: who wrote and reviewed it (the workflow
# needs it), not its text nor what would pin the estimate down (when and by which run it was drafted, the model)
HIDDEN_WITH_THE_ESTIMATE = (
    "content",
    "justification",
    "model",
    "tokens_in",
    "tokens_out",
    "flow_run_id",
    "trace_id",
    "updated_at",
)
SHOWN_WITH_THE_ESTIMATE = ("source", "written_by", "reviewed_by", "reviewed_at", "justified_by")


@dataclass
class DocumentView:
    document: Document
    template: Template
    fields: list[DocumentField]

    @property
    def protected_slugs(self) -> set[str]:
        """The sections kept secret when the orçamento is sigiloso: those that carry the price estimate."""
        if not self.document.estimate_secret:
            return set()  # not sigiloso, or its sigilo ended by the authority's act (disclose_budget)
        return {s["slug"] for s in self.template.sections if s.get("market_data") == MarketData.PRICE_ESTIMATE}

    def field_rows(self, cleared: bool = True) -> list[dict[str, Any]]:
        """Every section with its stored field; without clearance the sigiloso ones come without their text."""
        protected = self.protected_slugs
        by_slug = {f.slug: f for f in self.fields}
        rows = []
        for section in self.template.sections:
            stored = by_slug.get(section["slug"])
            rows.append(
                {
                    "slug": section["slug"],
                    "code": section["code"],
                    "title": section["title"],
                    "required": section["required"],
                    **(
                        {k: getattr(stored, k) for k in (*HIDDEN_WITH_THE_ESTIMATE, *SHOWN_WITH_THE_ESTIMATE)}
                        if stored
                        else {}
                    ),
                    "sigiloso": section["slug"] in protected,
                }
            )
            if section["slug"] in protected and not cleared:  # nor what dates or traces the estimate's drafting
                rows[-1].update(dict.fromkeys(HIDDEN_WITH_THE_ESTIMATE))
        return rows


def document_view(session: Session, document_id: uuid.UUID) -> DocumentView:
    document = get_document(session, document_id)
    template = get_template(session, document.template_id)
    fields = session.exec(
        select(DocumentField).where(DocumentField.document_id == document_id).order_by(col(DocumentField.position))
    ).all()
    return DocumentView(document, template, list(fields))


def ensure_editable(document: Document) -> None:
    if document.status not in rules.EDITABLE:
        raise ConflictError(
            f"O documento está '{document.status}'; só é possível editar em "
            f"{', '.join(s.value for s in rules.EDITABLE)}.",
            status=str(document.status),
        )


def update_document(session: Session, document_id: uuid.UUID, data: DocumentUpdate, acting: Acting) -> Document:
    rules.check_can_plan(acting.person)
    document = get_document(session, document_id, for_update=True)
    ensure_editable(document)
    changes = data.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    if "itens" in changes:  # stored without the empty keys
        changes["itens"] = [{k: v for k, v in item.items() if v is not None} for item in changes["itens"]]
    if not changes:
        raise InvalidError("Nenhum campo para alterar.")
    sigilo = ("orcamento_sigiloso", "orcamento_sigiloso_justificativa", "criterio_julgamento")
    if document.orcamento_divulgado_em is not None and set(changes) & set(sigilo[:2]):
        raise ConflictError(
            f"O sigilo do orçamento foi encerrado por ato de {document.orcamento_divulgado_em:%d/%m/%Y} "
            f"({document.orcamento_divulgacao_ato}); a estimativa é pública e não volta a ser sigilosa."
        )
    rules.check_sigilo(*(changes.get(name, getattr(document, name)) for name in sigilo))
    for key, value in changes.items():
        setattr(document, key, value)
    document.updated_at = utcnow()
    session.add(document)
    session.flush()
    if {"titulo", "context"} & set(changes):
        sync_document(session, document.id)
    return document


def delete_document(session: Session, document_id: uuid.UUID, acting: Acting) -> None:
    rules.check_can_plan(acting.person)
    document = get_document(session, document_id, for_update=True)
    if document.status != DocumentStatus.RASCUNHO:
        raise ConflictError(
            f"Só um rascunho pode ser excluído; o documento está '{document.status}'. Use a transição para 'cancelado'."
        )
    if document.version > 1:
        raise ConflictError(
            f"O documento tem versões consolidadas (está na versão {document.version}); "
            "use a transição para 'cancelado'."
        )
    drop_document(session, document_id)
    for row in session.exec(select(DocumentField).where(DocumentField.document_id == document_id)).all():
        session.delete(row)
    for revision in session.exec(select(FieldRevision).where(FieldRevision.document_id == document_id)).all():
        session.delete(revision)
    for entry in session.exec(select(AuditLog).where(AuditLog.document_id == document_id)).all():
        session.delete(entry)
    session.delete(document)
    session.flush()


def _field(session: Session, document: Document, slug: str) -> DocumentField:
    field = session.exec(
        select(DocumentField).where(DocumentField.document_id == document.id, DocumentField.slug == slug)
    ).first()
    if field is None:
        raise NotFoundError(f"O documento {document.kind} não tem a seção '{slug}'.", slug=slug)
    return field


def _check_text(label: str, value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    if "\x00" in value:
        raise InvalidError(f"{label}: caractere nulo não permitido.")
    if len(value) > limit:
        raise InvalidError(f"{label}: {len(value)} caracteres; o máximo é {limit}.")
    return value


def _sha256(text: str | None) -> str | None:
    return hashlib.sha256(text.encode()).hexdigest() if text else None


def _record(session: Session, document: Document, slug: str, action: str, acting: Acting, **extra: Any) -> None:
    session.add(
        FieldRevision(
            document_id=document.id,
            version=document.version,
            slug=slug,
            action=action,
            person=acting.person.identifier,
            app=acting.app,
            trace_id=acting.trace_id,
            **extra,
        )
    )


def write_field(
    session: Session,
    document_id: uuid.UUID,
    slug: str,
    *,
    content: str | None,
    justification: str | None,
    acting: Acting,
    source: FieldSource = FieldSource.HUMAN,
    model: str | None = None,
    tokens_in: int | None = None,
    tokens_out: int | None = None,
    flow_run_id: str | None = None,
    examples: list[dict[str, Any]] | None = None,
) -> DocumentField:
    """Write a section: by hand (``source`` human: the person wrote it) or a provider's draft (llm, offline: the
    person asked for it; ``examples``: the sources of the marked examples its prompt carried, cited in the
    history). A change of the content clears its review; a justification records who gave it."""
    rules.check_can_plan(acting.person)
    document = get_document(session, document_id, for_update=True)
    ensure_editable(document)
    template = get_template(session, document.template_id)
    field = _field(session, document, slug)
    section = template.section(slug)
    assert section is not None  # every field is a section of its template
    limit = (
        min(section.get("max_chars", settings.MAX_FIELD_CHARS), settings.MAX_FIELD_CHARS)
        if source is FieldSource.HUMAN
        else settings.MAX_FIELD_CHARS
    )
    content = _check_text("content", content, limit)
    justification = _check_text("justification", justification, 4000)
    if source is FieldSource.HUMAN and not ((content or "").strip() or (justification or "").strip()):
        raise InvalidError("Informe 'content' (texto da seção) ou 'justification' (por que não se aplica).")
    if justification and section.get("required", True) and not (content or "").strip():
        raise InvalidError(f"A seção {section['code']} ('{slug}') é obrigatória: não pode ser só justificada.")
    who = acting.person.identifier
    if content != field.content or source != field.source:
        field.written_by = who if content else None
        field.reviewed_by = field.reviewed_at = None  # any change clears the review
        action = "escrita" if source is FieldSource.HUMAN else "redacao"
        _record(
            session,
            document,
            slug,
            action,
            acting,
            source=source,
            content_sha256=_sha256(content),
            flow_run_id=flow_run_id,
            examples=examples,
        )
    if justification != field.justification:
        field.justified_by = who if justification else None
        _record(session, document, slug, "justificativa", acting, content_sha256=_sha256(justification))
    field.content, field.justification, field.source = content, justification, source
    field.model, field.tokens_in, field.tokens_out = model, tokens_in, tokens_out
    field.flow_run_id, field.trace_id, field.updated_at = flow_run_id, acting.trace_id, utcnow()
    document.updated_at = utcnow()
    session.add(field)
    session.add(document)
    session.flush()
    sync_document(session, document.id)
    return field


REVIEWABLE = {DocumentStatus.RASCUNHO, DocumentStatus.DEVOLVIDO, DocumentStatus.EM_REVISAO}


def review_field(session: Session, document_id: uuid.UUID, slug: str, acting: Acting) -> DocumentField:
    """A person of the planning team marks the section's current content as reviewed (read, checked, owned): a
    provider's draft counts for approval only then (rules.missing_sections); any later change clears the mark."""
    rules.check_can_plan(acting.person)
    document = get_document(session, document_id, for_update=True)
    if document.status not in REVIEWABLE:
        raise ConflictError(
            f"O documento está '{document.status}'; revisa-se em {', '.join(s.value for s in REVIEWABLE)}.",
            status=str(document.status),
        )
    field = _field(session, document, slug)
    if not (field.content or "").strip():
        raise InvalidError(f"A seção '{slug}' está vazia: não há texto a revisar.")
    field.reviewed_by, field.reviewed_at = acting.person.identifier, utcnow()
    _record(session, document, slug, "revisao", acting, source=field.source, content_sha256=_sha256(field.content))
    session.add(field)
    session.flush()
    return field


def authors(session: Session, document: Document) -> dict[str, set[str]]:
    """Who took part in the current version's sections, and how: identifier → {"escreveu descricao_necessidade",
    "revisou requisitos", …} (the field history of this version), and who did its finalised price research ("fez a
    pesquisa de preços": segregation of functions, art. 7º §1º, keeps them from approving it)."""
    rows = session.exec(
        select(FieldRevision).where(FieldRevision.document_id == document.id, FieldRevision.version == document.version)
    ).all()
    out: dict[str, set[str]] = {}
    for row in rows:
        if row.person:
            out.setdefault(row.person, set()).add(f"{ACTS.get(row.action, row.action)} {row.slug}")
    from models.crud.price_research import finalised_figures

    research = finalised_figures(session, document.id)
    for who in research_acts(research) if research else {}:
        out.setdefault(who, set()).add("fez a pesquisa de preços")
    return out


def research_acts(figures: dict[str, Any]) -> set[str]:
    """Who did the price research (responsible agents, who recorded, excluded or kept prices, who chose a method or
    justified an exception) — not the authority who approved a §1º/§5º case, an act of approval itself."""
    people = set(figures.get("responsaveis") or []) | {figures.get("aberta_por"), figures.get("finalizada_por")}
    for item in figures.get("itens", []):
        people |= {item.get("decidido_por"), (item.get("excecao") or {}).get("por")}
        people |= {p.get(k) for p in item.get("precos", []) for k in ("registrado_por", "decisao_por")}
    return {p for p in people if p}


def responsibles(session: Session, view: DocumentView) -> dict[str, Any]:
    """Who prepared the current version (wrote, justified, asked for or reviewed a section: the field history of the
    version and the sections' current authors, in order of first appearance) and who approved it last, when and with
    which despacho; names from the people registry (an identifier no longer there is printed as it is)."""
    from models.person import Person

    document = view.document
    acts = session.exec(
        select(FieldRevision.person)
        .where(FieldRevision.document_id == document.id, FieldRevision.version == document.version)
        .order_by(col(FieldRevision.id))
    ).all()
    current = [getattr(f, attr) for f in view.fields for attr in ("written_by", "justified_by", "reviewed_by")]
    order = list(dict.fromkeys(who for who in [*acts, *current] if who))
    approval = session.exec(
        select(AuditLog)
        .where(AuditLog.document_id == document.id, AuditLog.to_status == DocumentStatus.APROVADO)
        .order_by(col(AuditLog.id).desc())
    ).first()
    wanted = [*order, *([approval.person] if approval and approval.person else [])]
    names = {p.identifier: p.name for p in session.exec(select(Person).where(col(Person.identifier).in_(wanted)))}
    approver = approval.person if approval and approval.person else None
    return {
        "prepared_by": [(names.get(i, i), i) for i in order if i != approver],
        "approved_by": (names.get(approver, approver), approver) if approver else None,
        "approved_on": approval.created_at.date() if approval and approver else None,
        "despacho": approval.reason if approval and approver else None,
    }


def field_history(session: Session, document_id: uuid.UUID) -> list[FieldRevision]:
    get_document(session, document_id)
    return list(
        session.exec(
            select(FieldRevision).where(FieldRevision.document_id == document_id).order_by(col(FieldRevision.id))
        ).all()
    )


def transition(
    session: Session, document_id: uuid.UUID, target: DocumentStatus, reason: str | None, acting: Acting
) -> Document:
    """The one place where a document's status changes; who may move it where: rules.check_can_submit (to
    em_revisao, back to rascunho), rules.check_can_approve (to aprovado: the authority, its despacho, segregation of
    functions; a document that lists items needs its finalised price research, price_rules.research_for_approval);
    returning or cancelling: the planning team or the authority."""
    document = get_document(session, document_id, for_update=True)
    current = DocumentStatus(document.status)
    rules.check_transition(current, target, reason)
    person = acting.person
    if target is DocumentStatus.APROVADO:
        view = document_view(session, document_id)
        states = {
            f.slug: rules.FieldState(f.content, f.justification, f.source, f.reviewed_by is not None)
            for f in view.fields
        }
        rules.check_approval(DocumentKind(document.kind), view.template.sections, states)
        from models.crud.price_research import finalised_figures
        from models.price_rules import research_for_approval

        research_for_approval(bool(document.itens), finalised_figures(session, document.id), document.itens)
        rules.check_sigilo(
            document.orcamento_sigiloso, document.orcamento_sigiloso_justificativa, document.criterio_julgamento
        )
        rules.check_can_approve(person, document.orgao, authors(session, document), reason)
    elif target in (DocumentStatus.EM_REVISAO, DocumentStatus.RASCUNHO):
        rules.check_can_submit(person)
    elif not person.has(Role.AUTORIDADE_COMPETENTE):
        rules.check_can_plan(person)
    set_status(
        session, document, target, reason=reason, actor=acting.app, person=person.identifier, trace_id=acting.trace_id
    )
    if target in TRANSITION_EVENTS:
        record_document_event(
            session,
            TRANSITION_EVENTS[target],
            document,
            trace_id=acting.trace_id,
            from_status=str(current),
            reason=reason,
            actor=acting.app,
            person=person.identifier,
            person_name=person.name,
        )
    session.flush()
    return document


def set_status(
    session: Session,
    document: Document,
    target: DocumentStatus,
    *,
    reason: str | None,
    actor: str | None,
    person: str | None,
    trace_id: str | None,
) -> None:
    """Every status change and its audit row: a person's transition (``transition``, after its rules), a new version,
    and the statuses the flows set (consolidado, assinado, publicado)."""
    previous = DocumentStatus(document.status)
    document.status = target
    document.updated_at = utcnow()
    session.add(document)
    session.add(
        AuditLog(
            document_id=document.id,
            from_status=previous,
            to_status=target,
            reason=reason,
            actor=actor,
            person=person,
            trace_id=trace_id,
        )
    )


def approved_on(session: Session, document: Document) -> date | None:
    """The day (in Brasília) the document was last approved, from its audit log."""
    when = session.exec(
        select(func.max(AuditLog.created_at)).where(
            AuditLog.document_id == document.id, AuditLog.to_status == DocumentStatus.APROVADO
        )
    ).one()
    if when is None:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(price_dates.BRASILIA).date()


def disclose_budget(session: Session, document_id: uuid.UUID, data: BudgetDisclosure, acting: Acting) -> Document:
    """End the sigilo of the orçamento estimado after the licitação (rules.check_budget_disclosure: art. 18, §1º,
    VI, and art. 24): the estimate sections stop being protected, so the classified annex is listed and downloaded
    with 'read' and the next consolidation prints the estimate in the public files. Audited (audit log, with the
    act) and told to subscribers (``document.budget_disclosed``)."""
    document = get_document(session, document_id, for_update=True)
    state = rules.SigiloState(
        orgao=document.orgao,
        status=DocumentStatus(document.status),
        sigiloso=document.orcamento_sigiloso,
        disclosed_on=document.orcamento_divulgado_em,
        approved_on=approved_on(session, document),
    )
    rules.check_budget_disclosure(acting.person, state, data.act, data.date, data.reason, price_dates.today())
    document.orcamento_divulgado_em = data.date
    document.orcamento_divulgacao_ato = data.act.strip()
    document.orcamento_divulgacao_motivo = data.reason.strip()
    document.orcamento_divulgado_por = acting.person.identifier
    document.updated_at = utcnow()
    session.add(document)
    session.add(
        AuditLog(
            document_id=document.id,
            from_status=state.status,
            to_status=state.status,
            reason=(
                f"Encerramento do sigilo do orçamento estimado (art. 18, §1º, VI, da Lei 14.133/2021) — ato: "
                f"{document.orcamento_divulgacao_ato}, de {data.date:%d/%m/%Y}; motivo: "
                f"{document.orcamento_divulgacao_motivo}"
            ),
            actor=acting.app,
            person=acting.person.identifier,
            trace_id=acting.trace_id,
        )
    )
    record_document_event(
        session,
        "document.budget_disclosed",
        document,
        trace_id=acting.trace_id,
        act=document.orcamento_divulgacao_ato,
        date=data.date.isoformat(),
        reason=document.orcamento_divulgacao_motivo,
        actor=acting.app,
        person=acting.person.identifier,
        person_name=acting.person.name,
    )
    session.flush()
    return document


def audit_trail(session: Session, document_id: uuid.UUID) -> list[AuditLog]:
    get_document(session, document_id)
    return list(
        session.exec(select(AuditLog).where(AuditLog.document_id == document_id).order_by(col(AuditLog.id))).all()
    )


def record_confidential_read(
    session: Session, document_id: uuid.UUID, what: str, actor: str, trace_id: str | None
) -> None:
    """Audit one read of a sigiloso estimate (committed with the request's session): the server's trace id, and the
    caller's own X-Request-ID apart (a client never chooses the trace id of an audit row)."""
    session.add(
        ConfidentialRead(
            document_id=document_id,
            what=what[:300],
            actor=actor[:120],
            trace_id=trace_id,
            request_id=current_request_id.get(),
        )
    )


def confidential_reads(session: Session, document_id: uuid.UUID) -> list[ConfidentialRead]:
    get_document(session, document_id)
    return list(
        session.exec(
            select(ConfidentialRead)
            .where(ConfidentialRead.document_id == document_id)
            .order_by(col(ConfidentialRead.created_at), col(ConfidentialRead.id))
        ).all()
    )
