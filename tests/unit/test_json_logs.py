"""JSON log lines: one object per line, with the trace id, the run ids and names, and the traceback when any."""

import io
import json
import logging
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from core.logging import JsonConsoleHandler, JsonFormatter, TraceIdFilter, current_trace_id, use_json_console
from core.settings import Settings


def record(message="rascunho salvo em %s", args=("descricao_necessidade",), name="prefect.flow_runs", **extra):
    rec = logging.LogRecord(name, logging.INFO, __file__, 1, message, args, None)
    rec.__dict__.update(extra)
    return rec


def test_a_line_carries_the_trace_id_apart_from_the_message():
    rec = record()
    token = current_trace_id.set("req-42")
    try:
        TraceIdFilter().filter(rec)  # what the run and API loggers do: the text prefix for the UI and greps
        line = JsonFormatter().format(rec)
    finally:
        current_trace_id.reset(token)
    body = json.loads(line)
    assert body["message"] == "rascunho salvo em descricao_necessidade"
    assert body["trace_id"] == "req-42" and body["level"] == "INFO" and body["logger"] == "prefect.flow_runs"
    assert body["flow_run_id"] is None and body["task_run_id"] is None and "exception" not in body
    stamp = datetime.fromisoformat(body["timestamp"])
    assert stamp.utcoffset().total_seconds() == 0 and abs((datetime.now(UTC) - stamp).total_seconds()) < 60


def test_prefect_run_fields_are_carried_and_unknown_names_dropped():
    rec = record(
        flow_run_id="0b7f8c1e-1111-4a4a-9c9c-123456789abc",
        flow_run_name="generate-ETP-2026-0042",
        flow_name="generate-field",
        task_run_id="5e5e5e5e-2222-4b4b-8d8d-abcdefabcdef",
        task_run_name="draft_section-0",
        task_name="<unknown>",
    )
    body = json.loads(JsonFormatter().format(rec))
    assert body["flow_run_id"] == "0b7f8c1e-1111-4a4a-9c9c-123456789abc"
    assert body["task_run_id"] == "5e5e5e5e-2222-4b4b-8d8d-abcdefabcdef"
    assert body["flow_name"] == "generate-field" and body["flow_run_name"] == "generate-ETP-2026-0042"
    assert body["task_run_name"] == "draft_section-0" and "task_name" not in body
    assert body["trace_id"] is None


def test_a_record_after_the_run_closed_finds_the_trace_through_its_run_id():
    run_id = "9a9a9a9a-3333-4c4c-8e8e-000000000001"
    token = current_trace_id.set("req-late")
    try:
        TraceIdFilter().filter(record(flow_run_id=run_id))  # while the run is active: remembered
    finally:
        current_trace_id.reset(token)
    late = record("Finished in state %s", ("Completed()",), name="prefect.flow_engine", flow_run_id=run_id)
    body = json.loads(JsonFormatter().format(late))  # a logger without the filter, after the context closed
    assert body["trace_id"] == "req-late" and body["message"] == "Finished in state Completed()"


def test_exception_and_portuguese_text_stay_on_one_line():
    logger = logging.getLogger("nexora.tests.json")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ValueError("documento não encontrado\nsegunda linha")
        except ValueError:
            logger.exception("consolidação falhou na etapa '%s'", "armazenar arquivos")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    body = json.loads(lines[0])
    assert body["level"] == "ERROR" and body["message"] == "consolidação falhou na etapa 'armazenar arquivos'"
    assert "Traceback" in body["exception"] and "ValueError: documento não encontrado" in body["exception"]
    assert "não" in lines[0]  # UTF-8 as is, readable with grep as well as jq


def test_console_handlers_switch_to_json_and_files_do_not(tmp_path):
    from prefect.logging.handlers import PrefectConsoleHandler

    logger = logging.getLogger("nexora.tests.console")
    logger.propagate, logger.level = False, logging.INFO
    console_stream, plain_stream = io.StringIO(), io.StringIO()
    prefect_console = PrefectConsoleHandler(stream=console_stream)
    plain = logging.StreamHandler(plain_stream)
    to_file = logging.FileHandler(tmp_path / "app.log", encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    for handler in (prefect_console, plain, to_file):
        logger.addHandler(handler)
    try:
        use_json_console([logger])
        use_json_console([logger])  # idempotent
        logger.warning("limite de :warning: [bold]concorrência[/] atingido")
        after = list(logger.handlers)
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        to_file.close()
    assert prefect_console not in after and sum(isinstance(h, JsonConsoleHandler) for h in after) == 1
    for stream in (console_stream, plain_stream):
        (line,) = stream.getvalue().splitlines()
        assert json.loads(line)["message"] == "limite de :warning: [bold]concorrência[/] atingido"
    assert (tmp_path / "app.log").read_text(encoding="utf-8").startswith("WARNING limite de")


def test_log_format_setting(monkeypatch):
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    assert Settings(_env_file=None).LOG_FORMAT == "text"
    monkeypatch.setenv("LOG_FORMAT", "json")
    assert Settings(_env_file=None).LOG_FORMAT == "json"
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ValidationError, match="LOG_FORMAT"):
        Settings(_env_file=None)


def test_json_mode_reaches_the_processes_started_afterwards(tmp_path):
    """A runner's flow runs are subprocesses: Prefect configures their logging from core/logging_json.yml when
    they import it, before any project code runs."""
    import os
    import subprocess
    import sys

    child = "import logging, prefect.main; logging.getLogger('prefect.runner').warning('filho :warning:')"
    parent = (
        "import logging, subprocess, sys\n"
        "from core.logging import install_logging\n"
        "install_logging('json')\n"
        "logging.getLogger('nexora.x').warning('pai')\n"
        f"subprocess.run([sys.executable, '-c', {child!r}], check=True)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_LOGGING_SETTINGS_PATH", "LOG_FORMAT")}
    env.update(PREFECT_HOME=str(tmp_path), PREFECT_API_URL="http://127.0.0.1:9/api")
    done = subprocess.run([sys.executable, "-c", parent], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("nexora.x", "pai"),
        ("prefect.runner", "filho :warning:"),
    ]
