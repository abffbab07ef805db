"""`purdah token add|list|revoke`: credentials for the HTTP service's private routes."""

from __future__ import annotations

import click

from purdah.cli.options import db_option, json_option, open_db


@click.group()
def token() -> None:
    """Tokens for the HTTP service's private routes (/api/*, the page, /healthz, /metrics).

    A caller sends one as `Authorization: Bearer purdah_...`; a browser may sign in with
    any user name and the token as the password.
    """


@token.command("add")
@click.argument("name")
@click.option(
    "--scope",
    type=click.Choice(["read", "check"]),
    default="read",
    show_default=True,
    help="check: GET /api/check only (for a scheduling tool or CMS); read: every private route.",
)
@db_option
def token_add(name: str, scope: str, db: str | None) -> None:
    """Make a token named NAME. It is printed once, alone on the last line: store it now."""
    from purdah.services.tokens import Scope, add_token

    new = add_token(open_db(db), name, Scope(scope))
    click.echo(
        f"added token {new.row.name} (scope {new.row.scope}); it is shown only now, "
        "and only its hash is kept:"
    )
    click.echo(new.secret)


@token.command("list")
@db_option
@json_option
def token_list(db: str | None, as_json: bool) -> None:
    """Every token's name, scope, and when it was made and last used (never its value)."""
    from purdah.cli.render import columns, echo_json, instant
    from purdah.serialize import iso_instant
    from purdah.services.tokens import list_tokens

    rows = list_tokens(open_db(db))
    if as_json:
        echo_json(
            [
                {
                    "name": r.name,
                    "scope": r.scope.value,
                    "created_at": iso_instant(r.created_at) if r.created_at else None,
                    "last_used_at": iso_instant(r.last_used_at) if r.last_used_at else None,
                }
                for r in rows
            ]
        )
        return
    if not rows:
        click.echo("no tokens: 'purdah token add NAME' makes one")
        return
    columns(
        ("TOKEN", "SCOPE", "CREATED", "LAST USED"),
        [
            (
                r.name,
                str(r.scope),
                instant(r.created_at) if r.created_at else "-",
                instant(r.last_used_at) if r.last_used_at else "never",
            )
            for r in rows
        ],
    )


@token.command("revoke")
@click.argument("name")
@db_option
def token_revoke(name: str, db: str | None) -> None:
    """Revoke the token NAME: the next request that presents it gets 401."""
    from purdah.services.tokens import revoke_token

    row = revoke_token(open_db(db), name)
    click.echo(f"revoked token {row.name} (scope {row.scope})")
