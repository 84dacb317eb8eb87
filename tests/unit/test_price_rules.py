"""The rules of the pesquisa de preços (IN SEGES/ME nº 65/2021; Lei 14.133/2021, art. 23), each on both sides of its
limit, and the figures of an item (tasks.prices.study) to the cent."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from models import price_rules as r
from models.errors import ConflictError, ForbiddenError, InvalidError
from models.price_research import Method, ResearchItem, ResearchPrice, ResearchPriceIn, ResearchStatus, Source
from models.rules import Actor
from tasks.prices import study
from tasks.prices.outliers import rule_for

pytestmark = pytest.mark.unit

TODAY = date(2026, 12, 3)
RESEARCH = date(2026, 11, 20)
EDITAL = date(2027, 2, 10)
PLANNER = Actor("1234567", "Ana", "MGI", ("equipe_planejamento",))
AUTHORITY = Actor("autoridade", "Carla", "MGI", ("autoridade_competente",))


def test_months_before_keeps_the_day_or_the_month_end():
    assert r.months_before(date(2027, 2, 10), 6) == date(2026, 8, 10)
    assert r.months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)
    assert r.months_before(date(2028, 2, 29), 12) == date(2027, 2, 28)
    assert r.months_before(date(2027, 1, 15), 12) == date(2026, 1, 15)


@pytest.mark.parametrize(
    ("source", "inside", "outside"),
    [
        # II: 1 year before the research date (law, art. 23 §1º II) and the edital (IN 65, art. 5º, II)
        (Source.CONTRATACOES_SIMILARES, date(2026, 2, 10), date(2026, 2, 9)),
        # III and IV: 6 months before the edital (IN 65, art. 5º, III and IV)
        (Source.MIDIA_SITIOS, date(2026, 8, 10), date(2026, 8, 9)),
        (Source.FORNECEDORES, date(2026, 8, 10), date(2026, 8, 9)),
        # V: 1 year before the edital
        (Source.NOTAS_FISCAIS, date(2026, 2, 10), date(2026, 2, 9)),
    ],
)
def test_each_source_window_counts_from_the_date_its_norm_names(source, inside, outside):
    r.check_window(source, inside, EDITAL, EDITAL, TODAY)
    with pytest.raises(InvalidError) as refused:
        r.check_window(source, outside, EDITAL, EDITAL, TODAY)
    assert f"fonte {source.value} do art. 5º" in refused.value.message
    assert "IN SEGES/ME nº 65/2021, art. 5º" in refused.value.message  # the rule quoted
    assert inside.strftime("%d/%m/%Y") in refused.value.message  # the limit day, which is inside


def test_source_ii_is_also_held_to_the_year_before_the_research_date():
    """Source II is inside both windows: the year before the edital (IN 65, art. 5º, II) and the year before the
    research date (Lei 14.133/2021, art. 23, §1º, II); each refusal names the date it counted from."""
    research, edital = date(2026, 11, 20), date(2026, 12, 1)
    r.check_window(Source.CONTRATACOES_SIMILARES, date(2025, 12, 1), research, edital, TODAY)
    with pytest.raises(InvalidError, match="data de divulgação do edital"):
        r.check_window(Source.CONTRATACOES_SIMILARES, date(2025, 11, 30), research, edital, TODAY)
    far = date(2027, 11, 30)  # edital a year after the research: the research date binds
    r.check_window(Source.NOTAS_FISCAIS, date(2026, 11, 30), research, far, TODAY)
    with pytest.raises(InvalidError, match="data da pesquisa de preços"):
        r.check_window(Source.CONTRATACOES_SIMILARES, date(2025, 11, 19), research, date(2026, 11, 20), TODAY)


def test_source_i_has_no_window_but_no_price_comes_from_the_future():
    r.check_window(Source.SISTEMAS_OFICIAIS, date(2019, 1, 1), RESEARCH, EDITAL, TODAY)
    r.check_window(Source.FORNECEDORES, TODAY, RESEARCH, EDITAL, TODAY)
    with pytest.raises(InvalidError, match="futura"):
        r.check_window(Source.FORNECEDORES, TODAY + timedelta(days=1), RESEARCH, EDITAL, TODAY)


def test_check_digits_of_cnpj_and_nfe_key():
    assert r.cnpj_valid("33683111000107") and r.cnpj_valid("00394460005887")
    assert not r.cnpj_valid("33683111000108") and not r.cnpj_valid("11111111111111") and not r.cnpj_valid("123")
    body = "5326123368311100010755001000000001100000001"  # UF 53, 2612, CNPJ, model 55, série 1, nº 1, tpEmis 1
    total = sum(int(d) * (2 + i % 8) for i, d in enumerate(reversed(body)))
    digit = 0 if total % 11 < 2 else 11 - total % 11
    assert r.nfe_key_valid(body + str(digit))
    assert not r.nfe_key_valid(body + str((digit + 1) % 10))
    assert not r.nfe_key_valid((body + str(digit))[:20] + "57" + (body + str(digit))[22:])  # CT-e, not NF-e


NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
QUOTE = {
    "fonte": "IV",
    "valor": "12.3456",
    "fornecedor_cnpj": "33.683.111/0001-07",
    "fornecedor_nome": "Papelaria Central Ltda",
    "fornecedor_endereco": "SCS Q. 2, Brasília/DF; vendas@central.com.br",
    "fornecedor_contato": "(61) 3333-0000",
    "responsavel_nome": "João da Silva, gerente comercial",
    "data_emissao": "2026-11-25",
    "validade": "2026-12-25",
    "solicitacao": "Ofício nº 12/2026, de 18/11/2026, por e-mail",
}


def test_a_supplier_quote_needs_its_file_and_every_field_of_art_5_2():
    with pytest.raises(InvalidError, match="Anexe o arquivo") as refused:
        r.price_record(ResearchPriceIn(**QUOTE), has_file=False, now=NOW)
    assert refused.value.details["campo"] == "arquivo"
    day, details = r.price_record(ResearchPriceIn(**QUOTE), has_file=True, now=NOW)
    assert day == date(2026, 11, 25) and details["fornecedor_cnpj"] == "33683111000107"
    for missing in ("fornecedor_contato", "responsavel_nome", "solicitacao", "validade"):
        with pytest.raises(InvalidError, match=missing):
            r.price_record(ResearchPriceIn(**{**QUOTE, missing: None}), has_file=True, now=NOW)
    with pytest.raises(InvalidError, match="CNPJ do fornecedor inválido"):
        r.price_record(ResearchPriceIn(**{**QUOTE, "fornecedor_cnpj": "33683111000108"}), has_file=True, now=NOW)
    with pytest.raises(InvalidError, match="validade"):
        r.price_record(ResearchPriceIn(**{**QUOTE, "validade": "2026-11-24"}), has_file=True, now=NOW)


def test_a_page_needs_its_address_and_access_time_not_in_the_future():
    page = {"fonte": "III", "valor": "9.9", "url": "https://loja.example/caneta", "fonte_descricao": "Loja X"}
    day, details = r.price_record(ResearchPriceIn(**page, acessado_em=NOW - timedelta(hours=1)), True, NOW)
    assert day == date(2026, 12, 3) and details["acessado_em"].startswith("2026-12-03T14:00")
    with pytest.raises(InvalidError, match="futura"):
        r.price_record(ResearchPriceIn(**page, acessado_em=NOW + timedelta(minutes=1)), True, NOW)
    with pytest.raises(InvalidError, match="acessado_em"):
        r.price_record(ResearchPriceIn(**page), True, NOW)
    with pytest.raises(InvalidError, match="Endereço inválido"):
        r.price_record(ResearchPriceIn(**{**page, "url": "ftp://x"}, acessado_em=NOW), True, NOW)


def test_a_page_accessed_in_the_brasilia_evening_is_dated_that_day_not_the_next_utc_day():
    # 01:30 UTC on 4 Dec is 22:30 on 3 Dec in Brasília: the research (dated in Brasília) is of the 3rd
    page = {"fonte": "III", "valor": "9.9", "url": "https://loja.example/caneta", "fonte_descricao": "Loja X"}
    night = datetime(2026, 12, 4, 1, 30, tzinfo=UTC)
    assert r.price_record(ResearchPriceIn(**page, acessado_em=night), True, night)[0] == date(2026, 12, 3)
    assert r.price_record(ResearchPriceIn(**page, acessado_em=night.replace(hour=3)), True, night.replace(hour=3))[
        0
    ] == date(2026, 12, 4)  # 00:00 in Brasília


def test_research_status_and_people_rules():
    for open_status in ("rascunho", "em_revisao", "devolvido"):
        r.check_document_open(open_status)
    for closed in ("aprovado", "consolidado", "cancelado"):
        with pytest.raises(ConflictError, match="antes da aprovação"):
            r.check_document_open(closed)
    r.check_open(None)
    r.check_open(ResearchStatus.FINALIZADA)  # a new research after a finalised one
    with pytest.raises(ConflictError, match="em andamento"):
        r.check_open(ResearchStatus.EM_ANDAMENTO)
    with pytest.raises(ConflictError, match="finalizada"):
        r.check_editable(ResearchStatus.FINALIZADA)
    r.check_researcher(PLANNER, ["1234567"])
    with pytest.raises(ForbiddenError, match="não está entre os responsáveis"):
        r.check_researcher(PLANNER, ["7654321"])
    with pytest.raises(ForbiddenError, match="equipe de planejamento"):
        r.check_researcher(AUTHORITY, ["autoridade"])
    r.check_item_approval(AUTHORITY, "mgi", "1234567", "excecao")
    with pytest.raises(ForbiddenError, match="§ 5º"):
        r.check_item_approval(PLANNER, "MGI", "7654321", "excecao")
    with pytest.raises(ForbiddenError, match="segregação"):
        r.check_item_approval(AUTHORITY, "MGI", "autoridade", "metodo")
    with pytest.raises(ForbiddenError, match="outro órgão|não é autoridade competente do órgão"):
        r.check_item_approval(AUTHORITY, "Ministério da Saúde", "1234567", "metodo")


BASE = {
    "numero": 1,
    "kept": 3,
    "cv": 0.1,
    "cv_limit": 0.25,
    "method": Method.MEDIA,
    "method_justification": "Preços homogêneos.",
    "other_value": None,
    "other_approved": False,
    "percent": None,
    "percent_justification": None,
    "critical_analysis": None,
    "exception_justification": None,
    "exception_approved": False,
}


def test_item_rules_on_both_sides():
    assert r.item_problems(**BASE) == []
    # art. 6º §5º: fewer than three prices only justified and approved
    two = {**BASE, "kept": 2}
    assert "§ 5º" in r.item_problems(**two)[0]
    assert "§ 5º" in r.item_problems(**{**two, "exception_justification": "Mercado restrito."})[0]
    assert r.item_problems(**{**two, "exception_justification": "Mercado restrito.", "exception_approved": True}) == []
    assert "nenhum preço" in r.item_problems(**{**BASE, "kept": 0})[0]
    # art. 6º §1º: another method justified and approved, with its value
    other = {**BASE, "method": Method.OUTRO, "other_value": Decimal("10")}
    assert "§ 1º" in r.item_problems(**other)[0]
    assert r.item_problems(**{**other, "other_approved": True}) == []
    assert "metodo_justificativa" in r.item_problems(**{**BASE, "method_justification": " "})[0]
    # art. 6º §2º: a percentage only justified
    assert "§ 2º" in r.item_problems(**{**BASE, "percent": Decimal("-5")})[0]
    assert r.item_problems(**{**BASE, "percent": Decimal("0")}) == []
    # art. 6º §4º: the critical analysis above the CV limit (at the limit: not required)
    assert r.item_problems(**{**BASE, "cv": 0.25}) == []
    assert "§ 4º" in r.item_problems(**{**BASE, "cv": 0.2501})[0]
    assert r.item_problems(**{**BASE, "cv": 0.4, "critical_analysis": "Variação por região."}) == []


def test_sources_i_and_ii_first_or_justified():
    assert r.source_problems({Source.CONTRATACOES_SIMILARES, Source.FORNECEDORES}, None) == []
    assert r.source_problems({Source.SISTEMAS_OFICIAIS}, None) == []
    refused = r.source_problems({Source.FORNECEDORES, Source.MIDIA_SITIOS}, None)
    assert len(refused) == 1 and "§ 1º" in refused[0] and "priorizados" in refused[0]
    assert r.source_problems({Source.FORNECEDORES}, "Item sem registro no Painel nem no PNCP no último ano.") == []


def test_direct_research_asks_three_suppliers_and_justifies_them():
    assert r.supplier_problems(set(), set(), None) == []
    short = r.supplier_problems({"a", "b"}, set(), "Fornecedores do ramo no DF.")
    assert len(short) == 1 and "no mínimo 3" in short[0]
    assert r.supplier_problems({"a", "b"}, {"c"}, "Fornecedores do ramo no DF.") == []
    assert "art. 3º" in r.supplier_problems({"a", "b", "c"}, set(), None)[0]


def test_approval_needs_a_finalised_research_of_the_same_items():
    items = [{"descricao": "Caneta azul", "unidade": "UN", "quantidade": 10, "codigo_catalogo": "035440"}]
    r.research_for_approval(False, None, [])
    with pytest.raises(InvalidError, match="não tem pesquisa de preços finalizada"):
        r.research_for_approval(True, None, items)
    frozen = {
        "itens": [{"descricao": "caneta  AZUL", "unidade": "un", "quantidade": "10.000", "codigo_catalogo": "35440"}]
    }
    r.research_for_approval(True, frozen, items)
    with pytest.raises(InvalidError, match="mudaram"):
        r.research_for_approval(True, frozen, [{**items[0], "quantidade": 11}])


# --- the figures of an item -------------------------------------------------------------------------------------


def _item(**decided) -> ResearchItem:
    return ResearchItem(research_id=uuid.uuid4(), numero=1, descricao="Caneta", unidade="UN", **decided)


def _prices(*values: str, **per_index) -> list[ResearchPrice]:
    out = []
    for n, value in enumerate(values):
        out.append(
            ResearchPrice(
                id=uuid.uuid4(),
                research_id=uuid.uuid4(),
                item=1,
                fonte="I",
                valor=Decimal(value),
                data=date(2026, 11, 1),
                registrado_por="1234567",
                **per_index.get(str(n), {}),
            )
        )
    return out


def _analyse(item: ResearchItem, prices: list[ResearchPrice], factor=Decimal(1)) -> dict:
    return study.analyse_item(item, prices, rule=rule_for("auto"), factor_of=lambda _: factor, cv_limit=0.25)


def test_ten_eleven_hundred_discards_the_hundred_with_its_reason():
    result = _analyse(_item(), _prices("10", "11", "100"))
    gone = [p for p in result["precos"] if p["situacao"] == "descartado"]
    assert [p["valor_original"] for p in gone] == ["100"]
    assert "acima de 3 vezes" in gone[0]["motivo"] and "mediana dos demais" in gone[0]["motivo"]
    assert result["n_validos"] == 2 and result["media"] == "10.5"
    assert any("§ 5º" in p for p in result["pendencias"])  # two prices left: only through the §5º path


@pytest.mark.parametrize("values", [("10", "10.5", "11", "12"), ("7", "10", "14", "20"), ("100", "101", "102")])
def test_samples_where_nothing_should_go(values):
    result = _analyse(_item(), _prices(*values))
    assert result["n_validos"] == len(values) and all(p["motivo"] is None for p in result["precos"])


def test_a_person_excludes_or_keeps_a_price_over_the_criterion():
    kept = _prices("10", "11", "12", "100", **{"3": {"decisao": "mantido", "decisao_motivo": "Item importado."}})
    result = _analyse(_item(), kept)
    hundred = next(p for p in result["precos"] if p["valor_original"] == "100")
    assert hundred["situacao"] == "valido" and "acima de 3 vezes" in hundred["criterio_automatico"]
    excluded = _prices("10", "11", "12", "13", **{"0": {"decisao": "excluido", "decisao_motivo": "Cotação vencida."}})
    result = _analyse(_item(), excluded)
    ten = next(p for p in result["precos"] if p["valor_original"] == "10")
    assert ten["situacao"] == "descartado" and "Cotação vencida." in ten["motivo"] and result["n_validos"] == 3


def test_method_and_memory_to_the_cent_with_four_place_prices():
    item = _item(metodo="media", metodo_justificativa="Homogêneos.", quantidade=Decimal("3"))
    result = _analyse(item, _prices("1.0003", "1.0004", "1.0008"))
    assert result["media"] == "1.0005" and result["menor_valor"] == "1.0003"  # R$ 1,0003 stays itself
    assert result["valor_unitario"] == "1.0005"
    assert result["valor_total"] == "3"  # 1,0005 × 3 = 3,0015 → R$ 3,00 at the cent, once
    item = _item(metodo="mediana", metodo_justificativa="x", quantidade=Decimal("7"), percentual=Decimal("-2.5"))
    result = _analyse(item, _prices("12.3456", "12.9", "13.1"))
    # mediana 12,90 × (1 − 2,5%) = 12,5775 (four places) × 7 = 88,0425 → R$ 88,04
    assert (
        result["valor_metodo"] == "12.9" and result["valor_unitario"] == "12.5775" and result["valor_total"] == "88.04"
    )
    assert "R$ 88,04 (ao centavo)" in result["memoria_calculo"] and "2,50%" in result["memoria_calculo"]
    assert study.total([result, {"valor_total": "11.96"}]) == Decimal("100.00")
    assert study.total([result, {"valor_total": None}]) is None


def test_the_index_corrects_and_both_values_are_shown():
    result = _analyse(_item(metodo="menor_valor", metodo_justificativa="x"), _prices("10", "11", "12"), Decimal("1.05"))
    first = result["precos"][0]
    assert first["valor_original"] == "10" and first["fator_correcao"] == "1.05" and first["valor_corrigido"] == "10.5"
    assert result["menor_valor"] == "10.5"


def test_the_suggested_method_says_why():
    assert study.suggest(2, 0.1, 0.25)[0] is None
    assert study.suggest(3, 0.25, 0.25)[0] is Method.MEDIA
    method, why = study.suggest(5, 0.3, 0.25)
    assert method is Method.MEDIANA and "30,0%" in why and "25,0%" in why


def test_who_did_the_research_is_an_author_for_the_segregation_of_functions():
    from models.crud.documents import research_acts

    figures = {
        "responsaveis": ["1234567"],
        "aberta_por": "1234567",
        "finalizada_por": "7654321",
        "itens": [
            {
                "decidido_por": "1111111",
                "excecao": {"por": "2222222", "aprovacao": {"por": "autoridade"}},
                "metodo_aprovacao": {"por": "autoridade"},
                "precos": [
                    {"registrado_por": "3333333", "decisao_por": None},
                    {"registrado_por": "3333333", "decisao_por": "4444444"},
                ],
            }
        ],
    }
    assert research_acts(figures) == {"1234567", "7654321", "1111111", "2222222", "3333333", "4444444"}
    with pytest.raises(ForbiddenError, match="fez a pesquisa de preços"):
        from models.rules import check_can_approve

        both = Actor("3333333", "Ana", "MGI", ("equipe_planejamento", "autoridade_competente"))
        check_can_approve(both, "MGI", {p: {"fez a pesquisa de preços"} for p in research_acts(figures)}, "Aprovo.")
