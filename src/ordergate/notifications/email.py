"""The email channel: SMTP with aiosmtplib (ORDERGATE_SMTP_URL), or .eml files under var_dir/mail.

ORDERGATE_SMTP_URL: `smtp://user:password@host:587?starttls=1` (STARTTLS required),
`smtps://user:password@host:465` (TLS from the start), `smtp://host:25` (STARTTLS when offered).
Options: `starttls=1|0`, `verify=0` (do not check the server's certificate), `cafile=/path.pem`,
`timeout=30`. Put user and password percent-encoded. Neither is ever logged."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

import aiosmtplib

from ordergate import clock
from ordergate.notifications.errors import Undeliverable
from ordergate.notifications.spool import write_private

OPTIONS = ("starttls", "verify", "cafile", "timeout")
LINE_BREAKS = re.compile(r"[\r\n\t]+")


@dataclass(frozen=True)
class SmtpServer:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None  # None: upgrade when the server offers it
    validate_certs: bool
    cert_bundle: str | None
    timeout: float

    def __repr__(self) -> str:  # never show the password, even in a traceback
        return f"SmtpServer({self.hostname}:{self.port}, tls={self.use_tls}, starttls={self.start_tls})"


def _flag(value: str, name: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"ORDERGATE_SMTP_URL option {name} must be 1 or 0")


def parse_smtp_url(url: str) -> SmtpServer:
    """Raise ValueError with a message that names what is wrong and never repeats the URL."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise ValueError("ORDERGATE_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("ORDERGATE_SMTP_URL names no host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("ORDERGATE_SMTP_URL has a port that is not a number") from None
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(query) - set(OPTIONS))
    if unknown:
        raise ValueError(f"ORDERGATE_SMTP_URL has unknown options: {', '.join(unknown)}")
    start_tls = _flag(query["starttls"], "starttls") if "starttls" in query else None
    if scheme == "smtps" and start_tls:
        raise ValueError("ORDERGATE_SMTP_URL: smtps:// is TLS already; drop starttls=1")
    try:
        timeout = float(query.get("timeout", "30"))
    except ValueError:
        timeout = -1.0
    if not 0 < timeout <= 300:
        raise ValueError("ORDERGATE_SMTP_URL option timeout must be a number of seconds, at most 300")
    return SmtpServer(
        hostname=parts.hostname,
        port=port or (465 if scheme == "smtps" else 587 if start_tls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=scheme == "smtps",
        start_tls=False if scheme == "smtps" else start_tls,
        validate_certs=_flag(query.get("verify", "1"), "verify"),
        cert_bundle=query.get("cafile") or None,
        timeout=timeout,
    )


def one_line(value: str) -> str:
    """Header values on one line: a line break in a store name or subject cannot add a header."""
    return LINE_BREAKS.sub(" ", value).strip()


def build_email(
    *,
    subject: str,
    text: str,
    html: str | None,
    sender: str,
    sender_name: str,
    recipient: str,
    message_id: str,
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = one_line(subject)
    message["From"] = formataddr((one_line(sender_name), sender))
    message["To"] = one_line(recipient)
    message["Date"] = format_datetime(clock.now())
    # The same outbox row always has the same Message-ID: a receiver can drop a redelivered copy.
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


class EmailSender(Protocol):
    async def send(self, message: EmailMessage, *, name: str) -> str:
        """Deliver; return the provider's reference. Undeliverable for a permanent refusal."""
        ...


class SmtpSender:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def send(self, message: EmailMessage, *, name: str) -> str:
        s = self.server
        try:
            _, response = await aiosmtplib.send(
                message,
                hostname=s.hostname,
                port=s.port,
                username=s.username,
                password=s.password,
                use_tls=s.use_tls,
                start_tls=s.start_tls,
                validate_certs=s.validate_certs,
                cert_bundle=s.cert_bundle,
                timeout=s.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = ", ".join(f"{r.code} {r.message}" for r in exc.recipients)
            if all(r.code >= 500 for r in exc.recipients):
                raise Undeliverable(f"recipient refused: {codes}") from None
            raise
        except aiosmtplib.SMTPDataError as exc:
            if exc.code >= 500:
                raise Undeliverable(f"message refused: {exc.code} {exc.message}") from None
            raise
        return response[:200]


class MailDirSender:
    """Without SMTP: each message is an .eml file (open it with any mail client)."""

    def __init__(self, directory: Path):
        self.directory = directory

    async def send(self, message: EmailMessage, *, name: str) -> str:
        path = await asyncio.to_thread(write_private, self.directory, f"{name}.eml", message.as_bytes())
        return f"file:{path.name}"
