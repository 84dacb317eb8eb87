"""The thin API: validates requests, starts flow runs through deployments, reads their state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request, Response
from fastapi_offline import FastAPIOffline
from prefect.client.orchestration import get_client

from core.logging import accept_request_id, current_request_id, current_trace_id, install_logging, new_trace_id
from deployments.api import errors
from deployments.api.champion import Champion
from deployments.api.limits import BodySizeLimit
from deployments.api.routes import (
    artifacts,
    documents,
    health,
    notifications,
    people,
    pncp,
    price_research,
    prices,
    publications,
    runs,
    signatures,
    templates,
)
from deployments.api.strict import reject_unknown_query
from models.crud.notifications import on_events_committed
from tasks.notify.kick import Kicker


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    install_logging()  # again: a server that configured its loggers after the import (uvicorn.run(app))
    on_events_committed(app.state.kicker.request)
    app.state.champion.start()
    try:
        async with get_client() as client:
            app.state.prefect = client
            yield
    finally:
        app.state.champion.stop()


def create_app() -> FastAPI:
    install_logging()  # at import: uvicorn logs its start-up lines after loading the app
    app = FastAPIOffline(  # /docs and /redoc serve Swagger UI's files themselves: they open without internet
        title="NEXORA ComprasGov.AI",
        version="0.1.0",
        description="API do back office de planejamento de contratações (Lei 14.133/2021): "
        "documentos ETP/TR, templates e execuções de fluxos Prefect.",
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query)],
    )

    @app.middleware("http")
    async def trace(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        trace_id, request_id = new_trace_id(), accept_request_id(request.headers.get("x-request-id"))
        token, request_token = current_trace_id.set(trace_id), current_request_id.set(request_id)
        try:
            response = await call_next(request)
        finally:
            current_trace_id.reset(token)
            current_request_id.reset(request_token)
        response.headers["X-Trace-ID"] = trace_id
        response.headers["X-Request-ID"] = request_id or trace_id
        return response

    app.add_middleware(BodySizeLimit)  # outermost: before anything reads the body
    app.state.kicker = Kicker()
    app.state.champion = Champion()
    errors.install(app)
    for module in (
        health,
        templates,
        people,
        documents,
        price_research,
        runs,
        artifacts,
        signatures,
        publications,
        notifications,
        pncp,
        prices,
    ):
        app.include_router(module.router)
    errors.document_errors(app)
    return app


app = create_app()
