"""FastAPI dependencies: database session, the caller's API key and its scopes, the Prefect client."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prefect.client.orchestration import PrefectClient
from sqlmodel import Session

from core.logging import current_trace_id
from deployments.api.limits import check_rate, request_class
from models.apikey import ApiKey, reaches
from models.artifact import Artifact
from models.crud.apikeys import authenticate
from models.crud.documents import Acting
from models.crud.people import ACTOR_HEADER, acting_person
from models.db import session_scope
from models.document import Document
from models.enums import Scope
from models.errors import NotFoundError

bearer = HTTPBearer(auto_error=False, description="Chave de API: `Authorization: Bearer nxk_…`")


def get_session() -> Iterator[Session]:
    with session_scope() as session:
        yield session


# scope="function": commit before the response is sent, so a client's next request sees the change.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _unauthorized(message: str, error: str | None = None) -> HTTPException:
    challenge = f'Bearer error="{error}"' if error else "Bearer"
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": challenge})


def malformed_authorization(header: str) -> HTTPException:
    """The 401 of an Authorization header that is there but is not `Bearer <chave>` (the bare key, `Basic …`,
    `Bearer` alone)."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        why = "falta a chave depois de 'Bearer'"
    elif not rest.strip():
        why = "veio só a chave, sem 'Bearer ' antes"
    elif re.fullmatch(r"[A-Za-z][A-Za-z0-9._~+-]{0,19}", scheme):  # a scheme's name, never a piece of a key
        why = f"esquema '{scheme}' em vez de 'Bearer'"
    else:
        why = "sem o esquema 'Bearer'"
    return _unauthorized(
        f"Cabeçalho Authorization malformado ({why}): use 'Authorization: Bearer <chave>'.", "invalid_request"
    )


def get_current_key(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> ApiKey:
    """The caller's key, once its request is within the key's rate for its class (reads, writes: 429 above)."""
    if credentials is None:
        header = request.headers.get("authorization", "")
        if header.strip():
            raise malformed_authorization(header)
        raise _unauthorized("Chave de API ausente: envie o cabeçalho 'Authorization: Bearer <chave>'.")
    with session_scope() as session:
        key = authenticate(session, credentials.credentials)
    if key is None:
        raise _unauthorized("Chave de API inválida ou revogada.", "invalid_token")
    check_rate(key.id, request_class(request.method))  # its own transaction, after the key's: see take_token
    if key.orgaos:
        _guard_path(key, request.path_params)
    return key


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None  # the route refuses it (422)


def ensure_reaches(key: ApiKey, document_id: uuid.UUID, missing: str | None = None) -> None:
    """A key bound to órgãos (`nexora apikey create --orgao`) meets another órgão's document as one that does not
    exist: the same 404, so a key cannot even learn which ids exist elsewhere."""
    if not key.orgaos:
        return
    with session_scope() as session:
        document = session.get(Document, document_id)
        if document is not None and not reaches(key, document.orgao):
            raise NotFoundError(missing or f"Documento {document_id} não encontrado.")


def _guard_path(key: ApiKey, params: dict[str, object]) -> None:
    """Every route with a document (or one of its files) in its path, for a key bound to órgãos."""
    document_id = _uuid(params["document_id"]) if "document_id" in params else None
    if document_id is not None:
        ensure_reaches(key, document_id)
    artifact_id = _uuid(params["artifact_id"]) if "artifact_id" in params else None
    if artifact_id is not None:
        with session_scope() as session:
            artifact = session.get(Artifact, artifact_id)
            owner = artifact.document_id if artifact else None
        if owner is not None:
            ensure_reaches(key, owner, f"Artefato {artifact_id} não encontrado.")


def refuse_other_orgao(key: ApiKey, orgao: str | None) -> None:
    """Creating or moving a document into an órgão the key is not bound to: 403 (the client named the órgão)."""
    if orgao is not None and not reaches(key, orgao):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"A chave '{key.name}' só alcança documentos de: {'; '.join(key.orgaos)}.",
        )


CurrentKey = Annotated[ApiKey, Depends(get_current_key)]


def require(scope: Scope) -> Callable[[ApiKey], ApiKey]:
    def check(key: CurrentKey) -> ApiKey:
        if scope.value not in key.scopes and Scope.ADMIN.value not in key.scopes:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"A chave '{key.name}' não tem o escopo '{scope.value}'.")
        return key

    return check


def cleared_for_sigiloso(key: ApiKey) -> bool:
    """Only the 'sigiloso' scope reads a sigiloso estimate (not even 'admin')."""
    return Scope.SIGILOSO.value in key.scopes


def sigiloso_section_refused(slug: str) -> HTTPException:
    """The 403 for writing or drafting a section of a sigiloso estimate without the scope."""
    return HTTPException(
        status.HTTP_403_FORBIDDEN,
        f"A seção '{slug}' é do orçamento sigiloso (art. 24 da Lei 14.133/2021): é preciso o escopo 'sigiloso'.",
    )


def require_sigiloso(key: CurrentKey) -> ApiKey:
    if not cleared_for_sigiloso(key):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"A chave '{key.name}' não tem o escopo 'sigiloso'.")
    return key


ReadKey = Annotated[ApiKey, Depends(require(Scope.READ))]
SigilosoKey = Annotated[ApiKey, Depends(require_sigiloso)]
WriteKey = Annotated[ApiKey, Depends(require(Scope.WRITE))]
RunKey = Annotated[ApiKey, Depends(require(Scope.RUN))]
AdminKey = Annotated[ApiKey, Depends(require(Scope.ADMIN))]


def get_trace_id() -> str:
    return current_trace_id.get() or "-"


TraceId = Annotated[str, Depends(get_trace_id)]


def get_acting(
    key: CurrentKey,
    trace_id: TraceId,
    x_actor: Annotated[
        str | None,
        Header(
            alias=ACTOR_HEADER,
            description="quem age: o identificador (matrícula) de uma pessoa cadastrada em /api/v1/people; "
            "a chave de API identifica só a aplicação",
        ),
    ] = None,
) -> Acting:
    """The person acting (X-Actor; missing or unknown → 422, inactive → 403), the calling app and the trace."""
    with session_scope() as session:
        person = acting_person(session, x_actor)
    return Acting(person, app=key.name, trace_id=trace_id)


ActingDep = Annotated[Acting, Depends(get_acting)]


def get_prefect(request: Request) -> PrefectClient:
    client: PrefectClient = request.app.state.prefect
    return client


PrefectDep = Annotated[PrefectClient, Depends(get_prefect)]


# paging: beyond any real table, below what a database integer holds (a larger one was a 500)
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="quantos registros pular (paginação)")]
