"""sign-document in process against the Prefect server, on SQLite and PostgreSQL, with the local store: each named
person signs with their PKCS#12 (test CA), the last one makes the document assinado with one event and one audit row;
a failing run registers nothing and leaves the request `falhou`; registering again changes nothing."""

import pytest
from pydantic import SecretStr
from sqlmodel import select

from core.settings import settings
from flows.consolidate_document import consolidate_document
from flows.sign_document import sign_document
from models.artifact import Artifact
from models.crud.signatures import register_signature, signing_state
from models.db import session_scope
from models.document import AuditLog
from models.notification import Event
from tasks.sign import pades
from tests.utils.builders import approve_document, make_document
from tests.utils.pki import asn1

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_each_named_person_signs_then_the_document_is_assinado(use_db, tmp_path, monkeypatch, signing_pki):
    monkeypatch.setattr(settings, "ARTIFACTS_DIR", tmp_path / "artifacts")
    doc = make_document(use_db, "TR")
    approve_document(use_db, doc)
    consolidate_document(doc)
    with session_scope(use_db) as session:
        order = [s.identifier for s in signing_state(session, doc).order]
    assert len(order) >= 2

    monkeypatch.setattr(settings, "SIGNING_PKCS12_PASSWORD", SecretStr("errada"))
    failed = sign_document(doc, order[0], return_state=True)
    assert failed.is_failed() and "assinar com o certificado" in failed.message
    monkeypatch.setattr(settings, "SIGNING_PKCS12_PASSWORD", SecretStr("senha-de-teste"))
    with session_scope(use_db) as session:
        state = signing_state(session, doc)
        assert [(r.person, r.status) for r in state.rows] == [(order[0], "falhou")] and state.rows[0].erro
        assert (
            session.exec(select(Artifact).where(Artifact.document_id == doc, Artifact.kind == "assinado")).all() == []
        )

    results = [sign_document(doc, person) for person in order]
    assert [r["artifact"]["signatures"] for r in results] == list(range(1, len(order) + 1))
    assert [r["artifact"]["document_signed"] for r in results] == [False] * (len(order) - 1) + [True]
    assert sign_document(doc, order[0], return_state=True).is_failed()  # already signed: refused, nothing new

    with session_scope(use_db) as session:
        state = signing_state(session, doc)
        assert str(state.document.status) == "assinado"
        assert [r.status for r in state.rows] == ["assinada"] * len(order)
        signed = session.exec(select(Artifact).where(Artifact.document_id == doc, Artifact.kind == "assinado")).all()
        assert sorted(a.signatures for a in signed) == list(range(1, len(order) + 1))
        last = max(signed, key=lambda a: a.signatures)
        assert last.signers == order and last.format == "pdf" and not last.classified
        events = session.exec(select(Event).where(Event.document_id == doc, Event.type == "document.signed")).all()
        assert len(events) == 1 and events[0].data["signers"] == order
        audit = session.exec(select(AuditLog).where(AuditLog.document_id == doc, AuditLog.to_status == "assinado"))
        assert len(audit.all()) == 1
        # registering the same signed file again (a retried task) finds it and changes nothing
        final = state.rows[-1]
        stored = {"uri": last.storage_uri, "key": last.key, "sha256": last.sha256, "size": last.size_bytes}
        again, complete = register_signature(
            session,
            final.id,
            stored,
            final.validation or {},
            input_sha256=final.input_sha256 or "",
            flow_run_id=None,
            trace_id=None,
        )
        assert again.id == last.id and complete
        key, count = last.key, len(signed)
    with session_scope(use_db) as session:
        assert (
            len(session.exec(select(Artifact).where(Artifact.kind == "assinado", Artifact.document_id == doc)).all())
            == count
        )
    pdf = (tmp_path / "artifacts" / key).read_bytes()
    summaries = pades.validate(pdf, [asn1(signing_pki.ca.cert)])
    assert len(summaries) == len(order) and all(s["intact"] and s["valid"] and s["trusted"] for s in summaries)
