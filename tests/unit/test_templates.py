"""Template validation names the offending section; the seeds are valid."""

import copy
import json
from pathlib import Path

import pytest

from models.crud.templates import load_spec_file, parse_spec
from models.errors import InvalidError

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def etp_raw():
    return json.loads((SEEDS / "etp.json").read_text(encoding="utf-8"))


def test_seeds_parse_and_keep_portuguese_text():
    spec = load_spec_file(SEEDS / "etp.json")
    assert len(spec.sections) == 13 and "contratação" in spec.sections[0].legal_text
    assert len(load_spec_file(SEEDS / "tr.json").sections) == 10


@pytest.mark.parametrize(
    "mutate,expected",
    [
        (lambda r: r["sections"][2].pop("guidance"), "seção 3 ('requisitos_contratacao'): guidance"),
        (lambda r: r["sections"][4].update(slug="Levantamento Mercado"), "seção 5 ('Levantamento Mercado'): slug"),
        (
            lambda r: r["sections"][6].update(slug=r["sections"][0]["slug"]),
            "seção 7 ('descricao_necessidade'): slug repetido",
        ),
        (
            lambda r: r["sections"][1].update(market_data="internet"),
            "seção 2 ('alinhamento_plano_contratacoes'): market_data",
        ),
        (lambda r: r.update(kind="EDITAL"), "kind"),
        (  # a misspelled key is refused, not dropped (the section would keep no guidance of its own)
            lambda r: r["sections"][2].update(guidence="Descreva os requisitos."),
            "seção 3 ('requisitos_contratacao'): guidence: campo não previsto nesta operação",
        ),
        (lambda r: r.update(descricao="Modelo"), "descricao: campo não previsto nesta operação"),
        (lambda r: r.update(sections=[]), "sections"),
    ],
)
def test_bad_template_names_the_section(mutate, expected):
    raw = copy.deepcopy(etp_raw())
    mutate(raw)
    with pytest.raises(InvalidError) as caught:
        parse_spec(raw)
    assert expected in caught.value.message


def test_bad_json_file_gives_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"name": "x",\n  "kind": }', encoding="utf-8")
    with pytest.raises(InvalidError, match="linha 2"):
        load_spec_file(path)


def test_content_hash_ignores_version_but_not_content():
    a = parse_spec(etp_raw())
    raw = etp_raw()
    raw["version"] = 7
    assert parse_spec(raw).content_hash() == a.content_hash()
    raw["sections"][0]["guidance"] += " Inclua a fonte dos dados."
    assert parse_spec(raw).content_hash() != a.content_hash()


def test_a_template_as_read_can_be_posted_back():
    """The keys only a read answers with (id, content_hash, created_at) are dropped; any other unknown key is not."""
    raw = {**etp_raw(), "id": "5f0c…", "content_hash": "ab12", "created_at": "2026-12-04T10:00:00Z"}
    assert parse_spec(raw).content_hash() == parse_spec(etp_raw()).content_hash()
