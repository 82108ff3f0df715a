"""Real local servers standing in for the outside world: an SMTP server (aiosmtpd) and an HTTP
server speaking the Twilio Messages API."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email
import email.policy
import ipaddress
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content())


@dataclass
class MailHandler:
    """Accepts mail (250) and keeps it; can refuse recipients, or hold a delivery until released."""

    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    hold_next: bool = False
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    seen_data: int = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.seen_data += 1
        if self.hold_next:
            self.hold_next = False
            self.holding.set()
            # Never acknowledged: the sender dies waiting.
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 120)
            return "451 4.3.0 Aborted"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 OK queued"


class SmtpTestServer:
    def __init__(self, **smtp_kwargs: Any):
        self.handler = MailHandler()
        self.port = free_port()
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=10, **smtp_kwargs
        )

    def __enter__(self) -> SmtpTestServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.handler.release.set()
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        return self.handler.received


def authenticator(user: str, password: str) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            user.encode(),
            password.encode(),
        )
        return AuthResult(success=ok, handled=False)

    return check


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (cert, key), made with cryptography: no openssl binary needed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


# --- Twilio-compatible SMS API -------------------------------------------------------------------
# Written from Twilio's REST API reference (Messages resource: POST /2010-04-01/Accounts/{AccountSid}/
# Messages.json, form fields To, From or MessagingServiceSid, Body; HTTP Basic auth with the account
# SID and auth token), its error format (code, message, more_info, status; 20003 for bad
# credentials, 21602 for a missing body) and its test credentials page
# (twilio.com/docs/iam/test-credentials, "Test SMS messages": To +15005550001 is invalid, 21211;
# +15005550009 cannot receive SMS, 21614). The 201 answer is the Message resource as the official
# twilio-python SDK's own test fixture has it (twilio/twilio-python,
# tests/integration/api/v2010/account/test_message.py, test_create_response). test_sms.py checks our
# requests against the SDK's, and the SDK itself against this server.

INVALID_NUMBER = "+15005550001"  # Twilio's magic To number: "This phone number is invalid" (21211)
NO_SMS_NUMBER = "+15005550009"  # Twilio's magic To number: "incapable of receiving SMS" (21614)
OVERLOADED_NUMBER = "+15550100503"  # not one of Twilio's: our server answers 503 for it
TWILIO_ERRORS = {
    INVALID_NUMBER: (21211, "The 'To' number {to} is not a valid phone number."),
    NO_SMS_NUMBER: (21614, "'To' number is not a valid mobile number"),
}


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def twilio_message(account_sid: str, sid: str, form: dict[str, str], now: dt.datetime) -> dict[str, Any]:
    """The Message resource Twilio answers a create with (fields as in the SDK's fixture)."""
    uri = f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}"
    stamp = now.strftime("%a, %d %b %Y %H:%M:%S +0000")
    return {
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": form["Body"],
        "date_created": stamp,
        "date_sent": None,
        "date_updated": stamp,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "accepted" if form.get("MessagingServiceSid") else "queued",
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": form["To"],
        "uri": f"{uri}.json",
    }


@dataclass
class SmsApi:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "tok_" + "s" * 28
    messages: list[dict[str, str]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)  # method, path, auth, form: as received


class SmsTestServer:
    """POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded, HTTP Basic auth."""

    def __init__(self) -> None:
        self.api = SmsApi()
        api = self.api

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                api.requests.append(
                    {
                        "method": "POST",
                        "path": self.path,
                        "authorization": self.headers.get("Authorization", ""),
                        "content_type": self.headers.get("Content-Type", ""),
                        "form": form,
                    }
                )
                expected_auth = base64.b64encode(f"{api.account_sid}:{api.auth_token}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected_auth}":
                    api.rejected.append({"status": 401, **form})
                    self._answer(401, twilio_error(401, 20003, "Authenticate"))
                    return
                if self.path != f"/2010-04-01/Accounts/{api.account_sid}/Messages.json":
                    self._answer(404, twilio_error(404, 20404, "The requested resource was not found"))
                    return
                if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    self._answer(415, {"message": "form-encoded only", "status": 415})
                    return
                to = form.get("To", "")
                if to in TWILIO_ERRORS:
                    code, message = TWILIO_ERRORS[to]
                    api.rejected.append({"status": 400, **form})
                    self._answer(400, twilio_error(400, code, message.format(to=to)))
                    return
                if to == OVERLOADED_NUMBER:
                    api.rejected.append({"status": 503, **form})
                    self._answer(503, twilio_error(503, 20503, "Service unavailable"))
                    return
                if not form.get("Body") or not (form.get("From") or form.get("MessagingServiceSid")):
                    self._answer(400, twilio_error(400, 21602, "Message body is required."))
                    return
                sid = f"SM{len(api.messages):032x}"
                api.messages.append(form)
                now = dt.datetime.now(dt.UTC)
                self._answer(201, twilio_message(api.account_sid, sid, form, now))

        self.port = free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def url(self, **query: str) -> str:
        q = "&".join(f"{k}={v}" for k, v in ({"from": "%2B15550001111"} | query).items())
        return f"http://{self.api.account_sid}:{self.api.auth_token}@127.0.0.1:{self.port}?{q}"

    def __enter__(self) -> SmsTestServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
