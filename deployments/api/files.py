"""A stored file as the API hands it out: a redirect to a presigned URL (S3) or the bytes streamed (local store)."""

from __future__ import annotations

from fastapi.responses import RedirectResponse, StreamingResponse

from tasks.storage.store import StorageError, store_for_uri
from tasks.storage.store import content_disposition as disposition

__all__ = ["disposition", "stored_file"]


def stored_file(
    uri: str, key: str, filename: str, media_type: str, sha256: str, what: str
) -> RedirectResponse | StreamingResponse:
    """The file at ``key`` of the store that ``uri`` names; ``what`` names it in the error when it cannot be read."""
    store = store_for_uri(uri)
    url = store.download_url(key, filename)
    if url:
        return RedirectResponse(url, status_code=307)
    try:
        handle = store.open(key)
    except (OSError, StorageError) as exc:
        raise StorageError(f"O arquivo {what} não está acessível: {exc}") from exc
    return StreamingResponse(
        handle,
        media_type=media_type,
        headers={"Content-Disposition": disposition(filename), "X-Content-SHA256": sha256},
    )
