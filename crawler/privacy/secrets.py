"""Credentials hidden from everything darkwatch prints, logs or sends.

Two policies, one mask: :func:`redact` keeps free text and URLs readable (only userinfo, secret
query values, ``password=``/``token=`` values and auth header values go), for error lines,
reports and logs; :func:`redact_url` is for alert channel URLs (apprise), whose path itself is a
token (``slack://TokenA/TokenB/TokenC``), so it keeps only what tells channels apart.
:class:`SecretFilter` replaces known secrets (the configured channel URLs) in log records.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

MASK = "****"
# Keys whose values are secrets wherever they appear (config, log extras, URL queries).
_SECRET_KEY = re.compile(
    r"(?i)(pass(word|wd|phrase)?|pwd|secret|token|api[-_]?key|apikey|cookies?|authori[sz]ation|"
    r"credentials?|private[-_]?key|session|sid|auth|fingerprint[-_]?key|signature|sig)$|"
    r"^(pass|secret|token|api[-_]?key|cookie)"
)
# A URL in free text; not its trailing ':' or '.', which end the sentence.
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s\"'<>]*[^\s\"'<>:;,.)]")
# ``password=...``/``token: ...`` pairs in free text (quoted or bare values).
_KV = re.compile(
    r"(?i)\b((?:[a-z0-9_\-]*(?:password|passwd|pwd|secret|token|api[-_]?key|apikey|cookie|"
    r"session[-_]?id))\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&]+)"
)
# ``Authorization:`` values as clients print them.
_AUTH_HEADER = re.compile(r"(?i)\b(bearer|basic|apikey|digest)\s+[A-Za-z0-9._~+/=\-]{6,}")
# ``user:password@host`` without a scheme (a host string in a client's error message).
_USERINFO = re.compile(r"(?<![\w/:@.%+~-])[\w.%+~-]+:[^\s@/'\"<>]+@(?=[\w\[])")
# Query keys of channel URLs whose values identify a channel without granting access to it.
_SAFE_QUERY = {"to", "from", "mode", "format", "method", "cto", "rto", "smtp", "name", "secure",
               "overflow", "retry", "wait", "optional", "image", "footer", "timestamp", "blocks"}
# A host shown as is in a channel URL; anything else in the host slot is a token (discord://ID).
_HOSTNAME = re.compile(r"^(localhost|[0-9.]+|\[[0-9a-fA-F:.]+\]|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$")
# Known secrets shorter than this are not replaced: they would shred ordinary words.
MIN_SECRET = 4


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(str(key)))


def scrub_url(url: str) -> str:
    """Without userinfo and with secret-looking query values masked; the rest stays readable."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        netloc = f"{MASK}@{host}{port}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_key(k) for k, _ in pairs):
            query = urlencode([(k, MASK if is_secret_key(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact(text: str) -> str:
    """``text`` with credentials masked: URL userinfo and secret query values, ``key=value``
    pairs with a secret-looking key, ``Bearer``/``Basic`` values. The rest stays readable."""
    text = str(text)
    text = _URL.sub(lambda m: scrub_url(m.group(0)), text)
    text = _USERINFO.sub(MASK + "@", text)
    text = _KV.sub(lambda m: m.group(1) + MASK, text)
    return _AUTH_HEADER.sub(lambda m: m.group(1) + " " + MASK, text)


def redact_obj(value: Any) -> Any:
    """A copy of a JSON-like value (a report) with :func:`redact` applied to every string."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_obj(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_obj(v) for v in value]
    return value


def hide(text: str, secrets: list[str]) -> str:
    """``text`` with each of ``secrets`` (known values, longest first) replaced by the mask."""
    for s in secrets:
        if s and s in text:
            text = text.replace(s, MASK)
    return text


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a malformed port
        return parts
    except ValueError:
        return None


def redact_url(url: str) -> str:
    """A channel URL as ``scheme://****@host:port/****?key=****``: enough to tell channels
    apart, no secret."""
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
    """Substrings of a channel ``url`` that may grant access: userinfo, token-like host, path
    segments, non-safe query values (plain and percent-decoded)."""
    url = str(url)
    found: set[str] = {url}
    parts = _split(url)
    if parts is None:
        found.update(p for p in re.split(r"[/:@?&=#]+", url.partition("://")[2]) if len(p) >= MIN_SECRET)
    else:
        for v in (parts.username, parts.password):
            if v:
                found.add(v)
        host = parts.hostname or ""
        if host and not _HOSTNAME.match(host):
            found.add(host)
        found.update(seg for seg in parts.path.split("/") if len(seg) >= MIN_SECRET)
        found.update(v for k, v in parse_qsl(parts.query)
                     if k.lower() not in _SAFE_QUERY and len(v) >= MIN_SECRET)
    return found | {unquote(s) for s in found}


class SecretFilter(logging.Filter):
    """Rewrites log records so none of the registered channel secrets appears in them."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: list[str] = []

    def add_url(self, url: str) -> None:
        # Records are already credential-redacted at creation (crawler.privacy.logs): the URL
        # may arrive in that form, whose token-like path is still to hide.
        parts = secret_parts(url) | {redact(url)}
        new = set(self._secrets) | {s for s in parts if len(s) >= MIN_SECRET}
        # Longest first so a whole URL is replaced before its pieces.
        self._secrets = sorted(new, key=len, reverse=True)

    def redact(self, text: str) -> str:
        return hide(text, self._secrets)

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


def install_secret_filter(filter_: SecretFilter) -> None:
    for name in WATCHED_LOGGERS:
        logger = logging.getLogger(name)
        if filter_ not in logger.filters:
            logger.addFilter(filter_)


def uninstall_secret_filter(filter_: SecretFilter) -> None:
    for name in WATCHED_LOGGERS:
        logging.getLogger(name).removeFilter(filter_)
