"""Fetch URLs through the Tor download handler with Scrapy, one crawler (identity) per group.

A small harness around the real handler for checks, tests and the bench: it runs the
reactor, so call it in its own process (``python -m crawler.tor.fetch_many``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import scrapy

from crawler.config import Config, ForumConfig
from crawler.config.tor import TorConfig


class _FetchSpider(scrapy.Spider):
    name = "tor-fetch"

    def __init__(self, group: str, urls: list[str], out: list[dict[str, Any]], **kw: Any) -> None:
        super().__init__(name=f"tor-fetch-{group}", **kw)
        self.group, self.urls, self.out = group, urls, out

    async def start(self):  # type: ignore[no-untyped-def]
        for url in self.urls:
            yield scrapy.Request(url, callback=self.ok, errback=self.err, dont_filter=True,
                                 meta={"t0": time.monotonic()})

    def ok(self, response: Any) -> None:
        self.out.append({
            "group": self.group, "url": response.url, "status": response.status,
            "seconds": round(time.monotonic() - response.meta["t0"], 3),
            "body": response.text[:4000] if hasattr(response, "text") else "",
        })

    def err(self, failure: Any) -> None:
        from crawler.extensions import failure_reason

        kind, reason = failure_reason(failure)
        self.out.append({"group": self.group, "url": failure.request.url, "error": kind,
                         "reason": reason, "exception": type(failure.value).__name__})


def fetch_settings(socks: str, group: str, first_url: str, concurrency: int, timeout: float,
                   retries: int, tls_verify: bool, maxsize: int = 10 * 1024 * 1024) -> dict[str, Any]:
    from crawler.tor.settings import tor_settings

    cfg = Config(tor=TorConfig(socks=socks))
    forum = ForumConfig(name=group, engine="phpbb", start_urls=[first_url], tls_verify=tls_verify)
    s = tor_settings(cfg, forum)
    s.update(
        LOG_LEVEL="ERROR", ROBOTSTXT_OBEY=False, COOKIES_ENABLED=True,
        CONCURRENT_REQUESTS=concurrency, CONCURRENT_REQUESTS_PER_DOMAIN=concurrency,
        DOWNLOAD_DELAY=0, DOWNLOAD_TIMEOUT=timeout, RETRY_ENABLED=retries > 0,
        RETRY_TIMES=retries, HTTPERROR_ALLOW_ALL=True, DOWNLOAD_MAXSIZE=maxsize,
        DOWNLOAD_WARNSIZE=0,
        DOWNLOAD_HANDLERS={**s["DOWNLOAD_HANDLERS"]},
    )
    return s


def run(groups: dict[str, list[str]], socks: str, concurrency: int = 4, timeout: float = 60,
        retries: int = 0, tls_verify: bool = False, maxsize: int = 10 * 1024 * 1024
        ) -> dict[str, Any]:
    """Fetch each group's URLs with its own crawler/identity; returns results and usernames."""
    from scrapy.crawler import Crawler, CrawlerProcess
    from scrapy.utils.reactor import install_reactor, is_reactor_installed

    from crawler.tor.identity import identity_for

    if not is_reactor_installed():
        install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    out: list[dict[str, Any]] = []
    process = CrawlerProcess({"LOG_LEVEL": "ERROR", "TELNETCONSOLE_ENABLED": False,
                              "REMOTE_CONTROL_ENABLED": False,  # no listening socket
                              "LOG_INSTALL_ROOT_HANDLER": False})
    crawlers: dict[str, Crawler] = {}
    for group, urls in groups.items():
        c = Crawler(_FetchSpider, fetch_settings(socks, group, urls[0], concurrency, timeout,
                                                 retries, tls_verify, maxsize))
        crawlers[group] = c
        process.crawl(c, group=group, urls=urls, out=out)
    t0 = time.monotonic()
    process.start()
    return {
        "seconds": round(time.monotonic() - t0, 3),
        "usernames": {g: identity_for(c).credentials()[0] for g, c in crawlers.items()},
        "results": out,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m crawler.tor.fetch_many")
    p.add_argument("--socks", required=True)
    p.add_argument("--group", action="append", nargs="+", metavar=("NAME", "URL"), required=True,
                   help="NAME URL [URL...]: one crawler (Tor identity) fetching these URLs")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--retries", type=int, default=0)
    p.add_argument("--tls-verify", action="store_true")
    p.add_argument("--maxsize", type=int, default=10 * 1024 * 1024)
    args = p.parse_args(argv)
    groups = {g[0]: g[1:] for g in args.group}
    res = run(groups, args.socks, args.concurrency, args.timeout, args.retries, args.tls_verify,
              args.maxsize)
    json.dump(res, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
