"""The markdown subset of section texts: blocks, inline marks, tables, and no crash on any input."""

import random
from collections import Counter

import pytest

from tasks.render.markup import BulletList, Heading, NumberedList, Paragraph, Run, Table, parse, plain


def runs_of(text: str) -> tuple[Run, ...]:
    (block,) = parse(text)
    assert isinstance(block, Paragraph)
    return block.runs


def texts(block) -> list[str]:
    return [plain(item) for item in block.items]


def test_paragraphs_split_on_blank_lines_and_soft_wrap_single_newlines():
    blocks = parse("Primeira linha\ncontinua aqui.\n\n\n  Segundo parágrafo.  \r\nFim.")
    assert blocks == [Paragraph((Run("Primeira linha continua aqui."),)), Paragraph((Run("Segundo parágrafo. Fim."),))]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("**negrito**", (Run("negrito", bold=True),)),
        ("*itálico*", (Run("itálico", italic=True),)),
        ("***ambos***", (Run("ambos", bold=True, italic=True),)),
        ("a **b** c", (Run("a "), Run("b", bold=True), Run(" c"))),
        ("**a *b* c**", (Run("a ", bold=True), Run("b", bold=True, italic=True), Run(" c", bold=True))),
        ("*a **b** c*", (Run("a ", italic=True), Run("b", bold=True, italic=True), Run(" c", italic=True))),
    ],
)
def test_inline_bold_and_italic(text, expected):
    assert runs_of(text) == expected


@pytest.mark.parametrize("text", ["**sem fecho", "sem abertura**", "2 * 3 * 4", "** espaço**", "****", "*", "a ** b"])
def test_unmatched_markers_stay_literal(text):
    assert runs_of(text) == (Run(text),)


def test_bullet_list_with_both_markers_and_continuation():
    blocks = parse("Requisitos:\n- primeiro item\n* segundo **item**\n  continua\nTexto após a lista.")
    assert [type(b) for b in blocks] == [Paragraph, BulletList, Paragraph]
    assert texts(blocks[1]) == ["primeiro item", "segundo item continua"]
    assert blocks[1].items[1] == (Run("segundo "), Run("item", bold=True), Run(" continua"))


def test_numbered_list_with_dot_and_parenthesis():
    blocks = parse("1. levantamento\n2) projeção\n10. reserva técnica")
    assert len(blocks) == 1 and isinstance(blocks[0], NumberedList)
    assert texts(blocks[0]) == ["levantamento", "projeção", "reserva técnica"]


def test_loose_lists_stay_one_list_and_interrupted_numbering_goes_on():
    assert [type(b) for b in parse("- a\n\n- b\n\nTexto.")] == [BulletList, Paragraph]
    first, text, second = parse("1. a\n\n2. b\nTexto.\n\n3) c\n4) d")
    assert (first.start, texts(first)) == (1, ["a", "b"]) and isinstance(text, Paragraph)
    assert (second.start, texts(second)) == (3, ["c", "d"])


def test_bullets_then_numbers_are_two_lists():
    blocks = parse("- a\n- b\n1. c")
    assert [type(b) for b in blocks] == [BulletList, NumberedList]


def test_headings_levels_one_to_three():
    blocks = parse("# Um\n## Dois **forte**\n### Três\n#### Quatro\n#sem espaço")
    assert blocks[:3] == [
        Heading(1, (Run("Um"),)),
        Heading(2, (Run("Dois "), Run("forte", bold=True))),
        Heading(3, (Run("Três"),)),
    ]
    assert blocks[3] == Paragraph((Run("#### Quatro #sem espaço"),))


def test_table_with_alignment_inline_marks_and_ragged_rows():
    text = (
        "Tabela:\n| Item | Descrição | Valor |\n|---|:---:|---:|\n| 1 | **Cadeira** | R$ 4.850,00 |\n"
        "| 2 | Mesa |\n| 3 | Armário | R$ 1,00 | sobra |\nDepois."
    )
    intro, table, after = parse(text)
    assert intro == Paragraph((Run("Tabela:"),)) and after == Paragraph((Run("Depois."),))
    assert isinstance(table, Table) and table.aligns == ("left", "center", "right")
    assert [plain(cell) for cell in table.header] == ["Item", "Descrição", "Valor"]
    assert [[plain(cell) for cell in row] for row in table.rows] == [
        ["1", "Cadeira", "R$ 4.850,00"],
        ["2", "Mesa", ""],
        ["3", "Armário", "R$ 1,00"],
    ]
    assert table.rows[0][1] == (Run("Cadeira", bold=True),)


def test_table_escaped_pipe_and_missing_outer_pipes():
    (table,) = parse("| a | b\n|--|--\n| x \\| y | z")
    assert [plain(cell) for cell in table.rows[0]] == ["x | y", "z"]


def test_pipe_lines_without_separator_are_text():
    assert parse("| a | b |\n| c | d |") == [Paragraph((Run("| a | b | | c | d |"),))]


@pytest.mark.parametrize("text", ["", "   ", "\n\n", " \t \r\n ", None])
def test_empty_input_gives_no_blocks(text):
    assert parse(text) == []


def all_text(blocks) -> str:
    parts = []
    for block in blocks:
        if isinstance(block, Paragraph | Heading):
            parts.append(plain(block.runs))
        elif isinstance(block, BulletList | NumberedList):
            parts.extend(plain(item) for item in block.items)
        else:
            parts.extend(plain(cell) for row in (block.header, *block.rows) for cell in row)
    return " ".join(parts)


def letters(text: str) -> Counter:
    return Counter(ch for ch in text if ch.isalpha())


def random_text(rng: random.Random) -> str:
    """Lines of random characters, many starting like a markup construct."""
    alphabet = list("ab çãéÓ*|-#:\t") + ["**", "***", " *", "* "]
    prefixes = ["", "", "", "- ", "* ", "1. ", "2) ", "# ", "## ", "### ", "| ", "| ", "  "]
    separators = ["|---|---|", "|:-:|", "| --- |"]
    lines = [
        rng.choice(separators)
        if rng.random() < 0.2
        else rng.choice(prefixes) + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        for _ in range(rng.randint(0, 8))
    ]
    return rng.choice(["\n", "\r\n", "\n\n"]).join(lines)


def test_fuzz_never_raises_and_keeps_every_letter():
    """Random texts over a markup-heavy alphabet: no exception, and every letter reaches the output.

    Table rows longer than the header lose their extra cells by design: letters may go missing only from
    lines that start with a pipe.
    """
    rng = random.Random(0)
    tables = 0
    for _ in range(600):
        text = random_text(rng)
        blocks = parse(text)
        got, expected = letters(all_text(blocks)), letters(text)
        if any(isinstance(block, Table) for block in blocks):
            tables += 1
            pipe_lines = "".join(line for line in text.splitlines() if line.lstrip().startswith("|"))
            assert got <= expected and expected - got <= letters(pipe_lines), text
        else:
            assert got == expected, text
        for block in blocks:
            runs = block.runs if isinstance(block, Paragraph | Heading) else ()
            assert all(run.text for run in runs)
    assert tables > 20


def test_no_letter_lost_without_tables():
    text = "Órgão *a **b* c** d*** ***e \n- * - f\n## g **h\n1. 2. i\n|j| k |"
    assert letters(all_text(parse(text))) == letters(text)
