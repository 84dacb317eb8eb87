"""Legacy Comprasnet result pages → rows of the market tables (pncp_contratacoes / pncp_itens / pncp_resultados).

The DOM work is done elsewhere (tasks/pncp/html.py with selectolax; the benchmark's anchor with BeautifulSoup):
it hands over the header cells and the page's text as tokens, one per text node, stripped, joined by SEP. This
module turns that into the same rows parse.py makes from PNCP JSON, with parse.py's validators. What the page
layout is and where it was learned: tasks/pncp/html.py.

Natural key: the page has no numeroControlePNCP; a contratação is keyed ``CNET-`` + SIASG's id_compra, i.e. UASG
(6 digits) + modalidade SIASG (2; 05 = pregão) + número (5) + ano (4), e.g. ``CNET-16047805000032018`` (22
characters; never matches PNCP's ``^\\d{14}-1-\\d{6}/\\d{4}$``). A page that shows a PNCP control number is keyed
by it. Items and results hang from that key as PNCP's do; a pregão has one winner per item (sequencial 1).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tasks.pncp.parse import (
    RecordError,
    check_control,
    mask_person,
    normalise_unit,
    text,
    when,
    without_person,
)

SEP = "\x1f"
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
MONTHS = {name: n for n, name in enumerate(("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho",
                                            "agosto", "setembro", "outubro", "novembro", "dezembro"), 1)}
ITEM_NUMBER = re.compile(r"(\d{1,5})(?:\s*-\s*GRUPO\s*(\d+))?")
LABELS = {"Descrição:": "descricao", "Descrição Complementar:": "complemento", "Quantidade:": "quantidade",
          "Tratamento Diferenciado:": "tratamento", "Aplicabilidade Decreto 7174:": "decreto_7174",
          "Aplicabilidade Margem de Preferência:": "margem_preferencia", "Unidade de fornecimento:": "unidade",
          "Valor estimado: R$": "estimado", "Valor Estimado: R$": "estimado", "Valor estimado:": "estimado",
          "Valor Estimado:": "estimado", "Situação:": "situacao"}
RESULT_LABEL = re.compile(SEP + r"(Aceito|Adjudicado) para:" + SEP)
RESULT = re.compile(SEP + r"(Aceito|Adjudicado) para:\x1f([^\x1f]*)\x1f, pelo melhor lance de\x1f([^\x1f]*)"
                    r"(?:\x1f, com valor negociado a\x1f([^\x1f]*))?(?:\x1fe a quantidade de\x1f([^\x1f]*))?")
EVENT = re.compile(SEP + r"(Adjudicado|Homologado|Aceite)\x1f(\d\d)/(\d\d)/(\d{4}) (\d\d:\d\d:\d\d)")
SUPPLIER = re.compile(r"Fornecedor:\s*([^\x1f]*?)\s*(?:,|\s-)\s*CNPJ/CPF:\s*([\d./-]+)")
PERSON_KINDS = {14: "PJ", 11: "PF"}
BR_NUMBER = re.compile(r"(?:R\$\s*)?(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?")
SITUACOES = (  # (start of the page's "Situação", PNCP situacaoCompraItemId); first match wins; otherwise 1
    ("Cancelado por inexistência de proposta", 4), ("Deserto", 4), ("Cancelado no julgamento", 5),
    ("Fracassado", 5), ("Cancelado", 3), ("Anulado", 3), ("Revogado", 3), ("Adjudicado e Homologado", 2),
    ("Homologado", 2))


class PageError(ValueError):
    """The page is not a legacy Comprasnet result page: nothing on it can be stored."""


@dataclass
class PageText:
    """What the DOM layer reads: the header cells and the body's text nodes joined by SEP."""

    orgao: list[str]  # lines of the órgão cell, top to bottom
    title: list[str]  # text nodes of the title cell: the title, "Nº 00003/2018 (SRP)", maybe a PNCP control number
    ident: str  # the identification line at the top ("160478.32018.7442…"), or ""
    summary: str  # the paragraph under the title ("Às 14:32 horas do dia …")
    stream: str


@dataclass
class HtmlRecords:
    contratacao: dict[str, Any] | None
    items: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    bad: list[dict[str, Any]] = field(default_factory=list)


unit_code = functools.lru_cache(maxsize=4096)(normalise_unit)


def number(raw: str | None, what: str, numero: int) -> float | None:
    """A number as the pages print it: "1.234,5600", "74.730" (dots group thousands), "R$ 9,55"; "" or "-" is None.

    Stricter than parse.money, which reads "74.730" as 74.73 and lets "1.2.3,4" through; the pattern admits only
    non-negative, finite numbers, so the float needs no further check."""
    if not raw or raw == "-":
        return None
    if raw.isdigit():
        return float(raw)
    match = BR_NUMBER.fullmatch(raw)
    if match is None:
        raise RecordError(f"{what} do item {numero}: valor inválido {raw!r}")
    whole, cents = match.groups()
    return float(whole.replace(".", "") + "." + cents) if cents else float(whole.replace(".", ""))


@functools.lru_cache(maxsize=1024)  # a termo's items share their events' moments
def moment(day: str, month: str, year: str, clock: str, name: str) -> datetime:
    """dd, mm, aaaa, hh:mm:ss → a naive datetime (Brasília local time, as parse.when keeps PNCP's)."""
    return when(f"{year}-{month}-{day}T{clock}", name)


def records(page: PageText, source: str) -> HtmlRecords:
    """All rows of one page; a record that fails validation becomes a quarantine entry and the rest goes on."""
    head = _header(page, source)
    try:
        row = _contratacao(head, source)
    except RecordError as exc:
        return HtmlRecords(None, bad=[{"kind": "contratacao", "source": source, "reason": str(exc), "raw": head,
                                       "key": head.get("numero")}])
    out = HtmlRecords(row)
    stream = page.stream
    if SEP + SEP in stream:  # an empty text node (a lone &nbsp;) counts as none
        stream = EMPTY.sub(SEP, stream)
    seen: set[int] = set()
    for part in stream.split(SEP + "Item:")[1:]:
        cut = part.find(SEP)
        _item(part[:cut].strip() if cut >= 0 else part.strip(), part[cut:] if cut >= 0 else "", row, seen, out,
              source)
    estimated = [i["valor_total"] for i in out.items if i["valor_total"] is not None]
    homologated = [r["valor_total_homologado"] for r in out.results if r["valor_total_homologado"] is not None]
    row["valor_total_estimado"] = round(sum(estimated), 4) if estimated else None
    row["valor_total_homologado"] = round(sum(homologated), 4) if homologated else None
    return out


def _header(page: PageText, source: str) -> dict[str, Any]:
    title = TITLE.search(page.title[0]) if page.title else None
    if title is None:
        raise PageError(f"{source}: não é uma página de resultado do Comprasnet (termo de homologação ou de "
                        f"adjudicação de pregão); título encontrado: {(page.title or ['nenhum'])[0]!r}")
    rest = " ".join(page.title[1:])
    found = NUMBER.search(rest)
    uasg = IDENT.match(page.ident) or UASG.search(page.summary) or UASG.search(" ".join(page.orgao))
    control = CONTROL.search(rest)
    return {"fonte": "comprasnet", "pagina": title.group(0), "modalidade": title.group(2),
            "numero": found.group(0) if found else None, "srp": "(SRP)" in rest, "uasg": uasg and uasg.group(1),
            "controle_pncp": control and control.group(0), "orgao": page.orgao, "identificacao": page.ident,
            "texto": page.summary}


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
    month = MONTHS.get(month_name)
    if month is None:
        raise RecordError(f"pregão {numero:05d}/{ano}: mês inválido {month_name!r}")
    at = moment(f"{int(day_):02d}", f"{month:02d}", year, f"{int(hour):02d}:{minute}:00", "data do termo")
    key, cnpj, sequencial, year = f"CNET-{int(head['uasg']):06d}{siasg:02d}{numero:05d}{ano}", "", numero, ano
    if head["controle_pncp"]:
        key = head["controle_pncp"]
        cnpj, sequencial, year = check_control(key)
    processo, objeto = PROCESSO.search(summary), OBJETO.search(summary)
    orgao = head["orgao"]
    return {
        "numero_controle_pncp": key, "cnpj_orgao": cnpj,
        "razao_social_orgao": text(" / ".join(orgao[:-1]) or (orgao[0] if orgao else ""), 300),
        "ano_compra": year, "sequencial_compra": sequencial, "numero_compra": f"{numero:05d}/{ano}",
        "processo": text(processo.group(1), 120) if processo else None, "modalidade_id": modalidade,
        "modalidade_nome": head["modalidade"], "situacao_compra_id": None, "srp": head["srp"],
        "objeto_compra": objeto.group(1).strip() if objeto else "",
        "amparo_legal_codigo": None, "amparo_legal_nome": None, "uf": None, "municipio": None, "codigo_ibge": None,
        "codigo_unidade": head["uasg"], "nome_unidade": text(orgao[-1], 300) if orgao else None,
        "valor_total_estimado": None, "valor_total_homologado": None, "data_publicacao_pncp": None,
        "data_abertura_proposta": None, "data_atualizacao": at, "data_atualizacao_global": at,
        "link_sistema_origem": text(source, 1000) if source.startswith("http") else None, "raw": head,
    }


def _fields(block: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    label = None
    for token in block.split(SEP):
        key = LABELS.get(token)
        if key is not None:
            if label is not None:
                fields[label] = ""
            label = key
        elif label is not None:
            fields[label] = token
            if label == "situacao":
                return fields
            label = None
    if label is not None:
        fields[label] = ""
    return fields


@functools.lru_cache(maxsize=256)
def _situacao(value: str | None) -> int | None:
    if not value:
        return None
    for start, code in SITUACOES:
        if value.startswith(start):
            return code
    return 1


def _item(marker: str, block: str, parent: dict[str, Any], seen: set[int], out: HtmlRecords, source: str) -> None:
    key = parent["numero_controle_pncp"]
    fields = _fields(block)
    found = ITEM_NUMBER.fullmatch(marker)
    raw: dict[str, Any] = {"item": marker, "grupo": found and found.group(2), **fields}
    try:
        if found is None:
            raise RecordError(f"Item: {marker!r}: número do item inválido")
        numero = int(found.group(1))
        if numero in seen:
            raise RecordError(f"item {numero} repetido na página")
        description = fields.get("descricao")
        if not description:
            raise RecordError(f"item {numero}: descrição ausente")
        if not fields.get("quantidade"):
            raise RecordError(f"item {numero}: quantidade ausente")
        quantity = number(fields["quantidade"], "quantidade", numero)
        estimate = number(fields.get("estimado"), "valor estimado", numero)
    except RecordError as exc:
        out.bad.append({"kind": "item", "source": source, "reason": str(exc), "raw": raw, "key": key})
        return
    seen.add(numero)
    complement = fields.get("complemento")
    unit = fields.get("unidade") or None
    result = RESULT.search(block)
    has_result = result is not None or RESULT_LABEL.search(block) is not None
    item = {
        "numero_controle_pncp": key, "numero_item": numero,
        "descricao": (complement if complement.startswith(description) else f"{description} - {complement}")
        if complement else description,
        "material_ou_servico": None, "quantidade": quantity, "unidade_medida": unit and unit[:120],
        "unidade_normalizada": unit_code(unit), "valor_unitario_estimado": estimate,
        "valor_total": round(quantity * estimate, 4) if quantity is not None and estimate is not None else None,
        "codigo_catalogo": None, "ncm_nbs_codigo": None, "criterio_julgamento_id": None,
        "situacao_item_id": _situacao(fields.get("situacao")), "tem_resultado": has_result,
        "orcamento_sigiloso": False, "uf": None, "data_publicacao_pncp": None,
        "data_atualizacao": parent["data_atualizacao"], "raw": raw,
    }
    out.items.append(item)
    if has_result:
        _result(result, block, item, out, source)


def _supplier(block: str, name: str) -> str | None:
    """The CNPJ/CPF the item's events give for ``name`` ("Fornecedor: NOME, CNPJ/CPF: …"), if any."""
    start = block.find("Fornecedor:")
    wanted = name.upper()
    while start >= 0:
        found = SUPPLIER.match(block, start)
        if found is not None and " ".join(found.group(1).split()).upper() == wanted:
            return found.group(2)
        start = block.find("Fornecedor:", start + 11)
    return None


def _result(match: re.Match[str] | None, block: str, item: dict[str, Any], out: HtmlRecords, source: str) -> None:
    numero = item["numero_item"]
    raw: dict[str, Any] = {"tipoPessoa": None, "niFornecedor": None, "nomeRazaoSocialFornecedor": None}
    try:
        if match is None:
            raise RecordError(f"resultado do item {numero}: linha de resultado ilegível")
        label, name, best, negotiated, quantity = match.groups()
        name = " ".join(name.split())
        identifier = _supplier(block, name)
        digits = identifier and identifier.replace(".", "").replace("/", "").replace("-", "")
        kind = PERSON_KINDS.get(len(digits)) if digits else None
        raw = without_person({"tipoPessoa": kind, "niFornecedor": identifier,
                              "nomeRazaoSocialFornecedor": name if kind else None, "rotulo": f"{label} para",
                              "melhorLance": best, "valorNegociado": negotiated, "quantidade": quantity})
        if identifier is None:
            raise RecordError(f"resultado do item {numero}: CNPJ/CPF do fornecedor {name!r} não encontrado nos "
                              "eventos do item")
        if kind is None or not digits.isdigit():
            raise RecordError(f"resultado do item {numero}: CNPJ/CPF inválido")
        unit_price = number(negotiated, "valor negociado", numero) if negotiated \
            else number(best, "melhor lance", numero)
        amount = item["quantidade"] if quantity is None or quantity == item["raw"]["quantidade"] \
            else number(quantity, "quantidade adjudicada", numero)
        events = {event: (d, m, y, clock) for event, d, m, y, clock in EVENT.findall(block)}
        chosen = events.get("Homologado") or events.get("Adjudicado") or events.get("Aceite")
        decided = moment(*chosen, "data do evento do item") if chosen else item["data_atualizacao"]
    except RecordError as exc:
        out.bad.append({"kind": "resultado", "source": source, "reason": str(exc), "raw": raw,
                        "key": f"{item['numero_controle_pncp']}#{numero}"})
        return
    person = kind == "PF"
    out.results.append({
        "numero_controle_pncp": item["numero_controle_pncp"], "numero_item": numero, "sequencial_resultado": 1,
        "tipo_pessoa": kind, "ni_fornecedor": mask_person(digits) if person else digits,
        "nome_fornecedor": None if person else name[:300], "porte_fornecedor_id": None,
        "quantidade_homologada": amount, "valor_unitario_homologado": unit_price,
        "valor_total_homologado": round(amount * unit_price, 4) if amount is not None and unit_price is not None
        else None,
        "percentual_desconto": None, "situacao_resultado_id": 1, "data_resultado": decided.date(),
        "data_atualizacao": item["data_atualizacao"], "raw": raw,
    })
