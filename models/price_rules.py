"""The rules of the pesquisa de preços (IN SEGES/ME nº 65/2021 and Lei 14.133/2021, art. 23), one plain function each,
quoting the norm in its docstring and in the message it refuses with.

Wording used: IN SEGES/ME nº 65, de 7 de julho de 2021, and Lei nº 14.133/2021, art. 23, § 1º. The windows of the
art. 5º count, per source, from the date the norm names: the law's art. 23, § 1º, II counts the contratações
similares from "a data da pesquisa de preços"; the IN counts II, III, IV and V from "a data de divulgação do edital".
Both apply where both speak (a source II price must be inside both windows).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlparse

from models.enums import Role
from models.errors import ConflictError, ForbiddenError, InvalidError
from models.price_dates import BRASILIA
from models.price_research import Method, ResearchPriceIn, ResearchStatus, Source
from models.rules import SEGREGATION, Actor, same_orgao

IN65 = "IN SEGES/ME nº 65/2021"
ART_3 = (
    f'{IN65}, art. 3º: "A pesquisa de preços será materializada em documento que conterá, no mínimo: I - descrição do '
    "objeto a ser contratado; II - identificação do agente responsável pela cotação ou, se for o caso, da equipe de "
    "planejamento; III - caracterização das fontes consultadas; IV - série de preços coletados; V - método "
    "estatístico aplicado para a definição do valor estimado; VI - justificativas para a metodologia utilizada, em "
    "especial para a desconsideração de valores inconsistentes, inexequíveis ou excessivamente elevados, se "
    "aplicável; VII - memória de cálculo do valor estimado e documentos que lhe dão suporte; e VIII - justificativa "
    'da escolha dos fornecedores, no caso da pesquisa direta de que dispõe o inciso IV do art. 5º."'
)
ART_5 = {
    Source.SISTEMAS_OFICIAIS: (
        f'{IN65}, art. 5º, I: "composição de custos unitários menores ou iguais à mediana do item correspondente nos '
        "sistemas oficiais de governo, como Painel de Preços ou banco de preços em saúde, observado o índice de "
        'atualização de preços correspondente"'
    ),
    Source.CONTRATACOES_SIMILARES: (
        f'{IN65}, art. 5º, II: "contratações similares feitas pela Administração Pública, em execução ou concluídas '
        "no período de 1 (um) ano anterior à data de divulgação do edital, inclusive mediante sistema de registro de "
        'preços, observado o índice de atualização de preços correspondente"; Lei 14.133/2021, art. 23, § 1º, II: '
        '"(…) no período de 1 (um) ano anterior à data da pesquisa de preços (…)"'
    ),
    Source.MIDIA_SITIOS: (
        f'{IN65}, art. 5º, III: "dados de pesquisa publicada em mídia especializada, de tabela de referência '
        "formalmente aprovada pelo Poder Executivo federal e de sítios eletrônicos especializados ou de domínio amplo, "
        "desde que atualizados no momento da pesquisa e compreendidos no intervalo de até 6 (seis) meses de "
        'antecedência da data de divulgação do edital, contendo a data e a hora de acesso"'
    ),
    Source.FORNECEDORES: (
        f'{IN65}, art. 5º, IV: "pesquisa direta com, no mínimo, 3 (três) fornecedores, mediante solicitação formal de '
        "cotação, por meio de ofício ou e-mail, desde que seja apresentada justificativa da escolha desses "
        "fornecedores e que não tenham sido obtidos os orçamentos com mais de 6 (seis) meses de antecedência da data "
        'de divulgação do edital"'
    ),
    Source.NOTAS_FISCAIS: (
        f'{IN65}, art. 5º, V: "pesquisa na base nacional de notas fiscais eletrônicas, desde que a data das notas '
        'fiscais esteja compreendida no período de até 1 (um) ano anterior à data de divulgação do edital (…)"'
    ),
}
ART_5_1 = (
    f'{IN65}, art. 5º, § 1º: "Deverão ser priorizados os parâmetros estabelecidos nos incisos I e II, devendo, em caso '
    'de impossibilidade, apresentar justificativa nos autos."'
)
ART_5_2 = (
    f'{IN65}, art. 5º, § 2º: quando a pesquisa for realizada com os fornecedores, "II - obtenção de propostas '
    "formais, contendo, no mínimo: a) descrição do objeto, valor unitário e total; b) número do Cadastro de Pessoa "
    "Física - CPF ou do Cadastro Nacional de Pessoa Jurídica - CNPJ do proponente; c) endereços físico e eletrônico e "
    'telefone de contato; d) data de emissão; e e) nome completo e identificação do responsável"; "IV - registro, '
    "nos autos do processo da contratação correspondente, da relação de fornecedores que foram consultados e não "
    'enviaram propostas como resposta à solicitação"'
)
ART_6 = (
    f'{IN65}, art. 6º: "Serão utilizados, como métodos para obtenção do preço estimado, a média, a mediana ou o menor '
    "dos valores obtidos na pesquisa de preços, desde que o cálculo incida sobre um conjunto de três ou mais preços, "
    "oriundos de um ou mais dos parâmetros de que trata o art. 5º, desconsiderados os valores inexequíveis, "
    'inconsistentes e os excessivamente elevados."'
)
ART_6_1 = (
    f'{IN65}, art. 6º, § 1º: "Poderão ser utilizados outros critérios ou métodos, desde que devidamente justificados '
    'nos autos pelo gestor responsável e aprovados pela autoridade competente."'
)
ART_6_2 = (
    f'{IN65}, art. 6º, § 2º: "Com base no tratamento de que trata o caput, o preço estimado da contratação poderá ser '
    "obtido, ainda, acrescentando ou subtraindo determinado percentual, de forma a aproximar o valor estimado do "
    'valor praticado no mercado, desde que devidamente justificado."'
)
ART_6_3 = (
    f'{IN65}, art. 6º, § 3º: "Para desconsideração dos preços inexequíveis, inconsistentes ou excessivamente '
    'elevados, deverão ser adotados critérios fundamentados e descritos no processo administrativo."'
)
ART_6_4 = (
    f'{IN65}, art. 6º, § 4º: "Os preços coletados devem ser analisados de forma crítica, em especial, quando houver '
    'grande variação entre os valores apresentados."'
)
ART_6_5 = (
    f'{IN65}, art. 6º, § 5º: "Excepcionalmente, será admitida a determinação de preço estimado com base em menos de '
    "três preços, desde que devidamente justificada nos autos pelo gestor responsável e aprovada pela autoridade "
    'competente."'
)
MIN_PRICES = 3  # art. 6º, caput: "um conjunto de três ou mais preços"


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (the last day of that month when it has no such day):
    6 months before 31/08/2026 is 28/02/2026; 1 year (12 months) before 29/02/2028 is 28/02/2027."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


# (months, the date it counts from) per source, as the norm names it; I names no period
WINDOWS: dict[Source, tuple[tuple[int, str], ...]] = {
    Source.SISTEMAS_OFICIAIS: (),
    Source.CONTRATACOES_SIMILARES: ((12, "pesquisa"), (12, "edital")),
    Source.MIDIA_SITIOS: ((6, "edital"),),
    Source.FORNECEDORES: ((6, "edital"),),
    Source.NOTAS_FISCAIS: ((12, "edital"),),
}
FROM_NAMES = {"pesquisa": "data da pesquisa de preços", "edital": "data de divulgação do edital"}


def check_window(source: Source, price_day: date, research_day: date, edital_day: date, today: date) -> None:
    """A price is inside its source's window (quoted in ART_5): never after today; source II dated within 1 year
    before the research date (Lei 14.133/2021, art. 23, § 1º, II) and within 1 year before the edital (IN 65, art.
    5º, II); III and IV within 6 months before the edital; V within 1 year before the edital; I has no period in
    the norm. ``edital_day`` is the planned date of the edital, or — when none is known yet — the date of the check
    (the earliest the edital can come out), so a price accepted now is checked again when the research is finalised.
    The limit day itself is inside: 1 year before 10/03/2027 reaches 10/03/2026."""
    if price_day > today:
        raise InvalidError(
            f"A data do preço ({price_day:%d/%m/%Y}) é futura: hoje é {today:%d/%m/%Y}.", campo="data", fonte=source
        )
    for months, counted_from in WINDOWS[source]:
        origin = research_day if counted_from == "pesquisa" else edital_day
        limit = months_before(origin, months)
        if price_day < limit:
            span = "1 (um) ano" if months == 12 else f"{months} (seis) meses"
            raise InvalidError(
                f"Preço de {price_day:%d/%m/%Y} fora da janela da fonte {source.value} do art. 5º: deve estar no "
                f"período de {span} anterior à {FROM_NAMES[counted_from]} ({origin:%d/%m/%Y}), isto é, desde "
                f"{limit:%d/%m/%Y}. {ART_5[source]}",
                campo="data",
                fonte=source,
            )


def cnpj_valid(digits: str) -> bool:
    """The CNPJ's two check digits (módulo 11), on its 14 digits; repeated digits are not a CNPJ."""
    if len(digits) != 14 or not digits.isdigit() or len(set(digits)) == 1:
        return False

    def check(body: str) -> str:
        weights = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2][-len(body) :]
        rest = sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11
        return "0" if rest < 2 else str(11 - rest)

    return digits[12] == check(digits[:12]) and digits[13] == check(digits[:13])


def nfe_key_valid(digits: str) -> bool:
    """The NF-e access key: 44 digits, the last a módulo 11 check digit (weights 2..9 from the right), model 55/65."""
    if len(digits) != 44 or not digits.isdigit() or digits[20:22] not in ("55", "65"):
        return False
    total = sum(int(d) * (2 + i % 8) for i, d in enumerate(reversed(digits[:43])))
    rest = total % 11
    return int(digits[43]) == (0 if rest < 2 else 11 - rest)


def _need(data: ResearchPriceIn, fields: Iterable[str], source: Source) -> None:
    missing = [f for f in fields if getattr(data, f) in (None, "")]
    if missing:
        raise InvalidError(
            f"Para um preço da fonte {source.value} do art. 5º informe: {', '.join(missing)}. {ART_5[source]}",
            campo=missing[0],
            fonte=source,
        )


def price_record(data: ResearchPriceIn, has_file: bool, now: datetime) -> tuple[date, dict[str, Any]]:
    """What each source needs (ART_5, ART_5_2), checked; returns the day the window counts and the details kept.

    - every manual price carries its evidence file (art. 3º, VII: "documentos que lhe dão suporte");
    - I: the system and the query, and the day of the query;
    - II: the contratação (PNCP control number or a description) and its date;
    - III: the address (http/https) and the date and time of access, not in the future;
    - IV: the supplier's CNPJ (check digits), name, address, contact, the person responsible, the issue date, the
      validity (not before the issue) and the formal request (ofício or e-mail) — art. 5º, § 2º, II;
    - V: the NF-e access key (44 digits, check digit) and the issue date.
    """
    source = data.fonte
    if not has_file:
        raise InvalidError(
            f"Anexe o arquivo que comprova o preço (campo 'arquivo'): a pesquisa reúne os documentos que dão "
            f"suporte ao valor estimado. {ART_3}",
            campo="arquivo",
            fonte=source,
        )
    details: dict[str, Any] = {}
    if source is Source.SISTEMAS_OFICIAIS:
        _need(data, ("sistema", "consulta", "data"), source)
        details = {"sistema": data.sistema, "consulta": data.consulta}
        day = data.data
    elif source is Source.CONTRATACOES_SIMILARES:
        _need(data, ("data",), source)
        if not (data.numero_controle_pncp or data.fonte_descricao):
            _need(data, ("numero_controle_pncp",), source)
        details = {"numero_controle_pncp": data.numero_controle_pncp, "fonte_descricao": data.fonte_descricao}
        day = data.data
    elif source is Source.MIDIA_SITIOS:
        _need(data, ("url", "acessado_em", "fonte_descricao"), source)
        assert data.url is not None and data.acessado_em is not None
        if urlparse(data.url).scheme not in ("http", "https") or not urlparse(data.url).netloc:
            raise InvalidError(f"Endereço inválido: {data.url!r}; informe o endereço http(s) da página.", campo="url")
        accessed = data.acessado_em if data.acessado_em.tzinfo else data.acessado_em.replace(tzinfo=UTC)
        if accessed > now:
            raise InvalidError(
                f"A data e hora de acesso ({accessed:%d/%m/%Y %H:%M}) é futura. {ART_5[source]}", campo="acessado_em"
            )
        details = {"url": data.url, "acessado_em": accessed.isoformat(), "fonte_descricao": data.fonte_descricao}
        day = accessed.astimezone(BRASILIA).date()  # the day in Brasília, as the research's own date
    elif source is Source.FORNECEDORES:
        fields = ("fornecedor_cnpj", "fornecedor_nome", "fornecedor_endereco", "fornecedor_contato")
        _need(data, (*fields, "responsavel_nome", "data_emissao", "validade", "solicitacao"), source)
        assert data.fornecedor_cnpj is not None and data.data_emissao is not None and data.validade is not None
        if not cnpj_valid(data.fornecedor_cnpj):
            raise InvalidError(
                f"CNPJ do fornecedor inválido ({data.fornecedor_cnpj}): confira os dígitos verificadores. {ART_5_2}",
                campo="fornecedor_cnpj",
            )
        if data.validade < data.data_emissao:
            raise InvalidError(
                f"A validade da proposta ({data.validade:%d/%m/%Y}) é anterior à sua emissão "
                f"({data.data_emissao:%d/%m/%Y}).",
                campo="validade",
            )
        details = {f: getattr(data, f) for f in (*fields, "responsavel_nome", "solicitacao")}
        details |= {"data_emissao": data.data_emissao.isoformat(), "validade": data.validade.isoformat()}
        day = data.data_emissao
    else:
        _need(data, ("chave_nfe", "data"), source)
        assert data.chave_nfe is not None
        if not nfe_key_valid(data.chave_nfe):
            raise InvalidError(
                f"Chave de acesso da NF-e inválida ({data.chave_nfe}): 44 dígitos, modelo 55 ou 65, com o dígito "
                "verificador (módulo 11).",
                campo="chave_nfe",
            )
        details = {"chave_nfe": data.chave_nfe}
        day = data.data
    if data.observacao:
        details["observacao"] = data.observacao
    assert day is not None
    return day, details


def check_open(research_status: ResearchStatus | None) -> None:
    """A research is opened once per document until it is finalised; the finalised one stays as it is."""
    if research_status is ResearchStatus.EM_ANDAMENTO:
        raise ConflictError("Já há uma pesquisa de preços em andamento para este documento: continue-a.")


RESEARCH_CLOSED = ("aprovado", "consolidado", "assinado", "publicado", "cancelado")


def check_document_open(document_status: str) -> None:
    """The research belongs to the planning of the document: it is opened and completed before the approval, so the
    approved estimate is the one of the research it cites (Lei 14.133/2021, art. 18, §1º, VI); an approved or
    consolidated document gets a new research only in a new version."""
    if document_status in RESEARCH_CLOSED:
        raise ConflictError(
            f"O documento está '{document_status}': a pesquisa de preços é feita na fase de planejamento, antes da "
            "aprovação. Para rever a estimativa de um documento consolidado, abra uma nova versão dele."
        )


def check_editable(status: ResearchStatus) -> None:
    """A finalised research is a closed act: its prices, decisions and report do not change (art. 3º)."""
    if status is ResearchStatus.FINALIZADA:
        raise ConflictError(
            "A pesquisa de preços foi finalizada: é um ato documentado (IN SEGES/ME nº 65/2021, art. 3º) e não muda. "
            "Para rever os preços, abra uma nova pesquisa (POST …/price-research)."
        )


def check_researcher(actor: Actor, responsaveis: Iterable[str]) -> None:
    """Researching prices is an act of the planning team (Lei 14.133/2021, art. 18, caput) — of the agents the
    research names as responsible (IN 65/2021, art. 3º, II)."""
    if not actor.has(Role.EQUIPE_PLANEJAMENTO):
        raise ForbiddenError(
            f"{actor.name} ({actor.identifier}) não integra a equipe de planejamento: a pesquisa de preços é feita "
            "pelos agentes responsáveis ou pela equipe de planejamento (IN SEGES/ME nº 65/2021, art. 3º, II).",
            rule="IN 65/2021, art. 3º, II",
        )
    if actor.identifier not in set(responsaveis):
        raise ForbiddenError(
            f"{actor.name} ({actor.identifier}) não está entre os responsáveis por esta pesquisa "
            f"({', '.join(responsaveis)}): inclua-o em 'responsaveis' (IN SEGES/ME nº 65/2021, art. 3º, II).",
            rule="IN 65/2021, art. 3º, II",
        )


def check_item_approval(actor: Actor, orgao: str, justified_by: str | None, what: str) -> None:
    """The §1º method and the §5º exception are approved by the competent authority of the document's órgão
    (ART_6_1, ART_6_5), who is not the gestor who justified them (segregation of functions, Lei 14.133/2021, art.
    7º, § 1º)."""
    rule = ART_6_5 if what == "excecao" else ART_6_1
    if not actor.has(Role.AUTORIDADE_COMPETENTE) or not same_orgao(actor.orgao, orgao):
        raise ForbiddenError(
            f"{actor.name} ({actor.identifier}) não é autoridade competente do órgão '{orgao}'. {rule}",
            rule="IN 65/2021, art. 6º",
        )
    if justified_by and justified_by == actor.identifier:
        raise ForbiddenError(
            f"{actor.name} ({actor.identifier}) justificou o que aprovaria. {SEGREGATION}", rule="art. 7º, §1º"
        )


def item_problems(
    *,
    numero: int,
    kept: int,
    cv: float | None,
    cv_limit: float,
    method: Method | None,
    method_justification: str | None,
    other_value: Decimal | None,
    other_approved: bool,
    percent: Decimal | None,
    percent_justification: str | None,
    critical_analysis: str | None,
    exception_justification: str | None,
    exception_approved: bool,
) -> list[str]:
    """What an item still lacks for the research to be finalised (empty: nothing):

    - at least 3 prices after the discarding (ART_6), or fewer only with the gestor's justification approved by the
      competent authority (ART_6_5) — and never none;
    - a method chosen, with its justification (art. 3º, V and VI); "outro" with its value, justified and approved
      (ART_6_1);
    - a percentage only with its justification (ART_6_2);
    - the critical analysis when the coefficient of variation passes ``cv_limit`` (ART_6_4)."""
    out, label = [], f"item {numero}"
    if kept == 0:
        out.append(f"{label}: nenhum preço válido; registre preços das fontes do art. 5º.")
    elif kept < MIN_PRICES and not (exception_justification and exception_approved):
        out.append(
            f"{label}: {kept} preço(s) válido(s), menos de {MIN_PRICES}: exige a justificativa do gestor "
            f"('excecao_justificativa') aprovada pela autoridade competente. {ART_6_5}"
        )
    if method is None or not (method_justification and method_justification.strip()):
        out.append(f"{label}: escolha o método ('metodo') e justifique-o ('metodo_justificativa'). {ART_6}")
    elif method is Method.OUTRO and (other_value is None or not other_approved):
        out.append(
            f"{label}: outro método exige o valor ('valor_outro'), a justificativa e a aprovação da autoridade "
            f"competente. {ART_6_1}"
        )
    if percent not in (None, Decimal(0)) and not (percent_justification and percent_justification.strip()):
        out.append(f"{label}: o percentual exige justificativa ('percentual_justificativa'). {ART_6_2}")
    if cv is not None and cv > cv_limit and not (critical_analysis and critical_analysis.strip()):
        out.append(
            f"{label}: coeficiente de variação de {cv * 100:.1f}% acima de {cv_limit * 100:.1f}%: registre a análise "
            f"crítica ('analise_critica'). {ART_6_4}"
        )
    return out


def source_problems(sources: set[Source], justification: str | None) -> list[str]:
    """Sources I and II come first (ART_5_1): a research that uses neither justifies it."""
    if sources & {Source.SISTEMAS_OFICIAIS, Source.CONTRATACOES_SIMILARES}:
        return []
    if justification and justification.strip():
        return []
    return [f"A pesquisa não usa as fontes I nem II do art. 5º: justifique ('justificativa_fontes'). {ART_5_1}"]


def supplier_problems(quoted: set[str], silent: set[str], justification: str | None) -> list[str]:
    """A direct research with suppliers (art. 5º, IV: quoted in ART_5) asks at least 3 suppliers (those who quoted
    and those who did not answer, recorded as art. 5º, § 2º, IV asks) and justifies their choice (art. 3º, VIII)."""
    if not quoted:
        return []
    out = []
    if len(quoted | silent) < MIN_PRICES:
        out.append(
            f"A pesquisa direta consultou {len(quoted | silent)} fornecedor(es): são no mínimo 3, os que responderam "
            f"e os que não enviaram proposta ('fornecedores_sem_resposta'). {ART_5[Source.FORNECEDORES]} {ART_5_2}"
        )
    if not (justification and justification.strip()):
        out.append(f"Justifique a escolha dos fornecedores ('justificativa_fornecedores'). {ART_3}")
    return out


def research_for_approval(has_items: bool, finalised: dict[str, Any] | None, items: list[dict[str, Any]]) -> None:
    """An ETP/TR that lists items is approved on a finalised pesquisa de preços of those same items: the estimate of
    the contratação (Lei 14.133/2021, art. 18, § 1º, VI, and art. 23) comes from the documented research (IN 65/2021,
    art. 3º)."""
    if not has_items:
        return
    if finalised is None:
        raise InvalidError(
            "O documento lista itens e não tem pesquisa de preços finalizada: a estimativa do valor (Lei "
            "14.133/2021, art. 18, § 1º, VI, e art. 23) vem da pesquisa documentada (IN SEGES/ME nº 65/2021, "
            "art. 3º). Abra, conclua e finalize a pesquisa (POST …/price-research, …/finalize).",
            campo="price_research",
        )
    if not same_items(finalised["itens"], items):
        raise InvalidError(
            "Os itens do documento mudaram depois da pesquisa de preços finalizada: abra uma nova pesquisa para os "
            "itens atuais e finalize-a antes da aprovação.",
            campo="price_research",
        )


def same_items(frozen: list[dict[str, Any]], items: list[dict[str, Any]]) -> bool:
    """The same items in the same order: description (case and spacing aside), catalogue code (leading zeros aside),
    unit and quantity."""
    return [_key(i) for i in frozen] == [_key(i) for i in items]


def _key(item: dict[str, Any]) -> tuple[Any, ...]:
    quantity = item.get("quantidade")
    return (
        " ".join(str(item.get("descricao") or "").split()).casefold(),
        (item.get("codigo_catalogo") or "").strip().lstrip("0"),
        " ".join(str(item.get("unidade") or "").split()).casefold(),
        None if quantity in (None, "") else Decimal(str(quantity)).normalize(),
    )
