"""Who signs a consolidated document, in which order, and where each signature goes on the last page.

Lei nº 14.133/2021, art. 12, VI: "os atos serão preferencialmente digitais, de forma a permitir que sejam
produzidos, comunicados, armazenados e validados por meio eletrônico". The signatures are those of the people the
document names: who prepared it (the planning team), then the competent authority who approved it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from models.enums import DocumentStatus as S
from models.errors import ConflictError, ForbiddenError

ART_12_VI = (
    'art. 12, VI, da Lei nº 14.133/2021 ("os atos serão preferencialmente digitais, de forma a permitir que sejam '
    'produzidos, comunicados, armazenados e validados por meio eletrônico")'
)
PREPARED = "equipe_planejamento"
APPROVED = "autoridade_competente"
ROLE_LABELS = {PREPARED: "Elaboração", APPROVED: "Aprovação"}
# the signature page: A4 in points, margins of the rendered document
PAGE_WIDTH, PAGE_HEIGHT = 595, 842
LEFT_MARGIN, RIGHT_MARGIN = 85, 57  # the rendered document's margins (3 cm and 2 cm: tasks/render/pdf_base.py)
TOP, BOX_HEIGHT, ROW_GAP, COLUMN_GAP = 730, 62, 26, 18
MAX_ROWS = 8


@dataclass(frozen=True)
class NamedSigner:
    seq: int  # 1 = the first the document names
    identifier: str
    name: str
    role: str  # PREPARED or APPROVED

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


def signing_order(responsibles: dict[str, Any]) -> list[NamedSigner]:
    """The people the document names, in its order: who prepared it, then the authority who approved it
    (models.crud.documents.responsibles)."""
    named = [(identifier, name, PREPARED) for name, identifier in responsibles.get("prepared_by") or []]
    if responsibles.get("approved_by"):
        name, identifier = responsibles["approved_by"]
        named.append((identifier, name, APPROVED))
    return [NamedSigner(i + 1, identifier, name, role) for i, (identifier, name, role) in enumerate(named)]


def next_signer(order: list[NamedSigner], signed: Iterable[str]) -> NamedSigner | None:
    """The first named person who has not signed; None when all have."""
    done = set(signed)
    return next((s for s in order if s.identifier not in done), None)


def check_may_sign(status: str, order: list[NamedSigner], signed: Iterable[str], person: str) -> NamedSigner:
    """A person signs a consolidated document only if the document names them, and only in its order (who prepared
    it, then who approved it), once. Refusals: not named → 403; not consolidated, out of order, already signed → 409."""
    done = set(signed)
    mine = next((s for s in order if s.identifier == person), None)
    if mine is None:
        names = ", ".join(f"{s.name} ({s.identifier})" for s in order) or "ninguém"
        raise ForbiddenError(
            f"{person} não está entre as pessoas que o documento nomeia e não pode assiná-lo; assinam, nesta ordem, "
            f"quem o elaborou e quem o aprovou: {names} ({ART_12_VI}).",
            rule="art. 12, VI",
        )
    if status != S.CONSOLIDADO:
        raise ConflictError(
            f"Só um documento consolidado recebe assinaturas; este está '{status}'.", status=str(status)
        )
    if person in done:
        raise ConflictError(f"{mine.name} ({person}) já assinou esta versão do documento.")
    expected = next_signer(order, done)
    if expected is not None and expected.identifier != person:
        raise ConflictError(
            f"Fora da ordem: a próxima assinatura é de {expected.name} ({expected.identifier}, "
            f"{expected.role_label.lower()}); {mine.name} assina na posição {mine.seq} de {len(order)}.",
            expected=expected.identifier,
        )
    return mine


def signature_box(index: int, total: int) -> tuple[int, int, int, int]:
    """The rectangle (x1, y1, x2, y2, in points) of the ``index``-th signature (0-based) of ``total`` on the signature
    page: one column up to 8 signers, two columns up to 16; below the page's heading, never overlapping."""
    if not 0 <= index < total or total > 2 * MAX_ROWS:
        raise ValueError(f"assinatura {index + 1} de {total}: a página comporta até {2 * MAX_ROWS} assinaturas")
    columns = 1 if total <= MAX_ROWS else 2
    width = (PAGE_WIDTH - LEFT_MARGIN - RIGHT_MARGIN - (columns - 1) * COLUMN_GAP) // columns
    row, column = divmod(index, columns)
    x1 = LEFT_MARGIN + column * (width + COLUMN_GAP)
    y2 = TOP - row * (BOX_HEIGHT + ROW_GAP)
    return (x1, y2 - BOX_HEIGHT, x1 + width, y2)
