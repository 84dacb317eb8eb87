"""Builders of test data."""

from __future__ import annotations

import uuid
from typing import Any

from models.crud.apikeys import create_key
from models.crud.documents import create_document
from models.db import session_scope
from models.document import DocumentCreate
from models.enums import DocumentKind


def document_data(kind: str = "ETP", **overrides: Any) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    return {
        "kind": kind,
        "titulo": f"Aquisição de notebooks {tag}",
        "numero_processo": f"23000.{tag}/2026-11",
        "orgao": "Ministério da Gestão e da Inovação em Serviços Públicos",
        "unidade": "Coordenação-Geral de Logística",
        "context": f"Substituição de 52 computadores de 2016 (lote {tag}).",
        **overrides,
    }


def make_document(url: str, kind: str = "ETP", **overrides: Any) -> uuid.UUID:
    with session_scope(url) as session:
        data = document_data(kind, **overrides)
        data["kind"] = DocumentKind(data["kind"])
        return create_document(session, DocumentCreate(**data), actor="tests").id


def make_key(url: str, scopes: list[str], name: str = "tests") -> str:
    with session_scope(url) as session:
        return create_key(session, name, scopes)[1]
