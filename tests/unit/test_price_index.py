"""The monthly correction index: the shipped IPCA series against IBGE's published rates, the file format's refusals
(each naming its line), the correction factor and carry_forward."""

from datetime import date
from pathlib import Path

import pytest

from tasks.prices.indices import IndexFileError, index_name, parse_series, shipped
from tasks.prices.research import PriceIndex, PriceIndexError

TODAY = date(2026, 12, 3)
IPCA = shipped("IPCA")


@pytest.mark.parametrize(
    ("year", "rate"),
    [(2019, 4.31), (2020, 4.52), (2021, 10.06), (2022, 5.79), (2023, 4.62), (2024, 4.83), (2025, 4.26)],
)
def test_the_shipped_series_gives_ibges_annual_rates(year, rate):
    # given the shipped número-índice; when the December-to-December change is taken; then it is IBGE's rate
    start = IPCA.get((year - 1, 12), 5100.61)  # dez/2018, from the same source (seeds/indices/README.md)
    assert round((IPCA[(year, 12)] / start - 1) * 100, 2) == rate


@pytest.mark.parametrize(
    ("month", "previous", "change"), [((2022, 7), (2022, 6), -0.68), ((2023, 6), (2023, 5), -0.08)]
)
def test_the_shipped_series_gives_ibges_monthly_variations(month, previous, change):
    assert round((IPCA[month] / IPCA[previous] - 1) * 100, 2) == change


def test_the_shipped_series_is_whole_from_2019_and_only_published_months():
    months = sorted(IPCA)
    assert months[0] == (2019, 1) and months[-1] >= (2026, 8)
    assert len(months) == (months[-1][0] - 2019) * 12 + months[-1][1]
    assert shipped("ipca") == IPCA and shipped("IGPM") == {}


def test_factor_for_a_known_pair_of_months():
    # given a price of R$ 100,00 in jul/2022 and a research in dez/2024
    index = PriceIndex("IPCA", IPCA)
    factor = index.factor(date(2022, 7, 15), date(2024, 12, 2))
    # then it is corrected by 7100,50 / 6411,95
    assert factor == pytest.approx(7100.50 / 6411.95)
    assert round(100 * factor, 2) == 110.74


def test_carry_forward_uses_the_last_published_month_only_when_allowed():
    last = max(IPCA)
    after = date(last[0] + 1, 1, 10)
    with pytest.raises(PriceIndexError, match="sem valor para 01/"):
        PriceIndex("IPCA", IPCA).value(after)
    assert PriceIndex("IPCA", IPCA, carry_forward=True).value(after) == IPCA[last]
    with pytest.raises(PriceIndexError):  # nothing earlier to carry
        PriceIndex("IPCA", IPCA, carry_forward=True).value(date(2018, 12, 1))


def test_parse_accepts_both_separators_and_decimal_marks(tmp_path):
    text = "\ufeffmes;numero_indice\n2024-01;6.801,72\n\n2024-02;6858,17\n2024-03;6869.14\n"
    assert parse_series(text, TODAY) == [(2024, 1, 6801.72), (2024, 2, 6858.17), (2024, 3, 6869.14)]
    path = tmp_path / "ipca.csv"
    path.write_text("MES,NUMERO_INDICE\n2024-01,6801.72\n", encoding="utf-8")
    assert parse_series(path, TODAY) == [(2024, 1, 6801.72)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "arquivo vazio"),
        ("2024-01;6801.72\n", "linha 1: cabeçalho"),
        ("mes;valor\n2024-01;1\n", "linha 1: cabeçalho 'mes;valor'"),
        ("mes;numero_indice\n", "só tem o cabeçalho"),
        ("mes;numero_indice\n2024-01;1\n2024-13;2\n", "linha 3: mês '2024-13' inválido"),
        ("mes;numero_indice\n01/2024;1\n", "linha 2: mês '01/2024' inválido; use AAAA-MM"),
        ("mes;numero_indice\n2024-01;1\n2024-01;1\n", "linha 3: o mês 01/2024 aparece mais de uma vez"),
        ("mes;numero_indice\n2024-01;1\n2024-02;1\n2024-01;1\n", "linha 4: o mês 01/2024 aparece mais de uma vez"),
        ("mes;numero_indice\n2024-02;1\n2024-01;1\n", "linha 3: o mês 01/2024 está fora de ordem"),
        ("mes;numero_indice\n2024-01;1\n\n2024-04;1\n", "linha 4: falta o mês 02/2024 antes de 04/2024"),
        ("mes;numero_indice\n2024-01;0\n", "linha 2: valor '0' de 01/2024 inválido"),
        ("mes;numero_indice\n2024-01;-3,5\n", "linha 2: valor '-3,5'"),
        ("mes;numero_indice\n2024-01;abc\n", "linha 2: valor 'abc'"),
        ("mes;numero_indice\n2024-01;NaN\n", "linha 2: valor 'NaN'"),
        ("mes;numero_indice\n2024-01;\n", "linha 2: valor ''"),
        ("mes;numero_indice\n2024-01;1;2\n", "linha 2: '2024-01;1;2' deve ter duas colunas"),
        ("mes;numero_indice\n2026-11;1\n2026-12;1\n", "linha 3: o mês 12/2026 ainda não terminou"),
        ("mes;numero_indice\n2027-01;1\n", "linha 2: o mês 01/2027 ainda não terminou"),
    ],
)
def test_parse_refuses_a_bad_file_naming_the_line(text, expected):
    with pytest.raises(IndexFileError) as refused:
        parse_series(text, TODAY)
    assert expected in str(refused.value)


def test_the_shipped_file_parses_as_an_import_would():
    path = Path(__file__).resolve().parents[2] / "seeds" / "indices" / "ipca.csv"
    assert {(y, m): v for y, m, v in parse_series(path)} == IPCA


@pytest.mark.parametrize("name", ["", "IPCA 15", "x" * 21, "ipca;"])
def test_index_names_are_checked(name):
    with pytest.raises(IndexFileError, match="nome de índice inválido"):
        index_name(name)
