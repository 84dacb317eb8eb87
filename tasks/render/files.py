"""An approved document to DOCX (python-docx) and PDF (reportlab), in memory, byte-for-byte repeatable.

Repeatable output (fixed zip and PDF dates from `issued_on`, no random ids) is what lets a rerun
recognise the objects a failed run already stored under their content-addressed keys.
"""

from __future__ import annotations

from tasks.render.docx import render_docx
from tasks.render.model import RenderDocument
from tasks.render.pdf import render_pdf


def render_all(document: RenderDocument) -> dict[str, bytes]:
    return {"docx": render_docx(document), "pdf": render_pdf(document)}
