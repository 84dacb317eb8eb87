"""PNCP collection through the API and the runner, against the replay server."""

from __future__ import annotations

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
