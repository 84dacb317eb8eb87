"""Legacy Comprasnet result pages to rows: values and accents as the page shows them, PF suppliers masked, odd
records quarantined with the reason, a page that is not a result page refused, rows that fit the market tables."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from models.market import PncpContratacao, PncpItem, PncpResultado
from tasks.pncp import comprasnet_items, html, parse
from tests.conftest import ROOT
from tests.utils import comprasnet_soup
from tests.utils.comprasnet_pages import Item, Result, realistic, termo

DATA = ROOT / "tests" / "data" / "comprasnet"
HOMOLOGATED = "termohom_160478_pe00003_2018.html"
ODD = "termohom_153080_pe00012_2019_casos.html"
EMPTY = "termohom_926523_pe00001_2019_vazio.html"
UTF8 = "termohom_160478_pe00005_2023_utf8_pncp.html"
EDITAL = "edital_itens_160478_pe00003_2018.html"


def read(name: str) -> html.HtmlRecords:
    return html.parse_page((DATA / name).read_bytes(), f"tests/data/comprasnet/{name}")


def by_number(rows: list[dict]) -> dict[int, dict]:
    return {row["numero_item"]: row for row in rows}


def test_homologated_termo_gives_the_contratacao_items_and_results():
    page = read(HOMOLOGATED)
    row = page.contratacao
    assert row["numero_controle_pncp"] == "CNET-16047805000032018" and page.bad == []
    assert (row["codigo_unidade"], row["sequencial_compra"], row["ano_compra"], row["numero_compra"]) == (
        "160478",
        3,
        2018,
        "00003/2018",
    )
    assert (row["modalidade_id"], row["modalidade_nome"], row["srp"]) == (6, "Pregão Eletrônico", True)
    assert row["processo"] == "64291.000123/2018-11" and row["cnpj_orgao"] == ""
    assert row["objeto_compra"] == "AQUISIÇÃO DE MATERIAL DE EXPEDIENTE E DE LIMPEZA PARA O EXERCÍCIO"
    assert row["nome_unidade"] == "13º Regimento de Cavalaria Mecanizado"
    assert row["razao_social_orgao"] == "MINISTÉRIO DA DEFESA / Comando do Exército"
    assert row["data_atualizacao"].isoformat() == "2018-06-04T14:32:00"
    items = by_number(page.items)
    assert sorted(items) == [1, 2, 3, 4]
    assert (items[1]["quantidade"], items[1]["valor_unitario_estimado"], items[1]["valor_total"]) == (
        74730.0,
        15.18,
        1134401.4,
    )  # "74.730": the dot groups thousands
    assert items[2]["valor_unitario_estimado"] == 1234.56 and items[2]["unidade_normalizada"] == "FR"
    assert items[1]["unidade_medida"] == "PACOTE 500,00 FL" and items[1]["unidade_normalizada"] == "PCT"
    assert items[4]["descricao"].startswith("SERVIÇO DE MANUTENÇÃO PREDIAL - Prestação de serviços")
    assert items[4]["raw"]["grupo"] == "1" and items[4]["unidade_normalizada"] == "MES"
    assert [items[n]["situacao_item_id"] for n in (1, 2, 3, 4)] == [2, 2, 4, 2]
    results = by_number(page.results)
    assert sorted(results) == [1, 2, 4]
    first = results[1]
    assert (first["tipo_pessoa"], first["ni_fornecedor"], first["nome_fornecedor"]) == (
        "PJ",
        "26976381000132",
        "MULTPAPER DISTRIBUIDORA DE PAPÉIS LTDA.",
    )
    assert (first["valor_unitario_homologado"], first["quantidade_homologada"]) == (9.5, 74730.0)  # negotiated
    assert first["raw"]["melhorLance"] == "R$ 9,5500" and first["data_resultado"].isoformat() == "2018-06-04"
    assert results[2]["raw"]["rotulo"] == "Aceito para" and results[2]["valor_unitario_homologado"] == 1100.0
    assert results[4]["data_resultado"].isoformat() == "2018-06-01"  # no homologation event: the adjudication's
    assert row["valor_total_homologado"] == pytest.approx(709935 + 1320000 + 551880)


def test_accents_and_entities_are_decoded_from_latin1():
    content = (DATA / HOMOLOGATED).read_bytes()
    assert b"IMPRESS\xc3O" in content and b"&amp;" in content  # latin-1 bytes, as the server sent them
    page = read(HOMOLOGATED)
    names = {row["nome_fornecedor"] for row in page.results}
    assert "JORGE BATISTA & CIA LTDA" in names and "CONSTRUTORA PÉROLA DO ATLÂNTICO S/A" in names
    assert by_number(page.items)[3]["descricao"] == "CAFÉ"
    odd = read(ODD)  # windows-1252: the en dash and curly quotes are bytes 0x96, 0x93, 0x94
    assert b"\x96" in (DATA / ODD).read_bytes()
    assert odd.contratacao["objeto_compra"] == "AQUISIÇÃO DE MATERIAL DE CONSUMO – UNIDADES ACADÊMICAS"
    assert "“TIPO CRISTAL”" in by_number(odd.items)[1]["descricao"]


def test_a_pf_supplier_is_stored_masked_without_the_name():
    page = read(ODD)
    (pf,) = [row for row in page.results if row["tipo_pessoa"] == "PF"]
    assert pf["ni_fornecedor"] == parse.mask_person("123.456.789-09") and pf["nome_fornecedor"] is None
    assert pf["raw"]["niFornecedor"] == pf["ni_fornecedor"] and pf["raw"]["nomeRazaoSocialFornecedor"] is None
    everything = json.dumps([page.contratacao, page.items, page.results, page.bad], default=str, ensure_ascii=False)
    assert "123.456.789-09" not in everything and "12345678909" not in everything
    assert "MARIA DA CONCEI" not in everything


def test_an_identifier_that_is_not_a_cnpj_is_quarantined_masked_and_nameless():
    content = termo(
        160478,
        13,
        2018,
        [
            Item(
                1,
                "CAFÉ",
                None,
                "10",
                "PACOTE",
                "17,9000",
                result=Result("JOSÉ ANTÔNIO DE ASSUNÇÃO", "123.456.789", "15,0000"),
            )
        ],
    )
    page = html.parse_page(content, "ni.html")
    (bad,) = page.bad
    assert bad["reason"] == "resultado do item 1: CNPJ/CPF inválido" and page.results == []
    assert bad["raw"]["niFornecedor"].startswith("pf:") and bad["raw"]["nomeRazaoSocialFornecedor"] is None
    assert "123.456.789" not in json.dumps(bad) and "ANTÔNIO" not in json.dumps(bad, ensure_ascii=False)


def test_odd_records_are_quarantined_with_the_reason_and_the_rest_is_kept():
    page = read(ODD)
    assert sorted(by_number(page.items)) == [1, 4, 5, 6, 7] and sorted(by_number(page.results)) == [1, 6]
    bad = [(entry["kind"], entry["key"], entry["reason"]) for entry in page.bad]
    assert bad == [
        ("item", "CNET-15308005000122019", "item 2: quantidade ausente"),
        ("item", "CNET-15308005000122019", "valor estimado do item 3: valor inválido '34,0O00'"),
        ("resultado", "CNET-15308005000122019#5", "melhor lance do item 5: valor inválido 'R$ 6x9,00'"),
        ("item", "CNET-15308005000122019", "item 6 repetido na página"),
        (
            "resultado",
            "CNET-15308005000122019#7",
            "resultado do item 7: CNPJ/CPF do fornecedor não encontrado nos eventos do item",
        ),
    ]
    assert all(entry["source"].endswith(ODD) for entry in page.bad)
    assert page.bad[1]["raw"]["estimado"] == "34,0O00" and page.bad[2]["raw"]["niFornecedor"] == "08.359.941/0001-28"
    assert by_number(page.items)[5]["tem_resultado"] is True  # the item stays; only its result is refused


def test_cancelled_and_failed_items_have_no_result():
    items = by_number(read(ODD).items)
    assert (items[4]["situacao_item_id"], items[4]["tem_resultado"]) == (5, False)  # Cancelado no julgamento
    deserted = by_number(read(HOMOLOGATED).items)[3]  # Cancelado por inexistência de proposta
    assert (deserted["situacao_item_id"], deserted["tem_resultado"]) == (4, False)


def test_a_termo_without_items_is_a_contratacao_alone():
    page = read(EMPTY)
    assert page.contratacao["numero_controle_pncp"] == "CNET-92652305000012019"
    assert (page.items, page.results, page.bad) == ([], [], [])
    assert page.contratacao["valor_total_estimado"] is None and page.contratacao["srp"] is False


def test_declared_utf8_page_with_a_pncp_control_number_is_keyed_by_it():
    content = (DATA / UTF8).read_bytes()
    assert b"charset=utf-8" in content and "IMPRESSÃO".encode() in content
    page = read(UTF8)
    row = page.contratacao
    assert row["numero_controle_pncp"] == "00394452000103-1-000321/2023"
    assert (row["cnpj_orgao"], row["sequencial_compra"], row["ano_compra"]) == ("00394452000103", 321, 2023)
    assert (
        page.items[0]["numero_controle_pncp"] == page.results[0]["numero_controle_pncp"] == row["numero_controle_pncp"]
    )
    assert page.items[0]["descricao"].startswith("PAPEL IMPRESSÃO")


@pytest.mark.parametrize(
    "content",
    [
        (DATA / EDITAL).read_bytes(),
        b"<html><body><p>Erro: sess\xe3o expirada</p></body></html>",
        b"",
    ],
)
def test_a_page_that_is_not_a_result_page_is_refused(content):
    with pytest.raises(html.PageError, match="não é uma página de resultado do Comprasnet"):
        html.parse_page(content, "https://comprasnet.gov.br/livre/pregao/x.asp")


def test_a_termo_de_adjudicacao_reads_like_the_homologacao():
    content = termo(
        160478,
        12,
        2018,
        [
            Item(
                1,
                "CAFÉ",
                None,
                "10",
                "PACOTE",
                "17,9000",
                "Adjudicado",
                result=Result("JORGE BATISTA & CIA LTDA", "07.222.185/0001-28", "15,0000", homologated=None),
            )
        ],
        title="Termo de Adjudicação do Pregão Eletrônico",
    )
    page = html.parse_page(content, "termoadj.html")
    assert page.contratacao["numero_controle_pncp"] == "CNET-16047805000122018" and page.bad == []
    assert page.items[0]["situacao_item_id"] == 1 and page.results[0]["ni_fornecedor"] == "07222185000128"


def test_a_termo_without_uasg_quarantines_its_contratacao():
    content = termo(160478, 9, 2018, [Item(1, "CAFÉ", None, "10", "PACOTE", "17,9000")])
    content = re.sub(rb"<font size=\"2\">[^<]*</font>", b'<font size="2"></font>', content)
    page = html.parse_page(content, "sem-uasg.html")
    assert page.contratacao is None and page.items == []
    assert [(entry["kind"], entry["reason"]) for entry in page.bad] == [
        ("contratacao", "pregão 00009/2018: código da UASG ausente")
    ]


def test_natural_keys_never_look_like_pncp_control_numbers():
    keys = {read(name).contratacao["numero_controle_pncp"] for name in (HOMOLOGATED, ODD, EMPTY)}
    assert len(keys) == 3
    for key in keys:
        assert re.fullmatch(r"CNET-\d{17}", key) and not parse.CONTROL.match(key) and len(key) <= 40


@pytest.mark.parametrize(
    "raw,value",
    [
        ("74.730", 74730.0),
        ("1.234,5600", 1234.56),
        ("R$ 9,5500", 9.55),
        ("500", 500.0),
        ("0,0001", 0.0001),
        ("", None),
        ("-", None),
    ],
)
def test_numbers_as_the_pages_print_them(raw, value):
    assert comprasnet_items.number(raw, "valor", 1) == value


@pytest.mark.parametrize("raw", ["1.2.3,4", "12,34,56", "-5,00", "34,0O00", "1.23,00", "9.5"])
def test_malformed_numbers_are_refused(raw):
    with pytest.raises(parse.RecordError, match="valor inválido"):
        comprasnet_items.number(raw, "valor", 1)


@pytest.mark.parametrize(
    "content,text",
    [
        ("<p>AÇÃO – “x”</p>".encode("cp1252"), "<p>AÇÃO – “x”</p>"),
        ('<meta charset="utf-8"><p>AÇÃO</p>'.encode(), '<meta charset="utf-8"><p>AÇÃO</p>'),
        ("\ufeff<p>AÇÃO</p>".encode(), "<p>AÇÃO</p>"),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"><p>AÇÃO</p>'.encode("latin-1"),
            '<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"><p>AÇÃO</p>',
        ),
    ],
)
def test_decoding_follows_the_declared_charset_else_windows_1252(content, text):
    assert html.decode(content) == text


def test_rows_have_the_columns_of_the_market_tables_within_their_lengths():
    page = read(HOMOLOGATED)
    for model, rows in ((PncpContratacao, [page.contratacao]), (PncpItem, page.items), (PncpResultado, page.results)):
        columns = {c.name for c in model.__table__.columns} - {"id", "fetched_at", "termos", "palavras"}  # the upsert's
        for row in rows:
            assert set(row) == columns, model.__tablename__
            for column in model.__table__.columns:
                length = getattr(column.type, "length", None)
                if length and isinstance(row.get(column.name), str):
                    assert len(row[column.name]) <= length, column.name
            json.dumps(row["raw"])


def test_rows_store_in_the_market_tables(sqlite_url):
    from models.crud import market
    from models.db import session_scope

    page = read(ODD)
    with session_scope(sqlite_url) as session:
        first = [
            market.upsert(session, model, rows)
            for model, rows in (
                (PncpContratacao, [page.contratacao]),
                (PncpItem, page.items),
                (PncpResultado, page.results),
            )
        ]
        for entry in page.bad:
            market.quarantine(
                session,
                entry["kind"],
                entry["source"],
                entry["reason"],
                json.dumps(entry["raw"], ensure_ascii=False),
                record_key=entry["key"],
            )
    assert [counts["inserted"] for counts in first] == [1, 5, 2]
    with session_scope(sqlite_url) as session:  # the same page again: same timestamps, nothing rewritten
        again = [
            market.upsert(session, model, rows)
            for model, rows in (
                (PncpContratacao, [page.contratacao]),
                (PncpItem, page.items),
                (PncpResultado, page.results),
            )
        ]
    assert [counts["unchanged"] for counts in again] == [1, 5, 2]


@pytest.mark.parametrize("name", [HOMOLOGATED, ODD, EMPTY, UTF8])
def test_beautifulsoup_reading_gives_the_same_rows(name):
    content = (DATA / name).read_bytes()
    assert comprasnet_soup.parse_page(content, name) == html.parse_page(content, name)


def test_a_large_page_reads_the_same_with_both_parsers_and_masks_every_pf():
    content = realistic(150, 3)
    page = html.parse_page(content, "grande.html")
    assert len(page.items) == 150 and page.bad == []
    assert comprasnet_soup.parse_page(content, "grande.html") == page
    people = [row for row in page.results if row["tipo_pessoa"] == "PF"]
    assert people and all(row["ni_fornecedor"].startswith("pf:") and row["nome_fornecedor"] is None for row in people)


def test_an_impossible_event_date_quarantines_the_result():
    content = termo(
        160478,
        11,
        2018,
        [
            Item(
                1,
                "CAFÉ",
                None,
                "10",
                "PACOTE",
                "17,9000",
                result=Result(
                    "JORGE BATISTA & CIA LTDA", "07.222.185/0001-28", "15,0000", homologated="31/02/2018 10:00:00"
                ),
            )
        ],
    )
    page = html.parse_page(content, "data.html")
    assert len(page.items) == 1 and page.results == []
    assert page.bad[0]["reason"] == "resultado do item 1: data do evento inválida '31/02/2018 10:00:00'"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_parser_memory_tunes_glibc_in_its_own_process():
    done = subprocess.run(
        [sys.executable, "-c", "from tasks.pncp.html import keep_parser_memory as k; print(k())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "True", done.stderr


def test_an_item_without_number_or_description_is_quarantined():
    content = termo(
        160478,
        10,
        2018,
        [
            Item(1, "", None, "10", "UNIDADE", "1,0000"),
            Item(
                2,
                "CAFÉ",
                None,
                "10",
                "PACOTE",
                "17,9000",
                result=Result("JORGE BATISTA & CIA LTDA", "07.222.185/0001-28", "15,0000"),
            ),
        ],
    )
    content = content.replace(b"Item: 2", b"Item: dois")
    page = html.parse_page(content, "itens.html")
    assert [entry["reason"] for entry in page.bad] == [
        "item 1: descrição ausente",
        "Item: 'dois': número do item inválido",
    ]
    assert page.items == [] and page.results == []
