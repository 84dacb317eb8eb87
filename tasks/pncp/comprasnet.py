"""Legacy Comprasnet result pages → rows of the market tables (pncp_contratacoes / pncp_itens / pncp_resultados).

The DOM work is done elsewhere (tasks/pncp/html.py with selectolax; the benchmark's anchor with BeautifulSoup):
it hands over the header cells and the page's text as tokens, one per text node, stripped, joined by SEP. This
module turns that into the same rows parse.py makes from PNCP JSON, with parse.py's validators. What the page
layout is and where it was learned: tasks/pncp/html.py.

Natural key: the page has no numeroControlePNCP; a contratação is keyed ``CNET-`` + SIASG's id_compra, i.e. UASG
(6 digits) + modalidade SIASG (2; 05 = pregão) + número (5) + ano (4), e.g. ``CNET-16047805000032018`` (22
characters; never matches PNCP's ``^\\d{14}-1-\\d{6}/\\d{4}$``). A page that shows a PNCP control number is keyed
by it. Items and results hang from that key as PNCP's do (tasks/pncp/comprasnet_items.py); a pregão has one
winner per item (sequencial 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from models.price_dates import MONTHS
from tasks.pncp.comprasnet_items import SEP, HtmlRecords, moment, read_item
from tasks.pncp.parse import RecordError, check_control, text

__all__ = ["SEP", "HtmlRecords", "PageError", "PageText", "records"]

TITLE = re.compile(r"(Termo de Homologação|Termo de Adjudicação) do (Pregão Eletrônico|Pregão Presencial)")
MODALIDADES = {"Pregão Eletrônico": (6, 5), "Pregão Presencial": (7, 5)}  # name → (PNCP modalidadeId, SIASG code)
NUMBER = re.compile(r"Nº\s*(\d{1,5})/(\d{4})")
IDENT = re.compile(r"(\d{5,6})\.\d+\.")
UASG = re.compile(r"(?:Código da )?UASG:?\s*(\d{5,6})")
MOMENT = re.compile(r"Às (\d{1,2}):(\d{2}) horas do dia (\d{1,2}) de ([a-zç]+) de (\d{4})")
PROCESSO = re.compile(r"Processo nº\s*([^,]+),")
OBJETO = re.compile(r"Objeto:\s*(?:Objeto:\s*)?(?:Pregão \w+\s*-\s*)?(.*?)\.?\s*$", re.S)
EMPTY = re.compile(SEP + "{2,}")
CONTROL = re.compile(r"\d{14}-1-\d{6}/\d{4}")
MONTH_NUMBERS = {name: n for n, name in enumerate(MONTHS, 1)}


class PageError(ValueError):
    """The page is not a legacy Comprasnet result page: nothing on it can be stored."""


@dataclass
class PageText:
    """What the DOM layer reads: the header cells and the body's text nodes joined by SEP."""

    orgao: list[str]  # lines of the órgão cell, top to bottom
    title: list[str]  # text nodes of the title cell: the title, "Nº 00003/2018 (SRP)", maybe a PNCP control number
    ident: str  # the identification line at the top ("160478.32018.7442…"), or ""
    summary: str  # the paragraph under the title ("Às 14:32 horas do dia …")
    stream: str  # SEP, then every text node of the body, stripped, empty ones left out, joined by SEP


def records(page: PageText, source: str) -> HtmlRecords:
    """All rows of one page; a record that fails validation becomes a quarantine entry and the rest goes on."""
    head = _header(page, source)
    try:
        row = _contratacao(head, source)
    except RecordError as exc:
        return HtmlRecords(
            None,
            bad=[
                {
                    "kind": "contratacao",
                    "source": source,
                    "reason": str(exc),
                    "raw": head,
                    "key": f"UASG {head['uasg']} {head['numero']}",
                }
            ],
        )
    out = HtmlRecords(row)
    stream = page.stream
    if SEP + SEP in stream:  # an empty text node (a lone &nbsp;) counts as none
        stream = EMPTY.sub(SEP, stream)
    seen: set[int] = set()
    for block in stream.split(SEP + "Item:")[1:]:  # each block starts with the rest of its "Item: N" marker
        cut = block.find(SEP)
        read_item((block[:cut] if cut >= 0 else block).strip(), block, row, seen, out, source)
    estimated = [i["valor_total"] for i in out.items if i["valor_total"] is not None]
    homologated = [r["valor_total_homologado"] for r in out.results if r["valor_total_homologado"] is not None]
    row["valor_total_estimado"] = round(sum(estimated), 4) if estimated else None
    row["valor_total_homologado"] = round(sum(homologated), 4) if homologated else None
    return out


def _header(page: PageText, source: str) -> dict[str, Any]:
    title = TITLE.search(page.title[0]) if page.title else None
    if title is None:
        raise PageError(
            f"{source}: não é uma página de resultado do Comprasnet (termo de homologação ou de "
            f"adjudicação de pregão); título encontrado: {(page.title or ['nenhum'])[0]!r}"
        )
    rest = " ".join(page.title[1:])
    found = NUMBER.search(rest)
    uasg = IDENT.match(page.ident) or UASG.search(page.summary) or UASG.search(" ".join(page.orgao))
    control = CONTROL.search(rest)
    return {
        "fonte": "comprasnet",
        "pagina": title.group(0),
        "modalidade": title.group(2),
        "numero": found.group(0) if found else None,
        "srp": "(SRP)" in rest,
        "uasg": uasg and uasg.group(1),
        "controle_pncp": control and control.group(0),
        "orgao": page.orgao,
        "identificacao": page.ident,
        "texto": page.summary,
    }


def _contratacao(head: dict[str, Any], source: str) -> dict[str, Any]:
    found = NUMBER.search(head["numero"] or "")
    if found is None:
        raise RecordError(f"número do pregão ausente ou ilegível: {head['numero']!r}")
    numero, ano = int(found.group(1)), int(found.group(2))
    if not head["uasg"]:
        raise RecordError(f"pregão {numero:05d}/{ano}: código da UASG ausente")
    modalidade, siasg = MODALIDADES[head["modalidade"]]
    summary = " ".join(head["texto"].split())
    clock = MOMENT.search(summary)
    if clock is None:
        raise RecordError(f"pregão {numero:05d}/{ano}: data do termo ausente ou ilegível")
    hour, minute, day_, month_name, year = clock.groups()
    month = MONTH_NUMBERS.get(month_name)
    if month is None:
        raise RecordError(f"pregão {numero:05d}/{ano}: mês inválido {month_name!r}")
    at = moment(f"{int(day_):02d}/{month:02d}/{year} {int(hour):02d}:{minute}:00", "data do termo")
    key, cnpj, sequencial, year = f"CNET-{int(head['uasg']):06d}{siasg:02d}{numero:05d}{ano}", "", numero, ano
    if head["controle_pncp"]:
        key = head["controle_pncp"]
        cnpj, sequencial, year = check_control(key)
    processo, objeto = PROCESSO.search(summary), OBJETO.search(summary)
    orgao = head["orgao"]
    return {
        "numero_controle_pncp": key,
        "cnpj_orgao": cnpj,
        "razao_social_orgao": text(" / ".join(orgao[:-1]) or (orgao[0] if orgao else ""), 300),
        "ano_compra": year,
        "sequencial_compra": sequencial,
        "numero_compra": f"{numero:05d}/{ano}",
        "processo": text(processo.group(1), 120) if processo else None,
        "modalidade_id": modalidade,
        "modalidade_nome": head["modalidade"],
        "situacao_compra_id": None,
        "srp": head["srp"],
        "objeto_compra": objeto.group(1).strip() if objeto else "",
        "amparo_legal_codigo": None,
        "amparo_legal_nome": None,
        "uf": None,
        "municipio": None,
        "codigo_ibge": None,
        "codigo_unidade": head["uasg"],
        "nome_unidade": text(orgao[-1], 300) if orgao else None,
        "valor_total_estimado": None,
        "valor_total_homologado": None,
        "data_publicacao_pncp": None,
        "data_abertura_proposta": None,
        "data_atualizacao": at,
        "data_atualizacao_global": at,
        "link_sistema_origem": text(source, 1000) if source.startswith("http") else None,
        "raw": head,
    }
