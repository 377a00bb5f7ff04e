"""Structured logs: one JSON object per line (``darkwatch crawl --log-format json``).

Log shippers (journald -> Loki/Elastic, docker's json-file) index fields, not prose: each line
carries ``timestamp``, ``level``, ``logger``, ``message`` and, when the call passed them in
``extra``, ``forum``, ``url``, ``status`` (and any other extra field). Logs travel further than
the crawl's data, so nothing secret leaves here: values of secret-looking keys are masked,
URLs lose their userinfo and secret query values, ``password=...``/``Bearer ...`` in free text
are masked, and NIR-shaped numbers are masked like in alert messages.

Stdlib ``logging`` + ``json`` only: the formatter is a few lines, and a dependency such as
python-json-logger would not do the scrubbing, which is the part that matters here.

This module is also the single home of credential redaction for everything darkwatch prints:
:func:`redact` (URL userinfo, secret query values, ``password=``/``token=`` pairs, auth headers)
is what the CLI uses for its error lines and reports, and :func:`install_redaction` applies it
to every log record of the process, text or JSON, at every verbosity.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crawler.alerts.scrub import scrub as scrub_identifiers

MASK = "****"
# Attributes every LogRecord has: everything else on a record came from ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_FIRST = ("forum", "url", "status")
_SECRET_KEY = re.compile(
    r"(?i)(pass(word|wd|phrase)?|pwd|secret|token|api[-_]?key|apikey|cookies?|authori[sz]ation|"
    r"credentials?|private[-_]?key|session|sid|auth|fingerprint[-_]?key|signature|sig)$|"
    r"^(pass|secret|token|api[-_]?key|cookie)"
)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s\"'<>]*[^\s\"'<>:;,.)]")  # not a trailing ':'/'.'
_KV = re.compile(
    r"(?i)\b((?:[a-z0-9_\-]*(?:password|passwd|pwd|secret|token|api[-_]?key|apikey|cookie|"
    r"session[-_]?id))\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&]+)"
)
_AUTH_HEADER = re.compile(r"(?i)\b(bearer|basic|apikey|digest)\s+[A-Za-z0-9._~+/=\-]{6,}")
# ``user:password@host`` without a scheme (a host string in a client's error message).
_USERINFO = re.compile(r"(?<![\w/:@.%+~-])[\w.%+~-]+:[^\s@/'\"<>]+@(?=[\w\[])")
MAX_FIELD = 4000


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


def scrub_text(text: str) -> str:
    text = redact(text)
    text = scrub_identifiers(text)
    if len(text) > MAX_FIELD:
        text = text[: MAX_FIELD - 1] + "…"
    return text


def scrub_value(value: Any, key: str | None = None, depth: int = 0) -> Any:
    """JSON-safe copy of ``value`` with secrets masked (recursive into dicts/lists)."""
    if key is not None and is_secret_key(key) and value not in (None, ""):
        return MASK
    if depth > 5:
        return MASK
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): scrub_value(v, str(k), depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub_value(v, None, depth + 1) for v in value]
    return scrub_text(str(value))


def _timestamp(record: logging.LogRecord) -> str:
    dt = datetime.fromtimestamp(record.created, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(record.msecs):03d}Z"


class JsonFormatter(logging.Formatter):
    """``logging.Formatter`` that emits one JSON object per record, secrets scrubbed."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:  # bad %-args: keep the template rather than lose the line
            message = str(record.msg)
        out: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub_text(message),
        }
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        # Scrapy logs requests with a dict of args ("Crawled (%(status)s) %(request)s"): lift them.
        if isinstance(record.args, Mapping):
            if "status" in record.args and "status" not in extra:
                extra["status"] = record.args["status"]
            request = record.args.get("request")
            if request is not None and "url" not in extra:
                extra["url"] = getattr(request, "url", None) or str(request)
        spider = extra.pop("spider", None)
        extra.pop("crawler", None)
        if spider is not None and "forum" not in extra:
            name = getattr(spider, "name", None)
            if name:
                extra["forum"] = name
        for key in _FIRST:
            if key in extra:
                out[key] = scrub_value(extra.pop(key), key)
        for key in sorted(extra):
            if key not in out:
                out[key] = scrub_value(extra[key], key)
        if record.exc_info:
            out["exception"] = scrub_text(self.formatException(record.exc_info))
        elif record.exc_text:
            out["exception"] = scrub_text(record.exc_text)
        if record.stack_info:
            out["stack"] = scrub_text(self.formatStack(record.stack_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask credentials in a record's message, traceback and stack, in place."""
    try:
        message = record.getMessage()
    except Exception:  # bad %-args: keep the template rather than lose the line
        message = str(record.msg)
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        text = _PLAIN.formatException(record.exc_info)
        clean = redact(text)
        if clean != text:  # formatters print exc_text when it is set
            record.exc_text = clean
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


_PLAIN = logging.Formatter()


class RedactFilter(logging.Filter):
    """Masks credentials in every record it sees (see :func:`redact`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install_redaction() -> None:
    """Redact every log record of this process at creation, and uncaught tracebacks (idempotent).

    At creation rather than as a handler filter because Scrapy replaces the root handler for
    each crawler it creates (``install_scrapy_root_handler``), which would drop a filter set
    on it; a record factory covers every logger and every handler, text or JSON.
    """
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "darkwatch_redacts", False):
        def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return redact_record(factory(*args, **kwargs))

        redacting_factory.darkwatch_redacts = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(redacting_factory)
    hook = sys.excepthook
    if not getattr(hook, "darkwatch_redacts", False):
        def redacting_hook(etype: Any, value: Any, tb: Any) -> None:
            import traceback

            sys.stderr.write(redact("".join(traceback.format_exception(etype, value, tb))))

        redacting_hook.darkwatch_redacts = True  # type: ignore[attr-defined]
        sys.excepthook = redacting_hook


def install(level: str | int = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Route the root logger to ``stream`` (stderr) as JSON lines; replaces existing root handlers.

    Call before the crawl starts, and start Scrapy's ``CrawlerProcess`` with
    ``install_root_handler=False`` so Scrapy does not add its own text handler.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(level)  # Scrapy resets the root logger's level to NOTSET when it starts
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    install_redaction()
    return handler
