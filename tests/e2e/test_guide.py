"""docs/guia.md works as written: its bash blocks, run in order against the running platform, go from an API key to
a downloaded PDF and a price estimate, and its error examples answer in Portuguese."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("runner")
GUIDE = ROOT / "docs" / "guia.md"
OUT = ROOT / "var" / "guia"


def guide_script() -> str:
    blocks = re.findall(r"```bash\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 8, "the guide's steps are its ```bash blocks"
    return "set -euo pipefail\n" + "\n".join(blocks)


def test_the_guide_goes_from_a_key_to_a_pdf_and_an_estimate(api_url):
    shutil.rmtree(OUT, ignore_errors=True)
    done = subprocess.run(
        ["bash", "-c", guide_script()],
        cwd=ROOT,
        env={**os.environ, "API": api_url},
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    print(output)  # shown with -s, and in the report when an assertion fails
    assert done.returncode == 0, output[-4000:]
    # the health check, the drafting and the consolidation runs, the approval
    assert '"status": "ok"' in output and "ETP " in output
    assert output.count("COMPLETED") >= 2 and "aprovado" in output
    # the PDF downloaded
    assert (OUT / "etp.pdf").read_bytes()[:5] == b"%PDF-" and "PDF document" in output
    assert (OUT / "pesquisa.pdf").read_bytes()[:5] == b"%PDF-"  # the Relatório de Pesquisa de Preços
    # the estimate says whether it can be relied on, and why not when it cannot
    estimate = json.loads((OUT / "estimativa.json").read_text(encoding="utf-8"))
    assert isinstance(estimate["confiavel"], bool) and (estimate["confiavel"] or estimate["motivo"])
    # the error examples, in Portuguese, with the format and what was wrong
    assert "data: data inválida: use o formato AAAA-MM-DD" in output
    assert "malformado" in output
