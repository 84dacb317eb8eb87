"""What a collection window may be: the one rule the API, the CLI and the flow apply before any run starts.

Bounds, and where they come from:

- Nothing before PNCP existed. The PNCP was created by Lei nº 14.133/2021, art. 174 ("Fica criado o Portal Nacional
  de Contratações Públicas (PNCP), sítio eletrônico oficial destinado à divulgação centralizada e obrigatória dos
  atos exigidos por esta Lei"), published and in force on 01/04/2021 (art. 194). The Manual das APIs de Consultas
  PNCP (versão 1.0, § 6.3 "Consultar Contratações por Data de Publicação") sets no earliest `dataInicial` — only the
  AAAAMMDD format — so the law's date is the bound: it never refuses a real record (the portal itself went live in
  August 2021; the months between cost a few empty pages).
- No end after today (America/Sao_Paulo, the time zone of PNCP's dates): nothing is published in the future.
- A single run covers at most MAX_RUN_DAYS days. A run holds the collection's only slot (deployment concurrency 1,
  shared with the daily 03:00 run) while it lasts, and its cost grows with the days: the consulta API is paced at one
  page of 50 contratações every PNCP_CONSULTA_INTERVAL_SECONDS (2 s), and the items and results of each contratação
  take one detail call per page of items plus one per item with a result, at 8–23 s a call under
  PNCP_DETAIL_CONCURRENCY (4) slots — about 600 to 1,800 contratações an hour with their details. A calendar month of
  one busy modalidade is already hours; longer spans are a backfill: several runs of at most MAX_RUN_DAYS each, listed
  as they start (`nexora pncp backfill`), MAX_BACKFILL_DAYS at most per command so the queue in front of the daily
  run stays short.
- `source="amostra"` reads the embedded sample (SIASG 2016–2022 in PNCP's format, no network): its own years bound
  the window, which defaults to the whole sample, and no span cap applies (the 790 contratações take seconds).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

BRASILIA = ZoneInfo("America/Sao_Paulo")
PNCP_FIRST_DAY = date(2021, 4, 1)  # Lei nº 14.133/2021, art. 174 (PNCP) and art. 194 (vigência)
SAMPLE_FIRST_DAY, SAMPLE_LAST_DAY = date(2016, 1, 1), date(2022, 12, 31)  # seeds/prices/siasg_homologados_2016_2022
MAX_RUN_DAYS = 31
MAX_BACKFILL_DAYS = 366
API_NAMES = {"start": "start", "end": "end"}
# A coarse guard for the flow's parameter schema, which the Prefect server enforces when a run is created (UI "Custom
# run", any client): only years 2016–2099 (the sample's first year on). A date of another century is refused before
# the run exists, so before it can take the collection's slot; the exact rule above is checked by the flow itself.
SCHEMA_DATE = {
    "pattern": r"^20(1[6-9]|[2-9][0-9])-[0-9]{2}-[0-9]{2}$",
    "description": "AAAA-MM-DD: de 2021-04-01 (PNCP; amostra: 2016-01-01) até hoje, no máximo 31 dias",
}


class WindowError(ValueError):
    """A collection window the operation cannot mean; ``field`` is the date at fault (``start``/``end``)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def today_in_brasilia() -> date:
    return datetime.now(BRASILIA).date()


def default_window(source: str, today: date) -> tuple[date, date]:
    """Yesterday and today for PNCP (the daily run); the whole embedded sample for ``amostra``."""
    if source == "amostra":
        return SAMPLE_FIRST_DAY, SAMPLE_LAST_DAY
    return today - timedelta(days=1), today


def _bounds(start: date, end: date, source: str, today: date, names: dict[str, str]) -> None:
    now = today.isoformat()
    for field, day in (("end", end), ("start", start)):
        if day > today:
            raise WindowError(
                field,
                f"{names[field]} {day.isoformat()} é posterior a hoje ({now}, horário de "
                "Brasília): o PNCP não tem publicações futuras. Informe uma data até "
                f"{now} (AAAA-MM-DD).",
            )
    for field, day in (("start", start), ("end", end)):
        if source == "amostra" and not SAMPLE_FIRST_DAY <= day <= SAMPLE_LAST_DAY:
            raise WindowError(
                field,
                f"{names[field]} {day.isoformat()} está fora da amostra embutida, que cobre de "
                f"{SAMPLE_FIRST_DAY.isoformat()} a {SAMPLE_LAST_DAY.isoformat()} (SIASG "
                "2016–2022).",
            )
        if source != "amostra" and day < PNCP_FIRST_DAY:
            raise WindowError(
                field,
                f"{names[field]} {day.isoformat()} é anterior a {PNCP_FIRST_DAY.isoformat()}: "
                "o PNCP foi criado pela Lei nº 14.133/2021 (art. 174), publicada em 01/04/2021, "
                "e não tem contratações anteriores.",
            )
    if start > end:
        raise WindowError(
            "start",
            f"{names['start']} {start.isoformat()} é posterior a {names['end']} "
            f"{end.isoformat()}: a janela precisa começar antes de terminar (datas AAAA-MM-DD).",
        )


def check_window(
    start: date | None,
    end: date | None,
    source: str = "pncp",
    *,
    today: date | None = None,
    names: dict[str, str] = API_NAMES,
) -> tuple[date, date]:
    """The window of one collect-pncp run, defaults filled in, or WindowError saying which rule it breaks.

    Lei nº 14.133/2021, art. 174: "Fica criado o Portal Nacional de Contratações Públicas (PNCP), sítio eletrônico
    oficial destinado à divulgação centralizada e obrigatória dos atos exigidos por esta Lei" — so no window starts
    before the law (01/04/2021); none ends after today; one run covers at most MAX_RUN_DAYS days (the module's
    docstring says why). ``names`` spells the two dates as the caller's user wrote them (API fields, CLI options)."""
    today = today or today_in_brasilia()
    first, last = default_window(source, today)
    if start is None:
        start = (
            first
            if end is None or source == "amostra"
            else max(end, PNCP_FIRST_DAY + timedelta(days=1)) - timedelta(days=1)
        )  # the day before `end`: no date arithmetic below year 1
    end = end or last
    _bounds(start, end, source, today, names)
    days = (end - start).days + 1
    if source != "amostra" and days > MAX_RUN_DAYS:
        span = f"{names['start']} {start.isoformat()} a {names['end']} {end.isoformat()}"
        raise WindowError(
            "end",
            f"a janela de {span} tem {days} dias; uma execução coleta no máximo {MAX_RUN_DAYS} "
            "dias, para não ocupar por horas a vaga única da coleta (a mesma da coleta diária). "
            f"Para um período maior use `nexora pncp backfill --from {start.isoformat()} --to "
            f"{end.isoformat()}`: uma execução por trecho de até {MAX_RUN_DAYS} dias, cada uma "
            "visível na UI do Prefect.",
        )
    return start, end


def check_backfill(
    start: date, end: date, *, today: date | None = None, names: dict[str, str] = API_NAMES
) -> tuple[date, date]:
    """A backfill's whole span: the same bounds as one run (Lei nº 14.133/2021, art. 174: nothing before
    01/04/2021; nothing after today), at most MAX_BACKFILL_DAYS days; it is then cut into runs of MAX_RUN_DAYS."""
    today = today or today_in_brasilia()
    _bounds(start, end, "pncp", today, names)
    days = (end - start).days + 1
    if days > MAX_BACKFILL_DAYS:
        span = f"{names['start']} {start.isoformat()} a {names['end']} {end.isoformat()}"
        runs = -(-MAX_BACKFILL_DAYS // MAX_RUN_DAYS)
        raise WindowError(
            "end",
            f"o período de {span} tem {days} dias; um backfill cobre no máximo "
            f"{MAX_BACKFILL_DAYS} dias (até {runs} execuções na fila à frente da coleta diária). "
            "Divida-o em períodos de até um ano e rode um após o outro.",
        )
    return start, end


def windows(start: date, end: date, days: int = 365) -> list[tuple[date, date]]:
    """[start, end] cut into consecutive windows of at most ``days`` days (the API refuses longer ones)."""
    if end < start:
        raise ValueError(f"janela inválida: {start} > {end}")
    out, cursor = [], start
    while cursor <= end:
        last = min(end, cursor + timedelta(days=days - 1))
        out.append((cursor, last))
        cursor = last + timedelta(days=1)
    return out
