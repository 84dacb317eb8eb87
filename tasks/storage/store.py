"""Object storage for artifacts: S3 (or any S3-compatible store) through boto3, or a local folder.

Keys are content-addressed (`documents/{id}/v{version}/{sha256}.{ext}`), so a retry writes the same
object and an object already stored is recognised by its key and hash.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import quote

from core.settings import settings
from tasks.render.pdfa import CONFORMANCE

CONTENT_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


class StorageError(RuntimeError):
    """Storage refused or failed: says what the operator should check, and whether a retry may help."""

    def __init__(self, message: str, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name (RFC 6266/5987): a name a person uploaded
    ("proposta nº 3; revisão.pdf") or a numero_processo in any script never breaks or injects into the header, for
    the file the API streams and for the one S3 serves from a presigned URL."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename) or "arquivo"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def artifact_key(document_id: str, version: int, digest: str, fmt: str, classified: bool = False) -> str:
    """Public files under documents/; a classified annex under classificado/ (its own bucket policy in S3)."""
    return f"{'classificado/' if classified else ''}documents/{document_id}/v{version}/{digest}.{fmt}"


@dataclass(frozen=True)
class Stored:
    key: str
    uri: str
    sha256: str
    size: int
    reused: bool


class ObjectStore(Protocol):
    def uri(self, key: str) -> str: ...
    def put(self, key: str, data: bytes, content_type: str) -> Stored: ...
    def exists(self, key: str, digest: str) -> bool: ...
    def download_url(self, key: str, filename: str) -> str | None: ...
    def open(self, key: str) -> BinaryIO: ...


class LocalStore:
    """A folder on disk (embedded default); writes are atomic (temp file + rename)."""

    def __init__(self, root: Path):
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise StorageError(f"chave fora do armazenamento: {key}")
        return path

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def exists(self, key: str, digest: str) -> bool:
        path = self._path(key)
        return path.is_file() and sha256_hex(path.read_bytes()) == digest

    def put(self, key: str, data: bytes, content_type: str) -> Stored:
        digest = sha256_hex(data)
        if self.exists(key, digest):
            return Stored(key, self.uri(key), digest, len(data), reused=True)
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            raise StorageError(
                f"não foi possível gravar em {path.parent}: {exc.strerror or exc}",
                retryable=exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS),
            ) from exc
        return Stored(key, self.uri(key), digest, len(data), reused=False)

    def download_url(self, key: str, filename: str) -> str | None:
        return None  # streamed by the API

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")


class S3Store:
    """Amazon S3 or an S3-compatible store (MinIO, moto) through boto3."""

    def __init__(self, bucket: str, endpoint_url: str | None = None):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        secret = settings.AWS_SECRET_ACCESS_KEY.get_secret_value() if settings.AWS_SECRET_ACCESS_KEY else None
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=settings.S3_REGION,
            aws_access_key_id=settings.AWS_ACCESS_KEY_ID,
            aws_secret_access_key=secret,
            config=Config(
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=5,
                read_timeout=settings.HTTP_CLIENT_TIMEOUT,
                signature_version="s3v4",
            ),
        )

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _error(self, exc: Exception, action: str, key: str) -> StorageError:
        from botocore.exceptions import ClientError

        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "?")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            hint = " (verifique a permissão s3:PutObject da credencial)" if code == "AccessDenied" else ""
            return StorageError(
                f"S3 {action} {self.uri(key)}: {code} (HTTP {status}){hint}",
                retryable=status >= 500 or status in (408, 429),
            )
        return StorageError(f"S3 {action} {self.uri(key)}: {type(exc).__name__}: {exc}", retryable=True)

    def exists(self, key: str, digest: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            # 404: not there; 403: a write-only credential may not read it back. Either way, PUT it.
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") in (403, 404):
                return False
            raise self._error(exc, "HEAD", key) from exc
        except Exception as exc:
            raise self._error(exc, "HEAD", key) from exc
        return head.get("Metadata", {}).get("sha256") == digest

    def put(self, key: str, data: bytes, content_type: str) -> Stored:
        digest = sha256_hex(data)
        if self.exists(key, digest):
            return Stored(key, self.uri(key), digest, len(data), reused=True)
        extra = {}
        if settings.S3_SSE:
            extra["ServerSideEncryption"] = settings.S3_SSE
            if settings.S3_SSE == "aws:kms" and settings.S3_KMS_KEY_ID:
                extra["SSEKMSKeyId"] = settings.S3_KMS_KEY_ID
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, Metadata={"sha256": digest}, **extra
            )
        except Exception as exc:
            raise self._error(exc, "PUT", key) from exc
        return Stored(key, self.uri(key), digest, len(data), reused=False)

    def download_url(self, key: str, filename: str) -> str | None:
        return self.client.generate_presigned_url(
            "get_object",
            ExpiresIn=settings.S3_PRESIGN_SECONDS,
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": content_disposition(filename),
            },
        )

    def open(self, key: str) -> BinaryIO:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]


def get_store() -> ObjectStore:
    """S3 when S3_BUCKET is set, otherwise the local artifacts folder."""
    if settings.S3_BUCKET:
        return S3Store(settings.S3_BUCKET, settings.S3_ENDPOINT_URL)
    return LocalStore(settings.artifacts_dir)


def store_for_uri(uri: str) -> ObjectStore:
    """The store that holds an artifact registered with this URI (it may predate a settings change)."""
    if uri.startswith("s3://"):
        return S3Store(uri[5:].split("/", 1)[0], settings.S3_ENDPOINT_URL)
    return LocalStore(settings.artifacts_dir)


def put_files(document_id: str, version: int, files: dict[str, bytes], classified: bool = False) -> list[dict]:
    store = get_store()
    stored = []
    for fmt, data in files.items():
        key = artifact_key(document_id, version, sha256_hex(data), fmt, classified)
        result = store.put(key, data, CONTENT_TYPES[fmt])
        stored.append(
            {
                "format": fmt,
                "key": result.key,
                "uri": result.uri,
                "sha256": result.sha256,
                "size": result.size,
                "reused": result.reused,
                "classified": classified,
                # render_all validated every PDF as PDF/A-2b before it got here (tasks/render/pdfa.py)
                "conformance": CONFORMANCE if fmt == "pdf" else "",
            }
        )
    return stored


def store_evidence(research_id: Any, name: str, content_type: str, data: bytes) -> dict[str, Any]:
    """A price research's evidence file (a supplier's quote, a page, a query), content-addressed under
    ``pesquisas/<research id>/``: its key, URI, SHA-256 and size."""
    digest = sha256_hex(data)
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in name)[-80:] or "arquivo"
    result = get_store().put(
        f"pesquisas/{research_id}/{digest}-{safe}", data, content_type or "application/octet-stream"
    )
    return {"key": result.key, "uri": result.uri, "sha256": result.sha256, "size": result.size}
