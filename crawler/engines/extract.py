"""Turn a board or thread page into plain records using a ``Selectors`` set.

Pure (parsel + lxml only): no Scrapy, so `forums test` and unit tests use it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.engines.selectors import Selectors


@dataclass(slots=True)
class ThreadRow:
    url: str  # absolute URL of the thread's first page
    title: str
    marker: str  # empty when the preset has no marker selector: treat as changed


@dataclass(slots=True)
class BoardPage:
    threads: list[ThreadRow] = field(default_factory=list)
    next_url: str | None = None
    subboards: list[str] = field(default_factory=list)
    logged_out: bool = False
    warnings: list[str] = field(default_factory=list)  # "selector X matched nothing" etc.


@dataclass(slots=True)
class RawPost:
    post_id: str
    author: str
    published: str | None  # ISO 8601 UTC or None
    text: str
    quoted_text: str


@dataclass(slots=True)
class ThreadPage:
    title: str
    posts: list[RawPost] = field(default_factory=list)
    next_url: str | None = None
    logged_out: bool = False
    warnings: list[str] = field(default_factory=list)


def parse_board(html: str, url: str, sel: Selectors, tz: str = "UTC") -> BoardPage:
    raise NotImplementedError


def parse_thread(html: str, url: str, sel: Selectors, tz: str = "UTC") -> ThreadPage:
    raise NotImplementedError
