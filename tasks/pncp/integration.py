"""PNCP's integration API (Manual de Integração PNCP) over httpx: what publish-pncp needs of it.

- ``POST /v1/usuarios/login`` ``{"login", "senha"}``: the token comes in the *response header*
  ``Authorization: Bearer …`` and is valid one hour (header ``expires``, in milliseconds); it is kept in this process
  until five minutes before that, and asked again once when PNCP answers 401 (expired or revoked earlier).
- ``POST /v1/orgaos/{cnpj}/compras/{ano}/{sequencial}/arquivos``: multipart part ``arquivo``, headers
  ``Titulo-Documento`` (ISO-8859-1, ≤ 255) and ``Tipo-Documento-Id``; 201 with the file's URL in ``Location``.
- ``GET …/arquivos``: the files of the contratação (public: ``sequencialDocumento``, ``url``, ``tipoDocumentoId``,
  ``titulo`` …); ``DELETE …/arquivos/{n}`` with ``{"justificativa"}`` (≤ 255 characters).

Errors are ``PncpError`` (tasks/pncp/client.py) saying whether asking again may help: 429, 5xx, time-outs and
connection failures may; 400, 422 and the rest may not, and carry PNCP's own message.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from core.settings import settings
from tasks.pncp.client import PncpError, _message

TOKEN_SECONDS = 3600  # the manual: the token is valid for one hour
TOKEN_MARGIN_SECONDS = 300  # asked again five minutes before it expires


class NotConfigured(PncpError):
    def __init__(self) -> None:
        super().__init__(
            "PNCP_LOGIN e PNCP_PASSWORD não estão configurados: só plataformas credenciadas pelo PNCP publicam "
            "(veja docs/operations.md).",
            retryable=False,
        )


@dataclass
class _Token:
    value: str
    expires: float  # time.monotonic()


_TOKENS: dict[tuple[str, str], _Token] = {}  # (base URL, login) → token: shared by the runs of this process
_LOCK = threading.Lock()


def configured() -> bool:
    password = settings.PNCP_PASSWORD.get_secret_value() if settings.PNCP_PASSWORD else ""
    return bool(settings.PNCP_LOGIN and password)


def _contratacao(cnpj: str, ano: int, sequencial: int) -> str:
    return f"/v1/orgaos/{cnpj}/compras/{ano}/{sequencial}/arquivos"


class PncpIntegration:
    """One connection to the integration API, with the credentials of the settings."""

    def __init__(self, base_url: str | None = None, login: str | None = None, password: str | None = None) -> None:
        self.base_url = (base_url or settings.PNCP_INTEGRATION_URL).rstrip("/")
        self.login = login if login is not None else settings.PNCP_LOGIN
        if password is None and settings.PNCP_PASSWORD is not None:
            password = settings.PNCP_PASSWORD.get_secret_value()
        self.password = password
        if not (self.login and self.password):
            raise NotConfigured()
        self.logins = 0  # how many times this client asked for a token (tests and the run's summary)
        self.http = httpx.Client(
            base_url=self.base_url,
            timeout=settings.PNCP_TIMEOUT_SECONDS,
            headers={"Accept": "application/json", "User-Agent": "NEXORA-ComprasGov/1 (publicacao PNCP)"},
        )

    def __repr__(self) -> str:  # what Prefect shows of a task's argument: never the credentials
        return f"PncpIntegration({self.base_url}, login={self.login})"

    def __enter__(self) -> PncpIntegration:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    # --- the token ---------------------------------------------------------------------------------------------

    def _key(self) -> tuple[str, str]:
        return (self.base_url, self.login or "")

    def token(self, *, fresh: bool = False) -> str:
        """The cached token, or a new one from ``POST /v1/usuarios/login`` (response header ``Authorization``)."""
        with _LOCK:
            cached = _TOKENS.get(self._key())
            if cached and not fresh and cached.expires - TOKEN_MARGIN_SECONDS > time.monotonic():
                return cached.value
            response = self._send("POST", "/v1/usuarios/login", json={"login": self.login, "senha": self.password})
            self.logins += 1
            if response.status_code != 200:
                raise self._error(response, "login no PNCP")
            header = response.headers.get("Authorization", "")
            if not header.lower().startswith("bearer "):
                raise PncpError(
                    "o PNCP aceitou o login mas não devolveu o token no cabeçalho Authorization", retryable=True
                )
            value = header.split(" ", 1)[1].strip()
            expires = response.headers.get("expires", "")
            seconds = int(expires) / 1000 if expires.isdigit() else TOKEN_SECONDS
            _TOKENS[self._key()] = _Token(value, time.monotonic() + seconds)
            return value

    def _authorized(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A call with the token; on 401 the token is asked again once, and the call repeated once."""
        headers = kwargs.pop("headers", {})
        response = self._send(method, path, headers={**headers, "Authorization": f"Bearer {self.token()}"}, **kwargs)
        if response.status_code == 401:
            fresh = self.token(fresh=True)
            response = self._send(method, path, headers={**headers, "Authorization": f"Bearer {fresh}"}, **kwargs)
        return response

    # --- the calls ---------------------------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise PncpError(
                f"tempo esgotado ({settings.PNCP_TIMEOUT_SECONDS:g} s) em {method} {path}", retryable=True
            ) from exc
        except httpx.TransportError as exc:
            raise PncpError(
                f"falha de conexão em {method} {path}: {type(exc).__name__}: {exc}", retryable=True
            ) from exc

    @staticmethod
    def _error(response: httpx.Response, what: str) -> PncpError:
        status = response.status_code
        retryable = status == 429 or status >= 500
        return PncpError(
            f"{what}: PNCP respondeu {status}: {_message(response.text.strip())}", retryable=retryable, status=status
        )

    def list_files(self, cnpj: str, ano: int, sequencial: int) -> list[dict[str, Any]]:
        """The files attached to the contratação (``GET …/arquivos``, public)."""
        path = _contratacao(cnpj, ano, sequencial)
        response = self._send("GET", path)
        if response.status_code == 204 or (response.status_code == 200 and not response.content):
            return []
        if response.status_code != 200:
            raise self._error(response, f"lista de arquivos da contratação {cnpj}/{ano}/{sequencial}")
        try:
            data = response.json()
        except ValueError as exc:
            raise PncpError(f"resposta não é JSON em GET {path}", retryable=True) from exc
        return data if isinstance(data, list) else []

    def attach(
        self, cnpj: str, ano: int, sequencial: int, pdf: bytes, titulo: str, tipo: int, filename: str
    ) -> tuple[str, int]:
        """Attach the PDF; returns the file's URL (``Location``) and its number (the URL's last segment)."""
        path = _contratacao(cnpj, ano, sequencial)
        # header values travel as ISO-8859-1 bytes (check_titulo refused anything else)
        headers = {"Titulo-Documento": titulo.encode("iso-8859-1"), "Tipo-Documento-Id": str(tipo).encode()}
        response = self._authorized(
            "POST", path, headers=headers, files={"arquivo": (filename, pdf, "application/pdf")}
        )
        if response.status_code != 201:
            raise self._error(response, f"envio de arquivo à contratação {cnpj}/{ano}/{sequencial}")
        location = response.headers.get("Location", "")
        number = location.rstrip("/").rsplit("/", 1)[-1]
        if not number.isdigit():
            raise PncpError(f"o PNCP respondeu 201 sem a URL do arquivo no Location ({location!r})", retryable=False)
        return location, int(number)

    def remove(self, cnpj: str, ano: int, sequencial: int, number: int, justificativa: str) -> None:
        """Remove a file from the contratação (``DELETE …/arquivos/{n}`` with the justificativa); one already
        removed (404) counts as removed."""
        path = f"{_contratacao(cnpj, ano, sequencial)}/{number}"
        response = self._authorized("DELETE", path, json={"justificativa": justificativa[:255]})
        if response.status_code not in (200, 204, 404):
            raise self._error(response, f"remoção do arquivo {number} da contratação {cnpj}/{ano}/{sequencial}")

    def tipos_documentos(self) -> dict[int, str]:
        response = self._send("GET", "/v1/tipos-documentos")
        if response.status_code != 200:
            raise self._error(response, "tabela de tipos de documento")
        return {int(t["id"]): str(t["nome"]) for t in response.json()}
