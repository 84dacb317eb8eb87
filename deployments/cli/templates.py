"""`nexora templates …`: list, publish and show the ETP/TR templates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from deployments.cli.common import as_uuid, console, fails_on, prepare_database
from models.errors import DomainError

templates_app = typer.Typer(help="Templates de ETP/TR.", no_args_is_help=True)


@templates_app.command("list")
def templates_list() -> None:
    """List the templates and their versions."""
    from models.crud.templates import list_templates
    from models.db import session_scope

    with session_scope() as session:
        rows, _ = list_templates(session, limit=200)
        table = Table("tipo", "nome", "versão", "seções")
        table.add_column("id", no_wrap=True)
        for t in rows:
            table.add_row(str(t.kind), t.name, str(t.version), str(len(t.sections)), str(t.id))
    console.print(table)


@templates_app.command("add")
@fails_on(DomainError)
def templates_add(file: Annotated[Path, typer.Argument(help="arquivo JSON do template")]) -> None:
    """Publish a template from a JSON file (same content again: no change; new content: new version)."""
    from models.crud.templates import add_template, load_spec_file
    from models.db import session_scope

    with session_scope() as session:
        template, created = add_template(session, load_spec_file(file))
        console.print(
            ("publicado" if created else "já existia") + f": {template.name} v{template.version} ({template.id})"
        )


@templates_app.command("show")
@fails_on(DomainError)
def templates_show(template_id: str) -> None:
    """Show a template's sections."""
    from models.crud.templates import get_template
    from models.db import session_scope

    with session_scope() as session:
        t = get_template(session, as_uuid(template_id))
        table = Table("", "slug", "título", "obrigatório", "fundamento", title=f"{t.name} v{t.version}")
        for s in t.sections:
            table.add_row(s["code"], s["slug"], s["title"], "sim" if s["required"] else "não", s["legal_basis"])
    console.print(table)


@templates_app.command("seed")
def templates_seed() -> None:
    """Load the bundled templates from seeds/ (idempotent)."""
    prepare_database()
    templates_list()
