"""`nexora apikey …`: create and revoke the API's keys."""

from __future__ import annotations

from typing import Annotated

import typer

from deployments.cli.common import console, fails_on
from models.errors import DomainError

apikey_app = typer.Typer(help="Chaves de API.", no_args_is_help=True)


DEFAULT_SCOPES = ["read", "write", "run"]


@apikey_app.command("create")
@fails_on(DomainError)
def apikey_create(
    name: str,
    scope: Annotated[list[str], typer.Option("--scope", "-s", help="read, write, run, admin")] = DEFAULT_SCOPES,
    orgao: Annotated[
        list[str] | None,
        typer.Option("--orgao", "-o", help="órgão cujos documentos a chave alcança (repita; sem --orgao: todos)"),
    ] = None,
) -> None:
    """Create an API key; the key is shown once. With --orgao, it reaches only the documents of those órgãos."""
    from models.crud.apikeys import create_key
    from models.db import session_scope

    with session_scope() as session:
        key, raw = create_key(session, name, scope, orgao)
    reach = f"; órgãos: {', '.join(key.orgaos)}" if key.orgaos else ""
    console.print(
        f"chave '{key.name}' (escopos: {', '.join(key.scopes)}{reach}) — guarde-a, ela não será mostrada de novo:"
    )
    print(raw)


@apikey_app.command("revoke")
@fails_on(DomainError)
def apikey_revoke(prefix: str) -> None:
    """Revoke a key by its prefix (the 12 hex characters after nxk_)."""
    from models.crud.apikeys import revoke_key
    from models.db import session_scope

    with session_scope() as session:
        revoke_key(session, prefix)
    console.print(f"chave {prefix} revogada")
