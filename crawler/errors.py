"""One base for the failures darkwatch classifies: ``kind`` (a short stable key the crawl summary,
the report and the metrics group by: ``tor-socks-unreachable``, ``not-html``...) and ``reason``
(one readable line, safe to print).

Some of these must also be a framework's own exception type (a Twisted ``ConnectError`` so
Scrapy's retry applies, an ``IgnoreRequest`` so Scrapy drops the request): they inherit from both
and call :meth:`Classified.classify` from their own ``__init__``. Readers test
``isinstance(exc, Classified)``, never ``getattr(exc, "kind")``.
"""

from __future__ import annotations


class Classified(Exception):
    """A failure with a ``kind`` and a ``reason``."""

    kind: str
    reason: str

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.classify(kind, reason)

    def classify(self, kind: str, reason: str) -> None:
        self.kind, self.reason = kind, reason

    def __str__(self) -> str:
        return self.reason
