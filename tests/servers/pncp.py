"""A PNCP replay server on loopback: the consulta API's envelope and the detail API's bare arrays, over a
deterministic dataset built from real records' shape (tests/data/pncp), with the faults PNCP is known for.

Consulta: `GET /api/consulta/v1/contratacoes/{publicacao|atualizacao}` (needs dataInicial, dataFinal,
codigoModalidadeContratacao, pagina; 400 "Tamanho de página inválido" above 50; 422 for a window over 365 days;
204 for an empty page). Detail: `GET /api/pncp/v1/orgaos/{cnpj}/compras/{ano}/{seq}/itens` (paginated, `[]`
past the end) and `.../itens/{n}/resultados` (204 when none). Files: `.../compras/{ano}/{seq}/arquivos` (a bare
array of PNCP's file entries: sequencialDocumento, titulo, tipoDocumentoId/Nome/Descricao, url, uri, statusAtivo,
dataPublicacaoPncp, cnpj, anoCompra, sequencialCompra; `[]` when the compra has none) and `.../arquivos/{n}` (the
bytes, application/octet-stream; 404 for a file `add_files` registered without content), for the files a test
registers with `add_files(control, files)`.

Faults are queued per kind of path: `fail(kind, status, times, body, content_type)`, `slow(kind, seconds,
times)`, `malformed(kind, times)`; kinds are "consulta", "itens", "resultados", "arquivos", "arquivo".
`down(kind, status)` makes every call of a kind fail until `restore(kind)` (an API out for a while).
"""

from __future__ import annotations

import copy
import json
import random
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

DATA = Path(__file__).resolve().parents[1] / "data" / "pncp"
HTML_429 = "<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>"
DB_500 = json.dumps({"message": "Erro na comunicação com o banco de dados"})


def _load(name: str):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@dataclass
class Fault:
    status: int = 500
    body: str = DB_500
    content_type: str = "application/json"
    seconds: float = 0.0
    malformed: bool = False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


@dataclass
class PncpReplay:
    port: int
    seed: int = 5
    per_modalidade: int = 16  # contratações per modalidade
    start: date = date(2026, 3, 2)
    days: int = 5
    modalidades: tuple[int, ...] = (6, 8)
    odd_every: int = 9  # every n-th record has something wrong (0: none)
    faults: dict[str, list[Fault]] = field(default_factory=lambda: defaultdict(list))
    calls: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    latency: dict[str, float] = field(default_factory=dict)  # seconds every answer of a kind takes
    in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    max_in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    outages: dict[str, int] = field(default_factory=dict)  # kind → the status every call answers while it is down
    files: dict[str, list[dict]] = field(default_factory=dict)  # control → its file entries (with "content")
    downloads: list[str] = field(default_factory=list)  # the file paths asked for, in order

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.build()
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                status, body, content_type = replay.answer(self.path)
                payload = body.encode("utf-8") if isinstance(body, str) else body
                try:
                    self.send_response(status)
                    if status != 204:
                        self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = _Server(("127.0.0.1", self.port), Handler)
        self.url = f"http://127.0.0.1:{self.port}"

    # the dataset

    def build(self) -> None:
        rng = random.Random(self.seed)
        base = _load("02_consulta_v1_contratacoes_publicacao_CNPq_dispensa_2023.json")["data"][0]
        item_base = _load("05_pncp_v1_compras_itens_item_Ceara_2026.json")
        result_base = _load("06_pncp_v1_compras_itens_resultados_Ceara_2026.json")[0]
        ufs = ["DF", "BA", "CE", "SP", "MG", "RS"]
        self.records: dict[int, list[dict]] = {}
        self.items: dict[str, list[dict]] = {}
        self.results: dict[tuple[str, int], list[dict]] = {}
        serial = 0
        for modalidade in self.modalidades:
            rows = []
            for n in range(self.per_modalidade):
                serial += 1
                cnpj = f"{rng.randint(10**13, 10**14 - 1)}"
                ano = self.start.year
                published = datetime.combine(
                    self.start + timedelta(days=n % self.days), datetime.min.time()
                ) + timedelta(hours=8, minutes=n)
                record = copy.deepcopy(base)
                record.update(
                    {
                        "numeroControlePNCP": f"{cnpj}-1-{serial:06d}/{ano}",
                        "anoCompra": ano,
                        "sequencialCompra": serial,
                        "numeroCompra": f"{serial:05d}",
                        "modalidadeId": modalidade,
                        "objetoCompra": f"Aquisição de material de consumo, lote {serial}: papel A4, toner e café.",
                        "dataPublicacaoPncp": published.isoformat(),
                        "dataAtualizacao": published.isoformat(),
                        "dataAtualizacaoGlobal": published.isoformat(),
                        "valorTotalEstimado": rng.randint(1000, 900000),
                    }
                )
                record["orgaoEntidade"] = {**record["orgaoEntidade"], "cnpj": cnpj}
                record["unidadeOrgao"] = {**record["unidadeOrgao"], "ufSigla": rng.choice(ufs)}
                if self.odd_every and serial % self.odd_every == 0:
                    self._spoil(record, serial // self.odd_every - 1)
                rows.append(record)
                control = record["numeroControlePNCP"]
                items = []
                for number in range(1, rng.randint(1, 4) + 1):
                    entry = copy.deepcopy(item_base)
                    entry.update(
                        {
                            "numeroItem": number,
                            "descricao": f"PAPEL A4 75 G/M2, RESMA 500 FOLHAS, item {number}",
                            "quantidade": float(rng.randint(1, 500)),
                            "unidadeMedida": rng.choice(["Resma", "UNIDADE", "Caixa", "unid", "PACOTE"]),
                            "valorUnitarioEstimado": round(rng.uniform(10, 40), 2),
                            "catalogoCodigoItem": str(rng.choice([461976, 150308, 232350])),
                            "dataAtualizacao": published.isoformat(),
                            "temResultado": number % 2 == 1,
                        }
                    )
                    entry["valorTotal"] = round(entry["quantidade"] * entry["valorUnitarioEstimado"], 2)
                    items.append(entry)
                    if entry["temResultado"]:
                        result = copy.deepcopy(result_base)
                        person = "PF" if serial % 7 == 0 else "PJ"
                        result.update(
                            {
                                "numeroItem": number,
                                "numeroControlePNCPCompra": control,
                                "tipoPessoa": person,
                                "niFornecedor": "12345678909" if person == "PF" else "49324221000104",
                                "nomeRazaoSocialFornecedor": "MARIA DA SILVA"
                                if person == "PF"
                                else "FORNECEDORA DE PAPEL LTDA",
                                "valorUnitarioHomologado": round(entry["valorUnitarioEstimado"] * 0.8, 4),
                                "quantidadeHomologada": entry["quantidade"],
                                "dataResultado": (published + timedelta(days=3)).date().isoformat(),
                                "dataAtualizacao": published.isoformat(),
                            }
                        )
                        self.results[(control, number)] = [result]
                self.items[control] = items
            self.records[modalidade] = rows

    @staticmethod
    def _spoil(record: dict, nth: int) -> None:
        kind = nth % 4
        if kind == 0:
            record["numeroControlePNCP"] = "sem-controle"
        elif kind == 1:
            record["unidadeOrgao"] = {**record["unidadeOrgao"], "ufSigla": "Bahia"}
        elif kind == 2:
            record["valorTotalEstimado"] = -10
        else:
            record["dataPublicacaoPncp"] = "31/02/2026"

    def all_valid_controls(self) -> set[str]:
        return {
            r["numeroControlePNCP"]
            for rows in self.records.values()
            for r in rows
            if re.match(r"^\d{14}-1-\d{6}/\d{4}$", r["numeroControlePNCP"])
            and r["unidadeOrgao"]["ufSigla"] != "Bahia"
            and r["valorTotalEstimado"] >= 0
            and "/" not in r["dataPublicacaoPncp"][:10]
        }

    def update_record(self, control: str, **changes) -> None:
        with self.lock:
            for rows in self.records.values():
                for record in rows:
                    if record["numeroControlePNCP"] == control:
                        record.update(changes)

    # faults

    def fail(
        self, kind: str, status: int = 500, times: int = 1, body: str = DB_500, content_type: str = "application/json"
    ) -> None:
        with self.lock:
            self.faults[kind].extend(Fault(status, body, content_type) for _ in range(times))

    def slow(self, kind: str, seconds: float, times: int = 1) -> None:
        with self.lock:
            self.faults[kind].extend(Fault(status=200, seconds=seconds) for _ in range(times))

    def malformed(self, kind: str, times: int = 1) -> None:
        with self.lock:
            self.faults[kind].extend(Fault(status=200, malformed=True) for _ in range(times))

    def down(self, kind: str, status: int = 503) -> None:
        with self.lock:
            self.outages[kind] = status

    def restore(self, kind: str) -> None:
        with self.lock:
            self.outages.pop(kind, None)

    def reset(self) -> None:
        with self.lock:
            self.faults.clear()
            self.calls.clear()
            self.outages.clear()
            self.downloads.clear()

    # serving

    def start_server(self) -> PncpReplay:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, target: str) -> tuple[int, str, str]:
        kind = self._kind(urlsplit(target).path)
        with self.lock:
            self.in_flight[kind] += 1
            self.max_in_flight[kind] = max(self.max_in_flight[kind], self.in_flight[kind])
        try:
            if self.latency.get(kind):
                time.sleep(self.latency[kind])
            return self._answer(target)
        finally:
            with self.lock:
                self.in_flight[kind] -= 1

    def add_files(self, control: str, files: list[dict]) -> None:
        """Files of a compra: each ``{"sequencialDocumento", "titulo", "tipoDocumentoId", "tipoDocumentoNome",
        "content": bytes | None}`` (None: listed, but its download answers 404); ``statusAtivo`` optional."""
        with self.lock:
            self.files[control] = [dict(f) for f in files]

    def _file_entry(self, control: str, entry: dict) -> dict:
        cnpj, rest = control.split("-", 1)
        seq, ano = rest.split("-", 1)[1].split("/")
        path = f"/v1/orgaos/{cnpj}/compras/{ano}/{int(seq)}/arquivos/{entry['sequencialDocumento']}"
        return {  # the shape of PNCP's answer, field by field
            "uri": f"{self.url}/api/pncp{path}",
            "url": f"{self.url}/pncp-api{path}",
            "tipoDocumentoId": entry["tipoDocumentoId"],
            "tipoDocumentoNome": entry["tipoDocumentoNome"],
            "tipoDocumentoDescricao": entry["tipoDocumentoNome"],
            "titulo": entry["titulo"],
            "sequencialDocumento": entry["sequencialDocumento"],
            "dataPublicacaoPncp": entry.get("dataPublicacaoPncp", "2026-03-02T10:15:00"),
            "cnpj": cnpj,
            "anoCompra": int(ano),
            "sequencialCompra": int(seq),
            "statusAtivo": entry.get("statusAtivo", True),
        }

    @staticmethod
    def _kind(path: str) -> str:
        if path.endswith("/arquivos"):
            return "arquivos"
        if re.search(r"/arquivos/\d+$", path):
            return "arquivo"
        return (
            "consulta"
            if path.startswith("/api/consulta/")
            else "resultados"
            if path.endswith("/resultados")
            else "itens"
            if path.endswith("/itens")
            else "other"
        )

    def _answer(self, target: str) -> tuple[int, str, str]:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        kind = self._kind(path)
        with self.lock:
            self.calls[kind].append(time.monotonic())
            fault = self.faults[kind].pop(0) if self.faults.get(kind) else None
            if kind in self.outages:
                fault = Fault(
                    self.outages[kind],
                    DB_500 if self.outages[kind] >= 500 else json.dumps({"message": "não encontrado"}),
                )
        if fault and fault.seconds:
            time.sleep(fault.seconds)
        elif fault and fault.malformed:
            return 200, '{"data": [{"numeroControlePNCP": ', "application/json"
        elif fault:
            return fault.status, fault.body, fault.content_type
        if kind == "consulta":
            return self._consulta(path, query)
        if kind in ("arquivos", "arquivo"):
            return self._files(path)
        match = re.match(r"^/api/pncp/v1/orgaos/(\d{14})/compras/(\d{4})/(\d+)/itens(?:/(\d+)/resultados)?$", path)
        if not match:
            return 404, json.dumps({"message": "não encontrado"}), "application/json"
        cnpj, ano, seq, number = match.groups()
        control = f"{cnpj}-1-{int(seq):06d}/{ano}"
        if number is not None:
            found = self.results.get((control, int(number)))
            return (200, json.dumps(found), "application/json") if found else (204, "", "application/json")
        items = self.items.get(control, [])
        page, size = int(query.get("pagina", 1)), int(query.get("tamanhoPagina", 10))
        return 200, json.dumps(items[(page - 1) * size : page * size]), "application/json"

    def _files(self, path: str) -> tuple[int, str | bytes, str]:
        match = re.match(r"^/api/pncp/v1/orgaos/(\d{14})/compras/(\d{4})/(\d+)/arquivos(?:/(\d+))?$", path)
        if not match:
            return 404, json.dumps({"message": "não encontrado"}), "application/json"
        cnpj, ano, seq, number = match.groups()
        control = f"{cnpj}-1-{int(seq):06d}/{ano}"
        entries = self.files.get(control, [])
        if number is None:
            return 200, json.dumps([self._file_entry(control, e) for e in entries]), "application/json"
        with self.lock:
            self.downloads.append(path)
        found = next((e for e in entries if e["sequencialDocumento"] == int(number)), None)
        if found is None or found.get("content") is None:
            return 404, json.dumps({"message": "Arquivo não encontrado", "status": 404}), "application/json"
        return 200, found["content"], "application/octet-stream"

    def _consulta(self, path: str, query: dict[str, str]) -> tuple[int, str, str]:
        def error(status: int, message: str) -> tuple[int, str, str]:
            return status, json.dumps({"message": message, "status": status, "path": path}), "application/json"

        if not path.endswith(("/contratacoes/publicacao", "/contratacoes/atualizacao")):
            return error(404, "não encontrado")
        for name in ("dataInicial", "dataFinal", "pagina"):
            if name not in query:
                return error(400, f"Parâmetro obrigatório {name} ausente")
        if "codigoModalidadeContratacao" not in query:
            return error(400, "Parâmetro obrigatório codigoModalidadeContratacao ausente")
        size = int(query.get("tamanhoPagina", 50))
        if size > 50 or size < 10:
            return error(400, "Tamanho de página inválido")
        first = datetime.strptime(query["dataInicial"], "%Y%m%d").date()
        last = datetime.strptime(query["dataFinal"], "%Y%m%d").date()
        if (last - first).days > 365:
            return error(422, "Período inicial e final maior que 365 dias")
        field = "dataAtualizacaoGlobal" if path.endswith("atualizacao") else "dataPublicacaoPncp"
        with self.lock:
            rows = [
                r
                for r in self.records.get(int(query["codigoModalidadeContratacao"]), [])
                if "uf" not in query or r["unidadeOrgao"]["ufSigla"] == query["uf"]
            ]
            rows = [r for r in rows if _in_window(r.get(field), first, last)]
        page = int(query["pagina"])
        total_pages = -(-len(rows) // size)
        chunk = rows[(page - 1) * size : page * size]
        if not chunk:
            return 204, "", "application/json"
        envelope = {
            "data": chunk,
            "totalRegistros": len(rows),
            "totalPaginas": total_pages,
            "numeroPagina": page,
            "paginasRestantes": max(0, total_pages - page),
            "empty": False,
        }
        return 200, json.dumps(envelope, ensure_ascii=False), "application/json"


def _in_window(value: str | None, first: date, last: date) -> bool:
    try:
        moment = datetime.fromisoformat(value).date()
    except (TypeError, ValueError):
        moment = first  # a spoiled date still appears in the window (as the real API would list it)
    return first <= moment <= last
