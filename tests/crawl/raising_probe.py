"""``darkwatch ARGS...`` in this process (one reactor per process) with a fault planted first:
``python -m tests.crawl.raising_probe MARK ARGS...``.

- MARK a URL ending: the thread parser raises on that page, as a parser bug on a hostile page
  or an interpreter fault would;
- MARK ``ast.parse``: ``ast.parse`` fails as CPython 3.11.7's does under concurrent compiles
  ("AST constructor recursion depth mismatch"); a crawl must not depend on it.
"""

from __future__ import annotations

import ast
import sys
from typing import Any

from scrapy import signals

from crawler.cli import main
from crawler.spiders.forum import ForumSpider


def patch(mark: str) -> None:
    if mark == "ast.parse":  # from the moment the spider opens (start-up may use it: pydantic)
        def failing(*_a: Any, **_k: Any) -> Any:
            raise SystemError("AST constructor recursion depth mismatch (planted)")

        opened = ForumSpider.from_crawler.__func__  # type: ignore[attr-defined]

        def from_crawler(cls: type[ForumSpider], crawler: Any, *a: Any, **k: Any) -> Any:
            spider = opened(cls, crawler, *a, **k)
            crawler.signals.connect(lambda spider: setattr(ast, "parse", failing),
                                    signal=signals.spider_opened, weak=False)
            return spider

        ForumSpider.from_crawler = classmethod(from_crawler)  # type: ignore[method-assign,assignment]
        return
    parse_thread = ForumSpider.parse_thread

    def raising(self: ForumSpider, response: Any) -> Any:
        if response.url.endswith(mark):
            raise RuntimeError("probe: the thread parser failed")
        yield from parse_thread(self, response)

    ForumSpider.parse_thread = raising  # type: ignore[method-assign]


if __name__ == "__main__":
    patch(sys.argv[1])
    sys.exit(main(sys.argv[2:]))
