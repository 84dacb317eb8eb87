"""Business rules as plain functions: the status lifecycle and the completeness rules of the law."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from models.enums import DocumentKind
from models.enums import DocumentStatus as S

TRANSITIONS: dict[S, tuple[S, ...]] = {
    S.RASCUNHO: (S.EM_REVISAO, S.CANCELADO),
    S.EM_REVISAO: (S.APROVADO, S.DEVOLVIDO, S.CANCELADO),
    S.DEVOLVIDO: (S.RASCUNHO, S.EM_REVISAO, S.CANCELADO),
    S.APROVADO: (S.CANCELADO,),  # aprovado → consolidado only through consolidation (consolidate-document)
    S.CONSOLIDADO: (S.CANCELADO,),  # edits after consolidation need a new version (new_version)
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

    @property
    def filled(self) -> bool:
        return bool(self.content and self.content.strip())

    @property
    def justified(self) -> bool:
        return bool(self.justification and self.justification.strip())


def missing_sections(
    kind: DocumentKind, sections: Iterable[Mapping[str, Any]], fields: Mapping[str, FieldState]
) -> list[dict[str, str]]:
    """What blocks approval.

    ETP (Lei 14.133/2021 art. 18 §2º): the required elements (I, IV, VI, VIII, XIII) must be
    filled; every other element must be filled or carry a justification for leaving it out.
    TR (art. 6º XXIII): every alínea must be filled.
    """
    missing: list[dict[str, str]] = []
    for section in sections:
        state = fields.get(section["slug"], FieldState(None, None))
        if state.filled:
            continue
        if kind is DocumentKind.ETP and not section.get("required", True) and state.justified:
            continue
        if kind is DocumentKind.ETP and not section.get("required", True):
            problem = "não preenchido nem justificado (art. 18, §2º)"
        elif kind is DocumentKind.ETP:
            problem = "obrigatório pelo art. 18, §2º, e não preenchido"
        else:
            problem = "alínea obrigatória do art. 6º, XXIII, não preenchida"
        missing.append(
            {
                "slug": section["slug"],
                "code": section.get("code", ""),
                "title": section.get("title", ""),
                "problem": problem,
            }
        )
    return missing


def check_approval(kind: DocumentKind, sections: Iterable[Mapping[str, Any]], fields: Mapping[str, FieldState]) -> None:
    missing = missing_sections(kind, sections, fields)
    if missing:
        raise IncompleteDocumentError(missing)
