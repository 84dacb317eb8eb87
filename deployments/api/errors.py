"""Errors as JSON: a message, the trace_id and, where one exists, the flow run id."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.logging import current_trace_id, get_logger
from models.errors import DomainError
from models.rules import IncompleteDocumentError, TransitionError
from tasks.storage import StorageError

logger = get_logger("api")


def error_body(message: str, **extra) -> dict:
    return {"detail": message, "trace_id": current_trace_id.get(), **extra}


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError):
        return JSONResponse(error_body(exc.message, **exc.details), status_code=exc.status_code)

    @app.exception_handler(TransitionError)
    async def transition_error(_: Request, exc: TransitionError):
        return JSONResponse(error_body(str(exc), current=exc.current.value,
                                       allowed=[a.value for a in exc.allowed]), status_code=409)

    @app.exception_handler(IncompleteDocumentError)
    async def incomplete(_: Request, exc: IncompleteDocumentError):
        return JSONResponse(error_body(str(exc), missing=exc.missing), status_code=422)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError):
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        summary = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
        return JSONResponse(error_body(f"Requisição inválida: {summary}", errors=errors), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException):
        return JSONResponse(error_body(str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(StorageError)
    async def storage_error(_: Request, exc: StorageError):
        logger.error("storage: %s", exc)
        return JSONResponse(error_body(str(exc)), status_code=503 if exc.retryable else 502)

    @app.exception_handler(httpx.TransportError)
    async def orchestrator_down(_: Request, exc: httpx.TransportError):
        logger.error("Prefect server unreachable: %s", exc)
        return JSONResponse(error_body("Servidor de orquestração (Prefect) indisponível; tente novamente em "
                                       "instantes."), status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(ObjectNotFound)
    async def deployment_missing(_: Request, exc: ObjectNotFound):
        logger.error("Prefect object not found: %s", exc)
        return JSONResponse(error_body("Deployment não registrado no Prefect: o runner (`nexora up`) ou os "
                                       "workers estão no ar?"), status_code=503, headers={"Retry-After": "10"})

    @app.exception_handler(PrefectHTTPStatusError)
    async def orchestrator_error(_: Request, exc: PrefectHTTPStatusError):
        logger.error("Prefect server refused a request: %s", exc)
        return JSONResponse(error_body(f"O servidor Prefect recusou a operação: {exc.response.status_code}"),
                            status_code=502)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception):
        logger.exception("unhandled error: %s", exc)
        return JSONResponse(error_body("Erro interno; informe o trace_id à equipe de operações."),
                            status_code=500)
