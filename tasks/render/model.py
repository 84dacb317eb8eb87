"""What the DOCX and PDF renderers read: an approved ETP or TR, and the texts both print the same way."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from models.price_dates import MONTHS
from tasks.render import markup

KIND_TITLES = {
    "ETP": "Estudo Técnico Preliminar",
    "TR": "Termo de Referência",
    "PP": "Relatório de Pesquisa de Preços",
}
NOT_APPLICABLE = "Não se aplica"
NOT_FILLED = "[Seção não preenchida]"
TOC_TITLE = "Sumário"
LONG_WORD_SHARE = 1 / 3
_WORDS = re.compile(r"[ \t\r\n]+")
_NOT_PRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")


@dataclass(frozen=True)
class RenderSection:
    """One element of the document (ETP inciso "I".."XIII", TR alínea "a".."j"); content in the markup subset."""

    code: str
    title: str
    legal_basis: str
    required: bool
    content: str | None
    justification: str | None


@dataclass(frozen=True)
class RenderDocument:
    """An approved ETP or TR, as printed."""

    kind: str
    titulo: str
    numero_processo: str
    orgao: str
    unidade: str
    version: int
    template_name: str
    template_version: int
    issued_on: datetime.date
    sections: tuple[RenderSection, ...]
    author: str = ""  # the people behind the document (metadata); empty: the órgão. Never the software.
    marking: str | None = None  # a classification printed on the cover and on every page's header
    responsibles: Responsibles | None = None  # who prepared and who approved, printed after the last section
    # a last page "Assinaturas eletrônicas" with an empty box per named person, where each signs (sign-document)
    signature_page: bool = False


@dataclass(frozen=True)
class Person:
    name: str
    identifier: str


@dataclass(frozen=True)
class Responsibles:
    """Who prepared the document (the planning team: who wrote, justified or reviewed a section) and who approved it
    (the competent authority), when, with which despacho — printed at the end of the document."""

    prepared_by: tuple[Person, ...]
    approved_by: Person | None = None
    approved_on: datetime.date | None = None
    despacho: str | None = None


@dataclass(frozen=True)
class CoverLine:
    """One line of the cover: its text, font size in points, weight and the space above it in points."""

    text: str
    size: float
    bold: bool
    space_before: float


class BodyKind(Enum):
    """What a section prints below its heading."""

    CONTENT = "content"
    NOT_APPLICABLE = "not_applicable"
    NOT_FILLED = "not_filled"


def has_text(value: str | None) -> bool:
    """True when the value has a non-space character."""
    return bool(value and value.strip())


def clean(text: str) -> str:
    """The text without control characters, which neither DOCX (XML) nor PDF can carry."""
    return _NOT_PRINTABLE.sub("", text)


def body_kind(section: RenderSection) -> BodyKind:
    """Content when filled; the justification when only that is given; otherwise the not-filled notice."""
    if has_text(section.content):
        return BodyKind.CONTENT
    if has_text(section.justification):
        return BodyKind.NOT_APPLICABLE
    return BodyKind.NOT_FILLED


def body_text(section: RenderSection) -> str | None:
    """The markup text printed below a section's heading: its content, or the justification of "Não se aplica"."""
    kind = body_kind(section)
    return (
        section.content
        if kind is BodyKind.CONTENT
        else section.justification
        if kind is BodyKind.NOT_APPLICABLE
        else None
    )


@dataclass(frozen=True)
class ContentsEntry:
    """A heading of the table of contents: level 1 a section, 2 a ``#`` heading of its text, 3 a ``##``/``###``."""

    level: int
    text: str


def heading_level(block: markup.Heading) -> int:
    """The contents level (and DOCX "Heading N" style) of a heading inside a section's text."""
    return 2 if block.level == 1 else 3


def contents(doc: RenderDocument) -> list[ContentsEntry]:
    """Every heading of the document in order, as both renderers print it and their tables of contents list it."""
    entries = []
    for section in doc.sections:
        entries.append(ContentsEntry(1, clean(section_heading(section))))
        entries.extend(
            ContentsEntry(heading_level(block), clean(markup.plain(block.runs)))
            for block in markup.parse(body_text(section))
            if isinstance(block, markup.Heading)
        )
    if doc.responsibles is not None:
        entries.append(ContentsEntry(1, RESPONSIBLES_TITLE))
    return entries


RESPONSIBLES_TITLE = "Responsáveis"
APPLICATION = "NEXORA ComprasGov.AI"


def author(doc: RenderDocument) -> str:
    """The files' author (metadata): the people behind the document — the approving authority and the planning
    team — or, when unknown, the órgão; never the software that assembled them."""
    if doc.author:
        return doc.author
    who = doc.responsibles
    if who is None:
        return doc.orgao
    names = [p.name for p in ((who.approved_by,) if who.approved_by else ())] + [p.name for p in who.prepared_by]
    return "; ".join(dict.fromkeys(names)) or doc.orgao


def responsibles_blocks(doc: RenderDocument) -> list[markup.Block]:
    """The closing block: the planning team who prepared the document, and the competent authority who approved it,
    with the date and the despacho (Lei 14.133/2021, art. 7º §1º: different people). Built as blocks, not parsed
    from markup: names and the despacho print exactly as written."""
    who = doc.responsibles
    assert who is not None
    M = markup
    blocks: list[markup.Block] = [
        M.Paragraph((M.Run("Elaboração", bold=True), M.Run(" — equipe de planejamento da contratação:"))),
        M.BulletList(
            tuple((M.Run(f"{p.name} (matrícula {p.identifier})"),) for p in who.prepared_by)
            or ((M.Run("(não registrada)"),),)
        ),
    ]
    if who.approved_by is not None:
        when = f", em {date_pt(who.approved_on)}" if who.approved_on else ""
        blocks.append(
            M.Paragraph(
                (
                    M.Run("Aprovação", bold=True),
                    M.Run(
                        f" — autoridade competente: {who.approved_by.name} (matrícula {who.approved_by.identifier})"
                        f"{when}."
                    ),
                )
            )
        )
        if who.despacho:
            blocks.append(M.Paragraph((M.Run("Despacho: ", bold=True), M.Run(who.despacho))))
    return blocks


def kind_title(doc: RenderDocument) -> str:
    """The full name of the document kind (the code itself for an unknown kind)."""
    return KIND_TITLES.get(doc.kind, doc.kind)


def date_pt(day: datetime.date) -> str:
    """A date written out in Portuguese, e.g. "1º de março de 2026", "27 de novembro de 2026"."""
    number = "1º" if day.day == 1 else str(day.day)
    return f"{number} de {MONTHS[day.month - 1]} de {day.year}"


def section_heading(section: RenderSection) -> str:
    """The heading of a section, e.g. "I — Descrição da necessidade da contratação"."""
    return f"{section.code} — {section.title}"


def legal_line(section: RenderSection) -> str:
    """The line with the legal basis under a section heading."""
    return f"Fundamento: {section.legal_basis}"


def process_line(doc: RenderDocument) -> str:
    """The process number as printed, e.g. "Processo nº 23000.000123/2026-11"."""
    return f"Processo nº {doc.numero_processo}"


def version_line(doc: RenderDocument) -> str:
    """The document version as printed on the cover."""
    return f"Versão {doc.version}"


def template_note(doc: RenderDocument) -> str:
    """The template the document was made from, for the metadata (traceability; not printed)."""
    return f"Modelo: {doc.template_name} (versão {doc.template_version})"


def header_lines(doc: RenderDocument) -> tuple[str, str]:
    """The two lines of the running header: the órgão, then the kind and the process (after the marking, if any)."""
    second = f"{kind_title(doc)} — {process_line(doc)}"
    return doc.orgao, f"{doc.marking} · {second}" if doc.marking else second


def subject(doc: RenderDocument) -> str:
    """The document subject (metadata)."""
    return f"{kind_title(doc)} — {process_line(doc)}"


def keywords(doc: RenderDocument) -> list[str]:
    """The document keywords (metadata), the template last."""
    return [doc.kind, kind_title(doc), process_line(doc), template_note(doc)]


def issued_at(doc: RenderDocument) -> datetime.datetime:
    """The issue date as a UTC midnight timestamp, for the creation/modification metadata."""
    return datetime.datetime.combine(doc.issued_on, datetime.time(), tzinfo=datetime.UTC)


def cover_lines(doc: RenderDocument) -> list[CoverLine]:
    """The cover, top to bottom; an empty unidade is left out."""
    lines = [
        CoverLine(doc.orgao, 14, True, 0),
        CoverLine(doc.unidade, 12, False, 4),
        *([CoverLine(doc.marking, 12, True, 40)] if doc.marking else []),
        CoverLine(process_line(doc), 11, False, 110 if doc.marking else 150),
        CoverLine(kind_title(doc), 22, True, 18),
        CoverLine(doc.titulo, 14, False, 14),
        CoverLine(version_line(doc), 10, False, 60),
        CoverLine(date_pt(doc.issued_on), 11, False, 150),
    ]
    return [line for line in lines if has_text(line.text)]


def column_widths(
    rows: Sequence[Sequence[markup.Runs]], measure: Callable[[str, bool], float], available: float, padding: float
) -> list[float]:
    """Table column widths summing to ``available``: proportional to the natural widths when they fit, else no column
    narrower than its longest word (``measure(text, bold)`` gives a text's width; the first row is the header, in
    bold). Words are split at spaces, not at no-break spaces ("R$ 1.234,56" written with one is one word); a word
    wider than a third of the table (a link) counts as a third: the renderers break it inside its cell."""
    columns = len(rows[0])
    natural, minimum = [0.0] * columns, [0.0] * columns
    for index, row in enumerate(rows):
        for column, cell in enumerate(row[:columns]):
            runs = [(clean(run.text), index == 0 or run.bold) for run in cell]
            natural[column] = max(natural[column], sum(measure(text, bold) for text, bold in runs))
            longest = max(
                (measure(word, bold) for text, bold in runs for word in _WORDS.split(text) if word), default=0.0
            )
            minimum[column] = max(minimum[column], min(longest, available * LONG_WORD_SHARE))
    natural = [min(width, available) + padding for width in natural]
    minimum = [width + padding for width in minimum]
    if sum(natural) <= available:
        return [width * available / sum(natural) for width in natural]
    if sum(minimum) >= available:
        return [width * available / sum(minimum) for width in minimum]
    spare, flexible = available - sum(minimum), [high - low for high, low in zip(natural, minimum, strict=True)]
    return [low + spare * flex / sum(flexible) for low, flex in zip(minimum, flexible, strict=True)]
