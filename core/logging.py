"""Trace ids: one per API request, carried into flow-run tags and prefixed to every log line; console log lines as
text (`trace_id=<id> | …`) or JSON (one object per line), chosen by LOG_FORMAT."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TRACE_TAG_PREFIX = "trace:"
REQUEST_TAG_PREFIX = "request:"
PREFECT_JSON_LOGGING = Path(__file__).with_name("logging_json.yml")
_TRACE_ID_RE = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
current_trace_id: ContextVar[str | None] = ContextVar("nexora_trace_id", default=None)
# the caller's own X-Request-ID, kept apart: the trace id is always the server's (an audit row never carries an id
# the client chose as its trace)
current_request_id: ContextVar[str | None] = ContextVar("nexora_request_id", default=None)


def new_trace_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(candidate: str | None) -> str | None:
    """The caller's X-Request-ID when it is a safe token (1–64 of A-Z a-z 0-9 . _ -), else none."""
    return candidate if candidate and _TRACE_ID_RE.match(candidate) else None


def request_tag(request_id: str) -> str:
    return f"{REQUEST_TAG_PREFIX}{request_id}"


def trace_tag(trace_id: str) -> str:
    return f"{TRACE_TAG_PREFIX}{trace_id}"


def trace_id_from_tags(tags: list[str] | tuple[str, ...] | set[str] | None) -> str | None:
    for tag in tags or ():
        if tag.startswith(TRACE_TAG_PREFIX):
            return tag[len(TRACE_TAG_PREFIX) :]
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

    @classmethod
    def remembered(cls, flow_run_id: str | None) -> str | None:
        return cls._by_run.get(flow_run_id) if flow_run_id else None

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


RUN_FIELDS = ("flow_run_id", "flow_run_name", "flow_name", "task_run_id", "task_run_name", "task_name")


def run_fields(record: logging.LogRecord) -> dict[str, str]:
    """The flow/task run a record belongs to: the fields Prefect's run loggers put on it, else the run context."""
    found = {
        name: str(value) for name in RUN_FIELDS if (value := getattr(record, name, None)) not in (None, "", "<unknown>")
    }
    if "prefect.context" not in sys.modules:  # no run context can exist in a process without Prefect
        return found
    from prefect.context import FlowRunContext, TaskRunContext

    task_ctx = TaskRunContext.get()
    if task_ctx is not None:
        found.setdefault("task_run_id", str(task_ctx.task_run.id))
        found.setdefault("task_run_name", task_ctx.task_run.name)
        found.setdefault("task_name", task_ctx.task.name)
        if task_ctx.task_run.flow_run_id:
            found.setdefault("flow_run_id", str(task_ctx.task_run.flow_run_id))
    flow_ctx = FlowRunContext.get()
    if flow_ctx is not None and flow_ctx.flow_run is not None:
        found.setdefault("flow_run_id", str(flow_ctx.flow_run.id))
        found.setdefault("flow_run_name", flow_ctx.flow_run.name)
        if flow_ctx.flow is not None:
            found.setdefault("flow_name", flow_ctx.flow.name)
    return found


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp (ISO 8601, UTC), level, logger, message, trace_id, flow_run_id,
    task_run_id, the flow/task names inside Prefect runs, and the exception's traceback when there is one.

    The message loses the `trace_id=<id> | ` prefix that TraceIdFilter adds for text logs and the Prefect UI: the
    trace id has its own field (`jq 'select(.trace_id=="<id>")'`).
    """

    def format(self, record: logging.LogRecord) -> str:
        fields = run_fields(record)
        trace_id = getattr(record, "trace_id", None)
        if trace_id in (None, "-"):
            trace_id = resolve_trace_id() or TraceIdFilter.remembered(fields.get("flow_run_id"))
        message = record.getMessage().rstrip()
        if trace_id and message.startswith(f"trace_id={trace_id} | "):
            message = message[len(f"trace_id={trace_id} | ") :]
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
            "trace_id": trace_id,
            "flow_run_id": fields.pop("flow_run_id", None),
            "task_run_id": fields.pop("task_run_id", None),
            **fields,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class JsonConsoleHandler(logging.StreamHandler):
    """A plain stream handler for JSON lines (Prefect's console handler prints through rich: markup, emoji codes
    and highlighting would alter the JSON)."""


def _is_console(handler: logging.Handler) -> bool:
    if isinstance(handler, JsonConsoleHandler):
        return True
    return (
        isinstance(handler, logging.StreamHandler)
        and not isinstance(handler, logging.FileHandler)
        and type(handler).__module__.split(".")[0] in ("logging", "prefect", "uvicorn")
    )


def use_json_console(loggers: Iterable[logging.Logger] | None = None) -> None:
    """Make the console handlers of these loggers (default: the root and every configured logger — Prefect's,
    uvicorn's) write JSON lines; Prefect's API handler (the run logs in the UI) is left as it is. Idempotent."""
    if loggers is None:
        loggers = [
            logging.getLogger(),
            *(logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)),
        ]
    formatter = JsonFormatter()
    replacements: dict[int, logging.Handler] = {}
    for logger in loggers:
        for handler in list(logger.handlers):
            if not _is_console(handler):
                continue
            if hasattr(handler, "console"):  # prefect.logging.handlers.PrefectConsoleHandler
                if id(handler) not in replacements:
                    plain = JsonConsoleHandler(handler.stream)
                    plain.setLevel(handler.level)
                    for handler_filter in handler.filters:
                        plain.addFilter(handler_filter)
                    replacements[id(handler)] = plain
                logger.removeHandler(handler)
                handler = replacements[id(handler)]
                logger.addHandler(handler)
            handler.setFormatter(formatter)


def install_logging(log_format: str | None = None) -> None:
    """Trace ids on the run and API loggers; with LOG_FORMAT=json (or `log_format`), JSON lines on the console.

    Call it at the start of the API and of the processes that run flows. In JSON mode the processes started from
    here (a runner's flow runs) get Prefect's logging configuration with the JSON console (core/logging_json.yml),
    MLflow leaves its loggers to the root's console, and Python warnings become log records.
    """
    install_trace_filter()
    if log_format is None:
        from core.settings import settings

        log_format = settings.LOG_FORMAT
    if log_format == "json":
        os.environ.setdefault("PREFECT_LOGGING_SETTINGS_PATH", str(PREFECT_JSON_LOGGING))
        os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")  # MLflow's records reach the root's JSON console
        from prefect.logging.configuration import ensure_logging_setup

        ensure_logging_setup()  # Prefect's handlers first (`import prefect` alone configures nothing)
        use_json_console()
        logging.captureWarnings(True)
