"""DOCX rendering of an approved ETP or TR with python-docx: pure, bytes in memory out."""

from __future__ import annotations

import datetime
import functools
import io
import zipfile
from xml.sax.saxutils import escape

import docx
from docx.document import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.pkgwriter import PackageWriter
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Cm, Pt, RGBColor
from docx.styles.style import ParagraphStyle
from docx.text.paragraph import Paragraph as DocxParagraph

from tasks import markup
from tasks.render_model import (
    NOT_APPLICABLE,
    NOT_FILLED,
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
    kind_title,
    legal_line,
    section_heading,
    subject,
)

FONT = "Arial"
BLACK = RGBColor(0, 0, 0)
GRAY = RGBColor(0x59, 0x59, 0x59)
HEADER_FILL = "D9D9D9"
TEXT_WIDTH = Cm(16)
TABLE_SIZE, CELL_PADDING = 9.5, 12
STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"
TABLE_LAYOUT = ('<w:tblLayout w:type="fixed"/><w:tblLook w:val="0420" w:firstRow="1" w:lastRow="0" w:firstColumn="0" '
                'w:lastColumn="0" w:noHBand="0" w:noVBand="1"/>')
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def render_docx(doc: RenderDocument) -> bytes:
    """The document as DOCX bytes: cover, then every section with its legal basis and body."""
    package, style_ids = _base()
    document = docx.Document(io.BytesIO(package))
    body = _Body(document, style_ids)
    _setup_page(document, doc)
    body.cover(doc)
    for section in doc.sections:
        body.section(section)
    body.flush()
    _properties(document, doc)
    return _save(document, doc.issued_on)


@functools.cache
def _base() -> tuple[bytes, dict[str, str]]:
    """python-docx's default template with our styles, made once per process (uncompressed), and the style ids."""
    document = docx.Document()
    style_ids = _setup_styles(document)
    _keep_styles(document, set(style_ids.values()) | {"Header", "Footer"})
    _drop_template_extras(document)
    buffer = io.BytesIO()
    document.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source:
        members = [(info.filename, source.read(info)) for info in source.infolist()]
    stored = io.BytesIO()
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as target:
        for name, data in members:
            target.writestr(name, data)
    return stored.getvalue(), style_ids


def _font(style: ParagraphStyle, size: float, bold: bool = False, italic: bool = False,
          color: RGBColor = BLACK) -> None:
    """Set a style's font, dropping the theme fonts that would override the name."""
    style.font.name, style.font.size, style.font.color.rgb = FONT, Pt(size), color
    style.font.bold, style.font.italic = bold or None, italic or None
    _plain_fonts(style.element.get_or_add_rPr().get_or_add_rFonts())


def _plain_fonts(fonts: BaseOxmlElement) -> None:
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), FONT)


def _defaults(document: Document) -> None:
    """Document defaults: the body font instead of the theme's, and Portuguese for spelling and hyphenation."""
    rpr = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _plain_fonts(rpr.get_or_add_rFonts())
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.attrib.clear()
    lang.set(qn("w:val"), "pt-BR")


def _spacing(style: ParagraphStyle, before: float, after: float, align: int | None = None) -> None:
    style.paragraph_format.space_before, style.paragraph_format.space_after = Pt(before), Pt(after)
    if align is not None:
        style.paragraph_format.alignment = align


def _setup_styles(document: Document) -> dict[str, str]:
    """Black, consistent styles in Portuguese (pt-BR spelling check); returns their ids by name."""
    _defaults(document)
    styles = document.styles
    normal = styles["Normal"]
    _font(normal, 11)
    _spacing(normal, 0, 6, WD_ALIGN_PARAGRAPH.JUSTIFY)
    normal.paragraph_format.line_spacing = 1.15
    for name, size, before in (("Heading 1", 13, 18), ("Heading 2", 12, 12), ("Heading 3", 11, 10)):
        _font(styles[name], size, bold=True)
        _spacing(styles[name], before, 4, WD_ALIGN_PARAGRAPH.LEFT)
    legal = styles.add_style("Fundamento", WD_STYLE_TYPE.PARAGRAPH)
    legal.base_style, legal.quick_style = normal, True
    _font(legal, 9, italic=True, color=GRAY)
    _spacing(legal, 0, 8, WD_ALIGN_PARAGRAPH.LEFT)
    legal.paragraph_format.keep_with_next = True
    table_text = styles.add_style("Tabela", WD_STYLE_TYPE.PARAGRAPH)
    table_text.base_style = normal
    _font(table_text, TABLE_SIZE)
    _spacing(table_text, 0, 0, WD_ALIGN_PARAGRAPH.LEFT)
    table_text.paragraph_format.line_spacing = 1.0
    for name in ("Header", "Footer"):
        _font(styles[name], 9)
    names = ("Normal", "Heading 1", "Heading 2", "Heading 3", "List Bullet", "List Number", "Table Grid")
    return {name: styles[name].style_id for name in names} | {"Fundamento": "Fundamento", "Tabela": "Tabela"}


def _setup_page(document: Document, doc: RenderDocument) -> None:
    """A4 with margins, the órgão in the header and "Página X de Y" in the footer."""
    section = document.sections[0]
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
    paragraph._p.append(parse_xml(f'<w:fldSimple {W} w:instr=" {code} \\* MERGEFORMAT "><w:r><w:t>1</w:t></w:r>'
                                  "</w:fldSimple>"))


def _text(text: str) -> str:
    return escape(clean(text).replace("\t", " "))


def _run(text: str, bold: bool = False, italic: bool = False, size: float | None = None) -> str:
    props = ("<w:b/>" if bold else "") + ("<w:i/>" if italic else "") + (f'<w:sz w:val="{round(size * 2)}"/>'
                                                                         if size else "")
    return f'<w:r>{f"<w:rPr>{props}</w:rPr>" if props else ""}<w:t xml:space="preserve">{_text(text)}</w:t></w:r>'


def _runs(runs: markup.Runs, bold: bool = False) -> str:
    return "".join(_run(run.text, run.bold or bold, run.italic) for run in runs)


def _para(content: str, style: str | None = None, align: str | None = None, keep_next: bool = False,
          num_id: int | None = None, before: float | None = None) -> str:
    """A w:p; its properties written in the schema's order."""
    props = "".join((
        f'<w:pStyle w:val="{style}"/>' if style else "", "<w:keepNext/>" if keep_next else "",
        f'<w:numPr><w:ilvl w:val="0"/><w:numId w:val="{num_id}"/></w:numPr>' if num_id is not None else "",
        f'<w:spacing w:before="{round(before * 20)}"/>' if before is not None else "",
        f'<w:jc w:val="{align}"/>' if align else "",
    ))
    return f'<w:p>{f"<w:pPr>{props}</w:pPr>" if props else ""}{content}</w:p>'


class _Body:
    """Writes the body as WordprocessingML text, then inserts it in one parse (python-docx calls are slow)."""

    def __init__(self, document: Document, styles: dict[str, str]) -> None:
        self.document, self.styles, self.parts = document, styles, []
        list_number = document.styles["List Number"].element.pPr.numPr.numId.val
        self.numbering = document.part.numbering_part.element
        self.abstract_num = self.numbering.num_having_numId(list_number).abstractNumId.val

    def cover(self, doc: RenderDocument) -> None:
        lines = cover_lines(doc)
        for index, line in enumerate(lines):
            page_break = '<w:r><w:br w:type="page"/></w:r>' if index == len(lines) - 1 else ""
            run = _run(line.text, bold=line.bold, size=line.size)
            self.parts.append(_para(run + page_break, align="center", before=line.space_before))

    def section(self, section: RenderSection) -> None:
        self.parts.append(_para(_run(section_heading(section)), self.styles["Heading 1"]))
        self.parts.append(_para(_run(legal_line(section)), self.styles["Fundamento"]))
        kind = body_kind(section)
        if kind is BodyKind.CONTENT:
            self.blocks(markup.parse(section.content))
        elif kind is BodyKind.NOT_APPLICABLE:
            self.parts.append(_para(_run(NOT_APPLICABLE, bold=True), keep_next=True))
            self.blocks(markup.parse(section.justification))
        else:
            self.parts.append(_para(_run(NOT_FILLED, italic=True)))

    def blocks(self, blocks: list[markup.Block]) -> None:
        for block in blocks:
            if isinstance(block, markup.Paragraph):
                self.parts.append(_para(_runs(block.runs)))
            elif isinstance(block, markup.Heading):
                style = self.styles["Heading 2" if block.level == 1 else "Heading 3"]
                self.parts.append(_para(_runs(block.runs), style))
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
        """A "Table Grid" table with fitted column widths, its header row bold, shaded and repeated on each page."""
        rows = (block.header, *block.rows)
        texts = [[clean(markup.plain(cell)) for cell in row] for row in rows]
        widths = [round(points * 20) for points in column_widths(texts, _measure, TEXT_WIDTH.pt, CELL_PADDING)]
        aligns = [*block.aligns, *["left"] * len(widths)]
        grid = "".join(f'<w:gridCol w:w="{width}"/>' for width in widths)
        shade = f'<w:shd w:val="clear" w:color="auto" w:fill="{HEADER_FILL}"/>'
        xml = [f'<w:tbl><w:tblPr><w:tblStyle w:val="{self.styles["Table Grid"]}"/><w:tblW w:w="{sum(widths)}" '
               f'w:type="dxa"/>{TABLE_LAYOUT}</w:tblPr><w:tblGrid>{grid}</w:tblGrid>']
        for index, row in enumerate(rows):
            xml.append("<w:tr><w:trPr><w:tblHeader/></w:trPr>" if index == 0 else "<w:tr>")
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


def _measure(text: str, header: bool) -> float:
    """Approximate width in points of a text in the table font (Arial averages about half an em per character)."""
    return len(text) * TABLE_SIZE * (0.56 if header else 0.52)


def _properties(document: Document, doc: RenderDocument) -> None:
    props = document.core_properties
    props.title, props.subject, props.author = clean(doc.titulo), clean(subject(doc)), clean(doc.author)
    props.keywords, props.category = clean(", ".join(keywords(doc))), kind_title(doc)
    props.last_modified_by, props.language, props.comments = clean(doc.author), "pt-BR", ""
    props.revision = max(1, doc.version)
    stamp = issued_at(doc).replace(tzinfo=None)
    props.created = props.modified = stamp


def _keep_styles(document: Document, used: set[str]) -> None:
    """Drop the template's styles that nothing here uses (it defines ~160, mostly table styles: 350 kB of XML that
    every render would parse, write and compress); keep the used ones, what they are based on or linked to, and
    each kind's default style."""
    root = document.styles.element
    styles = {style.get(qn("w:styleId")): style for style in root.findall(qn("w:style"))}
    keep = {style_id for style_id, style in styles.items() if style.get(qn("w:default")) == "1"}
    pending = list(used)
    while pending:
        style_id = pending.pop()
        if style_id in keep or style_id not in styles:
            keep.add(style_id)
            continue
        keep.add(style_id)
        for tag in ("w:basedOn", "w:link", "w:next"):
            ref = styles[style_id].find(qn(tag))
            if ref is not None:
                pending.append(ref.get(qn("w:val")))
    for style_id, style in styles.items():
        if style_id not in keep:
            root.remove(style)


def _drop_template_extras(document: Document) -> None:
    """Leave out the template's preview image (an empty page) and its Word 2010 copy of the styles."""
    for rels, reltype in ((document.part.package.rels, RT.THUMBNAIL), (document.part.rels, STYLES_WITH_EFFECTS)):
        for rid in [rid for rid, rel in rels.items() if rel.reltype == reltype]:
            del rels[rid]


def _save(document: Document, day: datetime.date) -> bytes:
    """The package as bytes, every member dated on the issue day, so equal input gives equal bytes."""
    package = document.part.package
    parts = list(package.iter_parts())
    for part in parts:
        part.before_marshal()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        writer = _DatedWriter(archive, (min(max(day.year, 1980), 2107), day.month, day.day, 0, 0, 0))
        PackageWriter._write_content_types_stream(writer, parts)
        PackageWriter._write_pkg_rels(writer, package.rels)
        PackageWriter._write_parts(writer, parts)
    return buffer.getvalue()


class _DatedWriter:
    """python-docx's physical package writer, with a fixed date on each zip member."""

    def __init__(self, archive: zipfile.ZipFile, stamp: tuple[int, ...]) -> None:
        self.archive, self.stamp = archive, stamp

    def write(self, pack_uri: PackURI, blob: bytes) -> None:
        entry = zipfile.ZipInfo(pack_uri.membername, self.stamp)
        entry.external_attr = 0o600 << 16
        self.archive.writestr(entry, blob, zipfile.ZIP_DEFLATED)
