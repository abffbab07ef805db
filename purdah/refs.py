"""Councillor references, written COUNCIL/SLUG (e.g. selston/jane-doe)."""

from __future__ import annotations

from purdah.errors import InputError


def split_ref(ref: str) -> tuple[str, str]:
    """`COUNCIL/SLUG` into its two slugs, lower-cased."""
    council, sep, slug = ref.strip().partition("/")
    if not sep or not council or not slug or "/" in slug:
        raise InputError(f"councillor {ref!r} must be written COUNCIL/SLUG, e.g. selston/jane-doe")
    return council.lower(), slug.lower()
