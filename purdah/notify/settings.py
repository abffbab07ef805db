"""E-mail settings, all from the environment of the process that plans and sends
(`purdah run`, `purdah mail send`): nothing about SMTP is stored in the database, and the
password is read from the environment at each use, never stored or printed.

| variable | meaning | default |
| --- | --- | --- |
| PURDAH_SMTP_HOST | the SMTP server (e-mail is on when this is set) | (off) |
| PURDAH_SMTP_SECURITY | starttls, ssl (implicit TLS) or none (loopback only) | starttls |
| PURDAH_SMTP_PORT | its port | 587 / 465 / 25 by security |
| PURDAH_SMTP_USER | the login, if the server wants one | (no login) |
| PURDAH_SMTP_PASSWORD | the login's password (needed with a user) | |
| PURDAH_SMTP_TIMEOUT | seconds one message may take in all (connect to QUIT) | 30 |
| PURDAH_MAIL_FROM | the sender address | (required) |
| PURDAH_PUBLIC_URL | the HTTP service's public base URL, for the .ics links | (required) |
| PURDAH_NOTICE_LEAD_DAYS | days before a period starts that councillors are told | 7 |
| PURDAH_DIGEST_HOUR | UK hour from which the clerk's daily digest goes | 8 |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from purdah.errors import InputError, MailSettingsError
from purdah.notify.addresses import check_address

HOST = "PURDAH_SMTP_HOST"
SECURITY = "PURDAH_SMTP_SECURITY"
PORT = "PURDAH_SMTP_PORT"
USER = "PURDAH_SMTP_USER"
PASSWORD = "PURDAH_SMTP_PASSWORD"
TIMEOUT = "PURDAH_SMTP_TIMEOUT"
FROM = "PURDAH_MAIL_FROM"
PUBLIC_URL = "PURDAH_PUBLIC_URL"
LEAD_DAYS = "PURDAH_NOTICE_LEAD_DAYS"
DIGEST_HOUR = "PURDAH_DIGEST_HOUR"

SECURITIES = {"starttls": 587, "ssl": 465, "none": 25}
DEFAULT_LEAD_DAYS = 7
MAX_LEAD_DAYS = 90
DEFAULT_DIGEST_HOUR = 8
DEFAULT_TIMEOUT = 30.0
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    security: str
    user: str | None
    from_address: str
    public_url: str
    timeout: float = DEFAULT_TIMEOUT
    lead_days: int = DEFAULT_LEAD_DAYS
    digest_hour: int = DEFAULT_DIGEST_HOUR
    # Where the password is read from at each use (never kept on this object).
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ, repr=False)

    @property
    def domain(self) -> str:
        return self.from_address.rpartition("@")[2]

    def password(self) -> str | None:
        if self.user is None:
            return None
        value = self.environ.get(PASSWORD)
        if not value:
            raise MailSettingsError(
                f"{PASSWORD} is not set in this process: {USER} is {self.user!r}, so the "
                "server needs its password; set it (or unset the user)"
            )
        return value

    def describe(self) -> dict[str, object]:
        """What `purdah mail settings` shows: never the password."""
        return {
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "user": self.user,
            "password": None if self.user is None else "(set)",
            "from": self.from_address,
            "public_url": self.public_url,
            "timeout_seconds": self.timeout,
            "lead_days": self.lead_days,
            "digest_hour": self.digest_hour,
        }


def mail_enabled(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get(HOST, "").strip())


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise MailSettingsError(
            f"{name}={raw!r} is not a number: give {low:g} to {high:g}"
        ) from None
    if not low <= value <= high:
        raise MailSettingsError(f"{name}={raw!r} is out of range: give {low:g} to {high:g}")
    return value


def _whole(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = _number(env, name, default, low, high)
    if value != int(value):
        raise MailSettingsError(f"{name}={env.get(name)!r} is not a whole number")
    return int(value)


def lead_days_from_env(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    return _whole(env, LEAD_DAYS, DEFAULT_LEAD_DAYS, 0, MAX_LEAD_DAYS)


def load_settings(environ: Mapping[str, str] | None = None) -> MailSettings:
    """The settings, checked; MailSettingsError naming the variable otherwise."""
    from purdah.services.export import subscription_links

    env = os.environ if environ is None else environ
    host = env.get(HOST, "").strip()
    if not host:
        raise MailSettingsError(
            f"{HOST} is not set: e-mail is off. Set it to your SMTP server (and "
            f"{FROM}, {PUBLIC_URL}; see 'purdah mail settings --help')"
        )
    security = env.get(SECURITY, "starttls").strip().lower() or "starttls"
    if security not in SECURITIES:
        raise MailSettingsError(
            f"{SECURITY}={security!r} is not one of: {', '.join(SECURITIES)} (starttls for "
            "port 587, ssl for 465, none only for a server on this machine)"
        )
    if security == "none" and host.lower() not in _LOOPBACK:
        raise MailSettingsError(
            f"{SECURITY}=none sends in the clear: allowed only for a server on this machine "
            f"({', '.join(_LOOPBACK)}), not {host!r}; use starttls or ssl"
        )
    port = _whole(env, PORT, SECURITIES[security], 1, 65535)
    user = env.get(USER, "").strip() or None
    if user is not None and not env.get(PASSWORD):
        raise MailSettingsError(
            f"{PASSWORD} is not set: {USER} is {user!r}, so the server needs its password"
        )
    sender = env.get(FROM, "").strip()
    if not sender:
        raise MailSettingsError(
            f"{FROM} is not set: give the address notices come from (e.g. elections@example.gov.uk)"
        )
    try:
        sender = check_address(sender, FROM)
    except InputError as exc:
        raise MailSettingsError(str(exc)) from None
    base = env.get(PUBLIC_URL, "").strip()
    if not base:
        raise MailSettingsError(
            f"{PUBLIC_URL} is not set: give the HTTP service's public base URL (e.g. "
            "https://purdah.example.gov.uk), so that notices carry each councillor's .ics link"
        )
    try:
        subscription_links(base, "/")
    except InputError as exc:
        raise MailSettingsError(f"{PUBLIC_URL}: {exc}") from None
    return MailSettings(
        host=host,
        port=port,
        security=security,
        user=user,
        from_address=sender,
        public_url=base.rstrip("/"),
        timeout=_number(env, TIMEOUT, DEFAULT_TIMEOUT, 1, 600),
        lead_days=lead_days_from_env(env),
        digest_hour=_whole(env, DIGEST_HOUR, DEFAULT_DIGEST_HOUR, 0, 23),
        environ=env,
    )
