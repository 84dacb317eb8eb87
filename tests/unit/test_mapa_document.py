"""The mapa de preços of element VI reaches the PDF and the DOCX as tables: every price from the lowest corrected value
up with its source, date, unit, original and corrected value and whether it was kept (or removed, and why); then the
result (média, mediana, menor valor) and the quadro-resumo; numbers and dates as read in Brazil, links cut to fit."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from datetime import date

import docx
import pytest
from pypdf import PdfReader

from tasks.prices import tables
from tasks.prices.research import Observation, research
from tasks.render import markup
from tasks.render.docx import render_docx
from tasks.render.pdf import _pieces, render_pdf
from tasks.render.pdf_base import CELL_SIZE, register_fonts
from tests.unit.test_render import etp_document, in_order, squash

REF = date(2022, 6, 30)
ITEM = {
    "descricao": "NOTEBOOK, TELA SUPERIOR A 14 POLEGADAS",
    "codigo_catalogo": "456702",
    "unidade": "UNIDADE",
    "quantidade": 52,
}
LINK = "https://pncp.gov.br/app/editais/00394460000141/2022/{n}/itens/{n}/resultados/historico/arquivos/1"
# (control number suffix, price, unit, day): a box of two, and one price far above the others (removed)
PRICES = (
    (1, 4100.0, "UNIDADE", date(2022, 3, 15)),
    (2, 3880.0, "Unidade", date(2021, 8, 27)),
    (3, 4174.67, "UN", date(2021, 9, 8)),
    (4, 9000.0, "CX C/ 2 UN", date(2022, 1, 25)),
    (5, 4920.07, "UNIDADE", date(2022, 6, 10)),
    (6, 33500.0, "UNIDADE", date(2021, 7, 22)),
)


def control(n: int) -> str:
    return f"00394460000141-1-{n:06d}/2022"


def mapa_block() -> str:
    """Element VI's market data for ITEM and PRICES, as drafting appends it."""
    observations = [
        Observation(
            price=price,
            unit=unit,
            date=day,
            numero_controle_pncp=control(n),
            numero_item=n,
            link=LINK.format(n=n),
            catalogue_code="456702",
            uf="MG",
        )
        for n, price, unit, day in PRICES
    ]
    result = research(observations, reference_date=REF, catalogue_code="456702", unit="UNIDADE")
    return tables.price_block([tables.ItemResearch(ITEM, result, estimate="Estimativa do modelo: R$ 4.000,00.")])


def mapa_document():
    """The test ETP whose element VI holds the writer's text and the mapa."""
    sections = list(etp_document().sections)
    sections[5] = dataclasses.replace(sections[5], content="O valor foi estimado pela mediana.\n\n" + mapa_block())
    return etp_document(sections=tuple(sections))


@pytest.fixture(scope="module")
def block() -> str:
    return mapa_block()


@pytest.fixture(scope="module")
def document():
    return mapa_document()


def test_the_block_is_a_summary_then_the_mapa_as_tables(block):
    blocks = markup.parse(block)
    found = [tuple(markup.plain(cell) for cell in b.header) for b in blocks if isinstance(b, markup.Table)]
    assert found == [tables.SUMMARY_HEADER, tables.PRICE_HEADER, ("Resultado (por UNIDADE)", "Valor")]
    headings = [(b.level, markup.plain(b.runs)) for b in blocks if isinstance(b, markup.Heading)]
    assert headings == [
        (1, "Quadro-resumo da estimativa"),
        (1, "Mapa de preços (IN SEGES/ME nº 65/2021)"),
        (2, "Item 1 — NOTEBOOK, TELA SUPERIOR A 14 POLEGADAS (CATMAT/CATSER 456702)"),
    ]
    prices = next(b for b in blocks if isinstance(b, markup.Table) and b.header[0][0].text.startswith("Fonte"))
    assert prices.aligns == ("left", "center", "left", "right", "right", "left")
    # the box of two: R$ 9.000,00 per "CX C/ 2 UN" is R$ 4.500,00 per unit
    box = [[markup.plain(cell) for cell in row] for row in prices.rows if control(4) in markup.plain(row[0])][0]
    assert box[1:5] == ["25/01/2022", "CX C/ 2 UN", "R$\u00a09.000,00", "R$\u00a04.500,00"]


def test_pdf_shows_the_mapa_rows_in_order_and_the_result(document):
    pages = [squash(page.extract_text() or "") for page in PdfReader(io.BytesIO(render_pdf(document))).pages]
    text = squash(" ".join(pages[2:]).replace("\u00a0", " "))
    # kept prices from the lowest corrected value up, the removed one last with its reason; each row's cells in order
    rows = [
        (control(2), "27/08/2021", "Unidade", "R$ 3.880,00", "R$ 3.880,00", "mantido"),
        (control(1), "15/03/2022", "UNIDADE", "R$ 4.100,00", "R$ 4.100,00", "mantido"),
        (control(3), "08/09/2021", "UN", "R$ 4.174,67", "R$ 4.174,67", "mantido"),
        (control(4), "25/01/2022", "CX C/ 2 UN", "R$ 9.000,00", "R$ 4.500,00", "mantido"),
        (control(5), "10/06/2022", "UNIDADE", "R$ 4.920,07", "R$ 4.920,07", "mantido"),
        (control(6), "22/07/2021", "UNIDADE", "R$ 33.500,00", "R$ 33.500,00", "excluído: acima do limite superior"),
    ]
    assert in_order(
        text,
        [
            "Quadro-resumo da estimativa",
            "NOTEBOOK",
            "52",
            "R$ 4.174,67",
            "R$ 217.082,84",
            "Mapa de preços",
            "Fonte (nº de controle PNCP",
            "Situação",
            *[cell for row in rows for cell in row],
            "Preços válidos",
            "5 de 6",
            "Média",
            "R$ 4.314,95",
            "Mediana (preço de referência)",
            "R$ 4.174,67",
            "Menor valor",
            "R$ 3.880,00",
            "Valor do item: 52 × mediana",
            "R$ 217.082,84",
            "Estimativa do modelo",
        ],
    )
    # the links are printed whole (cut in pieces inside the cell, never left out)
    compact = text.replace(" ", "")
    assert all(LINK.format(n=n) in compact for n, *_ in PRICES)


def test_docx_holds_the_mapa_as_tables_with_left_aligned_cells(document):
    data = render_docx(document)
    opened = docx.Document(io.BytesIO(data))
    by_header = {tuple(cell.text for cell in table.rows[0].cells): table for table in opened.tables}
    assert tables.PRICE_HEADER in by_header and tables.SUMMARY_HEADER in by_header
    mapa = [[cell.text for cell in row.cells] for row in by_header[tables.PRICE_HEADER].rows[1:]]
    assert [row[0].split(",")[0] for row in mapa] == [control(n) for n in (2, 1, 3, 4, 5, 6)]
    assert mapa[3][1:5] == ["25/01/2022", "CX C/ 2 UN", "R$\u00a09.000,00", "R$\u00a04.500,00"]
    assert mapa[-1][5] == "excluído: acima do limite superior (Q3 + 1,5·IQR\u00a0= R$\u00a05.859,63)"
    result = [[cell.text for cell in row.cells] for row in opened.tables[-1].rows]
    assert result[0] == ["Resultado (por UNIDADE)", "Valor"] and ["Média", "R$\u00a04.314,95"] in result
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        body = package.read("word/document.xml").decode()
    assert body.count("<w:tbl>") == 3
    assert 'w:jc w:val="both"' not in body.split("<w:tbl>", 1)[1]  # no justified text inside the tables


@pytest.mark.parametrize(
    "word,after_slashes", [(LINK.format(n=123456), True), ("a/" * 80, True), (control(7), False), ("x" * 300, False)]
)
def test_a_long_word_is_cut_into_pieces_that_fit_its_cell(word, after_slashes):
    from reportlab.pdfbase.pdfmetrics import stringWidth

    register_fonts()
    pieces = _pieces(word, 90, "Vera")
    assert "".join(pieces) == word and len(pieces) > 1
    assert all(stringWidth(piece, "Vera", CELL_SIZE) <= 90 for piece in pieces)
    assert all(piece.endswith("/") for piece in pieces[:-1]) is after_slashes  # a link breaks after a slash


def test_a_long_mapa_lists_the_removed_prices_and_the_kept_ones_nearest_the_mediana():
    observations = [
        Observation(
            price=100.0 + n,
            unit="UN",
            date=REF,
            numero_controle_pncp=control(n),
            numero_item=1,
            catalogue_code="456702",
        )
        for n in range(1, 80)
    ]
    observations.append(
        Observation(
            price=5000.0, unit="UN", date=REF, numero_controle_pncp=control(999), numero_item=1, catalogue_code="456702"
        )
    )
    result = research(observations, reference_date=REF, catalogue_code="456702", unit="UN")
    assert result.n == 79 and len(result.removidos) == 1 and result.mediana == 140.0
    lines = tables.item_block(1, tables.ItemResearch(ITEM, result), limit=10)
    prices = next(b for b in markup.parse("\n".join(lines)) if isinstance(b, markup.Table))
    listed = [markup.plain(row[0]).split(",")[0] for row in prices.rows]
    assert listed == [control(n) for n in range(36, 45)] + [control(999)]  # 136..144 around 140, then the outlier
    assert "Listados 10 dos 80 preços" in "\n".join(lines) and "Preços válidos | 79 de 80" in "\n".join(lines)
    # a document's items share the rows; all of one item's 80 prices fit when it is alone
    alone = tables.price_block([tables.ItemResearch(ITEM, result)])
    assert "Listados" not in alone and control(1) in alone and control(79) in alone
