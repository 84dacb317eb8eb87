"""What a notification says: the webhook's JSON body and signature, and the Portuguese e-mail (text and HTML)."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import unicodedata
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Any

from core.settings import settings
from models.crud.notifications import Job
from models.events import EVENT_TYPES

SIGNATURE_HEADER = "X-Nexora-Signature"
TIMESTAMP_HEADER = "X-Nexora-Timestamp"


def webhook_body(job: Job) -> bytes:
    """The JSON body: event id, type, time and data (UTF-8, keys sorted: the signature covers these bytes)."""
    payload = {
        "id": str(job.event_id),
        "type": job.event_type,
        "occurred_at": job.occurred_at.isoformat(),
        "orgao": job.orgao,
        "document_id": str(job.document_id) if job.document_id else None,
        "data": job.data,
    }
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex, as sent in X-Nexora-Signature ("sha256=<hex>")."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_headers(job: Job, secret: str, body: bytes, timestamp: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "NEXORA-ComprasGov-Webhooks/1",
        "Idempotency-Key": str(job.event_id),
        "X-Nexora-Event-Id": str(job.event_id),
        "X-Nexora-Event-Type": job.event_type,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }


def document_link(job: Job) -> str | None:
    if not job.document_id:
        return None
    return f"{settings.api_url.rstrip('/')}/api/v1/documents/{job.document_id}"


STATUS_NAMES = {
    "rascunho": "rascunho",
    "em_revisao": "em revisão",
    "devolvido": "devolvido",
    "aprovado": "aprovado",
    "consolidado": "consolidado",
    "assinado": "assinado",
    "publicado": "publicado no PNCP",
    "cancelado": "cancelado",
}


def _facts(job: Job) -> list[tuple[str, str]]:
    data = {**job.data}
    if data.get("status"):
        data["status"] = STATUS_NAMES.get(str(data["status"]), data["status"])
    labels = (
        ("kind", "Tipo"),
        ("numero_processo", "Processo"),
        ("titulo", "Objeto"),
        ("version", "Versão"),
        ("status", "Situação"),
        ("reason", "Motivo"),
        ("flow_name", "Fluxo"),
        ("deployment", "Implantação"),
        ("state", "Estado"),
        ("error", "Erro"),
        ("flow_run_name", "Execução"),
        ("trace_id", "Trace id"),
        ("ui_url", "Prefect UI"),
    )
    facts = [(label, str(data[key])) for key, label in labels if data.get(key) not in (None, "")]
    if job.orgao:
        facts.insert(0, ("Órgão", job.orgao))
    facts.append(("Quando", _when(job.occurred_at)))
    return facts


def _when(moment: datetime) -> str:
    return moment.strftime("%d/%m/%Y %H:%M UTC")


def header_text(value: str, limit: int = 200) -> str:
    """A value fit for one header line: control characters (CR, LF, tab, …) become spaces, runs of spaces one, at
    most ``limit`` characters. A CR/LF typed into a numero_processo made the e-mail library refuse the Subject, so
    every e-mail about the document failed."""
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in value)
    return " ".join(text.split())[:limit]


def subject(job: Job) -> str:
    name = EVENT_TYPES.get(job.event_type, job.event_type)
    what = " ".join(
        str(job.data[k]) for k in ("kind", "numero_processo", "flow_name", "flow_run_name") if job.data.get(k)
    )
    return header_text(f"[NEXORA] {name}" + (f": {what}" if what else ""))


def email_message(job: Job, sender: str | None = None) -> EmailMessage:
    """The e-mail for a notification: plain text and HTML alternatives, with the link to the document."""
    name = EVENT_TYPES.get(job.event_type, job.event_type)
    link = document_link(job)
    facts = _facts(job)
    text = [f"{name}.", ""] + [f"{label}: {value}" for label, value in facts]
    if link:
        text += ["", f"Documento: {link}"]
    text += [
        "",
        "Mensagem automática do NEXORA ComprasGov.AI; não responda a este e-mail.",
        f"Identificador do evento: {job.event_id}",
    ]
    rows = "".join(
        f"<tr><th align='left' style='padding:2px 12px 2px 0'>{html.escape(label)}</th>"
        f"<td>{html.escape(value)}</td></tr>"
        for label, value in facts
    )
    link_html = f"<p><a href='{html.escape(link)}'>Abrir o documento</a></p>" if link else ""
    body_html = (
        f"<!doctype html><html lang='pt-BR'><body style='font-family:Arial,sans-serif'>"
        f"<h2 style='font-size:16px'>{html.escape(name)}</h2><table>{rows}</table>{link_html}"
        f"<p style='color:#595959;font-size:12px'>Mensagem automática do NEXORA ComprasGov.AI; não responda "
        f"a este e-mail.<br>Identificador do evento: {job.event_id}</p></body></html>"
    )
    message = EmailMessage()
    message["Subject"] = subject(job)
    message["From"] = sender or settings.EMAIL_FROM
    message["To"] = job.target
    message["Date"] = format_datetime(job.occurred_at)
    domain = parseaddr(message["From"])[1].rpartition("@")[2] or "nexora.local"
    message["Message-ID"] = make_msgid(idstring=str(job.notification_id), domain=domain)
    message["X-Nexora-Event-Id"] = str(job.event_id)
    message.set_content("\n".join(text))
    message.add_alternative(body_html, subtype="html")
    return message


def ses_content(job: Job) -> dict[str, Any]:
    """The same e-mail as SESv2 "Simple" content."""
    message = email_message(job)
    text = message.get_body(("plain",)).get_content()
    body_html = message.get_body(("html",)).get_content()
    return {
        "Simple": {
            "Subject": {"Data": message["Subject"], "Charset": "UTF-8"},
            "Body": {"Text": {"Data": text, "Charset": "UTF-8"}, "Html": {"Data": body_html, "Charset": "UTF-8"}},
        }
    }


def sender_address(display: str, address: str) -> str:
    return formataddr((display, address))
