"""Optional semantic ranking: an OpenAI-compatible ``/v1/embeddings`` endpoint reorders what a text search found.

Only when ``EMBEDDINGS_MODEL`` is set (core/settings.py); otherwise nothing here calls the network. The vectors of
the candidates are kept in ``search_vectors`` (models/search.py) by index kind, key and model, with the SHA-256 of
the text they came from: a changed text is embedded again, an unchanged one never. Any index can call ``rerank``
with its candidates (our documents today; the market index and the library of other bodies' documents later): it
combines each candidate's text rank, scaled to the best one's, with the cosine between its vector and the query's.
An endpoint that fails, after the retries, leaves the text order (None) with a log line: search never fails for it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import httpx
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.settings import settings
from models.search import SearchVector

logger = logging.getLogger(__name__)
RETRYABLE_STATUS = {408, 409, 429}
BATCH = 64  # inputs per request
MAX_INPUT_CHARS = 8000  # a document's first characters: what states its subject (title, object) comes first


class EmbeddingsError(RuntimeError):
    """The endpoint did not give one vector per input."""


@dataclass(frozen=True)
class Candidate:
    key: str  # the row's id in its index
    text: str
    score: float  # the text search's rank (greater is better); after rerank, the combined score


def enabled() -> bool:
    return bool(settings.EMBEDDINGS_MODEL)


def _endpoint() -> tuple[str, dict[str, str]]:
    base = (settings.EMBEDDINGS_URL or settings.OPENAI_BASE_URL or "https://api.openai.com/v1").rstrip("/")
    url = base if base.endswith("/embeddings") else f"{base}/embeddings"
    key = settings.EMBEDDINGS_API_KEY or settings.OPENAI_API_KEY
    headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key and key.get_secret_value() else {}
    return url, headers


def embed(texts: Sequence[str]) -> list[list[float]]:
    """One vector per text, in order (batches of ``BATCH``; timeouts, connection errors, 408/409/429 and 5xx retried
    ``EMBEDDINGS_RETRIES`` times)."""
    url, headers = _endpoint()
    out: list[list[float]] = []
    with httpx.Client(timeout=settings.EMBEDDINGS_TIMEOUT_SECONDS) as client:
        for start in range(0, len(texts), BATCH):
            batch = [t[:MAX_INPUT_CHARS] or " " for t in texts[start : start + BATCH]]
            out += _post(client, url, headers, batch)
    return out


def _post(client: httpx.Client, url: str, headers: dict[str, str], batch: list[str]) -> list[list[float]]:
    body = {"model": settings.EMBEDDINGS_MODEL, "input": batch, "encoding_format": "float"}
    for attempt in range(settings.EMBEDDINGS_RETRIES + 1):
        try:
            response = client.post(url, json=body, headers=headers)
            if response.status_code >= 500 or response.status_code in RETRYABLE_STATUS:
                response.raise_for_status()
            response.raise_for_status()
            data = sorted(response.json()["data"], key=lambda d: d["index"])
            vectors = [[float(x) for x in d["embedding"]] for d in data]
            if len(vectors) != len(batch) or len({len(v) for v in vectors}) != 1:
                raise EmbeddingsError(f"{len(vectors)} vetores para {len(batch)} textos")
            return vectors
        except (httpx.TimeoutException, httpx.TransportError, httpx.HTTPStatusError) as exc:
            retryable = not isinstance(exc, httpx.HTTPStatusError) or (
                exc.response.status_code >= 500 or exc.response.status_code in RETRYABLE_STATUS
            )
            if not retryable or attempt == settings.EMBEDDINGS_RETRIES:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def _pack(vector: list[float]) -> bytes:
    return struct.pack(f"<{len(vector)}f", *vector)


def _unpack(data: bytes, dims: int) -> list[float]:
    return list(struct.unpack(f"<{dims}f", data))


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def vectors_for(session: Session, kind: str, items: Sequence[tuple[str, str]]) -> dict[str, list[float]]:
    """The vectors of (key, text) pairs of one index: stored ones whose text is unchanged, the others embedded now
    and stored (in a savepoint: a concurrent search storing the same key first is not an error)."""
    model = settings.EMBEDDINGS_MODEL or ""
    keys = [k for k, _ in items]
    stored = {
        v.key: v
        for v in session.exec(
            select(SearchVector).where(
                SearchVector.kind == kind, SearchVector.model == model, col(SearchVector.key).in_(keys)
            )
        )
    }
    out: dict[str, list[float]] = {}
    todo: list[tuple[str, str]] = []
    for key, value in items:
        row = stored.get(key)
        if row is not None and row.content_sha256 == _sha(value):
            out[key] = _unpack(row.vector, row.dims)
        else:
            todo.append((key, value))
    if todo:
        fresh = embed([t for _, t in todo])
        try:
            with session.begin_nested():
                for (key, value), vector in zip(todo, fresh, strict=True):
                    row = stored.get(key) or SearchVector(
                        kind=kind, key=key, model=model, dims=0, vector=b"", content_sha256=""
                    )
                    row.dims, row.vector, row.content_sha256 = len(vector), _pack(vector), _sha(value)
                    session.add(row)
        except IntegrityError:
            logger.info("search vectors stored meanwhile by another request; kept theirs")
        out |= {key: vector for (key, _), vector in zip(todo, fresh, strict=True)}
    return out


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def combine(text_score: float, best_text_score: float, similarity: float, weight: float) -> float:
    """The combined score: the text rank scaled to the best candidate's (0–1) and the cosine (-1–1), weighted."""
    scaled = text_score / best_text_score if best_text_score > 0 else 0.0
    return (1 - weight) * scaled + weight * similarity


def rerank(session: Session, query: str, candidates: Sequence[Candidate], *, kind: str) -> list[Candidate] | None:
    """``candidates`` reordered by the combined score (``combine``), or None (keep the text order) when embeddings
    are off or the endpoint failed."""
    if not enabled() or not candidates:
        return None
    try:
        vectors = vectors_for(session, kind, [(c.key, c.text) for c in candidates])
        (query_vector,) = embed([query])
    except (httpx.HTTPError, EmbeddingsError, ValueError, KeyError, TypeError) as exc:
        logger.warning("embeddings endpoint failed (%s: %s); search ranked by text alone", type(exc).__name__, exc)
        return None
    best = max(c.score for c in candidates)
    scored = [
        replace(c, score=combine(c.score, best, cosine(query_vector, vectors[c.key]), settings.EMBEDDINGS_WEIGHT))
        for c in candidates
    ]
    return sorted(scored, key=lambda c: -c.score)
