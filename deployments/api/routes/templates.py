"""Templates: list, read, publish (a new version, or the same one again idempotently)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response, status

from deployments.api.deps import AdminKey, Offset, ReadKey, SessionDep
from models.crud.templates import add_template, get_template, list_templates, parse_spec
from models.enums import DocumentKind
from models.template import Template, TemplatePublic, TemplatesPublic, TemplateSummary

router = APIRouter(prefix="/api/v1/templates", tags=["templates"])


def public(template: Template) -> TemplatePublic:
    return TemplatePublic.model_validate(template, from_attributes=True)


@router.get("", response_model=TemplatesPublic)
def read_templates(
    session: SessionDep,
    _: ReadKey,
    kind: DocumentKind | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    offset: Offset = 0,
) -> TemplatesPublic:
    """List templates, newest version first."""
    rows, count = list_templates(session, kind, limit, offset)
    return TemplatesPublic(
        data=[
            TemplateSummary(
                id=t.id, name=t.name, kind=t.kind, version=t.version, sections=len(t.sections), created_at=t.created_at
            )
            for t in rows
        ],
        count=count,
    )


@router.get("/{template_id}", response_model=TemplatePublic)
def read_template(session: SessionDep, _: ReadKey, template_id: uuid.UUID) -> TemplatePublic:
    """One template with its sections."""
    return public(get_template(session, template_id))


@router.post(
    "",
    response_model=TemplatePublic,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": TemplatePublic, "description": "Mesmo conteúdo já publicado"}},
)
def create_template(
    session: SessionDep,
    _: AdminKey,
    response: Response,
    body: Annotated[dict[str, Any], Body(description="Template (ver seeds/etp.json)")],
) -> TemplatePublic:
    """Publish a template: new content becomes a new version; the same content again changes nothing."""
    template, created = add_template(session, parse_spec(body))
    if not created:
        response.status_code = status.HTTP_200_OK
    return public(template)
