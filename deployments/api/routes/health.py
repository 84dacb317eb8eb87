"""Health: the database, the Prefect server, the scheduled deployments' next runs, which drafting provider is
active, the price model in use and how many PNCP contratações wait for their items and results.

No key needed, so least said: without a valid key only the status; with one, the checks without internal details
(exception names, the model's load error); with an admin key, everything."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from core.settings import settings
from deployments.api.deps import PrefectDep
from deployments.api.schedule_status import deployments_status
from deployments.catalog import DEPLOYMENTS
from models.apikey import ApiKey
from models.crud import detail_gaps
from models.crud.apikeys import authenticate
from models.db import session_scope
from models.enums import Scope

router = APIRouter(prefix="/api/v1", tags=["health"])
SCHEDULED = tuple(spec for spec in DEPLOYMENTS if spec.cron or spec.interval_seconds)


def _ping_database() -> dict[str, int] | None:
    with session_scope() as session:
        session.scalar(text("SELECT 1"))
    try:  # PNCP contratações waiting for their items and results, and those given up
        with session_scope() as session:
            waiting = detail_gaps.counts(session)
        return {"aguardando": waiting["pending"], "descartados": waiting["discarded"]}
    except Exception:  # noqa: BLE001 - a database not migrated yet is still up
        return None


def _caller(raw: str) -> ApiKey | None:
    try:
        with session_scope() as session:
            return authenticate(session, raw)
    except Exception:  # noqa: BLE001 - a database that is down answers as no key: the status says it is down
        return None


def _without_internals(body: dict[str, Any]) -> dict[str, Any]:
    """What a key without 'admin' sees: each check as ok or erro, the model's load error as a fact, not its text."""
    shown = {k: ("erro" if isinstance(v, str) and v.startswith("erro:") else v) for k, v in body.items()}
    model = dict(body["price_model"])
    if model.get("error"):
        model["error"] = "falha ao carregar o modelo (detalhes no log da API ou com uma chave 'admin')"
    return {**shown, "price_model": model}


@router.get("/health")
async def health(request: Request, client: PrefectDep) -> dict[str, Any]:
    """Liveness of the API and what it depends on. No key needed: without one only `status` (ok or degraded); with
    a key, the checks; the internal details (exception names, the price model's load error) only with 'admin'."""
    # read by hand, not as a security dependency: the route stays documented as open (no key needed)
    scheme, _, raw = request.headers.get("authorization", "").strip().partition(" ")
    key = await run_in_threadpool(_caller, raw.strip()) if scheme.lower() == "bearer" and raw.strip() else None
    checks: dict[str, str] = {}
    details = None
    try:
        details = await run_in_threadpool(_ping_database)
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["database"] = f"erro: {type(exc).__name__}"
    schedules: dict[str, dict[str, Any]] = {}
    try:
        await client.api_healthcheck()
        checks["prefect"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["prefect"] = f"erro: {type(exc).__name__}"
    if checks["prefect"] == "ok":
        try:
            for status in await deployments_status(client, SCHEDULED):
                schedules[status.deployment] = status.as_json()
            problems = [f"{name}: {item['problema']}" for name, item in schedules.items() if item["problema"]]
            checks["agendamentos"] = "; ".join(problems) or "ok"
        except Exception as exc:  # noqa: BLE001
            checks["agendamentos"] = f"erro: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    if key is None:
        return {"status": "ok" if ok else "degraded"}
    body = {
        "status": "ok" if ok else "degraded",
        **checks,
        "deployments": schedules,
        "llm_provider": "llm" if settings.llm_enabled else "offline",
        "llm_model": settings.OPENAI_MODEL if settings.llm_enabled else "offline-template-v1",
        "price_model": request.app.state.champion.status(),
        "environment": settings.ENVIRONMENT,
        "pncp_detalhes": details,
    }
    return body if Scope.ADMIN.value in key.scopes else _without_internals(body)
