"""The embedded PNCP sample: real awarded prices served in PNCP's own wire format, with no network.

`seeds/prices/siasg_homologados_2016_2022.parquet` holds 6,513 items homologated in 790 federal pregões
(SIASG open data, 2016–2022). `SampleTransport` answers the collector's calls from them exactly as the PNCP APIs
would — the consulta envelope with its pagination, 204 past the last page, 400 for a missing modalidade or a page
size over 50, 422 for a window over 365 days; the detail API's bare arrays, `[]` past the end, 204 for an item
without results — so `collect-pncp` with ``source="amostra"`` stores them through the same client, parser,
upserts and checkpoints as a real collection.

What SIASG does not carry is derived, and said here: the órgão's "CNPJ" in the control number is the UASG code
zero-padded to 14 digits; the sequencial and ano are the pregão's número and ano; SIASG's modalidade 05 (pregão)
is PNCP's 6 (Pregão - Eletrônico); a pregão without a publication date is dated on a day of its `ano_aviso` chosen
by a hash of its id (deterministic, spread over the year); the object is described from its items; the estimated
unit value is unknown (null) and the homologated one is the real `preco_unitario`; the link is the pregão's record
in the legacy open-data API (compras.dados.gov.br).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

SAMPLE = Path(__file__).resolve().parents[2] / "seeds" / "prices" / "siasg_homologados_2016_2022.parquet"
SAMPLE_URL = "http://amostra.pncp.local"
SIASG_TO_PNCP = {"05": (6, "Pregão - Eletrônico")}
ITENS = re.compile(r"^/api/pncp/v1/orgaos/(\d{14})/compras/(\d{4})/(\d+)/itens(?:/(\d+)/resultados)?/?$")


def _day(row: dict[str, str]) -> date:
    if row["data_publicacao"]:
        return date.fromisoformat(row["data_publicacao"][:10])
    year = int(row["ano_aviso"])
    spread = int(hashlib.sha256(row["id_licitacao"].encode()).hexdigest()[:8], 16) % 365
    return date(year, 1, 1) + timedelta(days=min(spread, 364 if year % 4 else 365))


def _number(value: str) -> float | None:
    return float(value) if value not in (None, "") else None


@lru_cache(maxsize=1)
def dataset() -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]], dict[tuple[str, int], list[dict]]]:
    """(contratações, items by control number, results by (control number, item number)), in wire format."""
    import polars as pl

    frame = pl.read_parquet(SAMPLE).sort("id_licitacao", pl.col("numero_item").cast(pl.Int64))
    groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in frame.iter_rows(named=True):
        groups[row["id_licitacao"]].append(row)
    compras, items, results = [], {}, {}
    for licitacao, rows in groups.items():
        first = rows[0]
        uasg, modalidade, numero, ano = licitacao[:6], licitacao[6:8], int(licitacao[8:13]), int(licitacao[13:])
        modalidade_id, modalidade_nome = SIASG_TO_PNCP.get(modalidade, (6, "Pregão - Eletrônico"))
        cnpj = uasg.zfill(14)
        control = f"{cnpj}-1-{numero:06d}/{ano}"
        published = datetime.combine(_day(first), datetime.min.time()) + timedelta(hours=10)
        stamp = published.isoformat()
        total = sum(_number(r["valor_total_item"]) or 0 for r in rows)
        kinds = sorted({r["descricao_catalogo"].split(",")[0].strip('" ').upper() for r in rows})
        compras.append(
            {
                "numeroControlePNCP": control,
                "anoCompra": ano,
                "sequencialCompra": numero,
                "numeroCompra": f"{numero:05d}/{ano}",
                "processo": licitacao,
                "modalidadeId": modalidade_id,
                "modalidadeNome": modalidade_nome,
                "situacaoCompraId": 1,
                "situacaoCompraNome": "Divulgada no PNCP",
                "srp": False,
                "objetoCompra": f"Pregão {numero:05d}/{ano} da UASG {uasg}: "
                + "; ".join(kinds[:6])
                + (f" e outros {len(kinds) - 6}" if len(kinds) > 6 else ""),
                "amparoLegal": {"codigo": None, "nome": "Lei 10.520/2002 (registro SIASG)"},
                "orgaoEntidade": {"cnpj": cnpj, "razaoSocial": first["nome_uasg"], "poderId": "E", "esferaId": "F"},
                "unidadeOrgao": {
                    "ufSigla": first["uf"],
                    "municipioNome": first["municipio"],
                    "codigoUnidade": uasg,
                    "nomeUnidade": first["nome_uasg"],
                    "codigoIbge": None,
                },
                "valorTotalEstimado": None,
                "valorTotalHomologado": round(total, 2),
                "dataPublicacaoPncp": stamp,
                "dataAberturaProposta": stamp,
                "dataAtualizacao": stamp,
                "dataAtualizacaoGlobal": stamp,
                "linkSistemaOrigem": f"http://compras.dados.gov.br/licitacoes/doc/licitacao/{licitacao}",
            }
        )
        items[control] = []
        awarded: dict[int, list[dict[str, str]]] = defaultdict(list)  # an item split among suppliers: one result each
        for r in rows:
            awarded[int(r["numero_item"])].append(r)
        for number, shares in awarded.items():
            r = shares[0]
            service = r["tipo"].lower().startswith("serv")
            items[control].append(
                {
                    "numeroItem": number,
                    "descricao": r["descricao_catalogo"],
                    "materialOuServico": "S" if service else "M",
                    "materialOuServicoNome": "Serviço" if service else "Material",
                    "quantidade": max(_number(x["quantidade"]) or 0 for x in shares),
                    "unidadeMedida": r["unidade"],
                    "valorUnitarioEstimado": None,
                    "valorTotal": None,
                    "catalogoCodigoItem": r["codigo_catalogo"] or None,
                    "situacaoCompraItem": 2,
                    "situacaoCompraItemNome": "Homologado",
                    "temResultado": True,
                    "orcamentoSigiloso": False,
                    "criterioJulgamentoId": 1,
                    "dataAtualizacao": stamp,
                }
            )
            results[(control, number)] = [
                {
                    "numeroControlePNCPCompra": control,
                    "numeroItem": number,
                    "sequencialResultado": sequence,
                    "tipoPessoa": "PJ",
                    "niFornecedor": x["cnpj_fornecedor"] or None,
                    "nomeRazaoSocialFornecedor": None,
                    "quantidadeHomologada": _number(x["quantidade"]),
                    "valorUnitarioHomologado": _number(x["preco_unitario"]),
                    "valorTotalHomologado": _number(x["valor_total_item"]),
                    "situacaoCompraItemResultadoId": 1,
                    "dataResultado": (published + timedelta(days=30)).date().isoformat(),
                    "dataAtualizacao": stamp,
                }
                for sequence, x in enumerate(shares, 1)
            ]
    return compras, items, results


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(body, ensure_ascii=False).encode(), headers={"Content-Type": "application/json"}
    )


def _int(query: dict[str, list[str]], name: str, default: int | None = None) -> int | None:
    values = query.get(name)
    if not values:
        return default
    try:
        return int(values[0])
    except ValueError:
        return None


class SampleTransport(httpx.BaseTransport):
    """The PNCP consulta and detail APIs over the embedded sample (no socket)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path, query = request.url.path, parse_qs(request.url.query.decode())
        if path.startswith("/api/consulta/v1/contratacoes/"):
            return self._consulta(path.rsplit("/", 1)[-1], query)
        match = ITENS.match(path)
        if match:
            return self._detail(match, query)
        return _json(404, {"message": f"recurso não encontrado: {path}"})

    def _consulta(self, endpoint: str, query: dict[str, list[str]]) -> httpx.Response:
        if endpoint not in ("publicacao", "atualizacao"):
            return _json(404, {"message": f"endpoint desconhecido: {endpoint}"})
        try:
            start = datetime.strptime(query["dataInicial"][0], "%Y%m%d").date()
            end = datetime.strptime(query["dataFinal"][0], "%Y%m%d").date()
        except (KeyError, ValueError):
            return _json(400, {"message": "dataInicial e dataFinal são obrigatórias (AAAAMMDD)"})
        modalidade, page = _int(query, "codigoModalidadeContratacao"), _int(query, "pagina")
        size = _int(query, "tamanhoPagina", 50)
        if endpoint == "publicacao" and modalidade is None:
            return _json(400, {"message": "codigoModalidadeContratacao é obrigatório"})
        if page is None or page < 1:
            return _json(400, {"message": "pagina é obrigatória"})
        if size is None or size > 50 or size < 1:
            return _json(400, {"message": "Tamanho de página inválido"})
        if (end - start).days > 365:
            return _json(422, {"message": "Período inicial e final maior que 365 dias"})
        uf = (query.get("uf") or [None])[0]
        field = "dataPublicacaoPncp" if endpoint == "publicacao" else "dataAtualizacaoGlobal"
        rows = [
            c
            for c in dataset()[0]
            if start <= date.fromisoformat(c[field][:10]) <= end
            and (modalidade is None or c["modalidadeId"] == modalidade)
            and (uf is None or c["unidadeOrgao"]["ufSigla"] == uf)
        ]
        pages = -(-len(rows) // size)
        chunk = rows[(page - 1) * size : page * size]
        if not chunk:
            return httpx.Response(204)
        return _json(
            200,
            {
                "data": chunk,
                "totalRegistros": len(rows),
                "totalPaginas": pages,
                "numeroPagina": page,
                "paginasRestantes": pages - page,
                "empty": False,
            },
        )

    def _detail(self, match: re.Match[str], query: dict[str, list[str]]) -> httpx.Response:
        cnpj, ano, sequencial, item = match.groups()
        control = f"{cnpj}-1-{int(sequencial):06d}/{ano}"
        _, items, results = dataset()
        if control not in items:
            return _json(404, {"message": f"compra {control} não encontrada"})
        if item is not None:
            found = results.get((control, int(item)))
            return _json(200, found) if found else httpx.Response(204)
        page, size = _int(query, "pagina", 1) or 1, _int(query, "tamanhoPagina", 10) or 10
        return _json(200, items[control][(page - 1) * size : page * size])
