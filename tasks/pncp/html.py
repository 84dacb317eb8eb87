"""Legacy Comprasnet result pages (HTML) → the rows parse.py makes from PNCP JSON, with selectolax (lexbor).

The known case is the Termo de Homologação (or de Adjudicação) of a pregão, ``comprasnet.gov.br/livre/pregao/
termohom.asp?prgcod=…``: server-rendered ASP, latin-1 without a charset declaration, tables without tbody.

What the parser relies on, top to bottom:

* an identification line ``<tr align="right"><td><font>160478.32018.7442…</font>`` whose first number is the
  UASG (``co_no_uasg``) and whose second is ``numprp`` (número + ano);
* ``<table class="tex3">`` with the órgão in ``<tr align="center"><td>`` (one line per ``<br>``: ministério,
  órgão, unidade), the title ``<b>Termo de Homologação do Pregão Eletrônico <span class="mensagem2">Nº 00003/2018
  (SRP)</span></b>`` and a ``<td class="tex3">`` paragraph "Às 14:32 horas do dia 04 de junho de 2018, …
  Processo nº …, Pregão nº …. Objeto: Objeto: Pregão Eletrônico - …";
* one block per item: ``<table class="td">`` whose ``<tr class="tex3b"><td>`` reads "Item: 1" (or "Item: 1 -
  GRUPO 1"), then a nested ``<table class="tex3">`` of cells ``<td><b>Label: </b>value</td>`` — Descrição,
  Descrição Complementar, Tratamento Diferenciado, Aplicabilidade Decreto 7174 / Margem de Preferência (in
  ``<span class="tex3b">``), Quantidade ("74.730": dots group thousands), Unidade de fornecimento, "Valor
  estimado: R$" ("15,1800"), Situação ("Adjudicado e Homologado", "Cancelado por inexistência de proposta", …);
* when the item has a winner, a ``<table class="tex3">`` line "<b>Adjudicado para: </b>NOME<b>, pelo melhor lance
  de</b> R$ 9,5500<b>, com valor negociado a</b> R$ 9,5000<b> e a quantidade de </b>74.730" ("Aceito para" on
  some pages), and the item's events (``<tr class="tex3a">``: Evento, Data "dd/mm/aaaa hh:mm:ss", Responsável,
  Observações) whose adjudication reads "Adjudicação individual da proposta. Fornecedor: NOME, CNPJ/CPF:
  00.000.000/0000-00, …" — the only place the winner's CNPJ or CPF is printed.

Labels are matched as whole text nodes (each sits in its own ``<b>``/``<span>``), so the body is read as one
stream of text nodes (one C call) and the header through four CSS selectors; tasks/pncp/comprasnet.py (the
contratação) and comprasnet_items.py (items and results) do the rest.

Learned from: a page saved from comprasnet.gov.br, ``andremenegatti/ComprasnetAtasParsing:
atas_sample/0100010000012016_ata000.html`` (the Ata de Realização, whose header and item blocks the termo shares)
and that package's ``R/xpaths.R``; the termohom.asp / FornecedorResultado.asp scrapers found by code search (the
``Item: N - GRUPO M`` marker, "Eventos do Item" with Responsável, the adjudication's "Fornecedor: …, CNPJ/CPF:"
text, "Adjudicado para: … , pelo melhor lance de … , com valor negociado a … e a quantidade de", latin-1);
``codevance/python-comprasnet: tests/assets/statusedetail_page_example.html`` (the edital's item list, which is
not a result page). tests/data/comprasnet/README.md lists the saved test pages.

Encoding: a ``<meta … charset=…>`` in the first 1,024 bytes wins; otherwise windows-1252 (what browsers read for
latin-1 and undeclared pages). Only lexbor is measured: selectolax 1.0 removed its modest backend.

Memory: lexbor builds each page's DOM in a few MB that glibc, by default, hands back to the kernel when the parser
is freed, so the next page page-faults all of it in again (~1,500 faults, a third of the time on a 150-item
page). A process that parses many pages should call keep_parser_memory() once.
"""

from __future__ import annotations

import codecs
import ctypes
import re
import sys

from selectolax.lexbor import LexborHTMLParser, LexborNode

from tasks.pncp.comprasnet import SEP, HtmlRecords, PageError, PageText, records

__all__ = ["HtmlRecords", "PageError", "decode", "keep_parser_memory", "page_text", "parse_page"]

CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
WINDOWS_1252 = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii", "cp1252", "windows-1252"}


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


def keep_parser_memory(mmap_threshold: int = 32 * 2**20, trim_threshold: int = 64 * 2**20) -> bool:
    """Let glibc keep freed parser memory for the next page (allocations under 32 MB from the heap, up to 64 MB
    of free heap kept): process-wide, so call it once in a worker that parses many pages; the process's RSS then
    stays at its peak. Returns False where it does not apply (not glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_TRIM_THRESHOLD, trim_threshold))


def decode(content: bytes) -> str:
    """The page's text: its declared charset, or windows-1252 (a superset of latin-1's printable characters)."""
    if content.startswith(codecs.BOM_UTF8):
        return content[3:].decode("utf-8", errors="replace")
    declared = CHARSET.search(content[:1024])
    name = declared.group(1).decode("ascii").lower() if declared else "windows-1252"
    if name in WINDOWS_1252:
        name = "cp1252"
    try:
        codecs.lookup(name)
    except LookupError:
        name = "cp1252"
    return content.decode(name, errors="replace")


def _tokens(node: LexborNode | None) -> list[str]:
    return node.text(separator=SEP, strip=True, skip_empty=True).split(SEP) if node is not None else []


def page_text(tree: LexborHTMLParser) -> PageText:
    title = tree.css_first("span.mensagem2")
    while title is not None and title.tag != "td":
        title = title.parent
    ident, summary = tree.css_first("tr[align=right] font"), tree.css_first("td.tex3")
    return PageText(
        orgao=[line for line in _tokens(tree.css_first("tr[align=center] td")) if line],
        title=[line for line in _tokens(title) if line],
        ident=ident.text(separator=" ", strip=True, skip_empty=True) if ident is not None else "",
        summary=summary.text(separator=" ", strip=True, skip_empty=True) if summary is not None else "",
        stream=SEP + tree.body.text(separator=SEP, strip=True, skip_empty=True),
    )


def parse_page(content: bytes, source: str) -> HtmlRecords:
    """One legacy result page → its contratação row, item rows, result rows and quarantine entries.

    Raises PageError when the page is not a result page (an edital, a list, an error page)."""
    return records(page_text(LexborHTMLParser(decode(content))), source)
