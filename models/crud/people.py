"""The body's people: register, list, deactivate; and who acts in a request (the header ``X-Actor``)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from models.db import utcnow
from models.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from models.person import Person, PersonCreate
from models.rules import Actor

ACTOR_HEADER = "X-Actor"


def create_person(session: Session, data: PersonCreate) -> tuple[Person, bool]:
    """Register a person; the same person registered again (same name, órgão and roles, active) is returned as it is
    (``created`` False); another person under the same identifier is refused (409)."""
    existing = session.exec(select(Person).where(Person.identifier == data.identifier)).first()
    if existing is not None:
        same = (existing.name, existing.orgao, sorted(existing.roles), existing.active) == (
            data.name,
            data.orgao,
            sorted(r.value for r in data.roles),
            True,
        )
        if same:
            return existing, False
        raise ConflictError(
            f"Já existe uma pessoa com o identificador '{data.identifier}' ({existing.name}, {existing.orgao}"
            f"{', desativada' if not existing.active else ''}), com outros dados."
        )
    person = Person(identifier=data.identifier, name=data.name, orgao=data.orgao, roles=[r.value for r in data.roles])
    session.add(person)
    session.flush()
    return person, True


def list_people(session: Session, *, active: bool | None = None, orgao: str | None = None) -> list[Person]:
    query = select(Person).order_by(col(Person.orgao), col(Person.name))
    if active is not None:
        query = query.where(Person.active == active)
    if orgao:
        query = query.where(col(Person.orgao).ilike(f"%{orgao}%"))
    return list(session.exec(query).all())


def get_person(session: Session, identifier: str) -> Person:
    person = session.exec(select(Person).where(Person.identifier == identifier)).first()
    if person is None:
        raise NotFoundError(f"Pessoa '{identifier}' não cadastrada.")
    return person


def deactivate_person(session: Session, identifier: str) -> Person:
    """A person who left the team or the body: kept (their acts stay attributed), no longer able to act."""
    person = get_person(session, identifier)
    if person.active:
        person.active, person.deactivated_at = False, utcnow()
        session.add(person)
        session.flush()
    return person


def as_actor(person: Person) -> Actor:
    return Actor(person.identifier, person.name, person.orgao, tuple(person.roles), person.active)


def acting_person(session: Session, identifier: str | None) -> Actor:
    """The person named by ``X-Actor``: missing or unknown → 422, inactive → 403, each with the reason."""
    identifier = (identifier or "").strip()
    if not identifier:
        raise InvalidError(
            f"Informe quem age no cabeçalho '{ACTOR_HEADER}: <identificador>' (matrícula cadastrada em "
            "/api/v1/people): todo ato sobre um documento é de uma pessoa, não da aplicação.",
            header=ACTOR_HEADER,
        )
    person = session.exec(select(Person).where(Person.identifier == identifier)).first()
    if person is None:
        raise InvalidError(
            f"'{identifier}' ({ACTOR_HEADER}) não é uma pessoa cadastrada: cadastre-a em /api/v1/people "
            "(ou `nexora people add`).",
            header=ACTOR_HEADER,
        )
    if not person.active:
        raise ForbiddenError(
            f"{person.name} ({identifier}) está desativada desde {person.deactivated_at:%d/%m/%Y} e não pode agir.",
            header=ACTOR_HEADER,
        )
    return as_actor(person)
