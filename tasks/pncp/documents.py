"""Other bodies' ETPs and TRs published on PNCP, as pure functions (no I/O): which files of a contratação are ETPs or
TRs, their text (PDF, DOCX, zip members), CPFs masked, cut into sections by their headings and each section mapped to
the element of the law it covers.

PNCP's file list (`GET /api/pncp/v1/orgaos/{cnpj}/compras/{ano}/{sequencial}/arquivos`) is a bare JSON array; each
entry has ``sequencialDocumento``, ``titulo``, ``tipoDocumentoId``, ``tipoDocumentoNome``, ``url`` (the download,
`.../arquivos/{sequencialDocumento}`), ``uri``, ``statusAtivo`` and ``dataPublicacaoPncp``. Types 4 (Termo de
Referência) and 7 (Estudo Técnico Preliminar) are taken; so is a file of another type whose title names an ETP or a
TR ("ETP …", "Anexo I - Termo de Referência"), and an edital's zip is opened for members whose names do.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

from core.settings import settings
from models.textsearch import fold
from tasks.llm.guard import CPF, _valid_cpf

TIPO_TR, TIPO_ETP = 4, 7
TIPOS = {TIPO_TR: "tr", TIPO_ETP: "etp"}
_ETP_TITLE = re.compile(r"\b(etp|estudos?\s+tecnicos?\s+preliminar(es)?)\b")
_TR_TITLE = re.compile(r"\b(tr|termo\s+de\s+referencia|projeto\s+basico)\b")
_ZIP_TITLE = re.compile(r"\b(edital|anexos?|zip)\b")
CPF_MASK = "[CPF omitido]"


class ExtractionError(Exception):
    """A file whose text cannot be had (corrupt, encrypted, too big, unknown format): recorded with ``reason``."""

    def __init__(self, reason: str, status: str = "failed"):
        super().__init__(reason)
        self.reason, self.status = reason, status


def kind_by_title(title: str | None) -> str | None:
    """ "etp" or "tr" when a title (or a zip member's name) names one; None otherwise."""
    text = fold(title or "").replace("_", " ")
    if _ETP_TITLE.search(text):
        return "etp"
    if _TR_TITLE.search(text):
        return "tr"
    return None


def select_files(listing: list[Any]) -> list[dict[str, Any]]:
    """The entries of a file list worth fetching, each with its ``kind`` ("etp", "tr", or "zip" for an edital or
    annex that may hold them): types 7 and 4, other types by title; inactive (``statusAtivo`` false) ones out."""
    chosen = []
    for entry in listing:
        if not isinstance(entry, dict) or entry.get("statusAtivo") is False:
            continue
        number = entry.get("sequencialDocumento")
        if not isinstance(number, int):
            continue
        kind = TIPOS.get(entry.get("tipoDocumentoId")) or kind_by_title(entry.get("titulo"))
        if kind is None and _ZIP_TITLE.search(fold(entry.get("titulo") or "")):
            kind = "zip"  # an edital or its annexes: often a zip with the TR inside; opened only if it is a zip
        if kind:
            chosen.append({**entry, "kind": kind})
    return chosen


def mask_cpfs(text: str) -> tuple[str, int]:
    """The text with every CPF replaced by ``[CPF omitido]``, and how many.

    LGPD (Lei nº 13.709/2018), art. 6º, III: "necessidade: limitação do tratamento ao mínimo necessário para a
    realização de suas finalidades". The library serves as wording examples for planning documents; the CPFs of the
    servers and suppliers those documents name serve no such end, so they are not kept (the document on PNCP keeps
    them). A formatted CPF ("123.456.789-09") is masked even with wrong check digits; a bare run of 11 digits only
    when its check digits are a CPF's, so process numbers and codes stay."""
    count = 0

    def replace(match: re.Match) -> str:
        nonlocal count
        formatted = "." in match.group(0) and "-" in match.group(0)
        if not formatted and not _valid_cpf("".join(match.groups())):
            return match.group(0)
        count += 1
        return CPF_MASK

    return CPF.sub(replace, text), count


@dataclass
class Extracted:
    """The text of one file: its pages' text (a DOCX is one page), and the pages with no text (scanned images)."""

    pages: list[str] = field(default_factory=list)
    scanned_pages: int = 0
    members: list[str] = field(default_factory=list)  # the zip members read

    @property
    def text(self) -> str:
        return "\n".join(p for p in self.pages if p.strip())


def sniff(data: bytes) -> str:
    """The file's format by its first bytes (PNCP's Content-Type is often application/octet-stream)."""
    if data.startswith(b"%PDF"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return "docx" if "word/document.xml" in archive.namelist() else "zip"
        except zipfile.BadZipFile:
            return "zip"
    return "unknown"


def extract(data: bytes, *, kind: str = "", depth: int = 0) -> Extracted:
    """The text of a PDF, a DOCX or (for an edital's zip, or any zip) its ETP/TR members; ExtractionError when the
    file has none to give."""
    fmt = sniff(data)
    if fmt == "pdf":
        return _pdf(data)
    if fmt == "docx":
        return _docx(data)
    if fmt == "zip":
        return _zip(data, kind=kind, depth=depth)
    raise ExtractionError("formato não reconhecido (nem PDF, nem DOCX, nem ZIP)", "unsupported")


def _pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:  # many "protected" PDFs are encrypted with an empty user password (printing/copy rules only)
                if not reader.decrypt(""):
                    raise ExtractionError("PDF protegido por senha", "encrypted")
            except (NotImplementedError, PyPdfError) as exc:
                raise ExtractionError(f"PDF protegido: {exc}", "encrypted") from exc
        if len(reader.pages) > settings.PNCP_DOCUMENT_MAX_PAGES:
            raise ExtractionError(
                f"PDF com {len(reader.pages)} páginas (limite PNCP_DOCUMENT_MAX_PAGES="
                f"{settings.PNCP_DOCUMENT_MAX_PAGES})",
                "too_big",
            )
        out = Extracted()
        for page in reader.pages:
            text = page.extract_text() or ""
            if len(text.strip()) < 20:  # an image of a page (a scan): no text to index
                out.scanned_pages += 1
            else:
                out.pages.append(text)
        return out
    except ExtractionError:
        raise
    except Exception as exc:
        raise ExtractionError(f"PDF corrompido ou ilegível: {type(exc).__name__}: {exc}"[:300]) from exc


def _docx(data: bytes) -> Extracted:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise ExtractionError(f"DOCX corrompido ou ilegível: {type(exc).__name__}: {exc}"[:300]) from exc
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text for cell in row.cells))
    return Extracted(pages=["\n".join(lines)])


def _zip(data: bytes, *, kind: str, depth: int) -> Extracted:
    """The ETP/TR members of a zip (all its PDFs and DOCXs when the file itself is an ETP or a TR), under the caps
    on member count and on uncompressed size against zip bombs; a zip inside a zip is opened once more."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ExtractionError(f"ZIP corrompido: {exc}") from exc
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > settings.PNCP_ZIP_MAX_MEMBERS:
            raise ExtractionError(
                f"ZIP com {len(infos)} arquivos (limite PNCP_ZIP_MAX_MEMBERS={settings.PNCP_ZIP_MAX_MEMBERS})",
                "too_big",
            )
        total = sum(i.file_size for i in infos)
        if total > settings.PNCP_ZIP_MAX_UNCOMPRESSED_BYTES:
            raise ExtractionError(
                f"ZIP descompactado teria {total} bytes (limite PNCP_ZIP_MAX_UNCOMPRESSED_BYTES)", "too_big"
            )
        out = Extracted()
        for info in infos:
            name = info.filename.rsplit("/", 1)[-1]
            lower = name.lower()
            nested = lower.endswith(".zip") and depth < 1
            if not (lower.endswith((".pdf", ".docx")) or nested):
                continue
            if kind not in ("etp", "tr") and not nested and kind_by_title(name) is None:
                continue  # an edital's other annexes (minuta, planilhas): not ours
            try:
                with archive.open(info) as member:
                    content = member.read(settings.PNCP_ZIP_MAX_UNCOMPRESSED_BYTES + 1)  # the header's size may lie
            except (RuntimeError, zipfile.BadZipFile, zlib.error, OSError, EOFError):
                continue  # an encrypted or damaged member: the others may still be read
            if len(content) > settings.PNCP_ZIP_MAX_UNCOMPRESSED_BYTES:
                raise ExtractionError("membro do ZIP maior que o declarado (possível bomba de ZIP)", "too_big")
            try:
                got = extract(content, kind=kind if not nested else kind, depth=depth + 1)
            except ExtractionError:
                continue  # one unreadable member does not sink the others
            out.pages += got.pages
            out.scanned_pages += got.scanned_pages
            out.members += [name] + got.members
        if not out.members:
            raise ExtractionError("ZIP sem ETP ou TR legível", "no_match")
        return out


# --- sections -------------------------------------------------------------------------------------------------------

ROMAN = re.compile(r"^(?=[IVXL])(L?X{0,3})(IX|IV|V?I{0,3})$")
_HEADING = re.compile(
    r"^\s*(?P<number>\d{1,2}|[IVXL]{1,6})\s*(?:[.)\-–—:]|\s)\s*[-–—]?\s*(?P<title>[^\W\d_][^\n]{2,119})$"
)
ETP_ELEMENTS: dict[str, tuple[str, ...]] = {
    # Lei nº 14.133/2021, art. 18, §1º: "O estudo técnico preliminar a que se refere o inciso I do caput deste artigo
    # deverá evidenciar o problema a ser resolvido e a sua melhor solução, de modo a permitir a avaliação da
    # viabilidade técnica e econômica da contratação, e conterá os seguintes elementos:"
    "I": ("descricao da necessidade", "necessidade da contratacao"),  # I - descrição da necessidade da contratação
    "II": ("plano de contratacoes", "plano anual", "alinhamento", "previsao da contratacao"),  # II - … no PCA
    "III": ("requisitos da contratacao", "requisitos"),  # III - requisitos da contratação
    "IV": ("estimativa das quantidades", "estimativas das quantidades", "quantidades", "quantitativo"),  # IV
    "V": ("levantamento de mercado", "alternativas"),  # V - levantamento de mercado …
    "VI": ("estimativa do valor", "estimativa de valor", "estimativa de preco", "valor estimado", "custos"),  # VI
    "VII": ("descricao da solucao", "solucao como um todo", "solucao escolhida"),  # VII - descrição da solução …
    "VIII": ("parcelamento",),  # VIII - justificativas para o parcelamento ou não da contratação
    "IX": ("resultados pretendidos", "economicidade"),  # IX - demonstrativo dos resultados pretendidos …
    "X": ("providencias", "capacitacao"),  # X - providências a serem adotadas … previamente à celebração do contrato
    "XI": ("correlatas", "interdependentes"),  # XI - contratações correlatas e/ou interdependentes
    "XII": ("impactos ambientais", "ambientais", "sustentabilidade"),  # XII - possíveis impactos ambientais …
    "XIII": ("posicionamento conclusivo", "conclusao", "viabilidade"),  # XIII - posicionamento conclusivo …
}
TR_ELEMENTS: dict[str, tuple[str, ...]] = {
    # Lei nº 14.133/2021, art. 6º, XXIII: "termo de referência: documento necessário para a contratação de bens e
    # serviços, que deve conter os seguintes parâmetros e elementos descritivos:"
    "a": ("definicao do objeto", "do objeto", "objeto"),  # a) definição do objeto, incluídos sua natureza, …
    "b": ("fundamentacao", "justificativa"),  # b) fundamentação da contratação …
    "c": ("descricao da solucao", "solucao como um todo"),  # c) descrição da solução como um todo …
    "d": ("requisitos da contratacao", "requisitos"),  # d) requisitos da contratação
    "e": ("modelo de execucao", "execucao do objeto"),  # e) modelo de execução do objeto …
    "f": ("modelo de gestao", "gestao do contrato", "fiscalizacao"),  # f) modelo de gestão do contrato …
    "g": ("medicao", "pagamento"),  # g) critérios de medição e de pagamento
    "h": ("selecao do fornecedor", "forma de selecao", "criterios de selecao"),  # h) forma e critérios de seleção …
    "i": ("estimativa do valor", "estimativas do valor", "valor estimado", "estimativa de preco"),  # i) estimativas …
    "j": ("adequacao orcamentaria", "dotacao orcamentaria"),  # j) adequação orçamentária
}


def element_key(kind: str, heading: str) -> str | None:
    """The element of the law a heading names: "etp:I" … "etp:XIII" (art. 18, §1º, I–XIII) or "tr:a" … "tr:j"
    (art. 6º, XXIII, alíneas a–j); None when the heading names none. The first element whose words the heading
    contains wins, the longer phrases of every element tried before the short ones ("descrição da solução" is VII,
    not I)."""
    text = " ".join(fold(heading).split())
    table = ETP_ELEMENTS if kind == "etp" else TR_ELEMENTS if kind == "tr" else {}
    phrases = sorted(((p, key) for key, ps in table.items() for p in ps), key=lambda pk: -len(pk[0]))
    for phrase, key in phrases:
        if re.search(rf"\b{re.escape(phrase)}\b", text):
            return f"{kind}:{key}"
    return None


@dataclass(frozen=True)
class Section:
    order: int
    heading: str
    element: str | None
    text: str


def _is_heading(line: str) -> re.Match | None:
    match = _HEADING.match(line)
    if not match:
        return None
    number, title = match.group("number"), match.group("title").strip()
    if not number[0].isdigit() and not ROMAN.match(number):
        return None
    letters = [c for c in title if c.isalpha()]
    # a heading is short and mostly upper case ("1. DESCRIÇÃO DA NECESSIDADE"), or short and not a sentence
    if not letters or len(title) > 100 or title.endswith((";", ",")):
        return None
    upper = sum(c.isupper() for c in letters) / len(letters)
    if upper < 0.6 and (len(title.split()) > 8 or title.endswith(".") or not title[0].isupper()):
        return None  # "1.1 O objeto é…" never gets here (a title starts with a letter); "10 unidades de…" stops here
    return match


def split_sections(text: str, kind: str) -> list[Section]:
    """The text cut at its top-level headings ("1. DESCRIÇÃO DA NECESSIDADE", "2 – REQUISITOS", "III - …"), each
    section with the element of the law its heading names; one section (no heading) when fewer than two headings are
    found."""
    lines = text.replace("\r\n", "\n").split("\n")
    marks = [(i, m) for i, line in enumerate(lines) if (m := _is_heading(line))]
    if len(marks) < 2:
        body = text.strip()
        return [Section(1, "", None, body)] if body else []
    sections: list[Section] = []
    preamble = "\n".join(lines[: marks[0][0]]).strip()
    if preamble:
        sections.append(Section(1, "", None, preamble))
    for n, (index, match) in enumerate(marks):
        end = marks[n + 1][0] if n + 1 < len(marks) else len(lines)
        heading = " ".join(lines[index].split())
        body = "\n".join(lines[index + 1 : end]).strip()
        sections.append(Section(len(sections) + 1, heading, element_key(kind, match.group("title")), body))
    return sections
