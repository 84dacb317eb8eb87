"""What the PDF renderer's parts share: the embedded fonts, the paragraph styles, the page geometry and a paragraph
built straight from markup runs."""

from __future__ import annotations

import functools
import os
from typing import Any

import reportlab
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph
from reportlab.platypus.paraparser import ParaFrag, ParaParser

from tasks.render import markup
from tasks.render.model import clean

FONTS = {"Vera": "Vera.ttf", "VeraBd": "VeraBd.ttf", "VeraIt": "VeraIt.ttf", "VeraBI": "VeraBI.ttf"}
FONT_NAMES = {(False, False): "Vera", (True, False): "VeraBd", (False, True): "VeraIt", (True, True): "VeraBI"}
LEFT, RIGHT, TOP, BOTTOM = 3 * cm, 2 * cm, 2.5 * cm, 2 * cm
FRAME_WIDTH = A4[0] - LEFT - RIGHT
GRAY = colors.HexColor("#595959")
GRID = colors.HexColor("#808080")
HEADER_FILL = colors.HexColor("#D9D9D9")
CELL_SIZE, CELL_PADDING = 8, 3
URI_WASTE = 0.3  # in the body, a link is broken after a "/" rather than leave more than 30% of a line empty
CELL_ALIGNS = {"left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT}


@functools.cache
def register_fonts() -> None:
    """Register reportlab's bundled Bitstream Vera fonts as the "Vera" family (embedded, Latin-1 and more)."""
    folder = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
    registered = set(pdfmetrics.getRegisteredFontNames())
    for name, file in FONTS.items():
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, os.path.join(folder, file)))
    pdfmetrics.registerFontFamily("Vera", normal="Vera", bold="VeraBd", italic="VeraIt", boldItalic="VeraBI")


def make_style(name: str, size: float, font: str = "Vera", **kwargs: Any) -> ParagraphStyle:
    return ParagraphStyle(name, fontName=font, fontSize=size, leading=kwargs.pop("leading", size * 1.4), **kwargs)


@functools.cache
def paragraph_styles() -> dict[str, ParagraphStyle]:
    """The paragraph styles, shared by every render."""
    cells = {f"cell-{key}": make_style(f"cell-{key}", CELL_SIZE, alignment=align) for key, align in CELL_ALIGNS.items()}
    heads = {
        f"head-{key}": make_style(f"head-{key}", CELL_SIZE, "VeraBd", alignment=align)
        for key, align in CELL_ALIGNS.items()
    }
    return (
        cells
        | heads
        | {
            "body": make_style("body", 10, alignment=TA_JUSTIFY, spaceAfter=6, uriWasteReduce=URI_WASTE),
            "item": make_style("item", 10, alignment=TA_JUSTIFY, spaceAfter=3, uriWasteReduce=URI_WASTE),
            "section": make_style("section", 12.5, "VeraBd", spaceBefore=16, spaceAfter=2, keepWithNext=1),
            "legal": make_style("legal", 8.5, "VeraIt", textColor=GRAY, spaceAfter=8, keepWithNext=1),
            "sub1": make_style("sub1", 11, "VeraBd", spaceBefore=10, spaceAfter=4, keepWithNext=1),
            "sub2": make_style("sub2", 10, "VeraBI", spaceBefore=8, spaceAfter=3, keepWithNext=1),
            "notice": make_style("notice", 10, "VeraBd", spaceAfter=4, keepWithNext=1),
            "empty": make_style("empty", 10, "VeraIt", textColor=GRAY, spaceAfter=6),
            "toc-title": make_style("toc-title", 14, "VeraBd", alignment=TA_CENTER, spaceAfter=18),
            "toc": make_style("toc", 10, leading=16, leftIndent=26, firstLineIndent=-26),
            "toc-2": make_style("toc-2", 9.5, leading=14, leftIndent=40, firstLineIndent=-26),
            "toc-3": make_style("toc-3", 9, leading=13, leftIndent=54, firstLineIndent=-26),
        }
    )


class RunsParagraph(Paragraph):
    """A paragraph that keeps its last line breaking (multiBuild passes and keepWithNext wrap the same text again)
    and skips drawing on a dry canvas."""

    _memo: tuple[Any, ...] | None = None

    @classmethod
    def of_runs(cls, runs: markup.Runs, style: ParagraphStyle) -> RunsParagraph:
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
