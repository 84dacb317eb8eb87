"""The main job once, through the API, as a public body does it: the market collected and the price model trained;
an ETP created by a member of the planning team; its pesquisa de preços opened, three supplier quotes recorded with
their files, the method chosen and the research finalised into its report (IN SEGES/ME nº 65/2021); the ETP drafted
from it; its approval refused while drafts are unreviewed or incomplete; another member completes the [PREENCHER]
points and reviews every draft; the competent authority, who wrote nothing, approves with a despacho; the document
consolidated into DOCX and PDF."""

from __future__ import annotations

import re
import time
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
from rich import box
from rich.console import Console
from rich.table import Table

from core.settings import settings
from models.rules import OFFLINE_BANNER
from tasks.prices.outliers import brl

DEMO_DOCUMENT = {
    "kind": "ETP",
    "titulo": "Aquisição de computadores portáteis para as equipes de fiscalização",
    "numero_processo": "23000.012345/2026-41",
    "orgao": "Ministério da Gestão e da Inovação em Serviços Públicos",
    "unidade": "Coordenação-Geral de Logística",
    "context": (
        "As equipes de fiscalização de contratos (48 servidores em 6 superintendências) usam computadores "
        "de 2016, sem garantia, com falhas frequentes e incompatíveis com o sistema de gestão de contratos. "
        "A demanda consta do Plano de Contratações Anual de 2026 (item 312). Quantidade estimada: 52 "
        "notebooks (48 servidores + 4 de reserva técnica), com garantia on-site de 36 meses. "
        "Não há contratação vigente para o mesmo objeto."
    ),
    # the embedded sample of real prices ends in 2022: the research is dated there (IN 65/2021 looks one year back)
    "itens": [
        {
            "descricao": "NOTEBOOK, TELA SUPERIOR A 14 POLEGADAS",
            "codigo_catalogo": "456702",
            "unidade": "UNIDADE",
            "quantidade": 52,
            "material_ou_servico": "M",
            "data_referencia": "2022-06-30",
        }
    ],
}


# the demo's people (Lei 14.133/2021: the planning team writes, the competent authority approves — art. 7º §1º)
DEMO_PEOPLE = {
    "planner": {"identifier": "1234567", "name": "Ana Souza", "roles": ["equipe_planejamento"]},
    "reviewer": {"identifier": "7654321", "name": "Bruno Lima", "roles": ["equipe_planejamento"]},
    "authority": {"identifier": "2345678", "name": "Carla Mendes", "roles": ["autoridade_competente"]},
}
DESPACHO = (
    "Aprovo o Estudo Técnico Preliminar, elaborado pela equipe de planejamento, nos termos do art. 18 da Lei "
    "nº 14.133/2021 (demonstração)."
)
MARK = re.compile(r"\[PREENCHER:\s*([^\]]*)\]", re.IGNORECASE)

DEMO_EMAIL = "fiscalizacao@demo.nexora.local"
SAMPLE_WINDOW = {"start": "2016-01-01", "end": "2022-12-31", "modalidades": [6], "source": "amostra"}


class DemoError(RuntimeError):
    pass


def _subscribe(client: httpx.Client) -> str:
    """An e-mail subscription for the demo's events (reused on later runs)."""
    for subscription in _check(client.get("/api/v1/subscriptions", params={"active": True})):
        if subscription["target"] == DEMO_EMAIL:
            return subscription["id"]
    return _check(
        client.post(
            "/api/v1/subscriptions",
            json={
                "name": "demonstração",
                "channel": "email",
                "target": DEMO_EMAIL,
                "event_types": ["document.approved", "document.consolidated"],
            },
        )
    )["id"]


def _delivered(client: httpx.Client, document_id: str, expected: int, timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        rows = _check(client.get("/api/v1/notifications", params={"document_id": document_id}))["data"]
        if len([r for r in rows if r["status"] == "delivered"]) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def _finished(client: httpx.Client, accepted: dict[str, Any], deadline: float, what: str) -> dict[str, Any]:
    """Follow a flow run started through the API until it ends; DemoError unless it completed."""
    status = accepted
    while not status.get("final") and time.monotonic() < deadline:
        status = _check(client.get(f"/api/v1/flow-runs/{accepted['flow_run_id']}", params={"wait": 30}))
    if status.get("state") != "COMPLETED":
        raise DemoError(f"{what} {accepted['flow_run_id']} terminou em {status.get('state')}: {status.get('message')}")
    return status


def collect_market(client: httpx.Client, console: Console, timeout: float = 600) -> dict[str, Any]:
    """The market tables from the embedded sample of real prices, through collect-pncp (skipped slices when the
    sample was already collected: the checkpoints say so)."""
    started = time.monotonic()
    accepted = _start(client, "/api/v1/pncp/collect", f"demo-collect-{uuid.uuid4()}", SAMPLE_WINDOW)
    console.print(
        f"Coleta da amostra embutida de preços reais (SIASG 2016–2022, formato PNCP): flow run "
        f"{accepted['flow_run_id']}"
    )
    summary = _finished(client, accepted, started + timeout, "A coleta").get("result") or {}
    console.print(
        f"Mercado: {summary.get('contratacoes_inserted', 0)} contratações, "
        f"{summary.get('itens_inserted', 0)} itens e {summary.get('resultados_inserted', 0)} resultados "
        f"novos em {time.monotonic() - started:.1f} s ({summary.get('slices_skipped', 0)} fatias já "
        f"coletadas, {summary.get('quarantined', 0)} em quarentena)"
    )
    return {"flow_run_id": accepted["flow_run_id"], **{k: v for k, v in summary.items() if isinstance(v, int)}}


def price_model(client: httpx.Client, console: Console, timeout: float = 900) -> dict[str, Any]:
    """Train the price model on what was collected, then price the demo's item (model and IN 65 side by side)."""
    started = time.monotonic()
    # the sample's last year holds only 233 awarded prices: judge on its last two years (1,160)
    accepted = _start(client, "/api/v1/models/price/train", f"demo-train-{uuid.uuid4()}", {"test_months": 24})
    console.print(f"Treino do modelo de preços: flow run {accepted['flow_run_id']}")
    result = _finished(client, accepted, started + timeout, "O treino")["result"]
    console.print(
        f"Modelo preco-referencia v{result['version']} em {time.monotonic() - started:.1f} s: MdAPE "
        f"{result['model_mdape']:.3f} contra {result['baseline_mdape']:.3f} da pesquisa IN 65 nos mesmos "
        f"itens de teste → {'promovido a champion' if result['promoted'] else 'não promovido'} "
        f"({result['decision']})"
    )
    deadline = time.monotonic() + 90
    while result["promoted"]:  # the API loads the new champion by itself
        in_use = _check(client.get("/api/v1/health"))["price_model"]
        if in_use["version"] == result["version"]:
            console.print(f"API: modelo v{in_use['version']} em uso, sem reinício")
            break
        if time.monotonic() > deadline:
            raise DemoError(f"A API não carregou o modelo v{result['version']}: {in_use}")
        time.sleep(0.5)
    # the document's own item (a document item has no UF): the figure printed here is the one its element VI shows
    item = {**DEMO_DOCUMENT["itens"][0], "data": DEMO_DOCUMENT["itens"][0]["data_referencia"]}
    item.pop("data_referencia")
    answer = _check(client.post("/api/v1/prices/estimate", json=item))
    mapa = answer["mapa_de_precos"]
    table = Table(
        title=f"Pesquisa de preços — {item['descricao']} (CATMAT {item['codigo_catalogo']}), "
        f"referência {mapa['data_referencia']}"
    )
    for column in ("numeroControlePNCP", "data", "UF", "preço por unidade"):
        table.add_column(column)
    for line in mapa["precos"]:
        table.add_row(line["numero_controle_pncp"], line["data"], line["uf"] or "-", brl(line["valor_corrigido"]))
    console.print(table)
    console.print(
        f"IN 65/2021: {mapa['n']} preço(s), mediana {brl(mapa['mediana'] or 0)}, média "
        f"{brl(mapa['media'] or 0)}, menor {brl(mapa['menor_valor'] or 0)}, {len(mapa['removidos'])} "
        f"excluído(s)" + (f" — {mapa['nota']}" if mapa["nota"] else "")
    )
    estimate = answer.get("estimativa")
    if estimate:
        console.print(
            f"Modelo v{estimate['versao']} ({estimate['natureza']}): {brl(estimate['p50'])} por unidade (80%: "
            f"{brl(estimate['p10'])} a {brl(estimate['p90'])})"
            + ("" if estimate["confiavel"] else f" — NÃO CONFIÁVEL: {estimate['motivo']}")
        )
    else:
        console.print(answer.get("nota", ""))
    return {
        "version": result["version"],
        "promoted": result["promoted"],
        "model_mdape": result["model_mdape"],
        "baseline_mdape": result["baseline_mdape"],
        "prices_found": mapa["n"],
        "mediana": mapa["mediana"],
        "model_p50": estimate["p50"] if estimate else None,
        "confiavel": answer["confiavel"],
    }


def _start(
    client: httpx.Client, path: str, key: str, body: dict[str, Any] | None = None, attempts: int = 4
) -> dict[str, Any]:
    """POST a run-starting request with an Idempotency-Key, repeated on 503 (the Prefect server did not create the
    run in time: on a busy machine it happens; the same key never makes a second run)."""
    for attempt in range(1, attempts + 1):
        response = client.post(path, json=body, headers={"Idempotency-Key": key})
        if response.status_code != 503 or attempt == attempts:
            return _check(response)
        time.sleep(2 * attempt)
    raise AssertionError("unreachable")


def register_people(client: httpx.Client, console: Console) -> dict[str, str]:
    """The demo's people (admin scope); already registered: kept as they are."""
    for person in DEMO_PEOPLE.values():
        answer = client.post("/api/v1/people", json={**person, "orgao": DEMO_DOCUMENT["orgao"]})
        if answer.status_code not in (201, 409):
            _check(answer)
    names = ", ".join(f"{p['name']} ({p['identifier']}, {' e '.join(p['roles'])})" for p in DEMO_PEOPLE.values())
    console.print(f"Pessoas: {names}")
    return {role: person["identifier"] for role, person in DEMO_PEOPLE.items()}


def as_(identifier: str) -> dict[str, str]:
    return {"X-Actor": identifier}


def completed(content: str) -> str:
    """What the reviewer of the demo writes over a draft that still has gaps: the offline banner taken out, each
    [PREENCHER: …] point answered (in a real body, with the facts of the process)."""
    text = content.replace(OFFLINE_BANNER, "").strip()
    return MARK.sub(lambda m: f"(informado pela equipe de planejamento: {m.group(1).strip()})", text)


def review_path(client: httpx.Client, console: Console, document_id: str, people: dict[str, str]) -> dict[str, Any]:
    """Submit; the approval is refused while drafts are unreviewed or incomplete (shown); returned; the reviewer
    completes the drafts with gaps and reviews the others; submitted again and approved by the authority."""
    url = f"/api/v1/documents/{document_id}"
    _check(client.post(f"{url}/transitions", json={"to": "em_revisao"}, headers=as_(people["planner"])))
    refused = client.post(
        f"{url}/transitions", json={"to": "aprovado", "reason": DESPACHO}, headers=as_(people["authority"])
    )
    if refused.status_code != 422:
        raise DemoError(f"a aprovação de rascunhos não revisados deveria ser recusada: {refused.status_code}")
    missing = refused.json().get("missing", [])
    console.print(f"Aprovação recusada (422): {len(missing)} seções sem revisão ou com pontos a completar, por ex.:")
    for item in missing[:3]:
        console.print(f"  {item['code']} {item['title']}: {item['problem']}", soft_wrap=True)
    _check(
        client.post(
            f"{url}/transitions",
            json={"to": "devolvido", "reason": "Revisar os rascunhos e completar os pontos em aberto."},
            headers=as_(people["authority"]),
        )
    )
    document = _check(client.get(url))
    rewritten = reviewed = 0
    for field in document["fields"]:
        content = field["content"] or ""
        if not content.strip():
            continue
        fixed = completed(content)
        if fixed != content:
            _check(
                client.put(f"{url}/fields/{field['slug']}", json={"content": fixed}, headers=as_(people["reviewer"]))
            )
            rewritten += 1
        elif field["source"] in ("llm", "offline"):
            _check(client.post(f"{url}/fields/{field['slug']}/review", headers=as_(people["reviewer"])))
            reviewed += 1
    console.print(
        f"{DEMO_PEOPLE['reviewer']['name']} completou {rewritten} seções e revisou {reviewed}; "
        f"{DEMO_PEOPLE['planner']['name']} submete de novo"
    )
    _check(client.post(f"{url}/transitions", json={"to": "em_revisao"}, headers=as_(people["planner"])))
    approved = _check(
        client.post(f"{url}/transitions", json={"to": "aprovado", "reason": DESPACHO}, headers=as_(people["authority"]))
    )
    console.print(
        f"Status: [bold]{approved['status']}[/] por {DEMO_PEOPLE['authority']['name']} — despacho: {DESPACHO}"
    )
    return {"refused_sections": len(missing), "rewritten": rewritten, "reviewed": reviewed}


# The demonstration's supplier quotes (IN 65/2021, art. 5º, IV): example input, as a team would type it from three
# proposals; the embedded sample of PNCP prices ends in 2022, outside the year the research looks back on.
DEMO_QUOTES = (
    ("Distribuidora Demonstração Alfa Ltda", "11222333000181", "4689.00"),
    ("Comércio Demonstração Beta Ltda", "11444777000161", "4850.00"),
    ("Informática Demonstração Gama Ltda", "45997418000153", "5120.00"),
)
SOURCES_JUSTIFICATION = (
    "Os dados coletados do PNCP disponíveis nesta instalação (amostra embutida, 2016–2022) não têm contratações "
    "similares no ano anterior à pesquisa, e o Painel de Preços não é consultado por esta demonstração: a pesquisa "
    "usa a pesquisa direta com fornecedores (art. 5º, IV)."
)


def research_path(client: httpx.Client, console: Console, document_id: str, people: dict[str, str]) -> dict[str, Any]:
    """The pesquisa de preços of the ETP's items, opened today by the planning team (PNCP prices of the last year
    gathered, if any), three supplier quotes recorded with their files, the method chosen from the system's
    suggestion, the §1º justification when sources I and II gave nothing, finalised: the report's files listed."""
    base = f"/api/v1/documents/{document_id}/price-research"
    planner = as_(people["planner"])
    opened = _check(client.post(base, json={"responsaveis": [people["planner"], people["reviewer"]]}, headers=planner))
    console.print(
        f"Pesquisa de preços aberta em {opened['data_pesquisa']} (data fixada): {opened['pncp_coletados']} preço(s) "
        "de contratações similares do PNCP no último ano"
    )
    today = opened["data_pesquisa"]
    for number, (name, cnpj, value) in enumerate(DEMO_QUOTES, start=1):
        quote = {
            "fonte": "IV",
            "valor": value,
            "fornecedor_cnpj": cnpj,
            "fornecedor_nome": name,
            "fornecedor_endereco": "Brasília/DF; vendas@demonstracao.example",
            "fornecedor_contato": "(61) 3000-0000",
            "responsavel_nome": "Representante comercial (demonstração)",
            "data_emissao": today,
            "validade": (date.fromisoformat(today) + timedelta(days=30)).isoformat(),
            "solicitacao": f"E-mail de solicitação de cotação nº {number}/2026 (demonstração)",
        }
        proposal = f"Proposta comercial (demonstração) de {name}, CNPJ {cnpj}: R$ {value} por unidade.".encode()
        files = {"arquivo": (f"proposta-{number}.txt", proposal, "text/plain")}
        _check(client.post(f"{base}/items/1/prices", data=quote, files=files, headers=planner))
    research = _check(
        client.patch(
            base,
            json={
                "justificativa_fornecedores": "Três distribuidores de equipamentos de informática com entrega no DF "
                "(demonstração).",
                **({"justificativa_fontes": SOURCES_JUSTIFICATION} if not opened["pncp_coletados"] else {}),
            },
            headers=planner,
        )
    )
    item = research["itens"][0]
    choice = {
        "metodo": item["metodo_sugerido"],
        "metodo_justificativa": f"Sugestão do sistema: {item['metodo_sugerido_motivo']}.",
    }
    _check(client.patch(f"{base}/items/1", json=choice, headers=planner))
    final = _check(client.post(f"{base}/finalize", headers=planner))
    item = final["itens"][0]
    console.print(
        f"Pesquisa finalizada: {item['n_validos']} preço(s) válido(s), {item['metodo_nome']} "
        f"{brl(float(item['valor_unitario']))} × {item['quantidade']} = {brl(float(item['valor_total']))}"
    )
    reports = [
        a for a in _check(client.get(f"/api/v1/documents/{document_id}/artifacts")) if a["kind"] == "pesquisa_precos"
    ]
    for report in reports:
        console.print(
            f"  Relatório de Pesquisa de Preços {report['format'].upper()}: {_where(report['storage_uri'])}",
            soft_wrap=True,
        )
    return {"valor_total": final["valor_total"], "metodo": item["metodo"], "relatorio": [r["format"] for r in reports]}


def _thousands(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def _check(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise DemoError(
            f"{response.request.method} {response.request.url.path} → {response.status_code}: {response.text[:500]}"
        )
    return response.json() if response.content else {}


def _where(storage_uri: str) -> str:
    """Where a stored file is on this host: the API shows a local file by its key (`local:<key>`), never the
    server's path; the demo runs beside the server, in the same DATA_DIR."""
    if storage_uri.startswith("local:"):
        return (settings.artifacts_dir / storage_uri.removeprefix("local:")).resolve().as_uri()
    return storage_uri


def run_demo(
    api_url: str, api_key: str, ui_url: str, console: Console | None = None, timeout: float = 300
) -> dict[str, Any]:
    console = console or Console()
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=api_url, headers=headers, timeout=60) as client:
        health = _check(client.get("/api/v1/health"))
        console.print(
            f"API em {api_url} · provedor de redação: [bold]{health['llm_provider']}[/] ({health['llm_model']})"
        )
        market = collect_market(client, console)
        prices = price_model(client, console)
        people = register_people(client, console)
        client.headers.update(as_(people["planner"]))  # Ana creates, drafts and consolidates
        document = _check(client.post("/api/v1/documents", json=DEMO_DOCUMENT))
        console.print(
            f"ETP criado: {document['id']} (template v{document['template_version']}, {len(document['fields'])} seções)"
        )
        research = research_path(client, console, document["id"], people)
        started = time.monotonic()
        accepted = _start(client, f"/api/v1/documents/{document['id']}/generate", f"demo-{document['id']}")
        run_id = accepted["flow_run_id"]
        console.print(f"Redação iniciada: flow run {run_id} (trace_id {accepted['trace_id']})")
        status: dict[str, Any] = accepted
        while time.monotonic() - started < timeout:
            status = _check(client.get(f"/api/v1/flow-runs/{run_id}", params={"wait": 10}))
            if status["final"]:
                break
        if status.get("state") != "COMPLETED":
            raise DemoError(f"A execução {run_id} terminou em {status.get('state')}: {status.get('message')}")
        elapsed = time.monotonic() - started
        document = _check(client.get(f"/api/v1/documents/{document['id']}"))
        table = Table(
            title=f"{len(document['fields'])} seções redigidas em {elapsed:.1f} s",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        for column, justify in (("", "left"), ("seção", "left"), ("fonte", "left"), ("caracteres", "right")):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for field in document["fields"]:
            size = _thousands(len(field["content"] or ""))
            table.add_row(field["code"], field["title"], field["source"] or "-", size)
        console.print(table)
        _subscribe(client)
        review = review_path(client, console, document["id"], people)
        consolidation = _start(
            client, f"/api/v1/documents/{document['id']}/consolidate", f"demo-consolidate-{document['id']}"
        )
        _finished(client, consolidation, time.monotonic() + timeout, "A consolidação")
        artifacts = [
            a for a in _check(client.get(f"/api/v1/documents/{document['id']}/artifacts")) if a["kind"] == "documento"
        ]
        for artifact in artifacts:
            console.print(
                f"Artefato {artifact['format'].upper()} ({_thousands(artifact['size_bytes'])} bytes, sha256 "
                f"{artifact['sha256'][:12]}…):"
            )
            console.print(f"  {_where(artifact['storage_uri'])}", soft_wrap=True)  # whole, to copy or click
        audit = _check(client.get(f"/api/v1/documents/{document['id']}/audit"))
        notices = _delivered(client, document["id"], expected=2)
    console.print(f"Status: [bold]{audit[-1]['to_status']}[/]")
    for notice in sorted(notices, key=lambda n: n["created_at"]):
        console.print(
            f"Notificação {notice['event_type']} → {notice['target']}: [bold]{notice['status']}[/]"
            + (f" ({notice['last_error']})" if notice["last_error"] else "")
        )
    console.print("Execuções na Prefect UI:")
    console.print(f"  redação:      {ui_url}/runs/flow-run/{run_id}", soft_wrap=True)
    console.print(f"  consolidação: {ui_url}/runs/flow-run/{consolidation['flow_run_id']}", soft_wrap=True)
    return {
        "document_id": document["id"],
        "flow_run_id": run_id,
        "status": audit[-1]["to_status"],
        "fields": len(document["fields"]),
        "drafting_seconds": round(elapsed, 1),
        "consolidation_flow_run_id": consolidation["flow_run_id"],
        "artifacts": {a["format"]: _where(a["storage_uri"]) for a in artifacts},
        "notifications": {n["event_type"]: n["status"] for n in notices},
        "review": review,
        "people": people,
        "market": market,
        "price_model": prices,
        "price_research": research,
    }
