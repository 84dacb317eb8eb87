"""PNCP records to rows: the real payloads parse; odd records are refused with the reason; PF data never kept."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime

import pytest

from tasks.pncp import parse
from tasks.pncp.window import windows
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data" / "pncp"


def load(name):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@pytest.fixture
def contratacao():
    return load("02_consulta_v1_contratacoes_publicacao_CNPq_dispensa_2023.json")["data"][0]


def test_real_contratacao_parses(contratacao):
    row = parse.contratacao(contratacao)
    assert row["numero_controle_pncp"] == "33654831000136-1-000001/2023"
    assert (row["cnpj_orgao"], row["ano_compra"], row["sequencial_compra"]) == ("33654831000136", 2023, 1)
    assert row["uf"] == "DF" and row["modalidade_id"] == 8 and row["valor_total_homologado"] == 950893.42
    assert row["data_publicacao_pncp"] == datetime(2023, 1, 2, 8, 44, 55) and row["raw"] is contratacao
    open_bid = parse.contratacao(load("03_consulta_v1_contratacoes_proposta_Araci_pregao_2023.json")["data"][0])
    assert open_bid["valor_total_homologado"] is None and open_bid["valor_total_estimado"] == 0


def test_real_item_and_result_parse():
    parent = {
        "numero_controle_pncp": "07954480000179-1-025970/2025",
        "uf": "CE",
        "data_publicacao_pncp": datetime(2026, 2, 26),
    }
    item = parse.item(load("05_pncp_v1_compras_itens_item_Ceara_2026.json"), parent)
    assert item["numero_item"] == 1 and item["unidade_normalizada"] == "ML" and item["codigo_catalogo"] is None
    assert item["valor_unitario_estimado"] == 0.0951 and item["uf"] == "CE"
    (raw,) = load("06_pncp_v1_compras_itens_resultados_Ceara_2026.json")
    result = parse.resultado(raw, item)
    assert result["valor_unitario_homologado"] == 0.0545 and result["data_resultado"] == date(2026, 4, 24)
    assert result["ni_fornecedor"] == "49324221000104" and result["nome_fornecedor"].startswith("FRESENIUS")


def test_pf_supplier_is_masked_in_row_and_raw():
    (raw,) = load("06_pncp_v1_compras_itens_resultados_Ceara_2026.json")
    raw = {**raw, "tipoPessoa": "PF", "niFornecedor": "123.456.789-09", "nomeRazaoSocialFornecedor": "MARIA DA SILVA"}
    item = {"numero_controle_pncp": "07954480000179-1-025970/2025", "numero_item": 1}
    row = parse.resultado(raw, item)
    assert row["ni_fornecedor"].startswith("pf:") and "12345678909" not in json.dumps(row["raw"])
    assert row["nome_fornecedor"] is None and "MARIA" not in json.dumps(row["raw"])
    assert parse.resultado({**raw, "niFornecedor": "12345678909"}, item)["ni_fornecedor"] == row["ni_fornecedor"]


@pytest.mark.parametrize(
    "label",
    [{}, {"tipoPessoa": None}, {"tipoPessoa": "PJ"}, {"tipoPessoa": ""}],
    ids=["tipoPessoa ausente", "tipoPessoa nulo", "tipoPessoa PJ", "tipoPessoa vazio"],
)
def test_an_11_digit_supplier_is_a_person_whatever_tipo_pessoa_says(label):
    (raw,) = load("06_pncp_v1_compras_itens_resultados_Ceara_2026.json")
    raw = {k: v for k, v in raw.items() if k != "tipoPessoa"}
    raw = {**raw, **label, "niFornecedor": "529.982.247-25", "nomeRazaoSocialFornecedor": "JOSE DA SILVA"}
    item = {"numero_controle_pncp": "07954480000179-1-025970/2025", "numero_item": 1}
    row = parse.resultado(raw, item)
    assert row["tipo_pessoa"] == "PF" and row["ni_fornecedor"].startswith("pf:") and row["nome_fornecedor"] is None
    assert "52998224725" not in json.dumps(row["raw"]) and "529.982.247-25" not in json.dumps(row["raw"])
    assert "JOSE" not in json.dumps(row["raw"])
    company = parse.resultado({**raw, "niFornecedor": "49324221000104", "nomeRazaoSocialFornecedor": "FRESENIUS"}, item)
    assert company["ni_fornecedor"] == "49324221000104" and company["nome_fornecedor"] == "FRESENIUS"  # 14: a CNPJ


@pytest.mark.parametrize(
    "value,person",
    [
        ("52998224725", True),
        ("529.982.247-25", True),
        ("12345678900", True),
        ("1234567890", False),
        ("49324221000104", False),
        ("49.324.221/0001-04", False),
        ("", False),
        (None, False),
        ("abcdefghijk", False),
    ],
)
def test_cpf_like_is_eleven_digits_once_punctuation_is_out(value, person):
    from models.personal_data import cpf_like

    assert cpf_like(value) is person


@pytest.mark.parametrize(
    "change,reason",
    [
        ({"numeroControlePNCP": "33654831000136-1-1/2023"}, "numeroControlePNCP inválido"),
        ({"numeroControlePNCP": None}, "numeroControlePNCP inválido"),
        ({"anoCompra": 2022}, "anoCompra"),
        ({"sequencialCompra": 7}, "sequencialCompra"),
        ({"orgaoEntidade": {"cnpj": "00000000000191"}}, "CNPJ do órgão"),
        ({"valorTotalEstimado": -1}, "negativo"),
        ({"valorTotalEstimado": "muito"}, "valor inválido"),
        ({"dataPublicacaoPncp": "31/02/2023"}, "data inválida"),
        ({"modalidadeId": None}, "modalidadeId"),
        ({"unidadeOrgao": {"ufSigla": "Distrito Federal"}}, "ufSigla"),
        ({"unidadeOrgao": "DF"}, "objeto esperado"),
    ],
)
def test_odd_contratacoes_are_refused_with_the_reason(contratacao, change, reason):
    record = copy.deepcopy(contratacao)
    record.update(change)
    with pytest.raises(parse.RecordError, match=reason):
        parse.contratacao(record)


def test_brazilian_money_strings_and_units():
    assert parse.money("R$ 1.234,56", "v") == 1234.56 and parse.money("12.5", "v") == 12.5
    assert parse.money(None, "v") is None
    for raw, code in (
        ("Unidade", "UN"),
        ("UN", "UN"),
        ("unid.", "UN"),
        ("Caixa com 12", "CX"),
        ("PACOTE", "PCT"),
        ("Resma", "RESMA"),
        ("UNIDADE 1.0 MILILITRO ", "ML"),
        ("Litro", "L"),
        ("Diária", "DIA"),
        ("kg", "KG"),
        ("  ", None),
    ):
        assert parse.normalise_unit(raw) == code, raw


def test_windows_stay_under_365_days():
    cut = windows(date(2024, 1, 1), date(2025, 6, 30))
    assert cut[0] == (date(2024, 1, 1), date(2024, 12, 30)) and cut[-1][1] == date(2025, 6, 30)
    assert all((end - start).days <= 364 for start, end in cut)
    assert windows(date(2026, 3, 2), date(2026, 3, 2)) == [(date(2026, 3, 2), date(2026, 3, 2))]
    with pytest.raises(ValueError):
        windows(date(2026, 3, 2), date(2026, 3, 1))
