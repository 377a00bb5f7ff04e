"""Scrapy download handler for http/https through Tor's SOCKS port (fail closed).

Builds on Scrapy's HTTP/1.1 handler (timeouts, DOWNLOAD_MAXSIZE, StopDownload, dataloss
handling stay Scrapy's) and only swaps how a connection is made: every connection is a
SOCKS5 stream via ``crawler.tor.socks.SocksEndpoint`` (hostname sent to Tor, per-forum
username/password for ``IsolateSOCKSAuth``), TLS on top for https. Scrapy's agent
classes are private since 2.16: Scrapy is pinned in pyproject for this reason.

Fail closed: without a valid ``DARKWATCH_TOR_SOCKS`` every request is refused; there is
no code path that connects to the destination directly.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _ScrapyAgent,
)
from scrapy.exceptions import DownloadFailedError, ResponseDataLossError
from scrapy.utils._download_handlers import get_dataloss_msg, wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.endpoints import wrapClientTLS
from twisted.web.client import URI, Agent, BrowserLikePolicyForHTTPS

from crawler.errors import Classified
from crawler.netpolicy import parse_hostport
from crawler.tor.identity import identity_for
from crawler.tor.socks import SocksEndpoint

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)


class TorRouteError(Classified):
    """The request was refused before any connection: there is no Tor route."""


class _SocksAgent(Agent):
    """Twisted Agent whose every endpoint is a SOCKS5 stream through Tor."""

    def __init__(self, reactor: Any, tls_policy: Any, connect_timeout: float, pool: Any,
                 proxy: tuple[str, int], username: str, password: str) -> None:
        super().__init__(reactor, tls_policy, connect_timeout, None, pool)  # type: ignore[no-untyped-call]
        self._tls_policy = tls_policy
        self._proxy = proxy
        self._creds = (username, password)
        self._connect_timeout = connect_timeout

    def _getEndpoint(self, uri: URI) -> Any:
        if uri.scheme not in (b"http", b"https"):
            raise TorRouteError("tor-scheme", f"scheme {uri.scheme!r} is never fetched through Tor")
        host = uri.host.decode("ascii")
        endpoint: Any = SocksEndpoint(self._reactor, self._proxy[0], self._proxy[1], host, uri.port,
                                      username=self._creds[0], password=self._creds[1],
                                      timeout=self._connect_timeout)
        if uri.scheme == b"https":
            creator = self._tls_policy.creatorForNetloc(uri.host, uri.port)
            endpoint = wrapClientTLS(creator, endpoint)
        return endpoint

    def _requestWithEndpoint(self, key: Any, endpoint: Any, method: bytes, parsedURI: URI,
                             headers: Any, bodyProducer: Any, requestPath: bytes) -> Any:
        # The isolation credentials are part of the pool key: two forums (or two
        # identities of one forum) never share a connection, hence never a circuit.
        key = (*key, b"tor", *self._proxy, *self._creds)
        return super()._requestWithEndpoint(key, endpoint, method, parsedURI, headers,
                                            bodyProducer, requestPath)


class _TorScrapyAgent(_ScrapyAgent):
    def __init__(self, *, proxy: tuple[str, int], username: str, password: str,
                 **kw: Any) -> None:
        super().__init__(**kw)
        self._tor_proxy = proxy
        self._tor_creds = (username, password)

    def _get_agent(self, request: Request, timeout: float) -> Agent:
        from twisted.internet import reactor

        return _SocksAgent(reactor, self._contextFactory, timeout, self._pool, self._tor_proxy,
                           *self._tor_creds)


class TorDownloadHandler(HTTP11DownloadHandler):
    """http/https through Tor. Settings: DARKWATCH_TOR_SOCKS (host:port),
    DARKWATCH_TOR_ISOLATION (per-forum token), DARKWATCH_TOR_TLS_VERIFY (bool)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self._route_error: str | None = None
        self._proxy: tuple[str, int] | None = None
        raw = settings.get("DARKWATCH_TOR_SOCKS")
        if not raw:
            self._route_error = "no Tor SOCKS port configured (DARKWATCH_TOR_SOCKS is empty)"
        else:
            try:
                self._proxy = parse_hostport(str(raw))
            except ValueError as exc:
                self._route_error = f"invalid Tor SOCKS address: {exc}"
        self._identity = identity_for(crawler)
        if settings.getbool("DARKWATCH_TOR_TLS_VERIFY", True):
            # Certificate and hostname checked against the system trust store.
            self._contextFactory = BrowserLikePolicyForHTTPS()

    async def download_request(self, request: Request) -> Response:
        if self._proxy is None:
            raise TorRouteError("tor-no-route", f"refused {request.url}: {self._route_error}; "
                                "darkwatch never connects directly in Tor mode")
        if request.meta.get("proxy"):
            raise TorRouteError("tor-proxy-refused", f"refused {request.url}: meta['proxy'] is not "
                                "allowed in Tor mode (the Tor handler does the routing)")
        username, password = self._identity.credentials()
        agent = _TorScrapyAgent(
            proxy=self._proxy, username=username, password=password,
            contextFactory=self._contextFactory,
            pool=self._pool,
            maxsize=self._default_maxsize,
            warnsize=self._default_warnsize,
            fail_on_dataloss=self._fail_on_dataloss,
            crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        try:
            with wrap_twisted_exceptions():
                return await maybe_deferred_to_future(agent.download_request(request))
        except ResponseDataLossError:
            if not self._fail_on_dataloss_warned:
                logger.warning(get_dataloss_msg(request.url))
                self._fail_on_dataloss_warned = True
            raise
        except DownloadFailedError as exc:
            text = str(exc)
            if "certificate verify failed" in text or "OpenSSL.SSL.Error" in text:
                verify = "certificate verify failed" in text
                raise TorRouteError(
                    "tls-verify-failed" if verify else "tls-error",
                    f"{request.url}: TLS {'certificate check failed' if verify else 'handshake failed'}"
                    + ("; if this onion site uses a self-signed certificate set "
                       "'tls_verify: false' for the forum" if verify else f" ({text[:200]})"),
                ) from exc
            raise
