"""The reference date of a price research or estimate, bounded before anything runs.

A reference date names the day the research looks back from (``PRICE_RESEARCH_WINDOW_DAYS`` before it). It must
lie between the first day of the real and today (Brasília): outside those limits it is refused with a message
naming the field as the API spells it and the format expected (AAAA-MM-DD). Used by the price estimates (``data``),
a document's items (``data_referencia``) and their drafting; here, in ``models``, so every layer can use it.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

BRASILIA = ZoneInfo("America/Sao_Paulo")
MONTHS = "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro".split()
REAL_SINCE = date(1994, 7, 1)
FORMAT = "AAAA-MM-DD"


class ReferenceDateError(ValueError):
    """A reference date outside the limits; the message is the answer to give (Portuguese)."""


def today() -> date:
    """Today in Brasília: the limit for a reference date, whatever the server's time zone."""
    return datetime.now(BRASILIA).date()


def br(value: date) -> str:
    """dd/mm/aaaa, also for years below 1000 (``strftime`` does not pad them: "01/01/1")."""
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


def reference_date_problem(value: date, *, now: date | None = None) -> str | None:
    """Why ``value`` cannot be a price research's reference date, or None when it can.

    Not after today. Lei nº 14.133/2021, art. 23, § 1º, II: "contratações similares feitas pela Administração
    Pública, em execução ou concluídas no período de 1 (um) ano anterior à data da pesquisa de preços, inclusive
    mediante sistema de registro de preços, observado o índice de atualização de preços correspondente". The year
    is counted back from the date of the research itself, which is done today at the latest. IN SEGES/ME nº
    65/2021, art. 5º, II, counts it back from the "data de divulgação do edital", which at planning time (ETP, TR)
    may lie ahead; but no price dated after today exists to be compared, so a future reference date would only
    hide that the window is partly empty. The IN does not allow dating the research itself in the future: the
    research is dated when it is made (and redone if the edital is published much later).

    Not before 1 July 1994. Lei nº 9.069/1995, art. 1º: "A partir de 1º de julho de 1994, a unidade do Sistema
    Monetário Nacional passa a ser o REAL": a price dated before it is in cruzeiros reais, and no collected price
    can be compared with it. Dates between that
    day and the earliest collected price are accepted; the answer then says that the date lies outside the
    collected data (``tasks.prices.reliability``).
    """
    now = now or today()
    if value > now:
        return (
            f"{br(value)} é posterior a hoje ({br(now)}): a pesquisa de preços considera as contratações do ano "
            "anterior à data da pesquisa (Lei nº 14.133/2021, art. 23, § 1º, II), que não pode estar no futuro"
        )
    if value < REAL_SINCE:
        return (
            f"{br(value)} é anterior a {br(REAL_SINCE)}, início do real (Lei nº 9.069/1995, art. 1º): não há "
            "preço em reais com que comparar"
        )
    return None


def check_reference_date(value: date | None, field: str = "data", *, now: date | None = None) -> date | None:
    """``value`` itself when it can be a reference date (or is None); else ReferenceDateError saying why, the field
    and the accepted range in the expected format."""
    if value is None:
        return None
    now = now or today()
    problem = reference_date_problem(value, now=now)
    if problem:
        raise ReferenceDateError(
            f"{field}: {problem}. Informe uma data de referência entre {br(REAL_SINCE)} e hoje "
            f"({br(now)}), no formato {FORMAT} (por exemplo, {now.isoformat()})."
        )
    return value
