"""Orçamento sigiloso (Lei 14.133/2021, art. 24): the estimate of a sigiloso document is read and written only with
the 'sigiloso' scope, every read is audited (who, when, trace), the drafted text stays out of run results for
others, and the public DOCX/PDF carry the legal note instead of it."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from datetime import timedelta

import httpx
import pytest
from pypdf import PdfReader

from models import price_dates
from models.rules import REDACTED_RUN_MESSAGE
from tests.utils.builders import AUTHORITY, PLANNER, actor, document_data, fill_document, make_key
from tests.utils.waiting import wait_for

SECRET = "Valor estimado SIGILOSO de R$ 987.654,32 para 52 notebooks."
SLUG = "estimativa_valor"


@pytest.fixture(scope="module")
def keys_(sqlite_url):
    return {
        "cleared": make_key(sqlite_url, ["read", "write", "run", "sigiloso"], name="pregoeiro-sigilo"),
        "plain": make_key(sqlite_url, ["read", "write", "run"], name="equipe-planejamento"),
        "admin": make_key(sqlite_url, ["admin"], name="operacao"),
    }


JUSTIFIED = "Mercado concentrado, com poucos fornecedores: o sigilo evita propostas ancoradas na estimativa."


def as_key(api_url: str, key: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}", **actor(PLANNER)}
    return httpx.Client(base_url=api_url, headers=headers, timeout=120)


def field(document: dict, slug: str = SLUG) -> dict:
    return next(f for f in document["fields"] if f["slug"] == slug)


def test_a_sigiloso_estimate_is_seen_only_with_the_scope_and_every_read_is_audited(
    runner, api_url, sqlite_url, keys_, llm
):
    with (
        as_key(api_url, keys_["cleared"]) as cleared,
        as_key(api_url, keys_["plain"]) as plain,
        as_key(api_url, keys_["admin"]) as admin,
    ):
        body = document_data("ETP", orcamento_sigiloso=True)
        without = plain.post("/api/v1/documents", json=body)  # art. 24: "desde que justificado"
        assert without.status_code == 422 and "exige justificativa" in without.json()["detail"]
        assert "art. 24" in without.json()["detail"]
        against = plain.post(
            "/api/v1/documents",
            json={**body, "orcamento_sigiloso_justificativa": JUSTIFIED, "criterio_julgamento": "maior_desconto"},
        )
        assert against.status_code == 422 and "maior desconto" in against.json()["detail"]
        created = plain.post("/api/v1/documents", json={**body, "orcamento_sigiloso_justificativa": JUSTIFIED})
        assert created.status_code == 201 and created.json()["orcamento_sigiloso"] is True
        assert created.json()["orcamento_sigiloso_justificativa"] == JUSTIFIED
        to_discount = plain.patch(
            f"/api/v1/documents/{created.json()['id']}", json={"criterio_julgamento": "maior_desconto"}
        )
        assert to_discount.status_code == 422 and "parágrafo único" in to_discount.json()["detail"]
        doc = created.json()["id"]
        assert field(created.json())["sigiloso"] and not field(created.json(), "descricao_necessidade")["sigiloso"]
        # writing the estimate needs the scope; other sections do not
        whole = plain.post(f"/api/v1/documents/{doc}/generate", json={"only_empty": False, "force": True})
        assert whole.status_code == 403 and "estimativa_valor" in whole.json()["detail"]  # no side door
        refused = plain.put(f"/api/v1/documents/{doc}/fields/{SLUG}", json={"content": SECRET})
        assert refused.status_code == 403 and "sigiloso" in refused.json()["detail"]
        written = cleared.put(f"/api/v1/documents/{doc}/fields/{SLUG}", json={"content": SECRET})
        assert written.status_code == 200 and written.json()["content"] == SECRET
        assert (
            plain.put(
                f"/api/v1/documents/{doc}/fields/descricao_necessidade", json={"content": "Necessidade pública."}
            ).status_code
            == 200
        )
        # reading: without the scope the section comes empty (even for admin), with it in full, and audited
        seen = plain.get(f"/api/v1/documents/{doc}").json()
        assert field(seen)["content"] is None and field(seen)["sigiloso"]
        assert field(seen, "descricao_necessidade")["content"] == "Necessidade pública."
        assert SECRET not in plain.get(f"/api/v1/documents/{doc}").text
        as_admin = admin.get(f"/api/v1/documents/{doc}")
        assert as_admin.status_code == 200 and SECRET not in as_admin.text  # 'admin' does not clear the secrecy
        full = cleared.get(f"/api/v1/documents/{doc}", headers={"X-Request-ID": "leitura-pregoeiro-1"})
        assert field(full.json())["content"] == SECRET
        reads = cleared.get(f"/api/v1/documents/{doc}/confidential-reads").json()
        # the audit row's trace id is the server's; the caller's X-Request-ID is kept apart (issue 21)
        assert [(r["actor"], r["request_id"], r["trace_id"]) for r in reads][-1] == (
            "pregoeiro-sigilo",
            "leitura-pregoeiro-1",
            full.headers["X-Trace-ID"],
        )
        assert "estimativa_valor" in reads[-1]["what"]
        assert plain.get(f"/api/v1/documents/{doc}/confidential-reads").status_code == 403
        # drafting the estimate: only with the scope; its result hides the text from others; the provider is outside
        # the body's network (LLM_PROVIDER_INTERNAL unset), so the section is assembled without it
        assert plain.post("/api/v1/etp/generate-field", json={"document_id": doc, "field": SLUG}).status_code == 403
        llm.reset()
        run = cleared.post("/api/v1/etp/generate-field", json={"document_id": doc, "field": SLUG, "force": True})
        assert run.status_code == 202, run.text
        run_id = run.json()["flow_run_id"]
        hidden = plain.get(f"/api/v1/flow-runs/{run_id}", params={"wait": 60}).json()
        assert hidden["state"] == "COMPLETED" and hidden["result"]["content"] is None and hidden["result"]["sigiloso"]
        assert "sigiloso" in hidden["tags"] and llm.calls == 0  # tagged at start; nothing sent to the provider
        assert "montada sem modelo" in field(cleared.get(f"/api/v1/documents/{doc}").json())["content"]
        # the section's metadata would date the research: hidden with its text
        meta = field(plain.get(f"/api/v1/documents/{doc}").json())
        assert meta["updated_at"] is None and meta["flow_run_id"] is None and meta["model"] is None
        assert meta["written_by"] == PLANNER
        before = len(cleared.get(f"/api/v1/documents/{doc}/confidential-reads").json())
        shown = cleared.get(f"/api/v1/flow-runs/{run_id}").json()
        assert shown["result"]["content"]
        assert len(cleared.get(f"/api/v1/documents/{doc}/confidential-reads").json()) == before + 1
        # a public section drafted with a value of the estimate (as the person completed it) is refused; the run
        # tells others neither the refusal's words nor the person's instructions
        assert cleared.put(f"/api/v1/documents/{doc}/fields/{SLUG}", json={"content": SECRET}).status_code == 200
        llm.set(content="A necessidade decorre da obsolescência; o valor estimado é de R$ 987.654,32.")
        asked = {"document_id": doc, "field": "descricao_necessidade", "force": True, "instructions": "cite o lote 7"}
        failed = plain.post("/api/v1/etp/generate-field", json=asked, params={"wait": 60}).json()
        assert failed["state"] == "FAILED" and "987.654,32" not in str(failed)
        assert failed["message"] == REDACTED_RUN_MESSAGE and failed["parameters"]["instructions"].startswith("[omitido")
        told = cleared.get(f"/api/v1/flow-runs/{failed['flow_run_id']}").json()
        assert "revela 1 valor(es) do orçamento estimado sigiloso" in told["message"]
        (event,) = wait_for(lambda: failure_events(sqlite_url, doc))  # what subscribers get: not the message
        assert event["error"] == REDACTED_RUN_MESSAGE and event["flow_run_id"] == failed["flow_run_id"]
        assert told["parameters"]["instructions"] == "cite o lote 7"
        now = plain.get(f"/api/v1/documents/{doc}").json()
        assert field(now, "descricao_necessidade")["content"] == "Necessidade pública."  # nothing was written
        # lifting the secrecy needs the scope too
        lifted = plain.patch(f"/api/v1/documents/{doc}", json={"orcamento_sigiloso": False})
        assert lifted.status_code == 403


def failure_events(url: str, document_id: str) -> list[dict]:
    from sqlmodel import select

    from models.db import session_scope
    from models.notification import Event

    with session_scope(url) as session:
        rows = session.exec(
            select(Event).where(Event.document_id == uuid.UUID(document_id), Event.type == "generation.failed")
        ).all()
        return [dict(row.data) for row in rows]


def text_of_docx(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as docx:
        return re.sub(r"<[^>]+>", "", docx.read("word/document.xml").decode())


def text_of_pdf(data: bytes) -> str:
    return " ".join(" ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(data)).pages).split())


def test_the_public_files_leave_the_estimate_out_and_the_classified_annex_is_stored_apart(
    runner, api_url, sqlite_url, keys_, receiver
):
    with as_key(api_url, keys_["cleared"]) as cleared, as_key(api_url, keys_["plain"]) as plain:
        data = document_data("ETP", orcamento_sigiloso=True, orcamento_sigiloso_justificativa=JUSTIFIED)
        doc = cleared.post("/api/v1/documents", json=data).json()["id"]
        fill_document(sqlite_url, uuid.UUID(doc))
        assert cleared.put(f"/api/v1/documents/{doc}/fields/{SLUG}", json={"content": SECRET}).status_code == 200
        assert cleared.post(f"/api/v1/documents/{doc}/transitions", json={"to": "em_revisao"}).status_code == 200
        approval = {"to": "aprovado", "reason": "Aprovo."}
        moved = cleared.post(f"/api/v1/documents/{doc}/transitions", json=approval, headers=actor(AUTHORITY))
        assert moved.status_code == 200, moved.text
        done = plain.post(f"/api/v1/documents/{doc}/consolidate", params={"wait": 120})
        assert done.json()["state"] == "COMPLETED", done.text
        assert SECRET not in done.text and "987.654,32" not in done.text  # the run's result: keys and hashes only
        # issue 21: not even the annex's key, hash and size without the scope, and no path of the server's
        assert [a["classified"] for a in done.json()["result"]["artifacts"]] == [False, False]
        assert "classificado/" not in done.text and "file://" not in done.text
        run_url = f"/api/v1/flow-runs/{done.json()['flow_run_id']}"
        assert "classificado/" not in plain.get(run_url).text
        shown = cleared.get(run_url).json()["result"]["artifacts"]
        assert sorted(a["classified"] for a in shown) == [False, False, True, True]
        assert all(a["storage_uri"].startswith("local:") for a in shown)
        # without the scope: the two public files, and the annex is refused by id
        public = plain.get(f"/api/v1/documents/{doc}/artifacts").json()
        assert sorted((a["format"], a["classified"]) for a in public) == [("docx", False), ("pdf", False)]
        files = {
            a["format"]: plain.get(f"/api/v1/artifacts/{a['id']}/download", follow_redirects=True).content
            for a in public
        }
        reads = len(cleared.get(f"/api/v1/documents/{doc}/confidential-reads").json())
        listed = cleared.get(f"/api/v1/documents/{doc}/artifacts", headers={"X-Request-ID": "anexo-lista-1"}).json()
        annex = {a["format"]: a for a in listed if a["classified"]}
        assert sorted(annex) == ["docx", "pdf"] and len(listed) == 4
        assert all(a["storage_uri"].startswith("local:classificado/documents/") for a in annex.values())
        assert all(a["storage_uri"].startswith("local:documents/") for a in public)  # no server path (issue 21)
        refused = plain.get(f"/api/v1/artifacts/{annex['pdf']['id']}/download")
        assert refused.status_code == 403 and "sigiloso" in refused.json()["detail"]
        classified = {
            fmt: cleared.get(
                f"/api/v1/artifacts/{a['id']}/download", follow_redirects=True, headers={"X-Request-ID": f"anexo-{fmt}"}
            )
            for fmt, a in annex.items()
        }
        assert all(r.status_code == 200 for r in classified.values())
        assert "anexo-classificado" in classified["pdf"].headers["content-disposition"]
        audit = cleared.get(f"/api/v1/documents/{doc}/confidential-reads").json()[reads:]
        assert [(r["request_id"], r["actor"]) for r in audit] == [
            ("anexo-lista-1", "pregoeiro-sigilo"),
            ("anexo-docx", "pregoeiro-sigilo"),
            ("anexo-pdf", "pregoeiro-sigilo"),
        ]
        assert "download PDF v1" in audit[-1]["what"]
    for text in (text_of_docx(files["docx"]), text_of_pdf(files["pdf"])):
        assert "987.654,32" not in text and "SIGILOSO de R$" not in text
        assert "Orçamento estimado sigiloso, nos termos do art. 24 da Lei nº 14.133/2021" in text
        assert "anexo classificado" in text
    for text in (text_of_docx(classified["docx"].content), text_of_pdf(classified["pdf"].content)):
        assert SECRET in text  # the estimate itself, and only the sigiloso sections
        assert "DOCUMENTO CLASSIFICADO — ACESSO RESTRITO" in text and "Anexo classificado" in text
        assert "Texto da seção" not in text  # no other section
    # the licitação concluded: the authority ends the sigilo by an act (art. 18, §1º, VI), told to subscribers
    with as_key(api_url, keys_["plain"]) as plain, as_key(api_url, keys_["admin"]) as admin:
        hook = f"/disclosed-{uuid.uuid4().hex[:6]}"
        subscribed = admin.post(
            "/api/v1/subscriptions",
            json={
                "channel": "webhook",
                "target": f"{receiver.url}{hook}",
                "event_types": ["document.budget_disclosed"],
            },
        ).json()
        receiver.secrets[hook] = subscribed["secret"]
        url, today = f"/api/v1/documents/{doc}/budget-disclosure", price_dates.today()
        act = {"act": HOMOLOGACAO, "date": today.isoformat(), "reason": "Licitação concluída e homologada."}
        by_planner = plain.post(url, json=act)
        assert by_planner.status_code == 403 and "autoridade competente" in by_planner.json()["detail"]
        future = plain.post(url, json={**act, "date": str(today + timedelta(days=1))}, headers=actor(AUTHORITY))
        assert future.status_code == 422 and "é futura" in future.json()["detail"]
        assert plain.get(f"/api/v1/artifacts/{annex['pdf']['id']}/download").status_code == 403  # nothing changed
        ended = plain.post(url, json=act, headers={**actor(AUTHORITY), "X-Request-ID": "fim-do-sigilo-1"})
        assert ended.status_code == 200, ended.text
        assert ended.json()["orcamento_divulgado_em"] == today.isoformat()
        assert ended.json()["orcamento_divulgado_por"] == AUTHORITY and ended.json()["orcamento_sigiloso"] is True
        assert plain.post(url, json=act, headers=actor(AUTHORITY)).status_code == 409  # once
        # with 'read' now: the estimate section, and the annex listed and downloaded
        assert field(plain.get(f"/api/v1/documents/{doc}").json())["content"] == SECRET
        listed = plain.get(f"/api/v1/documents/{doc}/artifacts").json()
        assert sorted((a["format"], a["classified"]) for a in listed) == [
            ("docx", False),
            ("docx", True),
            ("pdf", False),
            ("pdf", True),
        ]
        opened = plain.get(f"/api/v1/artifacts/{annex['pdf']['id']}/download", follow_redirects=True)
        assert opened.status_code == 200 and SECRET in text_of_pdf(opened.content)
        (audited,) = [a for a in plain.get(f"/api/v1/documents/{doc}/audit").json() if "sigilo" in (a["reason"] or "")]
        assert HOMOLOGACAO in audited["reason"] and "art. 18, §1º, VI" in audited["reason"]
        assert (audited["person"], audited["trace_id"]) == (AUTHORITY, ended.headers["X-Trace-ID"])  # the server's
        (told,) = wait_for(lambda: receiver.events(hook))
        assert told.signature_ok and told.body["type"] == "document.budget_disclosed"
        assert told.body["document_id"] == doc and HOMOLOGACAO in str(told.body)
        admin.delete(f"/api/v1/subscriptions/{subscribed['id']}")


HOMOLOGACAO = "Termo de homologação do Pregão Eletrônico nº 90012/2026"


def test_after_the_sigilo_ends_the_next_consolidation_prints_the_estimate_in_the_public_files(
    runner, api_url, sqlite_url, keys_
):
    with as_key(api_url, keys_["cleared"]) as cleared, as_key(api_url, keys_["plain"]) as plain:
        data = document_data("ETP", orcamento_sigiloso=True, orcamento_sigiloso_justificativa=JUSTIFIED)
        doc = cleared.post("/api/v1/documents", json=data).json()["id"]
        fill_document(sqlite_url, uuid.UUID(doc))
        assert cleared.put(f"/api/v1/documents/{doc}/fields/{SLUG}", json={"content": SECRET}).status_code == 200
        url = f"/api/v1/documents/{doc}/budget-disclosure"
        act = {"act": HOMOLOGACAO, "date": price_dates.today().isoformat(), "reason": "Licitação concluída."}
        early = plain.post(url, json=act, headers=actor(AUTHORITY))  # still a draft: no licitação yet
        assert early.status_code == 409 and "conclusão da licitação" in early.json()["detail"]
        assert cleared.post(f"/api/v1/documents/{doc}/transitions", json={"to": "em_revisao"}).status_code == 200
        approval = {"to": "aprovado", "reason": "Aprovo."}
        assert plain.post(f"/api/v1/documents/{doc}/transitions", json=approval, headers=actor(AUTHORITY)).is_success
        assert plain.post(url, json=act, headers=actor(AUTHORITY)).status_code == 200
        done = plain.post(f"/api/v1/documents/{doc}/consolidate", params={"wait": 120})
        assert done.json()["state"] == "COMPLETED", done.text
        assert "sigiloso" not in done.json()["tags"]  # its sigilo had ended when the run started
        files = plain.get(f"/api/v1/documents/{doc}/artifacts").json()
        assert sorted((a["format"], a["classified"]) for a in files) == [("docx", False), ("pdf", False)]
        pdf = plain.get(next(f["download_url"] for f in files if f["format"] == "pdf"), follow_redirects=True)
    text = text_of_pdf(pdf.content)
    assert SECRET in text and "Orçamento estimado sigiloso, nos termos" not in text
    assert f"divulgado por {HOMOLOGACAO}" in text
