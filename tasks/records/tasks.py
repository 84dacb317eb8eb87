"""Tasks that read and write the app database for the flows: drafting contexts, drafted fields, the document to
consolidate and its artifacts."""

from __future__ import annotations

import uuid
from typing import Any

from prefect import task

from models import price_dates as dates
from models.crud.artifacts import artifacts_of, register_consolidation
from models.crud.documents import Acting, document_view, ensure_editable, responsibles, write_field
from models.crud.people import acting_person
from models.db import session_scope
from models.enums import DocumentStatus, FieldSource
from models.errors import ConflictError, NotFoundError
from models.rules import FROZEN, SIGILOSO_RUN_TAG, FieldState, check_can_plan
from tasks import run_logger
from tasks.llm.examples import find_examples
from tasks.llm.prompts import DraftingContext
from tasks.records.printed import printed
from tasks.retry import DB_RETRIES
from tasks.runs.tag import tag_this_run


def _context(
    view,
    section: dict[str, Any],
    instructions: str | None,
    notes: dict[str, str | None],
    origin: tuple[str, ...] = (),
    figures: tuple[str, ...] = (),
    examples: tuple = (),
) -> DraftingContext:
    document, template = view.document, view.template
    protected = section["slug"] in view.protected_slugs
    return DraftingContext(
        kind=str(document.kind),
        template_name=template.name,
        template_version=template.version,
        titulo=document.titulo,
        numero_processo=document.numero_processo,
        orgao=document.orgao,
        unidade=document.unidade,
        context=document.context,
        section=section,
        market_notes=notes.get(section.get("market_data", "none")),
        extra_instructions=instructions,
        planning=planning_lines(document) + origin,
        document_id=str(document.id),
        protected=protected,
        sigilo=document.estimate_secret,
        secret_figures=() if protected else figures,
        examples=() if protected else examples,
    )


CRITERIOS = {
    "menor_preco": "menor preço",
    "maior_desconto": "maior desconto",
    "melhor_tecnica_ou_conteudo_artistico": "melhor técnica ou conteúdo artístico",
    "tecnica_e_preco": "técnica e preço",
    "maior_lance": "maior lance",
    "maior_retorno_economico": "maior retorno econômico",
}


def planning_lines(document) -> tuple[str, ...]:
    """What the header says of the planning, as the drafter reads it (element II of the ETP uses the PCA)."""
    lines = []
    if document.uasg:
        lines.append(f"UASG: {document.uasg}")
    if document.criterio_julgamento:
        criterio = CRITERIOS.get(document.criterio_julgamento, document.criterio_julgamento)
        lines.append(f"Critério de julgamento (art. 33): {criterio}")
    if document.pca_ano or document.pca_itens:
        items = ", ".join(document.pca_itens) if document.pca_itens else "itens não informados"
        lines.append(f"Plano de contratações anual: {document.pca_ano or 'ano não informado'}; itens {items}")
    if document.dfd_numeros:
        lines.append(f"Documento(s) de formalização da demanda (DFD): {', '.join(document.dfd_numeros)}")
    return tuple(lines)


def _market_notes(session, view, sections: list[dict[str, Any]]) -> dict[str, str | None]:
    """The market data the requested sections ask for (once per kind), from the document's items: the estimate
    (ETP VI, TR i) from the finalised price research, verbatim and cited, else a preview marked as such."""
    from models.crud.price_research import finalised_figures
    from tasks.prices.notes import market_notes
    from tasks.records.research_report import estimate_block

    kinds = {s.get("market_data", "none") for s in sections} - {"none"}
    items, secret = view.document.itens or [], view.document.estimate_secret
    if not items:
        return {}
    notes = {
        kind: market_notes(session, kind, items, sigiloso=secret, uf=view.document.uf)
        for kind in kinds - {"price_estimate"}
    }
    if "price_estimate" in kinds:  # from the finalised research when there is one; else a preview, said so
        figures = finalised_figures(session, view.document.id)
        notes["price_estimate"] = (
            estimate_block(figures) if figures else PREVIEW + (market_notes(session, "price_estimate", items) or "")
        )
    return notes


PREVIEW = (
    "Prévia: a pesquisa de preços deste documento ainda não foi finalizada (POST …/price-research/finalize); os "
    "valores abaixo são o mapa de preços calculado hoje e não valem para a aprovação, que exige a pesquisa "
    "finalizada.\n\n"
)


def secret_figures(session, view, sections: list[dict[str, Any]]) -> tuple[str, ...]:
    """For the public sections of a sigiloso estimate: the values they must not state (art. 24) — those of the
    stored estimate sections and those the price research gives for the items today."""
    from tasks.llm.guard import money_values
    from tasks.prices.notes import estimate_figures

    if not view.document.estimate_secret or all(s["slug"] in view.protected_slugs for s in sections):
        return ()
    stored = (f.content or "" for f in view.fields if f.slug in view.protected_slugs)
    figures = {str(value) for text in stored for value in money_values(text)}
    if view.document.itens:
        figures.update(estimate_figures(session, view.document.itens, dates.today()))
        figures.update(research_figures(session, view.document.id))
    return tuple(sorted(figures))


def research_figures(session, document_id) -> set[str]:
    """The finalised research's values in cents ("1234.56"): each item's statistics, unit value and total, and the
    research total — what a public section of a sigiloso estimate must not state."""
    from models.crud.price_research import finalised_figures
    from tasks.prices.notes import cents

    figures = finalised_figures(session, document_id)
    if not figures:
        return set()
    keys = ("media", "mediana", "menor_valor", "valor_unitario", "valor_total")
    values = [item[k] for item in figures["itens"] for k in keys] + [figures["valor_total"]]
    return {str(cents(float(v))) for v in values if v}


@task(name="load-drafting-context", **DB_RETRIES)
def load_drafting_contexts(
    document_id: uuid.UUID,
    slugs: list[str] | None = None,
    only_empty: bool = False,
    instructions: str | None = None,
    *,
    requested_by: str,
) -> list[DraftingContext]:
    """The drafting context of the requested sections (all, or only the empty ones), once the person who asked is
    known, active and of the planning team (a run started from the Prefect UI is checked here)."""
    with session_scope() as session:
        check_can_plan(acting_person(session, requested_by))
        view = document_view(session, document_id)
        ensure_editable(view.document)
        sections = view.template.sections
        if slugs is not None:
            unknown = [s for s in slugs if view.template.section(s) is None]
            if unknown:
                raise NotFoundError(f"O {view.document.kind} não tem a(s) seção(ões): {', '.join(unknown)}.")
            sections = [s for s in sections if s["slug"] in slugs]
        if only_empty:
            states = {f.slug: FieldState(f.content, f.justification) for f in view.fields}
            filled = {slug for slug, state in states.items() if state.filled or state.justified}
            sections = [s for s in sections if s["slug"] not in filled]
        if view.document.estimate_secret:  # its messages and parameters may quote the estimate (art. 24)
            tag_this_run(SIGILOSO_RUN_TAG)
        notes = _market_notes(session, view, sections)
        origin = etp_lines(session, view.document)
        figures = secret_figures(session, view, sections)
        return [
            _context(view, section, instructions, notes, origin, figures, find_examples(session, view, section))
            for section in sections
        ]


ETP_SECTION_CHARS, ETP_TOTAL_CHARS = 600, 6000


def etp_lines(session, document) -> tuple[str, ...]:
    """For a TR created from an ETP: the ETP's sections (the start of each), as context of the drafting. The ETP's
    sigiloso estimate is left out: it never reaches a provider from here."""
    if not getattr(document, "etp_id", None):
        return ()
    try:
        etp = document_view(session, document.etp_id)
    except NotFoundError:
        return ()
    by_slug = {f.slug: f for f in etp.fields}
    lines = [f"ETP de origem (processo {etp.document.numero_processo}, versão {etp.document.version}):"]
    used = 0
    for spec in etp.template.sections:
        field = by_slug.get(spec["slug"])
        text = ((field.content or field.justification or "") if field else "").strip()
        if not text or spec["slug"] in etp.protected_slugs:
            continue
        piece = " ".join(text.split())[:ETP_SECTION_CHARS]
        if used + len(piece) > ETP_TOTAL_CHARS:
            break
        used += len(piece)
        lines.append(f"{spec['code']} — {spec['title']}: {piece}")
    return tuple(lines) if len(lines) > 1 else ()


@task(name="save-fields", **DB_RETRIES)
def save_fields(
    document_id: uuid.UUID,
    drafts: dict[str, dict[str, Any]],
    flow_run_id: str | None,
    trace_id: str | None,
    requested_by: str,
) -> list[dict[str, Any]]:
    """Store drafted sections in one transaction, each written by its provider at the request of ``requested_by``
    (to be reviewed by a person before approval); returns what was stored, per section."""
    stored = []
    with session_scope() as session:
        acting = Acting(acting_person(session, requested_by), app=None, trace_id=trace_id)
        for slug, draft in drafts.items():
            write_field(
                session,
                document_id,
                slug,
                content=draft["content"],
                justification=None,
                source=FieldSource(draft["source"]),
                model=draft["model"],
                tokens_in=draft["tokens_in"],
                tokens_out=draft["tokens_out"],
                flow_run_id=flow_run_id,
                acting=acting,
                examples=draft.get("examples") or None,
            )
            stored.append(
                {
                    "slug": slug,
                    "source": draft["source"],
                    "model": draft["model"],
                    "tokens_in": draft["tokens_in"],
                    "tokens_out": draft["tokens_out"],
                    "chars": len(draft["content"]),
                    "examples": len(draft.get("examples") or ()),
                }
            )
    logger = run_logger()
    for item in stored:
        logger.info("stored %s (%s, %d chars)", item["slug"], item["source"], item["chars"])
    return stored


@task(name="load-consolidation-input", **DB_RETRIES)
def load_consolidation_input(document_id: uuid.UUID) -> dict[str, Any]:
    """The approved document as the renderers need it, plus what the registry records."""
    with session_scope() as session:
        view = document_view(session, document_id)
        document, template = view.document, view.template
        if document.status in FROZEN:
            existing = artifacts_of(session, document_id, document.version)
            if existing:
                return {"already": [a.model_dump(mode="json") for a in existing], "version": document.version}
        if document.status != DocumentStatus.APROVADO:
            raise ConflictError(f"Só um documento aprovado pode ser consolidado; está '{document.status}'.")
        if view.protected_slugs:
            tag_this_run(SIGILOSO_RUN_TAG)
        # a sigiloso estimate never reaches the public files (nor this result); who prepared and approved it does
        from models.crud.price_research import finalised_figures

        research = finalised_figures(session, document_id)
        render = printed(view, responsibles=responsibles(session, view), research=research)
        reports = artifacts_of(session, document_id, kind="pesquisa_precos")
        return {
            "already": None,
            "render": render,
            "research_reports": [
                a.model_dump(mode="json") for a in reports if research and a.research_id == research["id"]
            ],
            "version": document.version,
            "classified": bool(view.protected_slugs),
            "template_id": str(template.id),
            "template_version": template.version,
        }


@task(name="register-artifacts", **DB_RETRIES)
def register_artifacts(
    document_id: uuid.UUID,
    version: int,
    stored: list[dict[str, Any]],
    template_id: str,
    template_version: int,
    flow_run_id: str | None,
    trace_id: str | None,
    requested_by: str | None = None,
) -> list[dict[str, Any]]:
    """Artifacts and status consolidado in one transaction (the audit row names who asked for the run)."""
    with session_scope() as session:
        artifacts = register_consolidation(
            session,
            document_id,
            version,
            stored,
            template_id=uuid.UUID(template_id),
            template_version=template_version,
            flow_run_id=flow_run_id,
            trace_id=trace_id,
            person=requested_by,
        )
        rows = [a.model_dump(mode="json") for a in artifacts]
    run_logger().info("registered %d artifacts of version %d; status consolidado", len(rows), version)
    return rows
