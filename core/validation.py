"""Pydantic validation errors in Portuguese, for whoever sent the data (API callers, `nexora` users).

One translation per pydantic error `type` (limits from its `ctx`), the field named as the API spells it
(`titulo`, `itens[0].unidade`, the query parameter `limit`), the expected format of dates, times and ids. A message
of our own validators (`value_error`) is kept, without pydantic's "Value error, " prefix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict
from pydantic_core import PydanticKnownError
from pydantic_core.core_schema import ErrorType


def _json_number(error_type: ErrorType) -> BeforeValidator:
    def check(value: Any) -> Any:
        if isinstance(value, bool | str):
            raise PydanticKnownError(error_type)
        return value

    return BeforeValidator(check)


# A number in a JSON body is a JSON number, as the OpenAPI schema says: pydantic's lax mode would read `true` as 1 and
# "12" as 12 (`"quantidade": true` estimated one unit; found by `make fuzz`). Otherwise lax: a float takes an
# integer, an integer takes 2.0 and refuses 1.5 "sem casas decimais".
JsonInt = Annotated[int, _json_number("int_type")]
JsonFloat = Annotated[float, _json_number("float_type")]

# A request body's fields are the schema's: one it does not know is refused (422 `extra_forbidden`), never ignored. A
# misspelled `orcamento_sigilos` would otherwise leave the estimate public and answer 201.
REQUEST_BODY: Any = ConfigDict(extra="forbid")  # Any: SQLModel types model_config as a TypedDict of its own

DATE = "AAAA-MM-DD"
DATETIME = "AAAA-MM-DDTHH:MM:SS±HH:MM"
WHERE = {"body": "corpo", "query": "consulta", "path": "caminho", "header": "cabeçalho", "cookie": "cookie"}
_LABEL = {
    "consulta": "parâmetro de consulta {}",
    "caminho": "parâmetro de caminho {}",
    "cabeçalho": "cabeçalho {}",
    "cookie": "cookie {}",
}


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def _or(expected: Any) -> str:
    """pydantic's "'a', 'b' or 'c'" in Portuguese."""
    return " ou ".join(str(expected).rsplit(" or ", 1))


def _received(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return _number(value)
    text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "…")


def _count(n: Any, one: str, many: str) -> str:
    return f"{_number(n)} {one if n == 1 else many}"


def _day_example(error: Mapping[str, Any]) -> str:
    """An example of the format, the date the caller meant when it came as DD/MM/AAAA."""
    found = re.fullmatch(r"\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*", str(error.get("input", "")))
    return f"{found[3]}-{int(found[2]):02d}-{int(found[1]):02d}" if found else "2022-12-31"


_JSON_REASONS = {
    "Expecting value": "valor esperado",
    "Expecting property name enclosed in double quotes": "nome de campo entre aspas duplas esperado",
    "Expecting ',' delimiter": "vírgula esperada",
    "Expecting ':' delimiter": "dois-pontos esperados",
    "Unterminated string starting at": "texto sem aspas de fechamento",
    "Extra data": "conteúdo depois do fim do JSON",
    "Invalid control character at": "caractere de controle dentro de um texto",
    "Invalid \\escape": "sequência de escape inválida",
}


def _json_invalid(error: Mapping[str, Any]) -> str:
    said = str((error.get("ctx") or {}).get("error", ""))
    reason = next((ours for theirs, ours in _JSON_REASONS.items() if said.startswith(theirs)), None)
    position = next((p for p in error.get("loc", ())[1:] if isinstance(p, int)), None)
    where = f" no caractere {position + 1}" if position is not None else ""
    return f"JSON malformado{where}" + (f" ({reason})" if reason else "")


def _length(error: Mapping[str, Any], bound: str, key: str) -> str:
    ctx = error.get("ctx") or {}
    actual = f" (tem {_number(ctx['actual_length'])})" if ctx.get("actual_length") is not None else ""
    return f"deve ter {bound} {_count(ctx.get(key), 'item', 'itens')}{actual}"


def _text_length(error: Mapping[str, Any], bound: str, key: str, unit: tuple[str, str]) -> str:
    value = error.get("input")
    actual = f" (tem {len(value)})" if isinstance(value, str | bytes) else ""
    return f"deve ter {bound} {_count((error.get('ctx') or {}).get(key), *unit)}{actual}"


def _ours(prefix: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda error: str(error.get("msg", "")).removeprefix(prefix) or "valor inválido"


_OBJECT = 'deve ser um objeto JSON, como {{"campo": valor}}'
_LIST = "deve ser uma lista JSON, como [1, 2]"
_NUMBER = "deve ser um número, como 12.5"
_INTEGER = "deve ser um número inteiro"
_DAY = "data inválida: use o formato " + DATE + ", como {example}"
_MOMENT = "data e hora inválidas: use o formato " + DATETIME + ", como 2022-12-31T14:30:00-03:00"
_TIME = "horário inválido: use o formato HH:MM:SS, como 14:30:00"
_DURATION = "duração inválida: use segundos ou o formato ISO 8601, como PT1H30M"
_UUID = "identificador malformado (UUID esperado)"
_URL = "endereço (URL) inválido: use uma URL completa, como https://exemplo.gov.br/caminho"
_UNEXPECTED = "valor inválido para este campo"

# every pydantic-core error type (a unit test holds this table to pydantic_core's list)
MESSAGES: dict[str, str | Callable[[Mapping[str, Any]], str]] = {
    "missing": "obrigatório, não informado",
    "extra_forbidden": "campo não previsto nesta operação; retire-o ou confira a grafia",
    "value_error": _ours("Value error, "),
    "assertion_error": _ours("Assertion failed, "),
    "json_invalid": _json_invalid,
    "json_type": "deve ser um texto JSON",
    "string_type": "deve ser texto (entre aspas)",
    "string_unicode": "deve ser texto Unicode válido",
    "string_not_ascii": "deve conter só caracteres ASCII",
    "string_too_short": lambda e: _text_length(e, "ao menos", "min_length", ("caractere", "caracteres")),
    "string_too_long": lambda e: _text_length(e, "no máximo", "max_length", ("caractere", "caracteres")),
    "string_pattern_mismatch": "fora do formato esperado: expressão regular {pattern}",
    "too_short": lambda e: _length(e, "ao menos", "min_length"),
    "too_long": lambda e: _length(e, "no máximo", "max_length"),
    "int_type": _INTEGER,
    "int_parsing": _INTEGER,
    "int_from_float": _INTEGER + ", sem casas decimais",
    "int_parsing_size": "número inteiro grande demais",
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "finite_number": "deve ser um número finito",
    "multiple_of": "deve ser múltiplo de {multiple_of}",
    "greater_than": "deve ser maior que {gt}",
    "greater_than_equal": "deve ser no mínimo {ge}",
    "less_than": "deve ser menor que {lt}",
    "less_than_equal": "deve ser no máximo {le}",
    "bool_type": "deve ser true ou false",
    "bool_parsing": "deve ser true ou false",
    "enum": "deve ser {expected}",
    "literal_error": "deve ser {expected}",
    "date_type": _DAY,
    "date_parsing": _DAY,
    "date_from_datetime_parsing": _DAY,
    "date_from_datetime_inexact": "deve ser uma data sem horário, no formato " + DATE,
    "date_past": "deve ser uma data passada",
    "date_future": "deve ser uma data futura",
    "datetime_type": _MOMENT,
    "datetime_parsing": _MOMENT,
    "datetime_object_invalid": _MOMENT,
    "datetime_from_date_parsing": _MOMENT,
    "datetime_past": "deve ser um momento passado",
    "datetime_future": "deve ser um momento futuro",
    "timezone_naive": "deve vir sem fuso horário",
    "timezone_aware": "informe o fuso horário: " + DATETIME + ", como 2022-12-31T14:30:00-03:00",
    "timezone_offset": "o fuso horário deve ser {tz_expected} segundos de UTC (veio {tz_actual})",
    "time_type": _TIME,
    "time_parsing": _TIME,
    "time_delta_type": _DURATION,
    "time_delta_parsing": _DURATION,
    "uuid_type": _UUID,
    "uuid_parsing": _UUID,
    "uuid_version": "identificador da versão {expected_version} de UUID esperado",
    "url_type": _URL,
    "url_parsing": _URL,
    "url_syntax_violation": _URL,
    "url_too_long": "endereço (URL) longo demais: no máximo {max_length} caracteres",
    "url_scheme": "o endereço (URL) deve começar por {expected_schemes}",
    "decimal_type": _NUMBER,
    "decimal_parsing": _NUMBER,
    "decimal_max_digits": "no máximo {max_digits} dígitos no total",
    "decimal_max_places": "no máximo {decimal_places} casas decimais",
    "decimal_whole_digits": "no máximo {whole_digits} dígitos antes da vírgula decimal",
    "fraction_type": "deve ser uma fração, como 1/3",
    "fraction_parsing": "deve ser uma fração, como 1/3",
    "complex_type": "deve ser um número complexo",
    "complex_str_parsing": "deve ser um número complexo",
    "bytes_type": "deve ser texto",
    "bytes_too_short": "deve ter ao menos {min_length} bytes",
    "bytes_too_long": "deve ter no máximo {max_length} bytes",
    "bytes_invalid_encoding": "codificação inválida (esperado {encoding})",
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "dataclass_type": _OBJECT,
    "dataclass_exact_type": _OBJECT,
    "dict_type": _OBJECT,
    "mapping_type": _OBJECT,
    "frozen_dict_type": _OBJECT,
    "ordered_dict_type": _OBJECT,
    "counter_type": _OBJECT,
    "invalid_key": "nome de campo inválido no objeto",
    "list_type": _LIST,
    "tuple_type": _LIST,
    "set_type": _LIST,
    "frozen_set_type": _LIST,
    "deque_type": _LIST,
    "iterable_type": _LIST,
    "named_tuple_type": _LIST,
    "iteration_error": "lista ilegível",
    "set_item_not_hashable": "item não aceito nesta lista",
    "none_required": "deve ser null",
    "frozen_field": "não pode ser alterado",
    "frozen_instance": "não pode ser alterado",
    "union_tag_invalid": "{discriminator} = {tag} não é aceito; use {expected_tags}",
    "union_tag_not_found": "informe {discriminator}",
    "recursion_loop": "estrutura que se repete (referência circular)",
    "recursion_depth_exceeded": "estrutura aninhada demais",
    "arguments_type": _UNEXPECTED,
    "missing_argument": "obrigatório, não informado",
    "missing_keyword_only_argument": "obrigatório, não informado",
    "missing_positional_only_argument": "obrigatório, não informado",
    "unexpected_keyword_argument": "campo não previsto nesta operação",
    "unexpected_positional_argument": "valor não previsto nesta operação",
    "multiple_argument_values": "informado mais de uma vez",
    "no_such_attribute": "campo não previsto nesta operação",
    "get_attribute_error": _UNEXPECTED,
    "needs_python_object": _UNEXPECTED,
    "is_instance_of": _UNEXPECTED,
    "is_subclass_of": _UNEXPECTED,
    "callable_type": _UNEXPECTED,
    "default_factory_not_called": _UNEXPECTED,
    "missing_sentinel_error": _UNEXPECTED,
    "ellipsis_error": _UNEXPECTED,
}

# the value received is shown after the message of these types (values, not bodies nor lengths)
_ECHO = {
    "enum",
    "literal_error",
    "int_type",
    "int_parsing",
    "int_from_float",
    "float_type",
    "float_parsing",
    "bool_type",
    "bool_parsing",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "multiple_of",
    "string_pattern_mismatch",
    "date_type",
    "date_parsing",
    "date_from_datetime_parsing",
    "date_from_datetime_inexact",
    "datetime_type",
    "datetime_parsing",
    "datetime_from_date_parsing",
    "time_type",
    "time_parsing",
    "uuid_type",
    "uuid_parsing",
    "uuid_version",
    "url_parsing",
    "url_scheme",
    "decimal_parsing",
    "string_type",
    "list_type",
    "dict_type",
    "model_attributes_type",
    "union_tag_invalid",
}


def _whole_body(error: Mapping[str, Any]) -> str | None:
    """The body as a whole: absent, or sent as something other than JSON (FastAPI passes the raw bytes on)."""
    if tuple(error.get("loc", ())) != ("body",):
        return None
    if error.get("type") == "missing":
        return "ausente: envie um objeto JSON com Content-Type: application/json"
    if isinstance(error.get("input"), bytes | bytearray):
        return "não é JSON: envie um objeto JSON com Content-Type: application/json"
    return None


def message(error: Mapping[str, Any]) -> str:
    """The Portuguese message of one pydantic error (an item of `ValidationError.errors()`)."""
    kind = error.get("type", "")
    whole = _whole_body(error)
    if whole:
        return whole
    if kind not in MESSAGES and error.get("msg"):
        # every pydantic type is in MESSAGES: another type is ours (PydanticCustomError), its message already ours
        return str(error["msg"]).removeprefix("Value error, ")
    template = MESSAGES.get(kind, _UNEXPECTED)
    if callable(template):
        text = template(error)
    else:
        ctx = {
            k: _or(v) if k in ("expected", "expected_schemes", "expected_tags") else _number(v)
            for k, v in (error.get("ctx") or {}).items()
        }
        try:
            text = template.format_map({"example": _day_example(error), **ctx})
        except (KeyError, IndexError, ValueError):  # a ctx without the limit: the message without it
            text = re.sub(r"\s*\{[a-z_]+\}", "", template).replace("{{", "{").replace("}}", "}")
    value = error.get("input")
    if kind in _ECHO and (value is None or isinstance(value, str | int | float | bool)):
        text += f" (recebido: {_received(value)})"
    return text


def field_name(loc: Iterable[Any], root: str = "corpo") -> tuple[str, str]:
    """(the field as the API spells it, where it was: corpo, consulta, caminho, cabeçalho) of a pydantic `loc`:
    ("body", "itens", 0, "unidade") → ("itens[0].unidade", "corpo"); ("query", "limit") → ("limit", "consulta");
    the object as a whole (a model validator's error) is `root`."""
    parts = list(loc)
    where = WHERE.get(str(parts[0])) if parts else None
    if where:
        parts = parts[1:]
    if where == "corpo" and parts and isinstance(parts[0], int):  # json_invalid: ("body", position)
        parts = []
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        elif "[" not in str(part):  # not a union member's tag such as "function-after[…]"
            name += ("." if name else "") + str(part)
    return name or root, where or "corpo"


def describe(errors: Iterable[Mapping[str, Any]], root: str = "corpo") -> list[dict[str, str]]:
    """[{campo, local, mensagem, tipo}] of pydantic errors (`root`: the name of the object as a whole; "" on the
    command line, where there is no body)."""
    described = []
    for error in errors:
        campo, local = field_name(error.get("loc", ()), root)
        described.append({"campo": campo, "local": local, "mensagem": message(error), "tipo": error.get("type", "")})
    return described


def label(item: Mapping[str, str]) -> str:
    """How a line names the field: `titulo`, `parâmetro de consulta limit`, `cabeçalho Idempotency-Key`."""
    return _LABEL.get(item["local"], "{}").format(item["campo"]) if item["campo"] else ""


def summary(described: list[dict[str, str]], limit: int = 5) -> str:
    """One line: "titulo: obrigatório, não informado; parâmetro de consulta limit: deve ser no máximo 200; …"."""
    lines = [": ".join(filter(None, (label(item), item["mensagem"]))) for item in described[:limit]]
    more = len(described) - limit
    return "; ".join(lines) + (f"; e mais {more} erro(s) em `erros`" if more > 0 else "")
