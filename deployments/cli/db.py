"""`nexora db …`: the app database's schema."""

from __future__ import annotations

import typer

from core.settings import settings
from deployments.cli.common import console, prepare_database

db_app = typer.Typer(help="Banco de dados da aplicação.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the Alembic migrations and load the seed templates (idempotent)."""
    prepare_database()
    console.print(f"banco atualizado: {settings.database_url.split('@')[-1]}")
