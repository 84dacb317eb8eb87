"""Trace ids: one per API request, carried into flow-run tags and prefixed to every log line."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

TRACE_TAG_PREFIX = "trace:"
_TRACE_ID_RE = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
current_trace_id: ContextVar[str | None] = ContextVar("nexora_trace_id", default=None)


def new_trace_id() -> str:
    return uuid.uuid4().hex


def accept_trace_id(candidate: str | None) -> str:
    """The caller's X-Request-ID when it is a safe token, a fresh id otherwise."""
    if candidate and _TRACE_ID_RE.match(candidate):
        return candidate
    return new_trace_id()


def trace_tag(trace_id: str) -> str:
    return f"{TRACE_TAG_PREFIX}{trace_id}"


def trace_id_from_tags(tags: list[str] | tuple[str, ...] | set[str] | None) -> str | None:
    for tag in tags or ():
        if tag.startswith(TRACE_TAG_PREFIX):
            return tag[len(TRACE_TAG_PREFIX):]
    return None


def resolve_trace_id() -> str | None:
    """The trace id of this request or of the flow run we are in, if any."""
    trace_id = current_trace_id.get()
    if trace_id:
        return trace_id
    try:
        from prefect.context import FlowRunContext, TaskRunContext
    except ImportError:  # pragma: no cover - prefect is a hard dependency
        return None
    ctx = FlowRunContext.get()
    if ctx is not None and ctx.flow_run is not None:
        return trace_id_from_tags(ctx.flow_run.tags)
    task_ctx = TaskRunContext.get()
    if task_ctx is not None:
        return trace_id_from_tags(task_ctx.task_run.tags)
    return None


class TraceIdFilter(logging.Filter):
    """Prefix `trace_id=<id>` to the message once, so the UI, the console and greps all see it.

    Prefect logs the final state of a run after its context has closed; the trace id of such a
    record is found through the record's flow_run_id, remembered while the run was active.
    """

    _by_run: dict[str, str] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "trace_id", None) is None:
            run_id = str(getattr(record, "flow_run_id", "") or "")
            trace_id = resolve_trace_id()
            if trace_id and run_id:
                if len(self._by_run) > 10_000:
                    self._by_run.clear()
                self._by_run[run_id] = trace_id
            elif run_id:
                trace_id = self._by_run.get(run_id)
            record.trace_id = trace_id or "-"
            if trace_id and isinstance(record.msg, str):
                record.msg = f"trace_id={trace_id} | {record.msg}"
        return True


_FILTER = TraceIdFilter()
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs", "uvicorn.error", "uvicorn.access")


def install_trace_filter() -> None:
    """Attach the filter to the loggers that runs and the API log through (idempotent).

    Logger-level filters survive Prefect's logging (re)configuration, unlike handler filters.
    """
    for name in RUN_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def get_logger(name: str) -> logging.Logger:
    logger = logging.getLogger(f"nexora.{name}")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
