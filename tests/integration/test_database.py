"""Migrations, templates and documents on SQLite and PostgreSQL."""

import json
import uuid

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlmodel import select

from models.crud import documents as crud
from models.crud.templates import (
    SEEDS_DIR,
    add_template,
    default_template,
    parse_spec,
    seed_templates,
)
from models.document import AuditLog, DocumentCreate, DocumentField, DocumentUpdate
from models.enums import DocumentKind, DocumentStatus, FieldSource
from models.errors import ConflictError, InvalidError, NotFoundError
from models.migrate import downgrade, upgrade
from models.rules import IncompleteDocumentError, TransitionError
from tests.utils.builders import AUTHORITY, PLANNER, REVIEWER, acting, document_data

TABLES = {"templates", "documents", "document_fields", "audit_log", "api_keys", "alembic_version"}


def new_document(session, kind="ETP", **kw):
    data = document_data(kind, **kw)
    return crud.create_document(session, DocumentCreate(**{**data, "kind": DocumentKind(kind)}), acting(session))


def test_migrations_up_down_up(tmp_path, pg_url):
    sqlite = f"sqlite:///{tmp_path}/m.db"
    for url in (sqlite, pg_url.replace("nexora_test_", "nexora_mig_")):
        if url.startswith("postgresql"):
            admin = create_engine(pg_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                name = url.rsplit("/", 1)[1]
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                c.execute(text(f'CREATE DATABASE "{name}"'))
        upgrade(url)
        assert set(inspect(create_engine(url)).get_table_names()) >= TABLES
        downgrade(url)
        assert set(inspect(create_engine(url)).get_table_names()) <= {"alembic_version"}
        upgrade(url)
        assert set(inspect(create_engine(url)).get_table_names()) >= TABLES
        if url.startswith("postgresql"):  # leave no database behind on the shared server
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_seeding_is_idempotent(session):
    before = [t.id for t in default_template_all(session)]
    results = seed_templates(session)
    assert all(created is False for _, created in results)
    assert [t.id for t in default_template_all(session)] == before


def default_template_all(session):
    return [default_template(session, DocumentKind.ETP), default_template(session, DocumentKind.TR)]


def test_new_template_version_leaves_existing_documents_alone(session):
    raw = json.loads((SEEDS_DIR / "tr.json").read_text(encoding="utf-8"))
    raw["name"] = f"TR teste {uuid.uuid4().hex[:6]}"
    raw.pop("version")
    v1, created = add_template(session, parse_spec(raw))
    assert created and v1.version == 1
    doc = crud.create_document(session, DocumentCreate(**document_data("TR"), template_id=v1.id), acting(session))
    raw["sections"].append({**raw["sections"][0], "slug": "anexos", "code": "k", "title": "Anexos"})
    v2, created = add_template(session, parse_spec(raw))
    assert created and v2.version == 2
    again, created = add_template(session, parse_spec(raw))
    assert not created and again.id == v2.id
    view = crud.document_view(session, doc.id)
    assert view.document.template_version == 1 and len(view.fields) == 10 and "anexos" not in view.template.slugs
    raw["version"] = 1
    with pytest.raises(ConflictError, match="versão 1"):
        add_template(session, parse_spec(raw))


def test_document_creation_makes_every_field_and_an_audit_row(session):
    doc = new_document(session)
    view = crud.document_view(session, doc.id)
    assert doc.status == DocumentStatus.RASCUNHO and len(view.fields) == 13
    assert [r["code"] for r in view.field_rows()][:3] == ["I", "II", "III"]
    audit = crud.audit_trail(session, doc.id)
    assert [(a.from_status, a.to_status) for a in audit] == [(None, DocumentStatus.RASCUNHO)]


def test_wrong_kind_for_template_is_refused(session):
    tr = default_template(session, DocumentKind.TR)
    with pytest.raises(InvalidError, match="tipo TR"):
        crud.create_document(
            session,
            DocumentCreate(**{**document_data("ETP"), "template_id": tr.id, "kind": DocumentKind.ETP}),
            acting(session),
        )


def test_fields_lifecycle_and_approval(session):
    doc = new_document(session)
    ana, carla = acting(session, PLANNER), acting(session, AUTHORITY, app="painel")
    sections = crud.document_view(session, doc.id).template.sections
    for s in sections:
        if s["required"]:
            crud.write_field(
                session, doc.id, s["slug"], content=f"Texto de {s['title']} — ação", justification=None, acting=ana
            )
    crud.transition(session, doc.id, DocumentStatus.EM_REVISAO, None, ana)
    with pytest.raises(IncompleteDocumentError) as caught:
        crud.transition(session, doc.id, DocumentStatus.APROVADO, "Aprovo.", carla)
    assert len(caught.value.missing) == 8
    assert crud.get_document(session, doc.id).status == DocumentStatus.EM_REVISAO
    with pytest.raises(ConflictError):
        crud.write_field(session, doc.id, "impactos_ambientais", content="x", justification=None, acting=ana)
    crud.transition(session, doc.id, DocumentStatus.DEVOLVIDO, "faltam justificativas", carla)
    for s in sections:
        if not s["required"]:
            crud.write_field(
                session, doc.id, s["slug"], content=None, justification="Não se aplica ao objeto.", acting=ana
            )
    crud.transition(session, doc.id, DocumentStatus.EM_REVISAO, None, ana)
    crud.transition(session, doc.id, DocumentStatus.APROVADO, "Aprovo o estudo.", carla)
    trail = [(a.from_status, a.to_status, a.actor, a.person) for a in crud.audit_trail(session, doc.id)]
    assert trail[-1] == (DocumentStatus.EM_REVISAO, DocumentStatus.APROVADO, "painel", AUTHORITY)
    assert trail[0][3] == PLANNER and len(trail) == 5
    with pytest.raises(TransitionError):
        crud.transition(session, doc.id, DocumentStatus.RASCUNHO, "x", ana)


def test_field_writes_are_validated_and_change_nothing_on_error(session):
    doc = new_document(session)
    ana = acting(session)
    crud.write_field(
        session, doc.id, "descricao_necessidade", content="Necessidade: ação pública", justification=None, acting=ana
    )
    cases = [
        {"slug": "nao_existe", "content": "x", "justification": None, "exc": NotFoundError},
        {"slug": "descricao_necessidade", "content": "", "justification": None, "exc": InvalidError},
        {"slug": "descricao_necessidade", "content": "x" * 100_000, "justification": None, "exc": InvalidError},
        {"slug": "descricao_necessidade", "content": None, "justification": "não se aplica", "exc": InvalidError},
        {"slug": "descricao_necessidade", "content": "a\x00b", "justification": None, "exc": InvalidError},
    ]
    for case in cases:
        exc = case.pop("exc")
        slug = case.pop("slug")
        with pytest.raises(exc):
            crud.write_field(session, doc.id, slug, **case, acting=ana)
    field = session.exec(
        select(DocumentField).where(DocumentField.document_id == doc.id, DocumentField.slug == "descricao_necessidade")
    ).one()
    assert field.content == "Necessidade: ação pública" and field.source == FieldSource.HUMAN


def test_update_and_delete_rules(session):
    doc = new_document(session)
    ana = acting(session)
    crud.update_document(session, doc.id, DocumentUpdate(titulo="Novo título da contratação"), ana)
    assert crud.get_document(session, doc.id).titulo == "Novo título da contratação"
    with pytest.raises(InvalidError):
        crud.update_document(session, doc.id, DocumentUpdate(), ana)
    crud.transition(session, doc.id, DocumentStatus.EM_REVISAO, None, ana)
    with pytest.raises(ConflictError, match="rascunho"):
        crud.delete_document(session, doc.id, ana)
    other = new_document(session)
    crud.delete_document(session, other.id, ana)
    with pytest.raises(NotFoundError):
        crud.get_document(session, other.id)
    assert session.exec(select(AuditLog).where(AuditLog.document_id == other.id)).all() == []


def test_list_filters(session):
    tag = uuid.uuid4().hex[:8]
    a = new_document(session, "ETP", titulo=f"Serviço de limpeza {tag}", orgao="Órgão Alfa")
    b = new_document(session, "TR", titulo=f"Serviço de vigilância {tag}", orgao="Órgão Beta")
    rows, count = crud.list_documents(session, text=tag)
    assert count == 2 and {r.id for r in rows} == {a.id, b.id}
    rows, count = crud.list_documents(session, text=tag, kind=DocumentKind.TR)
    assert [r.id for r in rows] == [b.id]
    rows, _ = crud.list_documents(session, text=tag, orgao="órgão alfa")
    assert [r.id for r in rows] == [a.id]
    crud.transition(session, a.id, DocumentStatus.EM_REVISAO, None, acting(session))
    rows, _ = crud.list_documents(session, text=tag, status=DocumentStatus.EM_REVISAO)
    assert [r.id for r in rows] == [a.id]


def test_a_provider_draft_is_reviewed_by_a_person_and_any_change_clears_the_review(session):
    doc = new_document(session, "TR")
    ana, bruno, carla = acting(session, PLANNER), acting(session, REVIEWER), acting(session, AUTHORITY)
    slugs = [s["slug"] for s in crud.document_view(session, doc.id).template.sections]
    for slug in slugs:
        crud.write_field(session, doc.id, slug, content=f"Texto de {slug}.", justification=None, acting=ana)
    crud.write_field(  # the LLM's draft, asked for by Ana
        session,
        doc.id,
        "modelo_gestao",
        content="Rascunho do modelo.",
        justification=None,
        acting=ana,
        source=FieldSource.LLM,
        model="gpt",
        flow_run_id="run-1",
    )
    crud.transition(session, doc.id, DocumentStatus.EM_REVISAO, None, ana)
    with pytest.raises(IncompleteDocumentError) as caught:
        crud.transition(session, doc.id, DocumentStatus.APROVADO, "Aprovo.", carla)
    assert caught.value.missing[0]["slug"] == "modelo_gestao" and "não revisado" in caught.value.missing[0]["problem"]
    with pytest.raises(InvalidError, match="vazia"):  # nothing to review in an empty section
        crud.review_field(session, new_document(session, "TR").id, "modelo_gestao", ana)
    reviewed = crud.review_field(session, doc.id, "modelo_gestao", bruno)
    assert reviewed.reviewed_by == REVIEWER and reviewed.written_by == PLANNER and reviewed.source == FieldSource.LLM
    crud.transition(session, doc.id, DocumentStatus.DEVOLVIDO, "ajustar o modelo", carla)
    crud.write_field(
        session,
        doc.id,
        "modelo_gestao",
        content="Rascunho do modelo, ajustado.",
        justification=None,
        acting=ana,
        source=FieldSource.LLM,
    )
    field = next(f for f in crud.document_view(session, doc.id).fields if f.slug == "modelo_gestao")
    assert field.reviewed_by is None and field.reviewed_at is None  # the change cleared the review
    history = [(r.slug, r.action, r.person) for r in crud.field_history(session, doc.id) if r.slug == "modelo_gestao"]
    assert history == [
        ("modelo_gestao", "escrita", PLANNER),
        ("modelo_gestao", "redacao", PLANNER),
        ("modelo_gestao", "revisao", REVIEWER),
        ("modelo_gestao", "redacao", PLANNER),
    ]


def test_the_author_or_reviewer_cannot_approve_and_a_non_authority_cannot_either(session):
    from models.crud.people import create_person
    from models.errors import ForbiddenError
    from models.person import PersonCreate

    doc = new_document(session, "TR")
    tag = uuid.uuid4().hex[:6]
    gil, _ = create_person(
        session,
        PersonCreate(
            identifier=f"gil.{tag}",
            name="Gil Duplo",
            orgao=doc.orgao,
            roles=["equipe_planejamento", "autoridade_competente"],
        ),
    )
    ana, gil_acts, carla = acting(session, PLANNER), acting(session, gil.identifier), acting(session, AUTHORITY)
    for slug in [s["slug"] for s in crud.document_view(session, doc.id).template.sections]:
        crud.write_field(session, doc.id, slug, content=f"Texto de {slug}.", justification=None, acting=ana)
    crud.review_field(session, doc.id, "modelo_gestao", gil_acts)
    crud.transition(session, doc.id, DocumentStatus.EM_REVISAO, None, ana)
    with pytest.raises(ForbiddenError, match=r"revisou modelo_gestao.*art\. 7º, §1º"):
        crud.transition(session, doc.id, DocumentStatus.APROVADO, "Aprovo.", gil_acts)
    with pytest.raises(ForbiddenError, match="não é autoridade competente"):
        crud.transition(session, doc.id, DocumentStatus.APROVADO, "Aprovo.", acting(session, REVIEWER))
    with pytest.raises(InvalidError, match="despacho"):
        crud.transition(session, doc.id, DocumentStatus.APROVADO, None, carla)
    assert crud.get_document(session, doc.id).status == DocumentStatus.EM_REVISAO
    crud.transition(session, doc.id, DocumentStatus.APROVADO, "Aprovo o termo de referência.", carla)
    assert crud.get_document(session, doc.id).status == DocumentStatus.APROVADO


def test_the_sigilo_ends_by_the_authoritys_act_after_approval_and_is_audited(session):
    from datetime import timedelta

    from models import price_dates
    from models.document import BudgetDisclosure
    from models.errors import ForbiddenError
    from models.notification import Event

    doc = new_document(
        session, orcamento_sigiloso=True, orcamento_sigiloso_justificativa="Mercado concentrado, poucos fornecedores."
    )
    ana, carla = acting(session, PLANNER), acting(session, AUTHORITY)
    for slug in [s["slug"] for s in crud.document_view(session, doc.id).template.sections]:
        crud.write_field(session, doc.id, slug, content=f"Texto de {slug}.", justification=None, acting=ana)
    today = price_dates.today()
    act = BudgetDisclosure(act="Termo de homologação do PE 90012/2026", date=today, reason="Licitação concluída.")
    with pytest.raises(ConflictError, match="conclusão da licitação"):
        crud.disclose_budget(session, doc.id, act, carla)
    crud.transition(session, doc.id, DocumentStatus.EM_REVISAO, None, ana)
    crud.transition(session, doc.id, DocumentStatus.APROVADO, "Aprovo.", carla)
    assert crud.approved_on(session, crud.get_document(session, doc.id)) == today  # read back in Brasília's day
    assert crud.document_view(session, doc.id).protected_slugs == {"estimativa_valor"}
    with pytest.raises(ForbiddenError, match="autoridade competente"):
        crud.disclose_budget(session, doc.id, act, ana)
    with pytest.raises(InvalidError, match="anterior à aprovação"):
        crud.disclose_budget(session, doc.id, act.model_copy(update={"date": today - timedelta(days=1)}), carla)
    assert crud.get_document(session, doc.id).orcamento_divulgado_em is None  # nothing changed
    crud.disclose_budget(session, doc.id, act, carla)
    session.commit()
    stored = crud.get_document(session, doc.id)
    assert (stored.orcamento_divulgado_em, stored.orcamento_divulgado_por) == (today, AUTHORITY)
    assert crud.document_view(session, doc.id).protected_slugs == set()  # the estimate reads as any section
    last = crud.audit_trail(session, doc.id)[-1]
    assert last.from_status == last.to_status == DocumentStatus.APROVADO and "PE 90012/2026" in last.reason
    (event,) = session.exec(
        select(Event).where(Event.document_id == doc.id, Event.type == "document.budget_disclosed")
    ).all()
    assert event.data["act"] == act.act and event.data["person"] == AUTHORITY
    with pytest.raises(ConflictError, match="já foi encerrado"):
        crud.disclose_budget(session, doc.id, act, carla)
