"""collect-pncp-documents through a real Prefect server against the PNCP replay server (its arquivos list and
downloads in PNCP's wire format, serving real PDF, DOCX and zip files), on SQLite and PostgreSQL: what is indexed,
what is recorded with its reason, 429/5xx retried, a rerun that fetches nothing again, a run that breaks mid-way
and resumes fetching only what was not stored, and the library's search."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import text
from sqlmodel import select

from core.settings import settings
from flows.collect_pncp_documents import DocumentCollectionFailed, collect_pncp_documents
from models.crud import pncp_documents as library
from models.db import session_scope
from models.market import PncpCheckpoint, PncpContratacao
from models.pncp_documents import PncpDocument, PncpDocumentSection
from tasks.pncp import document_tasks
from tests.servers.pncp import HTML_429
from tests.utils import pncp_files as files

pytestmark = pytest.mark.usefixtures("prefect_server")
CNPJ = "00394445000102"
A, B = f"{CNPJ}-1-009001/2026", f"{CNPJ}-1-009002/2026"


def _clean(url):
    with session_scope(url) as s:
        if s.get_bind().dialect.name == "sqlite":
            s.exec(text("DELETE FROM pncp_document_sections_fts"))
        s.exec(text("DELETE FROM pncp_document_sections"))
        s.exec(text("DELETE FROM pncp_documents"))
        s.exec(text("DELETE FROM pncp_checkpoints WHERE slice_key LIKE 'arquivos:%'"))
        s.exec(text("DELETE FROM pncp_contratacoes WHERE numero_controle_pncp LIKE '00394445000102-1-0090%'"))


# the test's two contratações are published in a month no other test collects: the session's shared databases hold
# other tests' contratações (the replay's March 2026, the sample's 2016–2022), newer or older, which a run without a
# window would list first
WINDOW = {"start": date(2025, 8, 1), "end": date(2025, 8, 31)}


@pytest.fixture(params=["sqlite", "postgresql"])
def library_db(request, monkeypatch, pncp_server):
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    monkeypatch.setattr(settings, "DATABASE_URL", url)
    _clean(url)
    with session_scope(url) as s:
        for n, (control, day) in enumerate(((A, 3), (B, 2)), start=1):
            s.add(
                PncpContratacao(
                    numero_controle_pncp=control,
                    cnpj_orgao=CNPJ,
                    ano_compra=2026,
                    sequencial_compra=9000 + n,
                    modalidade_id=6,
                    uf="DF",
                    objeto_compra="Aquisição de papel e cadeiras",
                    data_publicacao_pncp=datetime(2025, 8, day, 10),
                )
            )
    pncp_server.reset()
    pncp_server.add_files(
        A,
        [
            {
                "sequencialDocumento": 1,
                "tipoDocumentoId": 7,
                "tipoDocumentoNome": "Estudo Técnico Preliminar",
                "titulo": "ETP papel",
                "content": files.pdf(),
            },
            {
                "sequencialDocumento": 2,
                "tipoDocumentoId": 4,
                "tipoDocumentoNome": "Termo de Referência",
                "titulo": "TR cadeiras",
                "content": files.docx(),
            },
            {
                "sequencialDocumento": 3,
                "tipoDocumentoId": 2,
                "tipoDocumentoNome": "Edital",
                "titulo": "Edital",
                "content": files.zipped({"Edital.pdf": files.pdf(["EDITAL"]), "Anexo I - TR.docx": files.docx()}),
            },
            {
                "sequencialDocumento": 4,
                "tipoDocumentoId": 7,
                "tipoDocumentoNome": "Estudo Técnico Preliminar",
                "titulo": "ETP digitalizado",
                "content": files.scanned_pdf(),
            },
            {
                "sequencialDocumento": 5,
                "tipoDocumentoId": 2,
                "tipoDocumentoNome": "Edital",
                "titulo": "Anexo II - Termo de Referência",
                "content": files.corrupt_pdf(),
            },
            {
                "sequencialDocumento": 6,
                "tipoDocumentoId": 4,
                "tipoDocumentoNome": "Termo de Referência",
                "titulo": "TR retirado",
                "content": None,
            },
            {
                "sequencialDocumento": 7,
                "tipoDocumentoId": 16,
                "tipoDocumentoNome": "Ata de Registro de Preço",
                "titulo": "Ata",
                "content": files.pdf(["ATA"]),
            },
        ],
    )
    pncp_server.add_files(B, [])
    yield url
    _clean(url)
    pncp_server.files.clear()
    pncp_server.reset()


def _documents(url):
    with session_scope(url) as s:
        return {d.sequencial_documento: d for d in s.exec(select(PncpDocument))}


def test_indexes_etps_and_trs_records_failures_and_a_rerun_fetches_nothing(library_db, pncp_server):
    pncp_server.fail("arquivos", 429, times=1, body=HTML_429, content_type="text/html")
    pncp_server.fail("arquivo", 503, times=1)
    summary = collect_pncp_documents(limit=10, **WINDOW)
    docs = _documents(library_db)
    assert {n: d.status for n, d in docs.items()} == {
        1: "indexed",
        2: "indexed",
        3: "indexed",
        4: "no_text",
        5: "failed",
        6: "not_found",
    }  # 7 (an ata) is never fetched
    assert docs[3].tipo == "tr" and docs[4].scanned_pages == 1 and "corrompido" in docs[5].error
    assert docs[1].url.endswith("/compras/2026/9001/arquivos/1") and docs[1].sha256 and docs[1].size
    assert docs[1].cpfs_masked == 1 and docs[2].cpfs_masked == 1
    assert summary["contratacoes"] == 2 and summary["contratacoes_listed"] == 2
    assert summary["files_indexed"] == 3 and summary["files_failed"] == 1 and summary["files_not_found"] == 1
    assert summary["retries_429"] == 1 and summary["server_errors"] == 1
    with session_scope(library_db) as s:
        sections = s.exec(select(PncpDocumentSection)).all()
        assert all("529.982.247-25" not in x.text and "52998224725" not in x.text for x in sections)
        assert {x.element for x in sections} >= {"etp:I", "etp:III", "tr:a", "tr:f"}
        done = s.exec(select(PncpCheckpoint).where(PncpCheckpoint.endpoint == "arquivos")).all()
        assert {p.slice_key for p in done} == {f"arquivos:{A}", f"arquivos:{B}"} and all(p.done for p in done)
        hits = library.search(s, "papel sulfite", uf="DF")
        assert hits and hits[0].element == "etp:I" and hits[0].sequencial_documento == 1
        assert "sulfite" in hits[0].snippet("papel sulfite")
        assert hits[0].pncp_link == "https://pncp.gov.br/app/editais/00394445000102/2026/9001"
        assert library.search(s, "cadeiras ergonômicas", tipo="etp") == []
        assert {h.sequencial_documento for h in library.search(s, "cadeiras ergonômicas", tipo="tr")} == {2, 3}
    fetched = list(pncp_server.downloads)
    again = collect_pncp_documents(limit=10, **WINDOW)
    assert again["contratacoes"] == 0 and pncp_server.downloads == fetched


@pytest.mark.parametrize("library_db", ["sqlite"], indirect=True)
def test_a_run_broken_mid_way_resumes_with_the_files_not_stored(library_db, pncp_server, monkeypatch):
    real, stored = document_tasks.store_file, []

    def breaking(document, sections):
        if len(stored) == 2:
            raise KeyboardInterrupt  # the process going down while the third file is in flight
        stored.append(document["sequencial_documento"])
        return real(document, sections)

    monkeypatch.setattr(document_tasks, "store_file", breaking)
    with pytest.raises((KeyboardInterrupt, DocumentCollectionFailed)):
        collect_pncp_documents(limit=10, **WINDOW)
    assert set(_documents(library_db)) == set(stored) and len(stored) == 2
    monkeypatch.setattr(document_tasks, "store_file", real)
    first = list(pncp_server.downloads)
    collect_pncp_documents(limit=10, **WINDOW)
    later = pncp_server.downloads[len(first) :]
    assert {int(p.rsplit("/", 1)[1]) for p in later} == {1, 2, 3, 4, 5, 6} - set(stored)  # none fetched twice
    assert set(_documents(library_db)) == {1, 2, 3, 4, 5, 6}


@pytest.mark.parametrize("library_db", ["sqlite"], indirect=True)
def test_cli_searches_the_library_and_refuses_a_bad_type(library_db, pncp_server):
    from typer.testing import CliRunner

    from deployments.cli.app import app

    collect_pncp_documents(limit=10, **WINDOW)
    runner = CliRunner()
    found = runner.invoke(app, ["pncp", "biblioteca", "papel sulfite", "--uf", "DF"], terminal_width=250)
    assert found.exit_code == 0, found.output
    assert A in found.output and "DESCRIÇÃO DA NECESSIDADE" in found.output and "sulfite" in found.output
    none = runner.invoke(app, ["pncp", "biblioteca", "papel sulfite", "--tipo", "tr"])
    assert none.exit_code == 0 and "nenhum trecho encontrado" in none.output
    bad = runner.invoke(app, ["pncp", "biblioteca", "papel", "--tipo", "edital"])
    assert bad.exit_code == 2 and "use etp ou tr" in bad.output


@pytest.mark.parametrize("library_db", ["sqlite"], indirect=True)
def test_downloads_pncp_keeps_refusing_fail_the_run_and_are_fetched_by_the_next(library_db, pncp_server):
    pncp_server.down("arquivo", 503)
    with pytest.raises(DocumentCollectionFailed, match="6 listagem\\(ns\\) ou arquivo\\(s\\) não obtido"):
        collect_pncp_documents(limit=10, **WINDOW)
    assert _documents(library_db) == {}  # nothing recorded as failed for good: a 503 is PNCP's, not the file's
    with session_scope(library_db) as s:
        listed = {p.slice_key for p in s.exec(select(PncpCheckpoint).where(PncpCheckpoint.endpoint == "arquivos"))}
    assert listed == {f"arquivos:{B}"}  # A keeps its files due
    pncp_server.restore("arquivo")
    summary = collect_pncp_documents(limit=10, **WINDOW)
    assert summary["contratacoes"] == 1 and summary["files_indexed"] == 3
    assert set(_documents(library_db)) == {1, 2, 3, 4, 5, 6}
