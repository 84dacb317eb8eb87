"""What PNCP's integration API accepts (models/pncp_rules.py), on both sides of each limit."""

import pytest

from models.errors import ForbiddenError, InvalidError
from models.pncp_rules import (
    FILE_MAX_BYTES,
    check_contratacao,
    check_file_size,
    check_tipo,
    check_titulo,
    marker,
    publication_title,
)
from models.rules import Actor, check_can_publish

SHA = "1a2b3c4d5e6f" + "0" * 52


def test_title_of_255_characters_passes_and_256_is_refused():
    assert check_titulo("a" * 255) == "a" * 255
    with pytest.raises(InvalidError, match="256 caracteres; o máximo é 255"):
        check_titulo("a" * 256)


@pytest.mark.parametrize("title", ["Estudo Técnico Preliminar – versão 2", "ETP 🚀", "Relatório “final”"])
def test_title_outside_iso_8859_1_is_refused(title):
    with pytest.raises(InvalidError, match="ISO-8859-1"):
        check_titulo(title)


@pytest.mark.parametrize("title", ["Estudo Técnico Preliminar - versão 2 (ação, órgão, ç)", "ÁÉÍÓÚ âêô ãõ ü"])
def test_title_with_portuguese_accents_is_iso_8859_1(title):
    assert check_titulo(title) == title


def test_empty_title_is_refused():
    with pytest.raises(InvalidError, match="vazio"):
        check_titulo("   ")


def test_file_of_30_mb_passes_and_one_byte_more_is_refused():
    assert check_file_size(FILE_MAX_BYTES) == FILE_MAX_BYTES
    with pytest.raises(InvalidError, match="até 30 MB"):
        check_file_size(FILE_MAX_BYTES + 1)
    with pytest.raises(InvalidError, match="vazio"):
        check_file_size(0)


@pytest.mark.parametrize("tipo", [4, 7, 16])
def test_types_this_system_sends(tipo):
    assert check_tipo(tipo) == tipo


@pytest.mark.parametrize("tipo", [0, 1, 2, 5, 17])
def test_other_types_are_refused(tipo):
    with pytest.raises(InvalidError, match="4 \\(Termo de Referência\\), 7 \\(Estudo Técnico Preliminar\\)"):
        check_tipo(tipo)


@pytest.mark.parametrize("cnpj", ["00394445000101", "00.394.445/0001-01"])
def test_cnpj_with_check_digits_passes(cnpj):
    assert check_contratacao(cnpj, 2026, 1) == "00394445000101"


@pytest.mark.parametrize("cnpj", ["00394445000102", "0039444500016", "003944450001010", "11111111111111", "abc"])
def test_bad_cnpj_is_refused(cnpj):
    with pytest.raises(InvalidError, match="CNPJ do órgão inválido"):
        check_contratacao(cnpj, 2026, 1)


def test_year_and_sequential_limits():
    assert check_contratacao("00394445000101", 2021, 1)
    with pytest.raises(InvalidError, match="Ano"):
        check_contratacao("00394445000101", 2020, 1)
    with pytest.raises(InvalidError, match="Sequencial"):
        check_contratacao("00394445000101", 2026, 0)


def test_title_carries_the_marker_and_fits_even_with_a_long_process_number():
    title = publication_title("ETP", "23034.000123/2026-11", 2, SHA)
    assert title == "Estudo Técnico Preliminar (ETP) - processo 23034.000123/2026-11 - versão 2 - sha256:1a2b3c4d5e6f"
    assert check_titulo(title) == title
    long = publication_title("TR", "9" * 400, 12, SHA, report=True)
    assert len(long) == 255 and long.endswith(f"versão 12 - {marker(SHA)}") and long.startswith("Relatório")


def test_title_replaces_what_iso_8859_1_cannot_carry():
    title = publication_title("ETP", "Processo “especial” – 1", 1, SHA)
    assert check_titulo(title) and "?especial?" in title


def _actor(roles, orgao="Ministério da Educação"):
    return Actor(identifier="p1", name="Pessoa", orgao=orgao, roles=tuple(roles))


@pytest.mark.parametrize("roles", [["equipe_planejamento"], ["autoridade_competente"]])
def test_planning_team_or_authority_of_the_orgao_may_publish(roles):
    check_can_publish(_actor(roles), "ministério  da educação")


@pytest.mark.parametrize(
    "actor",
    [_actor([]), _actor(["autoridade_competente"], orgao="Ministério da Saúde"), _actor(["administrador"])],
)
def test_others_may_not_publish(actor):
    with pytest.raises(ForbiddenError, match="art. 54"):
        check_can_publish(actor, "Ministério da Educação")
