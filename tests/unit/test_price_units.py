"""Units of supply → base unit and factor: hand cases, packs, unknown units refused, and every unit of the real
SIASG awarded items (seeds/prices/siasg_homologados_2016_2022.parquet, 142 distinct spellings, 6,513 rows).

What stays unknown in the real data (19 spellings, 45 rows), kept apart rather than guessed:
an object's name typed as the unit ("MATERIAL" 13, "equipamento" 9, "Software" 3, "Treinamento" 2, "servidor" 2,
"computador" 2, "Storage", "Storage (NAS)", "notebook", "NOTEBOOK", "Conjunto Desktop", "grupo"), numbers
("1 (um)" 2, "5574,90", "1264", "346"), typos ("UNIDADAE", "kir") and a spelling cut short at 20 characters in
the source ("Diária do metro line").
"""

from __future__ import annotations

import polars as pl
import pytest

from tasks.prices.units import Unit, convert, label, parse_unit, per_base_unit
from tests.conftest import ROOT

SIASG = ROOT / "seeds" / "prices" / "siasg_homologados_2016_2022.parquet"
UNKNOWN_IN_SIASG = {
    "MATERIAL",
    "equipamento",
    "Software",
    "Treinamento",
    "servidor",
    "computador",
    "Storage",
    "Storage (NAS)",
    "notebook",
    "NOTEBOOK",
    "Conjunto Desktop",
    "grupo",
    "1 (um)",
    "5574,90",
    "1264",
    "346",
    "UNIDADAE",
    "kir",
    "Diária do metro line",
}


@pytest.mark.parametrize(
    ("raw", "base", "factor"),
    [
        ("UN", "UN", 1),
        ("UNIDADE", "UN", 1),
        ("Unidade", "UN", 1),
        ("unid", "UN", 1),
        ("und", "UN", 1),
        ("Unidades", "UN", 1),
        ("un.", "UN", 1),
        ("PÇ", "UN", 1),
        ("Peça", "UN", 1),
        (" Unidade            ", "UN", 1),
        ("KG", "G", 1000),
        ("Quilograma", "G", 1000),
        ("g", "G", 1),
        ("L", "ML", 1000),
        ("LITRO", "ML", 1000),
        ("ml", "ML", 1),
        ("Metro", "M", 1),
        ("metro linear", "M", 1),
        ("m²", "M2", 1),
        ("Metro quadrado", "M2", 1),
        ("Metro cúbico", "M3", 1),
        ("Hora", "H", 1),
        ("Diária", "DIA", 1),
        ("DIÁRIA (8H)", "DIA", 1),
        ("Mês / meses", "MES", 1),
        ("Serviço", "SERVICO", 1),
        ("Und serviço técnico", "SERVICO", 1),
        ("Valor por pessoa", "PESSOA", 1),
        ("PAR", "PAR", 1),
        ("Meia diária", "MEIA_DIARIA", 1),
        ("Hora extra", "H_EXTRA", 1),
        ("Km extra", "KM_EXTRA", 1),
        ("M. QUADRADO/DIÁRIA", "M2_DIA", 1),
    ],
)
def test_single_units(raw, base, factor):
    # given a unit as buyers type it / when parsed / then its base and factor
    unit = parse_unit(raw)
    assert unit == Unit(base=base, factor=factor, raw=raw.strip())


@pytest.mark.parametrize(
    ("raw", "base", "factor"),
    [
        ("CX C/ 100 UN", "UN", 100),
        ("CAIXA 50,00 UN", "UN", 50),
        ("PCT 10 UN", "UN", 10),
        ("FRASCO 500 ML", "ML", 500),
        ("GALÃO 5 L", "ML", 5000),
        ("GALÃO 3,6L", "ML", 3600),
        ("LATA DE 350ML", "ML", 350),
        ("UNIDADE 1.0 MILILITRO", "ML", 1),
        ("UNIDADE 2,5 KG", "G", 2500),
        ("RESMA 500 FL", "FL", 500),
        ("Pacote 100 folhas", "FL", 100),
        ("CX C/ 50 PARES", "PAR", 50),
        ("LOTE COM 6 LICENÇAS", "LICENCA", 6),
        ("CX 12 X 1 L", "ML", 12000),
        ("CX C/ 10 PCT C/ 100 UN", "UN", 1000),
        ("CX/100 UN", "UN", 100),
        ("1.000 UN", "UN", 1000),
        ("1.000,5 G", "G", 1000.5),
        ("500 ML", "ML", 500),
    ],
)
def test_packs_are_converted_to_the_base_unit(raw, base, factor):
    # given a pack with its content / when parsed / then the content in base units
    unit = parse_unit(raw)
    assert unit is not None and unit.base == base and unit.factor == pytest.approx(factor)


@pytest.mark.parametrize(
    ("raw", "base"),
    [
        ("CX", "CX"),
        ("Caixa", "CX"),
        ("PCT", "PCT"),
        ("PACOTE", "PCT"),
        ("GALÃO", "GALAO"),
        ("RESMA", "RESMA"),
        ("FR", "FR"),
    ],
)
def test_a_container_without_content_is_its_own_base(raw, base):
    # given a bare container / when parsed / then its content is not guessed
    assert parse_unit(raw) == Unit(base=base, factor=1, raw=raw)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "MATERIAL",
        "Software",
        "1 (um)",
        "5574,90",
        "1264",
        "kir",
        "CX C/ 0 UN",
        "CX C/ UN",
        "CX C/ 100",
        "CX C/ 100 XYZ",
        "VALOR 10 UN",
        "12 X",
    ],
)
def test_unknown_units_are_not_guessed(raw):
    # given something that is not a unit we know / when parsed / then None
    assert parse_unit(raw) is None


def test_per_base_unit_and_convert():
    # given R$ 50,00 for a box of 100 units
    box, pack = parse_unit("CX C/ 100 UN"), parse_unit("PCT 10 UN")
    # when expressed per unit and per pack of 10 / then R$ 0,50 and R$ 5,00
    assert per_base_unit(50.0, box) == pytest.approx(0.5)
    assert convert(50.0, box, pack) == pytest.approx(5.0)
    assert per_base_unit(30.0, parse_unit("GALÃO 5 L")) == pytest.approx(0.006)
    assert label("ML") == "mililitro" and label("XYZ") == "xyz"


def test_convert_between_different_bases_is_refused():
    # given a price per kilo / when converted to a price per litre / then a clear error
    with pytest.raises(ValueError, match="unidades incompatíveis"):
        convert(10.0, parse_unit("KG"), parse_unit("L"))


def test_every_unit_of_the_real_siasg_items():
    # given every distinct unit of the 6,513 awarded items
    counts = pl.read_parquet(SIASG).group_by("unidade").len()
    # when parsed
    unknown = {raw: n for raw, n in counts.iter_rows() if parse_unit(raw) is None}
    # then the common spellings are read, and what stays unknown is exactly the list in this module's docstring
    assert set(unknown) == UNKNOWN_IN_SIASG
    assert sum(unknown.values()) == 45 and counts["len"].sum() == 6513
    for raw in ("Unidade", "UNIDADE", "unidade", "UN", "unid", "und", "un", "UND", "Un", "Unid", "um", "PEÇA"):
        assert parse_unit(raw).base == "UN", raw
    assert {parse_unit(raw).base for raw in ("Diária", "DIÁRIA")} == {"DIA"}
    assert {parse_unit(raw).base for raw in ("PACOTE", "Pacote", "pacote", "PCT", "PCTE")} == {"PCT"}
