"""The PDF's pages: a doc template that sends headings to the table of contents and the outline, a canvas that
numbers the pages and draws the table of contents once every heading's page is known, and the running header."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable
from reportlab.platypus.tableofcontents import TableOfContents

from models.signing_rules import ROLE_LABELS, signature_box
from tasks.render.model import RenderDocument, clean
from tasks.render.pdf_base import FRAME_WIDTH, GRAY, GRID, LEFT


class TocOverflow(Exception):
    """The table of contents does not fit on its page: lay the document out in two passes instead."""


class TocSlot(Flowable):
    """Holds the table of contents' place; the canvas draws it there at save, with the pages found by the layout."""

    def __init__(self, toc: TableOfContents, entries: list[tuple[int, str, int, str]]) -> None:
        super().__init__()
        self.toc, self.entries = toc, entries

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.toc._lastEntries = self.entries
        self.toc.canv = self.canv
        self.width, self.height = self.toc.wrap(availWidth, availHeight)
        if self.height > availHeight:
            raise TocOverflow
        return self.width, self.height

    def drawOn(self, canvas: Canvas, x: float, y: float, _sW: float = 0) -> None:
        canvas.toc_slot = (canvas.getPageNumber(), self.toc, x, y, self.width)


class DocTemplate(BaseDocTemplate):
    """Sends each section heading to the table of contents (on the canvas, or notified in two-pass mode) and to the
    PDF outline.

    In two-pass mode the first multiBuild pass only collects the headings' pages and is never saved (its table of
    contents is still empty, so a second pass always follows): it runs on a dry canvas, where paragraphs are not
    drawn.
    """

    builds = 0
    headings = False
    outline: list[int] = []

    def handle_documentBegin(self) -> None:
        self.builds += 1
        self.canv.dry = self.headings and self.builds == 1
        self.outline = []  # the contents levels of the open outline entries, outermost first
        super().handle_documentBegin()

    def afterFlowable(self, flowable: Flowable) -> None:
        key = getattr(flowable, "toc_key", None)
        if key is None:
            return
        self.canv.bookmarkPage(key)
        # the outline cannot skip a level ("##" right under a section): a heading hangs under the last one above it
        while self.outline and self.outline[-1] >= flowable.toc_level:
            self.outline.pop()
        self.canv.addOutlineEntry(flowable.toc_text, key, level=len(self.outline))
        self.outline.append(flowable.toc_level)
        entry = (flowable.toc_level, escape(flowable.toc_text), self.page, key)
        self.canv.toc_entries.append(entry)
        self.notify("TOCEntry", entry)


class NumberedCanvas(Canvas):
    """Keeps every page until save, then stamps "Página X de Y" on each but the cover (two-pass page count) and draws
    the table of contents in its slot.

    Held pages still count in the PDF document, so bookmarks and links made on page N point at page N.
    """

    def __init__(self, *args: Any, date: str = "", **kwargs: Any) -> None:
        # the base font is the embedded Vera: reportlab's default (Helvetica) is never embedded, and PDF/A wants
        # every font that the file names embedded, used or not
        kwargs["initialFontName"] = kwargs.get("initialFontName") or "Vera"
        super().__init__(*args, **kwargs)
        self._page_states: list[dict[str, Any]] = []
        self.toc_entries: list[tuple[int, str, int, str]] = []
        self.toc_slot: tuple[int, TableOfContents, float, float, float] | None = None
        if date:
            self.setDateFormatter(lambda *_: date)

    def showPage(self) -> None:
        self._page_states.append(dict(self.__dict__))
        self._doc.pageCounter += 1
        self._startPage()

    def save(self) -> None:
        total = len(self._page_states)
        self._doc.pageCounter -= total
        slot = self.toc_slot
        for number, state in enumerate(self._page_states, 1):
            self.__dict__.update(state)
            if slot is not None and slot[0] == number:
                self._draw_toc(*slot[1:])
            if number > 1:  # the cover counts, but carries no number (nor header), as in the DOCX
                self.setFont("Vera", 8)
                self.setFillColor(GRAY)
                self.drawCentredString(A4[0] / 2, 1.1 * cm, f"Página {number} de {total}")
            super().showPage()
        super().save()

    def _draw_toc(self, toc: TableOfContents, x: float, y: float, width: float) -> None:
        toc._lastEntries = self.toc_entries
        toc.canv = self
        toc.wrap(width, A4[1])
        toc.drawOn(self, x, y)


def _fit(text: str, font: str, size: float, width: float) -> str:
    """The text, cut with an ellipsis when wider than ``width``."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def draw_header(canvas: Canvas, _doc: BaseDocTemplate, lines: tuple[str, str]) -> None:
    """The running header: órgão in bold, then the kind and process, over a thin rule."""
    canvas.saveState()
    middle, top = LEFT + FRAME_WIDTH / 2, A4[1] - 1.3 * cm
    canvas.setFont("VeraBd", 8.5)
    canvas.drawCentredString(middle, top, _fit(clean(lines[0]), "VeraBd", 8.5, FRAME_WIDTH))
    canvas.setFont("Vera", 8)
    canvas.setFillColor(GRAY)
    canvas.drawCentredString(middle, top - 11, _fit(clean(lines[1]), "Vera", 8, FRAME_WIDTH))
    canvas.setStrokeColor(GRID)
    canvas.setLineWidth(0.5)
    canvas.line(LEFT, top - 17, LEFT + FRAME_WIDTH, top - 17)
    canvas.restoreState()


SIGNATURE_PAGE_TITLE = "Assinaturas eletrônicas"
SIGNATURE_PAGE_NOTE = "Cada pessoa assina no seu quadro, na ordem do documento: quem o elaborou, depois quem o aprovou."
SIGNATURE_DESTINATION = "assinaturas-eletronicas"  # its outline entry is what tasks/sign/pades.py looks for


def signature_slots(doc: RenderDocument) -> list[tuple[str, str, str]]:
    """(name, identifier, role label) of each person the document names, in its order: who prepared it, then the
    authority who approved it — the order of models.signing_rules.signing_order, from the same responsibles."""
    who = doc.responsibles
    if who is None:
        return []
    slots = [(p.name, p.identifier, ROLE_LABELS["equipe_planejamento"]) for p in who.prepared_by]
    if who.approved_by is not None:
        slots.append((who.approved_by.name, who.approved_by.identifier, ROLE_LABELS["autoridade_competente"]))
    return slots


def draw_signature_page(canvas: Canvas, doc_template: BaseDocTemplate, doc: RenderDocument, lines) -> None:
    """The last page: its title, the note, and for each named person a caption over the empty box where the
    signature's visible block goes (models.signing_rules.signature_box: the coordinates the signer uses)."""
    draw_header(canvas, doc_template, lines)
    canvas.bookmarkPage(SIGNATURE_DESTINATION)
    canvas.addOutlineEntry(SIGNATURE_PAGE_TITLE, SIGNATURE_DESTINATION, level=0)
    slots = signature_slots(doc)
    canvas.saveState()
    canvas.setFont("VeraBd", 12.5)
    canvas.drawString(LEFT, 764, SIGNATURE_PAGE_TITLE)
    canvas.setFont("Vera", 8)
    canvas.setFillColor(GRAY)
    canvas.drawString(LEFT, 749, _fit(SIGNATURE_PAGE_NOTE, "Vera", 8, FRAME_WIDTH))
    canvas.setStrokeColor(GRID)
    canvas.setLineWidth(0.5)
    for index, (name, identifier, role) in enumerate(slots):
        x1, y1, x2, y2 = signature_box(index, len(slots))
        caption = f"{index + 1}. {clean(name)} (matrícula {clean(identifier)}) — {role}"
        canvas.setFont("Vera", 7.5)
        canvas.drawString(x1, y2 + 4, _fit(caption, "Vera", 7.5, x2 - x1))
        canvas.rect(x1, y1, x2 - x1, y2 - y1, stroke=1, fill=0)
    canvas.restoreState()
