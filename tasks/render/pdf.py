"""PDF rendering of an approved ETP or TR with reportlab platypus: pure, bytes in memory out."""

from __future__ import annotations

import functools
import io
import itertools
import re
from collections.abc import Iterator
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import (
    Flowable,
    Frame,
    KeepInFrame,
    ListFlowable,
    ListItem,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.tableofcontents import TableOfContents

from tasks.render import markup
from tasks.render.model import (
    APPLICATION,
    NOT_APPLICABLE,
    NOT_FILLED,
    RESPONSIBLES_TITLE,
    TOC_TITLE,
    BodyKind,
    RenderDocument,
    RenderSection,
    author,
    body_kind,
    body_text,
    clean,
    column_widths,
    contents,
    cover_lines,
    header_lines,
    heading_level,
    issued_at,
    keywords,
    legal_line,
    responsibles_blocks,
    section_heading,
    subject,
)
from tasks.render.pdf_base import (
    BOTTOM,
    CELL_PADDING,
    CELL_SIZE,
    FONT_NAMES,
    FRAME_WIDTH,
    GRID,
    HEADER_FILL,
    LEFT,
    RIGHT,
    TOP,
    RunsParagraph,
    make_style,
    paragraph_styles,
    register_fonts,
)
from tasks.render.pdf_pages import (
    DocTemplate,
    NumberedCanvas,
    TocOverflow,
    TocSlot,
    draw_header,
    draw_signature_page,
    signature_slots,
)

_AFTER_SLASH = re.compile(r"[^/]*/+|[^/]+")


def render_pdf(doc: RenderDocument) -> bytes:
    """The document as PDF bytes: cover, table of contents, then every section; fonts embedded.

    One layout pass: the table of contents keeps its place on page 2 and is drawn there when the canvas saves,
    once every heading's page is known. A table of contents longer than a page falls back to reportlab's
    two-pass multiBuild.
    """
    register_fonts()
    try:
        return _build(doc, single_pass=True)
    except TocOverflow:
        return _build(doc, single_pass=False)


def _build(doc: RenderDocument, single_pass: bool) -> bytes:
    buffer = io.BytesIO()
    template = DocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=LEFT,
        rightMargin=RIGHT,
        topMargin=TOP,
        bottomMargin=BOTTOM,
        title=clean(doc.titulo),
        author=clean(author(doc)),
        subject=clean(subject(doc)),
        keywords=keywords(doc),
        creator=APPLICATION,  # the application that assembled the file (PDF /Creator), not its author
        lang="pt-BR",
        invariant=1,
        displayDocTitle=1,
    )
    frame = Frame(LEFT, BOTTOM, FRAME_WIDTH, A4[1] - TOP - BOTTOM, 0, 0, 0, 0, id="body")
    template.addPageTemplates(
        [
            PageTemplate("cover", [frame]),
            PageTemplate("body", [frame], onPage=functools.partial(draw_header, lines=header_lines(doc))),
            PageTemplate(
                "signatures", [frame], onPage=functools.partial(draw_signature_page, doc=doc, lines=header_lines(doc))
            ),
        ]
    )
    stamp = issued_at(doc).strftime("D:%Y%m%d%H%M%S+00'00'")
    canvasmaker = functools.partial(NumberedCanvas, date=stamp)
    styles = paragraph_styles()
    toc = TableOfContents(
        levelStyles=[styles["toc"], styles["toc-2"], styles["toc-3"]],
        dotsMinLevel=0,
        rightColumnWidth=36,
        tableStyle=TOC_TABLE,
    )
    if single_pass:
        template.build(_story(doc, TocSlot(toc, _toc_entries(doc))), canvasmaker=canvasmaker)
    else:
        template.headings = bool(doc.sections)
        template.multiBuild(_story(doc, toc), canvasmaker=canvasmaker)
    return buffer.getvalue()


# reportlab's table of contents style, with the embedded Vera as the cells' base font (PDF/A: no Helvetica)
TOC_TABLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Vera", 10),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ]
)


def _toc_entries(doc: RenderDocument) -> list[tuple[int, str, int, str]]:
    """The table of contents' entries before layout (page 0): their number and text decide its height."""
    return [(entry.level - 1, escape(entry.text), 0, f"toc-{index}") for index, entry in enumerate(contents(doc))]


def _story(doc: RenderDocument, toc: Flowable) -> list[Flowable]:
    styles = paragraph_styles()
    cover = [
        RunsParagraph(
            escape(clean(line.text)),
            make_style(
                f"cover-{index}",
                line.size,
                "VeraBd" if line.bold else "Vera",
                alignment=TA_CENTER,
                leading=line.size * 1.3,
                spaceBefore=line.space_before,
            ),
        )
        for index, line in enumerate(cover_lines(doc))
    ]
    story: list[Flowable] = [
        KeepInFrame(FRAME_WIDTH, A4[1] - TOP - BOTTOM, cover, mode="shrink"),
        NextPageTemplate("body"),
        PageBreak(),
        RunsParagraph(TOC_TITLE, styles["toc-title"]),
        toc,
        PageBreak(),
    ]
    keys = (f"toc-{index}" for index in itertools.count())  # in the order of contents(doc): see _toc_entries
    for section in doc.sections:
        story.extend(_section(section, keys, styles))
    if doc.responsibles is not None:
        heading = RunsParagraph(escape(RESPONSIBLES_TITLE), styles["section"])
        story.append(_marked(heading, next(keys), 0, RESPONSIBLES_TITLE))
        story.extend(_blocks(responsibles_blocks(doc), styles, keys))
    if doc.signature_page and signature_slots(doc):
        story += [NextPageTemplate("signatures"), PageBreak(), Spacer(1, 1)]  # the page draws itself (onPage)
    return story


def _marked(paragraph: RunsParagraph, key: str, level: int, text: str) -> RunsParagraph:
    """A heading that afterFlowable sends to the table of contents and the outline."""
    paragraph.toc_key, paragraph.toc_level, paragraph.toc_text = key, level, text
    return paragraph


def _section(section: RenderSection, keys: Iterator[str], styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    text = clean(section_heading(section))
    heading = _marked(RunsParagraph(escape(text), styles["section"]), next(keys), 0, text)
    flowables: list[Flowable] = [heading, RunsParagraph(escape(clean(legal_line(section))), styles["legal"])]
    kind = body_kind(section)
    if kind is BodyKind.NOT_FILLED:
        return flowables + [RunsParagraph(escape(NOT_FILLED), styles["empty"])]
    if kind is BodyKind.NOT_APPLICABLE:
        flowables.append(RunsParagraph(NOT_APPLICABLE, styles["notice"]))
    return flowables + _blocks(markup.parse(body_text(section)), styles, keys)


def _blocks(blocks: list[markup.Block], styles: dict[str, ParagraphStyle], keys: Iterator[str]) -> list[Flowable]:
    flowables: list[Flowable] = []
    for block in blocks:
        if isinstance(block, markup.Paragraph):
            flowables.append(RunsParagraph.of_runs(block.runs, styles["body"]))
        elif isinstance(block, markup.Heading):
            level = heading_level(block)
            paragraph = RunsParagraph.of_runs(block.runs, styles["sub1" if level == 2 else "sub2"])
            flowables.append(_marked(paragraph, next(keys), level - 1, clean(markup.plain(block.runs))))
        elif isinstance(block, markup.BulletList | markup.NumberedList):
            flowables.append(_list(block, styles["item"]))
        elif isinstance(block, markup.Table):
            flowables.append(_table(block, styles))
    return flowables


def _list(block: markup.BulletList | markup.NumberedList, style: ParagraphStyle) -> ListFlowable:
    items = [ListItem(RunsParagraph.of_runs(item, style)) for item in block.items]
    if isinstance(block, markup.BulletList):
        return ListFlowable(
            items, bulletType="bullet", start="•", bulletFontName="Vera", bulletFontSize=10, leftIndent=18, spaceAfter=4
        )
    return ListFlowable(
        items,
        bulletType="1",
        bulletFormat="%s.",
        start=block.start,
        bulletFontName="Vera",
        bulletFontSize=10,
        leftIndent=20,
        spaceAfter=4,
    )


def _table(block: markup.Table, styles: dict[str, ParagraphStyle]) -> Table:
    """A grid table: bold shaded header repeated on each page, wrapped cells, columns fitted to the frame, and a word
    too long for its cell (a link, a control number) cut to fit."""
    aligns = [*block.aligns, *["left"] * len(block.header)][: len(block.header)]
    rows = [block.header, *block.rows]
    widths = column_widths(rows, _measure, FRAME_WIDTH, 2 * CELL_PADDING + 2)
    data = [
        [
            RunsParagraph.of_runs(
                _fitted(cell, width - 2 * CELL_PADDING - 1, index == 0),
                styles[f"{'head' if index == 0 else 'cell'}-{align}"],
            )
            for cell, align, width in zip(row, aligns, widths, strict=False)
        ]
        for index, row in enumerate(rows)
    ]
    table = Table(data, colWidths=widths, repeatRows=1, splitInRow=1, hAlign="LEFT", spaceBefore=2, spaceAfter=8)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), "Vera", CELL_SIZE),  # embedded base font (PDF/A), never Helvetica
                ("GRID", (0, 0), (-1, -1), 0.5, GRID),
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
                ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _fitted(runs: markup.Runs, width: float, header: bool) -> markup.Runs:
    """The runs with every word wider than ``width`` cut into pieces that fit it, after a "/" where one fits, and
    joined by spaces, where the paragraph may break the line (reportlab splits an over-long word only once, so the
    rest of a link would run over the cell's border)."""
    out = []
    for run in runs:
        font = FONT_NAMES[run.bold or header, run.italic]
        words = [_pieces(word, width, font) for word in run.text.split(" ")]
        out.append(markup.Run(" ".join(piece for pieces in words for piece in pieces), run.bold, run.italic))
    return tuple(out)


def _pieces(word: str, width: float, font: str) -> list[str]:
    def fits(text: str) -> bool:
        return pdfmetrics.stringWidth(text, font, CELL_SIZE) <= width

    if fits(word):
        return [word]
    pieces, piece = [], ""
    for part in _AFTER_SLASH.findall(word):
        if fits(piece + part):
            piece += part
            continue
        if piece:
            pieces.append(piece)
        while not fits(part):  # longer than a line by itself: cut by characters
            cut = 1
            while fits(part[: cut + 1]):
                cut += 1
            pieces.append(part[:cut])
            part = part[cut:]
        piece = part
    return [*pieces, piece] if piece else pieces


def _measure(text: str, bold: bool) -> float:
    return pdfmetrics.stringWidth(text, "VeraBd" if bold else "Vera", CELL_SIZE)
