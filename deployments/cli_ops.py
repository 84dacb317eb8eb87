"""`nexora setup`: the Prefect server's limits and automations, applied as code (see
deployments/operations/prefect_setup.py)."""

from __future__ import annotations

import asyncio


def setup() -> None:
    """Create or update the global concurrency limits and the automations (running it twice changes nothing)."""
    from rich.table import Table

    from core.settings import settings
    from deployments.cli import console, fail
    from deployments.operations.prefect_setup import apply
    from deployments.operations.stack import apply_prefect_env

    apply_prefect_env(settings)
    try:
        done = asyncio.run(apply(settings))
    except Exception as exc:  # noqa: BLE001 - one line for the operator, not a traceback
        fail(f"não foi possível aplicar limites e automações: {type(exc).__name__}: {exc}")
    table = Table("tipo", "nome", "resultado")
    for kind, name, outcome in done:
        table.add_row(kind, name, outcome)
    console.print(table)
