"""PDF/A-2b (ISO 19005-2, level B): every PDF this system writes is converted and validated here, before it is stored.

ReportLab's open-source edition has no PDF/A mode. ``pikepdf.pdfa`` adds what a PDF/A-2b file must carry (the sRGB
OutputIntent, XMP metadata declaring the part and level, DocInfo agreeing with it), writes the file and validates the
bytes it wrote with an allow-list validator: a file it does not approve raises, with the rule and the place. What our
renderer contributes: every font embedded (the canvas' base font is the embedded Vera, not Helvetica) and no page
``/Trans`` key (reportlab writes an empty one on every page; PDF/A does not list it).

The output is byte-for-byte repeatable for the same input and date (the XMP dates come from the document's issue
time, the trailer /ID from the content): a rerun of a consolidation recognises the objects a failed run stored.
"""

from __future__ import annotations

import datetime
import io

import pikepdf
import pikepdf.pdfa as pdfa

FLAVOUR = "2b"
CONFORMANCE = "PDF/A-2b"  # what the artifact registry records for a PDF written here
SAVE = pdfa.resolve_save_kwargs(FLAVOUR, deterministic_id=True)  # what the flavour pins, and a repeatable /ID


class PdfaInvalid(ValueError):
    """The PDF did not pass PDF/A-2b validation; the message names each rule and where it failed."""


def reason(report: pdfa.Report, limit: int = 5) -> str:
    """The validator's findings, as one line per rule (the first ``limit``)."""
    findings = list(report.findings)
    lines = [f"{f.rule} em {f.where}: {f.message}" for f in findings[:limit]]
    more = f" (e mais {len(findings) - limit})" if len(findings) > limit else ""
    return "; ".join(lines) + more


def to_pdfa(pdf: bytes, when: datetime.datetime) -> bytes:
    """The PDF as PDF/A-2b, validated; ``when`` (the document's issue time) is written as its XMP dates.

    Raises PdfaInvalid with the validator's reason when the written file does not pass."""
    written = write(pdf, when)
    report = validate(written)
    if not report.passed:
        raise PdfaInvalid(f"o PDF não passou na validação {CONFORMANCE}: {reason(report)}")
    return written


def write(pdf: bytes, when: datetime.datetime) -> bytes:
    """The PDF prepared for PDF/A-2b (OutputIntent, XMP, no /Trans) and written with the settings the flavour pins,
    not yet validated — what ``pikepdf.pdfa.save`` does before it validates."""
    document = pikepdf.open(io.BytesIO(pdf))
    for page in document.pages:
        if "/Trans" in page.obj:
            del page.obj["/Trans"]
    pdfa.prepare(document, FLAVOUR)
    stamp = when.astimezone(datetime.UTC).isoformat()
    with document.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        meta["xmp:MetadataDate"] = stamp
    out = io.BytesIO()
    document.save(out, **SAVE)
    return out.getvalue()


def validate(pdf: bytes) -> pdfa.Report:
    """The PDF/A-2b validator's report on the written bytes (``report.passed``): only a pass counts.

    pikepdf's content check records *every* warning raised while it parses a page (``warnings.catch_warnings`` is
    process-wide), so a warning another thread raises at that moment (an HTTP client, Prefect's) becomes a
    ``pikepdf:content-parse`` finding on a sound page: seen once in a full test run. A report whose only findings
    are such warnings is checked once more; a real parse failure fails both times."""
    report = pdfa.validate_written(io.BytesIO(pdf), FLAVOUR, SAVE)
    if not report.passed and all(_foreign_warning(f) for f in report.findings):
        report = pdfa.validate_written(io.BytesIO(pdf), FLAVOUR, SAVE)
    return report


def _foreign_warning(finding) -> bool:
    return finding.rule == "pikepdf:content-parse" and finding.message.startswith("content stream:")
