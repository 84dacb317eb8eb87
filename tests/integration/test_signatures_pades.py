"""PAdES with pyHanko on a CA and certificates made by the test: incremental signatures by each named person (PKCS#12
and an external CMS), validated by pyHanko's validator; B-T with a time-stamp authority; refusals."""

import asyncio
from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from reportlab.pdfgen import canvas

from models.signing_rules import signature_box
from tasks.sign import pades
from tests.utils.pki import PASSWORD, asn1, make_pki

PEOPLE = {"1234567": "Ana Planejadora", "7654321": "Bruno Revisor", "autoridade.mgi": "Carla Secretária"}
SLOTS = [
    pades.Slot(1, "Ana Planejadora", "1234567", "Elaboração"),
    pades.Slot(2, "Bruno Revisor", "7654321", "Elaboração"),
    pades.Slot(3, "Carla Secretária", "autoridade.mgi", "Aprovação"),
]
HEADING = "ETP 23000.000001/2026-01 - Aquisição de notebooks (versão 1)"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"), PEOPLE)


@pytest.fixture(scope="module")
def consolidated() -> bytes:
    buffer = BytesIO()
    page = canvas.Canvas(buffer)
    for n in (1, 2):
        page.drawString(72, 760, f"Estudo Técnico Preliminar - página {n}")
        page.showPage()
    page.save()
    return buffer.getvalue()


def p12(pki, identifier):
    return signers.SimpleSigner.load_pkcs12(str(pki.folder / f"{identifier}.p12"), passphrase=PASSWORD.encode())


def external_cms(pki, identifier, digest_hex: str) -> bytes:
    """What a token or the gov.br service returns: a detached CMS over the digest, made here with the person's key."""
    signed = asyncio.run(p12(pki, identifier).async_sign(bytes.fromhex(digest_hex), "sha256", use_pades=True))
    return signed.dump()


def signature_widgets(pdf: bytes) -> dict[str, tuple[float, ...]]:
    reader = PdfFileReader(BytesIO(pdf))
    last = reader.root["/Pages"]["/Kids"][-1].get_object()
    widgets = {}
    for annot in last.get("/Annots", []):
        annot = annot.get_object()
        if annot.get("/FT") == "/Sig" or annot.get("/Parent", {}).get("/FT") == "/Sig":
            widgets[str(annot["/T"])] = tuple(float(v) for v in annot["/Rect"])
    return widgets


def test_each_named_person_signs_in_turn_and_every_signature_validates(pki, consolidated):
    roots = [asn1(pki.ca.cert)]
    pdf = pades.sign(consolidated, p12(pki, "1234567"), SLOTS[0], SLOTS, HEADING)
    assert pades.check_applied(pdf, 1, roots)["level"] == "B-B"
    pdf = pades.sign(pdf, p12(pki, "7654321"), SLOTS[1], SLOTS, HEADING)
    pades.check_applied(pdf, 2, roots)

    prepared = pades.prepare_external(pdf, asn1(pki.people["autoridade.mgi"].cert), SLOTS[2], SLOTS, HEADING)
    assert len(prepared.digest_hex) == 64
    pdf = pades.finish_external(prepared, external_cms(pki, "autoridade.mgi", prepared.digest_hex))
    applied = pades.check_applied(pdf, 3, roots)
    assert applied["all"] == 3 and "Carla Secretária" in applied["signer"]

    summaries = pades.validate(pdf, roots)
    assert [s["field"] for s in summaries] == ["Assinatura-1", "Assinatura-2", "Assinatura-3"]
    assert all(s["intact"] and s["valid"] and s["trusted"] and s["bottom_line"] for s in summaries)
    assert [s["signer"].split("Common Name: ")[1].split(":")[0] for s in summaries] == list(PEOPLE.values())
    # the signature page was added before the first signature: three pages, a box per signer, where the rule says
    assert len(PdfFileReader(BytesIO(pdf)).root["/Pages"]["/Kids"]) == 3
    widgets = signature_widgets(pdf)
    assert widgets == {f"Assinatura-{i + 1}": tuple(map(float, signature_box(i, 3))) for i in range(3)}


def test_a_time_stamp_server_makes_it_b_t(pki, consolidated, monkeypatch):
    from core.settings import settings
    from tasks.sign.signers import timestamper
    from tests.servers.tsa import tsa_server

    monkeypatch.setattr(settings, "SIGNING_TIMESTAMP_URL", None)
    assert timestamper() is None  # none configured: B-B
    with tsa_server(pki) as (url, answered):
        monkeypatch.setattr(settings, "SIGNING_TIMESTAMP_URL", url)
        pdf = pades.sign(consolidated, p12(pki, "1234567"), SLOTS[0], SLOTS, HEADING, timestamper=timestamper())
    assert len(answered) >= 1  # over HTTP, RFC 3161
    applied = pades.check_applied(pdf, 1, [asn1(pki.ca.cert)])
    assert applied["level"] == "B-T" and applied["timestamp"]


def test_an_external_cms_gets_its_signature_time_stamp_from_the_server(pki, consolidated, monkeypatch):
    from core.settings import settings
    from tasks.sign.signers import timestamper
    from tests.servers.tsa import tsa_server

    prepared = pades.prepare_external(consolidated, asn1(pki.people["1234567"].cert), SLOTS[0], SLOTS, HEADING)
    with tsa_server(pki) as (url, answered):
        monkeypatch.setattr(settings, "SIGNING_TIMESTAMP_URL", url)
        pdf = pades.finish_external(prepared, external_cms(pki, "1234567", prepared.digest_hex), timestamper())
    assert len(answered) == 1
    applied = pades.check_applied(pdf, 1, [asn1(pki.ca.cert)])
    assert applied["level"] == "B-T" and applied["intact"] and applied["valid"] and applied["trusted"]


def test_a_cms_over_another_digest_is_refused(pki, consolidated):
    prepared = pades.prepare_external(consolidated, asn1(pki.people["1234567"].cert), SLOTS[0], SLOTS, HEADING)
    wrong = external_cms(pki, "1234567", "00" * 32)
    pdf = pades.finish_external(prepared, wrong)
    with pytest.raises(pades.SignatureInvalid, match="não valida"):
        pades.check_applied(pdf, 1, [asn1(pki.ca.cert)])
    with pytest.raises(pades.SignatureInvalid, match="não é uma estrutura CMS"):
        pades.finish_external(prepared, b"not a cms")


def test_a_certificate_of_another_ca_is_valid_but_not_trusted(pki, consolidated, tmp_path):
    other = make_pki(tmp_path / "other", {"1234567": "Ana Planejadora"})
    signer = signers.SimpleSigner.load_pkcs12(str(other.folder / "1234567.p12"), passphrase=PASSWORD.encode())
    pdf = pades.sign(consolidated, signer, SLOTS[0], SLOTS, HEADING)
    applied = pades.check_applied(pdf, 1, [asn1(pki.ca.cert)])
    assert applied["intact"] and applied["valid"] and not applied["trusted"]
