"""The DOCX as LibreOffice reads it: the table of contents lists every heading before any update and, once updated,
the page of each; the mapa de preços is a table. Needs LibreOffice (`make office`, which `make test` runs)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from tasks.prices import tables
from tasks.render.docx import render_docx
from tasks.render.model import contents
from tests.unit.test_mapa_document import control, mapa_document
from tests.unit.test_render import in_order, squash

SCRIPT = Path(__file__).resolve().parents[1] / "utils" / "office_convert.py"
SYSTEM_PYTHON = "/usr/bin/python3"


def _office_missing() -> str | None:
    if shutil.which("soffice") is None:
        return "LibreOffice ausente (soffice): instale com `make office`"
    if subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True).returncode:
        return "ponte UNO do LibreOffice ausente (python3-uno): instale com `make office`"
    return None


@pytest.fixture(scope="module")
def document():
    return mapa_document()


@pytest.fixture(scope="module")
def converted(tmp_path_factory, document):
    missing = _office_missing()
    if missing:
        pytest.skip(missing)
    folder = tmp_path_factory.mktemp("office")
    source = folder / "etp.docx"
    source.write_bytes(render_docx(document))
    run = subprocess.run(
        [SYSTEM_PYTHON, str(SCRIPT), str(source), str(folder / "aberto.pdf"), str(folder / "atualizado.pdf")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0 and run.stdout.strip() == "1", run.stderr  # one index: the table of contents
    return [
        [squash(page.extract_text() or "") for page in PdfReader(io.BytesIO((folder / name).read_bytes())).pages]
        for name in ("aberto.pdf", "atualizado.pdf")
    ]


def test_libreoffice_shows_the_contents_before_any_update(converted, document):
    pages = converted[0]
    assert "Modelo" not in pages[0] and "Página" not in pages[0]  # the cover: no template line, no header/footer
    assert pages[1].startswith("Ministério") and "Sumário" in pages[1]
    assert in_order(pages[1], [entry.text for entry in contents(document)])


def test_libreoffice_updates_the_contents_with_the_page_of_each_heading(converted, document):
    pages = converted[1]
    toc = pages[1]
    for entry in contents(document):
        found = re.search(re.escape(entry.text) + r"\s*\.*\s*(\d+)", toc)
        assert found, entry.text
        assert entry.text in pages[int(found.group(1)) - 1], (entry.text, found.group(1))


def test_libreoffice_prints_the_mapa_as_a_table(converted):
    text = squash(" ".join(converted[1][2:]).replace("\u00a0", " "))
    assert in_order(
        text,
        [
            *tables.PRICE_HEADER,
            control(2),
            "27/08/2021",
            "R$ 3.880,00",
            "mantido",
            control(6),
            "excluído: acima do limite superior",
            "Média",
            "R$ 4.314,95",
        ],
    )
