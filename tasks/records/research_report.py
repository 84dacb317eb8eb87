"""The Relatório de Pesquisa de Preços: a finalised research's frozen figures (``models.crud.price_research.analysis``)
as a document whose sections are the elements of IN SEGES/ME nº 65/2021, art. 3º, I to VIII, printed by the same
DOCX/PDF renderers as the ETP/TR (``tasks.render``) and stored like their files (``tasks.storage``).

Every price of every item is listed in its mapa de apuração — source, reference, date, original value, index
factor, corrected value, valid or discarded with the reason — so the report is the whole record, not a summary."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from models.price_dates import BRASILIA
from models.price_research import METHOD_NAMES, SOURCE_NAMES, Method, Source
from tasks.prices.outliers import number_br
from tasks.prices.study import ML_NOTE, brl, unit_brl
from tasks.prices.tables import NBSP, table
from tasks.render.model import Person, RenderDocument, RenderSection, Responsibles

KIND = "PP"
TITLE = "Relatório de Pesquisa de Preços"
BASIS = "IN SEGES/ME nº 65/2021, art. 3º, {}"
SECTIONS = (
    ("I", "Descrição do objeto"),
    ("II", "Agentes responsáveis pela pesquisa"),
    ("III", "Caracterização das fontes consultadas"),
    ("IV", "Série de preços coletados (mapa de apuração)"),
    ("V", "Método estatístico aplicado"),
    ("VI", "Justificativas da metodologia e dos descartes"),
    ("VII", "Memória de cálculo e documentos de suporte"),
    ("VIII", "Justificativa da escolha dos fornecedores"),
)
PRICE_HEADER = ("Fonte", "Referência", "Data", "Valor original", "Fator", "Valor corrigido", "Situação")


def _cell(text: str) -> str:
    """Money in a table cell: the symbol never split from the number (a no-break space)."""
    return text.replace(" ", NBSP)


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _day(value: str | None) -> str:
    return datetime.date.fromisoformat(value[:10]).strftime("%d/%m/%Y") if value else "—"


def _who(figures: dict[str, Any], identifier: str | None) -> str:
    if not identifier:
        return "—"
    return f"{figures['pessoas'].get(identifier, identifier)} (matrícula {identifier})"


def _reference(price: dict[str, Any]) -> str:
    """Where the price comes from, as the source's fields say it."""
    d = price["detalhes"]
    source = price["fonte"]
    if source == Source.CONTRATACOES_SIMILARES and price["origem"] == "pncp":
        where = f"{d.get('uf') or '—'} {d.get('link') or ''}"
        return f"PNCP {d.get('numero_controle_pncp')}, item {d.get('numero_item')}, {where}"
    if source == Source.CONTRATACOES_SIMILARES:
        return " ".join(filter(None, [d.get("numero_controle_pncp"), d.get("fonte_descricao")]))
    if source == Source.SISTEMAS_OFICIAIS:
        return f"{d.get('sistema')}: {d.get('consulta')}"
    if source == Source.MIDIA_SITIOS:
        accessed = datetime.datetime.fromisoformat(d["acessado_em"]).astimezone(BRASILIA).strftime("%d/%m/%Y %H:%M")
        return f"{d.get('fonte_descricao')} — {d.get('url')} (acesso em {accessed}, horário de Brasília)"
    if source == Source.FORNECEDORES:
        return (
            f"{d.get('fornecedor_nome')}, CNPJ {_cnpj(d.get('fornecedor_cnpj'))}; proposta de "
            f"{_day(d.get('data_emissao'))}, válida até {_day(d.get('validade'))}; solicitação: {d.get('solicitacao')}"
        )
    return f"NF-e {d.get('chave_nfe')}"


def _cnpj(digits: str | None) -> str:
    if not digits or len(digits) != 14:
        return digits or "—"
    return f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}/{digits[8:12]}-{digits[12:]}"


def _situation(price: dict[str, Any]) -> str:
    if price["situacao"] == "valido":
        if price.get("decisao") == "mantido":
            return f"válido — mantido por decisão: {price.get('decisao_motivo')}"
        return "válido"
    return f"descartado — {price['motivo']}"


def _item_title(item: dict[str, Any]) -> str:
    code = f" (CATMAT/CATSER {item['codigo_catalogo']})" if item.get("codigo_catalogo") else ""
    return f"Item {item['numero']} — {item['descricao']}{code}"


def _quantity(value: str | None) -> str:
    return "—" if value is None else number_br(float(value), 6).rstrip("0").rstrip(",")


def objeto(figures: dict[str, Any]) -> str:
    rows = [
        (
            i["numero"],
            i["descricao"],
            i.get("codigo_catalogo") or "—",
            i.get("unidade") or "—",
            _quantity(i["quantidade"]),
        )
        for i in figures["itens"]
    ]
    return "\n".join(
        [
            f"Objeto: {figures['objeto']}. Processo nº {figures['numero_processo']}, {figures['orgao']}.",
            "",
            *table(("Item", "Descrição", "CATMAT/CATSER", "Unidade", "Quantidade"), "lllll", rows),
        ]
    )


def agentes(figures: dict[str, Any]) -> str:
    lines = [f"- {_who(figures, p)}" for p in figures["responsaveis"]]
    return "\n".join(
        [
            "Agentes responsáveis pela pesquisa de preços:",
            "",
            *lines,
            "",
            f"Pesquisa aberta em {_day(figures['data_pesquisa'])} por {_who(figures, figures['aberta_por'])} "
            f"(data da pesquisa, fixada na abertura) e finalizada em {_day(figures['finalizada_em'])} por "
            f"{_who(figures, figures['finalizada_por'])}.",
        ]
    )


def fontes(figures: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for item in figures["itens"]:
        for price in item["precos"]:
            counts[price["fonte"]] = counts.get(price["fonte"], 0) + 1
    rows = [(f"art. 5º, {s.value}", SOURCE_NAMES[s], counts.get(s.value, 0)) for s in Source if counts.get(s.value)]
    edital = figures.get("data_prevista_edital")
    lines = [
        *table(("Parâmetro", "Fonte", "Preços"), "llr", rows),
        "",
        f"Data da pesquisa: {_day(figures['data_pesquisa'])}. "
        + (
            f"Data prevista de divulgação do edital: {_day(edital)}."
            if edital
            else f"Data de divulgação do edital não informada: as janelas da IN contaram de "
            f"{_day(figures['janelas_contadas_de'])}, data da finalização; divulgado o edital depois, as janelas "
            "devem ser conferidas de novo."
        ),
        "",
        "Janelas aplicadas (art. 5º): II — contratações em até 1 ano antes da data da pesquisa (Lei nº 14.133/2021, "
        "art. 23, § 1º, II) e da divulgação do edital; III e IV — até 6 meses antes da divulgação do edital; V — "
        "notas fiscais de até 1 ano antes da divulgação do edital.",
    ]
    if figures["pncp_coletados"]:
        lines += ["", f"Reunidos automaticamente dos dados coletados do PNCP: {figures['pncp_coletados']} preço(s)."]
    if figures.get("indice"):
        month = figures.get("indice_mes_referencia")
        lines += [
            "",
            f"Preços atualizados pelo índice {figures['indice']} (número-índice do mês da pesquisa ÷ o do mês do "
            f'preço; art. 5º, I e II: "observado o índice de atualização de preços correspondente"), com o '
            f"último mês publicado na série, {month}, no lugar do mês da pesquisa quando este ainda não tem índice.",
        ]
    if figures.get("justificativa_fontes"):
        lines += ["", f"Justificativa (art. 5º, § 1º, fontes I e II não utilizadas): {figures['justificativa_fontes']}"]
    return "\n".join(lines)


def serie(figures: dict[str, Any]) -> str:
    lines: list[str] = []
    for item in figures["itens"]:
        rows = [
            (
                f"{p['fonte']}",
                _reference(p),
                _day(p["data"]),
                _cell(unit_brl(_d(p["valor_original"]))),
                p["fator_correcao"].replace(".", ","),
                _cell(unit_brl(_d(p["valor_corrigido"]))),
                _situation(p),
            )
            for p in item["precos"]
        ]
        lines += [f"## {_item_title(item)}", ""]
        lines += [*table(PRICE_HEADER, "llcrrrl", rows), ""] if rows else ["Nenhum preço coletado.", ""]
    return "\n".join(lines).strip()


def metodo(figures: dict[str, Any]) -> str:
    lines = [f"Critério de descarte automático: {figures['criterio_descarte']}", ""]
    for item in figures["itens"]:
        cv = item["coeficiente_variacao"]
        rows = [
            ("Preços coletados / válidos", f"{item['n_coletados']} / {item['n_validos']}"),
            ("Média de todos os preços", _cell(unit_brl(_d(item["media_todos"])))),
            ("Média saneada (preços válidos)", _cell(unit_brl(_d(item["media"])))),
            ("Mediana (preços válidos)", _cell(unit_brl(_d(item["mediana"])))),
            ("Menor valor (preços válidos)", _cell(unit_brl(_d(item["menor_valor"])))),
            ("Coeficiente de variação", "—" if cv is None else f"{number_br(cv * 100, 1)}%"),
        ]
        suggested = item.get("metodo_sugerido")
        lines += [f"## {_item_title(item)}", "", *table(("Estatística", "Valor"), "lr", rows), ""]
        lines += [
            f"Método sugerido pelo sistema: {METHOD_NAMES[Method(suggested)] if suggested else 'nenhum'} — "
            f"{item['metodo_sugerido_motivo']}.",
            "",
            f"Método escolhido: {item['metodo_nome']}, decidido por {_who(figures, item.get('decidido_por'))}.",
            "",
        ]
        if item.get("metodo") == Method.OUTRO:
            lines += [f"Outro método (art. 6º, § 1º): {item.get('metodo_outro_descricao') or '—'}.", ""]
    return "\n".join(lines).strip()


def justificativas(figures: dict[str, Any]) -> str:
    lines = [
        "Descarte de valores inexequíveis, inconsistentes ou excessivamente elevados (art. 6º, caput e § 3º): "
        f"{figures['criterio_descarte']}",
        "",
    ]
    for item in figures["itens"]:
        lines += [f"## {_item_title(item)}", "", f"Justificativa do método: {item.get('metodo_justificativa')}", ""]
        approval = item.get("metodo_aprovacao")
        if approval:
            lines += [
                f"Outro método aprovado pela autoridade competente {_who(figures, approval['por'])} em "
                f"{_day(approval['em'])}: {approval['despacho']}",
                "",
            ]
        decided = [p for p in item["precos"] if p.get("decisao")]
        for p in decided:
            verb = "excluído" if p["decisao"] == "excluido" else "mantido apesar do critério automático"
            lines += [
                f"- Preço de {unit_brl(_d(p['valor_original']))} ({p['fonte']}, {_day(p['data'])}) {verb} por "
                f"{_who(figures, p.get('decisao_por'))}: {p.get('decisao_motivo')}"
            ]
        discarded = [p for p in item["precos"] if p["situacao"] == "descartado" and not p.get("decisao")]
        for p in discarded:
            lines += [f"- Preço de {unit_brl(_d(p['valor_original']))} descartado pelo critério: {p['motivo']}"]
        if decided or discarded:
            lines += [""]
        if item.get("percentual") and Decimal(item["percentual"]):
            lines += [
                f"Percentual de {number_br(float(item['percentual']), 2)}% (art. 6º, § 2º): "
                f"{item.get('percentual_justificativa')}",
                "",
            ]
        if item.get("analise_critica"):
            lines += [f"Análise crítica (art. 6º, § 4º): {item['analise_critica']}", ""]
        exception = item.get("excecao")
        if exception:
            approved = exception.get("aprovacao") or {}
            lines += [
                "Menos de três preços (art. 6º, § 5º) — justificativa do gestor "
                f"{_who(figures, exception.get('por'))}: "
                f"{exception.get('justificativa')} Aprovada pela autoridade competente "
                f"{_who(figures, approved.get('por'))} em {_day(approved.get('em'))}: {approved.get('despacho')}",
                "",
            ]
    return "\n".join(lines).strip()


def memoria(figures: dict[str, Any]) -> str:
    rows = [
        (
            i["numero"],
            i["descricao"],
            _cell(unit_brl(_d(i["valor_unitario"]))),
            _quantity(i["quantidade"]),
            _cell(brl(_d(i["valor_total"]))),
        )
        for i in figures["itens"]
    ]
    lines = []
    for item in figures["itens"]:
        lines += [f"- Item {item['numero']}: {item.get('memoria_calculo') or '—'}"]
    lines += [
        "",
        *table(("Item", "Descrição", "Valor unitário", "Quantidade", "Valor total"), "llrrr", rows),
        "",
        f"Valor total estimado: {brl(_d(figures['valor_total']))}.",
        "",
        figures["arredondamento"],
        "",
        ML_NOTE,
    ]
    evidence = [
        (i["numero"], p["fonte"], p["evidencia"]["nome"], p["evidencia"]["sha256"])
        for i in figures["itens"]
        for p in i["precos"]
        if p.get("evidencia")
    ]
    if evidence:
        lines += [
            "",
            "Documentos de suporte (arquivos guardados com a pesquisa; SHA-256 para conferência):",
            "",
            *table(("Item", "Fonte", "Arquivo", "SHA-256"), "llll", evidence),
        ]
    return "\n".join(lines)


def fornecedores(figures: dict[str, Any]) -> str | None:
    quotes = [p for i in figures["itens"] for p in i["precos"] if p["fonte"] == Source.FORNECEDORES]
    if not quotes:
        return None
    lines = [figures.get("justificativa_fornecedores") or "", ""]
    silent = figures.get("fornecedores_sem_resposta") or []
    if silent:
        rows = [(s["nome"], _cnpj(s["cnpj"]), _day(s["solicitado_em"]), s["meio"]) for s in silent]
        lines += [
            "Fornecedores consultados que não enviaram proposta (art. 5º, § 2º, IV):",
            "",
            *table(("Fornecedor", "CNPJ", "Solicitado em", "Meio"), "llcl", rows),
        ]
    return "\n".join(lines).strip()


def report(figures: dict[str, Any]) -> RenderDocument:
    """The report of a finalised research, as the renderers read it."""
    bodies = {
        "I": objeto(figures),
        "II": agentes(figures),
        "III": fontes(figures),
        "IV": serie(figures),
        "V": metodo(figures),
        "VI": justificativas(figures),
        "VII": memoria(figures),
        "VIII": fornecedores(figures),
    }
    sections = tuple(
        RenderSection(
            code=code,
            title=title,
            legal_basis=BASIS.format(code),
            required=code != "VIII",
            content=bodies[code],
            justification=None
            if bodies[code]
            else "não houve pesquisa direta com fornecedores (IN SEGES/ME nº 65/2021, art. 5º, IV).",
        )
        for code, title in SECTIONS
    )
    prepared = tuple(Person(figures["pessoas"].get(p, p), p) for p in figures["responsaveis"])
    finished = datetime.datetime.fromisoformat(figures["finalizada_em"])
    return RenderDocument(
        kind=KIND,
        titulo=figures["objeto"],
        numero_processo=figures["numero_processo"],
        orgao=figures["orgao"],
        unidade=figures.get("unidade") or "",
        version=figures["document_version"],
        template_name=TITLE,
        template_version=1,
        issued_on=finished.date(),
        sections=sections,
        responsibles=Responsibles(prepared_by=prepared),
        marking="Anexo classificado — orçamento estimado sigiloso" if figures.get("classificado") else None,
    )


def render_and_store(figures: dict[str, Any], classified: bool) -> list[dict[str, Any]]:
    """DOCX and PDF of the report, stored (content-addressed keys) beside the document's files."""
    from tasks.render.files import render_all
    from tasks.storage.store import put_files

    files = render_all(report(figures | {"classificado": classified}))
    return put_files(
        f"{figures['document_id']}/pesquisa-{figures['id']}", figures["document_version"], files, classified
    )


ESTIMATE_TITLE = "Estimativa do valor da contratação (pesquisa de preços finalizada)"


def estimate_block(figures: dict[str, Any]) -> str:
    """What ETP element VI and TR alínea i receive from a finalised research: its figures verbatim, cited — the
    quadro with each item's method, unit value and total, the research total, each item's statistics, the rounding
    rule and the note that a model estimate is no parameter of art. 5º."""
    who = ", ".join(_who(figures, p) for p in figures["responsaveis"])
    reports = {r["format"]: r["sha256"] for r in figures.get("relatorio", [])}
    cite = (
        f"Fonte: Relatório de Pesquisa de Preços (IN SEGES/ME nº 65/2021, art. 3º), pesquisa de "
        f"{_day(figures['data_pesquisa'])}, finalizada em {_day(figures['finalizada_em'])}; responsáveis: {who}"
        + (f"; SHA-256 do PDF: {reports['pdf']}" if "pdf" in reports else "")
        + "."
    )
    rows = [
        (
            i["numero"],
            i["descricao"],
            i.get("unidade") or "—",
            _quantity(i["quantidade"]),
            i["metodo_nome"],
            _cell(unit_brl(_d(i["valor_unitario"]))),
            _cell(brl(_d(i["valor_total"]))),
        )
        for i in figures["itens"]
    ]
    rows.append(("**Total**", "", "", "", "", "", f"**{_cell(brl(_d(figures['valor_total'])))}**"))
    lines = [
        f"# {ESTIMATE_TITLE}",
        "",
        cite,
        "",
        *table(
            ("Item", "Descrição", "Unidade", "Quantidade", "Método", "Valor unitário", "Valor total"), "cllrlrr", rows
        ),
        "",
    ]
    for item in figures["itens"]:
        cv = item["coeficiente_variacao"]
        lines += [
            f"- Item {item['numero']}: {item['n_validos']} preço(s) válido(s) de {item['n_coletados']} coletado(s); "
            f"média {unit_brl(_d(item['media']))}, mediana {unit_brl(_d(item['mediana']))}, menor valor "
            f"{unit_brl(_d(item['menor_valor']))}"
            + ("" if cv is None else f", coeficiente de variação {number_br(cv * 100, 1)}%")
            + f". Memória de cálculo: {item.get('memoria_calculo')}"
        ]
    lines += ["", figures["arredondamento"], "", ML_NOTE]
    return "\n".join(lines)
