"""The embedded flow runner: `serve` every deployment of the catalog (python -m deployments.runner)."""

from __future__ import annotations

from prefect import serve
from prefect.schedules import Cron, Interval

from core.settings import settings
from deployments.catalog import DEPLOYMENT_NAME, DEPLOYMENTS, INTERVAL_ANCHOR, TIMEZONE, DeploymentSpec


def to_deployment(spec: DeploymentSpec):
    schedules = []
    active = not settings.schedule_paused(spec.flow_name)
    if spec.cron:
        schedules.append(Cron(spec.cron, timezone=TIMEZONE, slug=spec.schedule_slug("cron"), active=active))
    if spec.interval_seconds:
        schedules.append(
            Interval(
                spec.interval_seconds,
                anchor_date=INTERVAL_ANCHOR,
                timezone=TIMEZONE,
                slug=spec.schedule_slug("intervalo"),
                active=active,
            )
        )
    return spec.load_flow().to_deployment(
        name=DEPLOYMENT_NAME,
        description=spec.description,
        tags=["nexora", *spec.tags],
        parameters=dict(spec.parameters),
        concurrency_limit=spec.concurrency_limit,
        schedules=schedules or None,
    )


def main(limit: int | None = None) -> None:
    serve(
        *(to_deployment(spec) for spec in DEPLOYMENTS),
        limit=limit or settings.FLOW_RUN_LIMIT,
        print_starting_message=settings.LOG_FORMAT == "text",  # JSON logs: every line an object
        query_seconds=settings.RUNNER_POLL_SECONDS,
    )


if __name__ == "__main__":
    main()
