"""Tag the running flow run from inside it: a run started from the Prefect UI, which the API and the CLI did not
tag, is marked as soon as its first task knows what it runs on (e.g. ``sigiloso``: models.rules.run_message)."""

from __future__ import annotations

from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

from tasks import run_logger


def tag_this_run(tag: str) -> None:
    """Add ``tag`` to the current flow run's tags on the Prefect server (nothing outside a flow run, or when the
    run already has it)."""
    run_id = flow_run.get_id()
    if not run_id or tag in flow_run.get_tags():  # tagged when started (API, CLI): nothing to ask the server
        return
    with get_client(sync_client=True) as client:
        tags = list(client.read_flow_run(run_id).tags or [])
        if tag in tags:
            return
        client.update_flow_run(run_id, tags=[*tags, tag])
    run_logger().info("execução marcada com a etiqueta '%s'", tag)
