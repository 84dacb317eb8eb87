"""Item blocks of a legacy Comprasnet result page → pncp_itens and pncp_resultados rows (tasks/pncp/comprasnet.py
reads the page; the layout is described in tasks/pncp/html.py).

A block is the page's text from one "Item: N" to the next, as text nodes joined by SEP: the item's cells as
"Label:" / value pairs, then the result line ("Adjudicado para:" / NOME / ", pelo melhor lance de" / "R$ 9,5500"
…) and the item's events, whose adjudication names the winner's CNPJ or CPF. A person (CPF) — or an identifier
that is not a CNPJ — is stored masked with parse.mask_person and without a name, in the row, in its raw JSON and
in the quarantine; a reason never quotes a supplier's name.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tasks.pncp.parse import RecordError, mask_person, normalise_unit, when

SEP = "\x1f"
ITEM_NUMBER = re.compile(r"(\d{1,5})(?:\s*-\s*GRUPO\s*(\d+))?")
LABELS = {
    "Descrição:": "descricao",
    "Descrição Complementar:": "complemento",
    "Quantidade:": "quantidade",
    "Tratamento Diferenciado:": "tratamento",
    "Aplicabilidade Decreto 7174:": "decreto_7174",
    "Aplicabilidade Margem de Preferência:": "margem_preferencia",
    "Unidade de fornecimento:": "unidade",
    "Valor estimado: R$": "estimado",
    "Valor Estimado: R$": "estimado",
    "Valor estimado:": "estimado",
    "Valor Estimado:": "estimado",
    "Situação:": "situacao",
}
RESULT_LABEL = re.compile(SEP + r"(Aceito|Adjudicado) para:" + SEP)
RESULT = re.compile(
    SEP + r"(Aceito|Adjudicado) para:\x1f([^\x1f]*)\x1f, pelo melhor lance de\x1f([^\x1f]*)"
    r"(?:\x1f, com valor negociado a\x1f([^\x1f]*))?(?:\x1fe a quantidade de\x1f([^\x1f]*))?"
)
PERSON_KINDS = {14: "PJ", 11: "PF"}
LABELLED = {"Aceito": "Aceito para", "Adjudicado": "Adjudicado para"}
NI = re.compile(r"\s*(\d[\d./-]*\d)")
EVENTS = tuple(SEP + name + SEP for name in ("Homologado", "Adjudicado", "Aceite"))
EVENT_DATE = re.compile(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d")
BR_NUMBER = re.compile(r"(?:R\$\s*)?(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?")
SITUACOES = (  # (start of the page's "Situação", PNCP situacaoCompraItemId); first match wins; otherwise 1
    ("Cancelado por inexistência de proposta", 4),
    ("Deserto", 4),
    ("Cancelado no julgamento", 5),
    ("Fracassado", 5),
    ("Cancelado", 3),
    ("Anulado", 3),
    ("Revogado", 3),
    ("Adjudicado e Homologado", 2),
    ("Homologado", 2),
)


@dataclass
class HtmlRecords:
    """One page's rows, in parse.py's shapes, and its quarantine entries ({kind, source, reason, raw, key})."""

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
def moment(stamp: str, name: str) -> datetime:
    """ "dd/mm/aaaa hh:mm:ss" → a naive datetime (Brasília local time, as parse.when keeps PNCP's)."""
    return when(f"{stamp[6:10]}-{stamp[3:5]}-{stamp[:2]}T{stamp[11:]}", name)


def _fields(block: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    label = None
    end = block.find(SEP + "Situação:" + SEP)  # the last label: split no further than its value
    end = block.find(SEP, end + 11) if end >= 0 else -1
    for token in (block[:end] if end >= 0 else block).split(SEP):
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


def read_item(marker: str, block: str, parent: dict[str, Any], seen: set[int], out: HtmlRecords, source: str) -> None:
    """One block → an item row (and its result row) in ``out``, or quarantine entries saying what is wrong."""
    key = parent["numero_controle_pncp"]
    fields = _fields(block)
    found = ITEM_NUMBER.fullmatch(marker)
    raw: dict[str, Any] = fields
    fields["item"], fields["grupo"] = marker, found and found.group(2)
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
        "numero_controle_pncp": key,
        "numero_item": numero,
        "descricao": (complement if complement.startswith(description) else f"{description} - {complement}")
        if complement
        else description,
        "material_ou_servico": None,
        "quantidade": quantity,
        "unidade_medida": unit and unit[:120],
        "unidade_normalizada": unit_code(unit),
        "valor_unitario_estimado": estimate,
        "valor_total": round(quantity * estimate, 4) if quantity is not None and estimate is not None else None,
        "codigo_catalogo": None,
        "ncm_nbs_codigo": None,
        "criterio_julgamento_id": None,
        "situacao_item_id": _situacao(fields.get("situacao")),
        "tem_resultado": has_result,
        "orcamento_sigiloso": False,
        "uf": None,
        "data_publicacao_pncp": None,
        "data_atualizacao": parent["data_atualizacao"],
        "raw": raw,
    }
    out.items.append(item)
    if has_result:
        _result(result, block, item, out, source)


def _supplier(block: str, name: str) -> str | None:
    """The CNPJ/CPF the item's events give for ``name`` ("Fornecedor: NOME, CNPJ/CPF: …"), if any."""
    wanted = name.upper()
    start = block.find("Fornecedor:")
    while start >= 0:
        mark, end = block.find("CNPJ/CPF:", start), block.find(SEP, start)
        if mark < 0:
            return None
        if (end < 0 or mark < end) and " ".join(block[start + 11 : mark].split()).rstrip(
            ",-"
        ).rstrip().upper() == wanted:  # "Fornecedor: NOME, CNPJ/CPF:" (or "NOME - CNPJ/CPF:") within one text node
            found = NI.match(block, mark + 9)
            return found and found.group(1)
        start = block.find("Fornecedor:", start + 11)
    return None


def _decided(block: str) -> str | None:
    """When ("dd/mm/aaaa hh:mm:ss") the item's events last homologated it, else adjudicated, else accepted it."""
    for event in EVENTS:
        at = block.rfind(event)
        if at >= 0:
            found = EVENT_DATE.match(block, at + len(event))
            if found is not None:
                return found.group()
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
        private = kind != "PJ"  # a CPF, or what cannot be told from one: masked, and no name kept
        raw = {
            "tipoPessoa": kind,
            "niFornecedor": mask_person(identifier) if private and identifier else identifier,
            "nomeRazaoSocialFornecedor": None if private else name,
            "rotulo": LABELLED[label],
            "melhorLance": best,
            "valorNegociado": negotiated,
            "quantidade": quantity,
        }
        if identifier is None:
            raise RecordError(f"resultado do item {numero}: CNPJ/CPF do fornecedor não encontrado nos eventos do item")
        if kind is None or not digits.isdigit():
            raise RecordError(f"resultado do item {numero}: CNPJ/CPF inválido")
        unit_price = (
            number(negotiated, "valor negociado", numero) if negotiated else number(best, "melhor lance", numero)
        )
        amount = (
            item["quantidade"]
            if quantity is None or quantity == item["raw"]["quantidade"]
            else number(quantity, "quantidade adjudicada", numero)
        )
        chosen = _decided(block)
        try:
            decided = moment(chosen, "data do evento") if chosen else item["data_atualizacao"]
        except RecordError as exc:
            raise RecordError(f"resultado do item {numero}: data do evento inválida {chosen!r}") from exc
    except RecordError as exc:
        out.bad.append(
            {
                "kind": "resultado",
                "source": source,
                "reason": str(exc),
                "raw": raw,
                "key": f"{item['numero_controle_pncp']}#{numero}",
            }
        )
        return
    out.results.append(
        {
            "numero_controle_pncp": item["numero_controle_pncp"],
            "numero_item": numero,
            "sequencial_resultado": 1,
            "tipo_pessoa": kind,
            "ni_fornecedor": raw["niFornecedor"] if private else digits,
            "nome_fornecedor": None if private else name[:300],
            "porte_fornecedor_id": None,
            "quantidade_homologada": amount,
            "valor_unitario_homologado": unit_price,
            "valor_total_homologado": round(amount * unit_price, 4)
            if amount is not None and unit_price is not None
            else None,
            "percentual_desconto": None,
            "situacao_resultado_id": 1,
            "data_resultado": decided.date(),
            "data_atualizacao": item["data_atualizacao"],
            "raw": raw,
        }
    )
