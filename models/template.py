"""Document templates: a kind (ETP/TR), a name, a version and the sections the law asks for."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, field_validator, model_validator
from pydantic import Field as PField
from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.validation import REQUEST_BODY
from models.db import UtcDateTime, utcnow
from models.enums import DocumentKind, MarketData

SLUG_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class SectionSpec(BaseModel):
    """One section of a template, as written in `seeds/*.json` or posted to the API."""

    slug: str
    code: str = PField(min_length=1, max_length=10)
    title: str = PField(min_length=3, max_length=200)
    legal_basis: str = PField(min_length=3, max_length=300)
    legal_text: str = PField(default="", max_length=2000)
    required: bool = True
    guidance: str = PField(min_length=10, max_length=4000)
    instructions: str = PField(min_length=10, max_length=4000)
    market_data: MarketData = MarketData.NONE
    max_chars: int = PField(default=15000, ge=200, le=200_000)

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG_RE.match(value):
            raise ValueError(
                "slug deve ter de 2 a 40 caracteres: letras minúsculas, dígitos e '_' (começando por letra)"
            )
        return value


READ_ONLY = frozenset({"id", "content_hash", "created_at"})  # TemplatePublic's keys that a new version does not take


class SectionInput(SectionSpec):
    """A section as a template file or the API gives it: a key it does not know (`guidence`) is refused, never
    dropped. Stored sections are read back through the lax `SectionSpec`."""

    model_config = REQUEST_BODY


class TemplateSpec(BaseModel):
    """A whole template definition as given (unknown keys refused); `validate_template` gives errors that name the
    section."""

    model_config = REQUEST_BODY

    name: str = PField(min_length=3, max_length=200)
    kind: DocumentKind
    version: int | None = PField(default=None, ge=1)
    description: str = PField(default="", max_length=2000)
    legal_basis: str = PField(default="", max_length=300)
    sections: list[SectionInput] = PField(min_length=1, max_length=60)

    @model_validator(mode="before")
    @classmethod
    def _read_back(cls, raw: Any) -> Any:
        """A template as `GET /templates/{id}` gives it may be edited and posted back: the keys only a read has are
        dropped (they are the stored version's, not the new one's)."""
        if isinstance(raw, dict):
            return {key: value for key, value in raw.items() if key not in READ_ONLY}
        return raw

    @model_validator(mode="after")
    def _unique_slugs(self) -> TemplateSpec:
        seen: set[str] = set()
        for position, section in enumerate(self.sections, start=1):
            if section.slug in seen:
                raise ValueError(f"seção {position} ('{section.slug}'): slug repetido")
            seen.add(section.slug)
        return self

    def content_hash(self) -> str:
        body = self.model_dump(mode="json", exclude={"version"})
        return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class Template(SQLModel, table=True):
    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_templates_name_version"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(index=True, max_length=200)
    kind: DocumentKind = Field(index=True, sa_type=String(8))
    version: int = Field(ge=1)
    description: str = ""
    legal_basis: str = ""
    sections: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    content_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())

    def section(self, slug: str) -> dict[str, Any] | None:
        return next((s for s in self.sections if s["slug"] == slug), None)

    @property
    def slugs(self) -> list[str]:
        return [s["slug"] for s in self.sections]


class TemplatePublic(SQLModel):
    id: uuid.UUID
    name: str
    kind: DocumentKind
    version: int
    description: str
    legal_basis: str
    content_hash: str
    created_at: datetime
    sections: list[SectionSpec]


class TemplateSummary(SQLModel):
    id: uuid.UUID
    name: str
    kind: DocumentKind
    version: int
    sections: int
    created_at: datetime


class TemplatesPublic(SQLModel):
    data: list[TemplateSummary]
    count: int
