"""One synchronous page fetch for interactive tools (``forums test``, ``tor status``).

Crawls use Scrapy; a config author testing a selector wants one page now. Same rules as
the crawl: through Tor's SOCKS port with hostname resolution left to Tor (socks5h), or
direct to loopback only; HTML only; bounded size.
"""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urljoin, urlsplit

from crawler.netpolicy import direct_refusal, parse_hostport

ALLOWED = ("text/html", "application/xhtml+xml")
MAX_REDIRECTS = 5  # as the crawl's REDIRECT_MAX_TIMES


class FetchError(Exception):
    pass


@dataclass(slots=True)
class Page:
    url: str
    status: int
    content_type: str
    text: str
    location: str | None = None  # a redirect's target, absolute
    set_cookies: list[str] = field(default_factory=list)


def fetch(url: str, socks: str | None, isolation: str = "darkwatch", timeout: float = 120.0,
          max_bytes: int = 10 * 1024 * 1024, tls_verify: bool = True,
          user_agent: str | None = None, method: str = "GET", body: bytes | None = None,
          headers: dict[str, str] | None = None) -> Page:
    """``socks`` is ``host:port`` of Tor's SocksPort; None means direct (loopback only).
    A redirect is returned as is (``location``), not followed: see :class:`Session`."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if socks is None:
        why = direct_refusal(url)
        if why:
            raise FetchError(why)
        sock = None
    else:
        import socks as pysocks  # pysocks: blocking, fine for one interactive fetch

        shost, sport = parse_hostport(socks)
        sock = pysocks.socksocket()
        sock.set_proxy(pysocks.SOCKS5, shost, sport, rdns=True,
                       username=isolation, password=isolation)  # noqa: S106 - isolation token
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
        except (pysocks.ProxyError, OSError) as exc:
            sock.close()
            raise FetchError(f"through Tor at {socks}: {exc}") from None
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    kwargs = {}
    if parts.scheme == "https":
        ctx = ssl.create_default_context()
        if not tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        kwargs["context"] = ctx
    conn = conn_cls(host, port, timeout=timeout, **kwargs)
    if sock is not None:
        conn.sock = ctx.wrap_socket(sock, server_hostname=host) if parts.scheme == "https" else sock
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    from crawler import settings

    sent = {**settings.DEFAULT_REQUEST_HEADERS,
            "User-Agent": user_agent or settings.USER_AGENT, **(headers or {})}
    try:
        conn.request(method, path, body=body, headers=sent)
        resp = conn.getresponse()
        ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip().lower()
        cookies = resp.headers.get_all("Set-Cookie") or []
        if 300 <= resp.status < 400 and resp.getheader("Location"):
            resp.read(64 * 1024)
            return Page(url, resp.status, ctype, "", urljoin(url, resp.getheader("Location")),
                        cookies)
        if ctype and ctype not in ALLOWED:
            raise FetchError(f"{url}: Content-Type {ctype} is not HTML; body not downloaded")
        body = resp.read(max_bytes + 1)
        if len(body) > max_bytes:
            raise FetchError(f"{url}: larger than {max_bytes} bytes")
        charset = resp.headers.get_content_charset() or "utf-8"
        try:
            text = body.decode(charset, errors="replace")
        except LookupError:
            text = body.decode("utf-8", errors="replace")
        return Page(url, resp.status, ctype, text, None, cookies)
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"{url}: {exc}") from None
    finally:
        conn.close()


class Session:
    """A tiny browser for interactive tools: cookies kept, redirects followed on the same
    host (as the crawl: never to another host), every hop recorded so the tool can say so."""

    def __init__(self, socks: str | None, isolation: str = "darkwatch", timeout: float = 120.0,
                 tls_verify: bool = True) -> None:
        self.socks = socks
        self.isolation = isolation
        self.timeout = timeout
        self.tls_verify = tls_verify
        self.cookies: dict[str, str] = {}

    def add_cookies(self, cookies: list[dict[str, str]]) -> None:
        for c in cookies:
            self.cookies[c["name"]] = c["value"]

    def _keep(self, set_cookies: list[str]) -> None:
        for raw in set_cookies:
            try:
                jar = SimpleCookie(raw)
            except CookieError:
                continue
            for name, morsel in jar.items():
                if morsel.value == "" or morsel.get("max-age") == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def request(self, url: str, method: str = "GET", body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[Page, list[Page]]:
        """(final page, redirect hops before it)."""
        hops: list[Page] = []
        host = urlsplit(url).hostname
        while True:
            sent = dict(headers or {})
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            page = fetch(url, self.socks, isolation=self.isolation, timeout=self.timeout,
                         tls_verify=self.tls_verify, method=method, body=body, headers=sent)
            self._keep(page.set_cookies)
            if page.location is None:
                return page, hops
            hops.append(page)
            if len(hops) > MAX_REDIRECTS:
                raise FetchError(f"{hops[0].url}: more than {MAX_REDIRECTS} redirects")
            if urlsplit(page.location).hostname != host:
                raise FetchError(f"{url} redirects to another host ({page.location}); "
                                 "not followed (the crawl does not follow it either)")
            url, method, body = page.location, "GET", None
            headers = {k: v for k, v in (headers or {}).items() if k.lower() != "content-type"}
