"""Abuse limits: bodies over MAX_REQUEST_BYTES get 413 (declared or streamed) and store nothing; reads, writes and
flow runs over a key's rate get 429 with Retry-After, counted once for every API process sharing the database, and
another key is not held back; requests waiting for a run are capped per key and in all; a key's daily budget of
language-model calls is spent by the drafting runs it starts, then 429 until midnight in Brasília."""

import json
import os
import threading
import time
from datetime import datetime

import httpx

from core.settings import settings
from tests.conftest import TMP, unique
from tests.utils.api_thread import api_process
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


def _as(api_url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {key}", **actor(PLANNER)}, timeout=60)


def test_reads_over_a_key_s_rate_get_429_counted_across_two_api_processes(api_url, sqlite_url, monkeypatch):
    # given two API processes on the same database, each allowing a key 4 reads and then one a minute
    limits = {"READ_RATE_PER_MINUTE": "1", "READ_RATE_BURST": "4"}
    for name, value in limits.items():
        monkeypatch.setattr(settings, name, type(getattr(settings, name))(value))
    key = make_key(sqlite_url, ["read"], name=unique("leituras-"))
    other = make_key(sqlite_url, ["read"], name=unique("outra-"))
    with api_process(TMP / "api-limits.log", **limits) as (second_url, _):
        with _as(api_url, key) as first, _as(second_url, key) as second:
            # when the key reads twice through each
            answers = [api.get("/api/v1/documents", params={"limit": 1}) for api in (first, second, first, second)]
            assert [a.status_code for a in answers] == [200, 200, 200, 200], [a.text for a in answers]
            # then its next read is refused by either, with when to come back
            for api in (first, second):
                refused = api.get("/api/v1/documents", params={"limit": 1})
                assert refused.status_code == 429, refused.text
                assert 1 <= int(refused.headers["Retry-After"]) <= 60
                assert "1 leituras por minuto" in refused.json()["detail"] and refused.json()["trace_id"]
        # and another key reads on
        with _as(api_url, other) as first, _as(second_url, other) as second:
            assert first.get("/api/v1/templates").status_code == 200
            assert second.get("/api/v1/templates").status_code == 200


def test_writes_over_a_key_s_rate_get_429_and_store_nothing(api_url, sqlite_url, client, monkeypatch):
    monkeypatch.setattr(settings, "WRITE_RATE_PER_MINUTE", 1)
    monkeypatch.setattr(settings, "WRITE_RATE_BURST", 1)
    key = make_key(sqlite_url, ["read", "write"], name=unique("escritas-"))
    before = count_documents(client)
    with _as(api_url, key) as limited:
        answers = [limited.post("/api/v1/documents", json=document_data("ETP")) for _ in range(2)]
        assert [a.status_code for a in answers] == [201, 429], [a.text for a in answers]
        assert "1 escritas por minuto" in answers[1].json()["detail"] and answers[1].headers["Retry-After"]
        assert limited.get(f"/api/v1/documents/{answers[0].json()['id']}").status_code == 200  # reads go on
    assert count_documents(client) == before + 1


def _pending_run() -> str:
    """A flow run nobody will execute (no deployment): a waiter on it waits its whole `wait`."""
    api = os.environ["PREFECT_API_URL"]
    flow = httpx.post(f"{api}/flows/", json={"name": "espera-de-teste"}).json()
    run = httpx.post(f"{api}/flow_runs/", json={"flow_id": flow["id"], "state": {"type": "PENDING"}})
    assert run.status_code in (200, 201), run.text
    return run.json()["id"]


def test_waiters_are_capped_per_key_and_in_all(api_url, sqlite_url, monkeypatch):
    from deployments.api.waiters import waiters

    monkeypatch.setattr(settings, "WAIT_MAX_PER_KEY", 1)
    monkeypatch.setattr(settings, "WAIT_MAX_TOTAL", 2)
    names = {who: unique(f"espera-{who}-") for who in "abc"}
    keys = {who: make_key(sqlite_url, ["read", "write", "run"], name=name) for who, name in names.items()}
    run_id = _pending_run()
    try:
        _check_waiters(api_url, keys, names, run_id, waiters)
    finally:
        httpx.delete(f"{os.environ['PREFECT_API_URL']}/flow_runs/{run_id}")


def _check_waiters(api_url, keys, names, run_id, waiters) -> None:
    held: list[httpx.Response] = []

    def wait_as(who: str) -> None:
        with _as(api_url, keys[who]) as api:
            held.append(api.get(f"/api/v1/flow-runs/{run_id}", params={"wait": 10}))

    # given key a waiting on a run
    threads = [threading.Thread(target=wait_as, args=("a",))]
    threads[0].start()
    deadline = time.monotonic() + 5
    while waiters.total < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    with _as(api_url, keys["a"]) as a:
        # when it asks to wait once more: refused at once, with when to come back; reading without waiting is fine
        started = time.monotonic()
        refused = a.get(f"/api/v1/flow-runs/{run_id}", params={"wait": 5})
        assert refused.status_code == 429 and time.monotonic() - started < 3, refused.text
        assert "WAIT_MAX_PER_KEY=1" in refused.json()["detail"] and refused.headers["Retry-After"] == "5"
        assert a.get(f"/api/v1/flow-runs/{run_id}").status_code == 200
        # a run-starting request that would wait is refused before any run starts
        document = a.post("/api/v1/documents", json=document_data("ETP")).json()
        body = {"document_id": document["id"], "field": "descricao_necessidade"}
        assert a.post("/api/v1/etp/generate-field", params={"wait": 5}, json=body).status_code == 429
    # key b waits too (its own share), and then nobody else may: the total is reached
    threads.append(threading.Thread(target=wait_as, args=("b",)))
    threads[1].start()
    deadline = time.monotonic() + 5
    while waiters.total < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    with _as(api_url, keys["c"]) as c:
        refused = c.get(f"/api/v1/flow-runs/{run_id}", params={"wait": 1})
        assert refused.status_code == 429 and "WAIT_MAX_TOTAL=2" in refused.json()["detail"], refused.text
    for thread in threads:
        thread.join()
    assert [r.status_code for r in held] == [200, 200] and not any(r.json()["final"] for r in held)
    assert waiters.total == 0
    with _as(api_url, keys["c"]) as c:  # the slots are given back
        assert c.get(f"/api/v1/flow-runs/{run_id}", params={"wait": 0.5}).status_code == 200
    started_runs = httpx.post(
        f"{os.environ['PREFECT_API_URL']}/flow_runs/filter",
        json={"flow_runs": {"tags": {"all_": [f"app:{names['a']}"]}}},
    ).json()
    assert started_runs == []


def test_a_key_s_daily_llm_budget_is_spent_by_the_drafting_runs_it_starts(
    runner, api_url, client, sqlite_url, monkeypatch
):
    from deployments.api.llm_budget import renewal

    monkeypatch.setattr(settings, "LLM_DAILY_CALLS_PER_KEY", 2)
    key = make_key(sqlite_url, ["read", "write", "run"], name=unique("orcamento-"))
    other = make_key(sqlite_url, ["read", "write", "run"], name=unique("outra-"))
    document = client.post("/api/v1/documents", json=document_data("ETP")).json()

    def field(slug: str) -> dict:
        return {"document_id": document["id"], "field": slug}

    accepted = []
    with _as(api_url, key) as limited:
        # one call each: the first counts; a conflicting Idempotency-Key starts nothing and gives its call back
        first = limited.post(
            "/api/v1/etp/generate-field", json=field("descricao_necessidade"), headers={"Idempotency-Key": "k1"}
        )
        assert first.status_code == 202, first.text
        conflict = limited.post(
            "/api/v1/etp/generate-field", json=field("requisitos_contratacao"), headers={"Idempotency-Key": "k1"}
        )
        assert conflict.status_code == 409, conflict.text
        second = limited.post("/api/v1/etp/generate-field", json=field("requisitos_contratacao"))
        assert second.status_code == 202, second.text
        accepted += [first, second]
        # the budget spent: refused, with when it renews (midnight in Brasília)
        refused = limited.post("/api/v1/etp/generate-field", json=field("estimativa_quantidades"))
        now = datetime.now().astimezone()
        assert refused.status_code == 429, refused.text
        detail = refused.json()["detail"]
        assert "2 de 2 usadas" in detail and "meia-noite de Brasília" in detail, detail
        assert abs(int(refused.headers["Retry-After"]) - (renewal(now) - now).total_seconds()) < 10
        # a whole document is 13 calls: more than the budget, said so
        whole = limited.post(f"/api/v1/documents/{document['id']}/generate", json={"only_empty": False})
        assert whole.status_code == 429 and "mais que o orçamento diário" in whole.json()["detail"], whole.text
    with _as(api_url, other) as fresh:  # another key drafts on
        third = fresh.post("/api/v1/etp/generate-field", json=field("estimativa_quantidades"))
        assert third.status_code == 202, third.text
        accepted.append(third)
    for answer in accepted:  # the accepted runs finish
        run = client.get(f"/api/v1/flow-runs/{answer.json()['flow_run_id']}", params={"wait": 60}).json()
        assert run["final"], run
