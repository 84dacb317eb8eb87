"""The production shape, scaled out: `nexora up --workers 2 --postgres URL` (Prefect server and app database on
PostgreSQL, two process workers on the nexora-process pool, limits and automations applied), 40 drafting runs
through the API shared by both workers, then a worker killed in the middle of a run: the run is marked Crashed by
the heartbeat automation, reported as flow_run.failed, retried with `nexora runs retry` and completed by the
other worker, with the field written once."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from deployments.catalog import DEPLOYMENTS
from models.db import session_scope
from tests.conftest import ROOT, wait_http
from tests.servers.llm import Behaviour
from tests.utils.builders import PLANNER, actor, document_data, seed_people
from tests.utils.ports import free_port
from tests.utils.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.scale, pytest.mark.timeout(900)]
NEXORA = str(Path(sys.executable).parent / "nexora")
RUNS = 40


@pytest.fixture(scope="module")
def production(tmp_path_factory, llm_server):
    base = tmp_path_factory.mktemp("scale-out")
    database = f"nexora_scale_{os.getpid()}"
    postgres = f"postgresql://postgres@127.0.0.1:5432/{database}"
    prefect_port, api_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(base / "var"),
        "PREFECT_PORT": str(prefect_port),
        "API_PORT": str(api_port),
        "FLOW_HEARTBEAT_SECONDS": "30",
        "CRASH_AFTER_SECONDS": "40",
        "HTTP_CLIENT_TIMEOUT": "120",
        "LLM_RETRIES": "0",
        # the production lease (the session's is 4 s): a claim held by a run that failed after sending outlives
        # the operator's retry, so the one-minute sweep (active here: prefect.yaml) does not send it again first
        "NOTIFY_LEASE_SECONDS": "300",
    }
    for key in ("PREFECT_API_URL", "PREFECT_HOME", "PREFECT_LOCAL_STORAGE_PATH", "DATABASE_URL"):
        env.pop(key, None)
    process = subprocess.Popen(
        [NEXORA, "up", "--workers", "2", "--postgres", postgres],
        cwd=ROOT,
        env=env,
        stdout=open(base / "up.log", "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{api_port}"
    prefect_env = {**env, "PREFECT_API_URL": f"http://127.0.0.1:{prefect_port}/api", "DATABASE_URL": postgres}
    try:
        wait_http(f"{api}/api/v1/health", 240, process)
        created = subprocess.run(
            [NEXORA, "apikey", "create", "scale-out", "-s", "read", "-s", "write", "-s", "run", "-s", "admin"],
            env=prefect_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        key = re.search(r"nxk_[A-Za-z0-9_\-]+", created.stdout)
        assert key, created.stdout + created.stderr
        with session_scope(postgres) as session:  # the people who act (X-Actor)
            seed_people(session)
        yield {
            "api": api,
            "key": key.group(0),
            "env": prefect_env,
            "logs": base / "var" / "logs",
            "postgres": postgres,
            "process": process,
            "mail_outbox": base / "var" / "mail-outbox",
        }
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
            for name in (database, f"{database}_prefect"):
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def submitted_by(logs: Path) -> dict[str, str]:
    """flow run id → the worker that submitted it, from the workers' logs."""
    found = {}
    for log in logs.glob("worker-*.log"):
        for match in re.finditer(r"Worker '(nexora-worker-\d)' submitting flow run '([0-9a-f-]+)'", log.read_text()):
            found[match.group(2)] = match.group(1)
    return found


def field_of(client: httpx.Client, document_id: str, slug: str) -> dict:
    return next(f for f in client.get(f"/api/v1/documents/{document_id}").json()["fields"] if f["slug"] == slug)


def deployments_now(api: str) -> dict[str, dict]:
    """Every deployment as the server holds it, minus the fields that record when it was last written."""
    found = httpx.post(f"{api}/deployments/filter", json={}, timeout=30).json()
    volatile = {"created", "updated", "last_polled", "status"}
    # a deployment's concurrency limit also records the slots its running flows hold right now
    in_use = {"created", "updated", "active_slots", "denied_slots", "avg_slot_occupancy_seconds"}

    def stable(key: str, value):
        if key == "schedules":
            return sorted((s["id"], s["slug"], json.dumps(s["schedule"], sort_keys=True)) for s in value)
        if key == "global_concurrency_limit" and value:
            return {k: v for k, v in value.items() if k not in in_use}
        return value

    return {d["id"]: {k: stable(k, v) for k, v in d.items() if k not in volatile} for d in found}


def test_deploying_prefect_yaml_again_changes_nothing(production):
    # given the deployments `nexora up --workers` made from prefect.yaml
    api = production["env"]["PREFECT_API_URL"]
    before = deployments_now(api)
    assert len(before) == len(DEPLOYMENTS)  # every deployment of the catalog, once
    # when an operator deploys again
    again = subprocess.run(
        [str(Path(sys.executable).parent / "prefect"), "--no-prompt", "deploy", "--all"],
        cwd=ROOT,
        env={**production["env"], "NEXORA_HOME": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    # then the same deployments, schedules (same ids and slugs), parameters, pool and pull steps
    after = deployments_now(api)
    changed = {
        i: [k for k in before[i] if before[i][k] != after.get(i, {}).get(k)]
        for i in before
        if before[i] != after.get(i)
    }
    assert after == before, {i: {k: (before[i][k], after[i].get(k)) for k in keys} for i, keys in changed.items()}


def test_two_workers_share_forty_runs_and_a_killed_worker_s_run_is_crashed_alerted_retried_and_completed(
    production, llm_server, receiver
):
    llm_server.reset()
    headers = {"Authorization": f"Bearer {production['key']}", **actor(PLANNER)}
    with httpx.Client(base_url=production["api"], headers=headers, timeout=60) as client:
        # given a webhook subscriber of flow_run.failed and ten documents
        path = f"/scale-{uuid.uuid4().hex[:6]}"
        subscription = client.post(
            "/api/v1/subscriptions",
            json={"channel": "webhook", "target": f"{receiver.url}{path}", "event_types": ["flow_run.failed"]},
        ).json()
        receiver.secrets[path] = subscription["secret"]
        documents = [client.post("/api/v1/documents", json=document_data("ETP")).json()["id"] for _ in range(10)]
        slugs = [s["slug"] for s in client.get(f"/api/v1/documents/{documents[0]}").json()["fields"]][:4]
        # when 40 generate-field runs are started through the API
        started = {}
        for document_id in documents:
            for slug in slugs:
                answer = client.post("/api/v1/etp/generate-field", json={"document_id": document_id, "field": slug})
                assert answer.status_code == 202, answer.text
                started[answer.json()["flow_run_id"]] = (document_id, slug)
        assert len(started) == RUNS

        # then all complete, both workers ran some, and every field holds its drafted text
        def finished() -> dict[str, str] | None:
            states = {run: client.get(f"/api/v1/flow-runs/{run}").json()["state"] for run in started}
            return states if all(v in ("COMPLETED", "FAILED", "CRASHED") for v in states.values()) else None

        final = wait_for(finished, timeout=420, every=3)
        assert set(final.values()) == {"COMPLETED"}, final
        by_worker = submitted_by(production["logs"])
        counts = {
            name: sum(1 for run in started if by_worker.get(run) == name)
            for name in ("nexora-worker-1", "nexora-worker-2")
        }
        assert sum(counts.values()) == RUNS and min(counts.values()) > 0, counts
        for run, (document_id, slug) in started.items():
            field = field_of(client, document_id, slug)
            assert field["source"] == "llm" and field["flow_run_id"] == run and field["content"], field
        assert llm_server.calls == RUNS

        # when a worker is killed (with its flow-run process) while its run waits on a slow LLM answer
        victim_doc = client.post("/api/v1/documents", json=document_data("ETP", titulo="Vítima do worker")).json()
        llm_server.behaviour = Behaviour(mode="slow", delay=60, only_if="Vítima do worker")
        answer = client.post(
            "/api/v1/etp/generate-field",
            json={"document_id": victim_doc["id"], "field": slugs[0]},
            headers={"X-Request-ID": "trace-escala-vitima"},
        )
        run_id = answer.json()["flow_run_id"]
        wait_for(lambda: client.get(f"/api/v1/flow-runs/{run_id}").json()["state"] == "RUNNING", timeout=120)
        wait_for(lambda: llm_server.recorder.in_flight > 0, timeout=60, every=0.2)
        worker = wait_for(lambda: submitted_by(production["logs"]).get(run_id), timeout=30)
        run = httpx.get(f"{production['env']['PREFECT_API_URL']}/flow_runs/{run_id}").json()
        infrastructure_pid = int(str(run["infrastructure_pid"]).rsplit(":", 1)[-1])
        worker_pid = int(
            subprocess.run(["pgrep", "-f", "--", f"--name {worker}"], capture_output=True, text=True).stdout.split()[0]
        )
        for target in (infrastructure_pid, worker_pid):
            os.kill(target, signal.SIGKILL)
        llm_server.behaviour = Behaviour()  # the LLM answers again: only the dead process is missing
        # then the heartbeat automation marks it Crashed, and the failure automation reports it
        wait_for(lambda: client.get(f"/api/v1/flow-runs/{run_id}").json()["state"] == "CRASHED", timeout=150, every=2)
        (alert,) = wait_for(
            lambda: [e for e in receiver.events(path) if e.body["data"]["flow_run_id"] == run_id], timeout=120
        )
        assert alert.signature_ok and alert.body["data"]["state"] == "Crashed"
        assert alert.body["data"]["trace_id"] == answer.json()["trace_id"]  # the server's, not the X-Request-ID
        # when retried, the other worker completes it, and the field is written once, by that run
        retried = subprocess.run(
            [NEXORA, "runs", "retry", run_id, "--wait", "180"],
            env=production["env"],
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert retried.returncode == 0, retried.stdout + retried.stderr
        detail = client.get(f"/api/v1/flow-runs/{run_id}").json()
        assert detail["state"] == "COMPLETED", detail
        survivor = {"nexora-worker-1", "nexora-worker-2"} - {worker}
        log = Path(production["logs"], f"{survivor.pop().replace('nexora-', '')}.log").read_text()
        assert f"submitting flow run '{run_id}'" in log
        field = field_of(client, victim_doc["id"], slugs[0])
        assert field["source"] == "llm" and field["flow_run_id"] == run_id and field["content"]
        victim_calls = [
            r for r in llm_server.recorder.requests if "Vítima do worker" in json.dumps(r, ensure_ascii=False)
        ]
        assert len(victim_calls) == 2  # the call the dead process made, and the retry's


FAULTS = """
CREATE OR REPLACE FUNCTION nexora_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'artifacts' AND NEW.document_id::text = TG_ARGV[0] THEN
        RAISE EXCEPTION 'falha injetada: registro de artefatos recusado';
    END IF;
    IF TG_TABLE_NAME = 'delivery_attempts' AND EXISTS (
            SELECT 1 FROM notifications n WHERE n.id = NEW.notification_id AND n.target LIKE '%%' || TG_ARGV[0] || '%%')
    THEN
        RAISE EXCEPTION 'falha injetada: registro de entrega recusado';
    END IF;
    RETURN NEW;
END $$;
"""


def task_states(prefect_api: str, run_id: str) -> dict[str, list[str]]:
    """task name (without its dynamic key) → the state names of its task runs in this flow run, oldest first."""
    found = httpx.post(
        f"{prefect_api}/task_runs/filter",
        json={"flow_runs": {"id": {"any_": [run_id]}}, "sort": "EXPECTED_START_TIME_ASC"},
        timeout=30,
    ).json()
    states: dict[str, list[str]] = {}
    for task_run in found:
        states.setdefault(task_run["name"].rsplit("-", 1)[0], []).append(task_run["state"]["name"])
    return states


def failed_runs(prefect_api: str, flow_name: str, since: str) -> list[str]:
    found = httpx.post(
        f"{prefect_api}/flow_runs/filter",
        json={
            "flows": {"name": {"any_": [flow_name]}},
            "flow_runs": {"state": {"type": {"any_": ["FAILED"]}}, "expected_start_time": {"after_": since}},
        },
        timeout=30,
    ).json()
    return [run["id"] for run in found]


def test_a_retried_run_skips_what_succeeded_no_second_upload_no_second_email(production, receiver):
    from datetime import UTC, datetime

    from tests.utils.builders import approve_document, make_document

    prefect_api, postgres = production["env"]["PREFECT_API_URL"], production["postgres"]
    artifacts_dir = Path(production["logs"]).parent / "artifacts"
    marker = f"retry-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {production['key']}", **actor(PLANNER)}
    since = datetime.now(UTC).isoformat()
    with (
        httpx.Client(base_url=production["api"], headers=headers, timeout=60) as client,
        psycopg.connect(postgres, autocommit=True) as db,
    ):
        # given subscribers of document.consolidated (a webhook and an e-mail address), an approved document, and
        # a database that refuses, from outside the app, the document's artifact rows and the subscribers' attempts
        path = f"/{marker}"
        hook = client.post(
            "/api/v1/subscriptions",
            json={"channel": "webhook", "target": f"{receiver.url}{path}", "event_types": ["document.consolidated"]},
        )
        assert hook.status_code == 201, hook.text
        receiver.secrets[path] = hook.json()["secret"]
        mail = client.post(
            "/api/v1/subscriptions",
            json={"channel": "email", "target": f"{marker}@orgao.gov.br", "event_types": ["document.consolidated"]},
        )
        assert mail.status_code == 201, mail.text
        document_id = str(make_document(postgres, titulo=f"Consolidação com falha {marker}"))
        approve_document(postgres, document_id)
        db.execute(FAULTS)
        db.execute(
            f"CREATE TRIGGER refuse_artifacts BEFORE INSERT ON artifacts FOR EACH ROW "
            f"EXECUTE FUNCTION nexora_test_refuse('{document_id}')"
        )
        db.execute(
            f"CREATE TRIGGER refuse_attempts BEFORE INSERT ON delivery_attempts FOR EACH ROW "
            f"EXECUTE FUNCTION nexora_test_refuse('{marker}')"
        )
        try:
            # when the consolidation fails at its last step (the files are already stored)
            run_id = client.post(f"/api/v1/documents/{document_id}/consolidate").json()["flow_run_id"]
            failed = client.get(f"/api/v1/flow-runs/{run_id}", params={"wait": 120}).json()
            assert failed["state"] == "FAILED", failed
            assert "registrar artefatos" in (failed.get("message") or json.dumps(failed)), failed
            stored = {
                p: (p.stat().st_ino, p.stat().st_mtime_ns)
                for p in artifacts_dir.rglob("*")
                if p.is_file() and document_id in str(p)
            }
            assert len(stored) == 2, stored
            # and is retried once the database accepts the rows
            db.execute("DROP TRIGGER refuse_artifacts ON artifacts")
            retried = subprocess.run(
                [NEXORA, "runs", "retry", run_id, "--wait", "180"],
                env=production["env"],
                capture_output=True,
                text=True,
                timeout=240,
            )
            assert retried.returncode == 0, retried.stdout + retried.stderr
            # then the steps that had succeeded are taken from their persisted results: no second upload
            states = task_states(prefect_api, run_id)
            assert "Cached" in states["load-consolidation-input"], states
            assert "Cached" in states["store-files"], states
            assert states["register-artifacts"][-1] == "Completed", states
            assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in stored} == stored
            assert len(client.get(f"/api/v1/documents/{document_id}/artifacts").json()) == 2

            # when the delivery of document.consolidated fails after sending (its attempts cannot be recorded)
            def delivery_failed() -> list[str] | None:
                runs = failed_runs(prefect_api, "deliver-notifications", since)
                return runs if runs and receiver.events(path) else None

            deliveries = wait_for(delivery_failed, timeout=180, every=2)
            outbox = production["mail_outbox"]
            sent_mail = [p for p in outbox.glob("*.eml") if marker in p.read_text(errors="replace")]
            assert len(receiver.events(path)) == 1 and len(sent_mail) == 1
            mail_written = (sent_mail[0].stat().st_ino, sent_mail[0].stat().st_mtime_ns)  # one file per notification
            db.execute("DROP TRIGGER refuse_attempts ON delivery_attempts")
            # and the failed delivery runs are retried
            for delivery in deliveries:
                again = subprocess.run(
                    [NEXORA, "runs", "retry", delivery, "--wait", "180"],
                    env=production["env"],
                    capture_output=True,
                    text=True,
                    timeout=240,
                )
                assert again.returncode == 0, again.stdout + again.stderr
            # then what went out is not sent again: one webhook, one e-mail, each recorded as delivered once
            assert any("Cached" in task_states(prefect_api, d).get("send-batch", []) for d in deliveries)
            assert len(receiver.events(path)) == 1 and receiver.events(path)[0].signature_ok
            assert (sent_mail[0].stat().st_ino, sent_mail[0].stat().st_mtime_ns) == mail_written
            rows = db.execute(
                "SELECT n.status, n.attempts, count(a.id) FROM notifications n "
                "LEFT JOIN delivery_attempts a ON a.notification_id = n.id "
                "WHERE n.target LIKE %s GROUP BY n.id",
                (f"%{marker}%",),
            ).fetchall()
            assert sorted(rows) == [("delivered", 1, 1), ("delivered", 1, 1)], rows
        finally:
            db.execute("DROP TRIGGER IF EXISTS refuse_artifacts ON artifacts")
            db.execute("DROP TRIGGER IF EXISTS refuse_attempts ON delivery_attempts")
