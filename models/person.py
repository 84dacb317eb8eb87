"""The body's people: who plans (equipe de planejamento) and who approves (autoridade competente).

Lei 14.133/2021, art. 8º: the licitação is conducted by agents designated by the authority; art. 18, caput: the
planning phase is done by them. A person is named by an identifier of the body (a SIAPE matrícula or the like), never
a CPF (LGPD): the API keys identify the calling application, the header ``X-Actor`` the person acting.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from pydantic import field_validator
from sqlalchemy import JSON, Boolean, Column, true
from sqlmodel import Field, SQLModel

from core.validation import REQUEST_BODY
from models.db import UtcDateTime, utcnow
from models.enums import Role
from models.personal_data import cpf_like

IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,39}$"


def check_identifier(value: str) -> str:
    """A person's identifier: 3–40 letters, digits, '.', '_' or '-' (a letter or digit first; spaces around it
    dropped), and not a CPF (LGPD, Lei 13.709/2018, art. 6º III, necessidade: the body's own registration number
    identifies its agent without the CPF)."""
    value = value.strip()
    if not re.fullmatch(IDENTIFIER_PATTERN, value):
        raise ValueError(
            "o identificador tem de 3 a 40 letras (sem acento), dígitos, '.', '_' ou '-', começando por letra ou dígito"
        )
    if cpf_like(value):
        raise ValueError(
            "o identificador parece um CPF (11 dígitos): use a matrícula SIAPE ou outro identificador do órgão, "
            "nunca o CPF (LGPD, Lei 13.709/2018, art. 6º, III)"
        )
    return value


class PersonBase(SQLModel):
    identifier: str = Field(
        min_length=3,
        max_length=40,
        description="matrícula SIAPE ou outro identificador do órgão (nunca o CPF): 3 a 40 letras, dígitos, '.', '_' "
        "ou '-'",
    )
    name: str = Field(min_length=3, max_length=200, description="nome completo")
    orgao: str = Field(min_length=2, max_length=200, description="órgão a que pertence (como nos documentos)")


class PersonCreate(PersonBase):
    model_config = REQUEST_BODY
    roles: list[Role] = Field(
        min_length=1,
        max_length=2,
        description="equipe_planejamento (elabora e revisa ETP/TR) e/ou autoridade_competente (aprova)",
    )

    # before the length limits: they count what is kept (SQLModel's `regex=` is not applied under pydantic 2: a
    # form feed passed the limits, was stripped, and the person stored with 2 characters answered 500; make fuzz)
    @field_validator("identifier", mode="before")
    @classmethod
    def _identifier(cls, value: Any) -> Any:
        return check_identifier(value) if isinstance(value, str) else value

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: list[Role]) -> list[Role]:
        return sorted(set(value))


class Person(PersonBase, table=True):
    __tablename__ = "people"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    identifier: str = Field(max_length=40, unique=True, index=True)
    roles: list[str] = Field(sa_column=Column(JSON, nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=true()))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime())
    deactivated_at: datetime | None = Field(default=None, sa_type=UtcDateTime())

    def has(self, role: Role) -> bool:
        return role.value in self.roles


class PersonPublic(PersonBase):
    id: uuid.UUID
    roles: list[Role]
    active: bool
    created_at: datetime
    deactivated_at: datetime | None
