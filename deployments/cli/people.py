"""`nexora people …`: the body's people who act on documents (header X-Actor of the API, --actor of the CLI)."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from deployments.cli.common import console, fails_on
from models.enums import Role
from models.errors import DomainError

people_app = typer.Typer(help="Pessoas do órgão (equipe de planejamento, autoridade competente).", no_args_is_help=True)


@people_app.command("add")
@fails_on(DomainError, ValidationError)
def people_add(
    identifier: Annotated[str, typer.Argument(help="matrícula SIAPE ou outro identificador do órgão (nunca o CPF)")],
    name: Annotated[str, typer.Option("--name", help="nome completo")],
    orgao: Annotated[str, typer.Option("--orgao", help="órgão, como nos documentos")],
    role: Annotated[
        list[Role], typer.Option("--role", "-r", help="equipe_planejamento e/ou autoridade_competente (repita)")
    ],
) -> None:
    """Register a person of the body."""
    from models.crud.people import create_person
    from models.db import session_scope
    from models.person import PersonCreate

    data = PersonCreate(identifier=identifier, name=name, orgao=orgao, roles=role)
    with session_scope() as session:
        person, created = create_person(session, data)
        what = "cadastrada" if created else "já estava cadastrada"
        console.print(f"{person.name} ({person.identifier}) {what}: {', '.join(person.roles)} — {person.orgao}")


@people_app.command("list")
def people_list(
    everyone: Annotated[bool, typer.Option("--all", help="incluir as desativadas")] = False,
    orgao: Annotated[str | None, typer.Option(help="parte do nome do órgão")] = None,
) -> None:
    """The registered people (active ones, unless --all)."""
    from models.crud.people import list_people
    from models.db import session_scope

    with session_scope() as session:
        rows = list_people(session, active=None if everyone else True, orgao=orgao)
        table = Table("identificador", "nome", "órgão", "papéis", "situação")
        for p in rows:
            status = "ativa" if p.active else f"desativada em {p.deactivated_at:%d/%m/%Y}"
            table.add_row(p.identifier, p.name, p.orgao, ", ".join(p.roles), status)
    console.print(table)


@people_app.command("deactivate")
@fails_on(DomainError)
def people_deactivate(identifier: str) -> None:
    """Deactivate a person who left: their acts stay attributed to them; they can no longer act."""
    from models.crud.people import deactivate_person
    from models.db import session_scope

    with session_scope() as session:
        person = deactivate_person(session, identifier)
        console.print(f"{person.name} ({person.identifier}) desativada")
