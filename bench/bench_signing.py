"""Consolidation with PDF/A-2b and one PAdES signature of the 16-page ETP: documents per second on one core, and the
share of each step, against today's consolidation (DOCX + PDF as it was before PDF/A) in the same run.

Ours, per document: tasks.render.files' steps one by one — render_docx, render_pdf, to_pdfa's two halves timed
apart (tasks.render.pdfa.write: pikepdf.pdfa prepare + save; tasks.render.pdfa.validate: the written bytes) — then
one PKCS#12 signature (tasks.sign.pades.sign with tasks.sign.signers.KeyOnceSigner) and its validation
(tasks.sign.pades.validate: every signature, trusted roots), as sign-document does. The document is realistic_etp
with three named people (the "Assinaturas eletrônicas" page); the certificate comes from a CA the run makes
(tests/utils/pki.py), never from a committed key.
Anchor, same run, same document: render_docx + render_pdf, which is what a consolidation wrote before this issue.
Targets: PDF/A costs under 30% more than the anchor; signing under 100 ms a signature. Prints one JSON line.
"""

from __future__ import annotations

import dataclasses
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

import _harness as h

N = int(os.environ.get("BENCH_N", "40"))


def main() -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    from pyhanko.sign import signers
    from pypdf import PdfReader

    from bench._documents import realistic_etp
    from tasks.render.docx import render_docx
    from tasks.render.model import Person, Responsibles, issued_at
    from tasks.render.pdf import render_pdf
    from tasks.render.pdfa import to_pdfa, validate, write
    from tasks.sign import pades
    from tasks.sign.signers import KeyOnceSigner
    from tests.utils.pki import PASSWORD, asn1, make_pki

    people = {"1234567": "Ana Souza", "2345678": "Bruno Dias", "7654321": "Carlos Lima"}
    who = Responsibles(
        prepared_by=(Person("Ana Souza", "1234567"), Person("Bruno Dias", "2345678")),
        approved_by=Person("Carlos Lima", "7654321"),
    )
    document = dataclasses.replace(realistic_etp(), responsibles=who, signature_page=True)
    pki = make_pki(Path(tempfile.mkdtemp(prefix="nexora-bench-pki-")), people)
    signer = KeyOnceSigner(
        signers.SimpleSigner.load_pkcs12(str(pki.folder / "1234567.p12"), passphrase=PASSWORD.encode())
    )
    roots = [asn1(pki.ca.cert)]
    slots = [pades.Slot(1, "Ana Souza", "1234567", "Elaboração"), pades.Slot(2, "Bruno Dias", "2345678", "Elaboração")]
    slots.append(pades.Slot(3, "Carlos Lima", "7654321", "Aprovação"))
    when = issued_at(document)

    steps: dict[str, list[float]] = {
        k: [] for k in ("docx", "pdf", "pdfa_write", "pdfa_validate", "sign", "validate_signature")
    }
    anchor: list[float] = []

    def timed(name: str, call, *args):
        start = time.perf_counter()
        result = call(*args)
        steps[name].append(time.perf_counter() - start)
        return result

    # warm-up: fonts registered, modules imported
    pades.validate(pades.sign(to_pdfa(render_pdf(document), when), signer, slots[0], slots, "ETP"), roots)
    for _ in range(N):  # the anchor and ours alternate, so both see the same machine
        start = time.perf_counter()
        render_docx(document)
        render_pdf(document)
        anchor.append(time.perf_counter() - start)
        timed("docx", render_docx, document)
        pdf = timed("pdf", render_pdf, document)
        archival = timed("pdfa_write", write, pdf, when)  # to_pdfa's two halves, timed apart
        assert timed("pdfa_validate", validate, archival).passed
        signed = timed("sign", pades.sign, archival, signer, slots[0], slots, "ETP 23000.012345/2026-41")
        checked = timed("validate_signature", pades.validate, signed, roots)
    assert all(s["intact"] and s["valid"] and s["trusted"] for s in checked), checked
    per_doc = {name: statistics.fmean(values) for name, values in steps.items()}
    ours = sum(per_doc.values())
    today = statistics.fmean(anchor)
    pdfa = per_doc["pdfa_write"] + per_doc["pdfa_validate"]
    h.emit(
        {
            "bench": "pdfa_signing",
            "ours": round(1 / ours, 2),
            "anchor_name": "consolidation before this issue (render_docx + render_pdf)",
            "anchor": round(1 / today, 2),
            "ratio": round(today / ours, 3),
            "pdfa_extra_pct": round(pdfa / today * 100, 1),
            "pdfa_write_extra_pct": round(per_doc["pdfa_write"] / today * 100, 1),
            "sign_ms_p50": round(statistics.median(steps["sign"]) * 1000, 1),
            "sign_ms_max": round(max(steps["sign"]) * 1000, 1),
            "validate_signature_ms_p50": round(statistics.median(steps["validate_signature"]) * 1000, 1),
            "share": {name: round(value / ours, 3) for name, value in per_doc.items()},
            "ms": {name: round(value * 1000, 1) for name, value in per_doc.items()},
            "pdf_pages": len(PdfReader(io.BytesIO(archival)).pages),
            "n": N,
            "cores": 1,
        }
    )


if __name__ == "__main__":
    main()
