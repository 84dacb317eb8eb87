"""Render task: an approved document to DOCX (python-docx) and PDF (reportlab), byte-for-byte repeatable.

Repeatable output (fixed zip and PDF dates from `issued_on`, no random ids) is what lets a rerun
recognise the objects a failed run already stored under their content-addressed keys.
"""

from __future__ import annotations

from prefect import task

from tasks import run_logger
from tasks.render_docx import render_docx
from tasks.render_model import RenderDocument
from tasks.render_pdf import render_pdf


def render_all(document: RenderDocument) -> dict[str, bytes]:
    return {"docx": render_docx(document), "pdf": render_pdf(document)}


@task(name="render-files", persist_result=False)
def render_files(document: RenderDocument) -> dict[str, bytes]:
    """DOCX and PDF of the document, in memory."""
    files = render_all(document)
    run_logger().info("rendered %s: docx %d bytes, pdf %d bytes", document.numero_processo,
                      len(files["docx"]), len(files["pdf"]))
    return files
