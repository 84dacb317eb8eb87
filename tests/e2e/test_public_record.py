"""The issue's whole path through the API, as an app drives it: an approved ETP is consolidated as PDF/A-2b, signed by
each person it names and then its authority (PAdES, PKCS#12 held by the platform), and published on PNCP's training
API shape exactly once, however often the publication is retried — the file PNCP holds is the signed one, and every
signature in it validates."""

from __future__ import annotations

import io
import random

import pikepdf
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature

from tasks.render.pdfa import validate as validate_pdfa
from tasks.sign.pades import validation_context
from tests.utils.builders import actor, approve_document, make_document
from tests.utils.pki import asn1

pytestmark = pytest.mark.usefixtures("runner")
CNPJ = "00394445000101"
ITEM = {"descricao": "Cadeira giratória com braços", "unidade": "UNIDADE", "quantidade": 40, "material_ou_servico": "M"}


def test_an_approved_etp_becomes_pdfa_is_signed_by_its_people_and_published_once(
    client, sqlite_url, signing_pki, pncp_publisher
):
    doc = make_document(sqlite_url, "ETP", itens=[ITEM])
    approve_document(sqlite_url, doc)
    done = client.post(f"/api/v1/documents/{doc}/consolidate", params={"wait": 120})
    assert done.json()["state"] == "COMPLETED", done.text
    consolidated = {a["format"]: a for a in client.get(f"/api/v1/documents/{doc}/artifacts").json()}
    assert consolidated["pdf"]["conformance"] == "PDF/A-2b"
    original = client.get(consolidated["pdf"]["download_url"], follow_redirects=True).content
    assert validate_pdfa(original).passed

    order = client.get(f"/api/v1/documents/{doc}/signatures").json()["ordem"]
    assert order[-1]["role"] == "autoridade_competente" and len(order) >= 2  # its people, then its authority
    while expected := client.get(f"/api/v1/documents/{doc}/signatures").json()["esperado"]:
        started = client.post(f"/api/v1/documents/{doc}/signatures", json={}, headers=actor(expected["person"]))
        assert started.status_code == 202, started.text
        run = client.get(started.json()["status_url"], params={"wait": 120}).json()
        assert run["state"] == "COMPLETED", run
    assert client.get(f"/api/v1/documents/{doc}").json()["status"] == "assinado"
    signed = client.get(f"/api/v1/documents/{doc}/signatures").json()["documento_assinado"]
    assert signed["signatures"] == len(order) and signed["signers"] == [p["person"] for p in order]

    body = {"cnpj": CNPJ, "ano": 2026, "sequencial": random.randint(1, 9_000_000)}
    pncp_publisher.add_compra(CNPJ, 2026, body["sequencial"])
    pncp_publisher.fail("upload", status=500, times=2)  # a burst of 500s, then the answer to the file is lost
    pncp_publisher.lose("upload", times=1)
    first = client.post(f"/api/v1/documents/{doc}/publish", json=body, params={"wait": 180})
    assert first.json()["state"] == "COMPLETED", first.text
    again = client.post(f"/api/v1/documents/{doc}/publish", json=body, params={"wait": 180})
    assert again.json()["state"] == "COMPLETED", again.text  # a rerun: nothing sent twice

    files = pncp_publisher.active(CNPJ, 2026, body["sequencial"])
    etp = [f for f in files if f["tipoDocumentoId"] == 7]
    assert len(etp) == 1 and sorted(f["tipoDocumentoId"] for f in files) == [7, 16]
    assert etp[0]["sha256"] == signed["sha256"]  # PNCP holds the signed PDF, not the unsigned one
    assert client.get(f"/api/v1/documents/{doc}").json()["status"] == "publicado"

    held = etp[0]["data"]
    assert held.startswith(original)  # incremental: the PDF/A file, byte for byte, then the signatures
    reader = PdfFileReader(io.BytesIO(held))
    context = validation_context([asn1(signing_pki.ca.cert)])
    statuses = [validate_pdf_signature(s, context) for s in reader.embedded_signatures]
    assert len(statuses) == len(order)
    assert all(s.intact and s.valid and s.trusted for s in statuses)
    with pikepdf.open(io.BytesIO(held)) as opened:  # a visible block per signer, all on the last page
        last = opened.pages[-1].obj
        widgets = [a for a in last.get("/Annots", []) if a.get("/FT") == "/Sig"]
        assert len(widgets) == len(order)
