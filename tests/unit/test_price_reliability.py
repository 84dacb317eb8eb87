"""Whether a price answer can be relied on, as plain functions on both sides of each limit: the reference date's
bounds, the four reliability rules, the item-likeness measure behind them and behind the ETP's element V (checked
on the embedded sample of real SIASG prices with the demo's notebook item)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from pydantic import ValidationError

from deployments.operations.demo import DEMO_DOCUMENT
from models.document import DocumentItem
from models.price_dates import REAL_SINCE, ReferenceDateError, check_reference_date, reference_date_problem
from tasks.prices.likeness import head, resemblance, stem
from tasks.prices.market_data import rank_similar
from tasks.prices.reliability import (
    MAX_INTERVAL_RATIO,
    MIN_RESEMBLANCE,
    DataProfile,
    Verdict,
    far_from_data,
    interval_too_wide,
    judge,
    no_comparable_price,
    outside_data,
)
from tests.conftest import ROOT

TODAY = date(2026, 3, 10)
SPAN = (date(2016, 2, 1), date(2023, 1, 26))  # the embedded sample's result dates
NOTEBOOK = (
    "NOTEBOOK, TELA SUPERIOR A 14 POL INTERATIVIDADE DA TELA SEM INTERATIVIDADE  MEMÓRIA RAM SUPERIOR A 8 GB "
    "NÚCLEOS POR PROCESSADOR 5 A 8  ARMAZENAMENTO HDD 480 A 1.000 GB  SISTEMA OPERACIONAL PROPRIETÁRIO"
)
SCREEN = (
    "TELA PROJEÇÃO, MATERIAL ESTRUTURA ALUMÍNIO EXTRUDADO  TIPO FIXAÇÃO PAREDE/TETO  COR BRANCA  TIPO TELA "
    "RETRÁTIL  TAMANHO TELA 120 POL"
)


# --- the reference date --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        (TODAY, False),
        (TODAY + timedelta(days=1), True),
        (REAL_SINCE, False),
        (REAL_SINCE - timedelta(days=1), True),
        (date(1, 1, 1), True),
        (date(9999, 12, 31), True),
        (date(2022, 6, 30), False),
    ],
)
def test_reference_date_bounds(value, refused):
    # given a date on either side of today and of the real's first day, when checked, then refused or kept
    assert (reference_date_problem(value, now=TODAY) is not None) is refused
    if refused:
        with pytest.raises(ReferenceDateError) as caught:
            check_reference_date(value, "itens[2].data", now=TODAY)
        message = str(caught.value)
        assert message.startswith("itens[2].data: ") and "AAAA-MM-DD" in message and "01/07/1994" in message
    else:
        assert check_reference_date(value, now=TODAY) == value


def test_reference_date_messages_say_why():
    assert "01/01/0001 é anterior a 01/07/1994, início do real" in reference_date_problem(date(1, 1, 1), now=TODAY)
    assert "posterior a hoje (10/03/2026)" in reference_date_problem(date(2030, 1, 1), now=TODAY)
    assert "art. 23, § 1º, II" in reference_date_problem(date(2030, 1, 1), now=TODAY)
    assert check_reference_date(None) is None


def test_document_items_refuse_a_date_out_of_bounds():
    assert DocumentItem(descricao="NOTEBOOK", data_referencia="2022-06-30").data_referencia == date(2022, 6, 30)
    with pytest.raises(ValidationError, match="data_referencia: 01/01/0001 é anterior"):
        DocumentItem(descricao="NOTEBOOK", data_referencia="0001-01-01")
    with pytest.raises(ValidationError, match="posterior a hoje"):
        DocumentItem(descricao="NOTEBOOK", data_referencia=(date.today() + timedelta(days=2)).isoformat())


# --- the reliability rules -----------------------------------------------------------------------------------------


def test_no_comparable_price():
    assert no_comparable_price(1, date(2022, 6, 30), 365) is None
    reason = no_comparable_price(0, date(2022, 6, 30), 365)
    assert reason.code == "sem_precos_na_janela" and "entre 30/06/2021 e 30/06/2022" in reason.text


@pytest.mark.parametrize(
    ("reference", "outside"),
    [
        (SPAN[0], False),
        (SPAN[0] - timedelta(days=1), True),  # before the first price
        (SPAN[1] + timedelta(days=365), False),
        (SPAN[1] + timedelta(days=366), True),  # the window still reaches the last
        (date(2019, 5, 5), False),
        (date(2026, 12, 3), True),
    ],
)
def test_outside_the_data(reference, outside):
    reason = outside_data(reference, SPAN, 365)
    assert (reason is not None) is outside
    if outside:
        assert reason.code == "fora_do_periodo_coletado" and "(01/02/2016 a 26/01/2023)" in reason.text
    assert outside_data(reference, None, 365) is None
    model = outside_data(reference, SPAN, 365, model=True)
    assert model is None if not outside else model.code == "fora_do_periodo_do_modelo"


def test_far_from_the_data():
    assert far_from_data(True, 0.0) is None  # a code the model knows
    assert far_from_data(False, MIN_RESEMBLANCE + 0.01) is None
    reason = far_from_data(False, MIN_RESEMBLANCE)
    assert reason.code == "item_distante_dos_dados" and "no máximo 0,50" in reason.text


def test_interval_too_wide():
    assert interval_too_wide(10.0, 10.0 * MAX_INTERVAL_RATIO) is None
    reason = interval_too_wide(31.23, 14248.22)  # the finding's pen
    assert reason.code == "intervalo_largo" and "456 vezes" in reason.text and "R$ 14.248,22" in reason.text
    assert interval_too_wide(10.0, 10.0 * MAX_INTERVAL_RATIO + 0.01) is not None
    assert interval_too_wide(0.0, 1.0) is not None


def test_a_verdict_joins_its_reasons():
    assert Verdict().to_dict() == {"confiavel": True, "motivo": None, "alertas": []}
    verdict = Verdict([no_comparable_price(0, date(2022, 6, 30), 365), interval_too_wide(1.0, 500.0)])
    data = verdict.to_dict()
    assert data["confiavel"] is False and data["alertas"] == ["sem_precos_na_janela", "intervalo_largo"]
    assert data["motivo"].startswith("Nenhum preço comparável") and "; o intervalo de 80%" in data["motivo"]
    assert data["motivo"].endswith(".")


def test_a_model_profile_and_the_verdict_on_an_answer():
    # given a model's data: two notebooks (one under a code with leading zeros) and a projection screen
    data = DataProfile.of([date(2020, 1, 2), date(2022, 5, 1)], ["0456702", None], [NOTEBOOK, SCREEN, NOTEBOOK])
    assert data.span == (date(2020, 1, 2), date(2022, 5, 1)) and data.knows_code("456702") and data.knows_code(456702)
    assert data.best_resemblance("NOTEBOOKS") == 1.0 and data.best_resemblance("CANETA ESFEROGRÁFICA AZUL") == 0.0
    narrow = {"p10": 1000.0, "p50": 3000.0, "p90": 9000.0}
    # then an item under a known code, with prices, in the period and a narrow interval is reliable
    ok = judge(
        n=5,
        reference=date(2022, 6, 30),
        window_days=365,
        collected=SPAN,
        prediction=narrow,
        item={"codigo_catalogo": "456702"},
        data=data,
    )
    assert ok.confiavel
    # and a pen the data never saw, without prices, on a date past the model's data, is not, for every reason
    pen = judge(
        n=0,
        reference=date(2023, 6, 30),
        window_days=365,
        collected=SPAN,
        prediction={"p10": 31.23, "p50": 485.95, "p90": 14248.22},
        item={"descricao": "CANETA ESFEROGRÁFICA AZUL"},
        data=data,
    )
    assert pen.to_dict()["alertas"] == [
        "sem_precos_na_janela",
        "fora_do_periodo_do_modelo",
        "item_distante_dos_dados",
        "intervalo_largo",
    ]
    # without a model, only the mapa counts
    assert judge(n=3, reference=date(2022, 6, 30), window_days=365, collected=SPAN).confiavel


# --- likeness, and element V on the embedded sample ----------------------------------------------------------------


def test_head_nouns_and_plurals():
    assert head(NOTEBOOK) == "notebook" and head("NOTEBOOKS") == "notebook" and head(SCREEN) == "tela"
    assert stem("projecoes") == "projecao" and stem("computadores") == "computador" and stem("gas") == "gas"
    assert head("") is None and head("14, 20") is None and head("2 NOTEBOOKS") == "notebook"


def test_resemblance_shares_the_meaning_not_one_word():
    item = DEMO_DOCUMENT["itens"][0]["descricao"]  # NOTEBOOK, TELA SUPERIOR A 14 POLEGADAS
    assert resemblance(item, SCREEN) == 0.0  # "TELA" in common, another thing
    assert resemblance(item, NOTEBOOK) == pytest.approx(5 / 6)  # notebook ×2, tela, superior, 14 of 2+4
    assert resemblance("CANETA ESFEROGRÁFICA AZUL", "CANETA ESFEROGRÁFICA, CANETA ESFEROGRAFICA NOME") == pytest.approx(
        2 / 3
    )
    assert resemblance("CANETA, ESFEROGRÁFICA AZUL", "CANETA PARA TOQUE TELA") == pytest.approx(2 / 4)


def _row(control: str, description: str, price: float = 10.0) -> dict:
    return {
        "numero_controle_pncp": control,
        "descricao": description,
        "uf": "DF",
        "data_resultado": date(2022, 1, 3),
        "data_publicacao_pncp": None,
        "preco": price,
        "unidade_medida": "UN",
        "link_sistema_origem": "https://x",
    }


def test_similar_purchases_need_more_than_half_of_the_words():
    rows = [_row("1", "PAPEL BRAILLE, MATERIAL CELULOSE"), _row("2", "PAPEL A4, GRAMATURA 75")]
    assert [r["numero_controle_pncp"] for r in rank_similar(rows, ["PAPEL A4"])] == ["2"]  # 1 is exactly 0.5


def test_element_v_of_the_demo_notebook_on_the_embedded_sample():
    # given every awarded price of the embedded sample (SIASG 2016-2022), as the market tables hold them
    sample = pl.read_parquet(ROOT / "seeds" / "prices" / "siasg_homologados_2016_2022.parquet")
    rows = [
        _row(r["id_licitacao"], r["descricao_catalogo"], float(r["preco_unitario"]))
        for r in sample.iter_rows(named=True)
    ]
    assert any(r["descricao"].startswith("TELA PROJEÇÃO") for r in rows)
    # when the demo's notebook looks for similar contratações (with or without the document's title)
    for descriptions in (
        [DEMO_DOCUMENT["itens"][0]["descricao"]],
        [DEMO_DOCUMENT["titulo"], DEMO_DOCUMENT["itens"][0]["descricao"]],
    ):
        found = rank_similar(rows, descriptions, limit=20)
        # then notebooks only, never projection screens nor anything else sharing the word "TELA"
        assert len(found) == 20 and all(r["descricao"].startswith("NOTEBOOK,") for r in found), found
        assert all(r["similaridade"] > 0.5 for r in found)
