"""`nexora backup` / `nexora restore`: the app database, the local artifact store and, in embedded mode, the MLflow
store, in one .tar.gz with a manifest (row counts per table, every file's SHA-256).

The database: SQLite through its online backup API (a consistent copy while the API and flows keep writing);
PostgreSQL through `pg_dump --format=custom` (one snapshot transaction). Restore checks every hash before touching
anything, refuses to overwrite a database that holds documents unless told to (``force``), copies into the SQLite
files through the backup API in one transaction (or `pg_restore --clean` into the database), puts the files back,
and compares the row counts with the manifest. The Prefect server's database is not in it: deployments come back
from prefect.yaml / `nexora up`, and run history is operational, not a record (docs/operations.md has the
production procedure).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from core.settings import Settings

FORMAT = "nexora-backup/1"


class BackupError(RuntimeError):
    pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(root: Path) -> Iterator[Path]:
    if root.is_dir():
        yield from sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".part"))


def _plain_url(url: str) -> str:
    """A libpq URL (pg_dump, psql) from a SQLAlchemy one."""
    parsed = urlsplit(url)
    return urlunsplit(("postgresql", parsed.netloc, parsed.path, parsed.query, ""))


def row_counts(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, inspect, text  # here: `nexora` names BackupError without loading SQLAlchemy

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = sorted(inspect(connection).get_table_names())
            return {t: connection.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}
    finally:
        engine.dispose()


def _sqlite_copy(source: Path, target: Path) -> None:
    origin, copy = sqlite3.connect(f"file:{source}?mode=ro", uri=True), sqlite3.connect(target)
    try:
        origin.backup(copy)
    finally:
        copy.close()
        origin.close()


def _embedded_mlflow(settings: Settings) -> Path | None:
    folder = settings.DATA_DIR / "mlflow"
    return folder if not settings.MLFLOW_TRACKING_URI and (folder / "mlflow.db").exists() else None


def backup(settings: Settings, destination: Path) -> dict:
    """Write the archive at ``destination`` (a folder gets a dated file name); return its manifest."""
    url = settings.database_url
    stamp = datetime.now(UTC)
    if destination.is_dir():
        destination = destination / f"nexora-backup-{stamp:%Y%m%dT%H%M%SZ}.tar.gz"
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nexora-backup-") as tmp:
        staging = Path(tmp)
        if url.startswith("sqlite"):
            database = staging / "database.sqlite"
            source = Path(url.split("///", 1)[1])
            if not source.exists():
                raise BackupError(f"banco SQLite {source} não encontrado")
            _sqlite_copy(source, database)
            counts = row_counts(f"sqlite:///{database}")
        else:
            database = staging / "database.dump"
            dumped = subprocess.run(
                ["pg_dump", "--format=custom", "--no-owner", "--file", str(database), _plain_url(url)],
                capture_output=True,
                text=True,
                timeout=3600,
            )
            if dumped.returncode != 0:
                raise BackupError(f"pg_dump falhou: {dumped.stderr.strip()[-500:]}")
            counts = row_counts(url)  # after the dump: rows written meanwhile may show here and not there
        members = {"database": database}
        mlflow = _embedded_mlflow(settings)
        if mlflow:
            _sqlite_copy(mlflow / "mlflow.db", staging / "mlflow.db")
            members["mlflow/mlflow.db"] = staging / "mlflow.db"
            for path in _files(mlflow / "artifacts"):
                members[f"mlflow/artifacts/{path.relative_to(mlflow / 'artifacts').as_posix()}"] = path
        for path in _files(settings.artifacts_dir):
            members[f"artifacts/{path.relative_to(settings.artifacts_dir).as_posix()}"] = path
        manifest = {
            "format": FORMAT,
            "created_at": stamp.isoformat(),
            "database": "sqlite" if url.startswith("sqlite") else "postgresql",
            "database_file": database.name,
            "row_counts": counts,
            "files": {name: {"sha256": _sha256(path), "size": path.stat().st_size} for name, path in members.items()},
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        partial = destination.with_name(destination.name + ".part")
        with tarfile.open(partial, "w:gz", compresslevel=6) as archive:
            archive.add(staging / "manifest.json", arcname="manifest.json")
            for name, path in members.items():
                archive.add(path, arcname=name if name != "database" else database.name)
        os.replace(partial, destination)
    manifest["archive"] = str(destination)
    manifest["archive_bytes"] = destination.stat().st_size
    return manifest


def _documents_in(url: str) -> int:
    try:
        return row_counts(url).get("documents", 0)
    except Exception:  # noqa: BLE001 - no database yet: nothing to overwrite
        return 0


def restore(settings: Settings, archive: Path, force: bool = False) -> dict:
    """Put the archive back; returns the manifest with the row counts found after the restore."""
    url = settings.database_url
    if not archive.is_file():
        raise BackupError(f"arquivo {archive} não encontrado")
    with tempfile.TemporaryDirectory(prefix="nexora-restore-") as tmp:
        staging = Path(tmp)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(staging, filter="data")
            manifest = json.loads((staging / "manifest.json").read_text(encoding="utf-8"))
        except (tarfile.TarError, OSError, ValueError, KeyError) as exc:
            raise BackupError(f"{archive} não é um backup do NEXORA legível: {exc}") from exc
        if manifest.get("format") != FORMAT:
            raise BackupError(f"formato {manifest.get('format')!r} desconhecido (esperado {FORMAT})")
        kind = "sqlite" if url.startswith("sqlite") else "postgresql"
        if manifest["database"] != kind:
            raise BackupError(f"o backup é de um banco {manifest['database']}; DATABASE_URL aponta para {kind}")
        for name, meta in manifest["files"].items():
            path = staging / (manifest["database_file"] if name == "database" else name)
            if not path.is_file() or _sha256(path) != meta["sha256"]:
                raise BackupError(
                    f"{name}: conteúdo diferente do registrado no manifesto (backup corrompido); nada foi alterado"
                )
        present = _documents_in(url)
        if present and not force:
            raise BackupError(f"o banco de destino já tem {present} documento(s); use --force para substituí-lo")
        if kind == "sqlite":
            target = Path(url.split("///", 1)[1])
            target.parent.mkdir(parents=True, exist_ok=True)
            from models.db import get_engine

            get_engine(url).dispose()
            # Copied *into* the database file through SQLite's backup API (one transaction), never by replacing
            # it: connections on a new file would open the "-shm" still mapped by those on the old one and
            # truncate it (SIGBUS in the processes that hold them). "-wal"/"-shm" files left without their
            # database belong to a lost one: unlinked, not truncated, for the same reason.
            if not target.exists():
                for suffix in ("-wal", "-shm"):
                    Path(f"{target}{suffix}").unlink(missing_ok=True)
            _sqlite_copy(staging / manifest["database_file"], target)
        else:
            restored = subprocess.run(
                [
                    "pg_restore",
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--single-transaction",
                    "--dbname",
                    _plain_url(url),
                    str(staging / manifest["database_file"]),
                ],
                capture_output=True,
                text=True,
                timeout=3600,
            )
            if restored.returncode != 0:
                raise BackupError(f"pg_restore falhou: {restored.stderr.strip()[-500:]}")
        for name in manifest["files"]:
            if name.startswith("artifacts/"):
                _put(staging / name, settings.artifacts_dir / name.removeprefix("artifacts/"))
            elif name == "mlflow/mlflow.db":
                (settings.DATA_DIR / "mlflow").mkdir(parents=True, exist_ok=True)
                _sqlite_copy(staging / name, settings.DATA_DIR / name)
            elif name.startswith("mlflow/"):
                _put(staging / name, settings.DATA_DIR / name)
        found = row_counts(url)
        missing = {t: (n, found.get(t)) for t, n in manifest["row_counts"].items() if found.get(t) != n}
        if missing:
            raise BackupError(f"contagens diferentes após a restauração (tabela: backup, agora): {missing}")
        manifest["restored_row_counts"] = found
        return manifest


def _put(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    incoming = target.with_name(target.name + ".restore")
    shutil.copyfile(source, incoming)
    os.replace(incoming, target)
