"""Status lifecycle and the completeness rules of Lei 14.133/2021 (art. 18 §2º, art. 6º XXIII)."""

import json
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from models.enums import DocumentKind
from models.enums import DocumentStatus as S
from models.errors import ConflictError, ForbiddenError, InvalidError
from models.rules import (
    OFFLINE_BANNER,
    REDACTED_RUN_MESSAGE,
    SIGILOSO_RUN_TAG,
    Actor,
    FieldState,
    IncompleteDocumentError,
    SigiloState,
    TransitionError,
    check_approval,
    check_budget_disclosure,
    check_can_approve,
    check_can_plan,
    check_can_submit,
    check_sigilo,
    check_transition,
    missing_sections,
    run_message,
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


# --- drafts reviewed by a person, unfinished marks (art. 18 §2º, art. 6º XXIII; art. 7º caput) ---------------------


def test_a_provider_draft_counts_only_once_a_person_reviewed_it():
    for provider in ("llm", "offline"):
        fields = {s["slug"]: FILLED for s in TR}
        fields["modelo_gestao"] = FieldState("Texto redigido pelo modelo.", None, provider, reviewed=False)
        [missing] = missing_sections(DocumentKind.TR, TR, fields)
        assert missing["slug"] == "modelo_gestao"
        assert missing["problem"] == f"redigido automaticamente ({provider}) e não revisado por uma pessoa"
        fields["modelo_gestao"] = FieldState("Texto redigido pelo modelo.", None, provider, reviewed=True)
        assert missing_sections(DocumentKind.TR, TR, fields) == []


def test_a_person_written_section_needs_no_review():
    fields = {s["slug"]: FieldState("Texto escrito pela equipe.", None, "human", reviewed=False) for s in TR}
    assert missing_sections(DocumentKind.TR, TR, fields) == []


@pytest.mark.parametrize(
    "content,reason",
    [
        ("Prazo de [PREENCHER: prazo de entrega] dias.", "contém marcação [PREENCHER: …] a completar"),
        ("prazo de [preencher: prazo] dias", "contém marcação [PREENCHER: …] a completar"),
        (OFFLINE_BANNER + "\nTexto.", "contém o aviso de rascunho automático (modo offline)"),
    ],
)
def test_a_section_with_a_fill_in_mark_or_the_offline_banner_blocks_approval_even_reviewed(content, reason):
    fields = {s["slug"]: FILLED for s in ETP}
    fields["requisitos_contratacao"] = FieldState(content, None, "llm", reviewed=True)
    [missing] = missing_sections(DocumentKind.ETP, ETP, fields)
    assert missing["code"] == "III" and missing["problem"] == reason


def test_a_text_that_only_mentions_filling_in_is_not_a_mark():
    fields = {s["slug"]: FILLED for s in ETP}
    fields["requisitos_contratacao"] = FieldState("O licitante deverá preencher a planilha de custos.", None, "human")
    assert missing_sections(DocumentKind.ETP, ETP, fields) == []


# --- who may act: planning team, authority of the órgão, despacho, segregation (art. 7º §1º) --------------------

ORGAO = "Ministério da Gestão e da Inovação em Serviços Públicos"
PLANNER = Actor("1234567", "Ana", ORGAO, ("equipe_planejamento",))
AUTHORITY = Actor("autoridade.mgi", "Carla", ORGAO, ("autoridade_competente",))
BOTH = Actor("7777777", "Gil", ORGAO, ("autoridade_competente", "equipe_planejamento"))


def test_only_the_planning_team_plans():
    check_can_plan(PLANNER)
    check_can_submit(BOTH)
    with pytest.raises(ForbiddenError, match="não integra a equipe de planejamento.*art. 18, caput"):
        check_can_plan(AUTHORITY)


def test_the_authority_of_the_documents_orgao_approves_with_a_despacho():
    check_can_approve(AUTHORITY, ORGAO, {}, "Aprovo o ETP.")
    check_can_approve(AUTHORITY, "  ministério da gestão e da inovação em  serviços públicos ", {}, "Aprovo.")
    with pytest.raises(InvalidError, match="despacho"):
        check_can_approve(AUTHORITY, ORGAO, {}, "   ")
    with pytest.raises(ForbiddenError, match="não é autoridade competente"):
        check_can_approve(PLANNER, ORGAO, {}, "Aprovo.")
    with pytest.raises(ForbiddenError, match="não do órgão do documento"):
        check_can_approve(AUTHORITY, "Ministério da Saúde", {}, "Aprovo.")


def test_whoever_wrote_asked_justified_or_reviewed_a_section_may_not_approve_it():
    check_can_approve(BOTH, ORGAO, {PLANNER.identifier: {"escreveu requisitos"}}, "Aprovo.")
    for act in (
        "escreveu requisitos",
        "pediu a redação de requisitos",
        "justificou impactos_ambientais",
        "revisou requisitos",
    ):
        with pytest.raises(ForbiddenError) as caught:
            check_can_approve(BOTH, ORGAO, {BOTH.identifier: {act}}, "Aprovo.")
        assert act in caught.value.message and "art. 7º, §1º" in caught.value.message
        assert "segregação de funções" in caught.value.message and caught.value.details["rule"] == "art. 7º, §1º"


# --- the orçamento sigiloso (art. 24) --------------------------------------------------------------------------


def test_a_sigiloso_budget_needs_a_justification_and_is_not_possible_under_maior_desconto():
    check_sigilo(False, None, "maior_desconto")  # public: nothing to justify
    check_sigilo(True, "Mercado concentrado.", "menor_preco")
    check_sigilo(True, "Mercado concentrado.", None)
    for empty in (None, "", "   "):
        with pytest.raises(InvalidError, match="exige justificativa.*art. 24"):
            check_sigilo(True, empty, "menor_preco")
    with pytest.raises(InvalidError, match="maior desconto.*parágrafo único"):
        check_sigilo(True, "Mercado concentrado.", "maior_desconto")


# --- the end of the sigilo (art. 18, §1º, VI: "até a conclusão da licitação") -----------------------------------

TODAY = date(2026, 12, 3)
APPROVED = date(2026, 10, 1)
SIGILOSO = SigiloState(orgao=ORGAO, status=S.CONSOLIDADO, sigiloso=True, disclosed_on=None, approved_on=APPROVED)
ACT = "Termo de homologação do Pregão Eletrônico nº 90012/2026"
WHY = "Licitação concluída: o sigilo do art. 24 não se justifica mais."


def test_the_authority_ends_the_sigilo_of_an_approved_document_on_a_date_between_the_approval_and_today():
    for status in (S.APROVADO, S.CONSOLIDADO):
        for day in (APPROVED, TODAY):  # both limits are allowed
            check_budget_disclosure(AUTHORITY, replace(SIGILOSO, status=status), ACT, day, WHY, TODAY)
    with pytest.raises(InvalidError, match="é futura"):
        check_budget_disclosure(AUTHORITY, SIGILOSO, ACT, TODAY + timedelta(days=1), WHY, TODAY)
    with pytest.raises(InvalidError, match="anterior à aprovação"):
        check_budget_disclosure(AUTHORITY, SIGILOSO, ACT, APPROVED - timedelta(days=1), WHY, TODAY)
    for act, why in ((" ", WHY), (ACT, "")):
        with pytest.raises(InvalidError, match="exige o ato.*art. 18, §1º, VI"):
            check_budget_disclosure(AUTHORITY, SIGILOSO, act, TODAY, why, TODAY)


def test_only_the_competent_authority_of_the_orgao_ends_the_sigilo():
    for who in (PLANNER, replace(AUTHORITY, orgao="Ministério da Saúde")):
        with pytest.raises(ForbiddenError, match="não é autoridade competente do órgão") as caught:
            check_budget_disclosure(who, SIGILOSO, ACT, TODAY, WHY, TODAY)
        assert caught.value.details["rule"] == "art. 18, §1º, VI"
    check_budget_disclosure(BOTH, SIGILOSO, ACT, TODAY, WHY, TODAY)


def test_there_is_a_sigilo_to_end_once_and_only_after_the_planning_was_approved():
    with pytest.raises(ConflictError, match="não é sigiloso"):
        check_budget_disclosure(AUTHORITY, replace(SIGILOSO, sigiloso=False), ACT, TODAY, WHY, TODAY)
    with pytest.raises(ConflictError, match="já foi encerrado por ato de 01/11/2026"):
        check_budget_disclosure(AUTHORITY, replace(SIGILOSO, disclosed_on=date(2026, 11, 1)), ACT, TODAY, WHY, TODAY)
    for status in (S.RASCUNHO, S.EM_REVISAO, S.DEVOLVIDO, S.CANCELADO):
        with pytest.raises(ConflictError, match="conclusão da licitação"):
            check_budget_disclosure(AUTHORITY, replace(SIGILOSO, status=status), ACT, TODAY, WHY, TODAY)


def test_a_run_of_a_sigiloso_document_does_not_tell_its_message():
    quoted = "Texto gerado recusado: 'o valor estimado é R$ 987.654,32'"
    assert run_message(["nexora", SIGILOSO_RUN_TAG], quoted) == REDACTED_RUN_MESSAGE
    assert "art. 24" in REDACTED_RUN_MESSAGE and "sigiloso" in REDACTED_RUN_MESSAGE
    assert run_message(["nexora", "document:1"], quoted) == quoted
    assert run_message([SIGILOSO_RUN_TAG], None) is None
