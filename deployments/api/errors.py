"""Errors as JSON: a message, the trace_id and, where one exists, the flow run id."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from core import validation
from core.logging import current_trace_id, get_logger
from deployments.api.strict import allowed_methods
from models.errors import DomainError
from models.rules import IncompleteDocumentError, TransitionError
from tasks.storage.store import StorageError

logger = get_logger("api")


def error_body(message: str, **extra: Any) -> dict[str, Any]:
    return {"detail": message, "trace_id": current_trace_id.get(), **extra}


class FieldError(BaseModel):
    """One invalid field of a 422."""

    campo: str = Field(
        description="o campo como a API o escreve: `titulo`, `itens[0].unidade`, o parâmetro `limit` "
        "(`corpo`: o corpo inteiro)"
    )
    local: str = Field(description="onde está: `corpo`, `consulta`, `caminho` ou `cabeçalho`")
    mensagem: str = Field(description="o que está errado e o que se espera, em português")
    tipo: str = Field(description="o tipo do erro (o `type` do pydantic: `missing`, `date_from_datetime_parsing`, …)")


class ErrorBody(BaseModel):
    """Every error answer: the message, the request's trace id and, where they exist, more fields."""

    model_config = ConfigDict(extra="allow")
    detail: str = Field(description="o que aconteceu, em português")
    trace_id: str | None = Field(description="o identificador da requisição, do servidor (X-Trace-ID), para os logs")
    erros: list[FieldError] | None = Field(None, description="422 de dados inválidos: cada campo recusado e por quê")


_ERROR_SCHEMA = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
_RETRY_AFTER = {"Retry-After": {"description": "segundos até tentar de novo", "schema": {"type": "string"}}}
_WHY = {
    400: "Pedido recusado",
    401: "Chave de API ausente, malformada, inválida ou revogada",
    403: "A chave não tem o escopo",
    404: "Não encontrado",
    409: "Conflito com o estado atual",
    413: "Corpo da requisição grande demais",
    422: "Dados inválidos",
    429: "Limite da chave atingido (requisições por minuto, execuções, esperas simultâneas ou chamadas ao modelo "
    "no dia)",
    502: "Um serviço externo recusou a operação",
    503: "Serviço externo indisponível; tente de novo",
}


def _error_codes(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    codes = {422} if operation.get("parameters") or operation.get("requestBody") else set()
    if operation.get("security"):
        codes |= {401, 403, 429}  # 429: the key's rate of requests (deployments/api/limits.py)
    if "{" in path:
        codes.add(404)
    if method in ("post", "put", "patch"):
        codes |= {400, 413}  # 400: a body that is not readable JSON
    if method in ("post", "put", "patch", "delete"):
        codes |= {404, 409}  # 404: a document, template or subscription the request names does not exist
    if "202" in operation.get("responses", {}):  # starts a flow run
        codes |= {404, 409, 429, 503}
    return codes


def document_errors(app: FastAPI) -> None:
    """Write every error answer an operation can give into the OpenAPI document, with the ErrorBody schema
    (FastAPI documents only its own 422 body, which this app replaces)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(error_schema.pop("$defs", {}))
        schemas["ErrorBody"] = error_schema
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for code in sorted(_error_codes(path, method, operation)):
                    entry: dict[str, Any] = {"description": _WHY[code], "content": _ERROR_SCHEMA}
                    if code in (429, 503):
                        entry["headers"] = _RETRY_AFTER
                    if code == 422 or str(code) not in responses:
                        responses[str(code)] = entry
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way; typed as a plain method


def _phrase(code: int) -> str | None:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return None


_STARLETTE_DEFAULTS = {
    400: "Requisição malformada.",
    401: "Autenticação necessária: envie 'Authorization: Bearer <chave>'.",
    403: "Acesso negado.",
    406: "Formato de resposta não disponível: esta API responde em JSON.",
    408: "A requisição demorou demais para chegar; tente de novo.",
    409: "Conflito com o estado atual.",
    411: "Informe o tamanho do corpo (Content-Length).",
    413: "Corpo da requisição grande demais.",
    415: "Tipo de conteúdo não aceito: envie JSON (Content-Type: application/json).",
    422: "Dados inválidos.",
    429: "Requisições demais; tente de novo em instantes.",
    500: "Erro interno; informe o trace_id à equipe de operações.",
    502: "Um serviço externo recusou a operação.",
    503: "Serviço indisponível; tente de novo em instantes.",
}


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(error_body(exc.message, **exc.details), status_code=exc.status_code)

    @app.exception_handler(TransitionError)
    async def transition_error(_: Request, exc: TransitionError) -> JSONResponse:
        return JSONResponse(
            error_body(str(exc), current=exc.current.value, allowed=[a.value for a in exc.allowed]), status_code=409
        )

    @app.exception_handler(IncompleteDocumentError)
    async def incomplete(_: Request, exc: IncompleteDocumentError) -> JSONResponse:
        return JSONResponse(error_body(str(exc), missing=exc.missing), status_code=422)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        described = validation.describe(exc.errors())
        return JSONResponse(
            error_body(f"Requisição inválida: {validation.summary(described)}", erros=described), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers, detail = dict(getattr(exc, "headers", None) or {}), str(exc.detail)
        if exc.status_code == 405:
            allowed = allowed_methods(request.app, request.url.path)
            if allowed:
                headers["Allow"] = ", ".join(allowed)
            detail = f"Método {request.method} não permitido aqui; use {headers.get('Allow', '?')}."
        elif exc.status_code == 404 and detail == "Not Found":
            detail = f"Nenhum recurso em {request.url.path}."
        elif exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "Corpo da requisição ilegível: envie JSON em UTF-8 (Content-Type: application/json)."
        elif detail == _phrase(exc.status_code):  # Starlette's default, in English
            detail = _STARLETTE_DEFAULTS.get(
                exc.status_code, f"A requisição não pôde ser atendida (HTTP {exc.status_code})."
            )
        return JSONResponse(error_body(detail), status_code=exc.status_code, headers=headers or None)

    @app.exception_handler(StorageError)
    async def storage_error(_: Request, exc: StorageError) -> JSONResponse:
        logger.error("storage: %s", exc)
        return JSONResponse(error_body(str(exc)), status_code=503 if exc.retryable else 502)

    @app.exception_handler(httpx.TransportError)
    async def orchestrator_down(_: Request, exc: httpx.TransportError) -> JSONResponse:
        logger.error("Prefect server unreachable: %s", exc)
        return JSONResponse(
            error_body("Servidor de orquestração (Prefect) indisponível; tente novamente em instantes."),
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(ObjectNotFound)
    async def deployment_missing(_: Request, exc: ObjectNotFound) -> JSONResponse:
        logger.error("Prefect object not found: %s", exc)
        return JSONResponse(
            error_body("Deployment não registrado no Prefect: o runner (`nexora up`) ou os workers estão no ar?"),
            status_code=503,
            headers={"Retry-After": "10"},
        )

    @app.exception_handler(PrefectHTTPStatusError)
    async def orchestrator_error(_: Request, exc: PrefectHTTPStatusError) -> JSONResponse:
        logger.error("Prefect server refused a request: %s", exc)
        return JSONResponse(
            error_body(f"O servidor Prefect recusou a operação: {exc.response.status_code}"), status_code=502
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error: %s", exc)
        return JSONResponse(error_body("Erro interno; informe o trace_id à equipe de operações."), status_code=500)
