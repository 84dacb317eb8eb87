"""The PNCP APIs over httpx: one page per call, under Prefect rate limits (the tasks, with retries: tasks.py).

Consulta API (`/api/consulta/v1/...`): an envelope `{data, totalRegistros, totalPaginas, numeroPagina,
paginasRestantes, empty}`; 204 is an empty page. Detail API (`/api/pncp/v1/orgaos/{cnpj}/compras/{ano}/{seq}/
itens`, `.../itens/{n}/resultados`): a bare JSON array; a page past the end is `200 []`; 204 means none.

Retried (exponential back-off with jitter, PNCP_RETRIES): 429 (an HTML body, no Retry-After), 5xx, time-outs,
connection errors and bodies that are not the JSON expected. Never retried: 400 and 422, which fail with the
server's own message (a page size too large, a window over 365 days, a missing parameter).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NoReturn

import httpx
from prefect.concurrency.sync import rate_limit

from core.limits import CONSULTA_LIMIT
from core.settings import settings

CONSULTA, DETAIL = "/api/consulta/v1", "/api/pncp/v1"
SOURCES = ("pncp", "amostra")  # where a run's calls go: PNCP_BASE_URL, or the embedded sample (tasks/pncp/sample.py)


class PncpError(Exception):
    """A PNCP answer that is not usable; ``retryable`` says whether asking again may help."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None):
        super().__init__(message)
        self.retryable, self.status = retryable, status


@dataclass
class Page:
    records: list[Any]
    number: int
    total_pages: int | None
    remaining: int | None
    raw: str = ""

    @property
    def last(self) -> bool:
        if self.remaining is not None:
            return self.remaining <= 0
        if self.total_pages is not None:
            return self.number >= self.total_pages
        return not self.records


@dataclass
class Stats:
    """What the PNCP calls of one run cost (thread-safe; read for the run's table artifact)."""

    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **values: int) -> None:
        with self.lock:
            self.counts.update(values)


class Pacer:
    """Asks Prefect's rate limit for a consulta slot only when the limit can grant it.

    Prefect answers a denied ask with a randomised Retry-After of a whole interval or more (growing with the asks
    it denied), so threads asking as soon as they are ready left a third of the allowance unused. Here the asks of
    this process go one at a time, each one interval after the previous grant; the limit itself still holds back
    every other process that shares it (another run, another worker)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next = 0.0

    def acquire(self, interval: float) -> None:
        with self.lock:
            wait = self.next - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            rate_limit(CONSULTA_LIMIT)
            self.next = time.monotonic() + interval


PACER = Pacer()


def ensure_limits() -> None:
    """Create or update the Prefect rate limit the consulta calls wait on (one call every N seconds)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(
            CONSULTA_LIMIT, 1, slot_decay_per_second=1 / settings.PNCP_CONSULTA_INTERVAL_SECONDS
        )


def _message(body: str) -> str:
    """The server's message: the JSON `message` when there is one, else the start of the body."""
    try:
        data = json.loads(body)
        if isinstance(data, dict) and data.get("message"):
            return str(data["message"])
    except ValueError:
        pass
    return body[:300]


class PncpClient:
    """One run's connection to PNCP, or to the embedded sample (``source="amostra"``, no network): the HTTP client
    the run's tasks share (httpx's pool is thread-safe), and what its calls cost (``stats``, for the run's table).

    Created by the flow and passed to each task, so a task says what it talks to in its arguments."""

    def __init__(self, source: str = "pncp", *, base_url: str | None = None) -> None:
        if source not in SOURCES:
            raise ValueError(f"fonte desconhecida: {source!r} (use {' ou '.join(SOURCES)})")
        self.source = source
        self.stats = Stats()
        transport: httpx.BaseTransport | None = None
        if source == "amostra":
            from tasks.pncp.sample import SAMPLE_URL, SampleTransport

            base_url, transport = SAMPLE_URL, SampleTransport()
        self.http = httpx.Client(
            base_url=base_url or settings.PNCP_BASE_URL,
            timeout=settings.PNCP_TIMEOUT_SECONDS,
            follow_redirects=True,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "NEXORA-ComprasGov/1 (coleta PNCP)"},
        )

    def __repr__(self) -> str:  # what Prefect shows of a task's argument
        return f"PncpClient({self.source}: {self.http.base_url})"

    def __enter__(self) -> PncpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    @property
    def paced(self) -> bool:
        """The consulta rate limit protects PNCP's servers; the embedded sample has none to protect."""
        return self.source == "pncp"

    def checkpoint_label(self, endpoint: str) -> str:
        """The name of an endpoint's checkpoints: the sample keeps its own, apart from PNCP's."""
        return endpoint if self.source == "pncp" else f"{self.source}:{endpoint}"

    def get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """One GET; a failure becomes a PncpError that says whether asking again may help."""
        self.stats.add(requests=1)
        try:
            response = self.http.get(path, params=params)
        except httpx.TimeoutException as exc:
            self.stats.add(timeouts=1)
            raise PncpError(f"tempo esgotado ({settings.PNCP_TIMEOUT_SECONDS:g} s) em {path}", retryable=True) from exc
        except httpx.TransportError as exc:
            raise PncpError(f"falha de conexão em {path}: {type(exc).__name__}: {exc}", retryable=True) from exc
        if response.status_code not in (200, 204):
            self._refuse(response, path)
        return response

    def _refuse(self, response: httpx.Response, path: str) -> NoReturn:
        """The PncpError of an answer that is not 200/204: 429 and 5xx retryable, the others not."""
        status = response.status_code
        body = response.text.strip()
        if status == 429:
            self.stats.add(throttled=1)
            raise PncpError(f"429 (limite de requisições do PNCP) em {path}", retryable=True, status=429)
        if status >= 500:
            self.stats.add(server_errors=1)
            raise PncpError(f"{status} em {path}: {_message(body)}", retryable=True, status=status)
        raise PncpError(f"{status} em {path}: {_message(body)}", retryable=False, status=status)

    def json(self, response: httpx.Response, path: str) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            self.stats.add(malformed=1)
            raise PncpError(f"resposta não é JSON em {path}: {response.text[:120]!r}", retryable=True) from exc

    def consulta_page(
        self, endpoint: str, start: date, end: date, page: int, modalidade: int | None = None, uf: str | None = None
    ) -> Page:
        """One page of a consulta endpoint (``contratacoes/publicacao``, ``contratacoes/atualizacao``, …)."""
        params: dict[str, Any] = {
            "dataInicial": f"{start:%Y%m%d}",
            "dataFinal": f"{end:%Y%m%d}",
            "pagina": page,
            "tamanhoPagina": settings.PNCP_PAGE_SIZE,
        }
        if modalidade is not None:
            params["codigoModalidadeContratacao"] = modalidade
        if uf:
            params["uf"] = uf
        path = f"{CONSULTA}/{endpoint}"
        if self.paced:
            PACER.acquire(settings.PNCP_CONSULTA_INTERVAL_SECONDS)
        response = self.get(path, params)
        if response.status_code == 204 or not response.content:
            return Page([], page, None, 0)
        envelope = self.json(response, path)
        if not isinstance(envelope, dict) or not isinstance(envelope.get("data"), list):
            self.stats.add(malformed=1)
            raise PncpError(f"envelope inesperado em {path} (página {page})", retryable=True)
        return Page(
            envelope["data"], page, envelope.get("totalPaginas"), envelope.get("paginasRestantes"), response.text
        )

    def detail_list(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        """A detail API list (items of a compra, results of an item); 204 and `[]` are empty."""
        response = self.get(f"{DETAIL}/{path}", params)
        if response.status_code == 204 or not response.content:
            return []
        data = self.json(response, path)
        if not isinstance(data, list):
            self.stats.add(malformed=1)
            raise PncpError(f"lista esperada em {path}", retryable=True)
        return data

    def items_and_results(self, cnpj: str, ano: int, sequencial: int, with_results: bool) -> dict[str, Any]:
        """Every item of a compra (all pages) and, if asked, the results of each item that has them."""
        compra = f"orgaos/{cnpj}/compras/{ano}/{sequencial}"
        items: list[Any] = []
        page = 1
        while True:
            params = {"pagina": page, "tamanhoPagina": settings.PNCP_ITEMS_PAGE_SIZE}
            chunk = self.detail_list(f"{compra}/itens", params)
            items.extend(chunk)
            if len(chunk) < settings.PNCP_ITEMS_PAGE_SIZE:
                break
            page += 1
        results: dict[int, list[Any]] = {}
        if with_results:
            for entry in items:
                number = entry.get("numeroItem") if isinstance(entry, dict) else None
                if isinstance(number, int) and entry.get("temResultado", True):
                    results[number] = self.detail_list(f"{compra}/itens/{number}/resultados")
        return {"items": items, "results": results}

    def files(self, cnpj: str, ano: int, sequencial: int) -> list[Any]:
        """The files of a compra (`.../arquivos`: a bare JSON array; 204 or `[]`: none)."""
        return self.detail_list(f"orgaos/{cnpj}/compras/{ano}/{sequencial}/arquivos")

    def download(self, cnpj: str, ano: int, sequencial: int, number: int, max_bytes: int) -> bytes:
        """One file of a compra, read up to ``max_bytes`` (a larger one: FileTooBig, not retried). Always from
        PNCP_BASE_URL's own path for the file, never from the ``url`` the list gives (no request to another host)."""
        path = f"{DETAIL}/orgaos/{cnpj}/compras/{ano}/{sequencial}/arquivos/{number}"
        self.stats.add(requests=1)
        try:
            with self.http.stream("GET", path) as response:
                if response.status_code != 200:
                    response.read()
                    self._refuse(response, path)
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise FileTooBig(f"arquivo de {int(declared)} bytes (limite {max_bytes}) em {path}")
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise FileTooBig(f"arquivo maior que {max_bytes} bytes em {path}")
                    chunks.append(chunk)
                self.stats.add(downloaded_bytes=size)
                return b"".join(chunks)
        except httpx.TimeoutException as exc:
            self.stats.add(timeouts=1)
            raise PncpError(f"tempo esgotado ({settings.PNCP_TIMEOUT_SECONDS:g} s) em {path}", retryable=True) from exc
        except httpx.TransportError as exc:
            raise PncpError(f"falha de conexão em {path}: {type(exc).__name__}: {exc}", retryable=True) from exc


class FileTooBig(PncpError):
    """A file over the size cap: recorded as too big, never asked for again."""

    def __init__(self, message: str):
        super().__init__(message, retryable=False, status=413)
