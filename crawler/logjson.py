"""Structured logs: one JSON object per line (``darkwatch crawl --log-format json``).

Log shippers (journald -> Loki/Elastic, docker's json-file) index fields, not prose: each line
carries ``timestamp``, ``level``, ``logger``, ``message`` and, when the call passed them in
``extra``, ``forum``, ``url``, ``status`` (and any other extra field). Logs travel further than
the crawl's data, so nothing secret leaves here: values of secret-looking keys are masked,
URLs lose their userinfo and secret query values, ``password=...``/``Bearer ...`` in free text
are masked, and NIR-shaped numbers are masked like in alert messages.

Stdlib ``logging`` + ``json`` only: the formatter is a few lines, and a dependency such as
python-json-logger would not do the scrubbing, which is the part that matters here.

Redaction itself lives in :mod:`crawler.privacy` (one home for what never leaves the
machine); :func:`install` also installs its record factory.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from crawler.privacy.logs import install_redaction, scrub_text, scrub_value

# Attributes every LogRecord has: everything else on a record came from ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_FIRST = ("forum", "url", "status")


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
