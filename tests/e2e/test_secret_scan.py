"""Secrets never leak: the main paths run with known secret values (the API key, a webhook secret, SECRET_KEY, the LLM
key, the cloud secret, the PNCP password), then every file the session wrote (logs, the app and Prefect databases,
results, artifacts, the mail outbox, MLflow), every row of both databases and every log record of the API are searched
for them."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, TMP, prefect_database_url
from tests.utils.builders import PLANNER, actor, approve_document, document_data, make_document, make_key


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is not our concern here
            self.lines.append(str(record.msg))


@pytest.fixture
def api_log():
    handler = Collect()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


# Run in a process of its own: the session's SQLite databases are open in this one, and closing any descriptor of
# a file drops every POSIX lock the process holds on it; SQLite's locks on the database and its "-shm" gone, another
# process (a flow run) opening the database took it for closed and truncated the "-shm" this one has mapped: SIGBUS.
FILE_SCAN = """
import json, sys
from pathlib import Path
root, secrets = Path(sys.argv[1]), json.loads(sys.stdin.read())
leaks, files, size = [], 0, 0
for file in root.rglob("*"):
    if not file.is_file():
        continue
    data = file.read_bytes()
    files, size = files + 1, size + len(data)
    leaks += [f"{name} em {file.relative_to(root)}" for name, value in secrets.items() if value.encode() in data]
print(json.dumps([leaks, files, size]))
"""


def scan_files(root: Path, secrets: dict[str, str]) -> tuple[list[str], int, int]:
    """(leaks, files read, bytes read) of every file below ``root``, read by a child process."""
    done = subprocess.run(
        [sys.executable, "-c", FILE_SCAN, str(root)],
        input=json.dumps(secrets),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    leaks, files, size = json.loads(done.stdout)
    return leaks, files, size


def sqlite_rows(path: Path) -> list[tuple[str, str]]:
    """(table, text of the row) for every row of every table of a SQLite file."""
    found = []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                found.append((table, " ".join(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row)))
    return found


def postgres_rows(url: str) -> list[tuple[str, str]]:
    """(table, text of the row) for every row of every table of a PostgreSQL database."""
    import psycopg

    found = []
    with psycopg.connect(url.replace("+asyncpg", "").replace("+psycopg", "")) as db:
        tables = [r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for table in tables:
            found += [(table, row[0]) for row in db.execute(f'SELECT t::text FROM "{table}" t')]
    return found


def test_no_secret_in_logs_runs_artifacts_or_rows(
    api_url, sqlite_url, receiver, llm, runner, api_log, signing_pki, pncp_publisher
):
    api_key = make_key(sqlite_url, ["read", "write", "run", "admin"], name="varredura-de-segredos")
    headers = {"Authorization": f"Bearer {api_key}", **actor(PLANNER)}
    with httpx.Client(base_url=api_url, headers=headers, timeout=90) as client:
        path = "/segredos"
        subscription = client.post(
            "/api/v1/subscriptions",
            json={
                "channel": "webhook",
                "target": f"{receiver.url}{path}",
                "event_types": ["document.consolidated", "flow_run.failed"],
            },
        ).json()
        webhook_secret = subscription["secret"]
        receiver.secrets[path] = webhook_secret
        secrets = {
            "API key": api_key,
            "webhook secret": webhook_secret,
            "SECRET_KEY": os.environ["SECRET_KEY"],
            "OPENAI_API_KEY": os.environ["OPENAI_API_KEY"],
            "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
            "SIGNING_PKCS12_PASSWORD": os.environ["SIGNING_PKCS12_PASSWORD"],
            "PNCP_PASSWORD": os.environ["PNCP_PASSWORD"],
        }
        # the main paths: drafting (one run that works, one the LLM refuses), consolidation, publication on PNCP,
        # delivery, bad requests
        document = client.post("/api/v1/documents", json=document_data("ETP")).json()
        done = client.post(
            "/api/v1/etp/generate-field",
            params={"wait": 60},
            json={"document_id": document["id"], "field": "descricao_necessidade"},
        )
        assert done.status_code == 200 and done.json()["state"] == "COMPLETED", done.text
        llm.set(mode="status", status=401)
        refused = client.post(
            "/api/v1/etp/generate-field",
            params={"wait": 60},
            json={"document_id": document["id"], "field": "requisitos_contratacao", "force": True},
        )
        assert refused.json()["state"] == "FAILED", refused.text
        llm.reset()
        approved = make_document(sqlite_url)
        approve_document(sqlite_url, approved)
        consolidated = client.post(f"/api/v1/documents/{approved}/consolidate", params={"wait": 90})
        assert consolidated.json()["state"] == "COMPLETED", consolidated.text
        while expected := client.get(f"/api/v1/documents/{approved}/signatures").json()["esperado"]:
            signing = client.post(
                f"/api/v1/documents/{approved}/signatures", json={}, headers=actor(expected["person"])
            ).json()
            signed = client.get(signing["status_url"], params={"wait": 90}).json()
            assert signed["state"] == "COMPLETED", signed  # the PKCS#12 password opened the certificate
        pncp_publisher.add_compra("00394445000101", 2026, 7)  # publication: a login with the PNCP password
        contratacao = {"cnpj": "00394445000101", "ano": 2026, "sequencial": 7}
        published = client.post(f"/api/v1/documents/{approved}/publish", params={"wait": 90}, json=contratacao)
        assert published.json()["state"] == "COMPLETED" and pncp_publisher.calls["login"] == 1, published.text
        wrong = httpx.get(f"{api_url}/api/v1/documents", headers={"Authorization": f"Bearer {api_key}x"})
        assert wrong.status_code == 401 and api_key not in wrong.text
        assert client.get("/api/v1/documents/nao-e-um-id").status_code == 422
    from tests.utils.waiting import wait_for

    wait_for(lambda: [e for e in receiver.events(path) if e.body["type"] == "document.consolidated"], timeout=60)

    # every file the session wrote, every row of the app and Prefect databases, every log record of the API
    leaks, files, size = scan_files(TMP, secrets)
    databases = [Path(sqlite_url.removeprefix("sqlite:///")), prefect_database_url()]
    rows = [*sqlite_rows(databases[0]), *postgres_rows(prefect_database_url())]
    for table, text in rows:
        leaks += [f"{name} na tabela {table}" for name, value in secrets.items() if value in text]
    for line in api_log.lines:
        leaks += [f"{name} no log: {line[:200]}" for name, value in secrets.items() if value in line]
    coverage = {
        "files": files,
        "mib": round(size / 2**20, 1),
        "rows": len(rows),
        "databases": len(databases),
        "api_log_records": len(api_log.lines),
        "secrets": sorted(secrets),
    }
    (ROOT / "var" / "test-artifacts").mkdir(parents=True, exist_ok=True)  # the scan's reach, for the record
    (ROOT / "var" / "test-artifacts" / "secret-scan.json").write_text(json.dumps(coverage, indent=1))
    assert len(databases) == 2 and len(rows) > 500 and files > 10 and api_log.lines
    # the scan sees what is there: the key's public prefix is stored (its secret part only as a hash)
    prefix = api_key.removeprefix("nxk_")[:12]
    assert any(table == "api_keys" and prefix in text for table, text in rows)
    assert not leaks, leaks
