"""`nexora setup` against the session's Prefect server: limits and automations applied idempotently, and a failed
run turned into a `flow_run.failed` notification by the automation, through the runner and our outbox."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from core.settings import settings
from deployments.operations.prefect_setup import CRASH_AUTOMATION, FAILURE_AUTOMATION, limit_specs
from tests.conftest import ROOT
from tests.utils.waiting import wait_for

pytestmark = pytest.mark.usefixtures("runner")


def nexora(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deployments.cli", *args],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _server_state() -> tuple[dict, dict]:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        limits = {
            spec.name: await client.read_global_concurrency_limit_by_name(spec.name) for spec in limit_specs(settings)
        }
        automations = {
            name: await client.read_automations_by_name(name) for name in (CRASH_AUTOMATION, FAILURE_AUTOMATION)
        }
    return limits, automations


async def _delete_automations() -> None:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        for name in (CRASH_AUTOMATION, FAILURE_AUTOMATION):
            for automation in await client.read_automations_by_name(name):
                await client.delete_automation(automation.id)


async def _report_runs() -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    async with get_client() as client:
        runs = await client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["report-run-failure"])))
        answer = await client._client.post(
            "/events/filter",
            json={"filter": {"event": {"prefix": ["prefect.automation", "prefect.flow-run.Failed"]}}, "limit": 50},
        )
    return [(r.name, r.state_name, r.parameters, r.state.message if r.state else None) for r in runs] + [
        (e["event"], e.get("payload"), e["resource"].get("prefect.resource.id")) for e in answer.json()["events"]
    ]


@pytest.fixture
def applied():
    first = nexora("setup")
    assert first.returncode == 0, first.stdout + first.stderr
    yield first.stdout
    asyncio.run(_delete_automations())  # later tests' failures must not turn into notifications


def test_setup_applies_limits_and_automations_and_a_second_run_changes_nothing(applied):
    # given the limits and automations applied once
    assert "criad" in applied or "atualizad" in applied
    # when applied again
    second = nexora("setup")
    # then nothing changes, and the server holds what the settings ask for
    assert second.returncode == 0, second.stderr
    assert "criad" not in second.stdout and "atualizad" not in second.stdout
    assert second.stdout.count("sem mudança") == 5
    limits, automations = asyncio.run(_server_state())
    assert limits["llm"].limit == settings.LLM_CONCURRENCY and limits["llm"].active
    assert limits["pncp-consulta"].limit == 1
    assert limits["pncp-consulta"].slot_decay_per_second == pytest.approx(1 / settings.PNCP_CONSULTA_INTERVAL_SECONDS)
    assert limits["pncp-detalhe"].limit == settings.PNCP_DETAIL_CONCURRENCY
    (crash,) = automations[CRASH_AUTOMATION]
    (failure,) = automations[FAILURE_AUTOMATION]
    assert crash.trigger.posture == "Proactive" and "prefect.flow-run.heartbeat" in crash.trigger.after
    assert crash.trigger.within.total_seconds() == settings.CRASH_AFTER_SECONDS
    assert crash.actions[0].type == "change-flow-run-state" and crash.actions[0].state == "CRASHED"
    assert failure.actions[0].type == "run-deployment"
    assert failure.trigger.expect == {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"}


def test_setup_says_why_when_the_prefect_server_is_unreachable(monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    answer = nexora("setup")
    assert answer.returncode != 0 and "não foi possível aplicar" in answer.stderr


@pytest.mark.timeout(600)
def test_a_failed_run_becomes_a_flow_run_failed_notification(applied, api_url, keys, receiver, sqlite_url):
    # given a webhook subscriber of flow_run.failed
    path = f"/falhas-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {keys['admin']}"}, timeout=30) as admin:
        created = admin.post(
            "/api/v1/subscriptions",
            json={"channel": "webhook", "target": f"{receiver.url}{path}", "event_types": ["flow_run.failed"]},
        ).json()
    receiver.secrets[path] = created["secret"]
    # when a deployment run fails (a document that does not exist), started with a trace id
    from prefect.deployments import run_deployment

    failed = run_deployment(
        "consolidate-document/nexora",
        parameters={"document_id": str(uuid.uuid4())},
        timeout=90,
        tags=["nexora", "trace:trace-ops-falha"],
    )
    assert failed.state.is_failed(), failed.state
    run_id = str(failed.id)
    # then the automation reports it: one signed webhook with the run, its flow, state and trace id
    try:
        (got,) = wait_for(lambda: receiver.events(path), timeout=120)
    except AssertionError:
        print(asyncio.run(_report_runs()))
        raise
    assert got.signature_ok and got.body["type"] == "flow_run.failed"
    data = got.body["data"]
    assert data["flow_run_id"] == run_id and data["flow_name"] == "consolidate-document"
    assert data["state"] in ("Failed", "Crashed") and data["ui_url"].endswith(f"/runs/flow-run/{run_id}")
    assert data["trace_id"] == "trace-ops-falha"
    # and a second report of the same run writes nothing more
    again = run_deployment("report-run-failure/nexora", parameters={"flow_run_id": run_id}, timeout=90)
    assert again.state.is_completed()
    assert again.state.result()["reason"] == "already-reported"
    time.sleep(2)
    assert len(receiver.events(path)) == 1


def test_a_report_of_a_run_that_does_not_exist_fails_at_once_with_the_reason(applied):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.deployments import run_deployment

    missing = str(uuid.uuid4())
    report = run_deployment("report-run-failure/nexora", parameters={"flow_run_id": missing}, timeout=90)
    assert report.state.is_failed(), report.state
    assert f"execução {missing} não encontrada" in report.state.message
    with get_client(sync_client=True) as client:
        ran = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[report.id])))
    (read,) = [t for t in ran if t.name.startswith("read-failed-run")]
    assert read.run_count == 1  # not retried: a missing run stays missing
