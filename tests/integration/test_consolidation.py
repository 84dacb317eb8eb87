"""consolidate-document against real parts: Prefect server, local folder and moto S3, SQLite and PostgreSQL.

Faults come from outside the code: a store that is down, answers 500 or AccessDenied, a database
trigger that makes the registration fail, an artifacts path that cannot be a folder.
"""

import hashlib

import boto3
import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from core.settings import settings
from flows.consolidate_document import consolidate_document
from models.artifact import Artifact
from models.crud.documents import get_document
from models.db import get_engine, session_scope
from tasks.storage.store import S3Store
from tests.servers.s3_faults import FailingS3
from tests.utils.builders import approve_document, make_document
from tests.utils.ports import free_port

pytestmark = pytest.mark.usefixtures("prefect_server")


def approved(url, kind="ETP"):
    doc = make_document(url, kind)
    approve_document(url, doc)
    return doc


def status_and_artifacts(url, doc):
    with session_scope(url) as s:
        status = get_document(s, doc).status
        rows = s.exec(select(Artifact).where(Artifact.document_id == doc)).all()
    return status, rows


@pytest.fixture
def s3(moto_url, monkeypatch):
    bucket = f"nexora-{free_port()}"
    client = boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing-secret",
    )
    client.create_bucket(Bucket=bucket)
    monkeypatch.setattr(settings, "S3_BUCKET", bucket)
    monkeypatch.setattr(settings, "S3_ENDPOINT_URL", moto_url)
    return client, bucket


def test_local_store_consolidates_atomically_and_idempotently(use_db, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "ARTIFACTS_DIR", tmp_path / "artifacts")
    doc = approved(use_db)
    result = consolidate_document(doc)
    status, rows = status_and_artifacts(use_db, doc)
    assert status == "consolidado" and sorted(r.format for r in rows) == ["docx", "pdf"]
    assert {r.format: r.conformance for r in rows} == {"docx": "", "pdf": "PDF/A-2b"}
    for row in rows:
        path = tmp_path / "artifacts" / row.key
        assert path.is_file() and path.stat().st_size == row.size_bytes
        assert row.key == f"documents/{doc}/v1/{row.sha256}.{row.format}" and row.flow_run_id
    assert result["already_consolidated"] is False and len(result["artifacts"]) == 2
    again = consolidate_document(doc)
    assert again["already_consolidated"] is True and len(status_and_artifacts(use_db, doc)[1]) == 2


def test_s3_store_with_encryption(sqlite_url, s3, monkeypatch):
    client, bucket = s3
    monkeypatch.setattr(settings, "S3_SSE", "AES256")
    doc = approved(sqlite_url, "TR")
    consolidate_document(doc)
    status, rows = status_and_artifacts(sqlite_url, doc)
    assert status == "consolidado"
    for row in rows:
        assert row.storage_uri == f"s3://{bucket}/{row.key}"
        head = client.head_object(Bucket=bucket, Key=row.key)
        assert head["Metadata"]["sha256"] == row.sha256 and head["ContentLength"] == row.size_bytes
        assert head["ServerSideEncryption"] == "AES256"
        url = S3Store(bucket, settings.S3_ENDPOINT_URL).download_url(row.key, f"doc.{row.format}")
        fetched = httpx.get(url)
        assert fetched.status_code == 200 and hashlib.sha256(fetched.content).hexdigest() == row.sha256


@pytest.mark.parametrize("fault", ["down", 500, 403])
def test_storage_faults_leave_document_approved_then_rerun_completes(sqlite_url, s3, monkeypatch, fault):
    doc = approved(sqlite_url)
    failing = None
    if fault == "down":
        monkeypatch.setattr(settings, "S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    else:
        failing = FailingS3(fault)
        monkeypatch.setattr(settings, "S3_ENDPOINT_URL", failing.url)
    state = consolidate_document(doc, return_state=True)
    assert state.is_failed() and "armazenar arquivos" in state.message
    if fault == 403:
        assert "AccessDenied" in state.message and "s3:PutObject" in state.message
        assert failing.requests == 2  # HEAD, then one PUT: a refusal is not retried
    assert status_and_artifacts(sqlite_url, doc) == ("aprovado", [])
    if failing:
        failing.stop()
    monkeypatch.setattr(settings, "S3_ENDPOINT_URL", s3[0].meta.endpoint_url)
    consolidate_document(doc)
    assert status_and_artifacts(sqlite_url, doc)[0] == "consolidado"


def test_database_failure_between_store_and_register_then_resume_reuses_objects(use_db, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "ARTIFACTS_DIR", tmp_path / "artifacts")
    doc = approved(use_db)
    engine = get_engine(use_db)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER fail_artifacts BEFORE INSERT ON artifacts "
                    "BEGIN SELECT RAISE(ABORT, 'falha simulada do banco'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION fail_artifacts() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'falha simulada do banco'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER fail_artifacts BEFORE INSERT ON artifacts "
                    "FOR EACH ROW EXECUTE FUNCTION fail_artifacts()"
                )
            )
    try:
        state = consolidate_document(doc, return_state=True)
        assert state.is_failed() and "registrar artefatos" in state.message
        assert "falha simulada" in state.message
        assert status_and_artifacts(use_db, doc) == ("aprovado", [])
        stored = sorted(p.name for p in (tmp_path / "artifacts").rglob("*.*"))
        assert len(stored) == 2  # the objects are there, unregistered
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("DROP TRIGGER fail_artifacts" + ("" if engine.dialect.name == "sqlite" else " ON artifacts"))
            )
    result = consolidate_document(doc)
    assert result["reused_objects"] == 2
    status, rows = status_and_artifacts(use_db, doc)
    assert status == "consolidado" and sorted(f"{r.sha256}.{r.format}" for r in rows) == stored


def test_unwritable_artifacts_folder_fails_clearly_then_rerun_completes(sqlite_url, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("um arquivo no lugar da pasta")
    monkeypatch.setattr(settings, "ARTIFACTS_DIR", blocker)
    doc = approved(sqlite_url)
    state = consolidate_document(doc, return_state=True)
    assert state.is_failed() and "armazenar arquivos" in state.message and "não foi possível gravar" in state.message
    assert status_and_artifacts(sqlite_url, doc) == ("aprovado", [])
    monkeypatch.setattr(settings, "ARTIFACTS_DIR", tmp_path / "artifacts")
    consolidate_document(doc)
    assert status_and_artifacts(sqlite_url, doc)[0] == "consolidado"


def test_a_pdf_that_is_not_pdfa_fails_the_render_step_with_the_validators_reason(sqlite_url, tmp_path, monkeypatch):
    """A renderer that writes a font it does not embed (reportlab's default Helvetica): the consolidation fails in
    the step that writes the PDF, with the rule; nothing is stored or registered, the document stays aprovado."""
    from tests.unit.test_pdfa import plain_canvas_pdf

    monkeypatch.setattr(settings, "ARTIFACTS_DIR", tmp_path / "artifacts")
    monkeypatch.setattr("tasks.render.files.render_pdf", lambda document: plain_canvas_pdf())
    doc = approved(sqlite_url)
    state = consolidate_document(doc, return_state=True)
    assert state.is_failed() and "renderizar DOCX e PDF" in state.message
    assert "PDF/A-2b" in state.message and "ISO_19005_2:6.2.11.4.1" in state.message
    assert status_and_artifacts(sqlite_url, doc) == ("aprovado", [])
    assert not (tmp_path / "artifacts").exists()
    monkeypatch.undo()
    monkeypatch.setattr(settings, "ARTIFACTS_DIR", tmp_path / "artifacts")
    consolidate_document(doc)
    assert status_and_artifacts(sqlite_url, doc)[0] == "consolidado"


def test_only_an_approved_document_consolidates(sqlite_url):
    doc = make_document(sqlite_url)
    state = consolidate_document(doc, return_state=True)
    assert state.is_failed() and "aprovado" in state.message
    assert status_and_artifacts(sqlite_url, doc) == ("rascunho", [])
