"""One e-mail handed to the SMTP server with smtplib, under a total deadline.

The whole conversation (connect, STARTTLS or TLS, login, MAIL/RCPT/DATA, QUIT) runs on a
worker thread: each socket operation has the settings' timeout, and the caller waits at
most that long in all, so a server that answers slowly never holds the dispatcher. A
message the server may have taken before the deadline can be sent again on retry: it
keeps its Message-ID, which is how a mail client or a receiving system recognises it.

Failures say whether a retry can mend them: a server that is down, refuses the
connection, answers 4xx or fails the login is retried; a 5xx refusal of the recipient or
of the message itself is final (retrying would be refused the same way).
"""

from __future__ import annotations

import smtplib
import ssl
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from purdah.errors import MailSettingsError
from purdah.notify.settings import MailSettings

FROM_NAME = "purdah"


@dataclass(frozen=True)
class Sent:
    ok: bool
    error: str | None = None
    final: bool = False  # no retry can mend it
    code: int | None = None  # the SMTP reply code, when there was one


def build_message(
    settings: MailSettings,
    to: str,
    subject: str,
    body: str,
    message_id: str,
    when: datetime,
    key: str,
    reply_to: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((FROM_NAME, settings.from_address))
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    message["X-Purdah-Notice"] = key
    message.set_content(body, charset="utf-8")
    return message


def _converse(settings: MailSettings, message: EmailMessage) -> Sent:
    timeout = settings.timeout
    try:
        password = settings.password()
    except MailSettingsError as exc:
        return Sent(False, str(exc))
    try:
        if settings.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.user is not None and password is not None:
                client.login(settings.user, password)
            refused = client.send_message(message)
        if refused:  # some recipients refused (there is only one)
            code, text = next(iter(refused.values()))
            return Sent(False, f"recipient refused: {code} {text!r}", code >= 500, code)
        return Sent(True)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        return Sent(False, f"recipient refused: {code} {_text(text)}", code >= 500, code)
    except smtplib.SMTPDataError as exc:
        return Sent(
            False,
            f"message refused: {exc.smtp_code} {_text(exc.smtp_error)}",
            exc.smtp_code >= 500,
            exc.smtp_code,
        )
    except smtplib.SMTPAuthenticationError as exc:
        return Sent(
            False,
            f"login refused ({exc.smtp_code} {_text(exc.smtp_error)}): check PURDAH_SMTP_USER "
            "and PURDAH_SMTP_PASSWORD",
            code=exc.smtp_code,
        )
    except smtplib.SMTPResponseException as exc:
        return Sent(False, f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}", code=exc.smtp_code)
    except smtplib.SMTPNotSupportedError as exc:
        return Sent(False, f"the server does not support it: {exc}")
    except (smtplib.SMTPException, OSError) as exc:
        what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return Sent(False, f"{what} (server {settings.host}:{settings.port})")


def _text(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return text.replace("\r", " ").replace("\n", " ")[:300]


def send(settings: MailSettings, message: EmailMessage) -> Sent:
    """One attempt; returns within settings.timeout seconds (plus a little)."""
    future: Future[Sent] = Future()

    def work() -> None:
        try:
            future.set_result(_converse(settings, message))
        except BaseException as exc:  # never lose the outcome
            future.set_exception(exc)

    threading.Thread(target=work, name="purdah-smtp", daemon=True).start()
    try:
        return future.result(timeout=settings.timeout)
    except TimeoutError:
        return Sent(
            False,
            f"no complete SMTP conversation within {settings.timeout:g} s (the limit covers "
            "connecting, TLS, login and sending)",
        )
    except Exception as exc:
        return Sent(False, f"{type(exc).__name__}: {exc}")
