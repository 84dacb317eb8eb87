"""The body's people (admin scope): who plans (equipe_planejamento) and who approves (autoridade_competente).

Requests that change a document name one of them in the header X-Actor; API keys identify the calling app."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from deployments.api.deps import AdminKey, SessionDep
from models.crud import people as crud
from models.person import Person, PersonCreate, PersonPublic

router = APIRouter(prefix="/api/v1/people", tags=["people"])


def public(person: Person) -> PersonPublic:
    return PersonPublic.model_validate(person, from_attributes=True)


@router.post(
    "",
    response_model=PersonPublic,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": PersonPublic, "description": "A mesma pessoa já registrada: devolvida sem mudança"}},
)
def create_person(session: SessionDep, _: AdminKey, body: PersonCreate, response: Response) -> PersonPublic:
    """Register a person of the body: identifier (a SIAPE matrícula or another of the body's numbers, never a CPF),
    name, órgão, roles. The same person again: 200, unchanged; another person under the identifier: 409."""
    person, created = crud.create_person(session, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return public(person)


@router.get("", response_model=list[PersonPublic])
def read_people(
    session: SessionDep,
    _: AdminKey,
    active: bool | None = None,
    orgao: Annotated[str | None, Query(max_length=200, description="parte do nome do órgão")] = None,
) -> list[PersonPublic]:
    """The registered people, by órgão and name."""
    return [public(p) for p in crud.list_people(session, active=active, orgao=orgao)]


@router.post("/{identifier}/deactivate", response_model=PersonPublic)
def deactivate_person(session: SessionDep, _: AdminKey, identifier: str) -> PersonPublic:
    """A person who left: kept, with their acts still attributed to them, no longer able to act (X-Actor → 403)."""
    return public(crud.deactivate_person(session, identifier))
