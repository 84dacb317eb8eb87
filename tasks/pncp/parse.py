"""PNCP records → validated rows for the market tables; a record that fails raises RecordError with the reason.

Dates come without a time zone (Brasília local time) and are kept as such; money and quantities may come as
numbers or as Brazilian-formatted strings ("1.234,56"); units are normalised to a short code; the control
number is checked against its own parts; a PF supplier's CPF and name never reach the tables.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import date, datetime
from typing import Any

from core.crypto import pseudonym_key
from models.personal_data import cpf_like

CONTROL = re.compile(r"^(\d{14})-1-(\d{6})/(\d{4})$")
UNITS = (  # (pattern on the folded text, code); first match wins
    (r"^(un|und|unid|unidade|unidades|unit|pc|peca|pecas)\b(?!.*\b(ml|mililitro|litro|grama|kg)\b)", "UN"),
    (r"\bmililitros?\b|^ml\b", "ML"),
    (r"\blitros?\b|^l$|^lt$", "L"),
    (r"\bquilogramas?\b|^kg\b", "KG"),
    (r"\bgramas?\b|^g$|^gr$", "G"),
    (r"\bcaixas?\b|^cx\b", "CX"),
    (r"\bpacotes?\b|^pct\b|^pc?t$", "PCT"),
    (r"\bfrascos?\b|^fr$", "FR"),
    (r"\bmetros? quadrados?\b|^m2$", "M2"),
    (r"\bmetros?\b|^m$", "M"),
    (r"\bresmas?\b", "RESMA"),
    (r"\b(diarias?|dia)\b", "DIA"),
    (r"\b(mes|mensal|meses)\b", "MES"),
    (r"\b(horas?|h)\b", "H"),
    (r"\b(servicos?|sv)\b", "SERVICO"),
    (r"\bkits?\b", "KIT"),
    (r"\b(conjuntos?|cj)\b", "CJ"),
)


class RecordError(ValueError):
    """The record cannot be stored; the message says why."""


def fold(text: str) -> str:
    """Lower case, accents removed, spaces collapsed."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", plain).strip().lower()


def normalise_unit(raw: str | None) -> str | None:
    if not raw or not raw.strip():
        return None
    folded = fold(raw).replace(".", " ").strip()
    for pattern, code in UNITS:
        if re.search(pattern, folded):
            return code
    return folded.upper()[:40]


def money(value: Any, name: str, *, negative: bool = False) -> float | None:
    """A number from JSON, or from a Brazilian-formatted string; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RecordError(f"{name}: valor inválido {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().replace("R$", "").strip()
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        try:
            number = float(text)
        except ValueError as exc:
            raise RecordError(f"{name}: valor inválido {value!r}") from exc
    else:
        raise RecordError(f"{name}: valor inválido {value!r}")
    if number != number or number in (float("inf"), float("-inf")):
        raise RecordError(f"{name}: valor inválido {value!r}")
    if number < 0 and not negative:
        raise RecordError(f"{name}: valor negativo {value!r}")
    return number


def when(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise RecordError(f"{name}: data inválida {value!r}")
    text = value.strip().replace("Z", "")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise RecordError(f"{name}: data inválida {value!r}") from exc
    return moment.replace(tzinfo=None)


def day(value: Any, name: str) -> date | None:
    moment = when(value, name)
    return moment.date() if moment else None


def integer(value: Any, name: str, *, required: bool = False, minimum: int | None = None) -> int | None:
    if value in (None, ""):
        if required:
            raise RecordError(f"{name}: ausente")
        return None
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise RecordError(f"{name}: inteiro inválido {value!r}") from exc
    if isinstance(value, float) and value != number:
        raise RecordError(f"{name}: inteiro inválido {value!r}")
    if minimum is not None and number < minimum:
        raise RecordError(f"{name}: {number} menor que {minimum}")
    return number


def text(value: Any, limit: int | None = None) -> str | None:
    if value is None:
        return None
    out = str(value).strip()
    return out[:limit] if limit else out


def _dict(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(f"{name}: objeto esperado")
    return value


def check_control(control: Any) -> tuple[str, int, int]:
    """numeroControlePNCP → (CNPJ, sequencial, ano)."""
    match = CONTROL.match(control) if isinstance(control, str) else None
    if not match:
        raise RecordError(f"numeroControlePNCP inválido: {control!r}")
    return match.group(1), int(match.group(2)), int(match.group(3))


def contratacao(raw: dict[str, Any]) -> dict[str, Any]:
    """A contratação of the consulta API as a pncp_contratacoes row."""
    if not isinstance(raw, dict):
        raise RecordError("registro não é um objeto JSON")
    control = raw.get("numeroControlePNCP")
    cnpj, sequencial, ano = check_control(control)
    orgao, unidade = _dict(raw.get("orgaoEntidade"), "orgaoEntidade"), _dict(raw.get("unidadeOrgao"), "unidadeOrgao")
    amparo = _dict(raw.get("amparoLegal"), "amparoLegal")
    if orgao.get("cnpj") and orgao["cnpj"] != cnpj:
        raise RecordError(f"numeroControlePNCP {control} não confere com o CNPJ do órgão {orgao['cnpj']}")
    ano_compra = integer(raw.get("anoCompra"), "anoCompra", required=True)
    if ano_compra != ano:
        raise RecordError(f"numeroControlePNCP {control} não confere com anoCompra {ano_compra}")
    if raw.get("sequencialCompra") is not None and integer(raw["sequencialCompra"], "sequencialCompra") != sequencial:
        raise RecordError(f"numeroControlePNCP {control} não confere com sequencialCompra {raw['sequencialCompra']}")
    uf = text(unidade.get("ufSigla"))
    if uf is not None and not re.fullmatch(r"[A-Z]{2}", uf):
        raise RecordError(f"unidadeOrgao.ufSigla inválida: {uf!r}")
    updated = when(raw.get("dataAtualizacao"), "dataAtualizacao")
    return {
        "numero_controle_pncp": control,
        "cnpj_orgao": cnpj,
        "razao_social_orgao": text(orgao.get("razaoSocial"), 300) or "",
        "ano_compra": ano,
        "sequencial_compra": sequencial,
        "numero_compra": text(raw.get("numeroCompra"), 60),
        "processo": text(raw.get("processo"), 120),
        "modalidade_id": integer(raw.get("modalidadeId"), "modalidadeId", required=True, minimum=1),
        "modalidade_nome": text(raw.get("modalidadeNome"), 120),
        "situacao_compra_id": integer(raw.get("situacaoCompraId"), "situacaoCompraId"),
        "srp": bool(raw.get("srp")),
        "objeto_compra": text(raw.get("objetoCompra")) or "",
        "amparo_legal_codigo": integer(amparo.get("codigo"), "amparoLegal.codigo"),
        "amparo_legal_nome": text(amparo.get("nome"), 300),
        "uf": uf,
        "municipio": text(unidade.get("municipioNome"), 120),
        "codigo_ibge": text(unidade.get("codigoIbge"), 7),
        "codigo_unidade": text(unidade.get("codigoUnidade"), 30),
        "nome_unidade": text(unidade.get("nomeUnidade"), 300),
        "valor_total_estimado": money(raw.get("valorTotalEstimado"), "valorTotalEstimado"),
        "valor_total_homologado": money(raw.get("valorTotalHomologado"), "valorTotalHomologado"),
        "data_publicacao_pncp": when(raw.get("dataPublicacaoPncp"), "dataPublicacaoPncp"),
        "data_abertura_proposta": when(raw.get("dataAberturaProposta"), "dataAberturaProposta"),
        "data_atualizacao": updated,
        "data_atualizacao_global": when(raw.get("dataAtualizacaoGlobal"), "dataAtualizacaoGlobal") or updated,
        "link_sistema_origem": text(raw.get("linkSistemaOrigem"), 1000),
        "raw": raw,
    }


def item(raw: dict[str, Any], parent: dict[str, Any]) -> dict[str, Any]:
    """An item of a compra (detail API) as a pncp_itens row; ``parent`` is the contratação's row."""
    if not isinstance(raw, dict):
        raise RecordError("item não é um objeto JSON")
    numero = integer(raw.get("numeroItem"), "numeroItem", required=True, minimum=1)
    descricao = text(raw.get("descricao"))
    if not descricao:
        raise RecordError(f"item {numero}: descricao ausente")
    kind = text(raw.get("materialOuServico"))
    if kind not in (None, "M", "S"):
        raise RecordError(f"item {numero}: materialOuServico inválido {kind!r}")
    catalogue = raw.get("catalogoCodigoItem")
    return {
        "numero_controle_pncp": parent["numero_controle_pncp"],
        "numero_item": numero,
        "descricao": descricao,
        "material_ou_servico": kind,
        "quantidade": money(raw.get("quantidade"), "quantidade"),
        "unidade_medida": text(raw.get("unidadeMedida"), 120),
        "unidade_normalizada": normalise_unit(raw.get("unidadeMedida")),
        "valor_unitario_estimado": money(raw.get("valorUnitarioEstimado"), "valorUnitarioEstimado"),
        "valor_total": money(raw.get("valorTotal"), "valorTotal"),
        "codigo_catalogo": text(catalogue, 40) if catalogue not in (None, "") else None,
        "ncm_nbs_codigo": text(raw.get("ncmNbsCodigo"), 40),
        "criterio_julgamento_id": integer(raw.get("criterioJulgamentoId"), "criterioJulgamentoId"),
        "situacao_item_id": integer(raw.get("situacaoCompraItem"), "situacaoCompraItem"),
        "tem_resultado": bool(raw.get("temResultado")),
        "orcamento_sigiloso": bool(raw.get("orcamentoSigiloso")),
        "uf": parent.get("uf"),
        "data_publicacao_pncp": parent.get("data_publicacao_pncp"),
        "data_atualizacao": when(raw.get("dataAtualizacao"), "dataAtualizacao"),
        "raw": raw,
    }


def mask_person(identifier: str) -> str:
    """A CPF as a keyed hash: the same supplier gives the same value, the number cannot be read back (the key:
    core.crypto.pseudonym_key)."""
    key = pseudonym_key()
    digits = re.sub(r"\D", "", identifier)
    return "pf:" + hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()[:32]


def natural_person(raw: dict[str, Any]) -> bool:
    """Whether a result's supplier is a natural person: ``tipoPessoa`` "PF", or an identifier of 11 digits (a CPF)
    whatever ``tipoPessoa`` says or omits (LGPD, Lei 13.709/2018: a CPF is personal data however it is labelled)."""
    return raw.get("tipoPessoa") == "PF" or cpf_like(raw.get("niFornecedor"))


def without_person(raw: Any) -> Any:
    """A result's raw JSON with a natural person's CPF hashed and name withheld (anything else unchanged)."""
    if not isinstance(raw, dict) or not natural_person(raw):
        return raw
    identifier = text(raw.get("niFornecedor"))
    return {**raw, "niFornecedor": mask_person(identifier) if identifier else None, "nomeRazaoSocialFornecedor": None}


def resultado(raw: dict[str, Any], parent_item: dict[str, Any]) -> dict[str, Any]:
    """A result of an item as a pncp_resultados row; a PF supplier's CPF is hashed and the name withheld, in the
    row and in the raw JSON kept with it."""
    if not isinstance(raw, dict):
        raise RecordError("resultado não é um objeto JSON")
    control = raw.get("numeroControlePNCPCompra")
    if control not in (None, parent_item["numero_controle_pncp"]):
        raise RecordError(f"resultado de outra compra: {control!r}")
    numero = integer(raw.get("numeroItem"), "numeroItem") or parent_item["numero_item"]
    if numero != parent_item["numero_item"]:
        raise RecordError(f"resultado do item {numero}, esperado {parent_item['numero_item']}")
    person = "PF" if natural_person(raw) else text(raw.get("tipoPessoa"), 2)
    stored = without_person(raw)
    identifier, name = text(stored.get("niFornecedor")), text(stored.get("nomeRazaoSocialFornecedor"), 300)
    return {
        "numero_controle_pncp": parent_item["numero_controle_pncp"],
        "numero_item": numero,
        "sequencial_resultado": integer(
            raw.get("sequencialResultado"), "sequencialResultado", required=True, minimum=1
        ),
        "tipo_pessoa": person,
        "ni_fornecedor": identifier,
        "nome_fornecedor": name,
        "porte_fornecedor_id": integer(raw.get("porteFornecedorId"), "porteFornecedorId"),
        "quantidade_homologada": money(raw.get("quantidadeHomologada"), "quantidadeHomologada"),
        "valor_unitario_homologado": money(raw.get("valorUnitarioHomologado"), "valorUnitarioHomologado"),
        "valor_total_homologado": money(raw.get("valorTotalHomologado"), "valorTotalHomologado"),
        "percentual_desconto": money(raw.get("percentualDesconto"), "percentualDesconto", negative=True),
        "situacao_resultado_id": integer(raw.get("situacaoCompraItemResultadoId"), "situacaoCompraItemResultadoId"),
        "data_resultado": day(raw.get("dataResultado"), "dataResultado"),
        "data_atualizacao": when(raw.get("dataAtualizacao"), "dataAtualizacao"),
        "raw": stored,
    }


def page_rows(records: list[Any], source: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A consulta page's contratações, parsed (once each), and the records that failed validation."""
    rows, bad, seen = [], [], set()
    for raw in records:
        try:
            row = contratacao(raw)
        except RecordError as exc:
            key = raw.get("numeroControlePNCP") if isinstance(raw, dict) else None
            bad.append({"kind": "contratacao", "source": source, "reason": str(exc), "raw": raw, "key": key})
            continue
        if row["numero_controle_pncp"] not in seen:
            seen.add(row["numero_controle_pncp"])
            rows.append(row)
    return rows, bad


def detail_rows(
    parent: dict[str, Any], details: dict[str, Any], source: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """A contratação's items and results (``details``: as fetched), parsed, and the records that failed validation."""
    items, results, bad = [], [], []
    for raw in details["items"]:
        try:
            row = item(raw, parent)
        except RecordError as exc:
            bad.append(
                {
                    "kind": "item",
                    "source": source,
                    "reason": str(exc),
                    "raw": raw,
                    "key": parent["numero_controle_pncp"],
                }
            )
            continue
        items.append(row)
        for raw_result in details["results"].get(row["numero_item"], []):
            try:
                results.append(resultado(raw_result, row))
            except RecordError as exc:
                bad.append(
                    {
                        "kind": "resultado",
                        "source": f"{source}/itens/{row['numero_item']}/resultados",
                        "reason": str(exc),
                        "raw": without_person(raw_result),
                        "key": f"{parent['numero_controle_pncp']}#{row['numero_item']}",
                    }
                )
    return items, results, bad
