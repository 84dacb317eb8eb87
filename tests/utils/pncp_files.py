"""Real files of the kinds PNCP serves, built for the tests: a PDF with numbered headings (reportlab), an image-only
(scanned) PDF page, a DOCX with headings (python-docx), a zip holding a TR, a corrupt PDF, a password-protected PDF."""

from __future__ import annotations

import io
import zipfile

ETP_LINES = [
    "ESTUDO TÉCNICO PRELIMINAR",
    "Processo nº 23000.000123/2026-10",
    "1. DESCRIÇÃO DA NECESSIDADE",
    "A Universidade necessita de papel sulfite A4 para as rotinas administrativas dos campi.",
    "Responsável: João da Silva, CPF 529.982.247-25.",
    "2. REQUISITOS DA CONTRATAÇÃO",
    "O papel deve ter gramatura de 75 g/m² e certificação ambiental FSC.",
    "3. ESTIMATIVA DAS QUANTIDADES",
    "Foram estimadas 4.000 resmas com base no consumo dos últimos dois exercícios.",
    "4. LEVANTAMENTO DE MERCADO",
    "Foram comparadas a compra direta e a adesão a ata de registro de preços.",
    "5. POSICIONAMENTO CONCLUSIVO",
    "A contratação é viável e adequada ao atendimento da necessidade.",
]
TR_PARAGRAPHS = [
    ("TERMO DE REFERÊNCIA", False),
    ("1. DEFINIÇÃO DO OBJETO", True),
    ("Aquisição de cadeiras ergonômicas giratórias para as salas de atendimento ao público.", False),
    ("Fiscal indicado, CPF 52998224725, matrícula 12345678901.", False),
    ("2. MODELO DE GESTÃO DO CONTRATO", True),
    ("A execução será acompanhada por fiscal técnico e fiscal administrativo designados.", False),
    ("3. CRITÉRIOS DE MEDIÇÃO E DE PAGAMENTO", True),
    ("O pagamento será efetuado em até 30 dias após o recebimento definitivo.", False),
]


def pdf(lines: list[str] = ETP_LINES, *, password: str | None = None) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, encrypt=password)
    y = 800
    for line in lines:
        page.drawString(50, y, line)
        y -= 18
    page.showPage()
    page.save()
    return out.getvalue()


def scanned_pdf() -> bytes:
    """One page that is only an image (what a scanner produces): no text to extract."""
    from PIL import Image
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    picture = io.BytesIO()
    Image.new("L", (200, 100), color=200).save(picture, format="PNG")
    picture.seek(0)
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.drawImage(ImageReader(picture), 50, 500, width=400, height=200)
    page.showPage()
    page.save()
    return out.getvalue()


def docx(paragraphs: list[tuple[str, bool]] = TR_PARAGRAPHS) -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    for text, heading in paragraphs:
        if heading:
            document.add_heading(text, level=1)
        else:
            document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def corrupt_pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer garbage \x00\x01\x02"
