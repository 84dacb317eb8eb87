"""Sending claimed notifications: webhooks with httpx, e-mail by file, SMTP or Amazon SES; each send becomes an
Outcome (delivered, or failed with the receiver's status, a short reason of ours and whether a later attempt may
succeed). A webhook's answer is read up to ANSWER_BYTES and never kept: its text and any Location are the
receiver's, not something an operator needs, and a hostile receiver could fill the records with them.

Retry classification: timeouts, connection errors, 5xx, 408 and 429 (with Retry-After) are worth another
attempt; any other 4xx, a redirect, an unsafe target or a secret that no longer opens is final.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import smtplib
import ssl
import time
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx

from core import crypto, netguard
from core.settings import settings
from models.crud.notifications import Job, Outcome
from models.db import utcnow
from models.notification import Channel
from tasks.notify import egress, messages

RETRYABLE_HTTP = {408, 429}
RETRYABLE_SES = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "LimitExceededException",
    "InternalFailure",
    "InternalServiceError",
    "ServiceUnavailable",
    "RequestTimeout",
}
ANSWER_BYTES = 64 * 1024  # read at most this much of a webhook's answer (none of it is kept)


class SendError(Exception):
    """A failed send, classified."""

    def __init__(
        self, message: str, *, retryable: bool, status_code: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message)
        self.retryable, self.status_code, self.retry_after = retryable, status_code, retry_after


def redact(text: str, *secrets: str | None) -> str:
    """The text without any of the given secrets or the configured credentials."""
    known = [s for s in secrets if s]
    for value in (settings.SMTP_PASSWORD, settings.AWS_SECRET_ACCESS_KEY):
        if value is not None and value.get_secret_value():
            known.append(value.get_secret_value())
    for secret in known:
        text = text.replace(secret, "***")
    return text


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - (now or utcnow())).total_seconds())


async def send_all(jobs: list[Job], concurrency: int | None = None) -> list[Outcome]:
    """Send every job, at most ``concurrency`` at a time; never raises for a single job."""
    limit = concurrency or settings.NOTIFY_CONCURRENCY
    gate = asyncio.Semaphore(limit)
    async with egress.client(limit) as client:

        async def one(job: Job) -> Outcome:
            async with gate:
                return await _send(client, job)

        return list(await asyncio.gather(*(one(job) for job in jobs)))


async def _send(client: httpx.AsyncClient, job: Job) -> Outcome:
    started, clock = utcnow(), time.perf_counter()
    secret = None
    try:
        if job.channel is Channel.WEBHOOK:
            secret = crypto.unseal(job.secret_sealed) if job.secret_sealed else ""
            code = await _webhook(client, job, secret)
        else:
            code = await asyncio.to_thread(send_email, job)
    except SendError as exc:
        return Outcome(
            job.notification_id,
            started,
            (time.perf_counter() - clock) * 1000,
            delivered=False,
            retryable=exc.retryable,
            status_code=exc.status_code,
            error=redact(str(exc), secret),
            retry_after=exc.retry_after,
        )
    except crypto.SecretUnreadable as exc:
        return Outcome(
            job.notification_id,
            started,
            (time.perf_counter() - clock) * 1000,
            delivered=False,
            retryable=False,
            error=str(exc),
        )
    except Exception as exc:  # noqa: BLE001 - an unexpected failure is recorded and retried, not lost
        return Outcome(
            job.notification_id,
            started,
            (time.perf_counter() - clock) * 1000,
            delivered=False,
            retryable=True,
            error=redact(f"{type(exc).__name__}: {exc}", secret),
        )
    return Outcome(
        job.notification_id,
        started,
        (time.perf_counter() - clock) * 1000,
        delivered=True,
        retryable=False,
        status_code=code,
    )


async def _webhook(client: httpx.AsyncClient, job: Job, secret: str) -> int:
    """POST the event; the whole delivery (resolving, connecting, sending, reading) within NOTIFY_TIMEOUT_SECONDS,
    at most ANSWER_BYTES of the answer read and none of it kept."""
    try:
        netguard.check_url_shape(job.target)
    except netguard.UnsafeTarget as exc:
        raise SendError(f"destino recusado: {exc}", retryable=False) from exc
    body = messages.webhook_body(job)
    headers = messages.webhook_headers(job, secret, body, str(int(time.time())))
    deadline = settings.NOTIFY_TIMEOUT_SECONDS
    try:
        async with asyncio.timeout(deadline):
            async with client.stream("POST", job.target, content=body, headers=headers) as response:
                await _drain(response)
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise SendError(f"tempo esgotado: a entrega passou de {deadline:g} s", retryable=True) from exc
    except netguard.UnresolvableTarget as exc:
        raise SendError(str(exc), retryable=True) from exc
    except netguard.UnsafeTarget as exc:
        raise SendError(f"destino recusado: {exc}", retryable=False) from exc
    except httpx.ConnectError as exc:  # the system's or TLS's words (refused, unreachable, certificate)
        raise SendError(f"falha de conexão: {str(exc)[:200]}", retryable=True) from exc
    except httpx.TransportError as exc:  # a protocol error quotes the receiver's bytes: the kind alone
        raise SendError(f"falha de conexão: {type(exc).__name__}", retryable=True) from exc
    code = response.status_code
    if 200 <= code < 300:
        return code
    retryable = code >= 500 or code in RETRYABLE_HTTP
    raise SendError(
        f"HTTP {code}: {answer_reason(code)}",
        retryable=retryable,
        status_code=code,
        retry_after=retry_after_seconds(response.headers.get("retry-after")) if retryable else None,
    )


async def _drain(response: httpx.Response) -> None:
    """Read the answer up to ANSWER_BYTES (raw: never decompressed), so a small one frees its connection for the
    next delivery; a larger one is left unread and its connection closed."""
    seen = 0
    async with contextlib.aclosing(response.aiter_raw()) as chunks:
        async for chunk in chunks:
            seen += len(chunk)
            if seen > ANSWER_BYTES:
                return


def answer_reason(code: int) -> str:
    """What a receiver's status means for the operator, in our words (the answer's text is never kept)."""
    if 300 <= code < 400:
        return "redirecionamento não é seguido; cadastre a URL final do receptor"
    if code in (401, 403):
        return "o receptor recusou a autenticação; confira o segredo da assinatura"
    if code in (404, 410):
        return "o endereço não existe no receptor"
    if code in RETRYABLE_HTTP:
        return "o receptor pediu para tentar mais tarde"
    if code >= 500:
        return "erro no receptor; nova tentativa mais tarde"
    return "o receptor recusou a notificação"


def send_email(job: Job) -> int | None:
    """Send one e-mail with the configured backend; returns the server's status code when it has one."""
    if settings.EMAIL_BACKEND == "ses":
        return _send_ses(job)
    if settings.EMAIL_BACKEND == "smtp":
        return _send_smtp(job)
    return _write_eml(job)


def _write_eml(job: Job) -> None:
    folder = Path(settings.mail_outbox_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{job.notification_id}.eml"
        partial = path.with_suffix(".eml.part")
        partial.write_bytes(bytes(messages.email_message(job)))
        partial.replace(path)
    except OSError as exc:
        raise SendError(f"não foi possível gravar o e-mail em {folder}: {exc}", retryable=True) from exc
    return


def _tls() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(settings.SMTP_CA_FILE) if settings.SMTP_CA_FILE else None)


def _send_smtp(job: Job) -> int:
    message = messages.email_message(job)
    timeout = settings.NOTIFY_TIMEOUT_SECONDS
    try:
        if settings.SMTP_SSL:
            server = smtplib.SMTP_SSL(settings.SMTP_HOST, settings.SMTP_PORT, timeout=timeout, context=_tls())
        else:
            server = smtplib.SMTP(settings.SMTP_HOST, settings.SMTP_PORT, timeout=timeout)
        with server:
            if settings.SMTP_STARTTLS and not settings.SMTP_SSL:
                server.starttls(context=_tls())
            if settings.SMTP_USERNAME:
                password = settings.SMTP_PASSWORD.get_secret_value() if settings.SMTP_PASSWORD else ""
                server.login(settings.SMTP_USERNAME, password)
            refused = server.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        code, answer = next(iter(exc.recipients.values()))
        raise SendError(f"SMTP {code}: {_decode(answer)}", retryable=400 <= code < 500, status_code=code) from exc
    except smtplib.SMTPResponseException as exc:
        raise SendError(
            f"SMTP {exc.smtp_code}: {_decode(exc.smtp_error)}",
            retryable=400 <= exc.smtp_code < 500,
            status_code=exc.smtp_code,
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise SendError(f"SMTP: {exc} (verifique SMTP_STARTTLS/SMTP_SSL)", retryable=False) from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise SendError(
            f"SMTP indisponível em {settings.SMTP_HOST}:{settings.SMTP_PORT}: {type(exc).__name__}: {exc}",
            retryable=True,
        ) from exc
    if refused:
        code, answer = next(iter(refused.values()))
        raise SendError(f"SMTP {code}: {_decode(answer)}", retryable=400 <= code < 500, status_code=code)
    return 250


def _decode(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)


@functools.lru_cache(maxsize=4)
def _ses_client(region: str, endpoint: str | None):
    import boto3
    from botocore.config import Config

    timeout = settings.NOTIFY_TIMEOUT_SECONDS
    return boto3.client(
        "sesv2",
        region_name=region,
        endpoint_url=endpoint,
        config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}),
    )


def _send_ses(job: Job) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    if not settings.SES_SENDER_EMAIL:
        raise SendError("SES_SENDER_EMAIL não configurado", retryable=False)
    client = _ses_client(settings.SES_REGION or settings.S3_REGION, settings.SES_ENDPOINT_URL)
    try:
        answer = client.send_email(
            FromEmailAddress=messages.sender_address("NEXORA ComprasGov.AI", settings.SES_SENDER_EMAIL),
            Destination={"ToAddresses": [job.target]},
            Content=messages.ses_content(job),
            EmailTags=[{"Name": "event_type", "Value": job.event_type.replace(".", "_")}],
        )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        retryable = error.get("Code") in RETRYABLE_SES or (code or 0) >= 500 or code == 429
        raise SendError(
            f"SES {error.get('Code', '?')}: {error.get('Message', '')}", retryable=retryable, status_code=code
        ) from exc
    except BotoCoreError as exc:
        raise SendError(f"SES indisponível: {type(exc).__name__}: {exc}", retryable=True) from exc
    return answer.get("ResponseMetadata", {}).get("HTTPStatusCode", 200)
