"""The Scrapy settings a Tor-mode crawl of one forum merges over crawler/settings.py."""

from __future__ import annotations

import secrets
from typing import Any

from crawler.config import Config, ForumConfig

TOR_HANDLER = "crawler.tor.handler.TorDownloadHandler"

# Tor Browser 15 (Firefox ESR 140): every Tor Browser user sends these same headers.
TOR_BROWSER_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"
)
TOR_BROWSER_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.5",
    "Upgrade-Insecure-Requests": "1",
}


def tor_settings(cfg: Config, forum: ForumConfig, socks: str | None = None) -> dict[str, Any]:
    """Route every http/https request of ``forum`` through Tor, on the forum's own circuits.

    ``socks``: the TorSession's SOCKS address; defaults to the session ensure_tor_ready
    made in this process (launch mode picks random ports), else ``tor.socks``.

    The isolation token is random per run and lives only in memory (settings are not
    persisted; JOBDIR pickles requests, not settings).
    """
    if socks is None:
        from crawler.tor.control import active_session

        session = active_session()
        socks = session.socks if session is not None else cfg.tor.socks
    return {
        "DOWNLOAD_HANDLERS": {
            "http": TOR_HANDLER,
            "https": TOR_HANDLER,
            # Anything else could connect directly (FTP does): off.
            "ftp": None, "s3": None, "file": None, "data": None,
        },
        "DARKWATCH_TOR_SOCKS": socks,
        "DARKWATCH_TOR_FORUM": forum.name,
        "DARKWATCH_TOR_ISOLATION": secrets.token_hex(8),
        "DARKWATCH_TOR_TLS_VERIFY": forum.tls_verify,
        # Environment proxies must never be read: the handler does the routing.
        "HTTPPROXY_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,  # Scrapy 2.19's code-running HTTP listener: off
        "USER_AGENT": TOR_BROWSER_USER_AGENT,
        "DEFAULT_REQUEST_HEADERS": dict(TOR_BROWSER_HEADERS),
        "REFERRER_POLICY": "same-origin",  # no Referer to other hosts
        "DOWNLOADER_MIDDLEWARES": {
            # Sees responses before the retry middleware (550): counts block signals and
            # switches the forum to fresh circuits before the retry goes out.
            "crawler.tor.middleware.BlockSignalMiddleware": 560,
        },
        "DARKWATCH_TOR_BLOCK_THRESHOLD": 3,  # block signals within the window -> new identity
        "DARKWATCH_TOR_BLOCK_WINDOW": 120.0,  # seconds
        "DARKWATCH_TOR_ROTATE_MIN_INTERVAL": 30.0,  # at most one new identity per forum per 30 s
        "DARKWATCH_TOR_NEWNYM": False,  # also signal a global NEWNYM (hits every forum): off
    }
