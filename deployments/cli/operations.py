"""`nexora setup`, `nexora backup`, `nexora restore`: the Prefect server's limits and automations, applied as code
(deployments/operations/prefect_setup.py), and the platform's data in one archive and back
(deployments/operations/backup.py)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core.settings import settings
from deployments.cli.common import console, fail, fails_on
from deployments.operations.backup import BackupError
from deployments.operations.stack import apply_prefect_env


def setup() -> None:
    """Create or update the global concurrency limits and the automations (running it twice changes nothing)."""
    from deployments.operations.prefect_setup import apply

    apply_prefect_env(settings)
    try:
        done = asyncio.run(apply(settings))
    except Exception as exc:  # noqa: BLE001 - one line for the operator, not a traceback
        fail(f"não foi possível aplicar limites e automações: {type(exc).__name__}: {exc}")
    table = Table("tipo", "nome", "resultado")
    for kind, name, outcome in done:
        table.add_row(kind, name, outcome)
    console.print(table)


@fails_on(BackupError)
def backup_command(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="arquivo .tar.gz ou pasta (nome com data e hora); padrão DATA_DIR/backups"),
    ] = None,
) -> None:
    """Back up the app database, the local artifacts and (embedded) the MLflow store into one .tar.gz."""
    from deployments.operations.backup import backup

    started = time.monotonic()
    output = output or settings.DATA_DIR / "backups"
    if not output.name.endswith((".tar.gz", ".tgz")):
        output.mkdir(parents=True, exist_ok=True)
    manifest = backup(settings, output)
    rows = sum(manifest["row_counts"].values())
    console.print(
        f"backup {manifest['archive']}: {manifest['archive_bytes'] / 2**20:.1f} MiB, banco "
        f"{manifest['database']} ({rows} linhas em {len(manifest['row_counts'])} tabelas), "
        f"{len(manifest['files']) - 1} arquivos, em {time.monotonic() - started:.1f} s"
    )


@fails_on(BackupError)
def restore_command(
    archive: Annotated[Path, typer.Argument(help="arquivo criado por `nexora backup`")],
    force: Annotated[bool, typer.Option(help="substituir um banco que já tem documentos")] = False,
) -> None:
    """Restore a backup into DATABASE_URL, ARTIFACTS_DIR and (embedded) the MLflow store; checks every hash first
    and the row counts after. Stop the API and the workers before."""
    from deployments.operations.backup import restore

    started = time.monotonic()
    manifest = restore(settings, archive, force=force)
    counts = manifest["restored_row_counts"]
    console.print(
        f"restaurado de {archive}: {counts.get('documents', 0)} documentos, "
        f"{counts.get('artifacts', 0)} artefatos, {counts.get('notifications', 0)} notificações, "
        f"{len(manifest['files']) - 1} arquivos conferidos, em {time.monotonic() - started:.1f} s"
    )
