"""Marked examples for the drafting of a section: the passages most like it from approved documents of our own and
from the library of other bodies' ETPs/TRs collected from PNCP, given to the model as examples of wording — never
as facts — with their sources recorded in the field's history.

Which passages: the same section (our documents: the same template slug; the library: the same element of art. 18,
§1º or art. 6º, XXIII, where its heading named one), best match of their text to the document's object (its title);
at most DRAFTING_EXAMPLES passages of at most DRAFTING_EXAMPLE_CHARS characters each (0 turns the examples off).
Both sources are first narrowed by their full-text index with ANY of the object's distinctive words: our documents by
the documents' index (models/crud/search.py: the OWN_CANDIDATES best ranked approved documents of the kind, however
old), the library by its own (models/crud/pncp_documents.py); with EMBEDDINGS_MODEL set the semantic ranking reorders
those candidates. Then ``likeness`` orders the passages (the candidates' order breaks its ties).
Our documents count from status aprovado on (aprovado, consolidado, assinado, publicado: the competent authority
approved them). Art. 24 of Lei nº 14.133/2021 ("o orçamento estimado da contratação poderá ter caráter sigiloso"):
a protected section of a sigiloso document (the estimate: ETP VI, TR alínea i) is never an example, nor does it find
or rank its document as a candidate (the index is read as by a key without the 'sigiloso' scope), and the drafting
of such a section gets no example at all.
"""

from __future__ import annotations

import uuid
from itertools import zip_longest
from typing import Any

from sqlmodel import Session, col, select

from core.settings import settings
from models.crud import pncp_documents as library
from models.crud.documents import DocumentView
from models.crud.search import ranked_documents
from models.document import Document, DocumentField
from models.enums import DocumentStatus
from models.rules import MISSING_MARK
from models.template import Template
from models.textsearch import stem, words
from tasks.llm.prompts import Example

APPROVED = (DocumentStatus.APROVADO, DocumentStatus.CONSOLIDADO, DocumentStatus.ASSINADO, DocumentStatus.PUBLICADO)
OWN_CANDIDATES = 50  # the approved documents of the kind the index ranks best for the object, weighed for an example
# words every object has ("Contratação de empresa especializada para prestação de serviços de…"): two objects
# sharing only these are not alike
GENERIC = frozenset(
    stem(w)
    for w in words(
        "aquisição aquisições contratação contratações empresa empresas especializada especializadas serviço serviços "
        "prestação fornecimento objeto registro preços eventual eventuais futura futuras material materiais "
        "destinados destinadas atender atendimento demanda demandas unidade unidades órgão"
    )
)


def key_stems(text: str) -> set[str]:
    """The stems that tell one object from another (the generic ones of every object out)."""
    return {stem(w) for w in words(text)} - GENERIC


def likeness(wanted: set[str], title: str, text: str) -> float:
    """How much a passage is about the object: its distinctive words found in the passage itself weigh twice those
    found only in its document's title; 0 when none is found."""
    in_title, in_text = wanted & key_stems(title), wanted & key_stems(text[:4000])
    return (len(in_title) + 2 * len(in_text)) / (3 * len(wanted))


def _cap(text: str, chars: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= chars else flat[: chars - 1].rsplit(" ", 1)[0] + "…"


def find_examples(session: Session, view: DocumentView, section: dict[str, Any]) -> tuple[Example, ...]:
    """The marked examples for drafting ``section`` of the document of ``view`` (none when turned off, for a
    protected section of a sigiloso document, or when no passage shares a distinctive word with its object)."""
    limit, chars = settings.DRAFTING_EXAMPLES, settings.DRAFTING_EXAMPLE_CHARS
    if limit <= 0 or section["slug"] in view.protected_slugs:
        return ()
    wanted = key_stems(view.document.titulo)
    if not wanted:
        return ()
    query = " ".join(dict.fromkeys(w for w in words(view.document.titulo) if stem(w) in wanted))
    sources = [
        sorted(found, key=lambda pair: -pair[0])
        for found in (
            _own(session, view, section, query, wanted, chars),
            _library(session, view, section, query, wanted, chars),
        )
    ]
    # the best of each source in turn (ours first): approved wording of our own and other bodies' both have a say
    merged = [pair[1] for turn in zip_longest(*sources) for pair in turn if pair is not None]
    return tuple(merged[:limit])


def own_candidates(session: Session, document: Document, query: str) -> list[Document]:
    """The approved documents of ``document``'s kind that the documents' index ranks best for ANY word of ``query``
    (ts_rank_cd on PostgreSQL, bm25 on SQLite; among the index's MAX_RANKED most recent matches), best first, at most
    OWN_CANDIDATES; reordered by the semantic ranking when EMBEDDINGS_MODEL is set. Searched as by a key without the
    'sigiloso' scope: a document whose estimate is secret is found and ranked by its public text alone (art. 24)."""
    ranked, _, _ = ranked_documents(
        session,
        query,
        cleared=False,
        kind=document.kind,
        statuses=APPROVED,
        limit=OWN_CANDIDATES,
        match_all=False,
    )
    order = [i for i, _ in ranked if i != document.id]
    found = {d.id: d for d in session.exec(select(Document).where(col(Document.id).in_(order)))}
    return [found[i] for i in order if i in found]


def _own(
    session: Session, view: DocumentView, section: dict[str, Any], query: str, wanted: set[str], chars: int
) -> list[tuple[float, Example]]:
    candidates = own_candidates(session, view.document, query)
    if not candidates:
        return []
    fields = {
        f.document_id: f
        for f in session.exec(
            select(DocumentField).where(
                col(DocumentField.document_id).in_([d.id for d in candidates]), DocumentField.slug == section["slug"]
            )
        )
    }
    templates: dict[uuid.UUID, Template] = {}
    out = []
    for other in candidates:
        field = fields.get(other.id)
        text = (field.content or "").strip() if field else ""
        if not text or MISSING_MARK in text:
            continue
        template = templates.setdefault(other.template_id, session.get(Template, other.template_id))  # type: ignore[arg-type]
        if section["slug"] in DocumentView(other, template, []).protected_slugs:
            continue  # art. 24: a sigiloso estimate is nobody's example
        score = likeness(wanted, other.titulo, text)
        if not score:
            continue
        out.append(
            (
                score,
                Example(
                    text=_cap(text, chars),
                    source="documento",
                    label=f"{other.kind} aprovado, processo {other.numero_processo}, versão {other.version}",
                    document_id=str(other.id),
                    version=other.version,
                    slug=section["slug"],
                ),
            )
        )
    return out


def _library(
    session: Session, view: DocumentView, section: dict[str, Any], query: str, wanted: set[str], chars: int
) -> list[tuple[float, Example]]:
    kind = str(view.document.kind).lower()
    hits = library.search(
        session,
        query,
        tipo=kind,
        element=f"{kind}:{section['code']}",
        match_all=False,
        limit=settings.DRAFTING_EXAMPLES * 3,
    )
    out = []
    for hit in hits:
        score = likeness(wanted, f"{hit.titulo} {hit.heading}", hit.text)
        if not score or not hit.text.strip():
            continue
        out.append(
            (
                score,
                Example(
                    text=_cap(hit.text, chars),
                    source="pncp",
                    label=f"{hit.tipo.upper()} publicado no PNCP, contratação {hit.numero_controle_pncp}, arquivo "
                    f"{hit.sequencial_documento} ({hit.titulo})",
                    numero_controle_pncp=hit.numero_controle_pncp,
                    sequencial_documento=hit.sequencial_documento,
                    titulo=hit.titulo,
                    url=hit.url,
                ),
            )
        )
    return out
