"""Status lifecycle and the completeness rules of Lei 14.133/2021 (art. 18 §2º, art. 6º XXIII)."""

import json
from pathlib import Path

import pytest

from models.enums import DocumentKind
from models.enums import DocumentStatus as S
from models.rules import (
    FieldState,
    IncompleteDocumentError,
    TransitionError,
    check_approval,
    check_transition,
    missing_sections,
)

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
ETP = json.loads((SEEDS / "etp.json").read_text(encoding="utf-8"))["sections"]
TR = json.loads((SEEDS / "tr.json").read_text(encoding="utf-8"))["sections"]
FILLED = FieldState("texto", None)
JUSTIFIED = FieldState(None, "não se aplica: contratação sem elementos correlatos")
EMPTY = FieldState(None, None)


@pytest.mark.parametrize(
    "current,target",
    [
        (S.RASCUNHO, S.EM_REVISAO),
        (S.EM_REVISAO, S.APROVADO),
        (S.DEVOLVIDO, S.RASCUNHO),
        (S.DEVOLVIDO, S.EM_REVISAO),
        (S.APROVADO, S.CANCELADO),
    ],
)
def test_legal_transitions_pass(current, target):
    check_transition(current, target, "motivo")


@pytest.mark.parametrize(
    "current,target",
    [
        (S.RASCUNHO, S.APROVADO),
        (S.APROVADO, S.RASCUNHO),
        (S.CANCELADO, S.RASCUNHO),
        (S.EM_REVISAO, S.EM_REVISAO),
    ],
)
def test_illegal_transitions_list_the_allowed_ones(current, target):
    with pytest.raises(TransitionError) as caught:
        check_transition(current, target, None)
    assert set(caught.value.allowed) == set(__import__("models.rules").rules.TRANSITIONS[current])
    assert "Permitidas" in str(caught.value)


@pytest.mark.parametrize("target", [S.DEVOLVIDO, S.CANCELADO])
def test_return_and_cancel_need_a_reason(target):
    with pytest.raises(TransitionError, match="exige um motivo"):
        check_transition(S.EM_REVISAO, target, "  ")


def test_etp_seed_has_the_thirteen_elements_with_the_mandatory_five():
    assert [s["code"] for s in ETP] == "I II III IV V VI VII VIII IX X XI XII XIII".split()
    assert [s["code"] for s in ETP if s["required"]] == ["I", "IV", "VI", "VIII", "XIII"]
    assert [s["code"] for s in TR] == list("abcdefghij") and all(s["required"] for s in TR)


def test_etp_complete_when_required_filled_and_others_filled_or_justified():
    fields = {s["slug"]: FILLED if s["required"] else JUSTIFIED for s in ETP}
    check_approval(DocumentKind.ETP, ETP, fields)


def test_etp_required_element_cannot_be_only_justified():
    fields = {s["slug"]: FILLED for s in ETP}
    fields["estimativa_valor"] = JUSTIFIED
    missing = missing_sections(DocumentKind.ETP, ETP, fields)
    assert [m["code"] for m in missing] == ["VI"]
    assert "obrigatório" in missing[0]["problem"]


def test_etp_optional_element_neither_filled_nor_justified_blocks_approval():
    fields = {s["slug"]: FILLED for s in ETP}
    fields["impactos_ambientais"] = EMPTY
    fields["contratacoes_correlatas"] = FieldState("   ", "  ")
    with pytest.raises(IncompleteDocumentError) as caught:
        check_approval(DocumentKind.ETP, ETP, fields)
    assert [m["code"] for m in caught.value.missing] == ["XI", "XII"]


def test_tr_missing_alinea_is_listed_and_justification_does_not_count():
    fields = {s["slug"]: FILLED for s in TR}
    fields["adequacao_orcamentaria"] = JUSTIFIED
    assert [m["code"] for m in missing_sections(DocumentKind.TR, TR, fields)] == ["j"]
