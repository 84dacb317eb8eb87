"""The drafting flows against a real Prefect server and the loopback LLM, on SQLite and PostgreSQL."""

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, LogFilter, LogFilterFlowRunId
from sqlmodel import select

from core.settings import settings
from flows.generate_document import generate_document
from flows.generate_field import generate_field
from models.crud.documents import document_view
from models.db import session_scope
from models.document import DocumentField
from tests.utils.builders import PLANNER, make_document

pytestmark = pytest.mark.usefixtures("prefect_server")
SLUG = "descricao_necessidade"


# the provider, its retries and Prefect's cache do not depend on the database: SQLite alone; the concurrent drafting
# of a whole document (writes side by side) runs on both
PROVIDER_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def field(url, document_id, slug=SLUG) -> DocumentField:
    with session_scope(url) as s:
        return s.exec(
            select(DocumentField).where(DocumentField.document_id == document_id, DocumentField.slug == slug)
        ).one()


@PROVIDER_ONLY
def test_field_drafted_stored_with_usage_then_cached_then_forced(use_db, llm):
    doc = make_document(use_db)
    result = generate_field(doc, SLUG, PLANNER)
    stored = field(use_db, doc)
    assert llm.calls == 1 and result["cached"] is False
    assert stored.source == "llm" and stored.model == "fake-gpt" and stored.content.startswith("Texto redigido")
    assert stored.tokens_in > 0 and stored.tokens_out > 0 and stored.flow_run_id
    prompt = llm.recorder.requests[0]["body"]["messages"][1]["content"]
    assert "Descrição da necessidade" in prompt and "art. 18" in prompt

    again = generate_field(doc, SLUG, PLANNER)
    assert llm.calls == 1 and again["cached"] is True
    forced = generate_field(doc, SLUG, PLANNER, force=True)
    assert llm.calls == 2 and forced["cached"] is False


@PROVIDER_ONLY
def test_429_then_ok_is_retried(use_db, llm):
    llm.set(mode="fail_then_ok", status=429, times=2)
    doc = make_document(use_db)
    generate_field(doc, SLUG, PLANNER)
    assert llm.calls == 3 and field(use_db, doc).source == "llm"


@pytest.mark.parametrize(
    "behaviour,calls,reason",
    [
        ({"mode": "status", "status": 500}, 4, "InternalServerError"),
        ({"mode": "status", "status": 401}, 1, "AuthenticationError"),
        ({"mode": "status", "status": 400}, 1, "BadRequestError"),
        ({"mode": "malformed"}, 4, "MalformedResponseError"),
        ({"mode": "empty"}, 4, "sem texto"),
        ({"mode": "hang", "hang_seconds": 3}, 4, "Timeout"),
    ],
)
def test_failures_fail_the_run_and_leave_the_field_untouched(sqlite_url, llm, behaviour, calls, reason):
    llm.set(**behaviour)
    doc = make_document(sqlite_url)
    state = generate_field(doc, SLUG, PLANNER, return_state=True)
    assert state.is_failed()
    assert reason in state.message or reason in repr(state.result(raise_on_failure=False))
    assert llm.calls == calls
    assert field(sqlite_url, doc).content is None


def test_slow_answer_within_timeout_succeeds(sqlite_url, llm):
    llm.set(mode="slow", delay=1.0)
    doc = make_document(sqlite_url)
    assert generate_field(doc, SLUG, PLANNER)["source"] == "llm"


def test_offline_provider_without_key(sqlite_url, llm, monkeypatch):
    monkeypatch.setattr(settings, "OPENAI_API_KEY", None)
    doc = make_document(sqlite_url)
    generate_field(doc, SLUG, PLANNER)
    stored = field(sqlite_url, doc)
    assert llm.calls == 0 and stored.source == "offline" and stored.model == "offline-template-v1"
    assert stored.content.startswith("[Rascunho automático")


def test_unknown_section_and_unknown_document_fail_clearly(sqlite_url, llm):
    import uuid

    state = generate_field(make_document(sqlite_url), "nao_existe", PLANNER, return_state=True)
    assert state.is_failed() and "nao_existe" in state.message
    state = generate_field(uuid.uuid4(), SLUG, PLANNER, return_state=True)
    assert state.is_failed() and "não encontrado" in state.message
    assert llm.calls == 0


def test_document_drafted_concurrently_with_trace_in_logs(use_db, llm):
    llm.set(mode="slow", delay=0.5)
    doc = make_document(use_db)
    state = generate_document.with_options(flow_run_name="doc-test")(doc, PLANNER, return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    assert len(result["fields"]) == 13 and llm.calls == 13
    assert llm.recorder.max_in_flight > 1
    with session_scope(use_db) as s:
        rows = s.exec(select(DocumentField).where(DocumentField.document_id == doc)).all()
    assert all(r.source == "llm" and r.content for r in rows)


def test_partial_failure_names_the_failed_section_and_keeps_the_rest(sqlite_url, llm):
    llm.set(mode="status", status=400, only_if="Redija a seção XII —")
    doc = make_document(sqlite_url)
    state = generate_document(doc, PLANNER, return_state=True)
    assert state.is_failed() and "impactos_ambientais" in state.message and "12 foram gravadas" in state.message
    assert field(sqlite_url, doc, "impactos_ambientais").content is None
    assert field(sqlite_url, doc, "posicionamento_conclusivo").source == "llm"
    # the rerun drafts only what is still empty
    llm.set()
    calls = llm.calls
    rerun = generate_document(doc, PLANNER)
    assert [f["slug"] for f in rerun["fields"]] == ["impactos_ambientais"] and llm.calls == calls + 1


def test_trace_id_tag_reaches_every_log_line(sqlite_url, llm):
    import time

    from prefect import tags

    doc = make_document(sqlite_url)
    with tags("trace:trace-flow-test"):
        state = generate_field(doc, SLUG, PLANNER, return_state=True)
    assert state.is_completed()
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(tags={"all_": ["trace:trace-flow-test"]}))
        assert len(runs) == 1
        for _ in range(20):
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[runs[0].id])))
            if any("Finished in state" in log.message for log in logs):
                break
            time.sleep(0.5)
    assert any("stored descricao_necessidade" in log.message for log in logs)
    assert logs and all(log.message.startswith("trace_id=trace-flow-test | ") for log in logs), [
        log.message[:80] for log in logs
    ]


def test_a_draft_is_written_by_the_provider_for_the_person_who_asked_and_awaits_review(use_db, llm):
    from models.crud.documents import field_history

    doc = make_document(use_db)
    generate_field(doc, SLUG, PLANNER)
    with session_scope(use_db) as session:
        field = next(f for f in document_view(session, doc).fields if f.slug == SLUG)
        history = [(r.slug, r.action, r.person, r.source) for r in field_history(session, doc)]
    assert field.source == "llm" and field.written_by == PLANNER and field.reviewed_by is None
    assert history == [(SLUG, "redacao", PLANNER, "llm")]


def test_a_run_for_a_person_who_may_not_draft_fails_with_the_reason_and_writes_nothing(sqlite_url, llm):
    from tests.utils.builders import AUTHORITY, LEFT

    doc = make_document(sqlite_url)
    for who, reason in (
        (AUTHORITY, "não integra a equipe de planejamento"),
        (LEFT, "desativada"),
        ("ninguem", "não é uma pessoa cadastrada"),
    ):
        state = generate_field(doc, SLUG, who, return_state=True)
        assert state.is_failed() and reason in state.message, state.message
    assert llm.calls == 0
