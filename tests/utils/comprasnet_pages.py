"""Legacy Comprasnet result pages built from their known structure (see tests/data/comprasnet/README.md).

`termo()` writes a Termo de Homologação do Pregão Eletrônico (livre/pregao/termohom.asp) as the server rendered it:
latin-1 bytes, tables without tbody, the header and item blocks laid out as on the saved Ata de Realização of
`andremenegatti/ComprasnetAtasParsing` (atas_sample/0100010000012016_ata000.html), the result line and the item
events as the termohom.asp scrapers read them. `realistic()` draws a page of n items for the benchmark.
`python -m tests.utils.comprasnet_pages` rewrites the saved pages in tests/data/comprasnet/.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from models.price_dates import MONTHS

GOODS = (  # (descrição, descrição complementar, unidade de fornecimento, valor estimado típico)
    (
        "PAPEL IMPRESSÃO",
        "PAPEL IMPRESSÃO, MATERIAL CELULOSE VEGETAL, TIPO A4, GRAMATURA 75 G/M2, COMPRIMENTO 297 MM, "
        "APLICAÇÃO JATO TINTA, COR BRANCA, LARGURA 210 MM",
        "PACOTE 500,00 FL",
        15.18,
    ),
    (
        "CANETA ESFEROGRÁFICA",
        "CANETA ESFEROGRÁFICA, MATERIAL PLÁSTICO, QUANTIDADE CARGAS 1 UN, MATERIAL PONTA "
        "LATÃO COM ESFERA DE TUNGSTÊNIO, COR TINTA AZUL",
        "UNIDADE",
        0.92,
    ),
    (
        "ÁLCOOL ETÍLICO",
        "ÁLCOOL ETÍLICO, TIPO HIDRATADO, TEOR ALCOÓLICO 70% (70 GL), APRESENTAÇÃO GEL",
        "FRASCO 500,00 ML",
        8.4,
    ),
    (
        "ÁGUA MINERAL NATURAL",
        "ÁGUA MINERAL NATURAL, TIPO SEM GÁS, MATERIAL EMBALAGEM PLÁSTICO, TIPO EMBALAGEM RETORNÁVEL",
        "GALÃO 20,00 L",
        11.5,
    ),
    ("CAFÉ", "CAFÉ, APRESENTAÇÃO TORRADO MOÍDO, INTENSIDADE FORTE, EMBALAGEM A VÁCUO", "PACOTE 500,00 G", 17.9),
    ("AÇÚCAR", "AÇÚCAR, TIPO CRISTAL, COMPOSIÇÃO ORIGEM VEGETAL, SACAROSE DE CANA-DE-AÇÚCAR", "PACOTE 5,00 KG", 21.3),
    (
        "DETERGENTE",
        "DETERGENTE, COMPOSIÇÃO TENSOATIVOS ANIÔNICOS, APLICAÇÃO REMOÇÃO DE GORDURAS",
        "FRASCO 500,00 ML",
        2.35,
    ),
    (
        "LUVA PARA PROCEDIMENTO NÃO CIRÚRGICO",
        "LUVA PARA PROCEDIMENTO NÃO CIRÚRGICO, MATERIAL LÁTEX NATURAL ÍNTEGRO E UNIFORME, TAMANHO MÉDIO, SEM PÓ",
        "CAIXA 100,00 UN",
        34.0,
    ),
    (
        "TONER IMPRESSORA",
        "TONER IMPRESSORA LASER, COR PRETA, RENDIMENTO 10.000 PÁGINAS, COMPATÍVEL COM O EQUIPAMENTO",
        "UNIDADE",
        189.9,
    ),
    (
        "PAPEL HIGIÊNICO",
        "PAPEL HIGIÊNICO, MATERIAL CELULOSE VIRGEM, FOLHA DUPLA, COMPRIMENTO 30 M, COR BRANCA",
        "FARDO 64,00 UN",
        79.0,
    ),
    (
        "SERVIÇO DE MANUTENÇÃO PREDIAL",
        "Prestação de serviços de manutenção predial preventiva e corretiva, com fornecimento de peças e mão de obra",
        "MÊS",
        48500.0,
    ),
    (
        "CADEIRA GIRATÓRIA",
        "CADEIRA GIRATÓRIA, ESPALDAR MÉDIO, BRAÇOS REGULÁVEIS, ASSENTO E ENCOSTO EM ESPUMA INJETADA",
        "UNIDADE",
        712.0,
    ),
)
COMPANIES = (
    "MULTPAPER DISTRIBUIDORA DE PAPÉIS LTDA.",
    "JORGE BATISTA & CIA LTDA",
    "COMERCIAL SÃO JOÃO LTDA - ME",
    "PAPELARIA ÁGUIA DOURADA EIRELI - EPP",
    "DISTRIBUIDORA TONIN MARCAS LTDA - EPP",
    "HIGIÊNICA COMÉRCIO DE DESCARTÁVEIS LTDA",
    "CONSTRUTORA PÉROLA DO ATLÂNTICO S/A",
    "MÓVEIS ERGONÔMICOS DO PARANÁ LTDA",
)
PEOPLE = ("MARIA DA CONCEIÇÃO SOUZA", "JOSÉ ANTÔNIO DE ASSUNÇÃO")


@dataclass
class Result:
    name: str
    ni: str  # CNPJ "00.000.000/0000-00" or CPF "000.000.000-00", as the page prints it
    best: str  # "9,5500"
    negotiated: str | None = None
    quantity: str | None = None
    label: str = "Adjudicado para"
    adjudicated: str = ""  # "" -> the termo's day at 10:15:20
    homologated: str | None = ""  # "" -> the termo's moment; None -> no homologation event
    event: bool = True  # False: the adjudication event (the only place the CNPJ/CPF is printed) is missing


@dataclass
class Item:
    number: int
    description: str
    complement: str | None
    quantity: str
    unit: str
    estimate: str
    situation: str = "Adjudicado e Homologado"
    result: Result | None = None
    group: int | None = None
    events: list[tuple[str, str, str, str]] = field(default_factory=list)  # extra events before the result's own


def brl(value: float, decimals: int = 4) -> str:
    """1234.5 -> "1.234,5000"."""
    return f"{value:,.{decimals}f}".replace(",", "X").replace(".", ",").replace("X", ".")


def count(value: int) -> str:
    """74730 -> "74.730", as the pages print quantities."""
    return f"{value:,}".replace(",", ".")


def check_digits(base: str, weights: list[int]) -> str:
    digits = base
    for size in (len(weights) - 1, len(weights)):
        total = sum(int(d) * w for d, w in zip(digits, weights[-size:], strict=True))
        digits += str(0 if total % 11 < 2 else 11 - total % 11)
    return digits


def cnpj(seed: int) -> str:
    d = check_digits(f"{seed % 10**8:08d}0001", [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2])
    return f"{d[:2]}.{d[2:5]}.{d[5:8]}/{d[8:12]}-{d[12:]}"


def cpf(seed: int) -> str:
    d = check_digits(f"{seed % 10**9:09d}", [11, 10, 9, 8, 7, 6, 5, 4, 3, 2])
    return f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"


def _e(value: str) -> str:
    return escape(value, quote=False)


def item_block(item: Item, day: str = "04/06/2018", moment: str = "04/06/2018 14:32:10") -> str:
    head = f"Item: {item.number}" + (f" - GRUPO {item.group}" if item.group else "")
    rows = [f'<tr><td colspan="2"><b>Descrição: </b>{_e(item.description)}</td></tr>']
    if item.complement is not None:
        rows.append(
            f'<tr bgcolor="#FFFFFF"><td colspan="2"><b>Descrição Complementar: </b>{_e(item.complement)}</td></tr>'
        )
    for label, value in (
        ("Tratamento Diferenciado", "-"),
        ("Aplicabilidade Decreto 7174", "Não"),
        ("Aplicabilidade Margem de Preferência", "Não"),
    ):
        rows.append(
            f'<tr bgcolor="#FFFFFF"><td colspan="2">\n<span class="tex3b">{label}: </span>\n'
            f'<span class="tex3">{value}</span>\n</td></tr>'
        )
    rows.append(
        f'<tr bgcolor="#FFFFFF">\n<td width="50%"><b>Quantidade: </b>{item.quantity}</td>\n'
        f'<td width="50%"><b>Unidade de fornecimento: </b>{_e(item.unit)}</td>\n</tr>'
    )
    rows.append(
        f'<tr bgcolor="#FFFFFF">\n<td><b>Valor estimado: R$ </b>{item.estimate}</td>\n'
        f"<td><b>Situação: </b>\n\t\t\t\t\t{item.situation}\n\t\t\t\t\t</td>\n</tr>"
    )
    out = [
        f'<table border="0" class="td" width="98%" cellspacing="0" cellpadding="0">\n<tr class="tex3b">\n'
        f'<td>{head}\n</td>\n</tr>\n<tr>\n<td>\n<table border="0" class="tex3" bgcolor="#FFFFFF" width="100%" '
        'cellspacing="0" cellpadding="0">\n' + "\n".join(rows) + "\n</table>\n</td>\n</tr>\n</table>\n"
    ]
    events = list(item.events)
    result = item.result
    if result is not None:
        negotiated = f"<b>, com valor negociado a</b> R$ {result.negotiated}\n" if result.negotiated else ""
        out.append(
            '<table border="0" class="tex3" bgcolor="#FFFFFF" width="98%" cellspacing="0" cellpadding="0">\n'
            f'<tr bgcolor="#FFFFFF">\n<td colspan="2">\n<br />\n<b>{result.label}: </b>{_e(result.name)}'
            f"<b>, pelo melhor lance de</b> R$ {result.best}\n{negotiated}"
            f"<b> e a quantidade de </b>{result.quantity or item.quantity}\n<b>{_e(item.unit)}</b>\n"
            "\n\t \t  \t\t\t\t\t.\n\t \t  \t\t\t\t\t</td>\n</tr>\n</table>\n"
        )
        tail = f", Valor negociado: R$ {result.negotiated}" if result.negotiated else ""
        if result.event:
            events.append(
                (
                    "Adjudicado",
                    result.adjudicated or f"{day} 10:15:20",
                    "PREGOEIRO OFICIAL",
                    f"Adjudicação individual da proposta. Fornecedor: {result.name}, CNPJ/CPF: {result.ni}, "
                    f"Melhor lance: R$ {result.best}{tail}.",
                )
            )
        if result.homologated is not None:
            events.append(
                ("Homologado", result.homologated or moment, "AUTORIDADE COMPETENTE", "Homologação individual do item.")
            )
    if events:
        rows = "".join(
            f'<tr class="tex3a" bgcolor="#FFFFFF">\n<td align="left">{_e(name)}</td>\n'
            f'<td align="center">{moment}</td>\n<td align="left">{_e(who)}</td>\n'
            f'<td align="left">{_e(note)}</td>\n</tr>\n'
            for name, moment, who, note in events
        )
        out.append(
            '<table width="98%" border="0" class="td" cellspacing="1" cellpadding="2">\n'
            '<tr class="tex3b">\n<td colspan="4">Eventos do\n              Item </td>\n</tr>\n'
            '<tr class="tex3b" align="center">\n<td>Evento</td>\n<td>Data</td>\n<td>Responsável</td>\n'
            f"<td>Observações</td>\n</tr>\n{rows}</table>\n"
        )
    return "".join(out) + "<br />\n"


def termo(
    uasg: int,
    numero: int,
    ano: int,
    items: list[Item],
    *,
    orgao: tuple[str, ...] = ("MINISTÉRIO DA DEFESA", "Comando do Exército", "13º Regimento de Cavalaria Mecanizado"),
    moment: tuple[int, int, int, int, int] = (2018, 6, 4, 14, 32),
    processo: str = "64291.000123/2018-11",
    objeto: str = "AQUISIÇÃO DE MATERIAL DE EXPEDIENTE E DE LIMPEZA PARA O EXERCÍCIO",
    srp: bool = True,
    meta: str | None = None,
    encoding: str = "latin-1",
    pncp: str | None = None,
    empty_message: str = "Não existem itens homologados para este pregão.",
    title: str = "Termo de Homologação do Pregão Eletrônico",
) -> bytes:
    year, month, day_, hour, minute = moment
    number = f"Nº {numero:05d}/{ano}" + (" (SRP)" if srp else "")
    control = f"<br />Número de Controle PNCP: {pncp}" if pncp else ""
    day = f"{day_:02d}/{month:02d}/{year}"
    blocks = "".join(item_block(item, day, f"{day} {hour:02d}:{minute:02d}:10") for item in items) or (
        f'<table border="0" class="td" width="98%" cellspacing="0" cellpadding="0">\n<tr class="mensagem">\n'
        f'<td align="center">{empty_message}</td>\n</tr>\n</table>\n'
    )
    head_meta = f'<meta http-equiv="Content-Type" content="text/html; charset={meta}" />\n' if meta else ""
    html = (
        '<html xmlns="http://www.w3.org/1999/xhtml"><head>\n<title>COMPRASNET - O SITE DE COMPRAS DO GOVERNO</title>\n'
        f'{head_meta}<meta http-equiv="expires" content="0" />\n'
        '<link rel="stylesheet" href="/imagens/style1.css" type="text/css" />\n'
        '<script language="javaScript">\n\tfunction Voltar() {\n\t\thistory.back();\n\t}\n</script>\n</head>\n\n'
        '<body bgcolor="#FFFFFF" text="#000000" leftmargin="0" topmargin="0" class="body_1">\n'
        '<table border="0" width="98%" cellspacing="1" cellpadding="2">\n'
        f'<tr align="right"><td><font size="2">{uasg}.{numero}{ano}.7442.4561.3093178.506</font></td></tr>\n'
        '<tr>\n<td align="center"><img alt="" src="/imagens/brasao.gif" border="0" width="68" height="73" />'
        '<br /></td>\n</tr>\n<tr>\n<td>\n<table border="0" width="100%" class="tex3">\n'
        f'<tr align="center"><td>{"<br />".join(_e(line) for line in orgao)}<br /></td></tr>\n'
        f'<tr class="tex3">\n<td align="center">\n<br /><b>{title} <br />'
        f'<span class="mensagem2">{number}</span>{control}\n<br /><br />\n</b></td>\n</tr>\n'
        '<tr>\n<td align="left" class="tex3">\n'
        f"Às {hour:02d}:{minute:02d} horas do dia {day_:02d} de {MONTHS[month - 1]} de {year}, após constatada a "
        "regularidade dos atos procedimentais, a autoridade competente, JOÃO DA SILVA, HOMOLOGA a adjudicação "
        f"referente ao Processo nº {processo}, Pregão nº {numero:05d}/{ano}. Objeto: Objeto: Pregão Eletrônico -  "
        f"{_e(objeto)}.<br />\n</td>\n</tr>\n</table>\n</td>\n</tr>\n<tr>\n<td><br />\n"
        f"{blocks}</td>\n</tr>\n</table>\n</body>\n</html>\n"
    )
    return html.encode(encoding)


def realistic(n_items: int, seed: int, uasg: int = 160478) -> bytes:
    """A termo of n items: most homologated, a few deserted or failed, PJ winners and now and then a PF."""
    rng = random.Random(seed)
    items = []
    for number in range(1, n_items + 1):
        description, complement, unit, typical = GOODS[rng.randrange(len(GOODS))]
        quantity = rng.choice((1, 2, 5, 10, 12, 20, 50, 100, 240, 500, 1200, 74730))
        estimate = round(typical * rng.uniform(0.8, 1.3), 4)
        draw = rng.random()
        if draw < 0.04:
            items.append(
                Item(
                    number,
                    description,
                    complement,
                    count(quantity),
                    unit,
                    brl(estimate),
                    "Cancelado por inexistência de proposta",
                )
            )
            continue
        if draw < 0.07:
            items.append(
                Item(number, description, complement, count(quantity), unit, brl(estimate), "Cancelado no julgamento")
            )
            continue
        if draw < 0.10:
            name, ni = PEOPLE[rng.randrange(len(PEOPLE))], cpf(rng.randrange(10**9))
        else:
            name, ni = COMPANIES[rng.randrange(len(COMPANIES))], cnpj(rng.randrange(10**8))
        best = round(estimate * rng.uniform(0.55, 0.98), 4)
        negotiated = brl(round(best * 0.98, 4)) if rng.random() < 0.3 else None
        items.append(
            Item(
                number,
                description,
                complement,
                count(quantity),
                unit,
                brl(estimate),
                result=Result(name, ni, brl(best), negotiated),
            )
        )
    return termo(uasg, seed % 90000 + 1, 2018, items)


def saved_pages() -> dict[str, bytes]:
    """The pages kept in tests/data/comprasnet/ (what each holds: that folder's README)."""
    homologated = [
        Item(
            1,
            "PAPEL IMPRESSÃO",
            GOODS[0][1],
            "74.730",
            "PACOTE 500,00 FL",
            "15,1800",
            result=Result("MULTPAPER DISTRIBUIDORA DE PAPÉIS LTDA.", "26.976.381/0001-32", "9,5500", "9,5000"),
        ),
        Item(
            2,
            "ÁLCOOL ETÍLICO",
            GOODS[2][1],
            "1.200",
            "FRASCO 500,00 ML",
            "1.234,5600",
            result=Result("JORGE BATISTA & CIA LTDA", "07.222.185/0001-28", "1.100,0000", label="Aceito para"),
        ),
        Item(3, "CAFÉ", None, "240", "PACOTE 500,00 G", "17,9000", "Cancelado por inexistência de proposta"),
        Item(
            4,
            "SERVIÇO DE MANUTENÇÃO PREDIAL",
            GOODS[10][1],
            "12",
            "MÊS",
            "48.500,0000",
            result=Result(
                "CONSTRUTORA PÉROLA DO ATLÂNTICO S/A",
                "17.177.844/0001-05",
                "45.990,0000",
                adjudicated="01/06/2018 16:40:00",
                homologated=None,
            ),
            group=1,
        ),
    ]
    odd = [
        Item(
            1,
            "CANETA ESFEROGRÁFICA",
            "CANETA ESFEROGRÁFICA “TIPO CRISTAL”, MATERIAL PLÁSTICO, COR TINTA AZUL",
            "500",
            "UNIDADE",
            "0,9200",
            result=Result("MARIA DA CONCEIÇÃO SOUZA", "123.456.789-09", "0,7100", label="Aceito para"),
        ),
        Item(
            2,
            "DETERGENTE",
            GOODS[6][1],
            "",
            "FRASCO 500,00 ML",
            "2,3500",
            result=Result("HIGIÊNICA COMÉRCIO DE DESCARTÁVEIS LTDA", "05.383.313/0001-90", "1,9900"),
        ),
        Item(
            3,
            "LUVA PARA PROCEDIMENTO NÃO CIRÚRGICO",
            GOODS[7][1],
            "300",
            "CAIXA 100,00 UN",
            "34,0O00",
            result=Result("COMERCIAL SÃO JOÃO LTDA - ME", "10.889.212/0001-25", "29,9000"),
        ),
        Item(4, "TONER IMPRESSORA", GOODS[8][1], "20", "UNIDADE", "189,9000", "Cancelado no julgamento"),
        Item(
            5,
            "CADEIRA GIRATÓRIA",
            GOODS[11][1],
            "40",
            "UNIDADE",
            "712,0000",
            result=Result("MÓVEIS ERGONÔMICOS DO PARANÁ LTDA", "08.359.941/0001-28", "6x9,00"),
        ),
        Item(
            6,
            "PAPEL HIGIÊNICO",
            GOODS[9][1],
            "80",
            "FARDO 64,00 UN",
            "79,0000",
            result=Result("PAPELARIA ÁGUIA DOURADA EIRELI - EPP", "21.802.925/0001-26", "71,5000"),
        ),
        Item(6, "PAPEL HIGIÊNICO", GOODS[9][1], "80", "FARDO 64,00 UN", "79,0000"),
        Item(
            7,
            "CAFÉ",
            GOODS[4][1],
            "1.000",
            "PACOTE 500,00 G",
            "17,9000",
            result=Result("COMERCIAL SÃO JOÃO LTDA - ME", "10.889.212/0001-25", "15,2000", event=False),
        ),
    ]
    edital = (  # the edital's item list (ConsultaLicitacoes/download/download_editais_detalhe.asp): no results
        '<html>\n<head>\n<title>COMPRASNET</title>\n</head>\n<body bgcolor="#FFFFFF">\n<table border="0">\n<tr>\n'
        "<td class='tex3'><table width='700'><tr><td class='tex3'><p>MINISTÉRIO DA DEFESA</p></td></tr>"
        "<tr><td class='tex3'><p>Código da UASG: 160478</p></td></tr></table></td>\n</tr>\n<tr>\n"
        "<td class='tex3'><p><span class='tex3b'>Pregão Eletrônico Nº  3/2018</span><br><b>Objeto:</b>&nbsp;"
        "Objeto: Pregão Eletrônico -  Contratação de Serviço Móvel Pessoal (SMP), área (019).<br>"
        "<b>Entrega da Proposta:</b>&nbsp;11/05/2018 às 08:30Hs<br></p></td>\n</tr>\n<tr>\n<td class='tex3'>"
        "<span class='tex3b'>Itens de Serviços</span><table width='100%'><tr><td width='650'>"
        "<span class='tex3b'>1 - Pacote de Serviços SMP (Voz, Dados, SMS, Etc)</span><br><span class='tex3'>"
        "Assinatura Serviço de Voz<br>Tratamento Diferenciado: -<br>Quantidade: 60<br>"
        "Unidade de fornecimento: Assinatura</span><br></td></tr></table></td>\n</tr>\n</table>\n</body>\n</html>\n"
    ).encode("latin-1")
    return {
        "termohom_160478_pe00003_2018.html": termo(160478, 3, 2018, homologated, meta="iso-8859-1"),
        "termohom_153080_pe00012_2019_casos.html": termo(
            153080,
            12,
            2019,
            odd,
            orgao=("MINISTÉRIO DA EDUCAÇÃO", "Universidade Federal de São João del-Rei"),
            moment=(2019, 11, 21, 9, 5),
            processo="23122.004512/2019-70",
            srp=False,
            encoding="cp1252",
            objeto="AQUISIÇÃO DE MATERIAL DE CONSUMO – UNIDADES ACADÊMICAS",
        ),
        "termohom_926523_pe00001_2019_vazio.html": termo(
            926523,
            1,
            2019,
            [],
            orgao=("GOVERNO DO DISTRITO FEDERAL", "Secretaria de Estado da Agricultura"),
            moment=(2019, 3, 14, 16, 0),
            processo="00070-00001234/2019-10",
            srp=False,
        ),
        "termohom_160478_pe00005_2023_utf8_pncp.html": termo(
            160478,
            5,
            2023,
            homologated[:1],
            meta="utf-8",
            encoding="utf-8",
            moment=(2023, 8, 10, 11, 20),
            pncp="00394452000103-1-000321/2023",
        ),
        "edital_itens_160478_pe00003_2018.html": edital,
    }


if __name__ == "__main__":
    target = Path(__file__).resolve().parents[1] / "data" / "comprasnet"
    target.mkdir(parents=True, exist_ok=True)
    for name, content in saved_pages().items():
        (target / name).write_bytes(content)
        print(f"{name}: {len(content)} bytes")
