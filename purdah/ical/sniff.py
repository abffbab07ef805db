"""What a file really is, when it is not iCalendar, and how to show a piece of it safely.

A clerk who gives purdah a web page, a spreadsheet or a PDF instead of the .ics should
be told what they gave, not that "the download looks truncated". Pure: bytes in, words out.
"""

from __future__ import annotations

import re

# (what it starts with, what it is)
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (or a Word/Excel file, which are ZIP archives)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file (decompress it first)"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office file (.doc or .xls)"),
    (b"SQLite format 3\x00", "a SQLite database"),
    (b"\xff\xfe\x00\x00", "UTF-32 text (save it as UTF-8)"),
    (b"\x00\x00\xfe\xff", "UTF-32 text (save it as UTF-8)"),
    (b"\xff\xfe", "UTF-16 text (save it as UTF-8)"),
    (b"\xfe\xff", "UTF-16 text (save it as UTF-8)"),
)
_HTML = re.compile(rb"^\s*(<!doctype\s+html|<html|<head|<body|<!--|<meta|<title)", re.I)
_XML = re.compile(rb"^\s*<\?xml", re.I)
_BEGIN = re.compile(rb"^BEGIN:VCALENDAR", re.I | re.M)


def what_it_is(data: bytes) -> str | None:
    """What `data` is, if it is plainly something other than iCalendar; else None."""
    head = data[:4096]
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if _utf16_without_bom(head):
        return "UTF-16 text without a byte order mark (save it as UTF-8)"
    if _BEGIN.search(head):
        return None
    if _HTML.match(head):
        return "an HTML page (a web page, a sign-in or an error page?)"
    if _XML.match(head):
        return "an XML document"
    if head.lstrip()[:1] in (b"{", b"["):
        return "JSON"
    if _looks_like_csv(head):
        return "CSV (comma-separated values)"
    if b"\x00" in head:
        return "a binary file"
    return None


def _utf16_without_bom(head: bytes) -> bool:
    """ASCII text in UTF-16 has a NUL in every other byte."""
    sample = head[:512]
    if len(sample) < 16:
        return False
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) / 2
    return (even > 0.4 * half and odd < 0.05 * half) or (odd > 0.4 * half and even < 0.05 * half)


def _looks_like_csv(head: bytes) -> bool:
    lines = [line for line in head.splitlines()[:6] if line.strip()]
    if len(lines) < 2 or any(b":" in line.split(b",")[0] for line in lines[:1]):
        return False
    counts = {line.count(b",") for line in lines[:-1]}
    return len(counts) == 1 and counts != {0}


_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def printable(text: str, limit: int = 200) -> str:
    """`text` with control characters escaped (\\x00, \\x1b ...) and cut to `limit`
    characters, so that nothing read from a file can garble or drive a terminal."""
    cleaned = _UNPRINTABLE.sub(_escape, text)
    if len(cleaned) > limit:
        return cleaned[: max(0, limit - 3)] + "..."
    return cleaned


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def excerpt(data: bytes, limit: int = 60) -> str:
    """A short, safe, quoted excerpt of some bytes for a message."""
    text = data[: limit * 4].decode("utf-8", "backslashreplace")
    return repr(text[:limit]) + ("..." if len(text) > limit else "")
