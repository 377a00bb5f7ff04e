"""Log records with no secret and no identifier, whatever logger or handler they go through."""

from __future__ import annotations

import logging
import sys
from types import TracebackType
from typing import Any

from crawler.privacy.identifiers import scrub
from crawler.privacy.secrets import MASK, is_secret_key, redact

# Longest log field kept: a hostile page must not turn one log line into megabytes.
MAX_FIELD = 4000
# Nesting kept in a logged value: deeper levels are masked rather than walked.
MAX_DEPTH = 5


def scrub_text(text: str) -> str:
    """Free text for a log field: credentials redacted, identifiers scrubbed, length bounded."""
    text = scrub(redact(text))
    if len(text) > MAX_FIELD:
        text = text[: MAX_FIELD - 1] + "…"
    return text


def scrub_value(value: Any, key: str | None = None, depth: int = 0) -> Any:
    """JSON-safe copy of ``value`` with secrets masked (recursive into dicts/lists)."""
    if key is not None and is_secret_key(key) and value not in (None, ""):
        return MASK
    if depth > MAX_DEPTH:
        return MASK
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): scrub_value(v, str(k), depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub_value(v, None, depth + 1) for v in value]
    return scrub_text(str(value))


_PLAIN = logging.Formatter()


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

        redacting_factory.darkwatch_redacts = True  # type: ignore[attr-defined]  # marker attribute
        logging.setLogRecordFactory(redacting_factory)
    hook = sys.excepthook
    if not getattr(hook, "darkwatch_redacts", False):
        def redacting_hook(etype: type[BaseException], value: BaseException,
                           tb: TracebackType | None) -> None:
            import traceback

            sys.stderr.write(redact("".join(traceback.format_exception(etype, value, tb))))

        redacting_hook.darkwatch_redacts = True  # type: ignore[attr-defined]  # marker attribute
        sys.excepthook = redacting_hook
