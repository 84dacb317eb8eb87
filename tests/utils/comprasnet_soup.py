"""The benchmark's anchor: the same page reading as tasks/pncp/html.py, with BeautifulSoup's html.parser.

The same nodes (found with find/find_parent instead of lexbor's CSS selectors) and the same text streams
(get_text with the same separator and stripping), handed to the same tasks/pncp/comprasnet.records. Used only by
bench/bench_html_parse.py and the tests that check both readings give equal rows.
"""

from __future__ import annotations

from bs4 import BeautifulSoup, Tag

from tasks.pncp.comprasnet import SEP, HtmlRecords, PageText, records
from tasks.pncp.html import decode


def _tokens(node: Tag | None) -> list[str]:
    return node.get_text(SEP, strip=True).split(SEP) if node is not None else []


def page_text(soup: BeautifulSoup) -> PageText:
    span = soup.find("span", class_="mensagem2")
    title = span.find_parent("td") if span is not None else None
    row = soup.find("tr", align="center")
    right = soup.find("tr", align="right")
    ident = right.find("font") if right is not None else None
    summary = soup.find("td", class_="tex3")
    body = soup.body or soup
    return PageText(
        orgao=[line for line in _tokens(row.find("td") if row is not None else None) if line],
        title=[line for line in _tokens(title) if line],
        ident=ident.get_text(" ", strip=True) if ident is not None else "",
        summary=summary.get_text(" ", strip=True) if summary is not None else "",
        stream=SEP + body.get_text(SEP, strip=True),
    )


def parse_page(content: bytes, source: str) -> HtmlRecords:
    return records(page_text(BeautifulSoup(decode(content), "html.parser")), source)
