"""People, not keys (Lei 14.133/2021 art. 7º, 18): who acts is named in X-Actor; drafts are reviewed by a person;
the competent authority of the órgão, who wrote nothing, approves with a despacho; the files name them."""

from __future__ import annotations

import io
import uuid

import httpx
import pytest
from pypdf import PdfReader

from tests.utils.builders import AUTHORITY, LEFT, ORGAO, PLANNER, REVIEWER, actor, document_data

pytestmark = pytest.mark.usefixtures("runner")


@pytest.fixture
def admin(api_url, keys):
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {keys['admin']}"}, timeout=30) as c:
        yield c


def test_people_are_registered_by_an_admin_and_never_by_cpf(admin, client):
    tag = uuid.uuid4().hex[:6]
    body = {"identifier": f"siape.{tag}", "name": "Helena Prado", "orgao": ORGAO, "roles": ["equipe_planejamento"]}
    created = admin.post("/api/v1/people", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["active"] is True and created.json()["roles"] == ["equipe_planejamento"]
    assert admin.post("/api/v1/people", json=body).status_code == 200  # the same person again: unchanged
    documented = admin.get("/openapi.json").json()["paths"]["/api/v1/people"]["post"]["responses"]
    assert {"200", "201", "409", "422"} <= set(documented)  # each answer above is in the schema (found by make fuzz)
    other = admin.post("/api/v1/people", json={**body, "name": "Outra Pessoa"})
    assert other.status_code == 409 and "com outros dados" in other.json()["detail"]
    for cpf in ("52998224725", "529.982.247-25"):
        refused = admin.post("/api/v1/people", json={**body, "identifier": cpf})
        assert refused.status_code == 422 and "parece um CPF" in refused.json()["detail"], refused.text
    assert admin.post("/api/v1/people", json={**body, "identifier": f"x.{tag}", "roles": []}).status_code == 422
    assert client.get("/api/v1/people").status_code == 403  # admin scope
    listed = admin.get("/api/v1/people", params={"active": True}).json()
    assert body["identifier"] in {p["identifier"] for p in listed} and LEFT not in {p["identifier"] for p in listed}
    gone = admin.post(f"/api/v1/people/{body['identifier']}/deactivate")
    assert gone.status_code == 200 and gone.json()["active"] is False
    refused = client.post("/api/v1/documents", json=document_data(), headers=actor(body["identifier"]))
    assert refused.status_code == 403 and "desativada" in refused.json()["detail"]


def test_a_change_without_a_known_active_person_is_refused_and_changes_nothing(client):
    doc = client.post("/api/v1/documents", json=document_data("TR")).json()
    put = f"/api/v1/documents/{doc['id']}/fields/definicao_objeto"
    for who, status, says in (
        ("", 422, "Informe quem age no cabeçalho 'X-Actor"),
        ("ninguem.aqui", 422, "não é uma pessoa cadastrada"),
        (LEFT, 403, "desativada"),
        (AUTHORITY, 403, "não integra a equipe de planejamento"),
    ):
        answer = client.put(put, json={"content": "Texto."}, headers=actor(who))
        assert answer.status_code == status and says in answer.json()["detail"], answer.text
    field = next(
        f for f in client.get(f"/api/v1/documents/{doc['id']}").json()["fields"] if f["slug"] == "definicao_objeto"
    )
    assert field["content"] is None and client.get(f"/api/v1/documents/{doc['id']}/fields/history").json() == []


def test_unreviewed_drafts_block_approval_and_an_edit_clears_a_review(client, llm):
    doc = client.post("/api/v1/documents", json=document_data("TR")).json()
    fill_document_via_api(client, doc)
    drafted = client.post(
        "/api/v1/tr/generate-field", json={"document_id": doc["id"], "field": "modelo_gestao"}, params={"wait": 60}
    )
    assert drafted.status_code == 200 and drafted.json()["state"] == "COMPLETED", drafted.text
    assert f"person:{PLANNER}" in drafted.json()["tags"]
    url = f"/api/v1/documents/{doc['id']}"
    assert client.post(f"{url}/transitions", json={"to": "em_revisao"}).status_code == 200
    approval = {"to": "aprovado", "reason": "Aprovo o termo de referência."}
    refused = client.post(f"{url}/transitions", json=approval, headers=actor(AUTHORITY))
    assert refused.status_code == 422
    assert [(m["slug"], m["problem"]) for m in refused.json()["missing"]] == [
        ("modelo_gestao", "redigido automaticamente (llm) e não revisado por uma pessoa")
    ]
    reviewed = client.post(f"{url}/fields/modelo_gestao/review", headers=actor(REVIEWER))
    assert reviewed.status_code == 200 and reviewed.json()["reviewed_by"] == REVIEWER
    assert reviewed.json()["written_by"] == PLANNER and reviewed.json()["source"] == "llm"
    returned = client.post(f"{url}/transitions", json={"to": "devolvido", "reason": "ajuste"}, headers=actor(AUTHORITY))
    assert returned.status_code == 200, returned.text
    edited = client.put(f"{url}/fields/modelo_gestao", json={"content": "Modelo de gestão revisto pela equipe."})
    assert edited.status_code == 200 and edited.json()["reviewed_by"] is None  # the edit cleared the review
    assert edited.json()["source"] == "human" and edited.json()["written_by"] == PLANNER
    history = client.get(f"{url}/fields/history").json()
    assert [(h["action"], h["person"]) for h in history if h["slug"] == "modelo_gestao"] == [
        ("escrita", PLANNER),
        ("redacao", PLANNER),
        ("revisao", REVIEWER),
        ("escrita", PLANNER),
    ]


def test_the_authority_approves_with_a_despacho_and_the_files_name_the_people(client, llm):
    doc = client.post("/api/v1/documents", json=document_data("ETP")).json()
    fill_document_via_api(client, doc)
    url = f"/api/v1/documents/{doc['id']}"
    reviewed = client.post(f"{url}/fields/requisitos_contratacao/review", headers=actor(REVIEWER))
    assert reviewed.status_code == 200
    assert client.post(f"{url}/transitions", json={"to": "em_revisao"}).status_code == 200
    approval = {"to": "aprovado", "reason": "Aprovo o Estudo Técnico Preliminar."}
    by_reviewer = client.post(f"{url}/transitions", json=approval, headers=actor(REVIEWER))
    assert by_reviewer.status_code == 403 and "não é autoridade competente" in by_reviewer.json()["detail"]
    elsewhere = client.post(f"{url}/transitions", json=approval, headers=actor("autoridade.outro"))
    assert elsewhere.status_code == 403 and "não do órgão do documento" in elsewhere.json()["detail"]
    no_despacho = client.post(f"{url}/transitions", json={"to": "aprovado"}, headers=actor(AUTHORITY))
    assert no_despacho.status_code == 422 and "despacho" in no_despacho.json()["detail"]
    approved = client.post(f"{url}/transitions", json=approval, headers=actor(AUTHORITY))
    assert approved.status_code == 200 and approved.json()["status"] == "aprovado", approved.text
    audit = client.get(f"{url}/audit").json()
    assert audit[-1]["person"] == AUTHORITY and audit[-1]["reason"] == approval["reason"]
    assert audit[-1]["actor"] == "e2e-all"  # the app: the key's name
    done = client.post(f"{url}/consolidate", params={"wait": 120})
    assert done.json()["state"] == "COMPLETED", done.text
    pdf = next(a for a in client.get(f"{url}/artifacts").json() if a["format"] == "pdf")
    data = client.get(f"/api/v1/artifacts/{pdf['id']}/download", follow_redirects=True).content
    reader = PdfReader(io.BytesIO(data))
    closing = " ".join((reader.pages[-2].extract_text() or "").split())  # "Responsáveis", before the signatures
    assert "Ana Planejadora (matrícula 1234567)" in closing and "Bruno Revisor (matrícula 7654321)" in closing
    assert "Carla Secretária (matrícula autoridade.mgi)" in closing and "Aprovo o Estudo Técnico Preliminar." in closing
    # the last page: where each named person signs, in the document's order (who prepared it, then who approved it)
    last = " ".join((reader.pages[-1].extract_text() or "").split())
    assert last.index("Assinaturas eletrônicas") < last.index("1. Ana Planejadora (matrícula 1234567) — Elaboração")
    assert last.index("2. Bruno Revisor (matrícula 7654321) — Elaboração") < last.index(
        "3. Carla Secretária (matrícula autoridade.mgi) — Aprovação"
    )
    assert reader.metadata.author.startswith("Carla Secretária") and "NEXORA" not in reader.metadata.author


def test_who_wrote_or_reviewed_a_section_cannot_approve(admin, client):
    tag = uuid.uuid4().hex[:6]
    both = {
        "identifier": f"gil.{tag}",
        "name": "Gil Duplo",
        "orgao": ORGAO,
        "roles": ["equipe_planejamento", "autoridade_competente"],
    }
    assert admin.post("/api/v1/people", json=both).status_code == 201
    doc = client.post("/api/v1/documents", json=document_data("TR")).json()
    fill_document_via_api(client, doc)
    url = f"/api/v1/documents/{doc['id']}"
    written = client.put(
        f"{url}/fields/definicao_objeto", json={"content": "Objeto."}, headers=actor(both["identifier"])
    )
    assert written.status_code == 200, written.text
    assert client.post(f"{url}/transitions", json={"to": "em_revisao"}).status_code == 200
    refused = client.post(
        f"{url}/transitions", json={"to": "aprovado", "reason": "Aprovo."}, headers=actor(both["identifier"])
    )
    assert refused.status_code == 403
    assert "escreveu definicao_objeto" in refused.json()["detail"] and "art. 7º, §1º" in refused.json()["detail"]
    assert client.get(url).json()["status"] == "em_revisao"


def fill_document_via_api(client: httpx.Client, doc: dict) -> None:
    """Every section written by the planner through the API (optional ETP elements: one justified)."""
    for field in doc["fields"]:
        if field["slug"] == "impactos_ambientais":
            body = {"justification": "Não se aplica: sem impacto ambiental relevante."}
        else:
            body = {"content": f"Texto de {field['title']}, escrito pela equipe de planejamento."}
        assert client.put(f"/api/v1/documents/{doc['id']}/fields/{field['slug']}", json=body).status_code == 200


def test_the_tr_of_an_approved_etp_inherits_its_header_and_is_drafted_with_it(client, llm):
    header = {
        "uasg": "201057",
        "uf": "DF",
        "pca_ano": 2026,
        "pca_itens": ["312"],
        "dfd_numeros": ["12/2026"],
        "criterio_julgamento": "menor_preco",
    }
    unknown = client.post("/api/v1/documents", json={**document_data("ETP"), **header, "uf": "XY"})
    assert unknown.status_code == 422 and "UF desconhecida" in unknown.text
    etp = client.post("/api/v1/documents", json={**document_data("ETP"), **header, "uf": " df "}).json()
    assert etp["uf"] == "DF"  # the two letters, upper case
    early = client.post(f"/api/v1/documents/{etp['id']}/tr")
    assert early.status_code == 409 and "aprovado" in early.json()["detail"]
    fill_document_via_api(client, etp)
    url = f"/api/v1/documents/{etp['id']}"
    assert client.post(f"{url}/transitions", json={"to": "em_revisao"}).status_code == 200
    approved = client.post(f"{url}/transitions", json={"to": "aprovado", "reason": "Aprovo."}, headers=actor(AUTHORITY))
    assert approved.status_code == 200, approved.text
    created = client.post(f"{url}/tr")
    assert created.status_code == 201, created.text
    tr = created.json()
    assert tr["kind"] == "TR" and tr["etp_id"] == etp["id"] and tr["status"] == "rascunho"
    assert {k: tr[k] for k in header} == header and tr["numero_processo"] == etp["numero_processo"]
    not_etp = client.post(f"/api/v1/documents/{tr['id']}/tr")
    assert not_etp.status_code == 422 and "nasce de um ETP" in not_etp.json()["detail"]
    llm.recorder.requests.clear()
    drafted = client.post(
        "/api/v1/tr/generate-field", json={"document_id": tr["id"], "field": "definicao_objeto"}, params={"wait": 60}
    )
    assert drafted.status_code == 200 and drafted.json()["state"] == "COMPLETED", drafted.text
    prompt = llm.recorder.requests[-1]["body"]["messages"][1]["content"]
    assert "ETP de origem" in prompt and "escrito pela equipe de planejamento" in prompt  # the ETP's own text
    assert "UASG: 201057" in prompt and "itens 312" in prompt
