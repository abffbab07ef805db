"""`purdah export` and `purdah serve`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from purdah.cli.options import F, db_option, open_db, resolve_at
from purdah.web.settings import DEFAULT_RATE_LIMIT

if TYPE_CHECKING:
    from purdah.web.settings import WebSettings


@click.command()
@click.option("--council", "council_slug", default=None, help="Every period of this council.")
@click.option(
    "--councillor",
    "ref",
    default=None,
    metavar="COUNCIL/SLUG",
    help="The periods that restrict this councillor.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write to FILE instead of standard output.",
)
@click.option(
    "--url",
    "base",
    default=None,
    metavar="https://HOST",
    help="The HTTP service's public base URL: print the feed's webcal:// and https:// "
    "subscription links (on standard error) and name it in the calendar (SOURCE).",
)
@db_option
def export(
    council_slug: str | None, ref: str | None, output: Path | None, base: str | None, db: str | None
) -> None:
    """Write the restricted periods as an .ics calendar to subscribe to."""
    from purdah.errors import InputError
    from purdah.services.export import (
        council_feed,
        councillor_feed,
        feed_path,
        subscription_links,
    )

    if (council_slug is None) == (ref is None):
        raise InputError("give exactly one of --council SLUG or --councillor COUNCIL/SLUG")
    path = feed_path(council_slug, ref)
    links = subscription_links(base, path) if base else None
    url = links.https if links else None
    store = open_db(db)
    now = resolve_at(None)  # which cancelled periods are still published
    feed = (
        council_feed(store, council_slug, url, now=now)
        if council_slug
        else councillor_feed(store, ref or "", url, now=now)
    )
    if output is None:
        click.echo(feed.body.decode("utf-8"), nl=False)
    else:
        output.write_bytes(feed.body)
        click.echo(f"wrote {output} ({len(feed.body):,} bytes)", err=True)
    if links is None:
        if output is not None:
            click.echo(
                f"the HTTP service serves it at {path}: give --url https://HOST for the "
                "subscription links",
                err=True,
            )
        return
    click.echo(f"subscribe (calendar app): {links.webcal}", err=True)
    click.echo(f"subscribe (Outlook on the web, Google): {links.https}", err=True)
    click.echo(links.note, err=True)


def _keep(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta[f"purdah.web.{param.name}"] = value
    return value


def web_options(func: F) -> F:
    """The HTTP service's access options, shared by `serve` and `run --serve`; read them
    back with `web_settings()`."""
    options = [
        click.option(
            "--public-only",
            is_flag=True,
            expose_value=False,
            callback=_keep,
            help="Serve only the public routes (.ics feeds, /livez): for the instance a "
            "reverse proxy publishes.",
        ),
        click.option(
            "--trust-proxy-auth",
            is_flag=True,
            envvar="PURDAH_TRUST_PROXY_AUTH",
            expose_value=False,
            callback=_keep,
            help="Let a reverse proxy that authenticated the user open the private routes: "
            "it sends X-Forwarded-User, trusted only from --trusted-proxy addresses. "
            "Env: PURDAH_TRUST_PROXY_AUTH=1.",
        ),
        click.option(
            "--trusted-proxy",
            "trusted_proxy",
            multiple=True,
            metavar="ADDRESS",
            expose_value=False,
            callback=_keep,
            help="The proxy's address as the service sees it (repeatable; default "
            "127.0.0.1 and ::1).",
        ),
        click.option(
            "--rate-limit",
            metavar="RATE|off",
            envvar="PURDAH_RATE_LIMIT",
            default=DEFAULT_RATE_LIMIT,
            show_default=True,
            expose_value=False,
            callback=_keep,
            help="Requests each client (token, proxy user, or address) may make to the "
            "private routes, e.g. 600/minute or 20/second; off for none (benchmarks, or "
            "where the proxy limits). Env: PURDAH_RATE_LIMIT.",
        ),
        click.option(
            "--header-timeout",
            type=click.FloatRange(0.1, 300),
            default=10.0,
            show_default=True,
            expose_value=False,
            callback=_keep,
            help="Seconds a client may take to send a request line and headers (then 408).",
        ),
        click.option(
            "--access-log/--no-access-log",
            default=True,
            show_default=True,
            expose_value=False,
            callback=_keep,
            help="One JSON line per request on standard error (names the token, never its value).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def web_settings() -> WebSettings:
    """The settings the current command's web_options gave (and the access log set up)."""
    from purdah.web.settings import WebSettings, log_access_to_stderr, parse_rate_limit

    meta = click.get_current_context().meta

    def get(name: str, default: Any) -> Any:
        return meta.get(f"purdah.web.{name}", default)

    if get("access_log", True):
        log_access_to_stderr()
    proxies = get("trusted_proxy", ())
    return WebSettings(
        public_only=bool(get("public_only", False)),
        trust_proxy_auth=bool(get("trust_proxy_auth", False)),
        trusted_proxies=frozenset(proxies) if proxies else WebSettings().trusted_proxies,
        rate_limit=parse_rate_limit(get("rate_limit", DEFAULT_RATE_LIMIT)),
        header_timeout=float(get("header_timeout", 10.0)),
    )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@web_options
@db_option
def serve(host: str, port: int, db: str | None) -> None:
    """The HTTP service: .ics feeds and /livez for anyone; the clerk's page, /api/check,
    /api/status, /healthz for holders of a token (`purdah token add`)."""
    from purdah.web.server import serve as serve_http

    store = open_db(db)
    settings = web_settings()
    serve_http(
        store,
        host,
        port,
        settings,
        announce=lambda: click.echo(
            f"purdah: http://{host}:{port}/ ({describe(settings)}; Ctrl-C stops)", err=True
        ),
    )


def describe(settings: WebSettings) -> str:
    if settings.public_only:
        return "public routes only"
    how = "a token or the proxy's X-Forwarded-User" if settings.trust_proxy_auth else "a token"
    rate = settings.rate_limit or "no rate limit"
    return f"private routes need {how}; {rate} per client"
