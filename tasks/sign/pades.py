"""PAdES signatures with pyHanko: the signature page, a visible block per signer, incremental signing (each signature
keeps the previous ones valid), interrupted signing for an external signer, and validation after each signature."""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

from asn1crypto import cms, x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext

from models.signing_rules import signature_box

TZ = ZoneInfo("America/Sao_Paulo")
PAGE_TITLE = "Assinaturas eletrônicas"
LOCAL_CMS_RESERVED = 16_384  # bytes of /Contents for a PKCS#12 signature without time-stamp (its CMS: ~2-8 KiB)
EXTERNAL_CMS_RESERVED = 32_768  # bytes of /Contents (hex): a CMS of up to 16 KiB (certificate chain included)


class SignatureInvalid(RuntimeError):
    """The signature just applied does not validate as intact and valid: nothing is registered."""


@dataclass(frozen=True)
class Slot:
    """A signer's place: its order, name, identifier (matrícula) and role label (Elaboração / Aprovação)."""

    seq: int
    name: str
    identifier: str
    role: str


def field_name(seq: int) -> str:
    return f"Assinatura-{seq}"


def _run(coro: Any) -> Any:
    """pyHanko's async API from sync code, whether or not an event loop runs in this thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _pdf_text(text: str) -> bytes:
    raw = text.encode("cp1252", "replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _page_content(slots: list[Slot], heading: str) -> bytes:
    lines = [b"BT /F2 14 Tf 56 790 Td " + _pdf_text(PAGE_TITLE) + b" Tj ET"]
    lines.append(b"BT /F1 9 Tf 56 772 Td " + _pdf_text(heading) + b" Tj ET")
    lines.append(
        b"BT /F1 9 Tf 56 760 Td "
        + _pdf_text("Cada pessoa assina no seu quadro, na ordem do documento: quem o elaborou, depois quem o aprovou.")
        + b" Tj ET"
    )
    for index, slot in enumerate(slots):
        x1, y1, x2, y2 = signature_box(index, len(slots))
        caption = f"{slot.seq}. {slot.name} (matrícula {slot.identifier}) - {slot.role}"
        lines.append(f"BT /F1 8 Tf {x1} {y2 + 4} Td ".encode() + _pdf_text(caption) + b" Tj ET")
        lines.append(f"0.6 G 0.5 w {x1} {y1} {x2 - x1} {y2 - y1} re S".encode())
    return b"\n".join(lines)


def add_signature_page(writer: IncrementalPdfFileWriter, slots: list[Slot], heading: str) -> None:
    """Append the last page "Assinaturas eletrônicas": every named person with the empty box where they will sign."""
    font = {
        f"/F{i}": generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Font"),
                generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
                generic.NameObject("/BaseFont"): generic.NameObject(base),
                generic.NameObject("/Encoding"): generic.NameObject("/WinAnsiEncoding"),
            }
        )
        for i, base in ((1, "/Helvetica"), (2, "/Helvetica-Bold"))
    }
    stream = generic.StreamObject(stream_data=_page_content(slots, heading))
    page = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Page"),
            generic.NameObject("/MediaBox"): generic.ArrayObject(map(generic.NumberObject, (0, 0, 595, 842))),
            generic.NameObject("/Resources"): generic.DictionaryObject(
                {
                    generic.NameObject("/Font"): generic.DictionaryObject(
                        {generic.NameObject(k): writer.add_object(v) for k, v in font.items()}
                    )
                }
            ),
            generic.NameObject("/Contents"): writer.add_object(stream),
        }
    )
    writer.insert_page(page)


def _signer_pdf(
    signer: signers.Signer, slot: Slot, total: int, when: datetime, timestamper: TimeStamper | None, location: str
) -> tuple[signers.PdfSigner, dict[str, str]]:
    """pyHanko's signer for the slot's field and box, and the stamp's text parameters."""
    stamp = TextStampStyle(
        stamp_text=(
            "Assinado digitalmente por %(nome)s\nMatrícula %(matricula)s - %(papel)s\n%(quando)s (Brasília)\n"
            "Certificado: %(signer)s"
        ),
        border_width=1,
    )
    meta = signers.PdfSignatureMetadata(
        field_name=field_name(slot.seq),
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        name=slot.name,
        reason=f"{slot.role} do documento",
        location=location,
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer,
        timestamper=timestamper,
        stamp_style=stamp,
        new_field_spec=fields.SigFieldSpec(field_name(slot.seq), box=signature_box(slot.seq - 1, total), on_page=-1),
    )
    params = {
        "nome": slot.name,
        "matricula": slot.identifier,
        "papel": slot.role,
        "quando": when.astimezone(TZ).strftime("%d/%m/%Y %H:%M"),
    }
    return pdf_signer, params


def has_signature_page(reader: PdfFileReader) -> bool:
    """Whether the PDF ends with the page "Assinaturas eletrônicas" the renderer draws (tasks/render/pdf_pages.py):
    found by its outline entry. A consolidated ETP/TR always has it; a PDF from elsewhere gets one at the first
    signature."""
    outlines = reader.root.get("/Outlines")
    entry = outlines.get_object().get("/First") if outlines is not None else None
    while entry is not None:
        entry = entry.get_object()
        if str(entry.get("/Title", "")) == PAGE_TITLE:
            return True
        entry = entry.get("/Next")
    return False


def _writer(pdf: bytes, slots: list[Slot], heading: str) -> IncrementalPdfFileWriter:
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    if not writer.prev.embedded_signatures and not has_signature_page(writer.prev):
        add_signature_page(writer, slots, heading)  # a PDF not rendered here: the first signer adds the page
    return writer


def sign(
    pdf: bytes,
    signer: signers.Signer,
    slot: Slot,
    slots: list[Slot],
    heading: str,
    *,
    timestamper: TimeStamper | None = None,
    location: str = "Brasil",
    when: datetime | None = None,
) -> bytes:
    """Sign with a local key (PKCS#12): the PDF with one more signature, as an incremental update."""
    when = when or datetime.now(TZ)
    pdf_signer, params = _signer_pdf(signer, slot, len(slots), when, timestamper, location)
    # without a time-stamp the CMS's size is known well enough: reserving it spares pyHanko a dry-run signature that
    # only measures it (a third of the signing time); with one, pyHanko sizes it (the token's size varies by TSA)
    reserved = None if timestamper else LOCAL_CMS_RESERVED
    out = pdf_signer.sign_pdf(_writer(pdf, slots, heading), bytes_reserved=reserved, appearance_text_params=params)
    return out.getvalue()


@dataclass
class Prepared:
    """A document waiting for an external signer: the PDF with the reserved /Contents and what is to be signed."""

    pdf: bytes
    digest: PreparedByteRangeDigest

    @property
    def digest_hex(self) -> str:
        return self.digest.document_digest.hex()


def prepare_external(
    pdf: bytes,
    certificate: x509.Certificate,
    slot: Slot,
    slots: list[Slot],
    heading: str,
    *,
    chain: list[x509.Certificate] | None = None,
    location: str = "Brasil",
    when: datetime | None = None,
) -> Prepared:
    """Interrupted signing: the signature field and its appearance are written, /Contents is reserved, and the SHA-256
    of the byte range (what the external CMS's messageDigest must be) is returned with the prepared PDF."""
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    when = when or datetime.now(TZ)
    external = signers.ExternalSigner(
        signing_cert=certificate,
        cert_registry=SimpleCertificateStore.from_certs([certificate, *(chain or [])]),
        signature_value=256,
    )
    pdf_signer, params = _signer_pdf(external, slot, len(slots), when, None, location)
    prepared, _tbs, output = _run(
        pdf_signer.async_digest_doc_for_signing(
            _writer(pdf, slots, heading), bytes_reserved=EXTERNAL_CMS_RESERVED, appearance_text_params=params
        )
    )
    return Prepared(pdf=output.getvalue(), digest=prepared)


def add_signature_timestamp(content: cms.ContentInfo, timestamper: TimeStamper) -> cms.ContentInfo:
    """PAdES B-T for a CMS made elsewhere: a signature time-stamp token (RFC 3161, over the signature value) as an
    unsigned attribute of its SignerInfo; the signed part, and so the signature, is unchanged. A CMS that has one
    already is left as it is."""
    from pyhanko.sign.attributes import TSTProvider

    signed_data = cms.SignedData.load(content["content"].untag().dump())
    signer_info = signed_data["signer_infos"][0]
    unsigned = list(signer_info["unsigned_attrs"]) if signer_info["unsigned_attrs"].native else []
    if any(attr["type"].native == "signature_time_stamp_token" for attr in unsigned):
        return content
    provider = TSTProvider(
        signer_info["digest_algorithm"]["algorithm"].native, signer_info["signature"].native, timestamper
    )
    unsigned.append(_run(provider.get_attribute()))
    signer_info["unsigned_attrs"] = cms.CMSAttributes(unsigned)
    signed_data["signer_infos"] = cms.SignerInfos([signer_info])
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data})


def finish_external(prepared: Prepared, cms_der: bytes, timestamper: TimeStamper | None = None) -> bytes:
    """Embed the external signer's CMS (detached SignedData over the byte range) into the reserved /Contents, with a
    signature time-stamp when a time-stamp server is configured."""
    try:
        content = cms.ContentInfo.load(cms_der)
        content.native  # noqa: B018 - parse it all now: a malformed CMS is refused here, not inside the PDF
    except Exception as exc:
        raise SignatureInvalid(f"o CMS enviado não é uma estrutura CMS (DER) legível: {exc}") from exc
    if timestamper is not None:
        content = add_signature_timestamp(content, timestamper)
        cms_der = content.dump()
    if len(cms_der) * 2 > EXTERNAL_CMS_RESERVED:
        raise SignatureInvalid(f"o CMS enviado tem {len(cms_der)} bytes; o máximo é {EXTERNAL_CMS_RESERVED // 2}")
    output = BytesIO(prepared.pdf)
    PdfTBSDocument.finish_signing(output, prepared.digest, content)
    return output.getvalue()


def validation_context(roots: list[x509.Certificate]) -> ValidationContext:
    return ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")


def validate(pdf: bytes, roots: list[x509.Certificate]) -> list[dict[str, Any]]:
    """Every signature of the PDF, validated (pyHanko): field, intact, valid, trusted, signer, signing time, level."""
    from pyhanko.sign.validation import validate_pdf_signature

    reader = PdfFileReader(BytesIO(pdf), strict=False)
    summaries = []
    for embedded in reader.embedded_signatures:
        status = validate_pdf_signature(embedded, validation_context(roots), validation_context(roots))
        ts = status.timestamp_validity
        summaries.append(
            {
                "field": embedded.field_name,
                "intact": bool(status.intact),
                "valid": bool(status.valid),
                "trusted": bool(status.trusted),
                "bottom_line": bool(status.bottom_line),
                "coverage": status.coverage.name if status.coverage else None,
                "modification_level": status.modification_level.name if status.modification_level else None,
                "signer": status.signing_cert.subject.human_friendly,
                "serial": format(status.signing_cert.serial_number, "x"),
                "signing_time": status.signer_reported_dt.isoformat() if status.signer_reported_dt else None,
                "timestamp": ts.timestamp.isoformat() if ts is not None else None,
                "level": "B-T" if ts is not None else "B-B",
            }
        )
    return summaries


def check_applied(pdf: bytes, seq: int, roots: list[x509.Certificate]) -> dict[str, Any]:
    """The validation of the signature just applied (field ``Assinatura-{seq}``), every earlier one still intact and
    valid; raises SignatureInvalid otherwise."""
    summaries = validate(pdf, roots)
    mine = [s for s in summaries if s["field"] == field_name(seq)]
    if not mine:
        raise SignatureInvalid(f"o PDF assinado não tem o campo {field_name(seq)}")
    broken = [s for s in summaries if not (s["intact"] and s["valid"])]
    if broken:
        names = ", ".join(f"{s['field']} (íntegra: {s['intact']}, válida: {s['valid']})" for s in broken)
        raise SignatureInvalid(f"assinatura que não valida depois da aplicação: {names}")
    return {**mine[0], "all": len(summaries)}
