"""`nexora runs`: a request's runs found by its trace id, a failed run retried through its deployment, JSON log lines.

Against the session's Prefect server, a `serve` runner of generate-field (JSON console logs) and the API on loopback.
The runner also serves generate-field as the deployment `runs-cli`, which no other runner of the session serves:
runs started there are executed here, and their log lines are in this runner's log. It leaves the deployments
unpaused when it stops (the e2e runner serves generate-field/nexora as well).
"""

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from prefect import flow
from typer.testing import CliRunner

from deployments.api import prefect_glue as glue
from deployments.catalog import GENERATE_FIELD
from deployments.cli.app import app
from tests.conftest import ROOT, TMP, stop
from tests.utils.builders import PLANNER, actor, document_data, make_document, make_key

OWN_DEPLOYMENT = f"{GENERATE_FIELD.flow_name}/runs-cli"
RUNNER_LOG = TMP / "runs-cli-runner.log"
cli = CliRunner()

SERVE = (
    "from prefect import serve\n"
    "from deployments.catalog import GENERATE_FIELD\n"
    "from deployments.runner import to_deployment\n"
    "serve(to_deployment(GENERATE_FIELD), GENERATE_FIELD.load_flow().to_deployment(name='runs-cli'),\n"
    "      print_starting_message=False, pause_on_shutdown=False, query_seconds=0.5)\n"
)


@pytest.fixture(scope="module")
def json_runner(prefect_server, sqlite_url, llm_server):
    log = open(RUNNER_LOG, "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE],
        cwd=ROOT,
        env={**os.environ, "LOG_FORMAT": "json"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    try:
        while httpx.get(f"{prefect_server}/deployments/name/{OWN_DEPLOYMENT}").status_code != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"runner did not register {OWN_DEPLOYMENT}; see {RUNNER_LOG}")
            time.sleep(0.3)
        yield process
    finally:
        stop(process)
        log.close()


@pytest.fixture(scope="module")
def api(api_url, sqlite_url):
    key = make_key(sqlite_url, ["read", "write", "run"], name="runs-cli")
    with httpx.Client(
        base_url=api_url, headers={"Authorization": f"Bearer {key}", **actor(PLANNER)}, timeout=90
    ) as client:
        yield client


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """Rich sizes tables to the terminal; under CliRunner there is none (80 columns)."""
    from deployments.cli.common import console

    monkeypatch.setattr(console, "_width", 250)


def nexora(*argv: str):
    return cli.invoke(app, list(argv), terminal_width=250)


def flat(result) -> str:
    """The output with its line wrapping undone (error lines are wrapped to the terminal)."""
    return " ".join(result.output.split())


def listed(*argv: str) -> list[dict]:
    result = nexora("runs", *argv, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def start_own_run(document_id, trace_id: str):
    """A run of the `runs-cli` deployment (only this module's runner executes it), followed until it ends."""
    from prefect.client.orchestration import get_client

    async def run():
        async with get_client() as client:
            flow_run = await glue.start_run(
                client,
                OWN_DEPLOYMENT,
                {"document_id": document_id, "slug": "descricao_necessidade", "requested_by": PLANNER},
                trace_id=trace_id,
                tags=["nexora", "runs-cli"],
                name=f"runs-cli-{trace_id}",
            )
            return await glue.wait_for_run(client, flow_run.id, 60)

    return asyncio.run(run())


def schedule_own_run_in_an_hour(document_id, trace_id: str) -> uuid.UUID:
    from datetime import UTC, datetime, timedelta

    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    from core.logging import trace_tag

    async def run():
        async with get_client() as client:
            deployment = await client.read_deployment_by_name(OWN_DEPLOYMENT)
            flow_run = await client.create_flow_run_from_deployment(
                deployment.id,
                parameters={"document_id": str(document_id), "slug": "descricao_necessidade", "requested_by": PLANNER},
                tags=[trace_tag(trace_id)],
                state=Scheduled(scheduled_time=datetime.now(UTC) + timedelta(hours=1)),
            )
            return flow_run.id

    return asyncio.run(run())


def delete_run(flow_run_id: uuid.UUID) -> None:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.delete_flow_run(flow_run_id)


def run_log_lines(flow_run_id: str) -> list[dict]:
    """The runner's console lines of one run; every line of the log is a JSON object (jq reads the whole file)."""
    lines = [json.loads(line) for line in RUNNER_LOG.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [line for line in lines if line["flow_run_id"] == flow_run_id]


def test_a_run_started_through_the_api_is_listed_under_its_trace_id(api, json_runner, llm):
    doc = api.post("/api/v1/documents", json=document_data("ETP")).json()
    trace = f"runs-{uuid.uuid4().hex[:10]}"
    accepted = api.post(
        "/api/v1/etp/generate-field",
        headers={"X-Request-ID": trace},
        json={"document_id": doc["id"], "field": "descricao_necessidade"},
    )
    assert accepted.status_code == 202, accepted.text
    run_id = accepted.json()["flow_run_id"]
    assert api.get(f"/api/v1/flow-runs/{run_id}", params={"wait": 60}).json()["state"] == "COMPLETED"

    (row,) = listed("--trace-id", trace)
    # found by the caller's X-Request-ID (tag request:<id>); its trace id is the server's own
    assert accepted.json()["request_id"] == trace and accepted.json()["trace_id"] != trace
    assert row["flow_run_id"] == run_id and row["flow_name"] == "generate-field"
    assert row["trace_id"] == accepted.json()["trace_id"] == accepted.headers["X-Trace-ID"]
    assert [r["flow_run_id"] for r in listed("--trace-id", row["trace_id"])] == [run_id]
    assert row["state"] == "COMPLETED" and row["name"] == accepted.json()["name"]
    assert row["start_time"] and row["end_time"] and row["end_time"] >= row["start_time"]
    table = nexora("runs", "--trace-id", trace)
    assert table.exit_code == 0 and f"execuções do trace id {trace}" in table.output
    assert run_id in table.output and "COMPLETED" in table.output and accepted.json()["name"] in table.output

    assert run_id in {r["flow_run_id"] for r in listed("--flow", "generate-f", "--state", "completed", "--limit", "50")}
    assert run_id not in {r["flow_run_id"] for r in listed("--state", "FAILED,CRASHED", "--limit", "200")}
    assert listed("--trace-id", f"{trace}-outro") == []
    nothing = nexora("runs", "--trace-id", f"{trace}-outro")
    assert nothing.exit_code == 0 and "nenhuma execução encontrada" in flat(nothing)
    bad = nexora("runs", "--state", "QUEBRADO")
    assert bad.exit_code == 1 and "estado inválido: QUEBRADO" in flat(bad)


def test_a_failed_run_is_retried_through_its_deployment_and_completes(sqlite_url, json_runner, llm):
    llm.set(mode="status", status=401)  # the provider refuses the key: not retried, the run fails
    doc = make_document(sqlite_url)
    trace = f"retry-{uuid.uuid4().hex[:10]}"
    failed = start_own_run(doc, trace)
    assert failed.state.type.value == "FAILED" and llm.calls == 1
    run_id = str(failed.id)
    assert run_id in {r["flow_run_id"] for r in listed("--state", "FAILED", "--flow", "generate-field")}

    llm.set(mode="ok")  # the operator fixes the cause, then retries
    retried = nexora("runs", "retry", run_id, "--wait", "60")
    assert retried.exit_code == 0, retried.output
    assert f"FAILED → SCHEDULED (AwaitingRetry); o runner do deployment {OWN_DEPLOYMENT}" in flat(retried)
    assert "estado: COMPLETED" in flat(retried)
    (row,) = listed("--trace-id", trace)
    assert row["flow_run_id"] == run_id and row["state"] == "COMPLETED" and row["run_count"] == 2
    assert llm.calls == 2

    lines = run_log_lines(run_id)  # both attempts, in the runner's JSON console log
    untraced = [line["message"] for line in lines if line["trace_id"] is None]  # before the flow's code is loaded
    assert untraced == ["Downloading flow code from storage at '.'"] * 2
    assert len(lines) > 10 and all(line["trace_id"] == trace for line in lines if line["trace_id"] is not None)
    assert any(line["level"] == "ERROR" and "AuthenticationError" in line.get("exception", "") for line in lines)
    assert any("Completed" in line["message"] for line in lines)
    tasks = [line for line in lines if line["task_run_id"]]
    assert tasks and all(line["task_name"] and line["flow_name"] == "generate-field" for line in tasks)


@flow(name="runs-cli-direct")
def direct_flow():
    raise RuntimeError("falha de propósito")


def test_retry_refuses_runs_it_cannot_retry(sqlite_url, json_runner, llm):
    completed = start_own_run(make_document(sqlite_url), f"done-{uuid.uuid4().hex[:10]}")
    assert completed.state.type.value == "COMPLETED"
    refused = nexora("runs", "retry", str(completed.id))
    assert refused.exit_code == 1 and "está em COMPLETED" in flat(refused)
    assert "só execuções FAILED, CRASHED, CANCELLED podem ser executadas de novo" in flat(refused)

    direct = direct_flow(return_state=True)
    assert direct.is_failed()
    no_deployment = nexora("runs", "retry", str(direct.state_details.flow_run_id))
    assert no_deployment.exit_code == 1 and "não foi criada por um deployment" in flat(no_deployment)

    later = schedule_own_run_in_an_hour(make_document(sqlite_url), trace := f"later-{uuid.uuid4().hex[:10]}")
    try:
        pending = nexora("runs", "retry", str(later))
        assert pending.exit_code == 1 and "está em SCHEDULED" in flat(pending)
        (row,) = listed("--trace-id", trace)
        assert row["state"] == "SCHEDULED" and row["start_time"] is None
        assert str(later) not in {r["flow_run_id"] for r in listed("--flow", "generate-field", "--limit", "200")}
    finally:
        delete_run(later)

    unknown = nexora("runs", "retry", str(uuid.uuid4()))
    assert unknown.exit_code == 1 and "não encontrada" in flat(unknown)
    invalid = nexora("runs", "retry", "nao-e-um-id")
    assert invalid.exit_code == 1 and "id inválido: nao-e-um-id" in flat(invalid)
