"""The DOCX package every render starts from (python-docx's default template with our styles, made once per
process) and the repeatable save: equal input, equal bytes."""

from __future__ import annotations

import datetime
import functools
import io
import zipfile

import docx
from docx.document import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.pkgwriter import PackageWriter
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Cm, Pt, RGBColor
from docx.styles.style import ParagraphStyle

FONT = "Arial"
BLACK = RGBColor(0, 0, 0)
GRAY = RGBColor(0x59, 0x59, 0x59)
TEXT_WIDTH = Cm(16)
TABLE_SIZE = 9
TOC_LEVELS = 3
STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"
# settings.xml children that come after w:updateFields in the schema's order
AFTER_UPDATE_FIELDS = (
    "w:hdrShapeDefaults",
    "w:footnotePr",
    "w:endnotePr",
    "w:compat",
    "w:docVars",
    "w:rsids",
    "w:attachedSchema",
    "w:themeFontLang",
    "w:clrSchemeMapping",
    "w:doNotAutoCompressPictures",
    "w:shapeDefaults",
    "w:decimalSymbol",
    "w:listSeparator",
)


@functools.cache
def base() -> tuple[bytes, dict[str, str]]:
    """python-docx's default template with our styles, made once per process (uncompressed), and the style ids."""
    document = docx.Document()
    style_ids = _setup_styles(document)
    _keep_styles(document, set(style_ids.values()) | {"Header", "Footer"})
    _drop_template_extras(document)
    _update_fields_on_open(document)
    buffer = io.BytesIO()
    document.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source:
        members = [(info.filename, source.read(info)) for info in source.infolist()]
    stored = io.BytesIO()
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as target:
        for name, data in members:
            target.writestr(name, data)
    return stored.getvalue(), style_ids


def _font(
    style: ParagraphStyle, size: float, bold: bool = False, italic: bool = False, color: RGBColor = BLACK
) -> None:
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
    toc_heading = styles["TOC Heading"]
    _font(toc_heading, 14, bold=True)
    _spacing(toc_heading, 0, 18, WD_ALIGN_PARAGRAPH.CENTER)
    names = ("Normal", "Heading 1", "Heading 2", "Heading 3", "List Bullet", "List Number", "Table Grid", "TOC Heading")
    return (
        {name: styles[name].style_id for name in names}
        | {"Fundamento": "Fundamento", "Tabela": "Tabela"}
        | _toc_styles(document)
    )


def _toc_styles(document: Document) -> dict[str, str]:
    """Word's built-in "toc 1".."toc 3" (the styles a TOC field's update writes its entries in): left aligned, a
    dotted leader to the page number at the right margin, each level indented."""
    ids = {}
    for level in range(1, TOC_LEVELS + 1):
        style = document.styles.add_style(f"toc {level}", WD_STYLE_TYPE.PARAGRAPH)
        style.style_id, style.base_style, style.next_paragraph_style = f"TOC{level}", document.styles["Normal"], None
        _font(style, 11 if level == 1 else 10, bold=level == 1)
        _spacing(style, 4 if level == 1 else 0, 2, WD_ALIGN_PARAGRAPH.LEFT)
        style.paragraph_format.left_indent = Cm(0.6 * (level - 1))
        style.paragraph_format.tab_stops.add_tab_stop(TEXT_WIDTH, WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)
        ids[f"TOC {level}"] = style.style_id
    return ids


def _update_fields_on_open(document: Document) -> None:
    """w:updateFields in settings.xml: Word offers to update the fields (the table of contents) when it opens the
    file; placed in the schema's order."""
    settings = document.settings.element
    flag = OxmlElement("w:updateFields")
    flag.set(qn("w:val"), "true")
    following = [child for child in settings if child.tag in {qn(tag) for tag in AFTER_UPDATE_FIELDS}]
    if following:
        following[0].addprevious(flag)
    else:
        settings.append(flag)


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


def save(document: Document, day: datetime.date) -> bytes:
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
