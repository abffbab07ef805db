"""Options shared by several commands, defined once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

NATIONS = ("ENG", "WLS", "SCT", "NIR")


def json_option(func: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON object instead of a table."
    )(func)


def nation_option(func: F) -> F:
    return click.option(
        "--nation",
        type=click.Choice(NATIONS, case_sensitive=False),
        default=None,
        help="Nation the poll is in; needed where the id does not fix it "
        "(local and parliamentary by-election ids).",
    )(func)
