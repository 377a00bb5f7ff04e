"""Apprise URLs hold passwords and tokens (``slack://TokenA/TokenB/TokenC``): never log one as is.

:func:`redact_url` gives a display form that keeps only what identifies the channel to an
operator (scheme, a real host name, port, query keys). :class:`SecretFilter` strips the secret
parts of known channel URLs from log records, including apprise's and urllib3's own messages.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, unquote, urlsplit

# Query keys whose values identify a channel without granting access to it.
_SAFE_QUERY = {"to", "from", "mode", "format", "method", "cto", "rto", "smtp", "name", "secure",
               "overflow", "retry", "wait", "optional", "image", "footer", "timestamp", "blocks"}
_HOSTNAME = re.compile(r"^(localhost|[0-9.]+|\[[0-9a-fA-F:.]+\]|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$")
MASK = "****"


def _split(url: str):
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a malformed port
        return parts
    except ValueError:
        return None


def redact_url(url: str) -> str:
    """``scheme://****@host:port/****?key=****``: enough to tell channels apart, no secret."""
    url = str(url)
    scheme, sep, _ = url.partition("://")
    parts = _split(url)
    if not sep or parts is None:
        return f"{scheme[:16]}://{MASK}" if sep else MASK
    host = parts.hostname or ""
    shown = host if _HOSTNAME.match(host) else (MASK if host else "")
    if parts.port:
        shown += f":{parts.port}"
    out = f"{parts.scheme}://"
    if parts.username or parts.password:
        out += f"{MASK}@"
    out += shown
    if parts.path.strip("/"):
        out += "/" + MASK
    if parts.query:
        out += "?" + "&".join(
            f"{k}={v if k.lower() in _SAFE_QUERY else MASK}" for k, v in parse_qsl(parts.query)
        )
    return out


def secret_parts(url: str) -> set[str]:
    """Substrings of ``url`` that may grant access: userinfo, token-like host, path segments,
    non-safe query values (plain and percent-decoded)."""
    url = str(url)
    found: set[str] = {url}
    parts = _split(url)
    if parts is None:
        found.update(p for p in re.split(r"[/:@?&=#]+", url.partition("://")[2]) if len(p) >= 4)
    else:
        for v in (parts.username, parts.password):
            if v:
                found.add(v)
        host = parts.hostname or ""
        if host and not _HOSTNAME.match(host):
            found.add(host)
        found.update(seg for seg in parts.path.split("/") if len(seg) >= 4)
        found.update(v for k, v in parse_qsl(parts.query) if k.lower() not in _SAFE_QUERY and len(v) >= 4)
    return found | {unquote(s) for s in found}


class SecretFilter(logging.Filter):
    """Rewrites log records so none of the registered secrets appears in them."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: list[str] = []

    def add_url(self, url: str) -> None:
        from crawler.logjson import redact

        # Records are already credential-redacted at creation (crawler.logjson): the URL may
        # arrive in that form, whose token-like path is still to hide.
        parts = secret_parts(url) | {redact(url)}
        new = set(self._secrets) | {s for s in parts if len(s) >= 4}
        # Longest first so a whole URL is replaced before its pieces.
        self._secrets = sorted(new, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for s in self._secrets:
            if s in text:
                text = text.replace(s, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            try:
                msg = record.getMessage()
            except Exception:  # a malformed record: drop its args rather than leak them
                msg = str(record.msg)
            red = self.redact(msg)
            if red != msg or record.args:
                record.msg, record.args = red, None
        return True


# Loggers that may print a channel URL or its path: ours, apprise's, and requests' transport.
WATCHED_LOGGERS = ("crawler.alerts", "apprise", "urllib3.connectionpool")


def install(filter_: SecretFilter) -> None:
    for name in WATCHED_LOGGERS:
        logger = logging.getLogger(name)
        if filter_ not in logger.filters:
            logger.addFilter(filter_)


def uninstall(filter_: SecretFilter) -> None:
    for name in WATCHED_LOGGERS:
        logging.getLogger(name).removeFilter(filter_)
