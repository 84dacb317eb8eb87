"""The parameters of the drafting flows (generate-field, generate-document), written once: the flows' signatures
(the Prefect UI's form and the server's schema), the API's request bodies and the CLI's options use these types."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, Field

from core.validation import REQUEST_BODY

DocumentId = Annotated[uuid.UUID, Field(description="id do documento (ETP ou TR)")]
Slug = Annotated[str, Field(min_length=2, max_length=40, description="slug da seção no template")]
RequestedBy = Annotated[
    str,
    Field(
        min_length=3,
        max_length=40,
        description="quem pede a redação: identificador de uma pessoa da equipe de planejamento (/api/v1/people)",
    ),
]
Force = Annotated[bool, Field(description="ignora o cache e chama o modelo de novo")]
Instructions = Annotated[str | None, Field(max_length=2000, description="pedido adicional ao redator")]
OnlyEmpty = Annotated[bool, Field(description="redigir só as seções vazias (false: todas)")]


class GenerateFieldParams(BaseModel):
    """One section to draft (the flow generate-field)."""

    document_id: DocumentId
    slug: Slug
    requested_by: RequestedBy
    force: Force = False
    instructions: Instructions = None


class GenerateDocumentOptions(BaseModel):
    """How to draft a document's sections (the API's body: the document's id is in its path)."""

    model_config = REQUEST_BODY

    force: Force = False
    only_empty: OnlyEmpty = True


class GenerateDocumentParams(GenerateDocumentOptions):
    """Every empty section of a document to draft (the flow generate-document)."""

    document_id: DocumentId
    requested_by: RequestedBy
