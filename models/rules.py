"""Business rules as plain functions: the status lifecycle, the completeness rules of the law, who may act.

Each rule quotes its article; its refusal names it (Lei nº 14.133/2021 unless said otherwise)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from models.enums import CriterioJulgamento, DocumentKind, FieldSource, Role
from models.enums import DocumentStatus as S
from models.errors import ConflictError, ForbiddenError, InvalidError

# what a drafted text holds where a person must still complete it (tasks/llm/prompts.py writes them)
MISSING_MARK = "[PREENCHER:"
OFFLINE_BANNER = "[Rascunho automático sem modelo de linguagem (modo offline): revise e complete antes de aprovar.]"
# texts no person of this case wrote: a provider's draft, or a section copied from another document (clone)
PROVIDERS = (FieldSource.LLM, FieldSource.OFFLINE, FieldSource.COPIA)

TRANSITIONS: dict[S, tuple[S, ...]] = {
    S.RASCUNHO: (S.EM_REVISAO, S.CANCELADO),
    S.EM_REVISAO: (S.APROVADO, S.DEVOLVIDO, S.CANCELADO),
    S.DEVOLVIDO: (S.RASCUNHO, S.EM_REVISAO, S.CANCELADO),
    S.APROVADO: (S.CANCELADO,),  # aprovado → consolidado only through consolidation (consolidate-document)
    S.CONSOLIDADO: (S.CANCELADO,),  # edits after consolidation need a new version (new_version)
    S.ASSINADO: (S.CANCELADO,),  # consolidado → assinado only through sign-document, when the last person signed
    S.PUBLICADO: (S.CANCELADO,),  # consolidado/assinado → publicado only through publish-pncp
    S.CANCELADO: (),
}
REASON_REQUIRED = {S.DEVOLVIDO, S.CANCELADO}
EDITABLE = {S.RASCUNHO, S.DEVOLVIDO}


class TransitionError(Exception):
    """An illegal status change: carries the statuses allowed from the current one."""

    def __init__(self, current: S, target: S, allowed: tuple[S, ...], message: str):
        super().__init__(message)
        self.current, self.target, self.allowed = current, target, allowed


class IncompleteDocumentError(Exception):
    """Approval refused: lists the sections that are missing."""

    def __init__(self, missing: list[dict[str, str]]):
        self.missing = missing
        names = ", ".join(f"{m['code']} ({m['slug']})" for m in missing)
        super().__init__(f"Documento incompleto; faltam: {names}")


def allowed_transitions(current: S) -> tuple[S, ...]:
    return TRANSITIONS[current]


def check_transition(current: S, target: S, reason: str | None) -> None:
    allowed = TRANSITIONS[current]
    if target not in allowed:
        names = ", ".join(a.value for a in allowed) or "nenhuma (estado final)"
        raise TransitionError(
            current,
            target,
            allowed,
            f"Transição inválida de '{current.value}' para '{target.value}'. Permitidas: {names}.",
        )
    if target in REASON_REQUIRED and not (reason and reason.strip()):
        raise TransitionError(
            current, target, allowed, f"A transição para '{target.value}' exige um motivo (campo 'reason')."
        )


@dataclass(frozen=True)
class FieldState:
    content: str | None
    justification: str | None
    source: FieldSource | str | None = None  # who wrote the content: human, or a provider (llm, offline)
    reviewed: bool = False  # a person marked the current content reviewed

    @property
    def filled(self) -> bool:
        return bool(self.content and self.content.strip())

    @property
    def justified(self) -> bool:
        return bool(self.justification and self.justification.strip())


def unfinished_marks(content: str | None) -> list[str]:
    """What in a text says it is not finished: the ``[PREENCHER: …]`` marks the drafter leaves where a fact is
    missing, and the banner of a draft written without a model."""
    text = content or ""
    found = []
    if MISSING_MARK.lower() in text.lower():
        found.append("contém marcação [PREENCHER: …] a completar")
    if OFFLINE_BANNER[:40] in text:
        found.append("contém o aviso de rascunho automático (modo offline)")
    return found


def missing_sections(
    kind: DocumentKind, sections: Iterable[Mapping[str, Any]], fields: Mapping[str, FieldState]
) -> list[dict[str, str]]:
    """What blocks approval, section by section, each with its reason.

    ETP — Lei 14.133/2021, art. 18, §2º: "O estudo técnico preliminar a que se refere o inciso I do caput deste artigo
    deverá conter ao menos os elementos previstos nos incisos I, IV, VI, VIII e XIII do § 1º deste artigo e, quando não
    contemplar os demais elementos previstos no referido parágrafo, apresentar as devidas justificativas." The required
    elements must be filled; every other one filled or justified.
    TR — art. 6º, XXIII: the termo de referência "deve conter os seguintes parâmetros e elementos descritivos" (alíneas
    a to j): every alínea must be filled.
    Filled means finished and owned by a person: a text that still holds a ``[PREENCHER`` mark or the offline banner
    is not filled, and a text a provider (LLM or offline) wrote, or one copied from another document, counts only
    once a person reviewed it — the ETP and
    the TR are acts of the designated agents (art. 7º, caput; art. 18, caput), not of the software.
    """
    missing: list[dict[str, str]] = []
    for section in sections:
        state = fields.get(section["slug"], FieldState(None, None))
        optional = kind is DocumentKind.ETP and not section.get("required", True)
        problems: list[str] = []
        if state.filled:
            problems += unfinished_marks(state.content)
            if state.source == FieldSource.COPIA and not state.reviewed:
                problems.append("copiado de outro documento e não revisado por uma pessoa")
            elif state.source in PROVIDERS and not state.reviewed:
                problems.append(f"redigido automaticamente ({state.source}) e não revisado por uma pessoa")
        elif optional and state.justified:
            continue
        elif optional:
            problems.append("não preenchido nem justificado (art. 18, §2º)")
        elif kind is DocumentKind.ETP:
            problems.append("obrigatório pelo art. 18, §2º, e não preenchido")
        else:
            problems.append("alínea obrigatória do art. 6º, XXIII, não preenchida")
        if problems:
            missing.append(
                {
                    "slug": section["slug"],
                    "code": section.get("code", ""),
                    "title": section.get("title", ""),
                    "problem": "; ".join(problems),
                }
            )
    return missing


def check_approval(kind: DocumentKind, sections: Iterable[Mapping[str, Any]], fields: Mapping[str, FieldState]) -> None:
    missing = missing_sections(kind, sections, fields)
    if missing:
        raise IncompleteDocumentError(missing)


# --- who may act -------------------------------------------------------------------------------------------------

SEGREGATION = (
    'Lei 14.133/2021, art. 7º, §1º: "A autoridade referida no caput deste artigo deverá observar o princípio da '
    "segregação de funções, vedada a designação do mesmo agente público para atuação simultânea em funções mais "
    "suscetíveis a riscos, de modo a reduzir a possibilidade de ocultação de erros e de ocorrência de fraudes na "
    'respectiva contratação."'
)


@dataclass(frozen=True)
class Actor:
    """The person acting, as the rules need them."""

    identifier: str
    name: str
    orgao: str
    roles: tuple[str, ...]
    active: bool = True

    def has(self, role: Role) -> bool:
        return role.value in self.roles


def same_orgao(a: str, b: str) -> bool:
    """Two spellings of one órgão: case and runs of spaces do not matter."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def check_can_plan(actor: Actor) -> None:
    """Writing, drafting, justifying, reviewing and submitting an ETP/TR are acts of the planning team.

    Lei 14.133/2021, art. 18, caput: "A fase preparatória do processo licitatório é caracterizada pelo planejamento
    (…)"; art. 7º, caput: the authority designates the agents "para o desempenho das funções essenciais à execução
    desta Lei". A person not designated to the planning team (role ``equipe_planejamento``) does not act on it."""
    if not actor.has(Role.EQUIPE_PLANEJAMENTO):
        raise ForbiddenError(
            f"{actor.name} ({actor.identifier}) não integra a equipe de planejamento da contratação: elaborar, "
            "revisar e submeter o ETP/TR cabe aos agentes designados (Lei 14.133/2021, art. 7º, caput, e art. 18, "
            "caput). Peça ao administrador o papel 'equipe_planejamento'.",
            rule="art. 18, caput",
        )


def check_can_approve(actor: Actor, document_orgao: str, authors: Mapping[str, set[str]], reason: str | None) -> None:
    """Approval (to ``aprovado``) is an act of the competent authority of the document's órgão, with its despacho,
    by someone who took no part in writing the current version.

    - The authority: Lei 14.133/2021, art. 7º, caput, and art. 18 (the planning approved by the competent authority);
      the person has the role ``autoridade_competente`` and belongs to the document's órgão.
    - The despacho: ``reason`` is required (the motivação, art. 5º).
    - Segregation of functions, art. 7º, §1º (quoted in SEGREGATION): whoever wrote, drafted (asked for a draft),
      justified or reviewed any section of the current version (``authors``: identifier → what they did) may not
      approve it.
    """
    if not (reason and reason.strip()):
        raise InvalidError(
            "A aprovação exige o despacho da autoridade competente (campo 'reason'): a motivação do ato "
            "(Lei 14.133/2021, art. 5º, princípio da motivação)."
        )
    if not actor.has(Role.AUTORIDADE_COMPETENTE):
        raise ForbiddenError(
            f"{actor.name} ({actor.identifier}) não é autoridade competente: a aprovação do ETP/TR cabe à autoridade "
            "competente (Lei 14.133/2021, art. 7º, caput, e art. 18).",
            rule="art. 18",
        )
    if not same_orgao(actor.orgao, document_orgao):
        raise ForbiddenError(
            f"{actor.name} ({actor.identifier}) é autoridade de '{actor.orgao}', não do órgão do documento "
            f"('{document_orgao}').",
            rule="art. 18",
        )
    acts = authors.get(actor.identifier)
    if acts:
        raise ForbiddenError(
            f"{actor.name} ({actor.identifier}) não pode aprovar este documento: {', '.join(sorted(acts))} na versão "
            f"atual. Segregação de funções — {SEGREGATION}",
            rule="art. 7º, §1º",
        )


def check_can_submit(actor: Actor) -> None:
    """Submitting for review (``em_revisao``) is an act of the planning team (art. 18, caput): check_can_plan."""
    check_can_plan(actor)


def check_can_consolidate(actor: Actor) -> None:
    """Consolidating an approved document into its files is done by the planning team or the authority."""
    if not actor.has(Role.AUTORIDADE_COMPETENTE):
        check_can_plan(actor)


def check_can_publish(actor: Actor, document_orgao: str) -> None:
    """Publishing the planning's files on PNCP is the órgão's own act: done by its planning team or its competent
    authority, not by someone of another órgão.

    Lei 14.133/2021, art. 54: "A publicidade do edital de licitação será realizada mediante divulgação e manutenção do
    inteiro teor do ato convocatório e de seus anexos no Portal Nacional de Contratações Públicas (PNCP)"; art. 7º,
    caput: the authority designates the agents who carry out this Law's functions."""
    if not (actor.has(Role.AUTORIDADE_COMPETENTE) or actor.has(Role.EQUIPE_PLANEJAMENTO)) or not same_orgao(
        actor.orgao, document_orgao
    ):
        raise ForbiddenError(
            f"{actor.name} ({actor.identifier}) não integra a equipe de planejamento nem é autoridade competente do "
            f"órgão '{document_orgao}': publicar os documentos do planejamento no PNCP é ato do órgão "
            "(Lei 14.133/2021, art. 54 e art. 7º, caput).",
            rule="art. 54",
        )


# --- the orçamento sigiloso (art. 24) ------------------------------------------------------------------------------

ART_24 = (
    'Lei 14.133/2021, art. 24: "Desde que justificado, o orçamento estimado da contratação poderá ter caráter '
    "sigiloso, sem prejuízo da divulgação do detalhamento dos quantitativos e das demais informações necessárias "
    'para a elaboração das propostas (…)"'
)
ART_24_SOLE = (
    'Lei 14.133/2021, art. 24, parágrafo único: "Na hipótese de licitação em que for adotado o critério de '
    'julgamento por maior desconto, o preço estimado ou o máximo aceitável constará do edital da licitação."'
)


def check_sigilo(sigiloso: bool, justificativa: str | None, criterio: str | None) -> None:
    """An orçamento sigiloso needs its justification (art. 24, caput: "Desde que justificado") and is not possible
    when the proposals are judged by maior desconto (art. 24, parágrafo único: the estimate goes in the edital)."""
    if not sigiloso:
        return
    if not (justificativa and justificativa.strip()):
        raise InvalidError(
            "O orçamento sigiloso exige justificativa (campo 'orcamento_sigiloso_justificativa'). " + ART_24,
            campo="orcamento_sigiloso_justificativa",
        )
    if criterio == CriterioJulgamento.MAIOR_DESCONTO:
        raise InvalidError(
            "Com o critério de julgamento por maior desconto o orçamento não pode ser sigiloso: o preço estimado "
            "ou o máximo aceitável consta do edital. " + ART_24_SOLE,
            campo="orcamento_sigiloso",
        )


ART_18_VI = (
    'Lei 14.133/2021, art. 18, §1º, VI: "estimativa do valor da contratação, acompanhada dos preços unitários '
    "referenciais, das memórias de cálculo e dos documentos que lhe dão suporte, que poderão constar de anexo "
    'classificado, se a Administração optar por preservar o seu sigilo até a conclusão da licitação"'
)
DISCLOSABLE = (S.APROVADO, S.CONSOLIDADO, S.ASSINADO, S.PUBLICADO)
# the statuses of a consolidated version: its files are frozen; a change needs a new version
FROZEN = (S.CONSOLIDADO, S.ASSINADO, S.PUBLICADO)


@dataclass(frozen=True)
class SigiloState:
    """What the end of a document's sigilo depends on."""

    orgao: str
    status: S
    sigiloso: bool
    disclosed_on: date | None  # the date of an earlier act that ended it
    approved_on: date | None  # the day the current version was approved


def check_budget_disclosure(
    actor: Actor, document: SigiloState, act: str, act_date: date, reason: str, today: date
) -> None:
    """The sigilo of the orçamento estimado ends by an act of the competent authority once the licitação is over.

    - Art. 18, §1º, VI (quoted in ART_18_VI): the estimate is kept in a classified annex "até a conclusão da
      licitação" — so there is a sigilo to end (the document is sigiloso and not yet disclosed), and the licitação
      can only have run on an approved planning (status ``aprovado`` or ``consolidado``; the act is not dated
      before that approval, nor in the future).
    - Art. 24 (quoted in ART_24): the sigilo is a decision of the Administração, "desde que justificado"; ending it
      is an act of the same level — the competent authority of the document's órgão (art. 7º, caput, art. 18),
      with the act named and its reason.
    """
    if not document.sigiloso:
        raise ConflictError("O orçamento deste documento não é sigiloso: não há sigilo a encerrar.")
    if document.disclosed_on is not None:
        raise ConflictError(
            f"O sigilo do orçamento já foi encerrado por ato de {document.disclosed_on:%d/%m/%Y}; o ato não se repete."
        )
    if document.status not in DISCLOSABLE:
        raise ConflictError(
            f"O documento está '{document.status}': o sigilo termina com a conclusão da licitação, que só ocorre "
            "depois da aprovação do planejamento (situação 'aprovado' ou 'consolidado'). " + ART_18_VI,
            status=str(document.status),
        )
    if not actor.has(Role.AUTORIDADE_COMPETENTE) or not same_orgao(actor.orgao, document.orgao):
        raise ForbiddenError(
            f"{actor.name} ({actor.identifier}) não é autoridade competente do órgão '{document.orgao}': encerrar o "
            "sigilo do orçamento é ato da autoridade competente (Lei 14.133/2021, art. 24 e art. 18, §1º, VI).",
            rule="art. 18, §1º, VI",
        )
    if not (act and act.strip()) or not (reason and reason.strip()):
        raise InvalidError("O encerramento do sigilo exige o ato ('act') e o motivo ('reason'). " + ART_18_VI)
    if act_date > today:
        raise InvalidError(
            f"A data do ato ({act_date:%d/%m/%Y}) é futura; hoje é {today:%d/%m/%Y}: o sigilo só termina com a "
            "licitação concluída.",
            campo="date",
        )
    if document.approved_on is not None and act_date < document.approved_on:
        raise InvalidError(
            f"A data do ato ({act_date:%d/%m/%Y}) é anterior à aprovação do documento "
            f"({document.approved_on:%d/%m/%Y}): a licitação não pode ter sido concluída antes do seu planejamento.",
            campo="date",
        )


# --- runs of a document with a sigiloso estimate (art. 24) --------------------------------------------------------

SIGILOSO_RUN_TAG = "sigiloso"
REDACTED_RUN_MESSAGE = (
    "Mensagem omitida: execução de um documento com orçamento sigiloso (art. 24 da Lei 14.133/2021); a mensagem "
    "pode citar a estimativa e só é lida pela API com o escopo 'sigiloso'."
)


def run_message(tags: Iterable[str], message: str | None) -> str | None:
    """A run's state message as told to those without the 'sigiloso' scope (subscribers, other keys): a run of a
    document whose estimate was sigiloso when it started (tag ``sigiloso``) may quote it, so it is not told."""
    if message and SIGILOSO_RUN_TAG in set(tags):
        return REDACTED_RUN_MESSAGE
    return message
