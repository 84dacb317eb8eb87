"""Consolidation rendering: documents per second for a realistic ETP to DOCX + PDF, one core, memory.

Ours: tasks.render.files.render_all (python-docx writing the body XML directly; reportlab platypus with a
table of contents and "Página X de Y"; since issue 19 the PDF is also made PDF/A-2b and validated, see
bench_signing.py for that step's share) on a 13-section ETP of ~14 pages with a 25-row price table.
Anchors, same run, same content:
  (a) the usual service path: a plain python-docx document, then LibreOffice headless per document
      (`soffice --headless --convert-to pdf`);
  (b) LibreOffice converting a batch of those documents in one call;
  (c) a straightforward python-docx + reportlab rendering (add_paragraph/add_heading, table.cell(i, j),
      SimpleDocTemplate, no table of contents).
LibreOffice comes from Debian's libreoffice-writer-nogui (installed here if missing). Memory: the
process's peak RSS after 100 and after N documents (flat means no growth). Target: ≥ 15 documents/s,
≥ 20x (a) and ≥ 6x (b). Prints one JSON line.
"""

from __future__ import annotations

import io
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import _harness as h

N = int(os.environ.get("BENCH_N", "1000"))
N_PLAIN, N_SOFFICE, N_BATCH = 50, 8, 20


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ensure_soffice() -> str:
    found = shutil.which("soffice")
    if found:
        return found
    subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "libreoffice-writer-nogui"],
        check=True,
        capture_output=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return shutil.which("soffice")


def plain_docx(document) -> bytes:
    """Anchor (c), DOCX half: python-docx the way most services write it."""
    import docx

    from tasks.render import markup

    out = docx.Document()
    out.add_heading(document.titulo, 0)
    out.add_paragraph(f"{document.orgao} — Processo nº {document.numero_processo}")
    for section in document.sections:
        out.add_heading(f"{section.code} — {section.title}", 1)
        out.add_paragraph(f"Fundamento: {section.legal_basis}").italic = True
        for block in markup.parse(section.content or ""):
            if isinstance(block, markup.Table):
                table = out.add_table(rows=len(block.rows) + 1, cols=len(block.header))
                for j, cell in enumerate(block.header):
                    table.cell(0, j).text = markup.plain(cell)
                for i, row in enumerate(block.rows, start=1):
                    for j, cell in enumerate(row):
                        table.cell(i, j).text = markup.plain(cell)
            elif isinstance(block, (markup.BulletList, markup.NumberedList)):
                style = "List Bullet" if isinstance(block, markup.BulletList) else "List Number"
                for item in block.items:
                    out.add_paragraph(markup.plain(item), style=style)
            else:
                paragraph = out.add_paragraph()
                for run in block.runs:
                    paragraph.add_run(run.text).bold = run.bold
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


def plain_pdf(document) -> bytes:
    """Anchor (c), PDF half: reportlab platypus with the default styles."""
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table

    from tasks.render import markup

    styles = getSampleStyleSheet()
    story = [Paragraph(escape(document.titulo), styles["Title"])]
    for section in document.sections:
        story.append(Paragraph(escape(f"{section.code} — {section.title}"), styles["Heading1"]))
        for block in markup.parse(section.content or ""):
            if isinstance(block, markup.Table):
                story.append(
                    Table(
                        [[markup.plain(c) for c in block.header]]
                        + [[markup.plain(c) for c in row] for row in block.rows]
                    )
                )
            elif isinstance(block, (markup.BulletList, markup.NumberedList)):
                story.extend(Paragraph("• " + escape(markup.plain(item)), styles["BodyText"]) for item in block.items)
            else:
                story.append(Paragraph(escape(markup.plain(block.runs)), styles["BodyText"]))
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4).build(
        story, onLaterPages=lambda c, d: c.drawString(280, 20, f"Página {d.page}")
    )
    return buffer.getvalue()


def per_second(fn, document, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn(document)
    return n / (time.perf_counter() - started)


def main() -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    from _documents import realistic_etp
    from pypdf import PdfReader

    from tasks.render.files import render_all

    document = realistic_etp()
    files = render_all(document)
    pages = len(PdfReader(io.BytesIO(files["pdf"])).pages)
    render_all(document)
    started = time.perf_counter()
    rss_at_100 = None
    for i in range(1, N + 1):
        render_all(document)
        if i == 100:
            rss_at_100 = rss_mb()
    ours = N / (time.perf_counter() - started)
    rss_at_n = rss_mb()

    plain = per_second(lambda d: (plain_docx(d), plain_pdf(d)), document, N_PLAIN)
    soffice = ensure_soffice()
    work = Path(tempfile.mkdtemp(prefix="nexora-lo-"))
    profile = f"-env:UserInstallation=file://{work / 'profile'}"
    subprocess.run(
        [
            soffice,
            profile,
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work / "warm"),
            str(_write(work / "warm.docx", plain_docx(document))),
        ],
        check=True,
        capture_output=True,
    )
    started = time.perf_counter()
    for i in range(N_SOFFICE):
        source = _write(work / f"one-{i}.docx", plain_docx(document))
        subprocess.run(
            [soffice, profile, "--headless", "--convert-to", "pdf", "--outdir", str(work / "one"), str(source)],
            check=True,
            capture_output=True,
        )
    per_doc = N_SOFFICE / (time.perf_counter() - started)
    started = time.perf_counter()
    batch = [_write(work / f"batch-{i}.docx", plain_docx(document)) for i in range(N_BATCH)]
    subprocess.run(
        [soffice, profile, "--headless", "--convert-to", "pdf", "--outdir", str(work / "batch"), *map(str, batch)],
        check=True,
        capture_output=True,
    )
    batched = N_BATCH / (time.perf_counter() - started)
    converted = len(list((work / "batch").glob("*.pdf")))
    shutil.rmtree(work, ignore_errors=True)
    h.emit(
        {
            "bench": "consolidation",
            "unit": "documents/s",
            "ours": round(ours, 1),
            "anchor_name": "python-docx + libreoffice-headless per document",
            "anchor": round(per_doc, 2),
            "ratio": round(ours / per_doc, 1),
            "anchor_batch_per_s": round(batched, 2),
            "ratio_batch": round(ours / batched, 1),
            "anchor_plain_per_s": round(plain, 1),
            "ratio_plain": round(ours / plain, 2),
            "ms_per_document": round(1000 / ours, 1),
            "pdf_pages": pages,
            "docx_bytes": len(files["docx"]),
            "pdf_bytes": len(files["pdf"]),
            "peak_rss_mb_after_100": rss_at_100,
            "peak_rss_mb_after_n": rss_at_n,
            "batch_converted": converted,
            "n": N,
            "cores": 1,
        }
    )


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


if __name__ == "__main__":
    main()
