"""PDF/A-2b: every PDF the renderer writes passes pikepdf's validator, repeatably; a PDF that does not is refused with
the validator's reason."""

import datetime
import io

import pikepdf
import pytest
from reportlab.pdfgen.canvas import Canvas

from bench._documents import realistic_etp
from tasks.render.files import render_all
from tasks.render.model import Person, Responsibles
from tasks.render.pdfa import CONFORMANCE, PdfaInvalid, to_pdfa, validate
from tests.unit.test_render import etp_document

pytestmark = pytest.mark.unit
WHEN = datetime.datetime(2026, 11, 27, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    "document",
    [
        realistic_etp(),
        etp_document(kind="TR", marking="Anexo classificado — orçamento estimado sigiloso"),
        etp_document(
            responsibles=Responsibles(
                prepared_by=(Person("Ana Souza", "1234567"),), approved_by=Person("Carlos Lima", "7654321")
            ),
            signature_page=True,
        ),
    ],
    ids=["16-page-etp", "tr-marked", "with-signature-page"],
)
def test_the_rendered_pdf_is_pdfa_2b_and_repeatable(document):
    pdf = render_all(document)["pdf"]
    report = validate(pdf)
    assert report.passed, list(report.findings)
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        meta = opened.open_metadata()
        assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"
        assert meta["xmp:MetadataDate"].startswith(document.issued_on.isoformat())
        assert "/OutputIntents" in opened.Root
        assert all("/Trans" not in page.obj for page in opened.pages)
    assert render_all(document)["pdf"] == pdf  # content-addressed reruns find the same object
    assert CONFORMANCE == "PDF/A-2b"


def plain_canvas_pdf() -> bytes:
    """What reportlab writes by default: the text in Helvetica, a font the file does not embed."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, invariant=1)
    canvas.drawString(72, 720, "Estudo Técnico Preliminar")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def test_a_pdf_with_a_font_not_embedded_is_refused_with_the_validators_reason():
    with pytest.raises(PdfaInvalid) as refused:
        to_pdfa(plain_canvas_pdf(), WHEN)
    message = str(refused.value)
    assert "não passou na validação PDF/A-2b" in message and "ISO_19005_2:6.2.11.4.1" in message
    assert "not embedded" in message


def test_a_file_that_is_not_pdfa_does_not_validate():
    assert validate(plain_canvas_pdf()).passed is False


def test_the_signature_page_closes_the_document_with_a_box_per_named_person_in_order():
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pypdf import PdfReader

    from models.signing_rules import signature_box
    from tasks.sign.pades import has_signature_page

    people = Responsibles(
        prepared_by=(Person("Ana Souza", "1234567"), Person("Bruno Dias", "2345678")),
        approved_by=Person("Carlos Lima", "7654321"),
    )
    pdf = render_all(etp_document(responsibles=people, signature_page=True))["pdf"]
    last = " ".join(PdfReader(io.BytesIO(pdf)).pages[-1].extract_text().split())
    order = ["1. Ana Souza (matrícula 1234567) — Elaboração", "2. Bruno Dias (matrícula 2345678) — Elaboração"]
    order.append("3. Carlos Lima (matrícula 7654321) — Aprovação")
    positions = [last.index(caption) for caption in ["Assinaturas eletrônicas", *order]]
    assert positions == sorted(positions)
    assert has_signature_page(PdfFileReader(io.BytesIO(pdf)))  # the signer finds it: no page of its own
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        drawn = opened.pages[-1].Contents.read_bytes().decode("latin-1")
    for index in range(3):  # each box where signature_box puts the signature's widget
        x1, y1, x2, y2 = signature_box(index, 3)
        assert f"{x1} {y1} {x2 - x1} {y2 - y1} re" in drawn
    without = render_all(etp_document(responsibles=people))["pdf"]
    assert not has_signature_page(PdfFileReader(io.BytesIO(without)))
