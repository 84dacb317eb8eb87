"""Pydantic's validation errors in Portuguese: every error type has a message, the field is named as the API spells
it, dates and ids say the expected format, our own validators' messages are kept."""

import re
import uuid
from datetime import date, datetime
from typing import Literal, get_args

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_core.core_schema import ErrorType

from core.validation import MESSAGES, describe, field_name, message, summary
from tests.utils.english import english


class Item(BaseModel):
    unidade: str = Field(min_length=2, max_length=5)
    quantidade: float = Field(gt=0, le=1e12)
    data_referencia: date | None = None


class Request(BaseModel):
    titulo: str = Field(min_length=3)
    itens: list[Item] = Field(min_length=1, max_length=2)
    quando: datetime | None = None
    document_id: uuid.UUID | None = None
    kind: Literal["ETP", "TR"] = "ETP"
    limit: int = Field(50, ge=1, le=200)
    uf: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    sigiloso: bool = False

    @field_validator("titulo")
    @classmethod
    def _titulo(cls, value: str) -> str:
        if value.isdigit():
            raise ValueError("o título precisa de palavras, não só números")
        return value


def errors_of(data: dict) -> list[dict]:
    with pytest.raises(ValidationError) as caught:
        Request.model_validate(data)
    return describe(caught.value.errors())


def test_every_pydantic_error_type_has_a_portuguese_message():
    assert set(get_args(ErrorType)) - set(MESSAGES) == set()
    for kind in MESSAGES:  # rendered without its ctx: no placeholder or brace left behind, no English
        prefix = {"value_error": "Value error, ", "assertion_error": "Assertion failed, "}.get(kind, "")
        text = message({"type": kind, "loc": ("body", "x"), "msg": prefix, "input": None})
        assert text and not re.search(r"\{[a-z_]*\}", text) and not english(text), (kind, text)


@pytest.mark.parametrize(
    ("data", "campo", "tipo", "expected"),
    [
        ({"itens": [{"unidade": "UN", "quantidade": 1}]}, "titulo", "missing", "obrigatório"),
        ({"titulo": 7, "itens": []}, "titulo", "string_type", "deve ser texto (entre aspas) (recebido: 7)"),
        ({"titulo": "ab", "itens": []}, "titulo", "string_too_short", "deve ter ao menos 3 caracteres (tem 2)"),
        ({"titulo": "123", "itens": []}, "titulo", "value_error", "o título precisa de palavras, não só números"),
        ({"titulo": "Papel", "itens": []}, "itens", "too_short", "deve ter ao menos 1 item (tem 0)"),
        ({"titulo": "Papel", "itens": [{}, {}, {}]}, "itens", "too_long", "deve ter no máximo 2 itens (tem 3)"),
        ({"titulo": "Papel", "itens": "muitos"}, "itens", "list_type", "deve ser uma lista JSON"),
        ({"titulo": "Papel", "itens": [7]}, "itens[0]", "model_type", "deve ser um objeto JSON"),
        (
            {"titulo": "Papel", "itens": [{"unidade": "UN", "quantidade": "dez"}]},
            "itens[0].quantidade",
            "float_parsing",
            "deve ser um número, como 12.5 (recebido: 'dez')",
        ),
        (
            {"titulo": "Papel", "itens": [{"unidade": "UN", "quantidade": 0}]},
            "itens[0].quantidade",
            "greater_than",
            "deve ser maior que 0 (recebido: 0)",
        ),
        (
            {"titulo": "Papel", "itens": [{"unidade": "UN", "quantidade": 2e12}]},
            "itens[0].quantidade",
            "less_than_equal",
            "deve ser no máximo 1000000000000",
        ),
        (
            {"titulo": "Papel", "itens": [{"unidade": "CAIXAS", "quantidade": 1}]},
            "itens[0].unidade",
            "string_too_long",
            "deve ter no máximo 5 caracteres (tem 6)",
        ),
        (
            {"titulo": "Papel", "itens": [{"unidade": "UN", "quantidade": 1, "data_referencia": "31/12/2022"}]},
            "itens[0].data_referencia",
            "date_from_datetime_parsing",
            "data inválida: use o formato AAAA-MM-DD, como 2022-12-31 (recebido: '31/12/2022')",
        ),
        (
            {"titulo": "Papel", "itens": [{"unidade": "UN", "quantidade": 1, "data_referencia": "2022-12-31T10:00"}]},
            "itens[0].data_referencia",
            "date_from_datetime_inexact",
            "deve ser uma data sem horário, no formato AAAA-MM-DD",
        ),
        (
            {"titulo": "Papel", "itens": [], "quando": "ontem"},
            "quando",
            "datetime_from_date_parsing",
            "use o formato AAAA-MM-DDTHH:MM:SS±HH:MM",
        ),
        (
            {"titulo": "Papel", "itens": [], "document_id": "abc"},
            "document_id",
            "uuid_parsing",
            "identificador malformado (UUID esperado) (recebido: 'abc')",
        ),
        (
            {"titulo": "Papel", "itens": [], "kind": "EDITAL"},
            "kind",
            "literal_error",
            "deve ser 'ETP' ou 'TR' (recebido: 'EDITAL')",
        ),
        ({"titulo": "Papel", "itens": [], "limit": "muitos"}, "limit", "int_parsing", "deve ser um número inteiro"),
        ({"titulo": "Papel", "itens": [], "limit": 1.5}, "limit", "int_from_float", "sem casas decimais"),
        ({"titulo": "Papel", "itens": [], "limit": 0}, "limit", "greater_than_equal", "deve ser no mínimo 1"),
        ({"titulo": "Papel", "itens": [], "uf": "sp"}, "uf", "string_pattern_mismatch", "expressão regular ^[A-Z]{2}$"),
        ({"titulo": "Papel", "itens": [], "sigiloso": "talvez"}, "sigiloso", "bool_parsing", "deve ser true ou false"),
    ],
)
def test_each_error_names_the_field_and_says_what_is_expected_in_portuguese(data, campo, tipo, expected):
    found = {e["tipo"]: e for e in errors_of(data)}
    assert tipo in found, found
    assert found[tipo]["campo"] == campo and expected in found[tipo]["mensagem"], found[tipo]
    assert not english(found[tipo]["mensagem"])


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("body", "titulo"), ("titulo", "corpo")),
        (("body", "itens", 0, "unidade"), ("itens[0].unidade", "corpo")),
        (("body",), ("corpo", "corpo")),
        (("body", 12), ("corpo", "corpo")),  # json_invalid: the position in the body, not a field
        (("query", "limit"), ("limit", "consulta")),
        (("path", "document_id"), ("document_id", "caminho")),
        (("header", "Idempotency-Key"), ("Idempotency-Key", "cabeçalho")),
        (("body", "itens", 1, "function-after[_check(), Item]", "unidade"), ("itens[1].unidade", "corpo")),
        (("sections", 3, "guidance"), ("sections[3].guidance", "corpo")),
    ],
)
def test_field_names_are_the_api_s(loc, expected):
    assert field_name(loc) == expected


def test_the_body_as_a_whole_and_malformed_json():
    absent = message({"type": "missing", "loc": ("body",), "input": None})
    assert "ausente" in absent and "Content-Type: application/json" in absent
    not_json = message({"type": "model_attributes_type", "loc": ("body",), "input": b"titulo=x"})
    assert "não é JSON" in not_json and "titulo=x" not in not_json
    broken = message(
        {
            "type": "json_invalid",
            "loc": ("body", 1),
            "ctx": {"error": "Expecting property name enclosed in double quotes"},
        }
    )
    assert broken.startswith("JSON malformado no caractere 2 (nome de campo entre aspas duplas esperado)")


def test_the_summary_names_where_each_field_is_and_counts_what_it_leaves_out():
    described = describe(
        [{"type": "missing", "loc": ("body", f"campo{i}")} for i in range(6)]
        + [{"type": "less_than_equal", "loc": ("query", "limit"), "ctx": {"le": 200}, "input": "500"}]
    )
    line = summary(described, limit=7)
    assert line.startswith("campo0: obrigatório, não informado; campo1:")
    assert line.endswith("parâmetro de consulta limit: deve ser no máximo 200 (recebido: '500')")
    assert summary(described).endswith("; e mais 2 erro(s) em `erros`")
    whole = [{"type": "value_error", "loc": (), "msg": "Value error, a janela termina antes de começar"}]
    assert summary(describe(whole)) == "corpo: a janela termina antes de começar"  # the API's body as a whole
    assert summary(describe(whole, root="")) == "a janela termina antes de começar"  # the command line: no body


def test_a_long_value_received_is_cut():
    text = message({"type": "enum", "loc": ("body", "kind"), "ctx": {"expected": "'ETP' or 'TR'"}, "input": "x" * 500})
    assert len(text) < 120 and "…" in text


def test_webhook_urls_refused_in_portuguese():
    from core import netguard

    for url, reason in (("http://exemplo.gov.br:99999/h", "porta"), ("http://[::1/h", "IPv6")):
        with pytest.raises(netguard.UnsafeTarget) as refused:
            netguard.check_url_shape(url)
        assert reason in str(refused.value) and not english(str(refused.value))


def test_the_cli_refuses_dates_and_bad_options_in_portuguese():
    from typer.testing import CliRunner

    from deployments.cli.app import app

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args))
        return result.exit_code, " ".join(result.output.split())  # rich wraps the line at the console's width

    day = run("pncp", "collect", "--from", "31/12/2022")
    assert day == (2, "erro: --from: data inválida: use o formato AAAA-MM-DD, como 2022-12-31 (recebido: '31/12/2022')")
    end = run("pncp", "backfill", "--from", "2022-01-01", "--to", "2022-02-30")
    assert end[0] == 2 and "--to: data inválida" in end[1]
    code = run("pncp", "collect", "-m", "14", "--from", "2022-01-01", "--to", "2022-01-31")
    assert code[0] == 1 and "modalidades[0]: deve ser no máximo 13" in code[1]
    for _, output in (day, end, code):
        assert not english(output), output


def test_starlette_s_default_phrases_are_replaced():
    from fastapi import FastAPI, HTTPException
    from fastapi.testclient import TestClient

    from deployments.api import errors

    app = FastAPI()
    errors.install(app)

    @app.get("/recusa/{code}")
    def refuse(code: int):
        raise HTTPException(code)  # no detail: Starlette's English phrase ("Unsupported Media Type", …)

    client = TestClient(app)
    for code, expected in (
        (415, "Tipo de conteúdo não aceito"),
        (406, "esta API responde em JSON"),
        (418, "A requisição não pôde ser atendida (HTTP 418)"),
    ):
        answer = client.get(f"/recusa/{code}")
        assert answer.status_code == code and expected in answer.json()["detail"], answer.text
        assert not english(answer.text)


def test_our_own_error_types_keep_their_message():
    from pydantic import BaseModel, model_validator
    from pydantic_core import PydanticCustomError

    from core.validation import describe

    class Window(BaseModel):
        start: int

        @model_validator(mode="after")
        def check(self):
            raise PydanticCustomError("janela_invalida", "start 0394-01-01 é anterior a 2021-04-01")

    try:
        Window(start=1)
    except Exception as exc:  # noqa: BLE001
        (found,) = describe(exc.errors(), root="corpo")
    assert "start 0394-01-01 é anterior a 2021-04-01" in str(found)


def _body_models():
    from deployments.api.routes.prices import PriceItem, TrainRequest
    from deployments.api.routes.publications import PublishRequest
    from models.document import DocumentCreate, DocumentItem
    from tasks.pncp.params import DocumentsParams

    item = {"descricao": "Papel A4 75 g/m2"}
    document = {"titulo": "Papel", "numero_processo": "1/2026", "orgao": "Órgão"}
    return [
        (PriceItem, item, "quantidade", 2),
        (PriceItem, item, "modalidade_id", 6),
        (DocumentItem, item, "quantidade", 2.5),
        (DocumentCreate, document, "pca_ano", 2026),
        (PublishRequest, {"cnpj": "00394460000141", "ano": 2026, "sequencial": 1}, "sequencial", 7),
        (TrainRequest, {}, "seed", 3),
        (DocumentsParams, {}, "limit", 10),
    ]


@pytest.mark.parametrize(("model", "base", "campo", "good"), _body_models())
def test_a_number_in_a_body_is_a_json_number_never_true_or_text(model, base, campo, good):
    """The schema says number or integer: `true` is not 1 and "2" is not 2 (found by make fuzz: a batch estimate
    with `"quantidade": true` priced one unit). An integer is a number."""
    assert getattr(model.model_validate_json(json_of({**base, campo: good})), campo) == good
    for bad in (True, False, str(good)):
        with pytest.raises(ValidationError) as caught:
            model.model_validate_json(json_of({**base, campo: bad}))
        (error,) = describe(caught.value.errors())
        assert error["campo"] == campo and error["mensagem"].startswith("deve ser um número"), error


def json_of(data: dict) -> str:
    import json

    return json.dumps(data)


def test_every_json_request_body_refuses_fields_it_does_not_know():
    """Each object a JSON request body may hold says `additionalProperties: false` in the OpenAPI document: a
    misspelled field (`orcamento_sigilos`) is a 422 naming it, never ignored with a 201. The template's body is a
    free dict checked by its own parser; multipart forms are not JSON."""
    from deployments.api.app import app

    spec = app.openapi()
    components = spec["components"]["schemas"]

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from [value.rsplit("/", 1)[-1]] if key == "$ref" else refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    pending = [
        name
        for operations in spec["paths"].values()
        for operation in operations.values()
        for name in refs(operation.get("requestBody", {}).get("content", {}).get("application/json", {}))
    ]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(refs(components[name]))
    objects = {name for name in seen if components[name].get("type") == "object"}
    assert len(objects) >= 25, sorted(objects)
    assert [n for n in sorted(objects) if components[n].get("additionalProperties") is not False] == []


@pytest.mark.parametrize(
    ("identifier", "kept"),
    [
        ("siape.1234567", "siape.1234567"),
        ("  mat-42  ", "mat-42"),  # spaces around it dropped, then the limits count what is kept
        ("\f\U00066d22¾", None),  # passed the length limit, was stored with 2 characters and answered 500 (make fuzz)
        ("\fab", None),
        ("ab cd!!", None),  # SQLModel's `regex=` was never applied: this was stored as it came
        ("joão.silva", None),
        ("52998224725", None),  # a CPF: never (LGPD)
    ],
)
def test_a_persons_identifier_is_checked_on_what_is_kept(identifier, kept):
    from models.person import PersonCreate

    data = {"identifier": identifier, "name": "Helena Prado", "orgao": "Órgão", "roles": ["equipe_planejamento"]}
    if kept is not None:
        assert PersonCreate.model_validate(data).identifier == kept
        return
    with pytest.raises(ValidationError) as caught:
        PersonCreate.model_validate(data)
    (error,) = describe(caught.value.errors())
    assert error["campo"] == "identifier" and ("3 a 40 letras" in error["mensagem"] or "CPF" in error["mensagem"])


@pytest.mark.parametrize(
    ("uasg", "kept"), [("154034", "154034"), (" 154034 ", "154034"), ("", None), ("15403", "x"), ("15403a", "x")]
)
def test_the_uasg_is_six_digits_wherever_a_caller_sends_it(uasg, kept):
    from models.document import DocumentClone, DocumentCreate, DocumentUpdate

    base = {"titulo": "Papel", "numero_processo": "1/2026", "orgao": "Órgão"}
    for model, data in ((DocumentCreate, base), (DocumentClone, base), (DocumentUpdate, {})):
        if kept != "x":
            assert model.model_validate({**data, "uasg": uasg}).uasg == kept
            continue
        with pytest.raises(ValidationError) as caught:
            model.model_validate({**data, "uasg": uasg})
        (error,) = describe(caught.value.errors())
        assert error["campo"] == "uasg" and "6 dígitos" in error["mensagem"], (model, error)
