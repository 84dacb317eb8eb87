"""Render task: an approved document to DOCX and PDF in memory (``tasks.render.files``), not persisted."""

from __future__ import annotations

from prefect import task

from tasks import run_logger
from tasks.render.files import render_all
from tasks.render.model import RenderDocument


@task(name="render-files", persist_result=False)
def render_files(document: RenderDocument) -> dict[str, bytes]:
    """DOCX and PDF of the document, in memory."""
    files = render_all(document)
    run_logger().info(
        "rendered %s: docx %d bytes, pdf %d bytes", document.numero_processo, len(files["docx"]), len(files["pdf"])
    )
    return files
