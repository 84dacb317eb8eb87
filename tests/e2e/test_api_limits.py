"""Abuse limits: bodies over MAX_REQUEST_BYTES get 413 (declared or streamed) and store nothing; flow runs started
over a key's rate get 429 with Retry-After, and another key is not held back."""

import json

import httpx
import pytest

from core.settings import settings
from tests.utils.builders import PLANNER, actor, document_data, make_key


def count_documents(client) -> int:
    return client.get("/api/v1/documents", params={"limit": 1}).json()["count"]


def test_a_body_over_the_limit_is_refused_with_413_and_nothing_is_stored(client, monkeypatch):
    monkeypatch.setattr(settings, "MAX_REQUEST_BYTES", 64 * 1024)
    before = count_documents(client)
    big = document_data("ETP", context="x" * (100 * 1024))
    declared = client.post("/api/v1/documents", json=big)
    assert declared.status_code == 413, declared.text
    assert "65536 bytes" in declared.json()["detail"] and declared.json()["trace_id"]
    payload = json.dumps(big).encode()

    def chunks():  # no Content-Length: the server counts the bytes as they come
        for start in range(0, len(payload), 8192):
            yield payload[start : start + 8192]

    streamed = client.post("/api/v1/documents", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413, streamed.text
    assert count_documents(client) == before
    small = client.post("/api/v1/documents", json=document_data("ETP"))
    assert small.status_code == 201, small.text


def test_runs_over_a_key_s_rate_get_429_with_retry_after(runner, api_url, client, sqlite_url, monkeypatch):
    monkeypatch.setattr(settings, "RUN_RATE_PER_MINUTE", 6)  # one run every 10 s, after a burst of 2
    monkeypatch.setattr(settings, "RUN_RATE_BURST", 2)
    key = make_key(sqlite_url, ["read", "write", "run"], name="limite-de-execucoes")
    other = make_key(sqlite_url, ["read", "write", "run"], name="outra-chave")
    document = client.post("/api/v1/documents", json=document_data("ETP")).json()
    body = {"document_id": document["id"], "field": "descricao_necessidade"}
    with httpx.Client(
        base_url=api_url, headers={"Authorization": f"Bearer {key}", **actor(PLANNER)}, timeout=60
    ) as limited:
        answers = [limited.post("/api/v1/etp/generate-field", json=body) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 429], [a.text for a in answers]
    refused = answers[2]
    assert 1 <= int(refused.headers["Retry-After"]) <= 10
    assert "6 execuções por minuto" in refused.json()["detail"] and refused.json()["trace_id"]
    with httpx.Client(
        base_url=api_url, headers={"Authorization": f"Bearer {other}", **actor(PLANNER)}, timeout=60
    ) as fresh:
        assert fresh.post("/api/v1/etp/generate-field", json=body).status_code == 202
    for answer in answers[:2]:  # the accepted runs finish; the refused one started nothing
        run = client.get(f"/api/v1/flow-runs/{answer.json()['flow_run_id']}", params={"wait": 60}).json()
        assert run["final"], run


def test_the_bucket_refills_at_its_rate():
    from deployments.api.limits import TokenBucket

    bucket = TokenBucket(rate_per_second=0.5, burst=2)
    assert [bucket.take("k", now=0.0) for _ in range(2)] == [0.0, 0.0]
    assert bucket.take("k", now=0.0) == pytest.approx(2.0)  # one token comes in 2 s
    assert bucket.take("k", now=1.0) == pytest.approx(1.0)
    assert bucket.take("k", now=2.0) == 0.0
    assert bucket.take("other", now=2.0) == 0.0  # per key
    assert bucket.take("k", now=100.0) == 0.0 and bucket.take("k", now=100.0) == 0.0  # refills up to the burst
    assert bucket.take("k", now=100.0) > 0
