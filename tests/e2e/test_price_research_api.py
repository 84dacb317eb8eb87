"""The pesquisa de preços through the API, on SQLite and on PostgreSQL: opened with a frozen date and the PNCP prices
gathered, manual prices of each source with their evidence and windows, people's decisions, the §1º and §5º paths,
finalised into the Relatório de Pesquisa de Preços (read back with python-docx and pypdf), then frozen; approval of
the ETP blocked until then."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from docx import Document as Docx
from pypdf import PdfReader

from models import price_dates
from models.price_rules import months_before
from tests.utils.builders import AUTHORITY, PLANNER, REVIEWER, actor, document_data, fill_document, make_key
from tests.utils.research import CNPJS, drop_market, market_prices

pytestmark = pytest.mark.usefixtures("api_url")
PDF = ("evidencia.pdf", b"%PDF-1.4 proposta", "application/pdf")


@pytest.fixture
def api(api_url, use_db):
    """A client of the running API on the parametrized database, acting as the planning team."""
    key = make_key(use_db, ["read", "write", "run"], name=f"pesquisa-{uuid.uuid4().hex[:6]}")
    headers = {"Authorization": f"Bearer {key}", **actor(PLANNER)}
    with httpx.Client(base_url=api_url, headers=headers, timeout=90) as client:
        yield client


def _quote(n: int, day, **extra) -> dict:
    return {
        "fonte": "IV",
        "valor": str(extra.pop("valor", "25.90")),
        "fornecedor_cnpj": CNPJS[n],
        "fornecedor_nome": f"Fornecedor {n} Ltda",
        "fornecedor_endereco": "SCS Quadra 2, Brasília/DF; vendas@fornecedor.com.br",
        "fornecedor_contato": "(61) 3333-0000",
        "responsavel_nome": "Maria Souza, gerente comercial",
        "data_emissao": day.isoformat(),
        "validade": (day + timedelta(days=60)).isoformat(),
        "solicitacao": "Ofício nº 12/2026, por e-mail",
        **extra,
    }


def _refused(answer: httpx.Response, status: int, *says: str) -> None:
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    for text in says:
        assert text in detail, detail


def _open(api: httpx.Client, base: str, today, edital) -> dict:
    """Opened by the planning team, dated today, the PNCP prices gathered; the authority does not research."""
    _refused(api.post(base, json={}, headers=actor(AUTHORITY)), 403, "equipe de planejamento")
    _refused(api.post(base, json={"data_prevista_edital": (today - timedelta(days=1)).isoformat()}), 422, "anterior")
    opened = api.post(base, json={"data_prevista_edital": edital.isoformat(), "responsaveis": [PLANNER, REVIEWER]})
    assert opened.status_code == 201, opened.text
    return opened.json()


def _opened(api: httpx.Client, descricao: str, kind: str = "ETP", quantidade: int = 1, **opening) -> str:
    """A document of one item (UN) and its research opened without PNCP prices; the research's base URL."""
    item = {"descricao": descricao, "unidade": "UN", "quantidade": quantidade}
    doc = api.post("/api/v1/documents", json=document_data(kind, itens=[item])).json()
    base = f"/api/v1/documents/{doc['id']}/price-research"
    opened = api.post(base, json={"coletar_pncp": False, **opening})
    assert opened.status_code == 201, opened.text
    return base


def test_a_research_from_opening_to_its_report(api, use_db):
    today = price_dates.today()
    edital = today + timedelta(days=45)
    code = f"9{uuid.uuid4().int % 10**6:06d}"
    controls = market_prices(
        use_db,
        code,
        [
            (10.0003, today - timedelta(days=40)),
            (10.5, today - timedelta(days=60)),
            (11.0, today - timedelta(days=90)),
            (100.0, today - timedelta(days=100)),
            # inside the year before the research, outside the year before the planned edital (IN 65 art. 5º II):
            # not gathered
            (10.7, today - timedelta(days=340)),
        ],
    )
    items = [
        {"descricao": "Caneta esferográfica azul", "codigo_catalogo": code, "unidade": "UNIDADE", "quantidade": 3},
        {"descricao": "Papel A4 75 g/m², resma com 500 folhas", "unidade": "RESMA", "quantidade": 10},
        {"descricao": "Grampeador de mesa 26/6", "unidade": "UNIDADE", "quantidade": 2},
    ]
    doc = api.post("/api/v1/documents", json=document_data("ETP", itens=items)).json()
    base = f"/api/v1/documents/{doc['id']}/price-research"
    assert api.get(base).status_code == 404
    try:
        opened = _open(api, base, today, edital)
    finally:  # the collected period of the shared database is read by other tests: these rows leave it at once
        drop_market(use_db, controls)

    research = opened
    assert research["data_pesquisa"] == today.isoformat() and research["pncp_coletados"] == 4
    assert research["responsaveis"] == [PLANNER, REVIEWER] and research["status"] == "em_andamento"
    _refused(api.post(base, json={}), 409, "em andamento")
    first = research["itens"][0]
    assert [p["valor_original"] for p in first["precos"]] == ["10.0003", "10.5", "11", "100"]  # four places kept
    hundred = first["precos"][3]
    assert hundred["situacao"] == "descartado" and "acima de 3 vezes" in hundred["motivo"]
    assert first["n_validos"] == 3 and first["metodo_sugerido"] == "media"

    # item 2: direct quotes (art. 5º IV), each with its file, inside 6 months before the edital
    prices = f"{base}/items/2/prices"
    _refused(api.post(prices, data=_quote(0, today)), 422, "Anexe o arquivo", "art. 3º")
    limit = months_before(edital, 6)
    if limit <= today:  # the window reaches back before today: the day before the limit is refused, the limit kept
        _refused(
            api.post(prices, data=_quote(0, limit - timedelta(days=1)), files={"arquivo": PDF}),
            422,
            "fora da janela da fonte IV",
            "6 (seis) meses",
            "IN SEGES/ME nº 65/2021, art. 5º, IV",
        )
    _refused(
        api.post(prices, data=_quote(0, today, fornecedor_cnpj="33683111000108"), files={"arquivo": PDF}),
        422,
        "CNPJ do fornecedor inválido",
    )
    _refused(
        api.post(
            prices, data=_quote(0, today, fornecedor_contato=None) | {"fornecedor_contato": ""}, files={"arquivo": PDF}
        ),
        422,
        "fornecedor_contato",
    )
    added = []
    for n, value in enumerate(("25.90", "26.40", "27.15")):
        answer = api.post(
            prices,
            data=_quote(n, today - timedelta(days=10), valor=value),
            files={"arquivo": (f"proposta-{n}.pdf", f"%PDF-1.4 proposta {n}".encode(), "application/pdf")},
        )
        assert answer.status_code == 201, answer.text
        added.append(answer.json()["preco"])
    evidence = api.get(f"{base}/prices/{added[0]['id']}/evidence", follow_redirects=True)
    assert evidence.status_code == 200 and evidence.content == b"%PDF-1.4 proposta 0"
    assert added[0]["evidencia"]["sha256"] == hashlib.sha256(b"%PDF-1.4 proposta 0").hexdigest()

    # item 3: a page (III) and an NF-e (V): two prices, only through §5º
    page = {
        "fonte": "III",
        "valor": "41.5",
        "url": "https://loja.example/grampeador",
        "fonte_descricao": "Loja X",
        "acessado_em": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
    }
    assert api.post(f"{base}/items/3/prices", data=page, files={"arquivo": PDF}).status_code == 201
    future = page | {"acessado_em": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
    _refused(api.post(f"{base}/items/3/prices", data=future, files={"arquivo": PDF}), 422, "futura")
    body = "5326123368311100010755001000000001100000001"
    total = sum(int(d) * (2 + i % 8) for i, d in enumerate(reversed(body)))
    key = body + str(0 if total % 11 < 2 else 11 - total % 11)
    nfe = {"fonte": "V", "valor": "39.9", "chave_nfe": key, "data": (today - timedelta(days=20)).isoformat()}
    assert api.post(f"{base}/items/3/prices", data=nfe, files={"arquivo": PDF}).status_code == 201

    # a person excludes a price and returns it; the authority cannot choose methods
    cheapest = first["precos"][0]["id"]
    excluded = api.post(
        f"{base}/prices/{cheapest}/decision", json={"decisao": "excluido", "motivo": "Preço de outra marca."}
    )
    assert excluded.status_code == 200 and excluded.json()["n_validos"] == 2, excluded.text
    back = api.post(
        f"{base}/prices/{cheapest}/decision", json={"decisao": "automatico", "motivo": "Mesma marca, conferido."}
    )
    assert back.json()["n_validos"] == 3
    choose = {"metodo": "media", "metodo_justificativa": "Preços homogêneos: a média aproveita todos."}
    _refused(api.patch(f"{base}/items/1", json=choose, headers=actor(AUTHORITY)), 403, "equipe de planejamento")

    # finalising lists what is missing: methods, §5º
    refused = api.post(f"{base}/finalize")
    assert refused.status_code == 422 and "§ 5º" in refused.json()["detail"], refused.text
    for n in (1, 2, 3):
        assert api.patch(f"{base}/items/{n}", json=choose).status_code == 200
    exception = {"excecao_justificativa": "Mercado restrito: só dois fornecedores no DF vendem o modelo."}
    assert api.patch(f"{base}/items/3", json=exception).status_code == 200
    refused = api.post(f"{base}/finalize")
    _refused(refused, 422, "§ 5º", "aprovada pela autoridade competente")
    approval = {"objeto": "excecao", "despacho": "Aprovo a estimativa com dois preços, pela justificativa."}
    _refused(api.post(f"{base}/items/3/approval", json=approval), 403, "não é autoridade competente")
    approved = api.post(f"{base}/items/3/approval", json=approval, headers=actor(AUTHORITY))
    assert approved.status_code == 200 and approved.json()["excecao"]["aprovacao"]["por"] == AUTHORITY
    _refused(api.post(f"{base}/finalize"), 422, "justificativa_fornecedores")
    update = {"justificativa_fornecedores": "Três distribuidores do DF com entrega em 5 dias."}
    assert api.patch(base, json=update).status_code == 200

    # the ETP cannot be approved before the research is finalised
    fill_document(use_db, uuid.UUID(doc["id"]))
    url = f"/api/v1/documents/{doc['id']}"
    assert api.post(f"{url}/transitions", json={"to": "em_revisao"}).status_code == 200
    blocked = api.post(f"{url}/transitions", json={"to": "aprovado", "reason": "Aprovo."}, headers=actor(AUTHORITY))
    _refused(blocked, 422, "pesquisa de preços finalizada")

    final = api.post(f"{base}/finalize")
    assert final.status_code == 200, final.text
    frozen = final.json()
    assert frozen["status"] == "finalizada" and frozen["finalizada_por"] == PLANNER
    one, two, three = frozen["itens"]
    # memória to the cent: (10,0003 + 10,5 + 11) / 3 = 10,500100 → 10,5001 × 3 = 31,5003 → R$ 31,50
    assert one["valor_unitario"] == "10.5001" and one["valor_total"] == "31.5"
    assert two["valor_unitario"] == "26.4833" and two["valor_total"] == "264.83"  # 26,48333… × 10
    assert three["valor_unitario"] == "40.7" and three["valor_total"] == "81.4"
    assert frozen["valor_total"] == "377.73"

    # frozen: no edits
    _refused(api.post(prices, data=_quote(0, today), files={"arquivo": PDF}), 409, "finalizada")
    _refused(api.patch(f"{base}/items/1", json=choose), 409, "finalizada")
    assert api.get(base).json() == frozen

    # the report: artifacts of the document, each art. 3º element and the discarded price with its reason
    listed = api.get(f"{url}/artifacts").json()
    reports = {a["format"]: a for a in listed if a["kind"] == "pesquisa_precos"}
    assert set(reports) == {"docx", "pdf"} and all(a["research_id"] == frozen["id"] for a in reports.values())
    pdf = api.get(reports["pdf"]["download_url"], follow_redirects=True).content
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)
    docx = Docx(io.BytesIO(api.get(reports["docx"]["download_url"], follow_redirects=True).content))
    words = (
        " ".join(p.text for p in docx.paragraphs)
        + " "
        + " ".join(cell.text for table in docx.tables for row in table.rows for cell in row.cells)
    )
    for element in (
        "Descrição do objeto",
        "Agentes responsáveis",
        "Caracterização das fontes",
        "Série de preços",
        "Método estatístico",
        "Justificativas da metodologia",
        "Memória de cálculo",
        "Justificativa da escolha dos fornecedores",
    ):
        assert element in text and element in words, element
    for expected in (
        "acima de 3 vezes",
        "R$ 377,73",
        "Três distribuidores do DF",
        "Mercado restrito",
        "Carla Secretária",
        "Bruno Revisor",
    ):
        assert expected in " ".join(words.split()), expected
    assert "descartado — 9,52 vez(es) a mediana" in text

    # now the ETP is approved, and its estimate section is drafted from the research
    approved = api.post(f"{url}/transitions", json={"to": "aprovado", "reason": "Aprovo."}, headers=actor(AUTHORITY))
    assert approved.status_code == 200, approved.text
    # the approved estimate is the research's: no new research on an approved document (a new version first)
    _refused(api.post(base, json={"coletar_pncp": False}), 409, "antes da aprovação", "nova versão")


def test_a_research_without_sources_i_or_ii_needs_the_justification(api, use_db):
    base = _opened(api, "Serviço de chaveiro, abertura de fechadura", "TR", 4)
    today = price_dates.today()
    for n in range(3):
        assert (
            api.post(
                f"{base}/items/1/prices", data=_quote(n, today, valor=f"{80 + n}.00"), files={"arquivo": PDF}
            ).status_code
            == 201
        )
    choice = {"metodo": "menor_valor", "metodo_justificativa": "Serviço padronizado: o menor preço basta."}
    assert api.patch(f"{base}/items/1", json=choice).status_code == 200
    assert api.patch(base, json={"justificativa_fornecedores": "Chaveiros credenciados."}).status_code == 200
    _refused(api.post(f"{base}/finalize"), 422, "fontes I nem II", "§ 1º", "priorizados")
    assert (
        api.patch(base, json={"justificativa_fontes": "Serviço sem registro no Painel nem no PNCP."}).status_code == 200
    )
    final = api.post(f"{base}/finalize")
    assert final.status_code == 200, final.text
    assert final.json()["itens"][0]["valor_total"] == "320"  # R$ 80,00 × 4


def test_prices_corrected_by_the_ipca_show_both_values(api, use_db):
    from tasks.prices.indices import shipped

    base = _opened(api, "Cadeira giratória com braços", quantidade=5, indice="IPCA")
    day = price_dates.today().replace(day=1) - timedelta(days=200)
    painel = {
        "fonte": "I",
        "valor": "800",
        "data": day.isoformat(),
        "sistema": "Painel de Preços",
        "consulta": "CATMAT 000000, mediana nacional",
    }
    added = api.post(f"{base}/items/1/prices", data=painel, files={"arquivo": PDF})
    assert added.status_code == 201, added.text
    ipca = shipped("IPCA")
    today = price_dates.today()
    latest = max(m for m in ipca if m <= (today.year, today.month))
    factor = Decimal(str(ipca[latest])) / Decimal(str(ipca[(day.year, day.month)]))
    price = added.json()["preco"]
    assert price["valor_original"] == "800"
    assert price["fator_correcao"] == str(factor.quantize(Decimal("0.000001")).normalize())
    assert price["valor_corrigido"] == str((800 * factor).quantize(Decimal("0.0001")).normalize())
    assert api.get(base).json()["indice_mes_referencia"] == f"{latest[1]:02d}/{latest[0]}"


def test_the_research_of_a_sigiloso_estimate_needs_the_scope_and_its_report_is_classified(api, api_url, use_db):
    """Lei 14.133/2021, art. 24: the research is the estimate itself; every access needs 'sigiloso' and is audited."""
    sigiloso = {"orcamento_sigiloso": True, "orcamento_sigiloso_justificativa": "Evitar o alinhamento de propostas."}
    items = [{"descricao": "Cadeira giratória com braços", "unidade": "UN", "quantidade": 5}]
    key = make_key(use_db, ["read", "write", "sigiloso"], name=f"sigilo-{uuid.uuid4().hex[:6]}")
    cleared = {"Authorization": f"Bearer {key}", **actor(PLANNER)}
    doc = api.post("/api/v1/documents", json=document_data("ETP", itens=items, **sigiloso), headers=cleared).json()
    base = f"/api/v1/documents/{doc['id']}/price-research"
    _refused(api.post(base, json={"coletar_pncp": False}), 403, "escopo 'sigiloso'")
    assert api.post(base, json={"coletar_pncp": False}, headers=cleared).status_code == 201
    _refused(api.get(base), 403, "escopo 'sigiloso'")
    for value in ("800", "820", "845.5"):
        painel = {
            "fonte": "I",
            "valor": value,
            "data": price_dates.today().isoformat(),
            "sistema": "Painel de Preços",
            "consulta": "CATMAT 000000",
        }
        assert (
            api.post(f"{base}/items/1/prices", data=painel, files={"arquivo": PDF}, headers=cleared).status_code == 201
        )
    choice = {"metodo": "mediana", "metodo_justificativa": "Mediana, pouco sensível a extremos."}
    assert api.patch(f"{base}/items/1", json=choice, headers=cleared).status_code == 200
    final = api.post(f"{base}/finalize", headers=cleared)
    assert final.status_code == 200 and final.json()["valor_total"] == "4100", final.text
    listed = api.get(f"/api/v1/documents/{doc['id']}/artifacts").json()
    assert not [a for a in listed if a["kind"] == "pesquisa_precos"]  # without the scope: not even listed
    reports = [
        a
        for a in api.get(f"/api/v1/documents/{doc['id']}/artifacts", headers=cleared).json()
        if a["kind"] == "pesquisa_precos"
    ]
    assert len(reports) == 2 and all(a["classified"] for a in reports)
    reads = api.get(f"/api/v1/documents/{doc['id']}/confidential-reads", headers=cleared).json()
    assert {"pesquisa de preços: abertura", "pesquisa de preços: finalização"} <= {r["what"] for r in reads}


def test_a_research_opened_for_other_items_is_replaced_not_finalised(api, use_db):
    items = [{"descricao": "Mesa de reunião redonda", "unidade": "UN", "quantidade": 2}]
    doc = api.post("/api/v1/documents", json=document_data("ETP", itens=items)).json()
    base = f"/api/v1/documents/{doc['id']}/price-research"
    first = api.post(base, json={"coletar_pncp": False}).json()
    changed = api.patch(f"/api/v1/documents/{doc['id']}", json={"itens": [{**items[0], "quantidade": 3}]})
    assert changed.status_code == 200, changed.text
    _refused(api.post(f"{base}/finalize"), 409, "itens do documento mudaram")
    second = api.post(base, json={"coletar_pncp": False})
    assert second.status_code == 201 and second.json()["id"] != first["id"]
    assert second.json()["itens"][0]["quantidade"] == "3"
    _refused(api.post(base, json={"coletar_pncp": False}), 409, "em andamento")  # the same items: continue it


def test_an_evidence_file_may_pass_the_request_limit_up_to_its_own(api, use_db, monkeypatch):
    from core.settings import settings

    monkeypatch.setattr(settings, "MAX_UPLOAD_BYTES", 2 * 1_048_576)  # the in-thread API reads the same settings
    base = _opened(api, "Armário de aço com duas portas")
    painel = {
        "fonte": "I",
        "valor": "900",
        "data": price_dates.today().isoformat(),
        "sistema": "Painel de Preços",
        "consulta": "CATMAT 000000",
    }
    scan = b"%PDF-1.4 " + b"0" * 1_500_000  # over MAX_REQUEST_BYTES (1 MiB), under the upload limit
    accepted = api.post(
        f"{base}/items/1/prices", data=painel, files={"arquivo": ("cotacao.pdf", scan, "application/pdf")}
    )
    assert accepted.status_code == 201 and accepted.json()["preco"]["evidencia"]["tamanho"] == len(scan)
    big = b"%PDF-1.4 " + b"0" * 2_200_000
    refused = api.post(
        f"{base}/items/1/prices", data=painel, files={"arquivo": ("cotacao.pdf", big, "application/pdf")}
    )
    _refused(refused, 413, "MAX_UPLOAD_BYTES")
    assert (
        api.patch(f"{base}/items/0", json={}).status_code == 422
        and api.patch(f"{base}/items/99999999999999999999", json={}).status_code == 422
    )


def test_a_later_edital_date_puts_a_price_out_of_its_window_until_a_person_excludes_it(api, use_db):
    today = price_dates.today()
    edital = (today + timedelta(days=60)).isoformat()
    base = _opened(api, "Ventilador de parede 60 cm", quantidade=8, data_prevista_edital=edital)
    page = {
        "fonte": "III",
        "valor": "289.9",
        "url": "https://loja.example/ventilador",
        "fonte_descricao": "Loja Y",
        "acessado_em": (datetime.now(UTC) - timedelta(days=100)).isoformat(),
    }
    added = api.post(f"{base}/items/1/prices", data=page, files={"arquivo": PDF})
    assert added.status_code == 201, added.text  # 100 days before today: inside 6 months before the edital
    moved = api.patch(base, json={"data_prevista_edital": (today + timedelta(days=120)).isoformat()})
    assert moved.status_code == 200
    late = [p for p in moved.json()["pendencias"] if "fora da janela da fonte III" in p]
    assert len(late) == 1 and "Exclua-o" in late[0], moved.json()["pendencias"]
    price = added.json()["preco"]["id"]
    out = api.post(
        f"{base}/prices/{price}/decision", json={"decisao": "excluido", "motivo": "Fora da janela do edital."}
    )
    assert out.status_code == 200
    assert not [p for p in api.get(base).json()["pendencias"] if "fora da janela" in p]
