"""publish-pncp's parts against real ones: the integration API client against the loopback PNCP integration server
(token from the response header, cached, refreshed once on a 401; multipart and ISO-8859-1 headers; PNCP's
errors), and which file is published, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from models.artifact import Artifact
from models.crud.documents import get_document
from models.crud.publications import publication_plan
from models.db import session_scope
from models.enums import DocumentStatus
from models.errors import ConflictError
from models.signature import DocumentSignature, SignatureStatus
from tasks.pncp.client import PncpError
from tasks.pncp.integration import NotConfigured, PncpIntegration
from tests.utils.builders import make_document

CNPJ, ANO = "00394445000101", 2026
PDF = b"%PDF-1.7\n" + b"x" * 2048


@pytest.fixture
def pncp(pncp_publisher):
    seq = uuid.uuid4().int % 9_000_000 + 1
    pncp_publisher.add_compra(CNPJ, ANO, seq)
    with PncpIntegration(base_url=pncp_publisher.url) as client:
        client.token(fresh=True)  # the server forgot the tokens of earlier tests
        pncp_publisher.calls.clear()
        yield client, pncp_publisher, seq


def test_the_token_comes_from_the_response_header_and_is_cached(pncp):
    client, server, seq = pncp
    for n in range(3):
        client.attach(CNPJ, ANO, seq, PDF, f"Arquivo {n}", 16, f"a{n}.pdf")
    assert server.calls["login"] == 0 and client.logins == 1
    other = PncpIntegration(base_url=server.url)  # another client of the same process shares the token
    other.attach(CNPJ, ANO, seq, PDF, "Arquivo 3", 16, "a3.pdf")
    assert server.calls["login"] == 0 and other.logins == 0


def test_a_token_is_kept_for_the_lifetime_pncp_gives_less_five_minutes(pncp_publisher):
    pncp_publisher.token_seconds = 200.0  # `expires: 200000`: shorter than the five minutes kept in reserve
    client = PncpIntegration(base_url=pncp_publisher.url)
    client.token(fresh=True)
    client.token()
    assert client.logins == 2
    pncp_publisher.token_seconds = 3600.0
    client.token(fresh=True)
    client.token()
    assert client.logins == 3


def test_an_expired_token_is_refreshed_once(pncp):
    client, server, seq = pncp
    server.expire_tokens()
    url, number = client.attach(CNPJ, ANO, seq, PDF, "Estudo Técnico Preliminar - versão 1", 7, "etp.pdf")
    assert url.endswith(f"/compras/{ANO}/{seq}/arquivos/{number}") and number == 1
    assert server.unauthorized == 1 and server.calls["login"] == 1


def test_a_second_401_is_not_retried_in_a_loop(pncp):
    client, server, seq = pncp
    server.fail("upload", 401, times=2, message="Token inválido ou expirado")
    with pytest.raises(PncpError, match="401") as raised:
        client.attach(CNPJ, ANO, seq, PDF, "ETP", 7, "etp.pdf")
    assert not raised.value.retryable and server.calls["upload"] == 2


def test_the_title_travels_as_iso_8859_1_and_the_file_as_the_multipart_part_arquivo(pncp):
    client, server, seq = pncp
    title = "Relatório de Pesquisa de Preços (ETP) - processo 23034.000123/2026-11 - versão 2 - ação"
    client.attach(CNPJ, ANO, seq, PDF, title, 16, "relatorio.pdf")
    (stored,) = server.active(CNPJ, ANO, seq)
    assert stored["titulo"] == title and stored["tipoDocumentoId"] == 16 and stored["data"] == PDF
    listed = client.list_files(CNPJ, ANO, seq)
    assert [f["titulo"] for f in listed] == [title]
    assert set(listed[0]) == {
        "sequencialDocumento",
        "url",
        "tipoDocumentoId",
        "tipoDocumentoNome",
        "titulo",
        "dataPublicacaoPncp",
    }
    client.remove(CNPJ, ANO, seq, stored["sequencialDocumento"], "Substituído pela versão 3 do ETP.")
    assert server.active(CNPJ, ANO, seq) == [] and client.list_files(CNPJ, ANO, seq) == []
    assert server.files[(CNPJ, ANO, seq)][0]["justificativa"] == "Substituído pela versão 3 do ETP."


@pytest.mark.parametrize(
    ("status", "retryable"), [(400, False), (422, False), (404, False), (429, True), (500, True), (503, True)]
)
def test_pncp_errors_say_whether_to_retry_and_carry_pncps_message(pncp, status, retryable):
    client, server, seq = pncp
    server.fail("upload", status, message=f"mensagem do PNCP {status}")
    with pytest.raises(PncpError, match=f"mensagem do PNCP {status}") as raised:
        client.attach(CNPJ, ANO, seq, PDF, "ETP", 7, "etp.pdf")
    assert raised.value.retryable is retryable and raised.value.status == status


def test_the_servers_own_422_for_a_bad_header(pncp):
    client, server, seq = pncp
    with pytest.raises(PncpError, match="Tipo-Documento-Id inválido") as raised:
        client.attach(CNPJ, ANO, seq, PDF, "ETP", 99, "etp.pdf")
    assert not raised.value.retryable


def test_a_lost_answer_is_retryable_and_the_file_is_there(pncp):
    client, server, seq = pncp
    server.lose("upload")
    with pytest.raises(PncpError) as raised:
        client.attach(CNPJ, ANO, seq, PDF, "ETP - sha256:abc", 7, "etp.pdf")
    assert raised.value.retryable
    assert [f["titulo"] for f in client.list_files(CNPJ, ANO, seq)] == ["ETP - sha256:abc"]


def test_wrong_credentials_and_none(pncp_publisher, monkeypatch):
    from core.settings import settings

    with pytest.raises(PncpError, match="401") as raised:
        PncpIntegration(base_url=pncp_publisher.url, login="outra", password="errada").token(fresh=True)
    assert not raised.value.retryable
    monkeypatch.setattr(settings, "PNCP_PASSWORD", None)
    with pytest.raises(NotConfigured, match="PNCP_LOGIN e PNCP_PASSWORD"):
        PncpIntegration()


def _artifact(session, doc, version, kind="documento", signatures=0, fmt="pdf", classified=False) -> Artifact:
    artifact = Artifact(
        document_id=doc,
        document_version=version,
        format=fmt,
        kind=kind,
        classified=classified,
        signatures=signatures,
        signers=[f"p{n}" for n in range(signatures)],
        storage_uri=f"file:///x/{uuid.uuid4()}",
        key=f"x/{uuid.uuid4()}",
        sha256=uuid.uuid4().hex * 2,
        size_bytes=1000 + signatures,
        template_id=uuid.uuid4(),
        template_version=1,
    )
    session.add(artifact)
    session.flush()
    return artifact


def _with_status(session, doc, status):
    document = get_document(session, doc)
    document.status = status
    session.add(document)
    session.flush()


def test_the_signed_pdf_with_most_signatures_is_published_once_signed(db_url):
    doc = make_document(db_url, "TR")
    with session_scope(db_url) as session:
        consolidated = _artifact(session, doc, 1)
        _artifact(session, doc, 1, classified=True)
        _artifact(session, doc, 1, fmt="docx")
        _with_status(session, doc, DocumentStatus.CONSOLIDADO)
        plan = publication_plan(session, doc)
        assert [(f["tipo"], f["artifact_id"]) for f in plan["files"]] == [(4, str(consolidated.id))]
        assert "Termo de Referência (TR)" in plan["files"][0]["titulo"]

        _artifact(session, doc, 1, kind="assinado", signatures=1)
        session.add(
            DocumentSignature(
                document_id=doc,
                document_version=1,
                seq=1,
                person="1234567",
                name="Ana",
                role="equipe_planejamento",
                backend="pkcs12",
                status=SignatureStatus.ASSINADA,
            )
        )
        session.flush()
        with pytest.raises(ConflictError, match="assinaturas pendentes"):
            publication_plan(session, doc)

        both = _artifact(session, doc, 1, kind="assinado", signatures=2)
        _with_status(session, doc, DocumentStatus.ASSINADO)
        assert publication_plan(session, doc)["files"][0]["artifact_id"] == str(both.id)


def test_a_draft_is_not_published(db_url):
    doc = make_document(db_url, "ETP")
    with session_scope(db_url) as session, pytest.raises(ConflictError, match="consolidado"):
        publication_plan(session, doc)


def _file(artifact: Artifact, tipo: int = 7) -> dict:
    return {"tipo": tipo, "artifact_id": str(artifact.id), "sha256": artifact.sha256, "titulo": "ETP - sha256:x"}


def test_the_registry_never_records_one_file_twice_on_a_contratacao_and_tells_each_publication(db_url):
    from sqlmodel import select

    from models.crud import publications
    from models.document import AuditLog
    from models.notification import Event
    from models.publication import PublicationStatus

    etp, tr = make_document(db_url, "ETP"), make_document(db_url, "TR")
    here, there = (CNPJ, ANO, 11), (CNPJ, ANO, 12)
    with session_scope(db_url) as session:
        report = _artifact(session, etp, 1, kind="pesquisa_precos")
        _with_status(session, etp, DocumentStatus.CONSOLIDADO)
        first = publications.begin(session, etp, 1, here, _file(report, 16), "1234567", "run-1")
        again = publications.begin(session, etp, 1, here, _file(report, 16), "1234567", "run-2")
        assert again.id == first.id and again.status == PublicationStatus.ENVIANDO  # look on PNCP, don't resend
        publications.mark_published(session, first.id, "https://pncp/arquivos/1", 1)
        from_tr = publications.begin(session, tr, 1, here, _file(report, 16), "1234567", "run-3")
        assert from_tr.id == first.id and from_tr.status == PublicationStatus.PUBLICADO  # the ETP's report, once
        elsewhere = publications.begin(session, etp, 1, there, _file(report, 16), "1234567", "run-4")
        assert elsewhere.id != first.id

        sent = [{"tipo_documento_id": 16, "url": "u1", "sequencial_documento": 1, "sha256": report.sha256}]
        assert publications.finish(
            session, etp, 1, [{**sent[0], "action": "enviado"}], requested_by="1234567", trace_id=None, flow_run_id=None
        )
        rerun = [{**sent[0], "action": "ja_publicado"}]
        assert not publications.finish(session, etp, 1, rerun, requested_by="1234567", trace_id=None, flow_run_id=None)
        assert publications.finish(
            session, etp, 1, [{**sent[0], "action": "enviado"}], requested_by="1234567", trace_id=None, flow_run_id=None
        )
        assert get_document(session, etp).status == DocumentStatus.PUBLICADO
        events = session.exec(select(Event).where(Event.document_id == etp, Event.type == "document.published")).all()
        audits = session.exec(
            select(AuditLog).where(AuditLog.document_id == etp, AuditLog.to_status == DocumentStatus.PUBLICADO)
        ).all()
        assert len(events) == 2 and len(audits) == 1 and audits[0].person == "1234567"
