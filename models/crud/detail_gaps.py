"""Contratações whose items or results could not be fetched: recorded with the reason, tried again by the next
collect-pncp runs with back-off, closed as `filled` once stored or `discarded` when judged gone.

The policy (`judge`) is a plain function: after a failure, try again `PNCP_DETAIL_RETRY_BASE_MINUTES` later, doubling
each time up to a day (the daily run comes once a day anyway); give up after 3 attempts over
`PNCP_DETAIL_GONE_HOURS` hours when the last one said 404 (the contratação was removed from PNCP, or its number
changed), or after `PNCP_DETAIL_MAX_ATTEMPTS` attempts whatever the error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from core.settings import settings
from models.db import utcnow
from models.market import PncpContratacao, PncpDetailGap

GONE_AFTER_ATTEMPTS = 3
MAX_DELAY = timedelta(days=1)


def judge(attempts: int, first_failed_at: datetime, now: datetime, status: int | None) -> tuple[datetime | None, str]:
    """After the ``attempts``-th failure: (when to try again, "") or (None, why the contratação is given up)."""
    hours = (now - first_failed_at).total_seconds() / 3600
    if status == 404 and attempts >= GONE_AFTER_ATTEMPTS and hours >= settings.PNCP_DETAIL_GONE_HOURS:
        return None, (
            f"descartado: 404 em {attempts} tentativas ao longo de {hours:.0f} h — a contratação não está mais no PNCP"
        )
    if attempts >= settings.PNCP_DETAIL_MAX_ATTEMPTS:
        return None, f"descartado: {attempts} tentativas sem sucesso ao longo de {hours:.0f} h"
    delay = timedelta(minutes=settings.PNCP_DETAIL_RETRY_BASE_MINUTES) * 2 ** (attempts - 1)
    return now + min(delay, MAX_DELAY), ""


def record_failures(
    session: Session,
    source: str,
    failures: list[dict[str, Any]],
    flow_run_id: str | None = None,
    now: datetime | None = None,
) -> Counter[str]:
    """Record failed detail fetches (``key``, ``reason``, ``status``, ``with_results``): a new failure opens a gap,
    one more on an open gap counts an attempt; each is judged. Counts the gaps left `pending` and `discarded`."""
    now = now or utcnow()
    keys = [f["key"] for f in failures]
    stored = (
        {
            g.numero_controle_pncp: g
            for g in session.exec(
                select(PncpDetailGap)
                .where(PncpDetailGap.source == source, col(PncpDetailGap.numero_controle_pncp).in_(keys))
                .with_for_update()
            )
        }
        if keys
        else {}
    )
    outcome: Counter[str] = Counter()
    for failure in failures:
        gap = stored.get(failure["key"])
        if gap is None or gap.status != "pending":  # new, or failing again after it was closed (a --restart run)
            gap = gap or PncpDetailGap(source=source, numero_controle_pncp=failure["key"], reason="")
            gap.attempts, gap.first_failed_at, gap.closed_at = 1, now, None
            gap.with_results = failure["with_results"]
        else:
            gap.attempts += 1
            gap.with_results = gap.with_results or failure["with_results"]
        gap.last_status, gap.last_failed_at, gap.flow_run_id = failure.get("status"), now, flow_run_id
        gap.next_attempt_at, verdict = judge(gap.attempts, gap.first_failed_at, now, gap.last_status)
        gap.status = "pending" if gap.next_attempt_at else "discarded"
        gap.closed_at = None if gap.next_attempt_at else now
        gap.reason = f"{verdict}; último erro: {failure['reason']}" if verdict else failure["reason"]
        stored[failure["key"]] = gap
        session.add(gap)
        outcome[gap.status] += 1
    return outcome


def mark_filled(session: Session, source: str, keys: Iterable[str], now: datetime | None = None) -> int:
    """Close the open (or given-up) gaps of contratações whose details were just stored."""
    keys = list(keys)
    if not keys:
        return 0
    result = session.exec(
        update(PncpDetailGap)
        .where(
            col(PncpDetailGap.source) == source,
            col(PncpDetailGap.numero_controle_pncp).in_(keys),
            col(PncpDetailGap.status) != "filled",
        )
        .values(status="filled", closed_at=now or utcnow(), next_attempt_at=None)
    )
    return result.rowcount or 0


def due(
    session: Session,
    source: str,
    modalidades: list[int] | None = None,
    ufs: list[str] | None = None,
    limit: int = 500,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Open gaps whose next attempt is due, oldest first, with what fetching and parsing the details needs."""
    where = [
        col(PncpDetailGap.source) == source,
        col(PncpDetailGap.status) == "pending",
        col(PncpDetailGap.next_attempt_at) <= (now or utcnow()),
    ]
    if modalidades:
        where.append(col(PncpContratacao.modalidade_id).in_(modalidades))
    if ufs:
        where.append(col(PncpContratacao.uf).in_(ufs))
    rows = session.exec(
        select(PncpDetailGap, PncpContratacao)
        .join(PncpContratacao, col(PncpContratacao.numero_controle_pncp) == PncpDetailGap.numero_controle_pncp)
        .where(*where)
        .order_by(col(PncpDetailGap.next_attempt_at), col(PncpDetailGap.numero_controle_pncp))
        .limit(limit)
    ).all()
    return [
        {
            "numero_controle_pncp": c.numero_controle_pncp,
            "cnpj_orgao": c.cnpj_orgao,
            "ano_compra": c.ano_compra,
            "sequencial_compra": c.sequencial_compra,
            "uf": c.uf,
            "data_publicacao_pncp": c.data_publicacao_pncp,
            "with_results": g.with_results,
            "attempts": g.attempts,
        }
        for g, c in rows
    ]


def counts(session: Session) -> dict[str, int]:
    """How many contratações wait for their details (`pending`) and how many were given up (`discarded`)."""
    found = dict(
        session.exec(
            select(PncpDetailGap.status, func.count())
            .where(col(PncpDetailGap.status).in_(("pending", "discarded")))
            .group_by(PncpDetailGap.status)
        ).all()
    )
    return {"pending": found.get("pending", 0), "discarded": found.get("discarded", 0)}


def list_gaps(session: Session, status: str | None = None, limit: int = 50) -> tuple[list[PncpDetailGap], int]:
    """Gaps (open first, then by last failure, newest first), with the total that matches."""
    where = [PncpDetailGap.status == status] if status else []
    total = session.exec(select(func.count()).select_from(PncpDetailGap).where(*where)).one()
    rows = session.exec(
        select(PncpDetailGap)
        .where(*where)
        .order_by(col(PncpDetailGap.status) != "pending", col(PncpDetailGap.last_failed_at).desc())
        .limit(limit)
    ).all()
    return list(rows), total
