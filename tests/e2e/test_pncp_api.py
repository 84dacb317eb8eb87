"""PNCP collection through the API and the runner, against the replay server."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.usefixtures("runner")


def test_collect_through_the_api(client, pncp_server):
    body = {"start": "2026-03-02", "end": "2026-03-06", "modalidades": [8], "with_results": False}
    done = client.post("/api/v1/pncp/collect", json=body, params={"wait": 90},
                       headers={"Idempotency-Key": "pncp-e2e-1"})
    assert done.status_code == 200, done.text
    result = done.json()["result"]
    valid = {r["numeroControlePNCP"] for r in pncp_server.records[8]} & pncp_server.all_valid_controls()
    assert result["contratacoes_inserted"] + result.get("contratacoes_updated", 0) == len(valid)
    assert result["slices_failed"] == 0 and result["requests"] > 0
    again = client.post("/api/v1/pncp/collect", json=body, headers={"Idempotency-Key": "pncp-e2e-1"})
    assert again.json()["flow_run_id"] == done.json()["flow_run_id"]


@pytest.mark.parametrize("body,needle", [
    ({"modalidades": [0]}, "modalidades"),
    ({"ufs": ["XX"]}, "UF desconhecida"),
    ({"start": "2026-03-06", "end": "2026-03-01"}, "termina antes"),
    ({"endpoint": "contratos"}, "endpoint"),
])
def test_bad_collection_requests_are_refused(client, body, needle):
    answer = client.post("/api/v1/pncp/collect", json=body)
    assert answer.status_code == 422 and needle in answer.text


def test_cli_collect_and_backfill(pncp_server):
    from typer.testing import CliRunner

    from deployments.cli import app

    cli = CliRunner()
    done = cli.invoke(app, ["pncp", "collect", "--from", "2026-03-02", "--to", "2026-03-03", "-m", "6",
                            "--no-results", "--wait", "90"], terminal_width=200)
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
