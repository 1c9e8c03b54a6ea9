"""Document source URLs: only absolute http(s) URLs are kept, because clients (the web page among them) turn
them into links, and a ``javascript:`` or ``data:`` link runs in the page that shows it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

WEB_SCHEMES = frozenset({"http", "https"})
# What a browser would read as a scheme (or a scheme-relative link) even where no URL was meant.
_LOOKS_LIKE_A_LINK = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-\t\r\n]*:|[/\\]{2})")


def is_web_url(value: str) -> bool:
    """An absolute http or https URL with a host, and nothing a browser strips or re-reads inside it
    (whitespace, control characters, backslashes: ``java\\tscript:`` is ``javascript:`` to a browser)."""
    if not value or "\\" in value or any(ch.isspace() or not ch.isprintable() for ch in value):
        return False
    try:
        parts = urlsplit(value)
        return parts.scheme.lower() in WEB_SCHEMES and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False


def check_web_url(value: str | None) -> str | None:
    """A URL given by a user or a file: None when blank, the (stripped) URL when it is http(s), else ValueError."""
    if value is None or not value.strip():
        return None
    if not is_web_url(value.strip()):
        raise ValueError(f"the source URL must be an http:// or https:// URL, not {value.strip()[:80]!r}")
    return value.strip()


def looks_like_a_link(value: str) -> bool:
    """Whether a browser could take ``value`` for a link (it names a scheme or starts with //), as opposed to
    a plain note such as "scan source not recorded"."""
    return bool(_LOOKS_LIKE_A_LINK.match(value.strip()))


def web_url_or_none(value: str | None) -> str | None:
    """For URLs read back from storage: kept when http(s), dropped (None) otherwise."""
    return value if value is not None and is_web_url(value) else None


__all__ = ["WEB_SCHEMES", "check_web_url", "is_web_url", "looks_like_a_link", "web_url_or_none"]
