"""PNCP collection through the API and the runner, against the replay server."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.usefixtures("runner")


def test_collect_through_the_api(client, pncp_server):
    body = {"start": "2026-03-02", "end": "2026-03-06", "modalidades": [8], "with_results": False}
    done = client.post(
        "/api/v1/pncp/collect", json=body, params={"wait": 90}, headers={"Idempotency-Key": "pncp-e2e-1"}
    )
    assert done.status_code == 200, done.text
    result = done.json()["result"]
    valid = {r["numeroControlePNCP"] for r in pncp_server.records[8]} & pncp_server.all_valid_controls()
    assert result["contratacoes_inserted"] + result.get("contratacoes_updated", 0) == len(valid)
    assert result["slices_failed"] == 0 and result["requests"] > 0
    again = client.post("/api/v1/pncp/collect", json=body, headers={"Idempotency-Key": "pncp-e2e-1"})
    assert again.json()["flow_run_id"] == done.json()["flow_run_id"]


@pytest.mark.parametrize(
    "body,needle",
    [
        ({"modalidades": [0]}, "modalidades"),
        ({"ufs": ["XX"]}, "UF desconhecida"),
        ({"start": "2026-03-06", "end": "2026-03-01"}, "start 2026-03-06 é posterior a end 2026-03-01"),
        ({"endpoint": "contratos"}, "endpoint"),
        ({"end": "7984-01-01"}, "end 7984-01-01 é posterior a hoje"),  # the fuzzer's finding
        ({"start": "2026-11-01", "end": "4962-12-31"}, "end 4962-12-31 é posterior a hoje"),
        ({"start": "0394-01-01", "end": "2026-01-01"}, "start 0394-01-01 é anterior a 2021-04-01"),
        ({"start": "2026-01-01", "end": "2026-03-31"}, "tem 90 dias; uma execução coleta no máximo 31 dias"),
        ({"start": "2023-01-01", "source": "amostra"}, "fora da amostra embutida"),
    ],
)
def test_bad_collection_requests_are_refused(client, body, needle):
    answer = client.post("/api/v1/pncp/collect", json=body)
    assert answer.status_code == 422 and needle in answer.json()["detail"], answer.text


def test_a_run_started_from_prefect_with_a_bad_window_fails_at_once_saying_why(pncp_server):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.exceptions import PrefectHTTPStatusError

    from deployments.catalog import COLLECT_PNCP

    pncp_server.reset()
    # a date of another century: the Prefect server refuses to create the run (the flow's parameter schema)
    with pytest.raises(PrefectHTTPStatusError, match="field 'end'"):
        run_deployment(COLLECT_PNCP.full_name, parameters={"start": "2026-03-02", "end": "7984-01-01"}, timeout=0)
    # a window the schema cannot judge (90 days): the run fails in its first step, saying why, with no PNCP call
    flow_run = run_deployment(
        COLLECT_PNCP.full_name, parameters={"start": "2026-01-01", "end": "2026-03-31"}, timeout=90
    )
    assert flow_run.state.is_failed() and "tem 90 dias; uma execução coleta no máximo 31" in flow_run.state.message
    assert not pncp_server.calls
    with get_client(sync_client=True) as prefect:
        states = {s.type.value: s.timestamp for s in prefect.read_flow_run_states(flow_run.id)}
    held = (states["FAILED"] - states["PENDING"]).total_seconds()  # the deployment's slot: taken at PENDING
    print(
        f"collect-pncp slot held {held:.1f} s by a refused window "
        f"(running {(states['FAILED'] - states['RUNNING']).total_seconds():.2f} s)"
    )
    assert (states["FAILED"] - states["RUNNING"]).total_seconds() < 5  # the window is the flow's first step


def test_health_counts_the_contratacoes_waiting_for_their_details(client):
    assert set(client.get("/api/v1/health").json()["pncp_detalhes"]) == {"aguardando", "descartados"}


def test_cli_collect_and_backfill(pncp_server):
    from typer.testing import CliRunner

    from deployments.cli.app import app

    cli = CliRunner()
    done = cli.invoke(
        app,
        ["pncp", "collect", "--from", "2026-03-02", "--to", "2026-03-03", "-m", "6", "--no-results", "--wait", "90"],
        terminal_width=200,
    )
    assert done.exit_code == 0, done.output
    assert "COMPLETED" in done.output and '"slices_failed": 0' in done.output
    bad = cli.invoke(app, ["pncp", "collect", "--uf", "XX"], terminal_width=200)
    assert bad.exit_code == 1 and "UF desconhecida" in bad.output
    argv = ["pncp", "backfill", "--from", "2026-03-01", "--to", "2026-03-10", "--days", "5", "-m", "9"]
    first = cli.invoke(app, argv, terminal_width=200)
    assert first.exit_code == 0 and "2 execução(ões)" in first.output, first.output
    again = cli.invoke(app, argv, terminal_width=200)  # same windows, same keys: the same two runs
    assert again.exit_code == 0 and "2 execução(ões)" in again.output
    runs = re.findall(r"execução ([0-9a-f-]{36})", first.output)
    assert len(runs) == 2 and runs == re.findall(r"execução ([0-9a-f-]{36})", again.output)
    assert cli.invoke(app, ["pncp", "backfill", "--from", "2026-03-10", "--to", "2026-03-01"]).exit_code == 1
    for argv, needle in (
        (["collect", "--from", "2026-03-02", "--to", "7984-01-01"], "--to 7984-01-01 é posterior"),
        (["collect", "--from", "0394-01-01", "--to", "2021-04-10"], "--from 0394-01-01 é anterior"),
        (["collect", "--from", "2026-01-01", "--to", "2026-03-31"], "nexora pncp backfill --from"),
        (["backfill", "--from", "2021-04-01", "--to", "2026-03-31"], "no máximo 366 dias"),
    ):
        refused = cli.invoke(app, ["pncp", *argv], terminal_width=400)
        assert refused.exit_code == 1 and needle in refused.output, refused.output
