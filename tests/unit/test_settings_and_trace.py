"""Settings refuse placeholder secrets outside development; trace ids are safe and reach log lines."""

import logging

import pytest
from pydantic import ValidationError

from core.logging import (
    TraceIdFilter,
    accept_request_id,
    current_trace_id,
    trace_id_from_tags,
    trace_tag,
)
from core.settings import Settings


@pytest.mark.parametrize("environment", ["production", "test"])
def test_placeholder_secret_refused_outside_development(monkeypatch, environment):
    monkeypatch.setenv("ENVIRONMENT", environment)
    monkeypatch.setenv("SECRET_KEY", "changethis")
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None)


def test_placeholder_secret_allowed_in_development(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    assert Settings(_env_file=None).SECRET_KEY.get_secret_value() == "changethis"


def test_database_url_defaults_to_sqlite_and_normalises_postgres(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    assert Settings(_env_file=None).database_url == f"sqlite:///{tmp_path}/nexora.db"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/nexora")
    assert Settings(_env_file=None).database_url == "postgresql+psycopg://u@db:5432/nexora"


def test_timeout_must_be_positive(monkeypatch):
    monkeypatch.setenv("HTTP_CLIENT_TIMEOUT", "0")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


@pytest.mark.parametrize(
    "given,kept", [("abc-123_X.y", True), ("a b", False), ("x" * 65, False), ("trace_id=1%s", False), (None, False)]
)
def test_accept_request_id(given, kept):
    assert accept_request_id(given) == (given if kept else None)


def test_trace_tag_round_trip():
    assert trace_id_from_tags(["nexora", trace_tag("abc")]) == "abc"
    assert trace_id_from_tags(["nexora"]) is None


def test_filter_prefixes_the_trace_id_once():
    record = logging.LogRecord("nexora.x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    token = current_trace_id.set("t-1")
    try:
        TraceIdFilter().filter(record)
        TraceIdFilter().filter(record)
    finally:
        current_trace_id.reset(token)
    assert record.getMessage() == "trace_id=t-1 | hello world"


def test_a_run_is_not_declared_crashed_before_a_heartbeat_could_be_missed():
    import pytest

    from core.settings import Settings

    assert Settings().CRASH_AFTER_SECONDS > 180  # above Prefect's default heartbeat: a worker without ours is safe
    with pytest.raises(ValueError, match="CRASH_AFTER_SECONDS \\(40\\) must exceed FLOW_HEARTBEAT_SECONDS \\(60\\)"):
        Settings(CRASH_AFTER_SECONDS=40, FLOW_HEARTBEAT_SECONDS=60)


def test_run_links_use_the_public_prefect_ui_when_set():
    assert Settings(PREFECT_PORT=4321).prefect_ui_url == "http://127.0.0.1:4321"
    public = Settings(PREFECT_UI_PUBLIC_URL="https://prefect.orgao.gov.br/")
    assert public.prefect_ui_url == "https://prefect.orgao.gov.br"


def test_price_research_settings_cannot_make_a_research_the_norm_refuses():
    # IN 65/2021 art. 6º: three or more prices; Lei 14.133/2021 art. 23 §1º II: the year before the research
    from core.settings import check_price_research_settings

    assert check_price_research_settings(3, 365) == []  # both limits are lawful
    (few,) = check_price_research_settings(2, 365)
    assert "PRICE_RESEARCH_MIN_PRICES=2" in few and "art. 6º" in few and "§ 5º" in few
    (wide,) = check_price_research_settings(3, 366)
    assert "PRICE_RESEARCH_WINDOW_DAYS=366" in wide and "art. 23, § 1º, II" in wide
    assert len(check_price_research_settings(1, 3650)) == 2
    Settings(_env_file=None, PRICE_RESEARCH_MIN_PRICES=3, PRICE_RESEARCH_WINDOW_DAYS=365)
    for name, value in (("PRICE_RESEARCH_MIN_PRICES", 2), ("PRICE_RESEARCH_WINDOW_DAYS", 366)):
        with pytest.raises(ValidationError, match=name):  # refused when read: no process starts with it
            Settings(_env_file=None, **{name: value})
