"""What PNCP's integration API accepts for a document attached to a contratação (Manual de Integração PNCP, "Inserir
Documento a uma Contratação"), checked before any request: the API refuses bad input with 422 before a run starts,
and the flow checks again before it sends a byte.

Lei 14.133/2021, art. 54: the edital and its annexes are published on PNCP; art. 174, I: PNCP discloses the acts this
Law requires. The ETP and the TR are such annexes (art. 18, §1º; art. 6º, XXIII)."""

from __future__ import annotations

from models.errors import InvalidError
from models.price_rules import cnpj_valid

MANUAL = "Manual de Integração PNCP, Inserir Documento a uma Contratação"
TITLE_MAX = 255
FILE_MAX_BYTES = 30 * 1024 * 1024
TIPO_TR, TIPO_ETP, TIPO_OUTROS = 4, 7, 16
TIPOS = {TIPO_TR: "Termo de Referência", TIPO_ETP: "Estudo Técnico Preliminar", TIPO_OUTROS: "Outros"}
TIPO_OF_KIND = {"TR": TIPO_TR, "ETP": TIPO_ETP}


def check_titulo(titulo: str) -> str:
    """The header ``Titulo-Documento``: "título do documento", at most 255 characters, sent in ISO-8859-1 (the
    charset of HTTP header values, RFC 9110 §5.5): a character outside it cannot travel in the header."""
    if not titulo.strip():
        raise InvalidError(f"O título do documento para o PNCP está vazio ({MANUAL}).", campo="titulo")
    if len(titulo) > TITLE_MAX:
        raise InvalidError(
            f"O título do documento para o PNCP tem {len(titulo)} caracteres; o máximo é {TITLE_MAX} "
            f"(cabeçalho Titulo-Documento, {MANUAL}).",
            campo="titulo",
        )
    try:
        titulo.encode("iso-8859-1")
    except UnicodeEncodeError as exc:
        bad = titulo[exc.start : exc.end]
        raise InvalidError(
            f"O título do documento para o PNCP tem caractere fora do ISO-8859-1 ({bad!r}): o cabeçalho "
            f"Titulo-Documento só aceita esse conjunto ({MANUAL}).",
            campo="titulo",
        ) from exc
    return titulo


def check_file_size(size_bytes: int) -> int:
    """The file (multipart part ``arquivo``): at most 30 MB per file (the issue; the manual lists the accepted
    extensions, PDF among them)."""
    if size_bytes <= 0:
        raise InvalidError(f"O arquivo a publicar no PNCP está vazio ({MANUAL}).", campo="arquivo")
    if size_bytes > FILE_MAX_BYTES:
        raise InvalidError(
            f"O arquivo tem {size_bytes / 1024 / 1024:.1f} MB; o PNCP aceita até 30 MB por arquivo ({MANUAL}).",
            campo="arquivo",
        )
    return size_bytes


def check_tipo(tipo: int) -> int:
    """The header ``Tipo-Documento-Id``, from PNCP's table (``GET /v1/tipos-documentos``): this system sends 4
    (Termo de Referência), 7 (Estudo Técnico Preliminar) and 16 (Outros: the Relatório de Pesquisa de Preços)."""
    if tipo not in TIPOS:
        raise InvalidError(
            f"Tipo de documento {tipo} não é publicado por este sistema: use 4 (Termo de Referência), 7 (Estudo "
            f"Técnico Preliminar) ou 16 (Outros) — tabela de tipos de documento do PNCP ({MANUAL}).",
            campo="tipo_documento_id",
        )
    return tipo


def check_contratacao(cnpj: str, ano: int, sequencial: int) -> str:
    """The contratação's key on PNCP: the órgão's CNPJ (14 digits with its check digits), the year and the
    sequential number PNCP gave it (``/v1/orgaos/{cnpj}/compras/{ano}/{sequencial}``). Returns the CNPJ's digits."""
    digits = "".join(c for c in cnpj if c.isdigit())
    if len(digits) != 14 or not cnpj_valid(digits) or any(c not in "0123456789./-" for c in cnpj):
        raise InvalidError(
            f"CNPJ do órgão inválido ({cnpj}): 14 dígitos com os dígitos verificadores ({MANUAL}).", campo="cnpj"
        )
    if not 2021 <= ano <= 2100:
        raise InvalidError(f"Ano da contratação inválido ({ano}): o PNCP existe desde a Lei 14.133/2021.", campo="ano")
    if sequencial < 1:
        raise InvalidError(f"Sequencial da contratação inválido ({sequencial}): começa em 1.", campo="sequencial")
    return digits


def marker(sha256: str) -> str:
    """What makes a title findable on PNCP after a lost answer: the file's hash, abbreviated."""
    return f"sha256:{sha256[:12]}"


def publication_title(kind: str, numero_processo: str, version: int, sha256: str, report: bool = False) -> str:
    """The title sent in ``Titulo-Documento``: what the file is, its process and version, and the marker; shortened
    (never the marker) to fit 255 characters, with characters outside ISO-8859-1 replaced by '?' (hence '-', not an
    em dash)."""
    what = "Relatório de Pesquisa de Preços" if report else TIPOS[TIPO_OF_KIND[kind]]
    tail = f" - versão {version} - {marker(sha256)}"
    head = f"{what} ({kind}) - processo {numero_processo}"[: TITLE_MAX - len(tail)]
    return (head + tail).encode("iso-8859-1", errors="replace").decode("iso-8859-1")
