"""`nexora documents …`: draft an ETP/TR's sections, consolidate an approved one into DOCX and PDF and publish it on
PNCP, through their deployments (the same flow runs the API starts)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError

from deployments.cli.common import as_uuid, console, fail, fails_on, start_and_follow
from models.errors import DomainError
from tasks.llm.params import GenerateDocumentParams, GenerateFieldParams
from tasks.params import help_of

documents_app = typer.Typer(help="Documentos ETP/TR.", no_args_is_help=True)
Wait = Annotated[float, typer.Option(help="segundos a esperar pelo fim da execução (0 = não esperar)")]
ActorOption = Annotated[
    str,
    typer.Option(
        "--actor",
        envvar="NEXORA_ACTOR",
        help="quem age: identificador de uma pessoa cadastrada (`nexora people list`); ou NEXORA_ACTOR",
    ),
]


def _acting(identifier: str, check) -> None:
    """The person must be registered, active and allowed (``check``, a rule of models/rules.py)."""
    from models.crud.people import acting_person
    from models.db import session_scope

    if not identifier.strip():
        fail(
            "informe quem age: --actor <identificador> (ou NEXORA_ACTOR), uma pessoa cadastrada (`nexora people list`)"
        )
    with session_scope() as session:
        check(acting_person(session, identifier))


@documents_app.command("generate")
@fails_on(DomainError, ValidationError)
def documents_generate(
    document_id: str,
    field: Annotated[
        str | None, typer.Option("--field", help=f"{help_of(GenerateFieldParams, 'slug')} (padrão: todas)")
    ] = None,
    force: Annotated[bool, typer.Option(help=help_of(GenerateFieldParams, "force"))] = False,
    instructions: Annotated[
        str | None, typer.Option(help=f"{help_of(GenerateFieldParams, 'instructions')} (com --field)")
    ] = None,
    all_fields: Annotated[bool, typer.Option("--all", help="redigir também as seções já preenchidas")] = False,
    wait: Wait = 300,
    actor: ActorOption = "",
) -> None:
    """Draft one section (--field) or every empty section of a document (starts generate-field or
    generate-document)."""
    from deployments.api import triggers
    from deployments.catalog import GENERATE_DOCUMENT, GENERATE_FIELD
    from models.rules import check_can_plan

    uuid_ = as_uuid(document_id)
    _acting(actor, check_can_plan)
    if field is not None:
        params: dict[str, Any] = GenerateFieldParams(
            document_id=uuid_, slug=field, requested_by=actor, force=force, instructions=instructions
        ).model_dump(mode="json")
    elif instructions is not None:
        fail("--instructions vale para uma seção: use-o com --field")
    else:
        params = GenerateDocumentParams(
            document_id=uuid_, requested_by=actor, force=force, only_empty=not all_fields
        ).model_dump(mode="json")
    doc = triggers.runnable_document(uuid_, slug=field)
    name = f"generate-{doc['kind']}-{doc['processo']}" + (f"-{field}" if field else "")

    def show(result: dict[str, Any]) -> None:
        for saved in [result] if field else result["fields"]:
            console.print(f"  {saved['slug']}: {saved['source']}, {saved['chars']} caracteres")

    spec = GENERATE_FIELD if field else GENERATE_DOCUMENT
    tags = [*triggers.run_tags(doc), f"person:{actor}", "app:nexora-cli"]
    start_and_follow(spec, params, tags, wait, "a redação falhou", name=name, show=show)


@documents_app.command("consolidate")
@fails_on(DomainError)
def documents_consolidate(document_id: str, wait: Wait = 120, actor: ActorOption = "") -> None:
    """Consolidate an approved document into DOCX and PDF (starts the consolidate-document deployment)."""
    from deployments.api import triggers
    from deployments.catalog import CONSOLIDATE_DOCUMENT
    from models.rules import check_can_consolidate

    _acting(actor, check_can_consolidate)
    doc = triggers.consolidatable(as_uuid(document_id))
    name = f"consolidate-{doc['kind']}-{doc['processo']}-v{doc['version']}"

    def show(result: dict[str, Any]) -> None:
        for artifact in result["artifacts"]:
            console.print(f"  {artifact['format']}: {artifact['storage_uri']} ({artifact['size_bytes']:,} bytes)")

    parameters = {"document_id": document_id, "requested_by": actor}
    tags = [*triggers.run_tags(doc), f"person:{actor}", "app:nexora-cli"]
    start_and_follow(CONSOLIDATE_DOCUMENT, parameters, tags, wait, "a consolidação falhou", name=name, show=show)


@documents_app.command("sign")
@fails_on(DomainError)
def documents_sign(
    document_id: str,
    wait: Wait = 120,
    actor: ActorOption = "",
    backend: Annotated[str, typer.Option(help="pkcs12 (certificado instalado) ou external (CMS enviado pela API)")] = (
        "pkcs12"
    ),
    certificate: Annotated[
        typer.FileText | None, typer.Option(help="external: o certificado do signatário (PEM)")
    ] = None,
) -> None:
    """Sign a consolidated document as --actor (one of the people it names, in its order): starts sign-document."""
    from deployments.api import triggers
    from deployments.catalog import SIGN_DOCUMENT
    from models.crud.signatures import check_request
    from models.db import session_scope
    from tasks.sign.signers import check_backend

    _acting(actor, lambda person: None)
    uuid_ = as_uuid(document_id)
    certificate_pem = certificate.read() if certificate else None
    with session_scope() as session:
        state, named = check_request(session, uuid_, actor)
        doc = state.document
        info = triggers.run_info(doc)
        version = doc.version
    check_backend(backend, actor, certificate_pem)
    if backend == "external":
        console.print(
            "a execução ficará pausada: leia o resumo a assinar em GET /api/v1/documents/"
            f"{document_id}/signatures e envie o CMS em POST …/signatures/{{id}}/cms"
        )

    def show(result: dict[str, Any]) -> None:
        artifact = result["artifact"]
        console.print(
            f"  {named.name}: assinatura {result['seq']} (PAdES {result['level']}), PDF com "
            f"{artifact['signatures']} assinatura(s), sha256 {artifact['sha256']}"
        )
        if artifact["document_signed"]:
            console.print("  documento assinado por todos: status 'assinado'")

    parameters = {"document_id": document_id, "person": actor, "backend": backend, "certificate_pem": certificate_pem}
    tags = [*triggers.run_tags(info), f"person:{actor}", "app:nexora-cli", "signature"]
    name = f"sign-{info['kind']}-{info['processo']}-v{version}-{actor}"
    start_and_follow(SIGN_DOCUMENT, parameters, tags, wait, "a assinatura falhou", name=name, show=show)


@documents_app.command("publish")
@fails_on(DomainError)
def documents_publish(
    document_id: str,
    cnpj: Annotated[str, typer.Option(help="CNPJ do órgão da contratação no PNCP (14 dígitos)")],
    ano: Annotated[int, typer.Option(help="ano da contratação no PNCP")],
    sequencial: Annotated[int, typer.Option(help="sequencial da contratação no PNCP")],
    wait: Wait = 120,
    actor: ActorOption = "",
) -> None:
    """Publish a consolidated (or signed) document and its price research report on a contratação on PNCP
    (starts the publish-pncp deployment)."""
    from deployments.api import triggers
    from deployments.catalog import PUBLISH_PNCP
    from models.crud.people import acting_person
    from models.db import session_scope

    if not actor.strip():
        fail(
            "informe quem age: --actor <identificador> (ou NEXORA_ACTOR), uma pessoa cadastrada (`nexora people list`)"
        )
    with session_scope() as session:
        person = acting_person(session, actor)
    doc = triggers.publishable(as_uuid(document_id), person, cnpj, ano, sequencial)
    name = f"publish-{doc['kind']}-{doc['processo']}-v{doc['version']}"

    def show(result: dict[str, Any]) -> None:
        for item in result["published"]:
            console.print(f"  tipo {item['tipo_documento_id']} ({item['action']}): {item['url']}")
        for item in result["removed"]:
            console.print(f"  removido: {item['url']} — {item['reason']}")

    parameters = {
        "document_id": document_id,
        "cnpj": doc["cnpj"],
        "ano": ano,
        "sequencial": sequencial,
        "requested_by": actor,
    }
    tags = [*triggers.run_tags(doc), f"person:{actor}", "app:nexora-cli"]
    start_and_follow(PUBLISH_PNCP, parameters, tags, wait, "a publicação falhou", name=name, show=show)


@documents_app.command("search")
@fails_on(DomainError)
def documents_search(
    q: Annotated[str, typer.Argument(help='o que buscar: palavras, "frase exata", -excluir')],
    kind: Annotated[str | None, typer.Option(help="etp ou tr")] = None,
    orgao: Annotated[str | None, typer.Option(help="só deste órgão")] = None,
    status: Annotated[str | None, typer.Option(help="só neste status (rascunho, aprovado, …)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Search our own ETPs/TRs (title, object, sections), best match first, with the words found between « and ».
    The sections of a sigiloso estimate (art. 24) are not searched here: the API with the 'sigiloso' scope is the
    audited way to them."""
    from models.crud.search import search_documents
    from models.db import session_scope
    from models.enums import DocumentKind, DocumentStatus

    try:
        kind_ = DocumentKind(kind.upper()) if kind else None
        status_ = DocumentStatus(status.lower()) if status else None
    except ValueError:
        fail(
            f"--kind: {', '.join(k.value for k in DocumentKind)}; "
            f"--status: {', '.join(s.value for s in DocumentStatus)}"
        )
    with session_scope() as session:
        hits, count, more, semantic = search_documents(
            session, q, cleared=False, kind=kind_, orgao=orgao, status=status_, limit=limit, offset=offset
        )
        for hit in hits:  # a list, not a table: a snippet needs the whole line
            d = hit.document
            console.print(f"{d.id}  {d.kind}  processo {d.numero_processo}  {d.status}", soft_wrap=True)
            console.print(f"  {d.titulo}", soft_wrap=True, markup=False, highlight=False)
            console.print(f"  {hit.snippet}", soft_wrap=True, markup=False, highlight=False)
    total = f"mais de {count}" if more else f"{count}"
    shown = f"{offset + 1}–{offset + len(hits)} de {total}" if hits else f"nenhum de {total}"
    console.print(f"{shown} documento(s)" + (" (ordem com similaridade semântica)" if semantic else ""))


@documents_app.command("clone")
@fails_on(DomainError, ValidationError)
def documents_clone(
    document_id: str,
    titulo: Annotated[str, typer.Option(help="título do novo documento")],
    processo: Annotated[str, typer.Option(help="número do processo do novo caso")],
    orgao: Annotated[str | None, typer.Option(help="órgão do novo caso (padrão: o do documento de origem)")] = None,
    unidade: Annotated[str, typer.Option(help="unidade requisitante")] = "",
    context: Annotated[str, typer.Option(help="contexto do novo caso (para a redação)")] = "",
    sigiloso_justificativa: Annotated[
        str | None, typer.Option(help="torna o orçamento do novo documento sigiloso (art. 24), com esta justificativa")
    ] = None,
    actor: ActorOption = "",
) -> None:
    """Create a new draft from a past document: its section texts copied for review (each must be reviewed by a
    person before approval), the new case's process data from the options; justifications, items, people, price
    research and signatures are not copied, nor the sections of a sigiloso estimate."""
    from models.crud.documents import Acting, clone_document, document_view, get_document
    from models.crud.people import acting_person
    from models.db import session_scope
    from models.document import DocumentClone

    if not actor.strip():
        fail(
            "informe quem age: --actor <identificador> (ou NEXORA_ACTOR), uma pessoa cadastrada (`nexora people list`)"
        )
    source_id = as_uuid(document_id)
    with session_scope() as session:
        source = get_document(session, source_id)
        data = DocumentClone(
            titulo=titulo,
            numero_processo=processo,
            orgao=orgao or source.orgao,
            unidade=unidade,
            context=context,
            orcamento_sigiloso=sigiloso_justificativa is not None,
            orcamento_sigiloso_justificativa=sigiloso_justificativa,
        )
        acting = Acting(acting_person(session, actor), app="nexora-cli")
        clone = clone_document(session, source_id, data, acting, cleared=False)
        copied = sum(1 for f in document_view(session, clone.id).fields if f.content)
        console.print(
            f"documento {clone.id} ({clone.kind}, processo {clone.numero_processo}) criado de {source_id} "
            f"(versão {clone.cloned_from_version}): {copied} seção(ões) copiada(s), a revisar antes da aprovação",
            soft_wrap=True,
        )
