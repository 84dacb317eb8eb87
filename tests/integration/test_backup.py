"""`nexora backup` / `nexora restore` on SQLite and PostgreSQL: back up a system with documents, consolidated
artifacts, notifications and a registered model version (embedded MLflow store), destroy it, restore, and find
everything intact; a corrupted archive or a non-empty target changes nothing."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import sqlite3
import tarfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import select
from typer.testing import CliRunner

from core.settings import settings
from deployments.cli.app import app
from tests.conftest import PG_ADMIN_URL, _migrate_and_seed
from tests.utils.builders import approve_document, make_document

cli = CliRunner()


@pytest.fixture(params=["sqlite", "postgresql"])
def system(request, tmp_path, monkeypatch):
    """A fresh app database (SQLite file or PostgreSQL database), artifacts folder and embedded MLflow store."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'data' / 'nexora.db'}"
        (tmp_path / "data").mkdir()
    else:
        name = f"nexora_backup_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    for key, value in {
        "DATABASE_URL": url,
        "DATA_DIR": tmp_path / "data",
        "ARTIFACTS_DIR": None,
        "MLFLOW_TRACKING_URI": None,
        "S3_BUCKET": None,
    }.items():
        monkeypatch.setattr(settings, key, value)
    # no delivery run kicked by this process's API thread on these events (it would open this database meanwhile)
    from models.crud import notifications as outbox

    monkeypatch.setattr(outbox, "_committed_listeners", [])
    _migrate_and_seed(url)
    yield {"url": url, "kind": request.param, "data": tmp_path / "data", "tmp": tmp_path}
    from models.db import get_engine

    get_engine(url).dispose()
    if request.param == "postgresql":
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fill(url: str) -> dict:
    """Documents (one consolidated with its two files), a subscription with its notifications, a model version."""
    from models.crud.artifacts import register_consolidation
    from models.crud.notifications import create_subscription, record_event
    from models.db import session_scope
    from models.document import Document
    from models.notification import SubscriptionCreate
    from tasks.storage.store import artifact_key, get_store, sha256_hex

    with session_scope(url) as session:
        create_subscription(
            session, SubscriptionCreate(channel="email", target="compras@orgao.gov.br", event_types=["*"])
        )
    documents = [make_document(url) for _ in range(3)]
    approve_document(url, documents[0])
    files = {"docx": b"PK docx " + os.urandom(2048), "pdf": b"%PDF-1.7 " + os.urandom(4096)}
    store = get_store()
    stored = []
    for fmt, data in files.items():
        put = store.put(artifact_key(str(documents[0]), 1, sha256_hex(data), fmt), data, "application/octet-stream")
        stored.append({"format": fmt, "key": put.key, "uri": put.uri, "sha256": put.sha256, "size": put.size})
    with session_scope(url) as session:
        document = session.get(Document, documents[0])
        register_consolidation(
            session,
            documents[0],
            1,
            stored,
            template_id=document.template_id,
            template_version=document.template_version,
            flow_run_id=None,
            trace_id="bkp",
        )
        record_event(session, "document.submitted", document_id=documents[1], data={"x": 1})
    return {"documents": documents, "stored": stored, "model_version": register_model_version()}


def register_model_version() -> str:
    """A registered version of preco-referencia in the embedded MLflow store, with an artifact file."""
    import mlflow
    from mlflow import MlflowClient

    from tasks.prices.registry import MODEL_NAME, artifact_location, tracking_uri

    store = tracking_uri()
    client = MlflowClient(tracking_uri=store, registry_uri=store)  # not the process's registry (another test's)
    experiment = client.create_experiment(f"backup-{uuid.uuid4().hex[:6]}", artifact_location=artifact_location("b"))
    run = client.create_run(experiment)
    folder = settings.DATA_DIR / "model-files"
    folder.mkdir(exist_ok=True)
    (folder / "weights.txt").write_text("pesos do modelo\n")
    client.log_artifacts(run.info.run_id, str(folder), "model")
    client.set_terminated(run.info.run_id)
    with contextlib.suppress(mlflow.exceptions.MlflowException):
        client.create_registered_model(MODEL_NAME)
    version = client.create_model_version(MODEL_NAME, f"{run.info.artifact_uri}/model", run.info.run_id)
    client.set_registered_model_alias(MODEL_NAME, "champion", version.version)
    return str(version.version)


def snapshot(url: str) -> dict:
    from models.artifact import Artifact
    from models.db import session_scope
    from models.document import Document, DocumentField
    from models.notification import Notification
    from tasks.prices.registry import MODEL_NAME

    with session_scope(url) as s:
        documents = {(str(d.id), d.status, d.version, d.titulo) for d in s.exec(select(Document))}
        fields = {(str(f.document_id), f.slug, f.content) for f in s.exec(select(DocumentField))}
        artifacts = {(str(a.id), a.sha256, a.size_bytes) for a in s.exec(select(Artifact))}
        on_disk = {
            a.sha256: hashlib.sha256((settings.artifacts_dir / a.key).read_bytes()).hexdigest()
            for a in s.exec(select(Artifact))
        }
        notifications = {(str(n.id), n.event_type, n.status) for n in s.exec(select(Notification))}
    # read from the file itself: MLflow keeps its store's connections for the process
    store = settings.DATA_DIR / "mlflow" / "mlflow.db"
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        versions = {
            (str(v), source, Path(source.removeprefix("file://")).joinpath("weights.txt").read_text())
            for v, source in db.execute("SELECT version, source FROM model_versions WHERE name = ?", (MODEL_NAME,))
        }
    return {
        "documents": documents,
        "fields": fields,
        "artifacts": artifacts,
        "on_disk": on_disk,
        "notifications": notifications,
        "versions": versions,
    }


def destroy(system: dict) -> None:
    from models.db import get_engine

    get_engine(system["url"]).dispose()
    if system["kind"] == "sqlite":
        Path(system["url"].removeprefix("sqlite:///")).unlink()
    else:
        with create_engine(system["url"]).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    shutil.rmtree(settings.artifacts_dir)
    shutil.rmtree(settings.DATA_DIR / "mlflow")


def test_backup_destroy_restore_finds_everything(system):
    filled = fill(system["url"])
    before = snapshot(system["url"])
    assert len(before["documents"]) == 3 and len(before["artifacts"]) == 2 and before["notifications"]
    assert all(k == v for k, v in before["on_disk"].items()) and len(before["versions"]) == 1
    archive = system["tmp"] / "copia.tar.gz"
    made = cli.invoke(app, ["backup", "--output", str(archive)])
    assert made.exit_code == 0, made.output
    assert "backup" in made.output and archive.is_file()

    destroy(system)
    restored = cli.invoke(app, ["restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    assert "3 documentos, 2 artefatos" in " ".join(restored.output.split())
    after = snapshot(system["url"])
    assert after == before
    assert {v for v, _, _ in after["versions"]} == {filled["model_version"]}
    from tasks.prices.registry import Registry, tracking_uri

    listed = Registry(tracking_uri()).versions()  # as `nexora model list` shows them: the alias came back too
    assert [(v["version"], v["aliases"]) for v in listed] == [(filled["model_version"], ["champion"])]
    # restoring again over a system with documents needs --force
    again = cli.invoke(app, ["restore", str(archive)])
    assert again.exit_code == 1 and "--force" in again.output
    assert cli.invoke(app, ["restore", str(archive), "--force"]).exit_code == 0
    assert snapshot(system["url"]) == before


def test_a_corrupted_backup_is_refused_and_nothing_changes(system):
    fill(system["url"])
    archive = system["tmp"] / "copia.tar.gz"
    assert cli.invoke(app, ["backup", "--output", str(archive)]).exit_code == 0
    before = snapshot(system["url"])
    # one byte of the database copy changed inside the archive
    bad = system["tmp"] / "corrompido.tar.gz"
    with tarfile.open(archive, "r:gz") as source, tarfile.open(bad, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else None
            if member.name.startswith("database."):
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            target.addfile(member, fileobj=io.BytesIO(data) if data is not None else None)
    refused = cli.invoke(app, ["restore", str(bad), "--force"])
    assert refused.exit_code == 1 and "corrompido" in refused.output and "nada foi alterado" in refused.output
    assert snapshot(system["url"]) == before
    missing = cli.invoke(app, ["restore", str(system["tmp"] / "nao-existe.tar.gz")])
    assert missing.exit_code == 1 and "não encontrado" in missing.output
