"""What counts as a natural person's identifier (LGPD, Lei 13.709/2018): a CPF has 11 digits."""

from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"[\s.\-/]")


def cpf_like(value: object) -> bool:
    """Whether ``value`` has the shape of a CPF: 11 digits once dots, dashes, slashes and spaces are taken out.

    Any 11-digit identifier is treated as a person's, whether its check digits are valid or not (a mistyped CPF is
    still a CPF), and whatever a record's own ``tipoPessoa`` says or omits. A CNPJ has 14 digits."""
    if value is None:
        return False
    digits = _PUNCTUATION.sub("", str(value))
    return len(digits) == 11 and digits.isdigit()
