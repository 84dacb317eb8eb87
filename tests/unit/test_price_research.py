"""The IN 65/2021 price research as plain functions: comparables, the 365-day window, the price index, outlier
criteria, the estimate and its flag, the mapa's JSON; checked by hand and against the real federal prices in
seeds/prices (SIASG awarded items 2016-2022; dated CATMAT series 2022-2023), recomputed independently with polars.

The SIASG file has a publication date for only 109 of 6,513 items; the others are dated here 30 June of their
``ano_aviso``, so a reference date of 31 December keeps one year of prices.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from tasks.prices.outliers import IQR, BySize, MeanSD, MedianOfOthers, MedianRatio, quantile, rule_for
from tasks.prices.research import Observation, PriceIndex, PriceIndexError, research, similarity, words
from tests.conftest import ROOT

PRICES = ROOT / "seeds" / "prices"
REF = date(2024, 6, 30)


def obs(price, unit="UN", day=REF, code="150000", n=1, **kw) -> Observation:
    return Observation(
        price=price,
        unit=unit,
        date=day,
        numero_controle_pncp=f"00394460000141-1-{n:06d}/2024",
        numero_item=1,
        link=f"https://pncp.gov.br/app/editais/00394460000141/2024/{n}",
        catalogue_code=code,
        description=kw.pop("description", "CANETA ESFEROGRÁFICA AZUL"),
        **kw,
    )


def prices(*values, **kw) -> list[Observation]:
    return [obs(v, n=i, **kw) for i, v in enumerate(values, 1)]


@pytest.fixture(scope="module")
def siasg() -> pl.DataFrame:
    return pl.read_parquet(PRICES / "siasg_homologados_2016_2022.parquet").with_columns(
        pl.coalesce(pl.col("data_publicacao").str.to_date(), pl.date(pl.col("ano_aviso").cast(pl.Int32), 6, 30)).alias(
            "dia"
        ),
        pl.col("preco_unitario").cast(pl.Float64).alias("preco"),
    )


def observations_of(frame: pl.DataFrame) -> list[Observation]:
    return [
        Observation(
            price=r["preco"],
            unit=r["unidade"],
            date=r["dia"],
            numero_controle_pncp=r["id_licitacao"],
            numero_item=int(r["numero_item"]),
            catalogue_code=r["codigo_catalogo"],
            description=r["descricao_catalogo"],
            uf=r["uf"],
            quantidade=float(r["quantidade"]),
        )
        for r in frame.iter_rows(named=True)
    ]


def test_estimate_from_three_prices():
    # given three prices of the same code
    mapa = research(prices(10.0, 12.0, 20.0), reference_date=REF, catalogue_code="150000")
    # then média, mediana and menor valor, enough prices, no note
    assert (mapa.n, mapa.media, mapa.mediana, mapa.menor_valor) == (3, 14.0, 12.0, 10.0)
    assert mapa.suficiente and mapa.nota is None and mapa.removidos == []
    assert [line.value for line in mapa.precos] == [10.0, 12.0, 20.0]
    assert "art. 5º, II" in mapa.metodo and "art. 6º" in mapa.metodo and "150000" in mapa.metodo


@pytest.mark.parametrize(("values", "n"), [((), 0), ((10.0,), 1), ((10.0, 11.0), 2)])
def test_fewer_than_three_prices_are_flagged(values, n):
    # given fewer than three comparable prices / when researched / then not enough, with a note in Portuguese
    mapa = research(prices(*values), reference_date=REF, catalogue_code="150000")
    assert mapa.n == n and not mapa.suficiente
    assert ("Nenhum preço válido" if n == 0 else f"Apenas {n} preço(s) válido(s)") in mapa.nota
    assert (mapa.media is None) == (n == 0)


def test_min_prices_is_configurable():
    mapa = research(prices(10.0, 11.0, 12.0), reference_date=REF, catalogue_code="150000", min_prices=5)
    assert not mapa.suficiente and "menos que os 5 exigidos" in mapa.nota


def test_window_boundaries():
    # given prices dated exactly 365 days before, 366 days before, on the reference date and one day after
    dated = [
        obs(10.0, day=REF - timedelta(days=365), n=1),
        obs(11.0, day=REF - timedelta(days=366), n=2),
        obs(12.0, day=REF, n=3),
        obs(13.0, day=REF + timedelta(days=1), n=4),
        obs(14.0, day=datetime(2024, 1, 2, 15, 30), n=5),
    ]
    # when researched
    mapa = research(dated, reference_date=REF, catalogue_code="150000")
    # then 365 days is in, 366 out, the future out, and both are only counted
    assert [line.value for line in mapa.precos] == [10.0, 12.0, 14.0]
    assert mapa.excluidos["fora_da_janela"] == 1 and mapa.excluidos["data_futura"] == 1
    assert "01/07/2023 a 30/06/2024" in mapa.metodo  # 365 days, not one calendar year: 2024 is a leap year
    narrower = research(dated, reference_date=REF, catalogue_code="150000", window_days=180)
    assert narrower.n == 2 and narrower.excluidos["fora_da_janela"] == 2


def test_iqr_fences_with_known_values():
    # given 10, 11, 12, 13 and 100: Q1 = 11, Q3 = 13, IQR = 2, fences [8; 16]
    mapa = research(prices(10.0, 11.0, 12.0, 13.0, 100.0), reference_date=REF, catalogue_code="150000")
    # then 100 is removed, kept in the mapa with its reason
    assert [line.value for line in mapa.precos] == [10.0, 11.0, 12.0, 13.0]
    (removed,) = mapa.removidos
    assert removed.value == 100.0 and removed.reason == "acima do limite superior (Q3 + 1,5·IQR = R$ 16,00)"
    assert (mapa.media, mapa.mediana, mapa.menor_valor) == (11.5, 11.5, 10.0)
    low = research(prices(1.0, 50.0, 51.0, 52.0, 53.0), reference_date=REF, catalogue_code="150000")
    assert [line.reason for line in low.removidos] == ["abaixo do limite inferior (Q1 − 1,5·IQR = R$ 47,00)"]


def test_iqr_k_and_other_criteria():
    values = prices(10.0, 11.0, 12.0, 13.0, 17.0)
    # given a price just above Q3 + 1,5·IQR (16) but within Q3 + 3·IQR (19)
    assert research(values, reference_date=REF, catalogue_code="150000").n == 4
    wide = research(values, reference_date=REF, catalogue_code="150000", iqr_k=3)
    assert wide.n == 5 and "3·IQR" in wide.metodo
    # other criteria by name or object
    assert (
        research(prices(10.0, 11.0, 12.0, 13.0, 100.0), reference_date=REF, catalogue_code="150000", outliers="none").n
        == 5
    )
    ten = prices(*[10.0] * 10, 100.0)
    (removed,) = research(ten, reference_date=REF, catalogue_code="150000", outliers="dp").removidos
    assert removed.reason.startswith("acima do limite superior (média + 2·DP = R$ ")
    ratio = research(
        prices(4.0, 10.0, 10.0, 10.0, 16.0), reference_date=REF, catalogue_code="150000", outliers=MedianRatio(0.5)
    )
    assert sorted(line.reason for line in ratio.removidos) == [
        "abaixo do limite inferior (mediana − 50% = R$ 5,00)",
        "acima do limite superior (mediana + 50% = R$ 15,00)",
    ]
    assert "50% acima ou abaixo da mediana" in ratio.criterio


def test_quantile_matches_polars_linear():
    values = [3.0, 1.0, 4.0, 1.5, 9.0, 2.6, 5.0]
    for p in (0.25, 0.5, 0.75):
        assert quantile(values, p) == pytest.approx(pl.Series(values).quantile(p, interpolation="linear"))
    assert IQR()([5.0, 5.0, 500.0]) == [None, None, None]  # three prices never cross the fences
    assert MeanSD()([1.0, 100.0]) == [None, None]


def test_pack_prices_are_converted_to_the_reference_unit():
    # given the same pen sold by the unit, by the box of 100 and by the pack of 10, and one by the kilo
    mixed = [
        obs(1.0, "UN", n=1),
        obs(90.0, "CX C/ 100 UN", n=2),
        obs(11.0, "PCT 10 UN", n=3),
        obs(1.2, "Unidade", n=4),
        obs(50.0, "KG", n=5),
    ]
    # when researched per unit
    mapa = research(mixed, reference_date=REF, catalogue_code="150000", unit="UN")
    # then per-unit prices; the kilo is not comparable, and only counted
    assert sorted(line.price for line in mapa.precos) == pytest.approx([0.9, 1.0, 1.1, 1.2])
    assert mapa.excluidos["unidade_incompativel"] == 1
    box = next(line for line in mapa.precos if line.unit.factor == 100)
    assert box.to_dict()["preco_original"] == 90.0 and box.to_dict()["preco_unidade_referencia"] == 0.9
    # when researched per box of 100 / then per box
    per_box = research(mixed, reference_date=REF, catalogue_code="150000", unit="CX C/ 100 UN")
    assert per_box.mediana == pytest.approx(105.0) and "por CX C/ 100 UN (100 unidade)" in per_box.metodo


def test_without_a_reference_unit_the_most_frequent_base_is_used():
    mixed = [obs(5.0, "L", n=1), obs(0.006, "ML", n=2), obs(30.0, "GALÃO 5 L", n=3), obs(2.0, "UN", n=4)]
    mapa = research(mixed, reference_date=REF, catalogue_code="150000")
    assert mapa.unidade.base == "ML" and mapa.n == 3 and mapa.excluidos["unidade_incompativel"] == 1
    assert [line.to_dict()["valor_corrigido"] for line in mapa.precos] == [0.005, 0.006, 0.006]


def test_unknown_units_are_kept_apart():
    # given prices whose unit cannot be read
    mixed = prices(10.0, 11.0, 12.0) + [obs(1.0, "MATERIAL", n=7), obs(2.0, None, n=8), obs(3.0, "  ", n=9)]
    mapa = research(mixed, reference_date=REF, catalogue_code="150000")
    # then they are counted and their spellings listed, never used
    assert mapa.n == 3 and mapa.excluidos["unidade_desconhecida"] == 3
    assert mapa.unidades_desconhecidas == ["(em branco)", "MATERIAL"]


def test_other_items_and_invalid_prices_are_only_counted():
    mixed = prices(10.0, 11.0, 12.0) + [
        obs(9.0, code="999", n=5),
        obs(0.0, n=6),
        obs(float("nan"), n=7),
        obs(None, n=8),
        replace(obs(10.0, n=9), date=None),
    ]
    mapa = research(mixed, reference_date=REF, catalogue_code="0150000")
    assert mapa.n == 3 and mapa.excluidos == {
        "outro_item": 1,
        "preco_invalido": 3,
        "sem_data": 1,
        "data_futura": 0,
        "fora_da_janela": 0,
        "unidade_desconhecida": 0,
        "unidade_incompativel": 0,
    }


def test_filters_say_what_each_one_set_aside():
    # given prices of code 150000 at REF: 4 valid (100 an outlier), 2 of other codes, 2 invalid, 2 outside the window
    # and 5 older ones the caller's query only counted, 2 in units that cannot be compared
    found = [
        *prices(10.0, 11.0, 12.0, 100.0),
        obs(10.0, code="999", n=10),
        obs(10.0, code="998", n=11),
        obs(0.0, n=12),
        obs(-1.0, n=13),
        obs(10.0, day=REF - timedelta(days=400), n=14),
        obs(10.0, day=REF + timedelta(days=1), n=15),
        obs(10.0, unit="???", n=16),
        obs(10.0, unit="KG", n=17),
    ]
    mapa = research(found, reference_date=REF, catalogue_code="150000", outside_window=5, min_prices=4)
    # then each filter, in the order applied, with what reached it and what it set aside, down to the mapa's n
    stages = [(s["filtro"], s["entrada"], s["excluidos"], s["restantes"]) for s in mapa.to_dict()["filtros"]]
    assert (
        stages
        == [
            ("item", 17, 2, 15),
            ("preco", 15, 2, 13),
            ("janela", 13, 7, 6),
            ("unidade", 6, 2, 4),
            ("outliers", 4, 1, 3),
        ]
        and mapa.n == 3
    )
    assert mapa.excluidos["fora_da_janela"] == 6 and mapa.excluidos["data_futura"] == 1
    # and the thin mapa's note says it in words
    assert (
        mapa.nota.startswith("Apenas 3 preço(s) válido(s)")
        and (
            "Dos 17 preço(s) lidos, 3 válido(s); excluídos: 2 de outro código, 2 com preço inválido ou sem data, "
            "7 fora da janela de 365 dias (01/07/2023 a 30/06/2024), 2 em unidade não reconhecida ou não "
            "convertível em unidade, "
            "1 removido(s) pelo critério de exclusão."
        )
        in mapa.nota
    )
    assert research(found, reference_date=REF, catalogue_code="150000").nota is None  # enough: no note


def test_an_empty_mapa_says_why():
    span = (date(2016, 2, 1), date(2023, 1, 26))
    # given nothing collected in the window (a description, so only the window was read) / then the period collected
    empty = research(
        [], reference_date=REF, description="CANETA ESFEROGRÁFICA AZUL", span=span, read_from=date(2023, 5, 2)
    )
    assert [s["entrada"] for s in empty.filtros] == [0] * 5 and empty.n == 0
    assert (
        "Nenhum preço coletado com data entre 01/07/2023 e 30/06/2024 tem descrição semelhante à do item; os preços "
        "coletados vão de 01/02/2016 a 26/01/2023." in empty.nota
    )
    assert empty.to_dict()["periodo_dados"] == {"inicio": "2016-02-01", "fim": "2023-01-26"}
    assert "a partir de 02/05/2023" in empty.filtros[0]["descricao"]
    # given prices of other items only / then the similarity filter took them all
    others = research(
        [obs(1.0, code=None, n=i, description="PAPEL A4") for i in (1, 2)],
        reference_date=REF,
        description="CANETA ESFEROGRÁFICA AZUL",
        span=span,
    )
    assert (
        "Dos 2 preço(s) lidos, 0 válido(s); excluídos: 2 de outro item (descrição com similaridade menor que "
        "0,50)." in others.nota
    )
    # given a code whose prices are all older than the window (counted by the query) / then the window took them
    old = research([], reference_date=REF, catalogue_code="456702", outside_window=7, span=span)
    assert old.filtros[2]["excluidos"] == 7 and "excluídos: 7 fora da janela de 365 dias" in old.nota
    never = research([], reference_date=REF, catalogue_code="456702")
    assert "Nenhum preço do código CATMAT/CATSER 456702 foi coletado; não há preços coletados" in never.nota


def test_description_similarity():
    assert words("Caneta esferográfica, AZUL, tipo NOME de plástico") == {"caneta", "esferografica", "azul", "plastico"}
    assert similarity("CANETA ESFEROGRÁFICA AZUL", "caneta esferografica azul") == 1.0
    assert similarity("CANETA ESFEROGRÁFICA AZUL", "CANETA ESFEROGRÁFICA PRETA") == 0.5
    assert similarity("", "caneta") == 0.0
    # given prices without a code, described alike or not
    found = [
        obs(1.0, code=None, n=1, description="Caneta esferográfica azul"),
        obs(1.2, code=None, n=2, description="CANETA ESFEROGRÁFICA AZUL ESCRITA FINA"),
        obs(1.1, code=None, n=3, description="caneta esferografica preta"),
        obs(30.0, code=None, n=4, description="Papel A4 branco"),
        obs(10.5, "CX C/ 10 UN", code=None, n=5, description="Caneta esferográfica azul"),
    ]
    # when researched by description / then the similar ones in the same base unit
    mapa = research(found, reference_date=REF, description="CANETA ESFEROGRÁFICA AZUL", unit="UN")
    assert sorted(line.price for line in mapa.precos) == pytest.approx([1.0, 1.05, 1.1, 1.2])
    assert mapa.excluidos["outro_item"] == 1 and "Jaccard ≥ 0,50" in mapa.metodo
    assert research(found, reference_date=REF, description="CANETA ESFEROGRÁFICA AZUL", similarity=0.8).n == 2


def test_price_index_correction_with_a_hand_series():
    # given an index of 100 in January, 104 in March and 105 in June 2024
    ipca = PriceIndex("IPCA", {(2024, 1): 100.0, (2024, 3): 104.0, (2024, 6): 105.0})
    dated = [obs(10.0, day=date(2024, 1, 15), n=1), obs(10.0, day=date(2024, 3, 1), n=2), obs(10.0, n=3)]
    # when researched on 30 June
    mapa = research(dated, reference_date=REF, catalogue_code="150000", index=ipca)
    # then each price × index(June) / index(its month)
    assert sorted(line.correction for line in mapa.precos) == pytest.approx([1.0, 105 / 104, 1.05])
    assert sorted(line.value for line in mapa.precos) == pytest.approx([10.0, 1050 / 104, 10.5])
    assert mapa.indice == "IPCA" and "corrigidos pelo IPCA até 06/2024" in mapa.metodo
    assert mapa.to_dict()["precos"][-1]["fator_correcao"] == 1.05


def test_price_index_missing_month():
    ipca = PriceIndex("IPCA", {(2024, 1): 100.0, (2024, 5): 104.0})
    dated = [obs(10.0, day=date(2024, 1, 15), n=1), obs(10.0, day=date(2024, 2, 15), n=2)]
    # given a month without value / then a clear error naming the month and the price
    with pytest.raises(PriceIndexError, match=r"IPCA sem valor para 06/2024"):
        research(dated, reference_date=REF, catalogue_code="150000", index=ipca)
    # given carry_forward / then the last published month stands in: 2024-02 → 2024-01, 2024-06 → 2024-05
    carried = research(
        dated, reference_date=REF, catalogue_code="150000", index=PriceIndex("IPCA", ipca.values, carry_forward=True)
    )
    assert [line.correction for line in carried.precos] == pytest.approx([1.04, 1.04])
    with pytest.raises(PriceIndexError, match=r"12/2023.*000001/2024, item 1"):
        research(
            [obs(10.0, day=date(2023, 12, 1), n=1)],
            reference_date=REF,
            catalogue_code="150000",
            index=PriceIndex("IPCA", ipca.values, carry_forward=True),
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "informe o código CATMAT/CATSER ou a descrição"),
        ({"description": "de para com"}, "informe o código CATMAT/CATSER ou a descrição"),
        ({"catalogue_code": "150000", "unit": "MATERIAL"}, "unidade de referência não reconhecida: 'MATERIAL'"),
        ({"catalogue_code": "150000", "outliers": "grubbs"}, "critério de exclusão desconhecido: 'grubbs'"),
    ],
)
def test_bad_requests_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        research(prices(10.0), reference_date=REF, **kwargs)


def test_to_dict_is_json_ready():
    # given Decimal prices (as a Numeric column returns them), a sub-cent price and an outlier
    found = [
        obs(Decimal("10.25"), n=1, quantidade=Decimal("3")),
        obs(Decimal("11.333"), n=2),
        obs(12.0, n=3),
        obs(12.5, n=4),
        obs(0.0545, "UNIDADE 1.0 MILILITRO", n=5, code="2"),
    ]
    data = research(found + prices(99.0), reference_date=REF, catalogue_code="150000").to_dict()
    text = json.dumps(data, ensure_ascii=False)
    assert json.loads(text) == data
    assert data["precos"][0] == {
        "numero_controle_pncp": "00394460000141-1-000001/2024",
        "numero_item": 1,
        "link": "https://pncp.gov.br/app/editais/00394460000141/2024/1",
        "data": "2024-06-30",
        "uf": None,
        "codigo_catalogo": "150000",
        "descricao": "CANETA ESFEROGRÁFICA AZUL",
        "quantidade": 3.0,
        "unidade_original": "UN",
        "fator_unidade": 1.0,
        "preco_original": 10.25,
        "preco_unidade_referencia": 10.25,
        "fator_correcao": 1.0,
        "valor_corrigido": 10.25,
    }
    assert data["mediana"] == 11.6665 and data["media"] == 11.5208 and data["menor_valor"] == 10.25  # four places
    assert data["removidos"][0]["motivo"].startswith("acima do limite superior") and data["n"] == 4
    assert data["unidade"] == {"original": "UN", "base": "UN", "fator": 1.0, "descricao_base": "unidade"}
    small = research(
        [obs(0.0545, "UNIDADE 1.0 MILILITRO", n=i) for i in (1, 2, 3)], reference_date=REF, catalogue_code="150000"
    ).to_dict()
    assert small["media"] == 0.0545 and small["precos"][0]["preco_original"] == 0.0545


def test_real_siasg_code_against_an_independent_computation(siasg):
    # given the 2016-2018 awarded computers (CATMAT 66338), researched at 31/12/2018
    code, ref = "66338", date(2018, 12, 31)
    mapa = research(observations_of(siasg), reference_date=ref, catalogue_code=code)
    # when recomputed with polars: 2018 prices whose unit is a plain count, IQR fences with linear quartiles
    counts = {"unidade", "unidades", "un", "und", "unid", "pc", "pç"}
    year = siasg.filter((pl.col("codigo_catalogo") == code) & (pl.col("ano_aviso") == "2018"))
    usable = year.filter(pl.col("unidade").str.to_lowercase().is_in(counts))
    q1, q3 = usable["preco"].quantile(0.25, "linear"), usable["preco"].quantile(0.75, "linear")
    low, high = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    kept = usable.filter(pl.col("preco").is_between(low, high))["preco"]
    # then the same figures
    assert mapa.unidade.base == "UN" and kept.len() >= 5
    assert (mapa.n, len(mapa.removidos)) == (kept.len(), usable.height - kept.len())
    assert mapa.media == pytest.approx(kept.mean()) and mapa.mediana == pytest.approx(kept.median())
    assert mapa.menor_valor == pytest.approx(kept.min()) and mapa.suficiente
    assert all(line.value > high for line in mapa.removidos)
    # and what was set aside is only counted: earlier years, an unknown unit, a daily rental
    assert (
        mapa.excluidos["fora_da_janela"]
        == siasg.filter((pl.col("codigo_catalogo") == code) & (pl.col("ano_aviso") < "2018")).height
    )
    assert mapa.excluidos["unidade_desconhecida"] + mapa.excluidos["unidade_incompativel"] == (
        year.height - usable.height
    )
    assert set(mapa.unidades_desconhecidas) <= {"computador", "equipamento"}


def test_real_siasg_service_by_its_unit(siasg):
    # given car transport (CATSER 3239) priced per day, per half day, per transfer, per extra km and extra hour
    mapa = research(
        observations_of(siasg), reference_date=date(2018, 12, 31), catalogue_code="3239", unit="Diária", outliers="none"
    )
    # then only the daily prices are compared
    daily = siasg.filter((pl.col("codigo_catalogo") == "3239") & (pl.col("unidade") == "Diária"))["preco"]
    assert mapa.n == daily.len() == 7 and mapa.mediana == pytest.approx(daily.median())
    assert mapa.excluidos["unidade_incompativel"] == 34 - 7


@pytest.mark.parametrize(("shift", "kept", "reason"), [(365, 356, None), (366, 356 - 9, "fora_da_janela")])
def test_real_dated_series_window(shift, kept, reason):
    # given the dated purchases of CATMAT 481567 (first ones on 04/08/2022)
    series = pl.read_parquet(PRICES / "series_catmat.parquet").filter(pl.col("catmat_id") == "481567")
    found = [
        Observation(
            price=float(r["valor_unitario"]),
            unit=r["unidade"],
            date=date.fromisoformat(r["data"]),
            numero_controle_pncp=r["id"],
            numero_item=int(r["licitacao_contrato"]),
            catalogue_code=r["catmat_id"],
        )
        for r in series.iter_rows(named=True)
    ]
    # when researched 365 or 366 days after the first purchase, without removing outliers
    mapa = research(
        found, reference_date=date(2022, 8, 4) + timedelta(days=shift), catalogue_code="481567", outliers="none"
    )
    # then the first day's 9 purchases are in, then out
    assert mapa.n == kept and series.filter(pl.col("data") == "2022-08-04").height == 9
    if reason:
        assert mapa.excluidos[reason] == 9
    middle = research(found, reference_date=date(2022, 10, 21), catalogue_code="481567", outliers="none")
    assert middle.excluidos["data_futura"] == series.filter(pl.col("data") > "2022-10-21").height


def test_a_wild_price_in_a_small_sample_goes_with_its_reason_and_the_good_ones_stay():
    # IN 65/2021 art. 6º: inexequíveis and excessivamente elevados are set aside; IQR cannot with three prices
    assert IQR()([10.0, 11.0, 100.0]) == [None, None, None]
    mapa = research(prices(10.0, 11.0, 100.0), reference_date=REF, catalogue_code="150000", outliers="auto")
    (removed,) = mapa.removidos
    assert removed.value == 100.0 and mapa.n == 2 and not mapa.suficiente  # then only the §5º path is left
    assert removed.reason.startswith("9,52 vez(es) a mediana dos demais preços (R$ 10,50)")
    assert "excessivamente elevado" in removed.reason and "mediana dos demais" in mapa.metodo
    low = MedianOfOthers()([10.0, 100.0, 110.0])
    assert low[0] is not None and "inexequível" in low[0] and low[1:] == [None, None]


@pytest.mark.parametrize(
    "values",
    [(10.0, 11.0, 12.0), (5.0, 10.0, 15.0), (100.0, 100.0, 100.0), (10.0, 30.0), (7.0,), ()],
)
def test_samples_where_nothing_should_go_keep_every_price(values):
    assert MedianOfOthers()(list(values)) == [None] * len(values)


def test_the_limit_is_the_ratio_to_the_median_of_the_others_on_both_sides():
    # exactly 3× (and exactly 1/3) the median of the others stays; just past it goes
    assert MedianOfOthers(3.0)([10.0, 10.0, 30.0]) == [None, None, None]
    assert MedianOfOthers(3.0)([10.0, 10.0, 30.01])[2] is not None
    assert MedianOfOthers(3.0)([30.0, 30.0, 10.0]) == [None, None, None]
    assert MedianOfOthers(3.0)([30.0, 30.0, 9.99])[2] is not None
    assert MedianOfOthers(2.0)([10.0, 10.0, 25.0])[2] is not None  # the limit is a setting


def test_auto_uses_the_median_of_the_others_below_the_iqr_size_and_iqr_from_it():
    rule = rule_for("auto", iqr_from=8, justification="Limites justificados pela equipe.")
    assert isinstance(rule, BySize) and "Com menos de 8 preços" in rule.describe()
    assert "(Limites justificados pela equipe)" in rule.describe()
    seven = [10.0, 10.5, 11.0, 11.5, 12.0, 12.5, 40.0]  # 40 is 3,56× the median of the others
    assert rule(seven)[-1] is not None and "mediana dos demais" in rule(seven)[-1]
    eight = [*seven[:-1], 13.0, 40.0]
    assert rule(eight)[-1] is not None and "Q3 + 1,5·IQR" in rule(eight)[-1]


def test_the_dispersion_of_the_kept_prices_is_shown():
    mapa = research(prices(10.0, 12.0, 14.0), reference_date=REF, catalogue_code="150000")
    assert mapa.to_dict()["coeficiente_variacao"] == 0.1667  # desvio padrão 2 / média 12
    assert research(prices(10.0), reference_date=REF, catalogue_code="150000").coeficiente_variacao is None


def test_wide_variation_asks_for_the_critical_analysis_of_art_6_paragraph_4():
    # CV of {10; 12; 14} is 16,7%; of {10; 15; 20} it is 33,3%
    calm = research(prices(10.0, 12.0, 14.0), reference_date=REF, catalogue_code="150000", cv_limit=0.25)
    assert calm.analise_critica is None
    wide = research(prices(10.0, 15.0, 20.0), reference_date=REF, catalogue_code="150000", cv_limit=0.25)
    assert wide.analise_critica.startswith("Coeficiente de variação dos preços válidos de 33,3%, acima de 25,0%")
    assert "art. 6º, § 4º" in wide.analise_critica and wide.to_dict()["analise_critica"] == wide.analise_critica
    at_the_limit = research(prices(10.0, 15.0, 20.0), reference_date=REF, catalogue_code="150000", cv_limit=1 / 3)
    assert at_the_limit.analise_critica is None  # at the limit: not above it
    assert research(prices(10.0, 15.0, 20.0), reference_date=REF, catalogue_code="150000").analise_critica is None
    assert "o valor de referência do item é a mediana" in wide.metodo  # the method says which figure is used


def test_a_price_keeps_its_four_places_through_the_series_and_the_statistics():
    # PNCP gives four decimal places: R$ 1,0003 is not R$ 1,00 until it is printed
    mapa = research(prices(1.0003, 1.0004, 1.0008), reference_date=REF, catalogue_code="150000").to_dict()
    assert [p["preco_original"] for p in mapa["precos"]] == [1.0003, 1.0004, 1.0008]
    assert (mapa["mediana"], mapa["menor_valor"], mapa["media"]) == (1.0004, 1.0003, 1.0005)
    assert "arredondados uma única vez, na exibição" in mapa["metodo"]
