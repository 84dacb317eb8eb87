"""An approved document to DOCX (python-docx) and PDF/A-2b (reportlab, then pikepdf), in memory, byte-for-byte
repeatable.

Repeatable output (fixed zip and PDF dates from `issued_on`, no random ids) is what lets a rerun
recognise the objects a failed run already stored under their content-addressed keys.
"""

from __future__ import annotations

from tasks.render.docx import render_docx
from tasks.render.model import RenderDocument, issued_at
from tasks.render.pdf import render_pdf
from tasks.render.pdfa import to_pdfa


def render_all(document: RenderDocument) -> dict[str, bytes]:
    """DOCX and PDF/A-2b; a PDF that does not validate raises PdfaInvalid (the step fails with the reason)."""
    return {"docx": render_docx(document), "pdf": to_pdfa(render_pdf(document), issued_at(document))}
