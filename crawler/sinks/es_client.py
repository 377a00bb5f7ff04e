"""The Elasticsearch client from ``store.elasticsearch``, and errors worded for operators.

Error messages name the URL (credentials masked), the user and the fix, never a password or
API key: they end up in logs and cron mails.
"""

from __future__ import annotations

import logging
from typing import Any

from crawler.config.store import ElasticsearchConfig
from crawler.privacy import hide, redact
from crawler.sinks.base import ElasticsearchError

__all__ = ["ElasticsearchError", "describe", "is_transient", "make_client"]


# The client's own loggers: a failing node logs a traceback per attempt (12 in a short crawl
# with Elasticsearch down). Darkwatch reports the state itself, one line per change.
CLIENT_LOGGERS = ("elasticsearch", "elasticsearch.helpers", "elastic_transport",
                  "elastic_transport.transport", "elastic_transport.node_pool",
                  "elastic_transport.node", "urllib3.connectionpool")


def debug_logging() -> bool:
    """True when the process logs at DEBUG (``-vv``): a root handler at DEBUG or below."""
    root = logging.getLogger()
    if root.level > logging.DEBUG:
        return False
    return any(h.level <= logging.DEBUG for h in root.handlers)


class ClientLogFilter(logging.Filter):
    """Below ``-vv``: client warnings are dropped (the sink says what changed) and errors keep
    their one line but lose the traceback; urllib3 keeps its lines without tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        if debug_logging():
            return True
        if record.exc_info or record.exc_text:
            record.exc_info, record.exc_text = None, None
        return record.name.startswith("urllib3") or record.levelno >= logging.ERROR


_CLIENT_FILTER = ClientLogFilter()


def quiet_client_logs() -> None:
    """Attach :class:`ClientLogFilter` to the client's loggers (idempotent)."""
    for name in CLIENT_LOGGERS:
        lg = logging.getLogger(name)
        if _CLIENT_FILTER not in lg.filters:
            lg.addFilter(_CLIENT_FILTER)


def make_client(cfg: ElasticsearchConfig) -> Any:
    from elasticsearch import Elasticsearch

    quiet_client_logs()

    kwargs: dict[str, Any] = {
        "request_timeout": cfg.request_timeout,
        # Connection-level retries only; per-document 429s are the bulk helper's job.
        "max_retries": 2,
        "retry_on_timeout": True,
    }
    if cfg.api_key:
        kwargs["api_key"] = cfg.api_key
    elif cfg.username:
        kwargs["basic_auth"] = (cfg.username, cfg.password or "")
    if cfg.url.startswith("https"):
        kwargs["verify_certs"] = cfg.verify_tls
        if cfg.ca_cert:
            kwargs["ca_certs"] = cfg.ca_cert
        if not cfg.verify_tls:
            kwargs["ssl_show_warn"] = False
    return Elasticsearch(cfg.url, **kwargs)


def who(cfg: ElasticsearchConfig) -> str:
    if cfg.api_key:
        return "with the configured api_key"
    if cfg.username:
        return f"as user {cfg.username!r}"
    from urllib.parse import urlsplit

    try:
        user = urlsplit(cfg.url).username
    except ValueError:
        user = None
    if user:
        return f"as user {user!r} (from the url)"
    return "without credentials"


def _scrub(text: str, cfg: ElasticsearchConfig) -> str:
    """The configured password and API key hidden, wherever the client's message quotes them."""
    return hide(text, [s for s in (cfg.password, cfg.api_key) if s])


def describe(exc: BaseException, cfg: ElasticsearchConfig) -> str:
    """One actionable line for an Elasticsearch failure, with no secret in it."""
    from elasticsearch import (
        ApiError,
        AuthenticationException,
        AuthorizationException,
        ConnectionError,
        ConnectionTimeout,
        UnsupportedProductError,
    )

    where = f"Elasticsearch at {redact(cfg.url)}"
    if isinstance(exc, AuthenticationException):
        msg = (f"{where} rejected the credentials (401) {who(cfg)}: check store.elasticsearch "
               "username/password or api_key (e.g. ${ES_API_KEY} is set and current)")
    elif isinstance(exc, AuthorizationException):
        msg = (f"{where}: the account {who(cfg)} lacks a privilege (403): {_reason(exc)}; grant "
               "manage_index_templates, manage_ilm and write/read on the darkwatch-* indices")
    elif isinstance(exc, ConnectionTimeout):
        msg = f"{where} timed out: is it overloaded? (store.elasticsearch.request_timeout)"
    elif isinstance(exc, ConnectionError):
        msg = f"{where} is unreachable: is it running, and is the url right? ({type(exc).__name__})"
    elif isinstance(exc, UnsupportedProductError):
        msg = (f"{redact(cfg.url)} is not Elasticsearch (or not a supported version): "
               "check store.elasticsearch.url")
    elif isinstance(exc, ApiError):
        msg = f"{where} answered {exc.meta.status}: {_reason(exc)}"
    else:
        msg = f"{where}: {type(exc).__name__}: {exc}"
    return redact(_scrub(msg, cfg))


def _reason(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return f"{err.get('type')}: {err.get('reason')}"
        if err:
            return str(err)
    return str(getattr(exc, "message", "") or exc)


def is_transient(exc: BaseException) -> bool:
    """Worth spooling and retrying later (down, slow, overloaded); not a config error."""
    from elasticsearch import ApiError, ConnectionError, ConnectionTimeout

    if isinstance(exc, ConnectionError | ConnectionTimeout):
        return True
    if isinstance(exc, ApiError):
        return exc.meta.status == 429 or exc.meta.status >= 500
    return False
