"""PDF rendering of an approved ETP or TR with reportlab platypus: pure, bytes in memory out."""

from __future__ import annotations

import functools
import io
import os
from typing import Any
from xml.sax.saxutils import escape

import reportlab
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepInFrame,
    ListFlowable,
    ListItem,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Table,
    TableStyle,
)
from reportlab.platypus.paraparser import ParaFrag, ParaParser
from reportlab.platypus.tableofcontents import TableOfContents

from tasks import markup
from tasks.render_model import (
    NOT_APPLICABLE,
    NOT_FILLED,
    TOC_TITLE,
    BodyKind,
    RenderDocument,
    RenderSection,
    body_kind,
    clean,
    column_widths,
    cover_lines,
    header_lines,
    issued_at,
    keywords,
    legal_line,
    section_heading,
    subject,
)

FONTS = {"Vera": "Vera.ttf", "VeraBd": "VeraBd.ttf", "VeraIt": "VeraIt.ttf", "VeraBI": "VeraBI.ttf"}
LEFT, RIGHT, TOP, BOTTOM = 3 * cm, 2 * cm, 2.5 * cm, 2 * cm
FRAME_WIDTH = A4[0] - LEFT - RIGHT
GRAY = colors.HexColor("#595959")
GRID = colors.HexColor("#808080")
HEADER_FILL = colors.HexColor("#D9D9D9")
CELL_SIZE, CELL_PADDING = 8.5, 4
CELL_ALIGNS = {"left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT}


@functools.cache
def _register_fonts() -> None:
    """Register reportlab's bundled Bitstream Vera fonts as the "Vera" family (embedded, Latin-1 and more)."""
    folder = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
    registered = set(pdfmetrics.getRegisteredFontNames())
    for name, file in FONTS.items():
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, os.path.join(folder, file)))
    pdfmetrics.registerFontFamily("Vera", normal="Vera", bold="VeraBd", italic="VeraIt", boldItalic="VeraBI")


def _style(name: str, size: float, font: str = "Vera", **kwargs: Any) -> ParagraphStyle:
    return ParagraphStyle(name, fontName=font, fontSize=size, leading=kwargs.pop("leading", size * 1.4), **kwargs)


@functools.cache
def _styles() -> dict[str, ParagraphStyle]:
    """The paragraph styles, shared by every render."""
    cells = {f"cell-{key}": _style(f"cell-{key}", CELL_SIZE, alignment=align) for key, align in CELL_ALIGNS.items()}
    heads = {f"head-{key}": _style(f"head-{key}", CELL_SIZE, "VeraBd", alignment=align)
             for key, align in CELL_ALIGNS.items()}
    return cells | heads | {
        "body": _style("body", 10, alignment=TA_JUSTIFY, spaceAfter=6),
        "item": _style("item", 10, alignment=TA_JUSTIFY, spaceAfter=3),
        "section": _style("section", 12.5, "VeraBd", spaceBefore=16, spaceAfter=2, keepWithNext=1),
        "legal": _style("legal", 8.5, "VeraIt", textColor=GRAY, spaceAfter=8, keepWithNext=1),
        "sub1": _style("sub1", 11, "VeraBd", spaceBefore=10, spaceAfter=4, keepWithNext=1),
        "sub2": _style("sub2", 10, "VeraBI", spaceBefore=8, spaceAfter=3, keepWithNext=1),
        "notice": _style("notice", 10, "VeraBd", spaceAfter=4, keepWithNext=1),
        "empty": _style("empty", 10, "VeraIt", textColor=GRAY, spaceAfter=6),
        "toc-title": _style("toc-title", 14, "VeraBd", alignment=TA_CENTER, spaceAfter=18),
        "toc": _style("toc", 10, leading=16, leftIndent=26, firstLineIndent=-26),
    }


def render_pdf(doc: RenderDocument) -> bytes:
    """The document as PDF bytes: cover, table of contents, then every section; fonts embedded.

    One layout pass: the table of contents keeps its place on page 2 and is drawn there when the canvas saves,
    once every heading's page is known. A table of contents longer than a page falls back to reportlab's
    two-pass multiBuild.
    """
    _register_fonts()
    try:
        return _build(doc, single_pass=True)
    except _TocOverflow:
        return _build(doc, single_pass=False)


def _build(doc: RenderDocument, single_pass: bool) -> bytes:
    buffer = io.BytesIO()
    template = _DocTemplate(
        buffer, pagesize=A4, leftMargin=LEFT, rightMargin=RIGHT, topMargin=TOP, bottomMargin=BOTTOM,
        title=clean(doc.titulo), author=clean(doc.author), subject=clean(subject(doc)), keywords=keywords(doc),
        creator=clean(doc.author), lang="pt-BR", invariant=1, displayDocTitle=1,
    )
    frame = Frame(LEFT, BOTTOM, FRAME_WIDTH, A4[1] - TOP - BOTTOM, 0, 0, 0, 0, id="body")
    template.addPageTemplates([
        PageTemplate("cover", [frame]),
        PageTemplate("body", [frame], onPage=functools.partial(_draw_header, lines=header_lines(doc))),
    ])
    stamp = issued_at(doc).strftime("D:%Y%m%d%H%M%S+00'00'")
    canvasmaker = functools.partial(_NumberedCanvas, date=stamp)
    toc = TableOfContents(levelStyles=[_styles()["toc"]], dotsMinLevel=0, rightColumnWidth=36)
    if single_pass:
        template.build(_story(doc, _TocSlot(toc, _toc_entries(doc))), canvasmaker=canvasmaker)
    else:
        template.headings = bool(doc.sections)
        template.multiBuild(_story(doc, toc), canvasmaker=canvasmaker)
    return buffer.getvalue()


def _toc_entries(doc: RenderDocument) -> list[tuple[int, str, int, str]]:
    """The table of contents' entries before layout (page 0): their number and text decide its height."""
    return [(0, escape(clean(section_heading(section))), 0, f"secao-{index}")
            for index, section in enumerate(doc.sections)]


class _TocOverflow(Exception):
    """The table of contents does not fit on its page: lay the document out in two passes instead."""


class _TocSlot(Flowable):
    """Holds the table of contents' place; the canvas draws it there at save, with the pages found by the layout."""

    def __init__(self, toc: TableOfContents, entries: list[tuple[int, str, int, str]]) -> None:
        super().__init__()
        self.toc, self.entries = toc, entries

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.toc._lastEntries = self.entries
        self.toc.canv = self.canv
        self.width, self.height = self.toc.wrap(availWidth, availHeight)
        if self.height > availHeight:
            raise _TocOverflow
        return self.width, self.height

    def drawOn(self, canvas: Canvas, x: float, y: float, _sW: float = 0) -> None:
        canvas.toc_slot = (canvas.getPageNumber(), self.toc, x, y, self.width)


class _Paragraph(Paragraph):
    """A paragraph that keeps its last line breaking (multiBuild passes and keepWithNext wrap the same text again)
    and skips drawing on a dry canvas."""

    _memo: tuple[Any, ...] | None = None

    @classmethod
    def of_runs(cls, runs: markup.Runs, style: ParagraphStyle) -> _Paragraph:
        """A paragraph built from markup runs directly, without reportlab's markup parser (a third of the cost)."""
        frags = [_frag(style, run.bold, run.italic).clone(text=clean(run.text)) for run in runs]
        return cls("", style, frags=frags or [_frag(style, False, False).clone(text="")])

    def draw(self) -> None:
        if not getattr(self.canv, "dry", False):
            super().draw()

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        memo = self._memo
        if memo is not None and memo[0] == availWidth:
            self.width, self.height, self.blPara, self._wrapWidths = memo[1:]
            return self.width, self.height
        size = super().wrap(availWidth, availHeight)
        if hasattr(self, "blPara"):
            self._memo = (availWidth, self.width, self.height, self.blPara, self._wrapWidths)
        return size


@functools.cache
def _frag(style: ParagraphStyle, bold: bool, italic: bool) -> ParaFrag:
    """The fragment reportlab's parser makes for a run in ``style`` (font, size, colour), to clone per run."""
    text = "x"
    text = f"<b>{text}</b>" if bold else text
    text = f"<i>{text}</i>" if italic else text
    return ParaParser().parse(text, style)[1][0]


class _DocTemplate(BaseDocTemplate):
    """Sends each section heading to the table of contents (on the canvas, or notified in two-pass mode) and to the
    PDF outline.

    In two-pass mode the first multiBuild pass only collects the headings' pages and is never saved (its table of
    contents is still empty, so a second pass always follows): it runs on a dry canvas, where paragraphs are not
    drawn.
    """

    builds = 0
    headings = False

    def handle_documentBegin(self) -> None:
        self.builds += 1
        self.canv.dry = self.headings and self.builds == 1
        super().handle_documentBegin()

    def afterFlowable(self, flowable: Flowable) -> None:
        key = getattr(flowable, "toc_key", None)
        if key is None:
            return
        self.canv.bookmarkPage(key)
        self.canv.addOutlineEntry(flowable.toc_text, key, level=0)
        entry = (0, escape(flowable.toc_text), self.page, key)
        self.canv.toc_entries.append(entry)
        self.notify("TOCEntry", entry)


class _NumberedCanvas(Canvas):
    """Keeps every page until save, then stamps "Página X de Y" on each (two-pass page count) and draws the table
    of contents in its slot.

    Held pages still count in the PDF document, so bookmarks and links made on page N point at page N.
    """

    def __init__(self, *args: Any, date: str = "", **kwargs: Any) -> None:
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


def _draw_header(canvas: Canvas, _doc: BaseDocTemplate, lines: tuple[str, str]) -> None:
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


def _story(doc: RenderDocument, toc: Flowable) -> list[Flowable]:
    styles = _styles()
    cover = [
        _Paragraph(escape(clean(line.text)), _style(
            f"cover-{index}", line.size, "VeraBd" if line.bold else "Vera", alignment=TA_CENTER,
            leading=line.size * 1.3, spaceBefore=line.space_before))
        for index, line in enumerate(cover_lines(doc))
    ]
    story: list[Flowable] = [
        KeepInFrame(FRAME_WIDTH, A4[1] - TOP - BOTTOM, cover, mode="shrink"), NextPageTemplate("body"), PageBreak(),
        _Paragraph(TOC_TITLE, styles["toc-title"]), toc, PageBreak(),
    ]
    for index, section in enumerate(doc.sections):
        story.extend(_section(section, f"secao-{index}", styles))
    return story


def _section(section: RenderSection, key: str, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    text = clean(section_heading(section))
    heading = _Paragraph(escape(text), styles["section"])
    heading.toc_key, heading.toc_text = key, text
    flowables: list[Flowable] = [heading, _Paragraph(escape(clean(legal_line(section))), styles["legal"])]
    kind = body_kind(section)
    if kind is BodyKind.CONTENT:
        return flowables + _blocks(markup.parse(section.content), styles)
    if kind is BodyKind.NOT_APPLICABLE:
        return flowables + [_Paragraph(NOT_APPLICABLE, styles["notice"])] + _blocks(
            markup.parse(section.justification), styles)
    return flowables + [_Paragraph(escape(NOT_FILLED), styles["empty"])]


def _blocks(blocks: list[markup.Block], styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    flowables: list[Flowable] = []
    for block in blocks:
        if isinstance(block, markup.Paragraph):
            flowables.append(_Paragraph.of_runs(block.runs, styles["body"]))
        elif isinstance(block, markup.Heading):
            flowables.append(_Paragraph.of_runs(block.runs, styles["sub1" if block.level == 1 else "sub2"]))
        elif isinstance(block, markup.BulletList | markup.NumberedList):
            flowables.append(_list(block, styles["item"]))
        elif isinstance(block, markup.Table):
            flowables.append(_table(block, styles))
    return flowables


def _list(block: markup.BulletList | markup.NumberedList, style: ParagraphStyle) -> ListFlowable:
    items = [ListItem(_Paragraph.of_runs(item, style)) for item in block.items]
    if isinstance(block, markup.BulletList):
        return ListFlowable(items, bulletType="bullet", start="•", bulletFontName="Vera", bulletFontSize=10,
                            leftIndent=18, spaceAfter=4)
    return ListFlowable(items, bulletType="1", bulletFormat="%s.", start=block.start, bulletFontName="Vera",
                        bulletFontSize=10, leftIndent=20, spaceAfter=4)


def _table(block: markup.Table, styles: dict[str, ParagraphStyle]) -> Table:
    """A grid table: bold shaded header repeated on each page, wrapped cells, columns fitted to the frame."""
    aligns = [*block.aligns, *["left"] * len(block.header)][:len(block.header)]
    rows = [block.header, *block.rows]
    data = [[_Paragraph.of_runs(cell, styles[f"{'head' if index == 0 else 'cell'}-{align}"])
             for cell, align in zip(row, aligns, strict=False)] for index, row in enumerate(rows)]
    texts = [[clean(markup.plain(cell)) for cell in row] for row in rows]
    widths = column_widths(texts, _measure, FRAME_WIDTH, 2 * CELL_PADDING + 2)
    table = Table(data, colWidths=widths, repeatRows=1, splitInRow=1, hAlign="LEFT",
                  spaceBefore=2, spaceAfter=8)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, GRID), ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING), ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def _measure(text: str, header: bool) -> float:
    return pdfmetrics.stringWidth(text, "VeraBd" if header else "Vera", CELL_SIZE)
