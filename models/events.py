"""The event types the system emits, with their Portuguese names (used in e-mail subjects and by the API)."""

from __future__ import annotations

EVENT_TYPES: dict[str, str] = {
    "document.submitted": "Documento enviado para revisão",
    "document.returned": "Documento devolvido para ajustes",
    "document.approved": "Documento aprovado",
    "document.consolidated": "Documento consolidado",
    "document.signed": "Documento assinado",
    "document.published": "Documento publicado no PNCP",
    "document.budget_disclosed": "Sigilo do orçamento encerrado",
    "generation.failed": "Falha na redação por IA",
    "consolidation.failed": "Falha na consolidação",
    "flow_run.failed": "Execução com falha ou interrompida",
}
WILDCARD = "*"


def check_event_types(types: list[str]) -> list[str]:
    """The given types, de-duplicated in order; unknown ones raise ValueError naming the valid ones."""
    unknown = [t for t in types if t != WILDCARD and t not in EVENT_TYPES]
    if unknown:
        raise ValueError(
            f"tipo de evento desconhecido: {', '.join(unknown)}. Tipos válidos: "
            f"{', '.join(EVENT_TYPES)} (ou '{WILDCARD}' para todos)."
        )
    return list(dict.fromkeys(types))
