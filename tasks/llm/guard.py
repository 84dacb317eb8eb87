"""What goes to the model and what comes back (LGPD and prompt injection), as pure functions.

Out: personal data (CPF, e-mail addresses, phone numbers) is replaced by a placeholder before any text reaches the
LLM — public data (CNPJ, process numbers, values, CATMAT codes, dates) is kept; text from users and from collected
documents goes inside <dados>…</dados>, with any delimiter of its own neutralised so it cannot close the block.
Back: a draft that tries to change the document's status, points at URLs, calls tools, or repeats our instructions
is refused with the reasons (the field is not written; the run fails saying why).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

CPF = re.compile(r"(?<![\d./-])(\d{3})\.?(\d{3})\.?(\d{3})-?(\d{2})(?![\d/-]|\.\d)")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# a Brazilian phone needs its area code (in parentheses, or after +55) or the 9-digit mobile shape:
# "(61) 3333-4444", "+55 61 99999-8888", "61 99999-8888"; not "2024-2025" nor "23000.123456/2026-11"
PHONE = re.compile(
    r"(?<![\w/.-])(?:\+55[\s.-]?\(?\d{2}\)?[\s.-]?|\(\d{2}\)\s?|\d{2}\s(?=9\d{4}))"
    r"9?\d{4}[-\s.]?\d{4}(?![\w/-])"
)
CPF_MARK, EMAIL_MARK, PHONE_MARK = "[CPF removido]", "[e-mail removido]", "[telefone removido]"


def _valid_cpf(digits: str) -> bool:
    if len(digits) != 11 or digits == digits[0] * 11:
        return False
    for size in (9, 10):
        total = sum(int(d) * weight for d, weight in zip(digits[:size], range(size + 1, 1, -1), strict=True))
        check = (total * 10) % 11 % 10
        if check != int(digits[size]):
            return False
    return True


def scrub_personal_data(text: str) -> tuple[str, dict[str, int]]:
    """The text with CPFs (check digits valid), e-mail addresses and phone numbers replaced; and how many of each."""
    counts = {"cpf": 0, "email": 0, "phone": 0}

    def cpf(match: re.Match) -> str:
        formatted = "." in match.group(0) and "-" in match.group(0)  # written as a CPF: personal even if mistyped
        if not formatted and not _valid_cpf("".join(match.groups())):
            return match.group(0)
        counts["cpf"] += 1
        return CPF_MARK

    def email(_: re.Match) -> str:
        counts["email"] += 1
        return EMAIL_MARK

    def phone(_: re.Match) -> str:
        counts["phone"] += 1
        return PHONE_MARK

    text = EMAIL.sub(email, text)
    text = CPF.sub(cpf, text)
    text = PHONE.sub(phone, text)
    return text, counts


def scrub_messages(messages: list[dict[str, str]]) -> tuple[list[dict[str, str]], dict[str, int]]:
    """The messages with personal data replaced (LGPD), and how many of each kind went."""
    scrubbed, removed = [], {"cpf": 0, "email": 0, "phone": 0}
    for message in messages:
        content, counts = scrub_personal_data(message["content"])
        scrubbed.append({**message, "content": content})
        for kind, count in counts.items():
            removed[kind] += count
    return scrubbed, removed


DELIMITER = re.compile(r"<\s*/?\s*dados\s*>", re.IGNORECASE)


def as_data(text: str) -> str:
    """Text to put inside <dados>…</dados>: its own delimiters become look-alikes that close nothing."""
    return DELIMITER.sub(lambda m: m.group(0).replace("<", "‹").replace(">", "›"), text)


URL = re.compile(r"\b(?:https?|ftp|file)://\S+|\bwww\.[\w-]+\.\S+", re.IGNORECASE)
STATUS_CHANGE = re.compile(
    r"\b(?:status|situa[çc][ãa]o)[\"']?\s*[:=]\s*[\"']?(?:aprovad|consolidad|publicad|approved)"
    r"|\b(?:aprove|altere|mude|defina|marque|publique)\b[^.\n]{0,40}\b(?:status|situa[çc][ãa]o|documento)\b"
    r"[^.\n]{0,20}\b(?:para|como)\s+(?:aprovad|consolidad|publicad)"
    r"|\b(?:aprove|publique|consolide)\s+(?:o|este|esse)\s+(?:documento|ETP|TR|termo)\b",
    re.IGNORECASE,
)
TOOL_CALL = re.compile(
    r"\"(?:function_call|tool_calls?|arguments)\"\s*:|<\s*/?\s*(?:tool|function)[\s_>]", re.IGNORECASE
)
INSTRUCTION_ECHO = (
    "Regras obrigatórias",
    "nunca instrução",
    "ignore quaisquer ordens",
    "Você é um assistente de redação",
    "<dados>",
    "</dados>",
)


def check_output(content: str, given: str = "") -> list[str]:
    """Why a generated section cannot be stored (empty when it can); ``given``: the text sent to the model, whose
    URLs the draft may repeat."""
    problems = []
    foreign = [url for url in URL.findall(content) if url.rstrip(".,;:)") not in given]
    if foreign:
        problems.append(f"contém endereço (URL) que não está nos dados: {foreign[0][:80]}")
    if STATUS_CHANGE.search(content):
        problems.append(f'tenta alterar a situação do documento: "{STATUS_CHANGE.search(content).group(0)[:80]}"')
    if TOOL_CALL.search(content):
        problems.append("contém chamada de ferramenta ou função")
    echoed = [phrase for phrase in INSTRUCTION_ECHO if phrase.lower() in content.lower()]
    if echoed:
        problems.append(f"reproduz as instruções do sistema ({echoed[0]!r})")
    return problems


# an amount as Brazilian text writes it: 1.234,56 or 1234,56 (optionally after R$)
MONEY = re.compile(r"(?<![\d.,])(\d{1,3}(?:\.\d{3})+|\d+),(\d{2})(?![\d,])")


def money_values(text: str) -> set[Decimal]:
    """Every amount written in the text, in reais with cents."""
    return {Decimal(f"{whole.replace('.', '')}.{cents}") for whole, cents in MONEY.findall(text or "")}


def reveals_estimate(content: str, secret_figures: Iterable[str]) -> str | None:
    """Why a public section of a sigiloso estimate cannot be stored: it states one of the estimate's values (Lei
    14.133/2021, art. 24: the orçamento "poderá ter caráter sigiloso"; art. 18, §1º, VI: in a classified annex). The
    value itself is not repeated in the reason."""
    secret = {Decimal(f) for f in secret_figures}
    found = money_values(content) & secret
    if not found:
        return None
    return (
        f"revela {len(found)} valor(es) do orçamento estimado sigiloso (art. 24 da Lei 14.133/2021), que só podem "
        "constar do anexo classificado (ETP, inciso VI; TR, alínea i)"
    )
