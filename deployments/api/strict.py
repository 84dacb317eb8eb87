"""What the OpenAPI document promises, held at the door: a query parameter the operation does not declare is
refused (a typo such as `?stauts=aprovado` would otherwise be ignored and answer with everything), so is a single
-valued one given twice (which value would count?), and a 405 lists in `Allow` every method the path has, not only
those of the first route that matched it."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from fastapi import FastAPI, Request

from models.errors import InvalidError


def _is_list(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "array" or any(_is_list(s) for s in schema.get("anyOf", []))


@cache
def _documented(app: FastAPI) -> dict[str, dict[str, dict[str, bool]]]:
    """{path template: {METHOD: {declared query parameter: takes a list}}} from the OpenAPI document."""
    return {
        template: {
            method.upper(): {
                p["name"]: _is_list(p.get("schema", {}))
                for p in operation.get("parameters", [])
                if p.get("in") == "query"
            }
            for method, operation in operations.items()
        }
        for template, operations in app.openapi().get("paths", {}).items()
    }


@cache
def _patterns(app: FastAPI) -> tuple[tuple[re.Pattern[str], list[str]], ...]:
    """(path regex, documented methods), literal paths first: /x/retry-dead before /x/{id}."""
    templates = sorted(_documented(app), key=lambda template: template.count("{"))
    return tuple(
        (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(t)) + "$"), sorted(_documented(app)[t]))
        for t in templates
    )


def allowed_methods(app: FastAPI, path: str) -> list[str] | None:
    """The documented methods of the path, or None when it is not an API path."""
    return next((methods for pattern, methods in _patterns(app) if pattern.match(path)), None)


def reject_unknown_query(request: Request) -> None:
    """An app-wide dependency: 422 naming the query parameters the operation does not declare."""
    # without convertors such as `:uuid`; "" (no route) is no documented path
    template: str = getattr(request.scope.get("route"), "path_format", "")
    declared = _documented(request.app).get(template, {}).get(request.method)
    if declared is None:  # not a documented operation (/docs, /openapi.json)
        return
    unknown = sorted(set(request.query_params) - set(declared))
    if unknown:
        expected = ", ".join(sorted(declared)) or "nenhum"
        raise InvalidError(
            f"Parâmetro(s) de consulta desconhecido(s): {', '.join(unknown)[:300]}; esta operação aceita: {expected}.",
            erros=_fields(unknown, f"não previsto nesta operação (aceita: {expected})", "extra_forbidden"),
        )
    repeated = sorted(
        name for name, is_list in declared.items() if not is_list and len(request.query_params.getlist(name)) > 1
    )
    if repeated:
        raise InvalidError(
            f"Parâmetro(s) de consulta repetido(s): {', '.join(repeated)}; informe um valor.",
            erros=_fields(repeated, "informado mais de uma vez; informe um valor", "multiple_argument_values"),
        )


def _fields(names: list[str], message: str, kind: str) -> list[dict[str, str]]:
    """The `erros` of the 422 (as a pydantic error would give them), for the first 20 names."""
    return [{"campo": name[:100], "local": "consulta", "mensagem": message, "tipo": kind} for name in names[:20]]
