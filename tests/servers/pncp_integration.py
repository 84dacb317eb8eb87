"""PNCP's integration API on loopback, written from the Manual de Integração PNCP (the parts publish-pncp uses), at
`http://127.0.0.1:PORT/api/pncp` like `https://treina.pncp.gov.br/api/pncp`:

- `POST /v1/usuarios/login` `{"login", "senha"}` → 200 with the token in the response header
  `Authorization: Bearer …` and its lifetime in `expires` (milliseconds: one hour; `expire_tokens()` ends them now);
  401 for other credentials.
- `POST /v1/orgaos/{cnpj}/compras/{ano}/{sequencial}/arquivos` (token required, else 401): multipart part
  `arquivo` (≤ 30 MB), headers `Titulo-Documento` (read as ISO-8859-1, 1–255 characters) and `Tipo-Documento-Id`
  (from the table of `GET /v1/tipos-documentos`); 422 with a JSON message for a missing or bad one, 404 for an
  unknown contratação; 201 with the file's URL in `Location` (`…/arquivos/{n}`).
- `GET …/arquivos` (public): the active files, with the fields of the manual (6.3.8): `sequencialDocumento`, `url`,
  `tipoDocumentoId`, `tipoDocumentoNome`, `titulo`, `dataPublicacaoPncp`.
- `DELETE …/arquivos/{n}` `{"justificativa"}` (token required): 200; 422 without a justificativa.

Faults, queued per kind ("login", "upload", "list", "delete"): `fail(kind, status, times, message)` answers
`status` (500 bursts, 429) before handling; `lose(kind, times)` handles the request (the file is stored) and drops
the connection without an answer, as a lost response.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/api/pncp"
TIPOS = [  # the manual's table 5.12 (Tipo de Documento): those of a contratação, and 16 for the other documents
    {"id": n, "nome": nome}
    for n, nome in (
        (1, "Aviso de Contratação Direta"),
        (2, "Edital"),
        (3, "Minuta do Contrato"),
        (4, "Termo de Referência"),
        (5, "Anteprojeto"),
        (6, "Projeto Básico"),
        (7, "Estudo Técnico Preliminar"),
        (8, "Projeto Executivo"),
        (9, "Mapa de Riscos"),
        (10, "DFD"),
        (16, "Outros"),
        (19, "Minuta de Ata de Registro de Preços"),
        (20, "Ato que autoriza a Contratação Direta"),
    )
]
# what GET …/arquivos answers per file (the manual, 6.3.8); the rest of a stored file is the server's own
LISTED = ("sequencialDocumento", "url", "tipoDocumentoId", "tipoDocumentoNome", "titulo", "dataPublicacaoPncp")
MAX_BYTES = 30 * 1024 * 1024
FILES = re.compile(r"^/v1/orgaos/(\d{14})/compras/(\d{4})/(\d+)/arquivos(?:/(\d+))?$")


@dataclass
class Fault:
    status: int = 500
    message: str = "Erro interno do servidor"
    lost: bool = False


class _Server(ThreadingHTTPServer):
    daemon_threads = True


@dataclass
class PncpIntegrationServer:
    port: int
    login: str = "plataforma-teste"
    senha: str = "senha-teste"
    token_seconds: float = 3600.0
    compras: set[tuple[str, int, int]] = field(default_factory=set)
    files: dict[tuple[str, int, int], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    tokens: dict[str, float] = field(default_factory=dict)  # token → expiry (time.monotonic())
    faults: dict[str, list[Fault]] = field(default_factory=lambda: defaultdict(list))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # kind → requests received
    unauthorized: int = 0  # 401s answered for a missing or expired token

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self, "GET")

            def do_POST(self) -> None:
                server._handle(self, "POST")

            def do_DELETE(self) -> None:
                server._handle(self, "DELETE")

        self.handler = Handler

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}"

    # --- what tests do --------------------------------------------------------------------------------------------

    def start_server(self) -> PncpIntegrationServer:
        self.httpd = _Server(("127.0.0.1", self.port), self.handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self) -> None:
        with self.lock:
            self.compras.clear()
            self.files.clear()
            self.tokens.clear()
            self.faults.clear()
            self.calls.clear()
            self.unauthorized = 0

    def add_compra(self, cnpj: str, ano: int, sequencial: int) -> None:
        with self.lock:
            self.compras.add((cnpj, ano, sequencial))

    def fail(self, kind: str, status: int = 500, times: int = 1, message: str = "Erro interno do servidor") -> None:
        with self.lock:
            self.faults[kind].extend(Fault(status, message) for _ in range(times))

    def lose(self, kind: str, times: int = 1) -> None:
        with self.lock:
            self.faults[kind].extend(Fault(lost=True) for _ in range(times))

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def active(self, cnpj: str, ano: int, sequencial: int) -> list[dict[str, Any]]:
        with self.lock:
            return [f for f in self.files[(cnpj, ano, sequencial)] if f["statusAtivo"]]

    # --- the API ----------------------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        path = handler.path.split("?", 1)[0]
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        if not path.startswith(PREFIX):
            return self._send(handler, 404, {"message": "Recurso não encontrado"})
        path = path[len(PREFIX) :]
        match = FILES.match(path)
        if method == "POST" and path == "/v1/usuarios/login":
            kind = "login"
        elif method == "GET" and path == "/v1/tipos-documentos":
            return self._send(handler, 200, TIPOS)
        elif match and method == "GET" and not match.group(4):
            kind = "list"
        elif match and method == "POST" and not match.group(4):
            kind = "upload"
        elif match and method == "DELETE" and match.group(4):
            kind = "delete"
        else:
            return self._send(handler, 404, {"message": "Recurso não encontrado"})
        with self.lock:
            self.calls[kind] += 1
            fault = self.faults[kind].pop(0) if self.faults[kind] else None
        if fault is not None and not fault.lost:
            return self._send(handler, fault.status, {"message": fault.message, "status": fault.status})
        if kind == "login":
            status, payload, headers = self._login(body)
        else:
            assert match is not None
            key = (match.group(1), int(match.group(2)), int(match.group(3)))
            status, payload, headers = getattr(self, f"_{kind}")(handler, key, body, match.group(4))
        if fault is not None and fault.lost:  # handled, answer lost on the way
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return None
        return self._send(handler, status, payload, headers)

    def _send(self, handler: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict | None = None) -> None:
        data = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _login(self, body: bytes) -> tuple[int, Any, dict]:
        try:
            credentials = json.loads(body or b"{}")
        except ValueError:
            return 400, {"message": "Corpo da requisição inválido"}, {}
        if credentials.get("login") != self.login or credentials.get("senha") != self.senha:
            return 401, {"message": "Usuário ou senha inválidos"}, {}
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = time.monotonic() + self.token_seconds
        return 200, None, {"Authorization": f"Bearer {token}", "expires": str(int(self.token_seconds * 1000))}

    def _authorized(self, handler: BaseHTTPRequestHandler) -> bool:
        header = handler.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        with self.lock:
            ok = self.tokens.get(token, 0.0) > time.monotonic()
            if not ok:
                self.unauthorized += 1
        return ok

    def _list(self, handler, key, body, number) -> tuple[int, Any, dict]:
        with self.lock:
            return 200, [{k: f[k] for k in LISTED} for f in self.files[key] if f["statusAtivo"]], {}

    def _upload(self, handler, key, body, number) -> tuple[int, Any, dict]:
        if not self._authorized(handler):
            return 401, {"message": "Token inválido ou expirado"}, {}
        if key not in self.compras:
            return 404, {"message": "Contratação não encontrada"}, {}
        titulo = handler.headers.get("Titulo-Documento")  # http.server reads header values as ISO-8859-1
        if not titulo or not titulo.strip() or len(titulo) > 255:
            return 422, {"message": "Titulo-Documento: campo obrigatório, até 255 caracteres"}, {}
        tipo = handler.headers.get("Tipo-Documento-Id", "")
        if not tipo.isdigit() or int(tipo) not in {t["id"] for t in TIPOS}:
            return 422, {"message": f"Tipo-Documento-Id inválido: {tipo!r}"}, {}
        content_type = handler.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            return 422, {"message": "Requisição deve ser multipart/form-data"}, {}
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
        if "arquivo" not in parts:
            return 422, {"message": "Parte 'arquivo' ausente"}, {}
        data = parts["arquivo"].get_payload(decode=True) or b""
        if not data:
            return 422, {"message": "Arquivo vazio"}, {}
        if len(data) > MAX_BYTES:
            return 422, {"message": "Arquivo excede o tamanho máximo de 30 MB"}, {}
        with self.lock:
            files = self.files[key]
            number = len(files) + 1
            uri = f"{self.url}/v1/orgaos/{key[0]}/compras/{key[1]}/{key[2]}/arquivos/{number}"
            files.append(
                {
                    "uri": uri,
                    "url": uri,
                    "sequencialDocumento": number,
                    "cnpj": key[0],
                    "anoCompra": key[1],
                    "sequencialCompra": key[2],
                    "titulo": titulo,
                    "tipoDocumentoId": int(tipo),
                    "tipoDocumentoNome": next(t["nome"] for t in TIPOS if t["id"] == int(tipo)),
                    "statusAtivo": True,
                    "dataPublicacaoPncp": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "justificativa": None,
                    "data": data,
                }
            )
        return 201, None, {"Location": uri}

    def _delete(self, handler, key, body, number) -> tuple[int, Any, dict]:
        if not self._authorized(handler):
            return 401, {"message": "Token inválido ou expirado"}, {}
        try:
            justificativa = json.loads(body or b"{}").get("justificativa")
        except ValueError:
            justificativa = None
        if not justificativa:
            return 422, {"message": "justificativa: campo obrigatório"}, {}
        with self.lock:
            found = [f for f in self.files[key] if f["sequencialDocumento"] == int(number)]
            if not found:
                return 404, {"message": "Documento não encontrado"}, {}
            found[0]["statusAtivo"], found[0]["justificativa"] = False, justificativa
        return 200, None, {}
