"""A sample Relatório de Pesquisa de Preços, as the pages in docs/paginas were made: three items with prices of
sources I to IV (PNCP prices with one discarded, three supplier quotes, a page and the Painel), the IPCA, a §5º
exception approved, finalised on a fresh SQLite database in FOLDER. Run:
``ARTIFACTS_DIR=FOLDER/art .venv/bin/python -m tests.utils.sample_report FOLDER``, then ``pdftoppm``."""

from __future__ import annotations

import glob
import os
import shutil
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path


def main(folder: Path) -> None:
    from models import price_dates
    from models.crud import price_research as crud
    from models.db import session_scope
    from models.price_research import (
        ItemApproval,
        ItemDecision,
        NonResponder,
        ResearchOpen,
        ResearchPriceIn,
        ResearchUpdate,
    )
    from tasks.prices.study import pncp_prices
    from tasks.records.research_report import render_and_store
    from tasks.storage.store import store_evidence
    from tests.conftest import _migrate_and_seed
    from tests.utils.builders import AUTHORITY, PLANNER, REVIEWER, acting, make_document
    from tests.utils.research import CNPJS, market_prices

    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder.resolve()}/amostra.sqlite"
    _migrate_and_seed(url)
    today = price_dates.today()
    code = "461937"
    market_prices(
        url,
        code,
        [
            (10.0003, today - timedelta(days=40)),
            (10.5, today - timedelta(days=60)),
            (11.0, today - timedelta(days=90)),
            (100.0, today - timedelta(days=100)),
            (10.8, today - timedelta(days=130)),
        ],
    )
    doc = make_document(
        url,
        itens=[
            {
                "descricao": "Caneta esferográfica azul, ponta média",
                "codigo_catalogo": code,
                "unidade": "UNIDADE",
                "quantidade": 300,
            },
            {"descricao": "Papel A4 75 g/m², resma com 500 folhas", "unidade": "RESMA", "quantidade": 120},
            {"descricao": "Grampeador de mesa 26/6, 25 folhas", "unidade": "UNIDADE", "quantidade": 12},
        ],
    )
    with session_scope(url) as s:
        by = acting(s, PLANNER)
        crud.open_research(
            s,
            doc,
            ResearchOpen(
                data_prevista_edital=today + timedelta(days=40), responsaveis=[PLANNER, REVIEWER], indice="IPCA"
            ),
            by,
            pncp_prices(s),
        )

        def ev(n: str) -> tuple[str, str, bytes]:
            return (f"{n}.pdf", "application/pdf", f"%PDF-1.4 {n}".encode())

        for n, v in enumerate(("25.90", "26.40", "27.15")):
            q = ResearchPriceIn(
                fonte="IV",
                valor=Decimal(v),
                fornecedor_cnpj=CNPJS[n],
                fornecedor_nome=f"Papelaria {'ABC'[n]} Ltda",
                fornecedor_endereco="SCS Q. 2, Brasília/DF",
                fornecedor_contato="(61) 3333-0000, vendas@papelaria.example",
                responsavel_nome="Maria Souza",
                data_emissao=today - timedelta(days=5),
                validade=today + timedelta(days=55),
                solicitacao="Ofício nº 12/2026, por e-mail, de 20/11/2026",
            )
            crud.add_price(s, doc, 2, q, ev(f"proposta-{n}"), by, store_evidence)
        crud.add_price(
            s,
            doc,
            3,
            ResearchPriceIn(
                fonte="III",
                valor=Decimal("41.5"),
                url="https://www.loja.example/grampeador-26-6",
                acessado_em=datetime.now(UTC) - timedelta(hours=3),
                fonte_descricao="Loja de material de escritório",
            ),
            ev("pagina"),
            by,
            store_evidence,
        )
        crud.add_price(
            s,
            doc,
            3,
            ResearchPriceIn(
                fonte="I",
                valor=Decimal("39.9"),
                data=today - timedelta(days=2),
                sistema="Painel de Preços",
                consulta="CATMAT 444444, 12 meses, mediana",
            ),
            ev("painel"),
            by,
            store_evidence,
        )
        crud.update_research(
            s,
            doc,
            ResearchUpdate(
                justificativa_fornecedores="Três papelarias com entrega no DF em até 5 dias úteis, no SICAF.",
                fornecedores_sem_resposta=[
                    NonResponder(
                        cnpj=CNPJS[3],
                        nome="Comercial D Ltda",
                        solicitado_em=today - timedelta(days=12),
                        meio="e-mail de 20/11/2026",
                    )
                ],
            ),
            by,
        )
        for n, m in ((1, "media"), (2, "media"), (3, "mediana")):
            crud.decide_item(
                s,
                doc,
                n,
                ItemDecision(
                    metodo=m,
                    metodo_justificativa="Preços homogêneos, variação baixa: a média aproveita todos os preços válidos."
                    if m == "media"
                    else "Dois preços: a mediana é a média deles.",
                ),
                by,
            )
        crud.decide_item(
            s,
            doc,
            3,
            ItemDecision(
                excecao_justificativa="Mercado restrito: só dois fornecedores do modelo no DF; o Painel tem um preço."
            ),
            by,
        )
        crud.approve_item(
            s,
            doc,
            3,
            ItemApproval(
                objeto="excecao", despacho="Aprovo a estimativa com dois preços, pela justificativa do gestor."
            ),
            acting(s, AUTHORITY),
        )
        crud.finalize(s, doc, acting(s, REVIEWER), render_and_store)
        f = crud.finalised_figures(s, doc)
        print(f["valor_total"], [i["valor_total"] for i in f["itens"]])
    pdf = glob.glob(str(Path(os.environ["ARTIFACTS_DIR"]) / "documents/*/pesquisa-*/v1/*.pdf"))[0]
    shutil.copy(pdf, folder / "relatorio.pdf")
    docx = glob.glob(str(Path(os.environ["ARTIFACTS_DIR"]) / "documents/*/pesquisa-*/v1/*.docx"))[0]
    shutil.copy(docx, folder / "relatorio.docx")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
