"""The finalised price research in the documents, on SQLite and PostgreSQL: element VI is drafted from its figures,
verbatim and cited; the consolidated files cite its report, with the SHA-256 of its files, as the estimate's annex."""

from __future__ import annotations

import pytest

from models.db import session_scope
from tasks.records.research_report import ESTIMATE_TITLE
from tasks.records.tasks import load_consolidation_input, load_drafting_contexts
from tests.utils.builders import PLANNER, approve_document, make_document
from tests.utils.research import finalise_research

pytestmark = pytest.mark.integration
ITEMS = [
    {"descricao": "Caneta esferográfica azul", "unidade": "UN", "quantidade": 3},
    {"descricao": "Papel A4 75 g/m², resma", "unidade": "RESMA", "quantidade": 10.5},
]


def test_element_vi_is_drafted_from_the_finalised_research(use_db):
    doc = make_document(use_db, itens=ITEMS)
    figures = finalise_research(use_db, doc, ("10.0003", "10.5", "11", "100"))
    assert figures["valor_total"] == "141.75"  # 10,5001 × 3 = 31,50 and 10,5001 × 10,5 = 110,25
    (context,) = load_drafting_contexts.fn(doc, ["estimativa_valor"], requested_by=PLANNER)
    notes = context.market_notes
    assert notes.startswith(f"# {ESTIMATE_TITLE}") and "Prévia" not in notes
    pdf = next(r["sha256"] for r in figures["relatorio"] if r["format"] == "pdf")
    assert "Fonte: Relatório de Pesquisa de Preços" in notes and pdf in notes
    for figure in ("R$\u00a010,5001", "R$\u00a031,50", "R$\u00a0110,25", "**R$\u00a0141,75**", "referência auxiliar"):
        assert figure in notes, figure
    assert "9,52" not in notes  # the discarded price stays in the report, not in the section


def test_the_consolidated_files_cite_the_report_as_the_annex(use_db):
    doc = make_document(use_db, itens=ITEMS[:1])
    approve_document(use_db, doc)  # the research is finalised on the way (approval needs it)
    prepared = load_consolidation_input.fn(doc)
    (section,) = [s for s in prepared["render"].sections if s.code == "VI"]
    reports = prepared["research_reports"]
    assert {r["format"] for r in reports} == {"docx", "pdf"} and all(r["kind"] == "pesquisa_precos" for r in reports)
    assert {r["format"]: r["conformance"] for r in reports} == {"docx": "", "pdf": "PDF/A-2b"}  # validated on writing
    assert "Anexo — Relatório de Pesquisa de Preços" in section.content
    assert all(r["sha256"] in section.content for r in reports)
    with session_scope(use_db) as session:
        from models.crud.price_research import finalised_figures

        assert finalised_figures(session, doc)["valor_total"] in ("31.5", "31.50")
