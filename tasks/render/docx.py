"""DOCX rendering of an approved ETP or TR with python-docx: pure, bytes in memory out.

The table of contents is a real TOC field (``TOC \\o "1-3" \\h \\z \\u``) over the built-in "Heading 1..3" styles
of the headings; its result is written beforehand (every heading, a link to its bookmark, no page numbers, which only
a layout knows), and settings.xml asks Word to update the fields on open; LibreOffice updates it on request.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

import docx
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.shared import Cm
from docx.text.paragraph import Paragraph as DocxParagraph
from reportlab.pdfbase.pdfmetrics import stringWidth

from tasks.render import markup
from tasks.render.docx_base import GRAY, TABLE_SIZE, TEXT_WIDTH, base, save
from tasks.render.model import (
    NOT_APPLICABLE,
    NOT_FILLED,
    RESPONSIBLES_TITLE,
    TOC_TITLE,
    BodyKind,
    ContentsEntry,
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
    kind_title,
    legal_line,
    responsibles_blocks,
    section_heading,
    subject,
    template_note,
)

HEADER_FILL = "D9D9D9"
CELL_MARGIN = 3  # points left and right inside a cell (Word's default is 5.4); 1 point above and below
CELL_PADDING = 2 * CELL_MARGIN + 2
TABLE_LAYOUT = (
    '<w:tblLayout w:type="fixed"/><w:tblCellMar><w:top w:w="20" w:type="dxa"/>'
    f'<w:left w:w="{CELL_MARGIN * 20}" w:type="dxa"/><w:bottom w:w="20" w:type="dxa"/>'
    f'<w:right w:w="{CELL_MARGIN * 20}" w:type="dxa"/></w:tblCellMar>'
    '<w:tblLook w:val="0420" w:firstRow="1" w:lastRow="0" w:firstColumn="0" '
    'w:lastColumn="0" w:noHBand="0" w:noVBand="1"/>'
)
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
TOC_FIELD = 'TOC \\o "1-3" \\h \\z \\u'


def render_docx(doc: RenderDocument) -> bytes:
    """The document as DOCX bytes: cover, table of contents, then every section with its legal basis and body."""
    package, style_ids = base()
    document = docx.Document(io.BytesIO(package))
    body = _Body(document, style_ids)
    _setup_page(document, doc)
    body.cover(doc)
    body.toc(contents(doc))
    for section in doc.sections:
        body.section(section)
    if doc.responsibles is not None:
        body.heading(_run(RESPONSIBLES_TITLE), style_ids["Heading 1"])
        body.blocks(responsibles_blocks(doc))
    body.flush()
    _properties(document, doc)
    return save(document, doc.issued_on)


def _setup_page(document: Document, doc: RenderDocument) -> None:
    """A4 with margins, the órgão in the header and "Página X de Y" in the footer; none of them on the cover."""
    section = document.sections[0]
    section.different_first_page_header_footer = True
    section.first_page_header.is_linked_to_previous = False
    section.first_page_footer.is_linked_to_previous = False
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2.5), Cm(2)
    section.left_margin, section.right_margin = Cm(3), section.page_width - Cm(3) - TEXT_WIDTH
    section.header_distance, section.footer_distance = Cm(1.2), Cm(1)
    first, second = header_lines(doc)
    header = section.header.paragraphs[0]
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    header.add_run(clean(first)).bold = True
    header.add_run().add_break()
    header.add_run(clean(second)).font.color.rgb = GRAY
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("Página ")
    _field(footer, "PAGE")
    footer.add_run(" de ")
    _field(footer, "NUMPAGES")


def _field(paragraph: DocxParagraph, code: str) -> None:
    """Append a simple field (PAGE, NUMPAGES) whose cached value Word and LibreOffice refresh."""
    paragraph._p.append(
        parse_xml(f'<w:fldSimple {W} w:instr=" {code} \\* MERGEFORMAT "><w:r><w:t>1</w:t></w:r></w:fldSimple>')
    )


def _text(text: str) -> str:
    return escape(clean(text).replace("\t", " "))


def _run(text: str, bold: bool = False, italic: bool = False, size: float | None = None) -> str:
    props = (
        ("<w:b/>" if bold else "")
        + ("<w:i/>" if italic else "")
        + (f'<w:sz w:val="{round(size * 2)}"/>' if size else "")
    )
    return f'<w:r>{f"<w:rPr>{props}</w:rPr>" if props else ""}<w:t xml:space="preserve">{_text(text)}</w:t></w:r>'


def _runs(runs: markup.Runs, bold: bool = False) -> str:
    return "".join(_run(run.text, run.bold or bold, run.italic) for run in runs)


def _para(
    content: str,
    style: str | None = None,
    align: str | None = None,
    keep_next: bool = False,
    num_id: int | None = None,
    before: float | None = None,
    page_break: bool = False,
) -> str:
    """A w:p; its properties written in the schema's order."""
    props = "".join(
        (
            f'<w:pStyle w:val="{style}"/>' if style else "",
            "<w:keepNext/>" if keep_next else "",
            "<w:pageBreakBefore/>" if page_break else "",
            f'<w:numPr><w:ilvl w:val="0"/><w:numId w:val="{num_id}"/></w:numPr>' if num_id is not None else "",
            f'<w:spacing w:before="{round(before * 20)}"/>' if before is not None else "",
            f'<w:jc w:val="{align}"/>' if align else "",
        )
    )
    return f"<w:p>{f'<w:pPr>{props}</w:pPr>' if props else ''}{content}</w:p>"


class _Body:
    """Writes the body as WordprocessingML text, then inserts it in one parse (python-docx calls are slow)."""

    def __init__(self, document: Document, styles: dict[str, str]) -> None:
        self.document, self.styles, self.parts = document, styles, []
        self.bookmarks = 0
        list_number = document.styles["List Number"].element.pPr.numPr.numId.val
        self.numbering = document.part.numbering_part.element
        self.abstract_num = self.numbering.num_having_numId(list_number).abstractNumId.val

    def cover(self, doc: RenderDocument) -> None:
        for line in cover_lines(doc):
            run = _run(line.text, bold=line.bold, size=line.size)
            self.parts.append(_para(run, align="center", before=line.space_before))

    def toc(self, entries: list[ContentsEntry]) -> None:
        """The "Sumário" page: a TOC field whose result already lists every heading, linked to its bookmark (the
        bookmarks are numbered in the order ``heading`` is called, which is the order of ``contents``)."""
        self.parts.append(_para(_run(TOC_TITLE), self.styles["TOC Heading"], page_break=True))
        begin = (
            '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> '
            f'{escape(TOC_FIELD)} </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        )
        end = '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
        if not entries:
            self.parts.append(_para(begin + end))
            return
        for index, entry in enumerate(entries):
            link = f'<w:hyperlink w:anchor="{_bookmark(index)}" w:history="1">{_run(entry.text)}</w:hyperlink>'
            self.parts.append(
                _para(
                    (begin if index == 0 else "") + link + (end if index == len(entries) - 1 else ""),
                    self.styles[f"TOC {entry.level}"],
                )
            )

    def heading(self, runs: str, style: str, page_break: bool = False) -> None:
        """A heading paragraph in a built-in "Heading N" style, bookmarked for the table of contents."""
        number, self.bookmarks = self.bookmarks, self.bookmarks + 1
        marked = (
            f'<w:bookmarkStart w:id="{number}" w:name="{_bookmark(number)}"/>{runs}<w:bookmarkEnd w:id="{number}"/>'
        )
        self.parts.append(_para(marked, style, page_break=page_break))

    def section(self, section: RenderSection) -> None:
        self.heading(_run(section_heading(section)), self.styles["Heading 1"], page_break=self.bookmarks == 0)
        self.parts.append(_para(_run(legal_line(section)), self.styles["Fundamento"]))
        kind = body_kind(section)
        if kind is BodyKind.NOT_APPLICABLE:
            self.parts.append(_para(_run(NOT_APPLICABLE, bold=True), keep_next=True))
        if kind is BodyKind.NOT_FILLED:
            self.parts.append(_para(_run(NOT_FILLED, italic=True)))
        else:
            self.blocks(markup.parse(body_text(section)))

    def blocks(self, blocks: list[markup.Block]) -> None:
        for block in blocks:
            if isinstance(block, markup.Paragraph):
                self.parts.append(_para(_runs(block.runs)))
            elif isinstance(block, markup.Heading):
                self.heading(_runs(block.runs), self.styles[f"Heading {heading_level(block)}"])
            elif isinstance(block, markup.BulletList):
                self.parts.extend(_para(_runs(item), self.styles["List Bullet"]) for item in block.items)
            elif isinstance(block, markup.NumberedList):
                num_id = self.new_numbering(block.start)
                self.parts.extend(_para(_runs(item), self.styles["List Number"], num_id=num_id) for item in block.items)
            elif isinstance(block, markup.Table):
                self.parts.append(self.table(block))
                self.parts.append('<w:p><w:pPr><w:spacing w:after="40"/></w:pPr></w:p>')

    def new_numbering(self, start: int) -> int:
        """A new w:num over the "List Number" numbering, so each list counts from its own first number."""
        num = self.numbering.add_num(self.abstract_num)
        num.add_lvlOverride(ilvl=0).add_startOverride(start)
        return num.numId

    def table(self, block: markup.Table) -> str:
        """A "Table Grid" table with fitted column widths, its header row bold, shaded and repeated on each page, no row
        split across two pages."""
        rows = (block.header, *block.rows)
        widths = [round(points * 20) for points in column_widths(rows, _measure, TEXT_WIDTH.pt, CELL_PADDING)]
        aligns = [*block.aligns, *["left"] * len(widths)]
        grid = "".join(f'<w:gridCol w:w="{width}"/>' for width in widths)
        shade = f'<w:shd w:val="clear" w:color="auto" w:fill="{HEADER_FILL}"/>'
        xml = [
            f'<w:tbl><w:tblPr><w:tblStyle w:val="{self.styles["Table Grid"]}"/><w:tblW w:w="{sum(widths)}" '
            f'w:type="dxa"/>{TABLE_LAYOUT}</w:tblPr><w:tblGrid>{grid}</w:tblGrid>'
        ]
        for index, row in enumerate(rows):
            xml.append(f"<w:tr><w:trPr><w:cantSplit/>{'<w:tblHeader/>' if index == 0 else ''}</w:trPr>")
            for cell, width, align in zip(row, widths, aligns, strict=False):
                props = f'<w:tcW w:w="{width}" w:type="dxa"/>{shade if index == 0 else ""}'
                content = _para(_runs(cell, bold=index == 0), self.styles["Tabela"], align=align)
                xml.append(f"<w:tc><w:tcPr>{props}</w:tcPr>{content}</w:tc>")
            xml.append("</w:tr>")
        return "".join(xml) + "</w:tbl>"

    def flush(self) -> None:
        """Insert what was written before the body's final section properties."""
        fragment = parse_xml(f"<w:body {W}>{''.join(self.parts)}</w:body>")
        anchor = self.document.element.body.sectPr
        for child in list(fragment):
            anchor.addprevious(child)
        self.parts = []


def _bookmark(number: int) -> str:
    return f"_Toc{number + 1:06d}"


def _measure(text: str, bold: bool) -> float:
    """Width in points of a text in the table font: Arial has Helvetica's metrics (and LibreOffice's Liberation Sans
    has Arial's), which reportlab knows."""
    return stringWidth(text, "Helvetica-Bold" if bold else "Helvetica", TABLE_SIZE)


def _properties(document: Document, doc: RenderDocument) -> None:
    props = document.core_properties
    props.title, props.subject, props.author = clean(doc.titulo), clean(subject(doc)), clean(author(doc))
    props.keywords, props.category = clean(", ".join(keywords(doc))), kind_title(doc)
    props.last_modified_by, props.language, props.comments = clean(author(doc)), "pt-BR", clean(template_note(doc))
    props.revision = max(1, doc.version)
    stamp = issued_at(doc).replace(tzinfo=None)
    props.created = props.modified = stamp
