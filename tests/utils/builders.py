"""Builders of test data."""

from __future__ import annotations

import uuid
from typing import Any

from models.crud.apikeys import create_key
from models.crud.documents import Acting, create_document
from models.db import session_scope
from models.document import DocumentCreate
from models.enums import DocumentKind, Role

ORGAO = "Ministério da Gestão e da Inovação em Serviços Públicos"
# the test people of every test database (tests/conftest.py seeds them): two of the planning team, one authority of
# the documents' órgão, one authority of another órgão, one who left
PLANNER, REVIEWER, AUTHORITY, OTHER_AUTHORITY, LEFT = (
    "1234567",
    "7654321",
    "autoridade.mgi",
    "autoridade.outro",
    "9999999",
)
PEOPLE = {
    PLANNER: ("Ana Planejadora", ORGAO, [Role.EQUIPE_PLANEJAMENTO]),
    REVIEWER: ("Bruno Revisor", ORGAO, [Role.EQUIPE_PLANEJAMENTO]),
    AUTHORITY: ("Carla Secretária", ORGAO, [Role.AUTORIDADE_COMPETENTE]),
    OTHER_AUTHORITY: ("Diego Diretor", "Ministério da Saúde", [Role.AUTORIDADE_COMPETENTE]),
    LEFT: ("Elisa Ex-servidora", ORGAO, [Role.EQUIPE_PLANEJAMENTO]),
}


def seed_people(session) -> None:
    """The test people, once per database (idempotent)."""
    from models.crud.people import create_person, deactivate_person, list_people
    from models.person import PersonCreate

    known = {p.identifier for p in list_people(session)}
    for identifier, (name, orgao, roles) in PEOPLE.items():
        if identifier not in known:
            create_person(session, PersonCreate(identifier=identifier, name=name, orgao=orgao, roles=roles))
    deactivate_person(session, LEFT)


def acting(session, identifier: str = PLANNER, app: str = "tests") -> Acting:
    from models.crud.people import acting_person

    return Acting(acting_person(session, identifier), app=app)


def actor(identifier: str = PLANNER) -> dict[str, str]:
    """The header naming who acts in an API request."""
    return {"X-Actor": identifier}


def document_data(kind: str = "ETP", **overrides: Any) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    return {
        "kind": kind,
        "titulo": f"Aquisição de notebooks {tag}",
        "numero_processo": f"23000.{tag}/2026-11",
        "orgao": ORGAO,
        "unidade": "Coordenação-Geral de Logística",
        "context": f"Substituição de 52 computadores de 2016 (lote {tag}).",
        **overrides,
    }


def make_document(url: str, kind: str = "ETP", **overrides: Any) -> uuid.UUID:
    with session_scope(url) as session:
        data = document_data(kind, **overrides)
        data["kind"] = DocumentKind(data["kind"])
        return create_document(session, DocumentCreate(**data), acting(session)).id


def make_key(url: str, scopes: list[str], name: str = "tests", orgaos: list[str] | None = None) -> str:
    with session_scope(url) as session:
        return create_key(session, name, scopes, orgaos)[1]


SAMPLE_TABLE = """Itens estimados:

| Item | Unidade | Quantidade | Preço unitário (R$) |
|---|---|---:|---:|
| Notebook 14" i5, 16 GB | unidade | 48 | 4.850,00 |
| Notebook reserva técnica | unidade | 4 | 4.850,00 |
| Garantia on-site 36 meses | serviço | 52 | 320,00 |"""


def approve_document(url: str, document_id, justify: tuple[str, ...] = ("impactos_ambientais",)) -> None:
    """Fill every section (lists, a table, accents), justify some optional ones, finalise the price research of a
    document that lists items, and approve."""
    from models.crud import documents as crud
    from models.enums import DocumentStatus

    fill_document(url, document_id, justify)
    with session_scope(url) as session:
        listed = bool(crud.get_document(session, document_id).itens)
    if listed:  # approval needs the finalised price research of the items (price_rules.research_for_approval)
        from tests.utils.research import finalise_research

        finalise_research(url, document_id)
    with session_scope(url) as session:
        crud.transition(session, document_id, DocumentStatus.EM_REVISAO, None, acting(session, PLANNER))
        crud.transition(
            session, document_id, DocumentStatus.APROVADO, "Aprovo o documento.", acting(session, AUTHORITY)
        )


def fill_document(url: str, document_id, justify: tuple[str, ...] = ("impactos_ambientais",)) -> None:
    """Fill every section (lists, a table, accents) and justify some optional ones."""
    from models.crud import documents as crud

    with session_scope(url) as session:
        by = acting(session, PLANNER)
        view = crud.document_view(session, document_id)
        for position, section in enumerate(view.template.sections):
            slug = section["slug"]
            if slug in justify and not section["required"]:
                crud.write_field(
                    session,
                    document_id,
                    slug,
                    content=None,
                    justification="Não se aplica: a solução não gera resíduos além da logística "
                    "reversa prevista em contrato.",
                    acting=by,
                )
                continue
            body = (
                f"Texto da seção {section['code']} sobre a ação de contratação, licitação e manutenção do "
                f"órgão, conforme o §2º.\n\n- primeiro ponto **importante**\n- segundo ponto *em itálico*\n\n"
                f"1. etapa um\n2. etapa dois"
            )
            if position == 5:
                body += "\n\n" + SAMPLE_TABLE
            crud.write_field(session, document_id, slug, content=body, justification=None, acting=by)
