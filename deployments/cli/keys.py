"""`nexora secrets …`: the stored secrets after a rotation of SECRET_KEY (docs/operations.md, "Security")."""

from __future__ import annotations

import typer

from deployments.cli.common import console, fail

secrets_app = typer.Typer(help="Segredos guardados e a rotação da SECRET_KEY.", no_args_is_help=True)


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Seal every stored secret again with the current SECRET_KEY (after a rotation; safe to run again)."""
    from models.crud.sealed import reseal_all
    from models.db import session_scope

    with session_scope() as session:
        counts = reseal_all(session)
    console.print(
        f"{counts.resealed} segredo(s) selado(s) de novo com a SECRET_KEY atual; {counts.current} já estava(m) com ela",
        soft_wrap=True,
    )
    if counts.unreadable:
        rows = ", ".join(f"{table} {row_id}" for table, row_id in counts.unreadable)
        fail(
            f"{len(counts.unreadable)} segredo(s) não abrem com a SECRET_KEY nem com SECRET_KEY_PREVIOUS e ficaram "
            f"como estavam: {rows}; recoloque a chave antiga em SECRET_KEY_PREVIOUS e rode de novo, ou recrie a "
            "assinatura"
        )
