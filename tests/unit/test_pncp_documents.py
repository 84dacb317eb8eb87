"""Other bodies' ETPs/TRs from PNCP (tasks/pncp/documents.py): which files are taken, their text from real PDF, DOCX
and zip files, the caps against zip bombs, CPFs masked (and what is not a CPF kept), sections and the law's elements."""

import pytest

from core.settings import settings
from tasks.pncp.document_tasks import index_file
from tasks.pncp.documents import (
    CPF_MASK,
    ExtractionError,
    element_key,
    extract,
    kind_by_title,
    mask_cpfs,
    select_files,
    split_sections,
)
from tests.utils import pncp_files as files

pytestmark = pytest.mark.unit


def entry(number, tipo, titulo, **extra):
    return {"sequencialDocumento": number, "tipoDocumentoId": tipo, "titulo": titulo, **extra}


def test_select_files_takes_types_7_and_4_titles_that_name_them_and_editais_to_open():
    listing = [
        entry(1, 7, "Estudo preliminar"),
        entry(2, 4, "TR"),
        entry(3, 2, "Anexo I - Termo de Referência"),
        entry(4, 2, "ETP - aquisição de papel"),
        entry(5, 2, "Edital do pregão"),
        entry(6, 16, "Ata de registro de preços"),
        entry(7, 4, "TR antigo", statusAtivo=False),
        entry("8", 7, "sequencial que não é número"),
        "lixo",
    ]
    chosen = {e["sequencialDocumento"]: e["kind"] for e in select_files(listing)}
    assert chosen == {1: "etp", 2: "tr", 3: "tr", 4: "etp", 5: "zip"}


def test_kind_by_title_reads_words_not_letters_inside_words():
    assert kind_by_title("estudos_tecnicos_preliminares.pdf") == "etp"
    assert kind_by_title("Projeto Básico") == "tr"
    assert kind_by_title("Contrato de manutenção") is None  # "tr" inside "contrato" is not a TR


@pytest.mark.parametrize(
    "text",
    ["CPF 529.982.247-25", "cpf: 52998224725", "CPF 111.222.333-44 (dígitos errados, mas escrito como CPF)"],
)
def test_mask_cpfs_masks_formatted_and_valid_bare_cpfs(text):
    masked, count = mask_cpfs(text)
    assert count == 1 and CPF_MASK in masked and not any(ch.isdigit() for ch in masked.split("(")[0])


@pytest.mark.parametrize(
    "text",
    [
        "matrícula 12345678901",  # 11 digits whose check digits are not a CPF's
        "processo 23000.000123/2026-10",
        "CNPJ 00.394.445/0001-02",
        "CATMAT 150410, 4.000 resmas, R$ 25,90",
    ],
)
def test_mask_cpfs_keeps_what_is_not_a_cpf(text):
    assert mask_cpfs(text) == (text, 0)


def test_pdf_text_is_extracted_and_cut_at_numbered_headings_mapped_to_art_18():
    got = extract(files.pdf())
    sections = split_sections(got.text, "etp")
    assert [s.element for s in sections] == [None, "etp:I", "etp:III", "etp:IV", "etp:V", "etp:XIII"]
    assert sections[1].heading == "1. DESCRIÇÃO DA NECESSIDADE" and "papel sulfite" in sections[1].text


def test_docx_headings_map_to_the_tr_alineas_and_cpfs_are_masked_before_storing():
    outcome, sections = index_file(files.docx(), "tr")
    assert outcome["status"] == "indexed" and outcome["cpfs_masked"] == 1
    assert [s["element"] for s in sections] == [None, "tr:a", "tr:f", "tr:g"]
    body = " ".join(s["text"] for s in sections)
    assert "52998224725" not in body and CPF_MASK in body and "12345678901" in body


def test_an_editais_zip_gives_its_tr_member_and_nothing_else():
    data = files.zipped(
        {
            "Edital.pdf": files.pdf(["EDITAL", "texto do edital"]),
            "anexos/Anexo I - Termo de Referencia.docx": files.docx(),
        }
    )
    outcome, sections = index_file(data, "zip")
    assert outcome["status"] == "indexed" and outcome["tipo"] == "tr"
    assert "texto do edital" not in " ".join(s["text"] for s in sections)
    assert any(s["element"] == "tr:a" for s in sections)


def test_an_edital_that_is_a_pdf_is_not_taken_for_an_etp():
    outcome, sections = index_file(files.pdf(["EDITAL", "1. DO OBJETO", "texto"]), "zip")
    assert outcome["status"] == "no_match" and sections == []


def test_scanned_pages_are_counted_and_a_fully_scanned_file_has_no_text():
    outcome, sections = index_file(files.scanned_pdf(), "etp")
    assert outcome["status"] == "no_text" and outcome["scanned_pages"] == 1 and sections == []


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (files.corrupt_pdf(), "failed"),
        (files.pdf(password="segredo"), "encrypted"),
        (b"<html>erro</html>", "unsupported"),
        (b"PK\x03\x04 not really a zip", "failed"),
    ],
    ids=["corrupt-pdf", "encrypted-pdf", "html", "broken-zip"],  # an encrypted PDF's bytes differ on each run
)
def test_unreadable_files_say_why(data, status):
    with pytest.raises(ExtractionError) as caught:
        extract(data, kind="etp")
    assert caught.value.status == status and caught.value.reason


def test_zip_caps_on_member_count_and_uncompressed_size(monkeypatch):
    many = files.zipped({f"TR {n}.pdf": b"%PDF" for n in range(5)})
    monkeypatch.setattr(settings, "PNCP_ZIP_MAX_MEMBERS", 4)
    with pytest.raises(ExtractionError, match="5 arquivos") as caught:
        extract(many, kind="tr")
    assert caught.value.status == "too_big"
    bomb = files.zipped({"Termo de Referencia.pdf": b"%PDF" + b"0" * 200_000})  # compresses to almost nothing
    monkeypatch.setattr(settings, "PNCP_ZIP_MAX_MEMBERS", 200)
    monkeypatch.setattr(settings, "PNCP_ZIP_MAX_UNCOMPRESSED_BYTES", 100_000)
    assert len(bomb) < 2_000
    with pytest.raises(ExtractionError, match="descompactado") as caught:
        extract(bomb, kind="tr")
    assert caught.value.status == "too_big"


def test_a_text_without_headings_is_one_section():
    sections = split_sections("Texto corrido sem títulos.\nOutra linha.", "etp")
    assert len(sections) == 1 and sections[0].heading == "" and sections[0].element is None


def test_clauses_and_quantities_are_not_headings():
    text = "1. OBJETO\n1.1 O objeto é a aquisição.\n10 unidades de caneta azul\n2. JUSTIFICATIVA\ntexto"
    assert [s.heading for s in split_sections(text, "tr")] == ["1. OBJETO", "2. JUSTIFICATIVA"]


@pytest.mark.parametrize(
    ("kind", "heading", "key"),
    [
        ("etp", "DESCRIÇÃO DA SOLUÇÃO COMO UM TODO", "etp:VII"),
        ("etp", "Descrição da necessidade da contratação", "etp:I"),
        ("etp", "JUSTIFICATIVA PARA O PARCELAMENTO OU NÃO DA SOLUÇÃO", "etp:VIII"),
        ("etp", "Estimativa do valor da contratação", "etp:VI"),
        ("tr", "MODELO DE EXECUÇÃO DO OBJETO", "tr:e"),
        ("tr", "Adequação orçamentária", "tr:j"),
        ("tr", "DAS DISPOSIÇÕES GERAIS", None),
    ],
)
def test_element_key_maps_headings_to_the_law(kind, heading, key):
    assert element_key(kind, heading) == key


def test_an_encrypted_zip_member_is_skipped_and_the_readable_one_kept():
    import io
    import struct
    import zipfile

    raw = bytearray(files.zipped({"Termo de Referencia.docx": files.docx(), "Anexo ETP.pdf": files.pdf()}))
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as archive:
        local = archive.getinfo("Anexo ETP.pdf").header_offset
    central = [i for i in range(len(raw)) if raw[i : i + 4] == b"PK\x01\x02"][1]  # the second entry: the PDF
    for offset in (local + 6, central + 8):  # the "encrypted" bit of the general purpose flags, in both headers
        (flags,) = struct.unpack_from("<H", raw, offset)
        struct.pack_into("<H", raw, offset, flags | 0x1)
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as archive, pytest.raises(RuntimeError, match="encrypted"):
        archive.read("Anexo ETP.pdf")  # what the extraction meets
    got = extract(bytes(raw), kind="zip")
    assert got.members == ["Termo de Referencia.docx"] and "cadeiras ergonômicas" in got.text
