"""The per-key daily budget of language-model calls (LLM_DAILY_CALLS_PER_KEY), counted when a drafting run starts:
generate-field one call, generate-document one per section it drafts. Brasília's day (models.price_dates.BRASILIA):
once spent, 429 with when it renews (midnight in Brasília) and Retry-After; shared by every API process through
the app database (models/crud/key_limits.py)."""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime, time, timedelta

from fastapi import HTTPException, status

from core.settings import settings
from models.crud.key_limits import charge_llm_calls, llm_calls_used, refund_llm_calls
from models.db import session_scope
from models.price_dates import BRASILIA


def renewal(now: datetime) -> datetime:
    """The next midnight in Brasília after ``now``."""
    local = now.astimezone(BRASILIA)
    return datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=BRASILIA)


def charge(key_id: uuid.UUID, calls: int, now: datetime | None = None) -> date:
    """Count ``calls`` against the key's budget for today (Brasília) and return the day; 429 when they do not fit
    (nothing counted). Blocking: call it from a worker thread."""
    now = now or datetime.now(BRASILIA)
    day = now.astimezone(BRASILIA).date()
    budget = settings.LLM_DAILY_CALLS_PER_KEY
    with session_scope() as session:
        used = charge_llm_calls(session, key_id, day, calls, budget)
        spent = llm_calls_used(session, key_id, day) if used is None else used
    if used is not None:
        return day
    renews = renewal(now)
    seconds = max(1, math.ceil((renews - now).total_seconds()))
    when = f"à meia-noite de Brasília ({renews:%d/%m/%Y %H:%M}, em {seconds} s)"
    if budget == 0:
        message = "Esta chave não pode iniciar redações com o modelo de linguagem (LLM_DAILY_CALLS_PER_KEY=0)."
    elif calls > budget:
        message = (
            f"Esta redação faria {calls} chamadas ao modelo de linguagem, mais que o orçamento diário da chave "
            f"({budget}, LLM_DAILY_CALLS_PER_KEY): redija menos seções por vez (generate-field)."
        )
    else:
        message = (
            f"Orçamento diário de chamadas ao modelo de linguagem da chave esgotado: {spent} de {budget} usadas "
            f"hoje, e esta redação faria {calls}. Renova {when}."
        )
    raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, message, headers={"Retry-After": str(seconds)})


def refund(key_id: uuid.UUID, day: date, calls: int) -> None:
    """Give back what ``charge`` counted for a run that did not start."""
    with session_scope() as session:
        refund_llm_calls(session, key_id, day, calls)
