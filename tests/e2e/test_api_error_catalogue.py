"""The catalogue of the API's error answers: each 4xx kind it gives, one request each, through HTTP. Every answer is
`{"detail", "trace_id", …}` in Portuguese (no English phrase of pydantic, Starlette or FastAPI), and a 422 of invalid
data names each field as the API spells it, where it was (corpo, consulta, caminho, cabeçalho) and the error type."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from core.settings import settings
from tests.utils.builders import AUTHORITY, LEFT, PLANNER, actor, document_data
from tests.utils.english import english

NOTHING = object()
DOC = "{doc}"  # the id of a rascunho ETP, filled in by the test


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    status: int
    fields: tuple[tuple[str, str, str], ...] = ()  # (campo, local, tipo) each in `erros` and named in `detail`
    by_section: bool = False  # `detail` names a template's fields by section ("seção 1 ('a'): guidance")
    says: tuple[str, ...] = ()  # in `detail`
    json: Any = NOTHING
    content: bytes | None = None
    params: Any = None
    key: str | None = "all"  # which key of the `keys` fixture; None: no Bearer key
    headers: dict[str, str] = field(default_factory=dict)  # "{key}" is the `all` key itself
    settings: dict[str, Any] = field(default_factory=dict)


def doc(**overrides: Any) -> dict[str, Any]:
    return {**document_data("ETP"), **overrides}


def item(**overrides: Any) -> dict[str, Any]:
    return {"descricao": "Papel A4 75 g/m²", "unidade": "resma", "quantidade": 10, **overrides}


JSON = {"content-type": "application/json"}
TEMPLATE = {
    "name": "Modelo de teste",
    "kind": "ETP",
    "sections": [
        {
            "slug": "A",
            "code": "I",
            "title": "Necessidade",
            "legal_basis": "art. 18",
            "guidance": "curto",
            "instructions": "Descreva a necessidade da contratação.",
        }
    ],
}

CATALOGUE = [
    Case(
        "400 corpo fora de UTF-8",
        "POST",
        "/api/v1/documents",
        400,
        content='{"titulo": "\xe9"}'.encode("latin-1"),
        headers=JSON,
        says=("Corpo da requisição ilegível",),
    ),
    Case("401 sem chave", "GET", "/api/v1/documents", 401, key=None, says=("Chave de API ausente",)),
    Case(
        "401 chave sem Bearer",
        "GET",
        "/api/v1/documents",
        401,
        key=None,
        headers={"Authorization": "{key}"},
        says=("Authorization malformado", "sem 'Bearer ' antes", "Bearer <chave>"),
    ),
    Case(
        "401 esquema Basic",
        "GET",
        "/api/v1/documents",
        401,
        key=None,
        headers={"Authorization": "Basic YTpi"},
        says=("Authorization malformado", "esquema 'Basic'"),
    ),
    Case(
        "401 Bearer sem chave",
        "GET",
        "/api/v1/documents",
        401,
        key=None,
        headers={"Authorization": "Bearer"},
        says=("Authorization malformado", "falta a chave"),
    ),
    Case(
        "401 chave inválida",
        "GET",
        "/api/v1/documents",
        401,
        key=None,
        headers={"Authorization": "Bearer nxk_000000000000_nope"},
        says=("inválida ou revogada",),
    ),
    Case("403 escopo", "POST", "/api/v1/documents", 403, key="read", json=doc(), says=("'write'",)),
    Case(
        "422 sem X-Actor",
        "POST",
        "/api/v1/documents",
        422,
        json=doc(),
        headers={"X-Actor": ""},
        says=("Informe quem age no cabeçalho 'X-Actor",),
    ),
    Case(
        "422 X-Actor desconhecido",
        "POST",
        "/api/v1/documents",
        422,
        json=doc(),
        headers={"X-Actor": "ninguem.aqui"},
        says=("'ninguem.aqui' (X-Actor) não é uma pessoa cadastrada",),
    ),
    Case(
        "403 X-Actor desativado",
        "POST",
        "/api/v1/documents",
        403,
        json=doc(),
        headers={"X-Actor": LEFT},
        says=("está desativada desde",),
    ),
    Case(
        "403 não é da equipe de planejamento",
        "POST",
        "/api/v1/documents",
        403,
        json=doc(),
        headers={"X-Actor": AUTHORITY},
        says=("não integra a equipe de planejamento", "art. 18, caput"),
    ),
    Case("404 rota", "GET", "/api/v1/nada", 404, says=("Nenhum recurso em /api/v1/nada",)),
    Case("404 registro", "GET", f"/api/v1/documents/{uuid.UUID(int=1)}", 404, says=("não encontrado",)),
    Case("405 método", "DELETE", "/api/v1/templates", 405, says=("Método DELETE não permitido", "GET, POST")),
    Case(
        "409 transição",
        "POST",
        f"/api/v1/documents/{DOC}/transitions",
        409,
        json={"to": "aprovado"},
        says=("Permitidas: em_revisao, cancelado",),
    ),
    Case(
        "413 corpo grande",
        "POST",
        "/api/v1/documents",
        413,
        json=doc(context="x" * 2048),
        settings={"MAX_REQUEST_BYTES": 1024},
        says=("1024 bytes",),
    ),
    Case(
        "422 campos ausentes",
        "POST",
        "/api/v1/documents",
        422,
        json={"titulo": "Papel A4", "kind": "ETP"},
        fields=(("numero_processo", "corpo", "missing"), ("orgao", "corpo", "missing")),
    ),
    Case(
        "422 corpo ausente",
        "POST",
        "/api/v1/documents",
        422,
        fields=(("corpo", "corpo", "missing"),),
        says=("ausente",),
    ),
    Case(
        "422 JSON malformado",
        "POST",
        "/api/v1/documents",
        422,
        content=b"{titulo: 1}",
        headers=JSON,
        fields=(("corpo", "corpo", "json_invalid"),),
        says=("JSON malformado no caractere 2",),
    ),
    Case(
        "422 corpo não é objeto",
        "POST",
        "/api/v1/documents",
        422,
        json=[1],
        fields=(("corpo", "corpo", "model_attributes_type"),),
        says=("objeto JSON",),
    ),
    Case(
        "422 corpo text/plain",
        "POST",
        "/api/v1/documents",
        422,
        content=b"titulo=x",
        headers={"content-type": "text/plain"},
        fields=(("corpo", "corpo", "model_attributes_type"),),
        says=("Content-Type: application/json",),
    ),
    Case(
        "422 template não é objeto",
        "POST",
        "/api/v1/templates",
        422,
        key="admin",
        json=[1],
        fields=(("corpo", "corpo", "dict_type"),),
    ),
    Case(
        "422 texto curto e longo",
        "POST",
        "/api/v1/documents",
        422,
        json=doc(titulo="x", orgao="o" * 201),
        fields=(("titulo", "corpo", "string_too_short"), ("orgao", "corpo", "string_too_long")),
        says=("ao menos 3 caracteres (tem 1)", "no máximo 200 caracteres (tem 201)"),
    ),
    Case(
        "422 tipo errado",
        "PUT",
        f"/api/v1/documents/{DOC}/fields/descricao_necessidade",
        422,
        json={"content": 3},
        fields=(("content", "corpo", "string_type"),),
        says=("deve ser texto",),
    ),
    Case(
        "422 enum e literal",
        "POST",
        "/api/v1/documents",
        422,
        json=doc(kind="EDITAL", itens=[item(material_ou_servico="X")]),
        fields=(("kind", "corpo", "enum"), ("itens[0].material_ou_servico", "corpo", "literal_error")),
        says=("deve ser 'ETP' ou 'TR' (recebido: 'EDITAL')", "deve ser 'M' ou 'S'"),
    ),
    Case(
        "422 data DD/MM/AAAA",
        "POST",
        "/api/v1/documents",
        422,
        json=doc(itens=[item(data_referencia="31/12/2022")]),
        fields=(("itens[0].data_referencia", "corpo", "date_from_datetime_parsing"),),
        says=("use o formato AAAA-MM-DD, como 2022-12-31 (recebido: '31/12/2022')",),
    ),
    Case(
        "422 data com horário",
        "POST",
        "/api/v1/documents",
        422,
        json=doc(itens=[item(data_referencia="2022-12-31T10:00:00")]),
        fields=(("itens[0].data_referencia", "corpo", "date_from_datetime_inexact"),),
        says=("sem horário",),
    ),
    Case(
        "422 números e booleano",
        "POST",
        "/api/v1/documents",
        422,
        json=doc(orcamento_sigiloso="talvez", itens=[item(quantidade="dez"), item(quantidade=0)]),
        fields=(
            ("orcamento_sigiloso", "corpo", "bool_parsing"),
            ("itens[0].quantidade", "corpo", "float_type"),  # a JSON number, not text (core/validation.JsonFloat)
            ("itens[1].quantidade", "corpo", "greater_than"),
        ),
        says=("deve ser true ou false", "deve ser um número", "deve ser maior que 0"),
    ),
    Case(
        "422 listas",
        "POST",
        "/api/v1/documents",
        422,
        json=doc(itens="papel"),
        fields=(("itens", "corpo", "list_type"),),
        says=("lista JSON",),
    ),
    Case(
        "422 lista longa",
        "POST",
        "/api/v1/documents",
        422,
        json=doc(itens=[{"descricao": "abc"}] * 201),
        fields=(("itens", "corpo", "too_long"),),
        says=("no máximo 200 itens (tem 201)",),
    ),
    Case(
        "422 lista vazia",
        "POST",
        "/api/v1/subscriptions",
        422,
        key="admin",
        json={"channel": "email", "target": "compras@exemplo.gov.br", "event_types": []},
        fields=(("event_types", "corpo", "too_short"),),
        says=("ao menos 1 item (tem 0)",),
    ),
    Case(
        "422 UUID no corpo",
        "POST",
        "/api/v1/etp/generate-field",
        422,
        json={"document_id": "123", "field": "descricao_necessidade"},
        fields=(("document_id", "corpo", "uuid_parsing"),),
        says=("identificador malformado (UUID esperado)",),
    ),
    Case(
        "422 UUID no caminho",
        "GET",
        "/api/v1/documents/nao-e-uuid",
        422,
        fields=(("document_id", "caminho", "uuid_parsing"),),
        says=("parâmetro de caminho document_id: identificador malformado (UUID esperado)",),
    ),
    Case(
        "422 UUID na consulta",
        "GET",
        "/api/v1/notifications",
        422,
        params={"document_id": "abc"},
        fields=(("document_id", "consulta", "uuid_parsing"),),
    ),
    Case(
        "422 limites na consulta",
        "GET",
        "/api/v1/documents",
        422,
        params={"limit": 10_000, "offset": -1},
        fields=(("limit", "consulta", "less_than_equal"), ("offset", "consulta", "greater_than_equal")),
        says=("parâmetro de consulta limit: deve ser no máximo 200",),
    ),
    Case(
        "422 inteiro na consulta",
        "GET",
        "/api/v1/documents",
        422,
        params={"limit": "dez", "kind": "EDITAL"},
        fields=(("limit", "consulta", "int_parsing"), ("kind", "consulta", "enum")),
    ),
    Case(
        "422 inteiro com decimais",
        "POST",
        "/api/v1/models/price/train",
        422,
        json={"seed": 1.5},
        fields=(("seed", "corpo", "int_from_float"),),
        says=("sem casas decimais",),
    ),
    Case(
        "422 cabeçalho fora do padrão",
        "POST",
        "/api/v1/etp/generate-field",
        422,
        json={"document_id": DOC, "field": "descricao_necessidade"},
        headers={"Idempotency-Key": "com espaco"},
        fields=(("Idempotency-Key", "cabeçalho", "string_pattern_mismatch"),),
        says=("cabeçalho Idempotency-Key",),
    ),
    Case(
        "422 validador nosso",
        "POST",
        "/api/v1/prices/estimate",
        422,
        json={"uf": "SP"},
        fields=(("corpo", "corpo", "value_error"),),
    ),
    Case(
        "422 template",
        "POST",
        "/api/v1/templates",
        422,
        key="admin",
        json=TEMPLATE,
        fields=(("sections[0].slug", "corpo", "value_error"), ("sections[0].guidance", "corpo", "string_too_short")),
        by_section=True,
        says=("seção 1 ('A'): guidance: deve ter ao menos 10 caracteres",),
    ),
    Case(
        "422 regra do domínio",
        "PUT",
        f"/api/v1/documents/{DOC}/fields/descricao_necessidade",
        422,
        json={"content": ""},
        says=("Informe 'content'",),
    ),
    Case(
        "422 parâmetro desconhecido",
        "GET",
        "/api/v1/documents",
        422,
        params={"stauts": "aprovado"},
        fields=(("stauts", "consulta", "extra_forbidden"),),
        says=("desconhecido(s): stauts", "status"),
    ),
    Case(
        "422 campo desconhecido no corpo",
        "POST",
        "/api/v1/documents",
        422,
        json=doc(orcamento_sigilos=True, itens=[item(quantidad=10)]),  # misspelled: never ignored
        fields=(
            ("orcamento_sigilos", "corpo", "extra_forbidden"),
            ("itens[0].quantidad", "corpo", "extra_forbidden"),
        ),
        says=("campo não previsto nesta operação", "confira a grafia"),
    ),
    Case(
        "422 parâmetro repetido",
        "GET",
        "/api/v1/documents",
        422,
        params=[("limit", 1), ("limit", 2)],
        fields=(("limit", "consulta", "multiple_argument_values"),),
        says=("repetido(s): limit",),
    ),
    Case(
        "429 sem execuções",
        "POST",
        "/api/v1/etp/generate-field",
        429,
        settings={"RUN_RATE_BURST": 0},
        json={"document_id": DOC, "field": "descricao_necessidade"},
        says=("não inicia execuções",),
    ),
]

# the pydantic error types our request models can give, and the two of the strict query check (a new one: a row
# above, and its translation)
REACHABLE = {
    "missing",
    "json_invalid",
    "model_attributes_type",
    "dict_type",
    "string_type",
    "string_too_short",
    "string_too_long",
    "string_pattern_mismatch",
    "enum",
    "literal_error",
    "date_from_datetime_parsing",
    "date_from_datetime_inexact",
    "bool_parsing",
    "float_type",  # a number in a JSON body is a JSON number (core/validation.JsonFloat): text gets float_type
    "int_parsing",
    "int_from_float",
    "greater_than",
    "greater_than_equal",
    "less_than_equal",
    "list_type",
    "too_short",
    "too_long",
    "uuid_parsing",
    "value_error",
    "extra_forbidden",
    "multiple_argument_values",
}


def fill(value: Any, replacements: dict[str, str]) -> Any:
    if isinstance(value, str):
        for placeholder, actual in replacements.items():
            value = value.replace(placeholder, actual)
        return value
    if isinstance(value, dict):
        return {k: fill(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, replacements) for v in value]
    return value


@pytest.fixture(scope="module")
def document_id(api_url, keys) -> str:
    headers = {"Authorization": f"Bearer {keys['all']}", **actor(PLANNER)}
    created = httpx.post(f"{api_url}/api/v1/documents", json=doc(), headers=headers)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_the_catalogue_covers_every_kind_of_error():
    assert {c.status for c in CATALOGUE} >= {400, 401, 403, 404, 405, 409, 413, 422, 429}
    assert {tipo for c in CATALOGUE for _, _, tipo in c.fields} >= REACHABLE


@pytest.mark.parametrize("case", CATALOGUE, ids=lambda c: c.name)
def test_each_error_answer_is_in_portuguese_and_names_the_field(case, api_url, keys, document_id, monkeypatch):
    for name, value in case.settings.items():
        monkeypatch.setattr(settings, name, value)
    replacements = {DOC: document_id, "{key}": keys["all"]}
    headers = {"Authorization": f"Bearer {keys[case.key]}", **actor(PLANNER)} if case.key else {}
    headers |= fill(case.headers, replacements)
    request: dict[str, Any] = {"headers": headers, "params": case.params, "content": case.content}
    if case.json is not NOTHING:
        request["json"] = fill(case.json, replacements)
    response = httpx.request(case.method, api_url + fill(case.path, replacements), timeout=30, **request)

    assert response.status_code == case.status, response.text[:500]
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"] and body["trace_id"] == response.headers["X-Trace-ID"]
    assert not english(json.dumps(body, ensure_ascii=False)), body
    for phrase in case.says:
        assert phrase in body["detail"], (phrase, body["detail"])
    if case.fields:
        given = {(e["campo"], e["local"], e["tipo"]) for e in body["erros"]}
        assert set(case.fields) <= given, given
        assert case.by_section or all(campo in body["detail"] for campo, _, _ in case.fields), body["detail"]
