"""The PNCP library through the API: search with snippets and links, refusals in Portuguese, and a
collect-pncp-documents run started through the API and the runner against the replay server."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from models.crud import pncp_documents as library
from models.db import session_scope
from models.market import PncpContratacao
from tests.utils import pncp_files as files


def _stored(url: str, token: str) -> str:
    control = f"00394445000102-1-{uuid.uuid4().int % 900000 + 100000:06d}/2025"
    with session_scope(url) as session:
        library.store_document(
            session,
            {
                "numero_controle_pncp": control,
                "cnpj": "00394445000102",
                "ano": 2025,
                "sequencial": int(control.split("-")[2].split("/")[0]),
                "sequencial_documento": 2,
                "tipo": "tr",
                "titulo": "Termo de Referência",
                "url": "https://pncp.gov.br/pncp-api/v1/orgaos/00394445000102/compras/2025/1/arquivos/2",
                "uf": "GO",
                "status": "indexed",
            },
            [
                {
                    "position": 1,
                    "heading": "1. DEFINIÇÃO DO OBJETO",
                    "element": "tr:a",
                    "text": f"Aquisição de {token} para os laboratórios de química.",
                },
                {"position": 2, "heading": "2. MODELO DE GESTÃO", "element": "tr:f", "text": "Fiscal designado."},
            ],
        )
    return control


def test_search_answers_sections_with_snippet_and_links(client, sqlite_url):
    token = f"autoclave{uuid.uuid4().hex[:6]}"
    control = _stored(sqlite_url, token)
    answer = client.get("/api/v1/pncp/documentos/search", params={"q": f"{token} laboratório", "uf": "go"})
    assert answer.status_code == 200, answer.text
    (hit,) = answer.json()["resultados"]
    assert hit["numero_controle_pncp"] == control and hit["elemento"] == "tr:a" and hit["tipo"] == "tr"
    assert token in hit["trecho"] and hit["url"].endswith("/arquivos/2")
    assert hit["link_pncp"].startswith("https://pncp.gov.br/app/editais/00394445000102/2025/")
    assert client.get("/api/v1/pncp/documentos/search", params={"q": token, "tipo": "etp"}).json()["total"] == 0


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"q": "de para o"}, "ao menos uma palavra"),
        ({"q": "papel", "uf": "XX"}, "UF desconhecida"),
        ({"q": "papel", "elemento": "etp:Z"}, "elemento"),
        ({"q": "papel", "tipo": "edital"}, "tipo"),
    ],
)
def test_bad_searches_are_refused_in_portuguese(client, params, needle):
    answer = client.get("/api/v1/pncp/documentos/search", params=params)
    assert answer.status_code == 422 and needle in str(answer.json()["detail"]), answer.text


def test_bad_collection_requests_are_refused(client):
    answer = client.post("/api/v1/pncp/documentos/collect", json={"start": "2026-03-06", "end": "2026-03-01"})
    assert answer.status_code == 422 and "posterior" in str(answer.json()["detail"]), answer.text
    answer = client.post("/api/v1/pncp/documentos/collect", json={"ufs": ["XX"]})
    assert answer.status_code == 422 and "UF desconhecida" in str(answer.json()["detail"]), answer.text


@pytest.mark.usefixtures("runner")
def test_collect_documents_through_the_api(client, sqlite_url, pncp_server):
    control = "00394445000102-1-009101/2026"
    with session_scope(sqlite_url) as session:
        if session.get(PncpContratacao, control) is None:
            session.add(
                PncpContratacao(
                    numero_controle_pncp=control,
                    cnpj_orgao="00394445000102",
                    ano_compra=2026,
                    sequencial_compra=9101,
                    modalidade_id=6,
                    uf="DF",
                    data_publicacao_pncp=datetime(2026, 3, 4),
                )
            )
    pncp_server.add_files(
        control,
        [
            {
                "sequencialDocumento": 1,
                "tipoDocumentoId": 7,
                "tipoDocumentoNome": "Estudo Técnico Preliminar",
                "titulo": "ETP",
                "content": files.pdf(),
            }
        ],
    )
    try:
        done = client.post(
            "/api/v1/pncp/documentos/collect",
            json={"start": "2026-03-04", "end": "2026-03-04", "ufs": ["DF"]},
            params={"wait": 90},
        )
        assert done.status_code == 200, done.text
        result = done.json()["result"]
        assert result["files_indexed"] >= 1 and result["contratacoes_listed"] >= 1
        found = client.get("/api/v1/pncp/documentos/search", params={"q": "papel sulfite", "uf": "DF"}).json()
        assert any(h["numero_controle_pncp"] == control and h["elemento"] == "etp:I" for h in found["resultados"])
    finally:
        pncp_server.files.pop(control, None)
