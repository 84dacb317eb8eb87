"""Who is running: the flow run's id and the trace id carried in its tags (light: no task imports)."""

from __future__ import annotations

from prefect.runtime import flow_run

from core.logging import trace_id_from_tags


def run_identity() -> tuple[str | None, str | None]:
    run_id = flow_run.get_id()
    return (str(run_id) if run_id else None), trace_id_from_tags(flow_run.get_tags())
