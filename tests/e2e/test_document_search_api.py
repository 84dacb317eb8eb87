"""Search and clone through the API: ranked hits with marked snippets, filters, 422s in Portuguese, no clash with
/documents/{id}; the sigiloso estimate (art. 24) only with the scope; a clone's provenance and the review each
copied section needs before the authority may approve; a failing embeddings endpoint never a 5xx."""

from __future__ import annotations

import random

import httpx
import pytest

from core.settings import settings
from tests.utils.builders import AUTHORITY, PLANNER, REVIEWER, actor, document_data, make_key

JUSTIFIED = "Mercado concentrado, com poucos fornecedores: o sigilo evita propostas ancoradas na estimativa."


def token() -> str:
    return f"zeta{random.randrange(10**9):09d}"


@pytest.fixture(scope="module")
def scoped(sqlite_url):
    return {
        "cleared": make_key(sqlite_url, ["read", "write", "sigiloso"], name="busca-sigilo"),
        "plain": make_key(sqlite_url, ["read", "write"], name="busca-equipe"),
    }


@pytest.fixture
def plain(api_url, scoped):
    headers = {"Authorization": f"Bearer {scoped['plain']}", **actor(PLANNER)}
    with httpx.Client(base_url=api_url, headers=headers, timeout=60) as c:
        yield c


@pytest.fixture
def cleared(api_url, scoped):
    headers = {"Authorization": f"Bearer {scoped['cleared']}", **actor(PLANNER)}
    with httpx.Client(base_url=api_url, headers=headers, timeout=60) as c:
        yield c


def as_person(scoped: dict, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {scoped['plain']}", **actor(who)}


def create(c: httpx.Client, kind: str = "ETP", **kw) -> dict:
    response = c.post("/api/v1/documents", json=document_data(kind, **kw))
    assert response.status_code == 201, response.text
    return response.json()


def put(c: httpx.Client, doc: dict, slug: str, content: str) -> None:
    response = c.put(f"/api/v1/documents/{doc['id']}/fields/{slug}", json={"content": content})
    assert response.status_code == 200, response.text


def search(c: httpx.Client, **params) -> httpx.Response:
    return c.get("/api/v1/documents/search", params=params)


def test_search_ranks_marks_filters_and_refuses_bad_queries(plain):
    word = token()
    etp = create(plain, titulo=f"Aquisição de notebooks {word}")
    tr = create(plain, "TR")
    put(plain, tr, "definicao_objeto", f"Fornecimento de notebooks ({word}) com garantia de 36 meses.")
    found = search(plain, q=word)
    assert found.status_code == 200, found.text
    body = found.json()
    assert [h["id"] for h in body["data"]] == [etp["id"], tr["id"]] and body["count"] == 2
    assert body["semantic"] is False and f"«{word}»" in body["data"][1]["trecho"]
    assert body["data"][1]["titulo"] == tr["titulo"] and body["data"][0]["rank"] > body["data"][1]["rank"]
    assert [h["id"] for h in search(plain, q=word, kind="TR").json()["data"]] == [tr["id"]]
    assert search(plain, q=word, status="aprovado").json()["count"] == 0
    assert search(plain, q=word, limit=1, offset=1).json()["data"][0]["id"] == tr["id"]
    # /documents/{id} still answers, and "search" is not read as an id
    assert plain.get(f"/api/v1/documents/{etp['id']}").status_code == 200
    for params, message in (
        ({}, "Informe o texto"),
        ({"q": "  "}, "Informe o texto"),
        ({"q": "de a o"}, "palavras pesquisáveis"),
        ({"q": "notebook " * 30}, "máximo é 200"),
        ({"q": word, "kind": "edital"}, "Requisição inválida"),
    ):
        refused = search(plain, **params)
        assert refused.status_code == 422 and message in refused.json()["detail"], refused.text


def test_a_sigiloso_estimate_is_searched_and_shown_only_with_the_scope(plain, cleared):
    public, secret = token(), token()
    doc = create(
        plain, titulo=f"Notebooks {public}", orcamento_sigiloso=True, orcamento_sigiloso_justificativa=JUSTIFIED
    )
    put(cleared, doc, "estimativa_valor", f"Valor estimado de R$ 987.654,32 ({secret}) para {public}.")
    assert search(plain, q=secret).json() == {"data": [], "count": 0, "count_is_lower_bound": False, "semantic": False}
    hit = search(plain, q=public).json()["data"][0]
    assert hit["id"] == doc["id"] and secret not in hit["trecho"] and "987.654" not in hit["trecho"]
    seen = search(cleared, q=secret).json()["data"]
    assert [h["id"] for h in seen] == [doc["id"]] and f"«{secret}»" in seen[0]["trecho"]

    # a clone for a key without the scope leaves the estimate out; with it, into a sigiloso document, it is copied
    body = {k: v for k, v in document_data("ETP").items() if k != "kind"}
    out = plain.post(f"/api/v1/documents/{doc['id']}/clone", json=body)
    assert (
        out.status_code == 201
        and next(f for f in out.json()["fields"] if f["slug"] == "estimativa_valor")["content"] is None
    )
    kept = cleared.post(
        f"/api/v1/documents/{doc['id']}/clone",
        json={**body, "orcamento_sigiloso": True, "orcamento_sigiloso_justificativa": JUSTIFIED},
    )
    estimate = next(f for f in kept.json()["fields"] if f["slug"] == "estimativa_valor")
    assert kept.status_code == 201 and estimate["sigiloso"] and secret in estimate["content"]


def test_clone_records_provenance_and_approval_waits_for_each_review(api_url, plain, scoped):
    source = create(plain, "TR")
    detail = plain.get(f"/api/v1/documents/{source['id']}").json()
    for f in detail["fields"]:
        put(plain, source, f["slug"], f"Texto da alínea {f['code']} do processo de 2025.")
    body = {k: v for k, v in document_data("TR").items() if k != "kind"}
    with httpx.Client(base_url=api_url, headers=as_person(scoped, REVIEWER), timeout=60) as reviewer:
        assert (
            reviewer.post("/api/v1/documents/00000000-0000-0000-0000-000000000000/clone", json=body).status_code == 404
        )
        assert reviewer.post(f"/api/v1/documents/{source['id']}/clone", json={**body, "titulo": "x"}).status_code == 422
        created = reviewer.post(f"/api/v1/documents/{source['id']}/clone", json=body)
    assert created.status_code == 201, created.text
    clone = created.json()
    assert clone["status"] == "rascunho" and clone["numero_processo"] == body["numero_processo"]
    assert (clone["cloned_from"], clone["cloned_from_version"]) == (source["id"], 1)
    assert all(f["source"] == "copia" and f["reviewed_by"] is None and f["content"] for f in clone["fields"])
    audit = plain.get(f"/api/v1/documents/{clone['id']}/audit").json()
    assert "clonagem" in audit[0]["reason"] and source["id"] in audit[0]["reason"]
    history = plain.get(f"/api/v1/documents/{clone['id']}/fields/history").json()
    assert {h["action"] for h in history} == {"copia"} and {h["person"] for h in history} == {REVIEWER}

    assert plain.post(f"/api/v1/documents/{clone['id']}/transitions", json={"to": "em_revisao"}).status_code == 200
    with httpx.Client(base_url=api_url, headers=as_person(scoped, AUTHORITY), timeout=60) as authority:

        def approve() -> httpx.Response:
            return authority.post(
                f"/api/v1/documents/{clone['id']}/transitions", json={"to": "aprovado", "reason": "Aprovo o TR."}
            )

        refused = approve()
        assert refused.status_code == 422 and len(refused.json()["missing"]) == len(clone["fields"])
        assert "copiado de outro documento" in refused.json()["missing"][0]["problem"]
        for f in clone["fields"]:
            reviewed = plain.post(f"/api/v1/documents/{clone['id']}/fields/{f['slug']}/review")
            assert reviewed.status_code == 200 and reviewed.json()["reviewed_by"] == PLANNER
        approved = approve()
        assert approved.status_code == 200 and approved.json()["status"] == "aprovado", approved.text


def test_a_failing_embeddings_endpoint_never_makes_search_fail(plain, llm, monkeypatch):
    monkeypatch.setattr(settings, "EMBEDDINGS_MODEL", "fake-embeddings")
    monkeypatch.setattr(settings, "EMBEDDINGS_URL", llm.base_url)
    monkeypatch.setattr(settings, "EMBEDDINGS_RETRIES", 0)
    word = token()
    doc = create(plain, titulo=f"Cadeiras {word}")
    assert search(plain, q=word).json()["semantic"] is True and llm.embedding_inputs()
    llm.set(mode="status", status=500)
    failed = search(plain, q=word)
    assert failed.status_code == 200 and failed.json()["semantic"] is False
    assert [h["id"] for h in failed.json()["data"]] == [doc["id"]]
