"""What the OpenAPI document promises, held at the door: a query parameter the operation does not declare is
refused (a typo such as `?stauts=aprovado` would otherwise be ignored and answer with everything), so is a single
-valued one given twice (which value would count?), and a 405 lists in `Allow` every method the path has, not only
those of the first route that matched it."""

from __future__ import annotations

import re
from functools import cache

from fastapi import FastAPI, HTTPException, Request, status


def _is_list(schema: dict) -> bool:
    return schema.get("type") == "array" or any(_is_list(s) for s in schema.get("anyOf", []))


@cache
def _operations(app: FastAPI) -> tuple[tuple[re.Pattern, str, dict[str, dict[str, bool]]], ...]:
    """(path regex, path template, {METHOD: {declared query parameter: takes a list}}) for every documented path."""
    found = []
    for template, operations in app.openapi().get("paths", {}).items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
        found.append((pattern, template, {
            method.upper(): {p["name"]: _is_list(p.get("schema", {})) for p in operation.get("parameters", [])
                             if p.get("in") == "query"}
            for method, operation in operations.items()}))
    return tuple(sorted(found, key=lambda entry: entry[1].count("{")))  # /x/retry-dead before /x/{id}


def allowed_methods(app: FastAPI, path: str) -> list[str] | None:
    """The documented methods of the path, or None when it is not an API path."""
    for pattern, _, methods in _operations(app):
        if pattern.match(path):
            return sorted(methods)
    return None


def reject_unknown_query(request: Request) -> None:
    """An app-wide dependency: 422 naming the query parameters the operation does not declare."""
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    for _, documented, methods in _operations(request.app):
        if documented == template and request.method in methods:
            declared = methods[request.method]
            unknown = sorted(set(request.query_params) - set(declared))
            if unknown:
                expected = ", ".join(sorted(declared)) or "nenhum"
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                    f"Parâmetro(s) de consulta desconhecido(s): {', '.join(unknown)[:300]}; "
                                    f"esta operação aceita: {expected}.")
            repeated = sorted(name for name, is_list in declared.items()
                              if not is_list and len(request.query_params.getlist(name)) > 1)
            if repeated:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                    f"Parâmetro(s) de consulta repetido(s): {', '.join(repeated)}; informe um valor.")
            return
