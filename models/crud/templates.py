"""Templates: validate, add idempotently (versioned), seed, look up."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, func, select

from core.validation import describe, field_name, message
from models.enums import DocumentKind
from models.errors import ConflictError, InvalidError, NotFoundError
from models.template import Template, TemplateSpec

SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"


def describe_errors(raw: Any, exc: ValidationError) -> list[str]:
    """Turn pydantic errors into Portuguese lines that name the offending section by position and slug."""
    sections = raw.get("sections") if isinstance(raw, dict) else None
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = field_name(loc)[0] if loc else "template"
        if len(loc) >= 2 and loc[0] == "sections" and isinstance(loc[1], int):
            index = loc[1]
            slug = None
            if isinstance(sections, list) and index < len(sections) and isinstance(sections[index], dict):
                slug = sections[index].get("slug")
            rest = field_name(loc[2:])[0] if loc[2:] else "seção"
            where = f"seção {index + 1}" + (f" ('{slug}')" if slug else "") + f": {rest}"
        lines.append(f"{where}: {message(error)}")
    return lines


def parse_spec(raw: Any) -> TemplateSpec:
    try:
        return TemplateSpec.model_validate(raw)
    except ValidationError as exc:
        raise InvalidError(
            "Template inválido: " + "; ".join(describe_errors(raw, exc)), erros=describe(exc.errors())
        ) from exc


def load_spec_file(path: str | Path) -> TemplateSpec:
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise NotFoundError(f"Arquivo de template não encontrado: {path}") from exc
    except json.JSONDecodeError as exc:
        raise InvalidError(f"{path}: JSON inválido na linha {exc.lineno}, coluna {exc.colno}: {exc.msg}") from exc
    return parse_spec(raw)


def add_template(session: Session, spec: TemplateSpec) -> tuple[Template, bool]:
    """Store a template; the same content again is a no-op, new content is a new version."""
    digest = spec.content_hash()
    existing = session.exec(
        select(Template).where(Template.name == spec.name).order_by(col(Template.version).desc())
    ).all()
    for template in existing:
        if template.content_hash == digest and spec.version in (None, template.version):
            return template, False
    latest = existing[0].version if existing else 0
    version = spec.version or latest + 1
    if any(t.version == version for t in existing):
        raise ConflictError(
            f"O template '{spec.name}' já tem a versão {version} com outro conteúdo; "
            f"publique como versão {latest + 1} (ou omita 'version')."
        )
    if existing and existing[0].kind != spec.kind:
        raise ConflictError(f"O template '{spec.name}' é do tipo {existing[0].kind}, não {spec.kind}.")
    template = Template(
        name=spec.name,
        kind=spec.kind,
        version=version,
        description=spec.description,
        legal_basis=spec.legal_basis,
        content_hash=digest,
        sections=[section.model_dump(mode="json") for section in spec.sections],
    )
    session.add(template)
    session.flush()
    return template, True


def seed_templates(session: Session, directory: Path = SEEDS_DIR) -> list[tuple[Template, bool]]:
    return [add_template(session, load_spec_file(path)) for path in sorted(directory.glob("*.json"))]


def get_template(session: Session, template_id: uuid.UUID) -> Template:
    template = session.get(Template, template_id)
    if template is None:
        raise NotFoundError(f"Template {template_id} não encontrado.")
    return template


def default_template(session: Session, kind: DocumentKind) -> Template:
    """The latest version of the earliest-created template of that kind (the seeded one)."""
    first = session.exec(select(Template).where(Template.kind == kind).order_by(col(Template.created_at))).first()
    if first is None:
        raise NotFoundError(f"Nenhum template do tipo {kind} cadastrado; rode 'nexora templates seed'.")
    latest = session.exec(
        select(Template).where(Template.name == first.name).order_by(col(Template.version).desc())
    ).first()
    assert latest is not None  # `first` itself has that name
    return latest


def list_templates(
    session: Session, kind: DocumentKind | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[Template], int]:
    query = select(Template)
    count = select(func.count()).select_from(Template)
    if kind:
        query, count = query.where(Template.kind == kind), count.where(Template.kind == kind)
    rows = session.exec(query.order_by(Template.name, col(Template.version).desc()).offset(offset).limit(limit)).all()
    return list(rows), session.exec(count).one()
