"""The DOCX and PDF renderers print the same approved document: structure, accents, tables, page numbers."""

import dataclasses
import datetime
import io
import random
import re
import zipfile

import docx
import pytest
from pypdf import PdfReader

from tasks.render.docx import render_docx
from tasks.render.model import Person, RenderDocument, RenderSection, Responsibles, date_pt
from tasks.render.pdf import render_pdf

ACCENTED = ("ação", "licitação", "manutenção", "área", "órgão", "nº", "§2º")
PRICES = ("R$ 4.850,00", "R$ 12.300,00", "R$ 1.275,50", "R$ 38.900,00", "R$ 7.640,00")
ETP_TITLES = (
    "Descrição da necessidade da contratação",
    "Previsão no Plano de Contratações Anual",
    "Requisitos da contratação",
    "Estimativa das quantidades",
    "Levantamento de mercado",
    "Estimativa do valor da contratação",
    "Descrição da solução como um todo",
    "Justificativa para o parcelamento ou não da contratação",
    "Demonstrativo dos resultados pretendidos",
    "Providências prévias à celebração do contrato",
    "Contratações correlatas e/ou interdependentes",
    "Impactos ambientais e medidas mitigadoras",
    "Posicionamento conclusivo",
)
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII")
REQUIRED = {"I", "IV", "VI", "VIII", "XIII"}
TR_TITLES = (
    "Definição do objeto",
    "Fundamentação da contratação",
    "Descrição da solução como um todo",
    "Requisitos da contratação",
    "Modelo de execução do objeto",
    "Modelo de gestão do contrato",
    "Critérios de medição e de pagamento",
    "Forma e critérios de seleção do fornecedor",
    "Estimativas do valor da contratação",
    "Adequação orçamentária",
)
JUSTIFICATION = (
    "Não há contratações correlatas ou interdependentes: a manutenção dos equipamentos independe de "
    "outros contratos do órgão, conforme o art. 18, §2º, da Lei nº 14.133/2021."
)

CONTENT = {
    "I": """A presente contratação decorre da necessidade de assegurar a **manutenção preventiva e corretiva** dos
aparelhos de ar-condicionado instalados nas unidades do órgão, cuja falha compromete a continuidade dos serviços
prestados ao cidadão e a preservação dos equipamentos de informática.

Verificou-se, no exercício anterior, o registro de 47 chamados de falha, com paralisação média de *seis dias úteis*
por ocorrência, o que evidencia o problema a ser resolvido sob a perspectiva do interesse público e a necessidade da
ação administrativa.""",
    "II": """A contratação está prevista no Plano de Contratações Anual de 2026, item nº 118, sob a descrição
"Serviços de manutenção de sistemas de climatização", em alinhamento ao planejamento estratégico do órgão.""",
    "III": """Os requisitos da contratação estão agrupados por categoria:

## Requisitos de negócio
- atendimento a chamados corretivos em até **24 horas** na área administrativa;
- manutenção preventiva mensal, conforme o Plano de Manutenção, Operação e Controle (PMOC);
- fornecimento de peças de reposição originais ou equivalentes.

## Requisitos legais
- observância da Lei nº 13.589/2018 e da Portaria GM/MS nº 3.523/1998;
- responsável técnico registrado no CREA.""",
    "IV": """A estimativa das quantidades considerou o inventário patrimonial e o histórico de chamados.

1. levantamento de 86 aparelhos do tipo split e 12 do tipo cassete;
2. projeção de 12 visitas preventivas por aparelho ao ano;
3) reserva técnica de 10% para peças de reposição.""",
    "V": """Foram analisadas duas alternativas: (i) execução direta por servidores do quadro, inviável pela ausência de
pessoal habilitado; e (ii) contratação de empresa especializada, **solução adotada** por ser a mais vantajosa.""",
    "VI": """O valor estimado foi obtido por pesquisa de preços nos termos do art. 23, §1º, da Lei nº 14.133/2021,
com a mediana dos preços coletados.

| Item | Descrição | Unidade | Quantidade | Valor total |
|---|---|:---:|---:|---:|
| 1 | Manutenção preventiva de aparelho split | serviço | 1.032 | R$ 4.850,00 |
| 2 | Manutenção corretiva com substituição de peças | serviço | 60 | R$ 12.300,00 |
| 3 | Higienização de dutos da área técnica | m² | 85 | R$ 1.275,50 |
| 4 | Substituição de compressores | unidade | 6 | R$ 38.900,00 |
| 5 | Elaboração e atualização do PMOC | documento | 1 | R$ 7.640,00 |

O valor global estimado da contratação é de **R$ 64.965,50**.""",
    "VII": """A solução compreende a prestação de serviços contínuos de manutenção, incluídos:
- mão de obra especializada e ferramentas;
- peças de reposição, mediante orçamento aprovado pela fiscalização;
- emissão de relatórios técnicos mensais.""",
    "VIII": """Não se recomenda o parcelamento do objeto, pois a divisão dos serviços entre fornecedores distintos
comprometeria a responsabilidade técnica única exigida pelo PMOC e traria perda de economia de escala.""",
    "IX": """Os resultados pretendidos são:

1. redução de 80% no tempo de indisponibilidade dos equipamentos;
2. economia estimada de 15% no consumo de energia elétrica;
3. melhoria da qualidade do ar nos ambientes de trabalho.""",
    "XII": """### Impactos e medidas
- descarte de gases refrigerantes: recolhimento e destinação por empresa licenciada;
- resíduos de peças e embalagens: logística reversa, conforme a Lei nº 12.305/2010.""",
    "XIII": """Conclui-se pela **adequação e viabilidade** da contratação, que atende à necessidade descrita no item I
e observa os princípios da licitação previstos no art. 5º da Lei nº 14.133/2021.""",
}


RESPONSIBLES = Responsibles(
    prepared_by=(Person("Ana Souza", "1234567"), Person("Bruno *Lima*", "7654321")),
    approved_by=Person("Carla Mendes", "2345678"),
    approved_on=datetime.date(2026, 11, 26),
    despacho="Aprovo o ETP, nos termos do art. 18 da Lei nº 14.133/2021.",
)


def etp_document(**overrides) -> RenderDocument:
    sections = tuple(
        RenderSection(
            code=code,
            title=title,
            legal_basis=f"Lei nº 14.133/2021, art. 18, §1º, {code}",
            required=code in REQUIRED,
            content=CONTENT.get(code),
            justification=JUSTIFICATION if code == "XI" else None,
        )
        for code, title in zip(ROMAN, ETP_TITLES, strict=True)
    )
    values = {
        "kind": "ETP",
        "titulo": "Manutenção de aparelhos de ar-condicionado",
        "numero_processo": "23000.004512/2026-31",
        "orgao": "Ministério da Gestão e da Inovação em Serviços Públicos",
        "unidade": "Coordenação-Geral de Logística",
        "version": 2,
        "template_name": "ETP — Estudo Técnico Preliminar (Lei 14.133/2021)",
        "template_version": 1,
        "issued_on": datetime.date(2026, 11, 27),
        "sections": sections,
    }
    return RenderDocument(**(values | overrides))


def tr_document() -> RenderDocument:
    codes = "abcdefghij"
    sections = tuple(
        RenderSection(
            code=code,
            title=title,
            legal_basis=f"Lei nº 14.133/2021, art. 6º, XXIII, {code}",
            required=True,
            content=f"Conteúdo da alínea {code}: *{title.lower()}*, com licitação.",
            justification=None,
        )
        for code, title in zip(codes, TR_TITLES, strict=True)
    )
    return etp_document(kind="TR", titulo="Aquisição de mobiliário", unidade="", sections=sections)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def pdf_pages(data: bytes) -> list[str]:
    return [squash(page.extract_text() or "") for page in PdfReader(io.BytesIO(data)).pages]


def in_order(text: str, needles) -> bool:
    position = 0
    for needle in needles:
        position = text.find(needle, position)
        if position < 0:
            return False
        position += len(needle)
    return True


@pytest.fixture(scope="module")
def etp_docx():
    return docx.Document(io.BytesIO(render_docx(etp_document())))


@pytest.fixture(scope="module")
def etp_pdf():
    return render_pdf(etp_document())


def test_docx_sections_in_order_with_legal_basis(etp_docx):
    headings = [p.text for p in etp_docx.paragraphs if p.style.name == "Heading 1"]
    assert headings == [f"{code} — {title}" for code, title in zip(ROMAN, ETP_TITLES, strict=True)]
    legal = [p.text for p in etp_docx.paragraphs if p.style.name == "Fundamento"]
    assert legal[0] == "Fundamento: Lei nº 14.133/2021, art. 18, §1º, I" and len(legal) == 13


def test_docx_cover_accents_and_lists(etp_docx):
    text = "\n".join(p.text for p in etp_docx.paragraphs)
    for word in (
        *ACCENTED,
        "Estudo Técnico Preliminar",
        "Processo nº 23000.004512/2026-31",
        "Versão 2",
        "27 de novembro de 2026",
        "Coordenação-Geral de Logística",
    ):
        assert word in text
    bullets = [p for p in etp_docx.paragraphs if p.style.name == "List Bullet"]
    numbered = [p for p in etp_docx.paragraphs if p.style.name == "List Number"]
    assert "atendimento a chamados corretivos em até 24 horas na área administrativa;" in [p.text for p in bullets]
    assert len(numbered) == 6
    bold = [run.text for p in etp_docx.paragraphs for run in p.runs if run.bold]
    assert "manutenção preventiva e corretiva" in bold
    assert [p.text for p in etp_docx.paragraphs if p.style.name == "Heading 3"][0] == "Requisitos de negócio"


def test_docx_numbered_lists_restart(etp_docx):
    ids = {p._p.pPr.numPr.numId.val for p in etp_docx.paragraphs if p.style.name == "List Number"}
    assert len(ids) == 2


def test_docx_table_and_not_applicable(etp_docx):
    table = etp_docx.tables[0]
    assert table.style.name == "Table Grid"
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert rows[0] == ["Item", "Descrição", "Unidade", "Quantidade", "Valor total"]
    assert [row[-1] for row in rows[1:]] == list(PRICES)
    assert all(run.bold for cell in table.rows[0].cells for run in cell.paragraphs[0].runs)
    texts = [p.text for p in etp_docx.paragraphs]
    index = texts.index("Não se aplica")
    assert texts[index + 1] == JUSTIFICATION and "[Seção não preenchida]" in texts


def test_docx_properties_header_and_footer(etp_docx):
    props = etp_docx.core_properties
    assert props.title == "Manutenção de aparelhos de ar-condicionado"
    assert props.author == "Ministério da Gestão e da Inovação em Serviços Públicos"  # no people: the órgão
    assert props.subject == "Estudo Técnico Preliminar — Processo nº 23000.004512/2026-31"
    assert "ETP" in props.keywords and "23000.004512/2026-31" in props.keywords
    assert props.created == datetime.datetime(2026, 11, 27, tzinfo=datetime.UTC)
    section = etp_docx.sections[0]
    assert "Ministério da Gestão e da Inovação em Serviços Públicos" in section.header.paragraphs[0].text
    footer = section.footer._element.xml
    assert "NUMPAGES" in footer and "Página" in footer and "PAGE" in footer
    assert round(section.page_width.cm, 1) == 21.0


def test_docx_defines_every_style_it_uses_and_little_else():
    with zipfile.ZipFile(io.BytesIO(render_docx(etp_document()))) as package:
        body, styles = package.read("word/document.xml").decode(), package.read("word/styles.xml").decode()
    used = set(re.findall(r'<w:(?:pStyle|rStyle|tblStyle) w:val="([^"]+)"', body))
    defined = set(re.findall(r'w:styleId="([^"]+)"', styles))
    assert used and used <= defined
    assert len(defined) < 30 and len(styles) < 60_000


def test_both_formats_are_deterministic():
    assert render_docx(etp_document()) == render_docx(etp_document())
    assert render_pdf(etp_document()) == render_pdf(etp_document())
    with zipfile.ZipFile(io.BytesIO(render_docx(etp_document()))) as package:
        assert {info.date_time[:3] for info in package.infolist()} == {(2026, 11, 27)}


def test_pdf_metadata_and_page_numbers(etp_pdf):
    reader = PdfReader(io.BytesIO(etp_pdf))
    assert reader.metadata.title == "Manutenção de aparelhos de ar-condicionado"
    assert reader.metadata.author == "Ministério da Gestão e da Inovação em Serviços Públicos"
    assert reader.metadata.creator == "NEXORA ComprasGov.AI"  # the application that assembled the file
    assert "Processo nº 23000.004512/2026-31" in reader.metadata.subject
    pages = pdf_pages(etp_pdf)
    total = len(pages)
    assert "Página" not in pages[0]  # the cover counts as page 1 but carries no number
    assert all(f"Página {n} de {total}" in page for n, page in enumerate(pages[1:], 2))
    assert "Ministério da Gestão" in pages[1] and "Estudo Técnico Preliminar — Processo nº" in pages[1]


def test_pdf_content_in_order(etp_pdf):
    pages = pdf_pages(etp_pdf)
    body = " ".join(pages[2:])
    assert in_order(body, [f"{code} — {title}" for code, title in zip(ROMAN, ETP_TITLES, strict=True)])
    for word in (
        *ACCENTED,
        *PRICES,
        "Não se aplica",
        "[Seção não preenchida]",
        JUSTIFICATION[:60],
        "Fundamento: Lei nº 14.133/2021, art. 18, §1º, VI",
    ):
        assert word in body
    assert "Estudo Técnico Preliminar" in pages[0] and date_pt(datetime.date(2026, 11, 27)) in pages[0]


def test_pdf_table_of_contents(etp_pdf):
    toc = pdf_pages(etp_pdf)[1]
    assert toc.startswith("Ministério") and "Sumário" in toc
    assert in_order(toc, ETP_TITLES)


def toc_and_outline_pages(data: bytes) -> tuple[list[int], list[tuple[int, str, int]], list[str]]:
    """Page numbers printed in the table of contents, the PDF outline as (depth, title, page) in order, and every
    page's text."""
    reader = PdfReader(io.BytesIO(data))
    pages = [squash(page.extract_text() or "") for page in reader.pages]
    toc = " ".join(page for page in pages if "Sumário" in page or page.count(" . ") > 10)
    printed = [int(n) for n in re.findall(r"(?:\. )+(\d+)", toc)]

    def walk(entries, depth):
        for entry in entries:
            if isinstance(entry, list):
                yield from walk(entry, depth + 1)
            else:
                yield depth, entry.title, reader.get_destination_page_number(entry) + 1

    return printed, list(walk(reader.outline, 0)), pages


def test_pdf_contents_and_outline_point_at_each_heading_page():
    printed, outline, pages = toc_and_outline_pages(render_pdf(etp_document()))
    numbers = [page for _, _, page in outline]
    assert printed == numbers and numbers == sorted(numbers) and numbers[0] == 3
    # the 13 elements, and under them the headings of their text ("## Requisitos de negócio" is level 3 in the DOCX
    # and the contents; the outline cannot skip a level, so it hangs right under its section there)
    sections = [(title, page) for depth, title, page in outline if depth == 0]
    assert [title for title, _ in sections] == [f"{c} — {t}" for c, t in zip(ROMAN, ETP_TITLES, strict=True)]
    assert [(depth, title) for depth, title, _ in outline if depth] == [
        (1, "Requisitos de negócio"),
        (1, "Requisitos legais"),
        (1, "Impactos e medidas"),
    ]
    for _, title, page in outline:
        assert title in pages[page - 1]


def test_pdf_contents_longer_than_a_page():
    sections = tuple(
        RenderSection(
            f"{n}",
            f"Seção de número {n} com um título um pouco mais longo",
            "Lei",
            False,
            f"Conteúdo da seção {n}.",
            None,
        )
        for n in range(1, 71)
    )
    printed, outline, pages = toc_and_outline_pages(render_pdf(etp_document(sections=sections)))
    numbers = [page for _, _, page in outline]
    assert printed == numbers and len(numbers) == 70 and numbers[0] > 3
    assert "Seção de número 70" in pages[numbers[-1] - 1] and "Conteúdo da seção 70." in pages[-1]


def test_long_document_spans_many_pages():
    paragraph = (
        "O órgão realizará a manutenção preventiva conforme o cronograma aprovado, com licitação prévia e "
        "registro de cada ação no sistema de acompanhamento, observada a área técnica responsável. "
    ) * 3
    long_text = "\n\n".join(f"{n}º parágrafo. {paragraph}" for n in range(1, 401))
    sections = etp_document().sections
    document = etp_document(sections=(dataclasses.replace(sections[0], content=long_text), *sections[1:]))
    pages = pdf_pages(render_pdf(document))
    assert len(pages) >= 30
    assert f"Página {len(pages)} de {len(pages)}" in pages[-1]
    assert "400º parágrafo" in " ".join(pages)
    assert len(docx.Document(io.BytesIO(render_docx(document))).paragraphs) > 400


def test_long_table_splits_with_header_repeated():
    rows = "\n".join(
        f"| {n} | Item de consumo nº {n} com descrição longa da área técnica | R$ {n},00 |" for n in range(1, 161)
    )
    content = f"| Item | Descrição | Valor |\n|---|---|---:|\n{rows}"
    section = RenderSection(
        "VI", "Estimativa do valor da contratação", "Lei nº 14.133/2021, art. 18, §1º, VI", True, content, None
    )
    pages = pdf_pages(render_pdf(etp_document(sections=(section,))))
    table_pages = [page for page in pages if "Item de consumo" in page]
    assert len(table_pages) >= 2 and all("Item Descrição Valor" in page for page in table_pages)
    assert "R$ 160,00" in table_pages[-1]


def test_tr_renders_both_formats():
    document = tr_document()
    opened = docx.Document(io.BytesIO(render_docx(document)))
    headings = [p.text for p in opened.paragraphs if p.style.name == "Heading 1"]
    assert headings == [f"{code} — {title}" for code, title in zip("abcdefghij", TR_TITLES, strict=True)]
    assert "Termo de Referência" in "\n".join(p.text for p in opened.paragraphs)
    pages = pdf_pages(render_pdf(document))
    assert "Termo de Referência" in pages[0] and in_order(" ".join(pages[2:]), TR_TITLES)


def test_hostile_text_renders():
    content = 'Texto com <tag> & "aspas" e \x0b controle\n\n| a |\n|---|\n| <b>x</b> & y | extra |\n\n**'
    section = RenderSection("I", "Seção <I> & cia", "Lei nº 14.133/2021", True, content, None)
    document = etp_document(sections=(section,), titulo="Título <com> & marcas", orgao="")
    assert "Título <com> & marcas" in pdf_pages(render_pdf(document))[0]
    assert docx.Document(io.BytesIO(render_docx(document))).core_properties.title == "Título <com> & marcas"


def test_random_markup_renders_in_both_formats():
    rng = random.Random(1)
    alphabet = list("ab çãé*|-#:<>&\n") + ["\n\n", "**", "- ", "1. ", "| x | y |\n|---|---|\n", "# "]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200))) for _ in range(12)]
    sections = tuple(
        RenderSection(ROMAN[n], f"Seção {n}", "Lei nº 14.133/2021", n % 2 == 0, text, text[:20] or None)
        for n, text in enumerate(texts)
    )
    document = etp_document(sections=sections)
    assert len(PdfReader(io.BytesIO(render_pdf(document))).pages) >= 3
    assert len(docx.Document(io.BytesIO(render_docx(document))).paragraphs) > 12


def test_numbered_list_interrupted_by_text_goes_on_in_both_formats():
    content = "1. primeira etapa\n\nTexto intercalado.\n\n2. segunda etapa"
    document = etp_document(sections=(RenderSection("IV", "Estimativa das quantidades", "Lei", True, content, None),))
    assert "2. segunda etapa" in " ".join(pdf_pages(render_pdf(document)))
    with zipfile.ZipFile(io.BytesIO(render_docx(document))) as package:
        assert '<w:startOverride w:val="2"/>' in package.read("word/numbering.xml").decode()


def test_dates_in_portuguese():
    assert date_pt(datetime.date(2026, 11, 27)) == "27 de novembro de 2026"
    assert date_pt(datetime.date(2026, 3, 1)) == "1º de março de 2026"


def test_rendering_is_repeatable_byte_for_byte():
    """A rerun must find the objects a failed run stored: same input, same bytes, whatever the clock."""
    import time

    from tasks.render.files import render_all

    document = _sample_for_repeat()
    first = render_all(document)
    time.sleep(2.1)  # zip entries have a 2-second clock resolution
    assert render_all(document) == first


def _sample_for_repeat():
    import datetime

    from tasks.render.model import RenderDocument, RenderSection

    return RenderDocument(
        kind="TR",
        titulo="Serviço de manutenção predial",
        numero_processo="23000.9/2026",
        orgao="Órgão Público",
        unidade="",
        version=2,
        template_name="TR",
        template_version=1,
        issued_on=datetime.date(2026, 3, 1),
        sections=(
            RenderSection(
                "a",
                "Definição do objeto",
                "art. 6º, XXIII, a",
                True,
                "Objeto **principal**\n\n| a | b |\n|---|---|\n| 1 | 2 |",
                None,
            ),
        ),
    )


def test_cover_shows_what_is_signed_and_the_template_only_in_the_metadata():
    document = etp_document()
    cover = pdf_pages(render_pdf(document))[0]
    assert in_order(
        cover,
        [
            "Ministério da Gestão",
            "Coordenação-Geral de Logística",
            "Processo nº 23000.004512/2026-31",
            "Estudo Técnico Preliminar",
            "Manutenção de aparelhos de ar-condicionado",
            "Versão 2",
            "27 de novembro de 2026",
        ],
    )
    assert "Modelo" not in cover and "versão 1" not in cover
    template = "Modelo: ETP — Estudo Técnico Preliminar (Lei 14.133/2021) (versão 1)"
    assert template in PdfReader(io.BytesIO(render_pdf(document))).metadata["/Keywords"]
    opened = docx.Document(io.BytesIO(render_docx(document)))
    first_page = [p.text for p in opened.paragraphs[:12] if p.text]
    assert first_page[0] == document.orgao and "Sumário" not in first_page[:7]
    assert not any("Modelo" in text for text in first_page)
    assert opened.core_properties.comments == template and template in opened.core_properties.keywords
    # no running header on the cover: its own (empty) first-page header
    section = opened.sections[0]
    assert section.different_first_page_header_footer and not section.first_page_header.paragraphs[0].text
    assert document.orgao in section.header.paragraphs[0].text


def test_docx_table_of_contents_is_a_field_over_the_heading_styles():
    from tasks.render.model import contents

    document = etp_document()
    with zipfile.ZipFile(io.BytesIO(render_docx(document))) as package:
        body, settings = package.read("word/document.xml").decode(), package.read("word/settings.xml").decode()
        styles = package.read("word/styles.xml").decode()
    # one TOC field, begin → instruction → separate → (the entries) → end, on the page after the cover
    fields = re.findall(r'w:fldCharType="(\w+)"|<w:instrText[^>]*>([^<]*)</w:instrText>', body)
    toc = [kind or text.strip() for kind, text in fields if kind or text.strip().startswith("TOC")]
    start = toc.index("begin")
    assert toc[start : start + 2] == ["begin", 'TOC \\o "1-3" \\h \\z \\u']
    field = body[body.rindex("<w:p>", 0, body.index('w:fldCharType="begin"')) :]
    field = field[: field.index('w:fldCharType="end"')]
    assert 'w:fldCharType="separate"' in field
    # its result lists every heading, level by level, each a link to the bookmark on that heading
    entries = re.findall(
        r'<w:pStyle w:val="TOC(\d)"/>.*?<w:hyperlink w:anchor="(_Toc\d+)"[^>]*>.*?'
        r'<w:t xml:space="preserve">([^<]*)</w:t>',
        field,
    )
    expected = contents(document)
    assert [(int(level), text) for level, _, text in entries] == [(e.level, e.text) for e in expected]
    assert [e.level for e in expected].count(1) == 13 and {e.level for e in expected} == {1, 3}
    for level, anchor, text in entries:
        heading = (
            rf'<w:p><w:pPr><w:pStyle w:val="Heading{level}"/>(<w:pageBreakBefore/>)?</w:pPr>'
            rf'<w:bookmarkStart w:id="\d+" w:name="{anchor}"/><w:r><w:t xml:space="preserve">{re.escape(text)}<'
        )
        assert re.search(heading, body), (anchor, text)
    # Word offers to update the fields on open; the styles the update writes its entries in exist
    assert '<w:updateFields w:val="true"/>' in settings
    assert settings.index("<w:updateFields") < settings.index("<w:compat>")
    assert all(f'w:styleId="TOC{n}"' in styles for n in (1, 2, 3)) and 'w:styleId="TOCHeading"' in styles


def test_both_files_close_with_who_prepared_and_who_approved_with_the_despacho():
    doc = etp_document(responsibles=RESPONSIBLES)
    etp_docx, etp_pdf = docx.Document(io.BytesIO(render_docx(doc))), render_pdf(doc)
    assert etp_docx.core_properties.author == "Carla Mendes; Ana Souza; Bruno *Lima*"  # the people, not the software
    assert PdfReader(io.BytesIO(etp_pdf)).metadata.author == "Carla Mendes; Ana Souza; Bruno *Lima*"
    texts = [p.text for p in etp_docx.paragraphs]
    start = len(texts) - 1 - texts[::-1].index("Responsáveis")  # the heading (the first is its contents entry)
    closing = texts[start:]
    assert closing[1] == "Elaboração — equipe de planejamento da contratação:"
    assert closing[2:4] == ["Ana Souza (matrícula 1234567)", "Bruno *Lima* (matrícula 7654321)"]  # as written
    assert closing[4] == (
        "Aprovação — autoridade competente: Carla Mendes (matrícula 2345678), em 26 de novembro de 2026."
    )
    assert closing[5] == "Despacho: Aprovo o ETP, nos termos do art. 18 da Lei nº 14.133/2021."
    last = " ".join(pdf_pages(etp_pdf)[-1].split())
    for phrase in (
        "Responsáveis",
        "Ana Souza (matrícula 1234567)",
        "Carla Mendes (matrícula 2345678), em 26 de",
        "Despacho: Aprovo o ETP",
    ):
        assert phrase in last, phrase
    assert "Responsáveis" in " ".join(pdf_pages(etp_pdf)[1].split())  # listed in the table of contents
