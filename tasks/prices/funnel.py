"""The mapa de preços' filters, in the order the research applies them, with what each set aside: so an empty or
thin mapa says why (``tasks.prices.research``).

1. ``item``: another catalogue code, or a description below the similarity threshold;
2. ``preco``: a price that is not a positive number, or has no date;
3. ``janela``: dated outside [data de referência − janela, data de referência];
4. ``unidade``: a unit the normaliser cannot read, or of another base than the reference unit;
5. ``outliers``: set aside by the exclusion criterion (IN 65/2021, art. 6º).

Each stage: ``entrada`` (prices reaching it), ``excluidos``, ``restantes``; the last ``restantes`` is the mapa's n.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from models.price_dates import br
from tasks.prices.outliers import number_br


def stages(
    excluded: Mapping[str, int],
    removed: int,
    kept: int,
    *,
    code: str | None,
    threshold: float,
    start: date,
    end: date,
    window_days: int,
    base: str,
    criterion: str,
    read_from: date | None = None,
) -> list[dict[str, Any]]:
    """The five stages (see the module docstring) from the research's exclusion counts (``excluded``, keys of
    ``research.EXCLUSIONS``), the outliers ``removed`` and the prices ``kept``."""
    if code:
        item = f"outro item: código CATMAT/CATSER diferente de {code}"
        item_short = "de outro código"
    else:
        # by description, the search index reads only the prices that can reach the similarity (their words)
        read = (
            f", entre os preços lidos, publicados a partir de {br(read_from)} (a busca lê apenas os que podem atingir "
            "a similaridade)"
            if read_from
            else ""
        )
        item = f"outro item: descrição com similaridade menor que {number_br(threshold)}{read}"
        item_short = f"de outro item (descrição com similaridade menor que {number_br(threshold)})"
    window = f"fora da janela de {window_days} dias ({br(start)} a {br(end)})"
    rows = [
        ("item", item, item_short, excluded.get("outro_item", 0)),
        (
            "preco",
            "preço não positivo ou ilegível, ou sem data",
            "com preço inválido ou sem data",
            excluded.get("preco_invalido", 0) + excluded.get("sem_data", 0),
        ),
        (
            "janela",
            f"data {window} ou posterior à data de referência",
            window,
            excluded.get("fora_da_janela", 0) + excluded.get("data_futura", 0),
        ),
        (
            "unidade",
            f"unidade não reconhecida ou não convertível em {base}",
            f"em unidade não reconhecida ou não convertível em {base}",
            excluded.get("unidade_desconhecida", 0) + excluded.get("unidade_incompativel", 0),
        ),
        ("outliers", criterion, "removido(s) pelo critério de exclusão", removed),
    ]
    running = sum(excluded.values()) + removed + kept
    out = []
    for name, text, short, count in rows:
        out.append(
            {
                "filtro": name,
                "descricao": text,
                "resumo": short,
                "entrada": running,
                "excluidos": count,
                "restantes": running - count,
            }
        )
        running -= count
    return out


def shortage(n: int, minimum: int) -> str:
    """The mapa's note when it has fewer than ``minimum`` valid prices (IN 65/2021, art. 6º)."""
    if n == 0:
        return "Nenhum preço válido encontrado: não há estimativa; amplie a pesquisa com outros parâmetros do art. 5º."
    return (
        f"Apenas {n} preço(s) válido(s), menos que os {minimum} exigidos (IN 65/2021, art. 6º): a estimativa só "
        "pode ser usada excepcionalmente, com justificativa do gestor nos autos e aprovação da autoridade "
        "competente."
    )


def explain(
    filters: list[dict[str, Any]], n: int, *, code: str | None, start: date, end: date, span: tuple[date, date] | None
) -> str:
    """One sentence: how many prices were read and which filter set aside how many; for an empty read, the window
    and the collected data's period (by description, the search index read none similar enough: the window may hold
    prices of other items, not read)."""
    read = filters[0]["entrada"] if filters else 0
    if read == 0:
        what = (
            f"Nenhum preço do código CATMAT/CATSER {code} foi coletado"
            if code
            else f"Nenhum preço coletado com data entre {br(start)} e {br(end)} tem descrição semelhante à do item"
        )
        where = (
            f"; os preços coletados vão de {br(span[0])} a {br(span[1])}"
            if span
            else "; não há preços coletados (colete o PNCP antes)"
        )
        return f"{what}{where}."
    removed = [f"{stage['excluidos']} {stage['resumo']}" for stage in filters if stage["excluidos"]]
    return f"Dos {read} preço(s) lidos, {n} válido(s)" + (f"; excluídos: {', '.join(removed)}" if removed else "") + "."
