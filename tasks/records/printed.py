"""The document as printed: the public one, where a sigiloso estimate gives way to the art. 24 note, or its
classified annex (pure: from a document view to what the renderers read)."""

from __future__ import annotations

from typing import Any

from models.enums import MarketData
from tasks.render.model import Person, RenderDocument, RenderSection, Responsibles


def sigiloso_note(kind: str) -> str:
    """What the public DOCX/PDF say in place of a sigiloso estimate."""
    where = (
        "em anexo classificado deste Estudo Técnico Preliminar"
        if kind == "ETP"
        else "em documento separado e classificado"
    )
    return (
        f"Orçamento estimado sigiloso, nos termos do art. 24 da Lei nº 14.133/2021: a estimativa do valor da "
        f"contratação consta {where}, de acesso restrito até a conclusão da licitação (art. 18, §1º, VI); o sigilo "
        "não prevalece para os órgãos de controle interno e externo (art. 24, inciso I)."
    )


def disclosed_note(document) -> str:
    """The paragraph that opens a formerly sigiloso estimate in the public files, naming the act that ended the
    sigilo ('' when the estimate was never sigiloso or is still)."""
    if not (document.orcamento_sigiloso and document.orcamento_divulgado_em):
        return ""
    return (
        f"Orçamento estimado mantido sob sigilo até a conclusão da licitação (art. 24 e art. 18, §1º, VI, da Lei nº "
        f"14.133/2021) e divulgado por {document.orcamento_divulgacao_ato}, de "
        f"{document.orcamento_divulgado_em:%d/%m/%Y}.\n\n"
    )


ANNEX_MARKING = "DOCUMENTO CLASSIFICADO — ACESSO RESTRITO (art. 24 da Lei nº 14.133/2021)"


def as_responsibles(who: dict[str, Any] | None) -> Responsibles | None:
    """models.crud.documents.responsibles as the renderers read it."""
    if who is None:
        return None
    approved = who.get("approved_by")
    return Responsibles(
        prepared_by=tuple(Person(name, identifier) for name, identifier in who["prepared_by"]),
        approved_by=Person(*approved) if approved else None,
        approved_on=who.get("approved_on"),
        despacho=who.get("despacho"),
    )


def research_annex(research: dict[str, Any] | None) -> str:
    """The paragraph that closes the estimate section: the Relatório de Pesquisa de Preços attached as an annex,
    with its dates, people, total and the SHA-256 of its files ('' without a finalised research)."""
    if not research:
        return ""
    hashes = "\n".join(f"- {r['format'].upper()}: {r['sha256']}" for r in research.get("relatorio", []))
    day = research["finalizada_em"][:10]
    return (
        f"\n\n**Anexo — Relatório de Pesquisa de Preços** (IN SEGES/ME nº 65/2021, art. 3º): pesquisa de "
        f"{_br(research['data_pesquisa'])}, finalizada em {_br(day)}; valor total estimado R$ "
        f"{_money(research['valor_total'])}. Arquivos do relatório (SHA-256):\n\n{hashes}"
    )


def _br(day: str) -> str:
    return f"{day[8:10]}/{day[5:7]}/{day[:4]}"


def _money(value: str | None) -> str:
    from decimal import Decimal

    from tasks.prices.study import brl

    return brl(Decimal(value))[3:] if value else "—"


def printed(
    view, annex: bool = False, responsibles: dict[str, Any] | None = None, research: dict[str, Any] | None = None
) -> RenderDocument:
    """The document as printed: the public one, with a sigiloso estimate replaced by the art. 24 note, or its
    classified annex (ETP inciso VI, TR alínea i): the estimate sections alone, with their text, marked. With
    ``responsibles`` (models.crud.documents.responsibles), who prepared and who approved it close the document; with
    ``research`` (the finalised price research's figures), its report is cited as the annex of the estimate."""
    document, template = view.document, view.template
    by_slug, protected = {f.slug: f for f in view.fields}, view.protected_slugs

    def section(spec: dict[str, Any]) -> RenderSection:
        stored, hidden = by_slug[spec["slug"]], spec["slug"] in protected and not annex
        content = sigiloso_note(document.kind) if hidden else stored.content
        if not hidden and stored.content and spec.get("market_data") == MarketData.PRICE_ESTIMATE:
            content = disclosed_note(document) + stored.content + research_annex(research)
        return RenderSection(
            code=spec["code"],
            title=spec["title"],
            legal_basis=spec["legal_basis"],
            required=spec["required"],
            content=content,
            justification=None if hidden else stored.justification,
        )

    titulo = document.titulo
    if annex:
        label = "Anexo classificado" if document.kind == "ETP" else "Documento separado e classificado"
        titulo = f"{label} — orçamento estimado sigiloso — {titulo}"
    return RenderDocument(
        kind=str(document.kind),
        titulo=titulo,
        numero_processo=document.numero_processo,
        orgao=document.orgao,
        unidade=document.unidade,
        version=document.version,
        template_name=template.name,
        template_version=template.version,
        issued_on=document.updated_at.date(),
        sections=tuple(section(s) for s in template.sections if not annex or s["slug"] in protected),
        marking=ANNEX_MARKING if annex else None,
        responsibles=as_responsibles(responsibles),
        signature_page=not annex and responsibles is not None,  # the public document is what its people sign
    )
