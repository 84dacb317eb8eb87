"""`nexora pncp …`: start collections (one run, or a backfill cut into runs), import Comprasnet pages, collect and
search the library of other bodies' ETPs/TRs (`documentos`, `biblioteca`), and see what
the collection put aside (quarantined records, contratações still waiting for their items and results).

The window is checked by the same rule as the API and the flow (tasks/pncp/window.py), with the options' names in
the message, before anything starts."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from deployments.cli.common import console, err, fail, fails_on, prepare_database, start_and_follow
from tasks.params import help_of
from tasks.pncp.params import CollectParams
from tasks.pncp.window import WindowError

pncp_app = typer.Typer(help="Coleta de contratações, itens e resultados do PNCP.", no_args_is_help=True)
CLI_NAMES = {"start": "--from", "end": "--to"}
GAP_STATUS = {"pending": "aguardando", "discarded": "descartado", "filled": "preenchido"}


def day(option: str):
    """A parser of AAAA-MM-DD dates for `option` that fails with a Portuguese line (typer's own is in English)."""

    def parse(value: str) -> datetime.datetime:
        from core.validation import message

        try:
            return datetime.datetime.strptime(value.strip(), "%Y-%m-%d")
        except ValueError:
            fail(f"{option}: {message({'type': 'date_parsing', 'input': value})}", code=2)

    return parse


PncpFrom = Annotated[
    datetime.datetime | None,
    typer.Option("--from", parser=day("--from"), metavar="AAAA-MM-DD", help=help_of(CollectParams, "start")),
]
PncpTo = Annotated[
    datetime.datetime | None,
    typer.Option("--to", parser=day("--to"), metavar="AAAA-MM-DD", help=help_of(CollectParams, "end")),
]
PncpModalidade = Annotated[
    list[int] | None, typer.Option("--modalidade", "-m", help=f"{help_of(CollectParams, 'modalidades')}; repita")
]
PncpUf = Annotated[list[str] | None, typer.Option("--uf", help=f"{help_of(CollectParams, 'ufs')}; repita")]
PncpEndpoint = Annotated[str, typer.Option(help=help_of(CollectParams, "endpoint"))]


def _day(value: datetime.datetime | None) -> datetime.date | None:
    return value.date() if value else None


def _pncp_parameters(start, end, modalidade, uf, endpoint, items, results, restart, source="pncp") -> dict:
    """The run's parameters through the collection's own model (the same rules, the same messages as the API)."""
    request = CollectParams(
        start=start,
        end=end,
        modalidades=modalidade or None,
        ufs=uf or None,
        endpoint=endpoint,
        with_items=items,
        with_results=results,
        restart=restart,
        source=source,
    )
    return request.model_dump(mode="json", exclude_none=True)


def _window(start, end, source: str = "pncp") -> None:
    from tasks.pncp.window import check_window

    check_window(start, end, source, names=CLI_NAMES)


@pncp_app.command("quarantine")
def pncp_quarantine(
    kind: Annotated[str | None, typer.Option(help="contratacao, item, resultado, itens ou page")] = None,
    run: Annotated[str | None, typer.Option(help="id da execução (flow run) que os colocou")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    raw: Annotated[bool, typer.Option(help="mostrar o registro bruto de cada um")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="uma linha JSON por registro")] = False,
    gaps: Annotated[
        bool,
        typer.Option(
            "--gaps",
            help="listar as contratações sem itens/resultados (nova tentativa "
            "automática nas próximas coletas, ou descartadas)",
        ),
    ] = False,
) -> None:
    """Records of the PNCP that failed validation (newest first), with the reason and where they came from; and how
    many contratações wait for their items and results (``--gaps`` lists them)."""
    from rich.table import Table

    from models.crud import detail_gaps
    from models.crud.market import list_quarantine
    from models.db import session_scope

    if gaps:
        return _list_gaps(limit, as_json)
    if kind and kind not in ("contratacao", "item", "resultado", "itens", "page"):
        fail(f"tipo inválido: {kind}; use contratacao, item, resultado, itens ou page")
    with session_scope() as session:
        rows, total = list_quarantine(session, kind=kind, flow_run_id=run, limit=limit)
        found = [
            {
                "id": q.id,
                "created_at": q.created_at.isoformat(timespec="seconds"),
                "kind": q.kind,
                "record_key": q.record_key,
                "reason": q.reason,
                "source": q.source,
                "flow_run_id": q.flow_run_id,
                **({"raw": q.raw} if raw or as_json else {}),
            }
            for q in rows
        ]
        waiting = detail_gaps.counts(session)
    summary = (
        f"detalhes: {waiting['pending']} contratação(ões) aguardando nova tentativa de itens/resultados, "
        f"{waiting['discarded']} descartada(s) — 'nexora pncp quarantine --gaps' lista"
    )
    if as_json:
        for record in found:
            typer.echo(json.dumps(record, ensure_ascii=False))
        return None
    table = Table(
        "quando", "tipo", "chave", "motivo", "origem", "execução", title=f"{len(found)} de {total} em quarentena"
    )
    for q in found:
        table.add_row(
            q["created_at"], q["kind"], q["record_key"] or "", q["reason"][:120], q["source"], q["flow_run_id"] or ""
        )
        if raw:
            table.add_row("", "", "", q["raw"][:2000], "", "")
    console.print(table)
    console.print(summary, soft_wrap=True)
    return None


def _list_gaps(limit: int, as_json: bool) -> None:
    from rich.table import Table

    from models.crud import detail_gaps
    from models.db import session_scope

    def when(moment):
        return moment.isoformat(timespec="seconds") if moment else ""

    with session_scope() as session:
        rows, total = detail_gaps.list_gaps(session, limit=limit)
        found = [
            {
                "numero_controle_pncp": g.numero_controle_pncp,
                "source": g.source,
                "status": g.status,
                "attempts": g.attempts,
                "last_status": g.last_status,
                "first_failed_at": when(g.first_failed_at),
                "last_failed_at": when(g.last_failed_at),
                "next_attempt_at": when(g.next_attempt_at),
                "reason": g.reason,
                "flow_run_id": g.flow_run_id,
            }
            for g in rows
        ]
    if as_json:
        for record in found:
            typer.echo(json.dumps(record, ensure_ascii=False))
        return
    table = Table(
        "contratação",
        "estado",
        "tentativas",
        "última falha",
        "próxima tentativa",
        "motivo",
        title=f"{len(found)} de {total} contratações sem itens/resultados obtidos",
    )
    for g in found:
        table.add_row(
            g["numero_controle_pncp"] + ("" if g["source"] == "pncp" else f" ({g['source']})"),
            GAP_STATUS.get(g["status"], g["status"]),
            str(g["attempts"]),
            g["last_failed_at"],
            g["next_attempt_at"],
            g["reason"][:160],
        )
    console.print(table)


@pncp_app.command("collect")
@fails_on(WindowError, ValidationError)
def pncp_collect(
    start: PncpFrom = None,
    end: PncpTo = None,
    modalidade: PncpModalidade = None,
    uf: PncpUf = None,
    endpoint: PncpEndpoint = "contratacoes/publicacao",
    items: Annotated[bool, typer.Option(help=help_of(CollectParams, "with_items"))] = True,
    results: Annotated[bool, typer.Option(help=help_of(CollectParams, "with_results"))] = True,
    restart: Annotated[bool, typer.Option(help=help_of(CollectParams, "restart"))] = False,
    wait: Annotated[float, typer.Option(help="segundos a esperar pelo fim (0 = não esperar)")] = 0,
    sample: Annotated[bool, typer.Option("--amostra", help="coletar da amostra embutida (sem rede)")] = False,
) -> None:
    """Start one collect-pncp run (default window: yesterday and today; with --amostra, the whole sample); at most
    31 days — longer periods: `nexora pncp backfill`."""
    from deployments.catalog import COLLECT_PNCP

    source = "amostra" if sample else "pncp"
    _window(_day(start), _day(end), source)
    parameters = _pncp_parameters(_day(start), _day(end), modalidade, uf, endpoint, items, results, restart, source)
    start_and_follow(COLLECT_PNCP, parameters, ["nexora", "pncp"], wait, "a coleta falhou")


@pncp_app.command("import-html")
def pncp_import_html(files: Annotated[list[Path], typer.Argument(help="páginas salvas (termos)")]) -> None:
    """Store legacy Comprasnet result pages (saved HTML) in the market tables, one transaction per page; a page
    that is not a result page is reported and skipped, bad records go to the quarantine."""
    from rich.table import Table

    from models.db import session_scope
    from tasks.pncp.html import PageError, keep_parser_memory, parse_page
    from tasks.pncp.store import store_records

    prepare_database()
    keep_parser_memory()
    table = Table(title="páginas Comprasnet")
    for column in ("arquivo", "contratação", "itens", "resultados", "quarentena"):
        table.add_column(column)
    refused = 0
    for path in files:
        try:
            found = parse_page(path.read_bytes(), f"arquivo:{path.name}")
        except (OSError, PageError) as exc:
            err.print(f"[bold red]erro:[/] {path}: {exc}", soft_wrap=True)
            refused += 1
            continue
        with session_scope() as session:
            store_records(
                session, [found.contratacao] if found.contratacao else [], found.items, found.results, found.bad
            )
        table.add_row(
            path.name,
            found.contratacao["numero_controle_pncp"] if found.contratacao else "-",
            str(len(found.items)),
            str(len(found.results)),
            str(len(found.bad)),
        )
    console.print(table)
    if refused:
        raise typer.Exit(1)


@pncp_app.command("backfill")
@fails_on(WindowError, ValidationError)
def pncp_backfill(
    start: PncpFrom = None,
    end: PncpTo = None,
    modalidade: PncpModalidade = None,
    uf: PncpUf = None,
    endpoint: PncpEndpoint = "contratacoes/publicacao",
    days: Annotated[int, typer.Option(min=1, max=31, help="dias por execução (no máximo 31)")] = 31,
    wait: Annotated[bool, typer.Option(help="acompanhar as execuções até o fim")] = True,
) -> None:
    """One collect-pncp run per window of DAYS days (a period of at most 366 days), each with an idempotency key
    (running it again starts nothing twice); lists the runs as they start and follows them with a progress bar."""
    from tasks.pncp.window import check_backfill, windows

    if start is None or end is None:
        fail("informe --from e --to (AAAA-MM-DD)")
    check_backfill(start.date(), end.date(), names=CLI_NAMES)
    cut = windows(start.date(), end.date(), days)
    base = _pncp_parameters(cut[0][0], cut[0][1], modalidade, uf, endpoint, True, True, False)
    _start_backfill(cut, base, endpoint, days, wait)


def _start_backfill(cut, base: dict, endpoint: str, days: int, wait: bool) -> None:
    import asyncio

    from prefect.client.orchestration import get_client
    from rich.progress import Progress

    from core.logging import new_trace_id
    from core.settings import settings
    from deployments.api import prefect_glue as glue
    from deployments.catalog import COLLECT_PNCP
    from deployments.operations.stack import apply_prefect_env

    apply_prefect_env(settings)
    scope = f"{endpoint}:{','.join(map(str, base.get('modalidades', [])))}:{','.join(base.get('ufs', []))}"

    async def run() -> list[dict]:
        async with get_client() as client:
            runs = []
            for first, last in cut:
                parameters = {**base, "start": first.isoformat(), "end": last.isoformat()}
                runs.append(
                    await glue.start_run(
                        client,
                        COLLECT_PNCP.full_name,
                        parameters,
                        trace_id=new_trace_id(),
                        tags=["nexora", "pncp"],
                        name=f"collect-pncp-{first:%Y%m%d}-{last:%Y%m%d}",
                        idempotency_key=f"pncp-backfill:{scope}:{first:%Y%m%d}-{last:%Y%m%d}",
                    )
                )
            console.print(f"{len(runs)} execução(ões) de collect-pncp (uma por janela de até {days} dias)")
            for (first, last), flow_run in zip(cut, runs, strict=True):
                console.print(f"  {first:%d/%m/%Y}–{last:%d/%m/%Y}: execução {flow_run.id}")
            if not wait:
                return []
            with Progress(console=console) as progress:
                bar = progress.add_task("coletando janelas", total=len(runs))
                pending = {r.id for r in runs}
                final = []
                while pending:
                    for run_id in list(pending):
                        flow_run = await glue.read_run(client, run_id)
                        if flow_run and flow_run.state and flow_run.state.type in glue.FINAL:
                            pending.discard(run_id)
                            final.append(await glue.describe_run(flow_run, settings.prefect_ui_url))
                            progress.advance(bar)
                    await asyncio.sleep(1)
                return final

    finished = asyncio.run(run())
    failed = [r for r in finished if r["state"] != "COMPLETED"]
    for item in failed:
        err.print(f"{item['name']}: {item['state']} — {item['message']}")
    if failed:
        fail(
            f"{len(failed)} de {len(finished)} janelas falharam; reexecute-as (Retry na UI do Prefect, ou "
            "'nexora pncp collect --from … --to …'): cada uma retoma do seu checkpoint"
        )


@pncp_app.command("documentos")
@fails_on(ValidationError)
def pncp_documents(
    start: Annotated[
        datetime.datetime | None,
        typer.Option("--from", parser=day("--from"), metavar="AAAA-MM-DD", help="publicação a partir de"),
    ] = None,
    end: Annotated[
        datetime.datetime | None, typer.Option("--to", parser=day("--to"), metavar="AAAA-MM-DD", help="publicação até")
    ] = None,
    uf: PncpUf = None,
    limit: Annotated[int | None, typer.Option(min=1, max=10000, help="no máximo quantas contratações")] = None,
    wait: Annotated[float, typer.Option(help="segundos a esperar pelo fim (0 = não esperar)")] = 0,
) -> None:
    """Start one collect-pncp-documents run: the ETPs/TRs of the collected contratações not listed yet, newest
    first, into the library (`nexora pncp biblioteca` searches it)."""
    from deployments.catalog import COLLECT_PNCP_DOCUMENTS
    from tasks.pncp.params import DocumentsParams

    parameters = DocumentsParams(start=_day(start), end=_day(end), ufs=uf or None, limit=limit).model_dump(
        mode="json", exclude_none=True
    )
    start_and_follow(COLLECT_PNCP_DOCUMENTS, parameters, ["nexora", "pncp"], wait, "a coleta de documentos falhou")


@pncp_app.command("biblioteca")
def pncp_library(
    query: Annotated[str, typer.Argument(help="palavras procuradas (todas)")],
    tipo: Annotated[str | None, typer.Option(help="etp ou tr")] = None,
    uf: Annotated[str | None, typer.Option(help="UF do órgão")] = None,
    elemento: Annotated[str | None, typer.Option(help="etp:I … etp:XIII, tr:a … tr:j")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
) -> None:
    """Search the library of other bodies' ETPs/TRs collected from PNCP: each section found with a snippet and
    the PNCP link."""
    from rich.markup import escape

    from models.crud import pncp_documents as library
    from models.db import session_scope
    from models.textsearch import words

    if tipo not in (None, "etp", "tr"):
        fail("--tipo: use etp ou tr", code=2)
    if not words(query):
        fail("a busca precisa de ao menos uma palavra", code=2)
    prepare_database()
    with session_scope() as session:
        hits = library.search(session, query, tipo=tipo, uf=uf, element=elemento, limit=limit)
    if not hits:
        console.print("nenhum trecho encontrado")
        return
    # one block per section, not a table: the snippet and the link are read (and copied) whole
    for n, h in enumerate(hits, start=1):
        section = (h.heading or "(sem título)") + (f" [{h.element}]" if h.element else "")
        console.print(
            f"[bold]{n}. {escape(h.numero_controle_pncp)}[/] — arquivo {h.sequencial_documento} "
            f"({h.tipo.upper()}: {escape(h.titulo)}){' — ' + escape(h.uf) if h.uf else ''}",
            soft_wrap=True,
            markup=True,
            highlight=False,
        )
        console.print(f"   seção: {section}", soft_wrap=True, markup=False, highlight=False)
        console.print(f"   trecho: {h.snippet(query, 200)}", soft_wrap=True, markup=False, highlight=False)
        console.print(f"   arquivo: {h.url}   contratação: {h.pncp_link}", soft_wrap=True, markup=False)
