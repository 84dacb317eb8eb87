"""The pesquisa de preços of a document: open (frozen date, people, PNCP prices gathered), record manual prices with
their evidence, exclude or reinstate a price, decide each item's method, approve the §1º/§5º cases, finalise.

Every act names its person (``Acting``) and checks its rule (``models.price_rules``); a finalised research refuses
any change. The figures come from ``tasks.prices.study``; the report from ``tasks.records.research_report``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from core.settings import settings
from models import price_dates, price_rules, rules
from models.crud.documents import Acting, get_document
from models.crud.people import as_actor
from models.db import utcnow
from models.document import AuditLog, Document
from models.errors import ConflictError, InvalidError, NotFoundError
from models.person import Person
from models.price_research import (
    ItemApproval,
    ItemDecision,
    PriceDecision,
    PriceResearch,
    ResearchItem,
    ResearchOpen,
    ResearchPrice,
    ResearchPriceIn,
    ResearchStatus,
    ResearchUpdate,
    Source,
)

if TYPE_CHECKING:
    from tasks.prices.outliers import OutlierRule

FOUR = Decimal("0.0001")


def latest(session: Session, document_id: uuid.UUID, status: ResearchStatus | None = None) -> PriceResearch | None:
    """The document's research in progress, else its latest finalised one (or only those of ``status``)."""
    query = select(PriceResearch).where(PriceResearch.document_id == document_id)
    if status is not None:
        query = query.where(PriceResearch.status == status)
    found = list(session.exec(query.order_by(col(PriceResearch.aberta_em).desc())).all())
    open_ = [r for r in found if r.status == ResearchStatus.EM_ANDAMENTO]
    return (open_ or found)[0] if found else None


def current(session: Session, document_id: uuid.UUID, *, for_update: bool = False) -> PriceResearch:
    get_document(session, document_id)
    research = latest(session, document_id)
    if research is None:
        raise NotFoundError("Este documento ainda não tem pesquisa de preços: abra-a com POST …/price-research.")
    if for_update:
        session.refresh(research, with_for_update=True)
    return research


def items_of(session: Session, research: PriceResearch) -> list[ResearchItem]:
    return list(
        session.exec(
            select(ResearchItem).where(ResearchItem.research_id == research.id).order_by(col(ResearchItem.numero))
        ).all()
    )


def prices_of(session: Session, research: PriceResearch) -> list[ResearchPrice]:
    return list(session.exec(select(ResearchPrice).where(ResearchPrice.research_id == research.id)).all())


def _item(session: Session, research: PriceResearch, numero: int) -> ResearchItem:
    item = session.exec(
        select(ResearchItem).where(ResearchItem.research_id == research.id, ResearchItem.numero == numero)
    ).first()
    if item is None:
        raise NotFoundError(f"A pesquisa não tem o item {numero}.")
    return item


def _people(session: Session, identifiers: list[str], orgao: str) -> list[str]:
    """The research's responsible agents: active people of the planning team of the document's órgão."""
    out: list[str] = []
    for identifier in identifiers:
        person = session.exec(select(Person).where(Person.identifier == identifier.strip())).first()
        if person is None or not person.active:
            raise InvalidError(
                f"'{identifier}' não é uma pessoa ativa cadastrada (responsaveis).", campo="responsaveis"
            )
        actor = as_actor(person)
        rules.check_can_plan(actor)
        if not rules.same_orgao(actor.orgao, orgao):
            raise InvalidError(f"{actor.name} ({identifier}) não é do órgão '{orgao}'.", campo="responsaveis")
        if identifier not in out:
            out.append(identifier.strip())
    return out


def _audit(session: Session, document: Document, text: str, acting: Acting) -> None:
    session.add(
        AuditLog(
            document_id=document.id,
            from_status=document.status,
            to_status=document.status,
            reason=text,
            actor=acting.app,
            person=acting.person.identifier,
            trace_id=acting.trace_id,
        )
    )


def _check_edital(day: date | None, research_day: date) -> None:
    if day is not None and day < research_day:
        raise InvalidError(
            f"A data prevista do edital ({day:%d/%m/%Y}) é anterior à data da pesquisa ({research_day:%d/%m/%Y}): o "
            "edital é divulgado depois da pesquisa que o fundamenta.",
            campo="data_prevista_edital",
        )


Collector = Callable[[list[dict[str, Any]], date, date | None], dict[int, list[dict[str, Any]]]]


def open_research(
    session: Session, document_id: uuid.UUID, data: ResearchOpen, acting: Acting, collect: Collector | None = None
) -> PriceResearch:
    """Open the research of the document's items, dated today in Brasília (frozen: never back-dated, never moved
    by a redraft), with its responsible agents (art. 3º, II; default: who opens) and, when ``collect`` is given, the
    prices of contratações similares gathered from the collected PNCP data (art. 5º, II; window capped at 365
    days)."""
    document = get_document(session, document_id, for_update=True)
    rules.check_can_plan(acting.person)
    price_rules.check_document_open(document.status)
    if not document.itens:
        raise InvalidError(
            "O documento não lista itens: a pesquisa de preços é feita para os itens da contratação (campo 'itens').",
            campo="itens",
        )
    existing = latest(session, document_id)
    if (
        existing is not None
        and existing.status == ResearchStatus.EM_ANDAMENTO
        and not _same_items(session, existing, document)
    ):
        existing.status = ResearchStatus.SUBSTITUIDA  # its items are no longer the document's: kept, replaced
        session.add(existing)
        _audit(
            session, document, f"Pesquisa de preços {existing.id} substituída: os itens do documento mudaram.", acting
        )
        existing = None
    price_rules.check_open(ResearchStatus(existing.status) if existing else None)
    today = price_dates.today()
    _check_edital(data.data_prevista_edital, today)
    people = _people(session, data.responsaveis or [acting.person.identifier], document.orgao)
    research = PriceResearch(
        document_id=document.id,
        document_version=document.version,
        data_pesquisa=today,
        data_prevista_edital=data.data_prevista_edital,
        indice=data.indice,
        responsaveis=people,
        aberta_por=acting.person.identifier,
    )
    session.add(research)
    session.flush()
    items = []
    for numero, raw in enumerate(document.itens, start=1):
        quantity = raw.get("quantidade")
        item = ResearchItem(
            research_id=research.id,
            numero=numero,
            descricao=raw.get("descricao") or "",
            codigo_catalogo=raw.get("codigo_catalogo"),
            unidade=raw.get("unidade"),
            quantidade=None if quantity is None else Decimal(str(quantity)),
        )
        session.add(item)
        items.append(raw)
    since = price_rules.months_before(data.data_prevista_edital, 12) if data.data_prevista_edital else None
    gathered = collect(items, today, since) if collect and data.coletar_pncp else {}
    count = 0
    for numero, rows in gathered.items():
        for row in rows:
            session.add(
                ResearchPrice(
                    research_id=research.id,
                    item=numero,
                    fonte=Source.CONTRATACOES_SIMILARES,
                    origem="pncp",
                    valor=Decimal(str(row["valor"])).quantize(FOUR, rounding=ROUND_HALF_UP),
                    data=row["data"],
                    detalhes=row["detalhes"],
                    registrado_por=acting.person.identifier,
                )
            )
            count += 1
    research.pncp_coletados = count
    _audit(
        session,
        document,
        f"Pesquisa de preços aberta em {today:%d/%m/%Y} (IN SEGES/ME nº 65/2021), responsáveis: {', '.join(people)}; "
        f"{count} preço(s) de contratações similares reunidos do PNCP.",
        acting,
    )
    session.flush()
    return research


def _same_items(session: Session, research: PriceResearch, document: Document) -> bool:
    """The research was opened for the document's current items (description, code, unit, quantity)."""
    frozen = [
        {
            "descricao": i.descricao,
            "codigo_catalogo": i.codigo_catalogo,
            "unidade": i.unidade,
            "quantidade": i.quantidade,
        }
        for i in items_of(session, research)
    ]
    return price_rules.same_items(frozen, document.itens)


def _editable(session: Session, document_id: uuid.UUID, acting: Acting) -> tuple[Document, PriceResearch]:
    document = get_document(session, document_id)
    research = current(session, document_id, for_update=True)
    price_rules.check_editable(ResearchStatus(research.status))
    price_rules.check_document_open(document.status)
    price_rules.check_researcher(acting.person, research.responsaveis)
    return document, research


def edital_reference(research: PriceResearch, today: date) -> date:
    """The day the art. 5º windows of the IN count back from: the planned edital date, else today (the earliest the
    edital can be published)."""
    return research.data_prevista_edital or today


def update_research(session: Session, document_id: uuid.UUID, data: ResearchUpdate, acting: Acting) -> PriceResearch:
    document, research = _editable(session, document_id, acting)
    given = data.model_dump(exclude_unset=True)
    if "data_prevista_edital" in given:
        _check_edital(data.data_prevista_edital, research.data_pesquisa)
        research.data_prevista_edital = data.data_prevista_edital
    if data.responsaveis is not None:
        research.responsaveis = _people(session, data.responsaveis, document.orgao)
    if "indice" in given:
        research.indice = data.indice or None
    for name in ("justificativa_fontes", "justificativa_fornecedores"):
        if name in given:
            setattr(research, name, (given[name] or "").strip() or None)
    if data.fornecedores_sem_resposta is not None:
        silent = []
        for entry in data.fornecedores_sem_resposta:
            digits = "".join(c for c in entry.cnpj if c.isdigit())
            if not price_rules.cnpj_valid(digits):
                raise InvalidError(f"CNPJ inválido em fornecedores_sem_resposta: {entry.cnpj}.", campo="cnpj")
            silent.append({**entry.model_dump(mode="json"), "cnpj": digits})
        research.fornecedores_sem_resposta = silent
    research.atualizada_em = utcnow()
    session.add(research)
    session.flush()
    return research


def add_price(
    session: Session,
    document_id: uuid.UUID,
    numero: int,
    data: ResearchPriceIn,
    evidence: tuple[str, str, bytes] | None,
    acting: Acting,
    store: Callable[[uuid.UUID, str, str, bytes], dict[str, Any]],
) -> ResearchPrice:
    """Record a price of a source of art. 5º with its evidence file (name, content type, bytes), checked against the
    source's fields and window (``price_rules.price_record``, ``price_rules.check_window``); ``store`` keeps the
    file in object storage and returns its key, URI, SHA-256 and size."""
    _, research = _editable(session, document_id, acting)
    _item(session, research, numero)
    if evidence is not None and not evidence[2]:
        evidence = None
    if evidence is not None and len(evidence[2]) > settings.MAX_UPLOAD_BYTES:
        raise InvalidError(f"O arquivo passa de {settings.MAX_UPLOAD_BYTES} bytes (MAX_UPLOAD_BYTES).", campo="arquivo")
    now = utcnow()
    day, details = price_rules.price_record(data, evidence is not None, now)
    today = price_dates.today()
    price_rules.check_window(data.fonte, day, research.data_pesquisa, edital_reference(research, today), today)
    assert evidence is not None
    name, kind, content = evidence
    kept = store(research.id, name, kind, content)
    price = ResearchPrice(
        research_id=research.id,
        item=numero,
        fonte=data.fonte,
        origem="manual",
        valor=data.valor.quantize(FOUR, rounding=ROUND_HALF_UP),
        data=day,
        detalhes=details,
        evidencia_uri=kept["uri"],
        evidencia_key=kept["key"],
        evidencia_sha256=kept["sha256"],
        evidencia_nome=name[:255],
        evidencia_tipo=kind[:120],
        evidencia_tamanho=kept["size"],
        registrado_por=acting.person.identifier,
    )
    session.add(price)
    research.atualizada_em = now
    session.add(research)
    session.flush()
    return price


def get_price(session: Session, research: PriceResearch, price_id: uuid.UUID) -> ResearchPrice:
    price = session.get(ResearchPrice, price_id)
    if price is None or price.research_id != research.id:
        raise NotFoundError(f"Preço {price_id} não encontrado nesta pesquisa.")
    return price


def price_of_document(session: Session, document_id: uuid.UUID, price_id: uuid.UUID) -> ResearchPrice:
    """A price of any of the document's researches (a finalised one's evidence stays downloadable)."""
    price = session.get(ResearchPrice, price_id)
    research = session.get(PriceResearch, price.research_id) if price is not None else None
    if price is None or research is None or research.document_id != document_id:
        raise NotFoundError(f"Preço {price_id} não encontrado nas pesquisas deste documento.")
    return price


def decide_price(
    session: Session, document_id: uuid.UUID, price_id: uuid.UUID, data: PriceDecision, acting: Acting
) -> ResearchPrice:
    """A person excludes a price, keeps one the automatic criterion would discard, or returns it to the criterion —
    always with the reason, printed in the report (IN 65/2021, art. 6º, § 3º: criteria "fundamentados e descritos")."""
    _, research = _editable(session, document_id, acting)
    price = get_price(session, research, price_id)
    price.decisao = None if data.decisao == "automatico" else data.decisao
    price.decisao_motivo = data.motivo.strip()
    price.decisao_por = acting.person.identifier
    price.decisao_em = utcnow()
    session.add(price)
    session.flush()
    return price


APPROVAL_CLEARED_BY = {
    "metodo": ("metodo", "metodo_justificativa", "metodo_outro_descricao", "valor_outro"),
    "excecao": ("excecao_justificativa",),
}


def decide_item(
    session: Session, document_id: uuid.UUID, numero: int, data: ItemDecision, acting: Acting
) -> ResearchItem:
    """The planning team's choices for an item: method and justification, percentage, critical analysis, the §5º
    justification. Changing what an authority approved clears that approval."""
    _, research = _editable(session, document_id, acting)
    item = _item(session, research, numero)
    given = data.model_dump(exclude_unset=True)
    for name, value in given.items():
        value = value.strip() or None if isinstance(value, str) else value
        if getattr(item, name) != value:
            setattr(item, name, value)
            if name in APPROVAL_CLEARED_BY["metodo"]:
                item.metodo_aprovado_por = item.metodo_aprovado_em = item.metodo_despacho = None
            if name in APPROVAL_CLEARED_BY["excecao"]:
                item.excecao_aprovada_por = item.excecao_aprovada_em = item.excecao_despacho = None
                item.excecao_por = acting.person.identifier if value else None
    item.decidido_por = acting.person.identifier
    session.add(item)
    session.flush()
    return item


def approve_item(
    session: Session, document_id: uuid.UUID, numero: int, data: ItemApproval, acting: Acting
) -> ResearchItem:
    """The competent authority approves an item's §5º exception or §1º method (``price_rules.check_item_approval``)."""
    document = get_document(session, document_id)
    research = current(session, document_id, for_update=True)
    price_rules.check_editable(ResearchStatus(research.status))
    price_rules.check_document_open(document.status)
    item = _item(session, research, numero)
    if data.objeto == "excecao":
        if not item.excecao_justificativa:
            raise ConflictError(f"O item {numero} não tem justificativa de exceção a aprovar. {price_rules.ART_6_5}")
        price_rules.check_item_approval(acting.person, document.orgao, item.excecao_por, "excecao")
        item.excecao_aprovada_por, item.excecao_aprovada_em = acting.person.identifier, utcnow()
        item.excecao_despacho = data.despacho.strip()
    else:
        if item.metodo != "outro" or item.valor_outro is None or not item.metodo_justificativa:
            raise ConflictError(
                f"O item {numero} não tem outro método justificado, com valor, a aprovar. {price_rules.ART_6_1}"
            )
        price_rules.check_item_approval(acting.person, document.orgao, item.decidido_por, "metodo")
        item.metodo_aprovado_por, item.metodo_aprovado_em = acting.person.identifier, utcnow()
        item.metodo_despacho = data.despacho.strip()
    session.add(item)
    session.flush()
    return item


def names(session: Session, identifiers: set[str]) -> dict[str, str]:
    found = session.exec(select(Person).where(col(Person.identifier).in_(sorted(identifiers)))).all()
    return {p.identifier: p.name for p in found}


def analysis(session: Session, document: Document, research: PriceResearch) -> dict[str, Any]:
    """The research whole, as GET returns it: header, people, items with their mapa de apuração, and what is missing
    for it to be finalised (``pendencias``). A finalised research returns its frozen figures."""
    from tasks.prices import study

    if research.status == ResearchStatus.FINALIZADA and research.resultado:
        return research.resultado
    today = price_dates.today()
    rule = _rule()
    factor_of, index_month = _factors(session, research)
    prices = prices_of(session, research)
    items = [
        study.analyse_item(
            item,
            [p for p in prices if p.item == item.numero],
            rule=rule,
            factor_of=factor_of,
            cv_limit=settings.PRICE_RESEARCH_CV_LIMIT,
        )
        for item in items_of(session, research)
    ]
    edital = edital_reference(research, today)
    problems = [p for item in items for p in item["pendencias"]]
    problems += price_rules.source_problems(
        {Source(p.fonte) for p in prices if p.decisao != "excluido"}, research.justificativa_fontes
    )
    quoted = {p.detalhes.get("fornecedor_cnpj") for p in prices if p.fonte == Source.FORNECEDORES}
    silent = {s["cnpj"] for s in research.fornecedores_sem_resposta}
    problems += price_rules.supplier_problems({q for q in quoted if q}, silent, research.justificativa_fornecedores)
    for price in prices:  # a price a person excluded is not used: its window does not matter any more
        try:
            if price.decisao != "excluido":
                price_rules.check_window(Source(price.fonte), price.data, research.data_pesquisa, edital, today)
        except InvalidError as exc:
            problems.append(
                f"item {price.item}, preço {price.id}: {exc.message} Exclua-o (decisão 'excluido', com o motivo)."
            )
    people = set(research.responsaveis) | {research.aberta_por}
    people |= {x for i in items for x in _acts(i)}
    total = study.total(items)
    return {
        "id": str(research.id),
        "document_id": str(document.id),
        "document_version": research.document_version,
        "status": research.status,
        "objeto": document.titulo,
        "numero_processo": document.numero_processo,
        "orgao": document.orgao,
        "unidade": document.unidade,
        "data_pesquisa": research.data_pesquisa.isoformat(),
        "data_prevista_edital": research.data_prevista_edital.isoformat() if research.data_prevista_edital else None,
        "janelas_contadas_de": edital.isoformat(),
        "indice": research.indice,
        "indice_mes_referencia": index_month,
        "responsaveis": research.responsaveis,
        "pessoas": names(session, people),
        "aberta_por": research.aberta_por,
        "aberta_em": research.aberta_em.isoformat(),
        "finalizada_por": research.finalizada_por,
        "finalizada_em": research.finalizada_em.isoformat() if research.finalizada_em else None,
        "justificativa_fontes": research.justificativa_fontes,
        "justificativa_fornecedores": research.justificativa_fornecedores,
        "fornecedores_sem_resposta": research.fornecedores_sem_resposta,
        "pncp_coletados": research.pncp_coletados,
        "criterio_descarte": rule.describe(),
        "limite_cv": settings.PRICE_RESEARCH_CV_LIMIT,
        "arredondamento": study.ROUNDING,
        "itens": items,
        "valor_total": study.text(total),
        "pendencias": problems,
        "pode_finalizar": not problems,
    }


def _acts(item: dict[str, Any]) -> set[str]:
    out = {item.get("decidido_por")} | {p.get("decisao_por") for p in item["precos"]}
    out |= {p.get("registrado_por") for p in item["precos"]}
    for approval in (item.get("metodo_aprovacao"), (item.get("excecao") or {}).get("aprovacao")):
        if approval:
            out.add(approval["por"])
    if item.get("excecao"):
        out.add(item["excecao"].get("por"))
    return {x for x in out if x}


def _rule() -> OutlierRule:
    from tasks.prices.outliers import rule_for

    return rule_for(
        settings.PRICE_RESEARCH_OUTLIERS,
        iqr_k=settings.PRICE_RESEARCH_IQR_K,
        factor=settings.PRICE_RESEARCH_RATIO_LIMIT,
        iqr_from=settings.PRICE_RESEARCH_IQR_FROM,
        justification=settings.PRICE_RESEARCH_LIMITS_JUSTIFICATION,
    )


def _factors(session: Session, research: PriceResearch) -> tuple[Callable[[date], Decimal], str | None]:
    """index(research month) / index(price month) with the research's index, and the month whose value stood for
    the research month (the latest published one, when the research month is not published yet); 1 and None
    without an index. A price dated in a month the series does not reach is refused by the index, with the month."""
    if not research.indice:
        return (lambda _: Decimal(1)), None
    from tasks.prices.indices import load_index

    index = load_index(session, research.indice, carry_forward=True)
    month = (research.data_pesquisa.year, research.data_pesquisa.month)
    used = max(m for m in index.values if m <= month) if any(m <= month for m in index.values) else None
    reference = Decimal(str(index.value(research.data_pesquisa)))
    label = f"{used[1]:02d}/{used[0]}" if used else None

    def factor(day: date) -> Decimal:
        try:
            return reference / Decimal(str(index.value(day)))
        except ValueError as exc:  # PriceIndexError: a month before the series or a gap
            raise InvalidError(f"Correção pelo {research.indice} impossível: {exc}.", campo="indice") from None

    return factor, label


def finalize(
    session: Session,
    document_id: uuid.UUID,
    acting: Acting,
    render: Callable[[dict[str, Any], bool], list[dict[str, Any]]],
) -> PriceResearch:
    """Freeze the research and produce its report: refused, with every pendência listed, while any rule is unmet
    (items, sources, suppliers, windows re-checked today). ``render(figures, classified)`` writes the Relatório
    de Pesquisa de Preços (DOCX and PDF) to storage and returns the stored files, registered here as artifacts of
    the document (classified like the annex when the estimate is sigiloso)."""
    from models.artifact import Artifact

    document, research = _editable(session, document_id, acting)
    if not _same_items(session, research, document):
        raise ConflictError(
            "Os itens do documento mudaram desde a abertura da pesquisa: abra uma nova pesquisa "
            "(POST …/price-research), que substitui esta, para os itens atuais."
        )
    figures = analysis(session, document, research)
    if figures["pendencias"]:
        raise InvalidError(
            "A pesquisa de preços ainda não pode ser finalizada: " + " | ".join(figures["pendencias"]),
            pendencias=figures["pendencias"],
        )
    now = utcnow()
    research.status = ResearchStatus.FINALIZADA
    research.finalizada_por, research.finalizada_em = acting.person.identifier, now
    figures |= {
        "status": ResearchStatus.FINALIZADA.value,
        "finalizada_por": acting.person.identifier,
        "finalizada_em": now.isoformat(),
        "pessoas": figures["pessoas"] | names(session, {acting.person.identifier}),
        "pode_finalizar": False,
    }
    classified = document.estimate_secret
    stored = render(figures, classified)
    figures["relatorio"] = [{k: s[k] for k in ("format", "sha256", "size")} for s in stored]
    research.resultado = figures
    research.total = Decimal(figures["valor_total"]) if figures["valor_total"] else None
    session.add(research)
    for s in stored:
        session.add(
            Artifact(
                document_id=document.id,
                document_version=research.document_version,
                format=s["format"],
                storage_uri=s["uri"],
                key=s["key"],
                sha256=s["sha256"],
                size_bytes=s["size"],
                conformance=s.get("conformance", ""),
                classified=classified,
                kind="pesquisa_precos",
                research_id=str(research.id),
                template_id=document.template_id,
                template_version=document.template_version,
                trace_id=acting.trace_id,
            )
        )
    _audit(
        session,
        document,
        f"Pesquisa de preços finalizada por {acting.person.name} ({acting.person.identifier}); valor total "
        f"{figures['valor_total']}; relatório registrado.",
        acting,
    )
    session.flush()
    return research


def finalised_figures(session: Session, document_id: uuid.UUID) -> dict[str, Any] | None:
    """The frozen figures of the document's latest finalised research, or None. A TR made from an approved ETP
    (``etp_id``) without a research of its own uses the ETP's: one planning process, one price research."""
    research = latest(session, document_id, ResearchStatus.FINALIZADA)
    if research is None:
        document = session.get(Document, document_id)
        if document is not None and document.etp_id is not None:
            research = latest(session, document.etp_id, ResearchStatus.FINALIZADA)
    return research.resultado if research is not None else None
