"""A realistic ETP for benchmarks: 13 sections of Lei 14.133 art. 18 §1º, ~14 PDF pages, a price table."""

from __future__ import annotations

import datetime
import json
import random
from pathlib import Path

from tasks.render.model import RenderDocument, RenderSection

SEEDS = Path(__file__).resolve().parents[1] / "seeds" / "etp.json"
SENTENCES = [
    "A contratação atende à necessidade da unidade requisitante, considerado o interesse público envolvido.",
    "Os equipamentos atuais, adquiridos em 2016, encontram-se sem garantia e apresentam falhas recorrentes.",
    "A estimativa das quantidades considerou o quadro de servidores e a reserva técnica de manutenção.",
    "A solução escolhida privilegia a economicidade e a padronização do parque tecnológico do órgão.",
    "O levantamento de mercado comparou aquisição, locação e outsourcing de estações de trabalho.",
    "Foram consultadas contratações similares registradas no PNCP nos últimos doze meses.",
    "O parcelamento por itens amplia a competitividade sem prejuízo da gestão contratual.",
    "A fiscalização será exercida por servidores designados, com capacitação prévia em gestão de contratos.",
    "Os impactos ambientais serão mitigados por exigências de eficiência energética e logística reversa.",
    "Conclui-se pela viabilidade técnica e econômica da contratação pretendida, nos termos do §2º.",
]


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(rng.choice(SENTENCES) for _ in range(sentences))


def price_table(rng: random.Random, rows: int) -> str:
    lines = [
        "| Item | Descrição | Unidade | Quantidade | Preço unitário (R$) | Total (R$) |",
        "|---|---|---|---:|---:|---:|",
    ]
    for i in range(1, rows + 1):
        quantity, price = rng.randint(1, 60), rng.randint(150, 9000)
        lines.append(
            f"| {i} | Item de informática {i}, conforme especificação técnica | unidade | {quantity} | "
            f"{price:,.2f} | {quantity * price:,.2f} |".replace(",", "X")
            .replace(".", ",")
            .replace("X", ".")
        )
    return "\n".join(lines)


def realistic_etp(seed: int = 7) -> RenderDocument:
    rng = random.Random(seed)
    sections = []
    for position, spec in enumerate(json.loads(SEEDS.read_text(encoding="utf-8"))["sections"]):
        blocks = [paragraph(rng, 6) for _ in range(3)]
        blocks.append("\n".join(f"- {rng.choice(SENTENCES)}" for _ in range(4)))
        blocks.append(paragraph(rng, 5))
        blocks.append("\n".join(f"{i}. {rng.choice(SENTENCES)}" for i in range(1, 4)))
        if position == 5:
            blocks.append(price_table(rng, 25))
        sections.append(
            RenderSection(
                code=spec["code"],
                title=spec["title"],
                legal_basis=spec["legal_basis"],
                required=spec["required"],
                content="\n\n".join(blocks),
                justification=None,
            )
        )
    return RenderDocument(
        kind="ETP",
        titulo="Aquisição de computadores portáteis para as equipes de fiscalização",
        numero_processo="23000.012345/2026-41",
        orgao="Ministério da Gestão e da Inovação em Serviços Públicos",
        unidade="Coordenação-Geral de Logística",
        version=1,
        template_name="ETP — Lei 14.133",
        template_version=1,
        issued_on=datetime.date(2026, 11, 27),
        sections=tuple(sections),
    )
